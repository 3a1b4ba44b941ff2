//! `abs` whose integer result out of its type's range (`abs(-2147483648)` as INT) raises 22003,
//! as PostgreSQL and Databricks SQL's ANSI mode do; DataFusion's `abs` (`inner`) answers every
//! other type and fails these with an internal-looking compute error.

use datafusion::arrow::array::{ArrayRef, AsArray, PrimitiveArray};
use datafusion::arrow::datatypes::{
    ArrowPrimitiveType, DataType, FieldRef, Int16Type, Int32Type, Int64Type, Int8Type,
};
use datafusion::common::Result;
use datafusion::logical_expr::sort_properties::{ExprProperties, SortProperties};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl,
    Signature,
};
use num_traits::{CheckedNeg, Signed};

use super::type_of::spark_integer_name;
use crate::FunctionError;

#[derive(Debug, PartialEq, Eq, Hash)]
struct CheckedAbs {
    inner: ScalarUDF,
}

/// DataFusion's `abs` (`inner`) with integer overflow as 22003.
pub fn checked_abs(inner: &ScalarUDF) -> ScalarUDF {
    ScalarUDF::new_from_impl(CheckedAbs {
        inner: inner.clone(),
    })
}

fn abs_of<T>(values: &ArrayRef) -> Result<ArrayRef>
where
    T: ArrowPrimitiveType,
    T::Native: Signed + CheckedNeg + Copy,
{
    let values = values.as_primitive::<T>();
    let out: PrimitiveArray<T> = values
        .try_unary(|v| {
            if v.is_negative() {
                v.checked_neg().ok_or(())
            } else {
                Ok(v)
            }
        })
        .map_err(|()| {
            FunctionError::new(
                "22003",
                format!(
                    "abs is out of range for type {}",
                    spark_integer_name(&T::DATA_TYPE)
                ),
            )
        })?;
    Ok(std::sync::Arc::new(out))
}

impl ScalarUDFImpl for CheckedAbs {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }
    fn signature(&self) -> &Signature {
        self.inner.signature()
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.coerce_types(arg_types)
    }
    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.return_type(arg_types)
    }
    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        self.inner.return_field_from_args(args)
    }
    fn output_ordering(&self, input: &[ExprProperties]) -> Result<SortProperties> {
        self.inner.output_ordering(input)
    }
    fn documentation(&self) -> Option<&Documentation> {
        self.inner.documentation()
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let checked: fn(&ArrayRef) -> Result<ArrayRef> = match args.arg_fields[0].data_type() {
            DataType::Int8 => abs_of::<Int8Type>,
            DataType::Int16 => abs_of::<Int16Type>,
            DataType::Int32 => abs_of::<Int32Type>,
            DataType::Int64 => abs_of::<Int64Type>,
            _ => return self.inner.invoke_with_args(args),
        };
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        super::answer(checked(&arrays[0])?, &args.args)
    }
}
