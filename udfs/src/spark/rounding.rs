//! Spark's `bround(expr[, d])` (round half to even) and `format_number(expr, d)` (grouped
//! digits, `d` decimals, half-even as Java's `DecimalFormat`).
//!
//! A DOUBLE is rounded as Spark rounds it: `bround` from its shortest decimal representation
//! (`bround(2.675, 2)` is 2.68, not the 2.67 of the binary value), `format_number` from the
//! binary value (Java's `DecimalFormat`); integers and DECIMALs exactly. Reference: <https://spark.apache.org/docs/latest/api/sql/index.html#bround>.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Decimal128Array, Float64Array, Int64Array, StringBuilder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Decimal128Type, Field, FieldRef, Float64Type, Int64Type,
};
use datafusion::common::{plan_err, Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

/// A decimal number: `unscaled * 10^-scale`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Decimal {
    unscaled: i128,
    scale: i32,
}

impl Decimal {
    /// The shortest decimal that reads back as `x` (finite, |x| < 1e30).
    fn of_f64(x: f64) -> Option<Decimal> {
        if !x.is_finite() || x.abs() >= 1e30 {
            return None;
        }
        let sci = format!("{x:e}");
        let (mantissa, exp) = sci.split_once('e')?;
        let exp: i32 = exp.parse().ok()?;
        let negative = mantissa.starts_with('-');
        let mantissa = mantissa.trim_start_matches('-');
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let digits: i128 = format!("{int}{frac}").parse().ok()?;
        let scale = frac.len() as i32 - exp;
        let unscaled = if negative { -digits } else { digits };
        Some(if scale < 0 {
            Decimal {
                unscaled: unscaled.checked_mul(10i128.checked_pow((-scale) as u32)?)?,
                scale: 0,
            }
        } else {
            Decimal { unscaled, scale }
        })
    }

    /// `x` rounded to `d` decimals from its exact binary value, half to even (Java's
    /// `DecimalFormat`, which `format_number` uses, rounds the binary value).
    fn of_f64_rounded(x: f64, d: i32) -> Option<Decimal> {
        if !x.is_finite() || x.abs() >= 1e30 || d < 0 {
            return None;
        }
        let text = format!("{x:.*}", d as usize);
        let negative = text.starts_with('-');
        let text = text.trim_start_matches('-');
        let (int, frac) = text.split_once('.').unwrap_or((text, ""));
        let digits: i128 = format!("{int}{frac}").parse().ok()?;
        Some(Decimal {
            unscaled: if negative { -digits } else { digits },
            scale: frac.len() as i32,
        })
    }

    /// Rounded half to even to `d` decimals (negative: to tens, hundreds, ...).
    fn round_half_even(self, d: i32) -> Option<Decimal> {
        self.round_to(d, false)
    }

    /// Rounded to `d` decimals, a half away from zero (`half_up`) or to even.
    fn round_to(self, d: i32, half_up: bool) -> Option<Decimal> {
        if d >= self.scale {
            return Some(self);
        }
        let drop = (self.scale - d) as u32;
        let unit = 10i128.checked_pow(drop)?;
        let q = self.unscaled / unit;
        let r = self.unscaled % unit;
        let twice = r.abs() * 2;
        let away = twice > unit || (twice == unit && (half_up || q % 2 != 0));
        let q = if away { q + self.unscaled.signum() } else { q };
        Some(Decimal {
            unscaled: q,
            scale: d,
        })
    }

    /// The value with `scale` decimals (more or fewer zeros; never rounds).
    fn rescale(self, scale: i32) -> Option<i128> {
        if scale >= self.scale {
            self.unscaled
                .checked_mul(10i128.checked_pow((scale - self.scale) as u32)?)
        } else {
            let unit = 10i128.checked_pow((self.scale - scale) as u32)?;
            Some(self.unscaled / unit)
        }
    }

    fn to_f64(self) -> f64 {
        // Through text: exact for what f64 can hold.
        let s = if self.scale > 0 {
            format!("{}e-{}", self.unscaled, self.scale)
        } else {
            format!("{}e{}", self.unscaled, -self.scale)
        };
        s.parse().unwrap_or(f64::NAN)
    }

