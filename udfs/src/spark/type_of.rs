//! Spark's `typeof(expr)`: the Databricks SQL name of the argument's type (`bigint`,
//! `decimal(3,2)`, `array<int>`), in the names the engine uses everywhere else.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{plan_err, Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// How a type is named.
pub type TypeNamer = fn(&DataType) -> String;

#[derive(Debug)]
struct TypeOf {
    namer: TypeNamer,
    signature: Signature,
}

impl PartialEq for TypeOf {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::fn_addr_eq(self.namer, other.namer)
    }
}
impl Eq for TypeOf {}
impl std::hash::Hash for TypeOf {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        "typeof".hash(state);
    }
}

pub fn type_of(namer: TypeNamer) -> ScalarUDF {
    ScalarUDF::new_from_impl(TypeOf {
        namer,
        signature: Signature::any(1, Volatility::Immutable),
    })
}

impl ScalarUDFImpl for TypeOf {
    fn name(&self) -> &str {
        "typeof"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let Some(field) = args.arg_fields.first() else {
            return plan_err!("typeof takes one argument");
        };
        Ok(ColumnarValue::Scalar(ScalarValue::Utf8(Some(
            (self.namer)(field.data_type()),
        ))))
    }
}

/// The SQL name of an integer type, for messages.
pub(crate) fn spark_integer_name(t: &DataType) -> &'static str {
    match t {
        DataType::Int8 => "TINYINT",
        DataType::Int16 => "SMALLINT",
        DataType::Int32 => "INT",
        DataType::Int64 => "BIGINT",
        _ => "integer",
    }
}
