//! Spark's date-part and date-arithmetic functions DataFusion lacks or answers otherwise:
//! `year`, `month`, `day`/`dayofmonth`, `dayofweek` (1 = Sunday), `dayofyear`, `weekofyear`
//! (ISO weeks), `quarter`, `months_between`, and `from_unixtime` (a string in the session's
//! time zone, formatted with a Spark pattern). Timestamps with a time zone are read in it.
//! Reference: <https://spark.apache.org/docs/latest/api/sql/index.html#dayofweek>.

use std::sync::Arc;

use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeZone, Timelike};
use datafusion::arrow::array::timezone::Tz;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int32Array, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type, TimeUnit, TimestampMicrosecondType};
use datafusion::common::{plan_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use super::{is_datetime, is_string};
use crate::FunctionError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Part {
    Year,
    Month,
    Day,
    DayOfWeek,
    DayOfYear,
    WeekOfYear,
    Quarter,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct DatePart {
    name: &'static str,
    aliases: Vec<String>,
    part: Part,
    signature: Signature,
}

fn date_part(name: &'static str, aliases: &[&str], part: Part) -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::new_from_impl(DatePart {
        name,
        aliases: aliases.iter().map(|a| a.to_string()).collect(),
        part,
        signature: Signature::user_defined(Volatility::Immutable),
    }))
}

/// The date-part functions.
pub fn date_parts() -> Vec<Arc<ScalarUDF>> {
    vec![
        date_part("year", &[], Part::Year),
        date_part("month", &[], Part::Month),
        date_part("day", &["dayofmonth"], Part::Day),
        date_part("dayofweek", &[], Part::DayOfWeek),
        date_part("dayofyear", &[], Part::DayOfYear),
        date_part("weekofyear", &[], Part::WeekOfYear),
        date_part("quarter", &[], Part::Quarter),
    ]
}

/// Each row as local date and time: timestamps with a zone in that zone, strings parsed as
/// timestamps.
fn local_datetimes(array: &ArrayRef) -> Result<Vec<Option<NaiveDateTime>>> {
    let (micros, zone) = match array.data_type() {
        DataType::Timestamp(_, zone) => (
            cast(
                array,
                &DataType::Timestamp(TimeUnit::Microsecond, zone.clone()),
            )?,
            zone.clone(),
        ),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => (
            cast(array, &DataType::Timestamp(TimeUnit::Microsecond, None)).map_err(|e| {
                FunctionError::new("22007", format!("not a date or timestamp: {e}"))
            })?,
            None,
        ),
        _ => (
            cast(
                &cast(array, &DataType::Date32)?,
                &DataType::Timestamp(TimeUnit::Microsecond, None),
            )?,
            None,
        ),
    };
    let tz: Option<Tz> =
        match zone.as_deref() {
            Some(z) => Some(z.parse().map_err(|e| {
                FunctionError::new("22023", format!("unknown time zone '{z}': {e}"))
            })?),
            None => None,
        };
    Ok(micros
        .as_primitive::<TimestampMicrosecondType>()
        .iter()
        .map(|v| {
            let utc = chrono::DateTime::from_timestamp_micros(v?)?;
            Some(match &tz {
                Some(tz) => tz.from_utc_datetime(&utc.naive_utc()).naive_local(),
                None => utc.naive_utc(),
            })
        })
        .collect())
}

impl ScalarUDFImpl for DatePart {
    fn name(&self) -> &str {
        self.name
    }
    fn aliases(&self) -> &[String] {
        &self.aliases
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [t] if is_datetime(t) => Ok(vec![t.clone()]),
            _ => plan_err!("{} takes a date or a timestamp", self.name),
        }
    }
    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int32)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let values: Int32Array = local_datetimes(&arrays[0])?
            .into_iter()
            .map(|t| {
                let d = t?.date();
                Some(match self.part {
                    Part::Year => d.year(),
                    Part::Month => d.month() as i32,
                    Part::Day => d.day() as i32,
                    Part::DayOfWeek => d.weekday().number_from_sunday() as i32,
                    Part::DayOfYear => d.ordinal() as i32,
                    Part::WeekOfYear => d.iso_week().week() as i32,
                    Part::Quarter => d.month0() as i32 / 3 + 1,
                })
            })
            .collect();
        let result: ArrayRef = Arc::new(values);
        super::answer(result, &args.args)
    }
}

/// Spark's `months_between(t1, t2[, roundOff])`: whole months when both days are the same
/// day of the month or both the last; otherwise the month difference plus the difference of
/// the day-and-time within the month over 31 days, rounded to 8 decimals unless `roundOff`
/// is false.
#[derive(Debug, PartialEq, Eq, Hash)]
struct MonthsBetween {
    signature: Signature,
}

pub fn months_between() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::new_from_impl(MonthsBetween {
        signature: Signature::user_defined(Volatility::Immutable),
    }))
}

fn is_last_day(d: NaiveDate) -> bool {
    d.succ_opt().map(|n| n.month() != d.month()).unwrap_or(true)
}

