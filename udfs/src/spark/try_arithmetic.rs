//! Spark's `try_add`, `try_subtract`, `try_multiply` and `try_divide`: arithmetic that answers
//! NULL where the ANSI operators raise an error (overflow, division by zero). The same
//! functions in their strict form (`checked_add`, ...) are the integer operators `+`, `-`, `*`
//! of every plan: an integer result out of its type's range is error 22003, as in PostgreSQL
//! and Databricks SQL in ANSI mode (DataFusion's operators wrap around).
//! - Integers: the result has the wider argument type, and a result outside it is NULL
//!   (`try_add(CAST(2147483647 AS INT), CAST(1 AS INT))` is NULL).
//! - `try_divide` divides as DOUBLE (`try_divide(3, 2)` is 1.5), NULL for a zero divisor.
//! - DOUBLE and FLOAT follow IEEE arithmetic, as in Spark. DECIMAL arguments are refused
//!   (42883) rather than computed in another type.
//!
//! Reference: <https://spark.apache.org/docs/latest/api/sql/index.html#try_add>.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array, PrimitiveArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    ArrowPrimitiveType, DataType, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type,
};
use datafusion::common::{plan_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use num_traits::{CheckedAdd, CheckedMul, CheckedSub};

use crate::FunctionError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Op {
    Add,
    Subtract,
    Multiply,
    Divide,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct TryArithmetic {
    op: Op,
    /// Overflow is an error (the operators), not NULL (the `try_` functions).
    strict: bool,
    signature: Signature,
}

fn udf(op: Op, strict: bool) -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::new_from_impl(TryArithmetic {
        op,
        strict,
        signature: Signature::user_defined(Volatility::Immutable),
    }))
}

pub fn functions() -> Vec<Arc<ScalarUDF>> {
    vec![
        udf(Op::Add, false),
        udf(Op::Subtract, false),
        udf(Op::Multiply, false),
        udf(Op::Divide, false),
    ]
}

/// `a / b` of DOUBLEs that raises 22012 for a zero divisor (IEEE division answers an
/// infinity or NaN), as PostgreSQL and Databricks SQL (ANSI mode) do: `checked_divide`.
pub fn checked_divide() -> Arc<ScalarUDF> {
    udf(Op::Divide, true)
}

/// The integer operators `+`, `-`, `*` that raise 22003 on overflow: `checked_add`,
/// `checked_subtract`, `checked_multiply`.
pub fn checked_operators() -> [Arc<ScalarUDF>; 3] {
    [
        udf(Op::Add, true),
        udf(Op::Subtract, true),
        udf(Op::Multiply, true),
    ]
}

/// The wider of two integer types (NULL counts as none).
fn wider_integer(a: &DataType, b: &DataType) -> Option<DataType> {
    let rank = |t: &DataType| match t {
        DataType::Null => Some(0),
        DataType::Int8 => Some(1),
        DataType::Int16 => Some(2),
        DataType::Int32 => Some(3),
        DataType::Int64 => Some(4),
        _ => None,
    };
    let r = rank(a)?.max(rank(b)?);
    Some(match r {
        0 | 3 => DataType::Int32,
        1 => DataType::Int8,
        2 => DataType::Int16,
        _ => DataType::Int64,
    })
}

fn checked<T>(a: &ArrayRef, b: &ArrayRef, op: Op, strict: bool) -> Result<ArrayRef>
where
    T: ArrowPrimitiveType,
    T::Native: CheckedAdd + CheckedSub + CheckedMul + std::fmt::Display,
{
    let (a, b) = (a.as_primitive::<T>(), b.as_primitive::<T>());
    let mut out = Vec::with_capacity(a.len());
    for (x, y) in a.iter().zip(b.iter()) {
        let (Some(x), Some(y)) = (x, y) else {
            out.push(None);
            continue;
        };
        let (result, sign) = match op {
            Op::Add => (x.checked_add(&y), "+"),
            Op::Subtract => (x.checked_sub(&y), "-"),
            Op::Multiply => (x.checked_mul(&y), "*"),
            Op::Divide => (None, "/"),
        };
        if result.is_none() && strict {
            return Err(FunctionError::new(
                "22003",
                format!(
                    "{} overflow: {x} {sign} {y} is out of its range \
                     (use try_add, try_subtract or try_multiply to get NULL instead)",
                    crate::spark::type_of::spark_integer_name(&T::DATA_TYPE)
                ),
            ));
        }
        out.push(result);
    }
    Ok(Arc::new(out.into_iter().collect::<PrimitiveArray<T>>()))
}

impl ScalarUDFImpl for TryArithmetic {
    fn name(&self) -> &str {
        match (self.op, self.strict) {
            (Op::Add, false) => "try_add",
            (Op::Subtract, false) => "try_subtract",
            (Op::Multiply, false) => "try_multiply",
            (Op::Divide, false) => "try_divide",
            (Op::Add, true) => "checked_add",
            (Op::Subtract, true) => "checked_subtract",
            (Op::Multiply, true) => "checked_multiply",
            (Op::Divide, true) => "checked_divide",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let [a, b] = args else {
            return plan_err!("{} takes 2 arguments, got {}", self.name(), args.len());
        };
        let numeric = |t: &DataType| t.is_numeric() || t.is_null();
        if !numeric(a) || !numeric(b) {
            return plan_err!("{} takes numbers, not {a} and {b}", self.name());
        }
        if matches!(a, DataType::Decimal128(..) | DataType::Decimal256(..))
            || matches!(b, DataType::Decimal128(..) | DataType::Decimal256(..))
        {
            return plan_err!("{} on DECIMAL is not supported yet", self.name());
        }
        let common = match (self.op, wider_integer(a, b)) {
            (Op::Divide, _) | (_, None) => DataType::Float64,
            (_, Some(t)) => t,
        };
        Ok(vec![common.clone(), common])
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args.first().cloned().unwrap_or(DataType::Float64))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let (a, b) = (&arrays[0], &arrays[1]);
        let result: ArrayRef = match a.data_type() {
            DataType::Int8 => checked::<Int8Type>(a, b, self.op, self.strict)?,
            DataType::Int16 => checked::<Int16Type>(a, b, self.op, self.strict)?,
            DataType::Int32 => checked::<Int32Type>(a, b, self.op, self.strict)?,
            DataType::Int64 => checked::<Int64Type>(a, b, self.op, self.strict)?,
            _ => {
                let a = cast(a, &DataType::Float64)?;
                let b = cast(b, &DataType::Float64)?;
                let (a, b) = (
                    a.as_primitive::<Float64Type>(),
                    b.as_primitive::<Float64Type>(),
                );
                if self.strict
                    && self.op == Op::Divide
                    && b.iter()
                        .zip(a.iter())
                        .any(|(y, x)| y == Some(0.0) && x.is_some())
                {
                    return Err(FunctionError::new("22012", "division by zero".into()));
                }
                let out: Float64Array = a
                    .iter()
                    .zip(b.iter())
                    .map(|(x, y)| {
                        let (x, y) = (x?, y?);
                        match self.op {
                            Op::Add => Some(x + y),
                            Op::Subtract => Some(x - y),
                            Op::Multiply => Some(x * y),
                            Op::Divide => (y != 0.0).then(|| x / y),
                        }
                    })
                    .collect();
                Arc::new(out)
            }
        };
        super::answer(result, &args.args)
    }
}