    /// `12,332.1235`: grouped integer digits, exactly `decimals` decimals.
    fn grouped(self, decimals: i32) -> Option<String> {
        let unscaled = self.rescale(decimals)?;
        let digits = unscaled.unsigned_abs().to_string();
        let decimals = decimals as usize;
        let digits = format!("{digits:0>width$}", width = decimals + 1);
        let (int, frac) = digits.split_at(digits.len() - decimals);
        let mut grouped = String::new();
        for (i, c) in int.chars().enumerate() {
            if i > 0 && (int.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        let sign = if unscaled < 0 { "-" } else { "" };
        Some(if decimals > 0 {
            format!("{sign}{grouped}.{frac}")
        } else {
            format!("{sign}{grouped}")
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Bround,
    Round,
    FormatNumber,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Rounding {
    kind: Kind,
    signature: Signature,
}

pub fn bround() -> ScalarUDF {
    ScalarUDF::new_from_impl(Rounding {
        kind: Kind::Bround,
        signature: Signature::user_defined(Volatility::Immutable),
    })
}

/// Spark's `round(expr[, d])`: half away from zero, a DOUBLE from its shortest decimal
/// (`round(1.005, 2)` is 1.01; DataFusion's rounds the binary value to 1.0); integers keep
/// their type.
pub fn round() -> ScalarUDF {
    ScalarUDF::new_from_impl(Rounding {
        kind: Kind::Round,
        signature: Signature::user_defined(Volatility::Immutable),
    })
}

pub fn format_number() -> ScalarUDF {
    ScalarUDF::new_from_impl(Rounding {
        kind: Kind::FormatNumber,
        signature: Signature::user_defined(Volatility::Immutable),
    })
}

/// The number's type as the function reads it: integers as BIGINT, decimals as they are,
/// other numbers as DOUBLE.
fn operand_type(t: &DataType) -> Option<DataType> {
    match t {
        DataType::Null => Some(DataType::Float64),
        t if t.is_integer() => Some(DataType::Int64),
        DataType::Decimal128(..) => Some(t.clone()),
        DataType::Decimal256(..) => Some(DataType::Decimal128(38, 10)),
        t if t.is_numeric() => Some(DataType::Float64),
        _ => None,
    }
}

/// The decimals argument given as a literal (0 when absent).
fn literal_decimals(args: &ReturnFieldArgs) -> Option<i32> {
    match args.scalar_arguments.get(1) {
        None => Some(0),
        Some(Some(v)) => v.cast_to(&DataType::Int64).ok().and_then(|v| match v {
            ScalarValue::Int64(Some(d)) => i32::try_from(d).ok(),
            _ => None,
        }),
        Some(None) => None,
    }
}

impl ScalarUDFImpl for Rounding {
    fn name(&self) -> &str {
        match self.kind {
            Kind::Bround => "bround",
            Kind::Round => "round",
            Kind::FormatNumber => "format_number",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let arity_ok = match self.kind {
            Kind::Bround | Kind::Round => (1..=2).contains(&args.len()),
            Kind::FormatNumber => args.len() == 2,
        };
        if !arity_ok {
            return plan_err!(
                "{}: wrong number of arguments ({})",
                self.name(),
                args.len()
            );
        }
        let Some(mut number) = operand_type(&args[0]) else {
            return plan_err!("{} takes a number, not {}", self.name(), args[0]);
        };
        if self.kind == Kind::Round && args[0].is_integer() {
            number = args[0].clone();
        }
        let mut types = vec![number];
        if let Some(d) = args.get(1) {
            if !(d.is_integer() || d.is_null()) {
                return plan_err!(
                    "{}: the number of decimals is an integer, not {d}",
                    self.name()
                );
            }
            types.push(DataType::Int64);
        }
        Ok(types)
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        plan_err!("return_field_from_args is used")
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let input = args.arg_fields[0].data_type().clone();
        let data_type = match (self.kind, &input) {
            (Kind::FormatNumber, _) => DataType::Utf8,
            (Kind::Bround | Kind::Round, DataType::Decimal128(p, s)) => {
                // Spark: the scale becomes d (when smaller), with a digit for a carry.
                let d = literal_decimals(&args).unwrap_or(*s as i32);
                let scale = d.clamp(0, *s as i32);
                let precision = (*p as i32 - *s as i32 + scale + 1).clamp(1, 38);
                DataType::Decimal128(precision as u8, scale as i8)
            }
            (Kind::Bround | Kind::Round, other) => other.clone(),
        };
        Ok(Arc::new(Field::new(self.name(), data_type, true)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let out_type = args.return_field.data_type().clone();
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let half_up = self.kind == Kind::Round;
        // Integers are rounded as BIGINT and answered in their own type.
        let number = &if arrays[0].data_type().is_integer() {
            cast(&arrays[0], &DataType::Int64)?
        } else {
            arrays[0].clone()
        };
        let decimals: ArrayRef = match arrays.get(1) {
            Some(d) => cast(d, &DataType::Int64)?,
            None => Arc::new(Int64Array::from(vec![0; rows])),
        };
        let decimals = decimals.as_primitive::<Int64Type>();
        // Each row's number as a decimal (None: NULL or not representable).
        let values: Vec<Option<Decimal>> = match number.data_type() {
            DataType::Int64 => number
                .as_primitive::<Int64Type>()
                .iter()
                .map(|v| {
                    v.map(|v| Decimal {
                        unscaled: v as i128,
                        scale: 0,
                    })
                })
                .collect(),
            DataType::Decimal128(_, s) => number
                .as_primitive::<Decimal128Type>()
                .iter()
                .map(|v| {
                    v.map(|v| Decimal {
                        unscaled: v,
                        scale: *s as i32,
                    })
                })
                .collect(),
            _ => cast(number, &DataType::Float64)?
                .as_primitive::<Float64Type>()
                .iter()
                .map(|v| v.and_then(Decimal::of_f64))
                .collect(),
        };
        let d_of = |i: usize| {
            let i = i.min(decimals.len().saturating_sub(1));
            (decimals.is_valid(i)).then(|| decimals.value(i).clamp(-40, 40) as i32)
        };
        let result: ArrayRef = match self.kind {
            Kind::FormatNumber => {
                let floats = match number.data_type() {
                    DataType::Float64 => Some(number.as_primitive::<Float64Type>()),
                    _ => None,
                };
                let mut out = StringBuilder::new();
                for (i, v) in values.iter().enumerate() {
                    // A negative number of decimals is NULL, as in Spark.
                    let Some(d) = d_of(i).filter(|d| *d >= 0) else {
                        out.append_null();
                        continue;
                    };
                    let rounded = match floats {
                        Some(f) if f.is_valid(i) => Decimal::of_f64_rounded(f.value(i), d),
                        _ => v.and_then(|v| v.round_half_even(d)),
                    };
                    match rounded.and_then(|r| r.grouped(d)) {
                        Some(s) => out.append_value(s),
                        None => out.append_null(),
                    }
                }
                Arc::new(out.finish())
            }
            Kind::Bround | Kind::Round => match &out_type {
                t if t.is_integer() => {
                    let rounded: ArrayRef = Arc::new(
                        values
                            .iter()
                            .enumerate()
                            .map(|(i, v)| {
                                let r = v.as_ref()?.round_to(d_of(i)?, half_up)?;
                                i64::try_from(r.rescale(0)?).ok()
                            })
                            .collect::<Int64Array>(),
                    );
                    let strict = datafusion::arrow::compute::CastOptions {
                        safe: false,
                        ..Default::default()
                    };
                    datafusion::arrow::compute::cast_with_options(&rounded, t, &strict)?
                }
                DataType::Decimal128(p, s) => Arc::new(
                    values
                        .iter()
                        .enumerate()
                        .map(|(i, v)| v.as_ref()?.round_to(d_of(i)?, half_up)?.rescale(*s as i32))
                        .collect::<Decimal128Array>()
                        .with_precision_and_scale(*p, *s)?,
                ),
                _ => {
                    let floats = cast(number, &DataType::Float64)?;
                    let floats = floats.as_primitive::<Float64Type>();
                    let rounded: Float64Array = values
                        .iter()
                        .enumerate()
                        .map(|(i, v)| match v {
                            Some(v) => Some(v.round_to(d_of(i)?, half_up)?.to_f64()),
                            // NaN, infinities and huge values stay as they are.
                            None => floats.is_valid(i).then(|| floats.value(i)),
                        })
                        .collect();
                    cast(&(Arc::new(rounded) as ArrayRef), &out_type)?
                }
            },
        };
        super::answer(result, &args.args)
    }
}

#[cfg(test)]
mod tests {
    use super::Decimal;

    fn bround(x: f64, d: i32) -> f64 {
        Decimal::of_f64(x)
            .unwrap()
            .round_half_even(d)
            .unwrap()
            .to_f64()
    }

    fn format_number(x: f64, d: i32) -> String {
        Decimal::of_f64_rounded(x, d).unwrap().grouped(d).unwrap()
    }

    #[test]
    fn rounds_half_to_even_from_the_decimal_representation() {
        // Spark's reference examples.
        assert_eq!(bround(2.5, 0), 2.0);
        assert_eq!(bround(25.0, -1), 20.0);
        assert_eq!(bround(3.5, 0), 4.0);
        assert_eq!(bround(-2.5, 0), -2.0);
        assert_eq!(bround(2.675, 2), 2.68);
        assert_eq!(bround(0.125, 2), 0.12);
        assert_eq!(bround(1e20, 2), 1e20);
    }

    #[test]
    fn rounds_half_up_from_the_decimal_representation() {
        let round = |x: f64, d: i32| {
            Decimal::of_f64(x)
                .unwrap()
                .round_to(d, true)
                .unwrap()
                .to_f64()
        };
        // Spark's reference examples, and where the binary value is just below the half.
        assert_eq!(round(2.5, 0), 3.0);
        assert_eq!(round(-2.5, 0), -3.0);
        assert_eq!(round(1.005, 2), 1.01);
        assert_eq!(round(2.675, 2), 2.68);
        assert_eq!(round(1234.5678, -2), 1200.0);
    }

    #[test]
    fn formats_numbers_as_spark() {
        assert_eq!(format_number(12332.123456, 4), "12,332.1235");
        assert_eq!(format_number(-1234567.5, 0), "-1,234,568");
        assert_eq!(format_number(0.5, 0), "0");
        assert_eq!(format_number(123.0, 2), "123.00");
        // The binary value of 0.05 is a little above it.
        assert_eq!(format_number(0.05, 1), "0.1");
        assert_eq!(format_number(2.5, 0), "2");
    }
}