pub(crate) fn months_between_values(a: NaiveDateTime, b: NaiveDateTime, round: bool) -> f64 {
    let months = (a.year() * 12 + a.month() as i32) - (b.year() * 12 + b.month() as i32);
    if a.day() == b.day() || (is_last_day(a.date()) && is_last_day(b.date())) {
        return months as f64;
    }
    let seconds = |t: NaiveDateTime| {
        t.day() as f64 * 86_400.0
            + t.num_seconds_from_midnight() as f64
            + t.nanosecond() as f64 / 1e9
    };
    let diff = months as f64 + (seconds(a) - seconds(b)) / (31.0 * 86_400.0);
    if round {
        (diff * 1e8).round() / 1e8
    } else {
        diff
    }
}

impl ScalarUDFImpl for MonthsBetween {
    fn name(&self) -> &str {
        "months_between"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [a, b] if is_datetime(a) && is_datetime(b) => Ok(args.to_vec()),
            [a, b, r]
                if is_datetime(a) && is_datetime(b) && (r.is_null() || *r == DataType::Boolean) =>
            {
                Ok(vec![a.clone(), b.clone(), DataType::Boolean])
            }
            _ => plan_err!("months_between takes (timestamp, timestamp[, roundOff boolean])"),
        }
    }
    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let a = local_datetimes(&arrays[0])?;
        let b = local_datetimes(&arrays[1])?;
        let round = arrays.get(2).map(|r| r.as_boolean().clone());
        let values: Float64Array = (0..a.len())
            .map(|i| {
                let round = match &round {
                    Some(r) => {
                        let j = i.min(r.len().saturating_sub(1));
                        if r.is_null(j) {
                            return None;
                        }
                        r.value(j)
                    }
                    None => true,
                };
                Some(months_between_values(a[i]?, b[i]?, round))
            })
            .collect();
        let result: ArrayRef = Arc::new(values);
        super::answer(result, &args.args)
    }
}

/// Spark's `from_unixtime(seconds[, pattern])`: the time `seconds` after the epoch as a
/// string in the session's time zone (`yyyy-MM-dd HH:mm:ss` unless a pattern is given).
#[derive(Debug, PartialEq, Eq, Hash)]
struct FromUnixtime {
    signature: Signature,
}

pub fn from_unixtime() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::new_from_impl(FromUnixtime {
        signature: Signature::user_defined(Volatility::Stable),
    }))
}

impl ScalarUDFImpl for FromUnixtime {
    fn name(&self) -> &str {
        "from_unixtime"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [s] if s.is_integer() || s.is_null() => Ok(vec![DataType::Int64]),
            [s, f] if (s.is_integer() || s.is_null()) && is_string(f) => {
                Ok(vec![DataType::Int64, DataType::Utf8])
            }
            _ => plan_err!("from_unixtime takes (seconds BIGINT[, pattern STRING])"),
        }
    }
    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let zone = args
            .config_options
            .execution
            .time_zone
            .clone()
            .unwrap_or_else(|| "UTC".into());
        let tz: Tz = zone
            .parse()
            .map_err(|e| FunctionError::new("22023", format!("unknown time zone '{zone}': {e}")))?;
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let seconds = arrays[0].as_primitive::<Int64Type>();
        let patterns = arrays
            .get(1)
            .map(|p| cast(p, &DataType::Utf8))
            .transpose()?;
        let mut out = StringBuilder::new();
        let mut formats: std::collections::HashMap<String, String> = Default::default();
        for i in 0..seconds.len() {
            let pattern = match &patterns {
                Some(p) => {
                    let p = p.as_string::<i32>();
                    if p.is_null(i) {
                        out.append_null();
                        continue;
                    }
                    p.value(i).to_string()
                }
                None => "yyyy-MM-dd HH:mm:ss".to_string(),
            };
            if seconds.is_null(i) {
                out.append_null();
                continue;
            }
            if !formats.contains_key(&pattern) {
                let chrono_format = super::datetime_pattern::to_chrono(&pattern)?;
                formats.insert(pattern.clone(), chrono_format);
            }
            let Some(utc) = chrono::DateTime::from_timestamp(seconds.value(i), 0) else {
                out.append_null();
                continue;
            };
            let local = tz.from_utc_datetime(&utc.naive_utc());
            out.append_value(local.format(&formats[&pattern]).to_string());
        }
        let result: ArrayRef = Arc::new(out.finish());
        super::answer(result, &args.args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn months_between_as_spark() {
        // Spark's reference examples.
        assert_eq!(
            months_between_values(at("1997-02-28 10:30:00"), at("1996-10-30 00:00:00"), true),
            3.94959677
        );
        assert_eq!(
            months_between_values(at("1997-02-28 10:30:00"), at("1996-10-30 00:00:00"), false),
            3.9495967741935485
        );
        assert_eq!(
            months_between_values(at("2024-03-31 00:00:00"), at("2024-02-29 00:00:00"), true),
            1.0
        );
    }
}
