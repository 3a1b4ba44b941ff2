//! Spark's `regexp_replace(str, regexp, rep)`: every match is replaced (PostgreSQL's, which
//! DataFusion follows, replaces the first unless given the `g` flag). `rep` refers to groups as
//! `$1`. Spark's optional fourth argument (the position to start at) is refused rather than
//! read as PostgreSQL's flags.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::{plan_err, Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

#[derive(Debug, PartialEq, Eq, Hash)]
struct RegexpReplaceAll {
    signature: Signature,
}

pub fn regexp_replace() -> ScalarUDF {
    ScalarUDF::new_from_impl(RegexpReplaceAll {
        signature: Signature::user_defined(Volatility::Immutable),
    })
}

impl ScalarUDFImpl for RegexpReplaceAll {
    fn name(&self) -> &str {
        "regexp_replace"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        if args.len() != 3 {
            return plan_err!(
                "regexp_replace takes (str, regexp, rep); got {} arguments",
                args.len()
            );
        }
        for t in args {
            if !super::is_string(t) {
                return plan_err!("regexp_replace takes strings, not {t}");
            }
        }
        Ok(vec![DataType::Utf8; 3])
    }
    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, mut args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        args.args
            .push(ColumnarValue::Scalar(ScalarValue::Utf8(Some("g".into()))));
        args.arg_fields
            .push(Arc::new(Field::new("flags", DataType::Utf8, false)));
        datafusion::functions::regex::regexp_replace().invoke_with_args(args)
    }
}
