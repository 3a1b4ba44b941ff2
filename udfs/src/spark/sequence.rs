//! Spark's `sequence(start, stop[, step])`: the array from `start` to `stop` inclusive, of
//! integers, dates or timestamps (https://spark.apache.org/docs/latest/api/sql/index.html#sequence).
//! DataFusion's scalar `generate_series` (`inner`) makes it; Weir supplies Spark's default step
//! (1 or -1, a day or minus a day for dates and timestamps: `sequence(5, 1)` counts down
//! where `generate_series(5, 1)` is empty) and refuses an integer step pointing away from
//! `stop` (22023, where `generate_series` answers an empty array).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Array, IntervalMonthDayNanoArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Field, FieldRef, Int64Type, IntervalMonthDayNano, IntervalUnit,
};
use datafusion::common::{plan_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::FunctionError;

#[derive(Debug, PartialEq, Eq, Hash)]
struct Sequence {
    inner: ScalarUDF,
    signature: Signature,
}

/// `sequence` over DataFusion's scalar `generate_series` (`inner`).
pub fn sequence(inner: &ScalarUDF) -> ScalarUDF {
    ScalarUDF::new_from_impl(Sequence {
        inner: inner.clone(),
        signature: Signature::user_defined(Volatility::Immutable),
    })
}

const STEP_INTERVAL: DataType = DataType::Interval(IntervalUnit::MonthDayNano);

/// The type both bounds are read as.
fn bound_type(a: &DataType, b: &DataType) -> Option<DataType> {
    let integer = |t: &DataType| t.is_integer() || t.is_null();
    let date = |t: &DataType| {
        matches!(
            t,
            DataType::Date32
                | DataType::Date64
                | DataType::Utf8
                | DataType::LargeUtf8
                | DataType::Utf8View
        ) || t.is_null()
    };
    match (a, b) {
        (a, b) if integer(a) && integer(b) => Some(DataType::Int64),
        (DataType::Timestamp(unit, tz), _) | (_, DataType::Timestamp(unit, tz)) => {
            Some(DataType::Timestamp(*unit, tz.clone()))
        }
        (a, b) if date(a) && date(b) => Some(DataType::Date32),
        _ => None,
    }
}

impl ScalarUDFImpl for Sequence {
    fn name(&self) -> &str {
        "sequence"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        if !(2..=3).contains(&args.len()) {
            return plan_err!("sequence takes a start, a stop and optionally a step");
        }
        let Some(bound) = bound_type(&args[0], &args[1]) else {
            return plan_err!(
                "sequence takes integers, dates or timestamps, not {} and {}",
                args[0],
                args[1]
            );
        };
        let mut types = vec![bound.clone(), bound.clone()];
        if args.len() == 3 {
            types.push(if bound == DataType::Int64 {
                DataType::Int64
            } else {
                STEP_INTERVAL
            });
        }
        Ok(types)
    }
    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        let step = if args[0] == DataType::Int64 {
            DataType::Int64
        } else {
            STEP_INTERVAL
        };
        self.inner
            .return_type(&[args[0].clone(), args[1].clone(), step])
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let integers = arrays[0].data_type() == &DataType::Int64;
        // The bounds as numbers to compare (days, or the timestamp's units).
        let as_numbers = |a: &ArrayRef| -> Result<ArrayRef> {
            Ok(match a.data_type() {
                DataType::Date32 => cast(&cast(a, &DataType::Int32)?, &DataType::Int64)?,
                _ => cast(a, &DataType::Int64)?,
            })
        };
        let start = as_numbers(&arrays[0])?;
        let stop = as_numbers(&arrays[1])?;
        let (start, stop) = (
            start.as_primitive::<Int64Type>(),
            stop.as_primitive::<Int64Type>(),
        );
        let step: ArrayRef = match arrays.get(2) {
            Some(step) => {
                if integers {
                    check_integer_steps(start, stop, step.as_primitive::<Int64Type>())?;
                }
                step.clone()
            }
            None => {
                let ascending = |i: usize| {
                    (start.is_valid(i) && stop.is_valid(i)).then(|| start.value(i) <= stop.value(i))
                };
                if integers {
                    Arc::new(
                        (0..rows)
                            .map(|i| ascending(i).map(|up| if up { 1 } else { -1 }))
                            .collect::<Int64Array>(),
                    )
                } else {
                    Arc::new(
                        (0..rows)
                            .map(|i| {
                                ascending(i).map(|up| {
                                    IntervalMonthDayNano::new(0, if up { 1 } else { -1 }, 0)
                                })
                            })
                            .collect::<IntervalMonthDayNanoArray>(),
                    )
                }
            }
        };
        let arg_fields: Vec<FieldRef> = [&arrays[0], &arrays[1], &step]
            .iter()
            .map(|a| Arc::new(Field::new("arg", a.data_type().clone(), true)))
            .collect();
        let result = self.inner.invoke_with_args(ScalarFunctionArgs {
            args: vec![
                ColumnarValue::Array(arrays[0].clone()),
                ColumnarValue::Array(arrays[1].clone()),
                ColumnarValue::Array(step),
            ],
            arg_fields,
            number_rows: rows,
            return_field: args.return_field.clone(),
            config_options: args.config_options.clone(),
        })?;
        let result = match result {
            ColumnarValue::Array(a) => a,
            ColumnarValue::Scalar(s) => s.to_array_of_size(rows)?,
        };
        super::answer(result, &args.args)
    }
}

/// Spark refuses a zero step and one pointing away from `stop`.
fn check_integer_steps(
    start: &datafusion::arrow::array::Int64Array,
    stop: &datafusion::arrow::array::Int64Array,
    step: &datafusion::arrow::array::Int64Array,
) -> Result<()> {
    for i in 0..step.len() {
        if !(start.is_valid(i) && stop.is_valid(i) && step.is_valid(i)) {
            continue;
        }
        let (a, b, s) = (start.value(i), stop.value(i), step.value(i));
        let wrong_way = (b > a && s <= 0) || (b < a && s >= 0) || (a == b && s == 0);
        if wrong_way {
            return Err(FunctionError::new(
                "22023",
                format!("illegal sequence boundaries: {a} to {b} by {s}"),
            ));
        }
    }
    Ok(())
}
