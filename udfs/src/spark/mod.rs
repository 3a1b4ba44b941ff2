//! Spark SQL functions no library provides (or provides with other semantics), written to
//! Spark's documented behaviour, and adapters that give DataFusion's functions Spark's
//! argument conventions. `datafusion-spark` supplies the rest; the engine decides which set a
//! session's dialect uses.

use std::sync::Arc;

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{ColumnarValue, ScalarUDF};

mod checked_abs;
mod checked_sum;
mod coerced;
mod datetime;
pub mod datetime_pattern;
mod element;
mod integral_divide;
mod json;
mod json_path;
mod mask;
mod percentile_approx;
mod regexp;
mod regexp_replace;
mod rounding;
mod sequence;
mod try_arithmetic;
mod type_of;

pub use checked_abs::checked_abs;
pub use checked_sum::checked_sum;
pub use coerced::CoercedArgs;
pub use datetime_pattern::SparkPatterns;
pub use element::subscript;
pub use json::{from_json, json_text, TypeReader};
pub use percentile_approx::percentile_approx;
pub use rounding::round;
pub use sequence::sequence;
pub use try_arithmetic::{checked_divide, checked_operators};
pub use type_of::{type_of, TypeNamer};

/// Functions Weir adds under names no DataFusion or PostgreSQL-client function uses:
/// the same in every dialect.
pub fn additions() -> Vec<Arc<ScalarUDF>> {
    let mut functions = vec![
        Arc::new(element::get()),
        Arc::new(element::try_element_at()),
        Arc::new(integral_divide::div()),
        Arc::new(regexp::regexp_extract()),
        Arc::new(regexp::regexp_extract_all()),
        Arc::new(regexp::split()),
        Arc::new(json_path::get_json_object()),
        Arc::new(json::to_json()),
        Arc::new(mask::mask()),
        Arc::new(rounding::bround()),
        Arc::new(rounding::format_number()),
        datetime::months_between(),
    ];
    functions.extend(try_arithmetic::functions());
    functions.extend(datetime::date_parts());
    functions
}

/// Weir's functions that replace a DataFusion function of the same name in Databricks SQL
/// (`element_at` is DataFusion's alias of `map_extract`, which answers a list;
/// `regexp_replace` replaces every match; `from_unixtime` answers a string).
pub fn databricks_replacements() -> Vec<Arc<ScalarUDF>> {
    vec![
        Arc::new(element::element_at()),
        Arc::new(regexp_replace::regexp_replace()),
        datetime::from_unixtime(),
    ]
}

/// The answer of a call over `result`: one value when every argument was one (a constant
/// folded while planning), else the array.
fn answer(result: ArrayRef, args: &[ColumnarValue]) -> Result<ColumnarValue> {
    if args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_))) {
        Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(
            &result, 0,
        )?))
    } else {
        Ok(ColumnarValue::Array(result))
    }
}

/// Whether an argument of type `t` is a string (or an untyped NULL).
fn is_string(t: &DataType) -> bool {
    t.is_null() || matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// Whether an argument of type `t` names a point in time: a date, a timestamp, or a string
/// read as one (or an untyped NULL).
fn is_datetime(t: &DataType) -> bool {
    is_string(t)
        || matches!(
            t,
            DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _)
        )
}
