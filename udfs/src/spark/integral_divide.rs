//! Spark's integral division, `a DIV b` and `div(a, b)`: the quotient rounded toward zero, as
//! BIGINT. Division by zero raises `DIVIDE_BY_ZERO` (22012) and a quotient outside BIGINT
//! raises 22003, as Databricks SQL does in ANSI mode. Integers divide exactly; other numbers
//! divide as DOUBLE before truncation.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::common::{plan_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::FunctionError;

#[derive(Debug, PartialEq, Eq, Hash)]
struct IntegralDivide {
    signature: Signature,
}

pub fn div() -> ScalarUDF {
    ScalarUDF::new_from_impl(IntegralDivide {
        signature: Signature::user_defined(Volatility::Immutable),
    })
}

fn divide_by_zero() -> datafusion::error::DataFusionError {
    FunctionError::new(
        "22012",
        "division by zero (use try_divide to get NULL instead)".into(),
    )
}

impl ScalarUDFImpl for IntegralDivide {
    fn name(&self) -> &str {
        "div"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let [a, b] = args else {
            return plan_err!("div takes 2 arguments, got {}", args.len());
        };
        let integral = |t: &DataType| t.is_integer() || t.is_null();
        let numeric = |t: &DataType| t.is_numeric() || t.is_null();
        if integral(a) && integral(b) {
            Ok(vec![DataType::Int64, DataType::Int64])
        } else if numeric(a) && numeric(b) {
            Ok(vec![DataType::Float64, DataType::Float64])
        } else {
            plan_err!("div takes numbers, not {a} and {b}")
        }
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let result: Int64Array = match arrays[0].data_type() {
            DataType::Float64 => {
                let a = arrays[0].as_primitive::<Float64Type>();
                let b = arrays[1].as_primitive::<Float64Type>();
                let mut out = Vec::with_capacity(a.len());
                for i in 0..a.len() {
                    if a.is_null(i) || b.is_null(i) {
                        out.push(None);
                        continue;
                    }
                    if b.value(i) == 0.0 {
                        return Err(divide_by_zero());
                    }
                    let q = (a.value(i) / b.value(i)).trunc();
                    if !(q >= i64::MIN as f64 && q < i64::MAX as f64) {
                        return Err(FunctionError::new(
                            "22003",
                            format!(
                                "{} div {} is out of the range of BIGINT",
                                a.value(i),
                                b.value(i)
                            ),
                        ));
                    }
                    out.push(Some(q as i64));
                }
                Int64Array::from(out)
            }
            _ => {
                let a = cast(&arrays[0], &DataType::Int64)?;
                let b = cast(&arrays[1], &DataType::Int64)?;
                let (a, b) = (a.as_primitive::<Int64Type>(), b.as_primitive::<Int64Type>());
                let mut out = Vec::with_capacity(a.len());
                for i in 0..a.len() {
                    if a.is_null(i) || b.is_null(i) {
                        out.push(None);
                        continue;
                    }
                    if b.value(i) == 0 {
                        return Err(divide_by_zero());
                    }
                    match a.value(i).checked_div(b.value(i)) {
                        Some(q) => out.push(Some(q)),
                        None => {
                            return Err(FunctionError::new(
                                "22003",
                                format!("{} div {} overflows BIGINT", a.value(i), b.value(i)),
                            ))
                        }
                    }
                }
                Int64Array::from(out)
            }
        };
        let result: ArrayRef = Arc::new(result);
        super::answer(result, &args.args)
    }
}
