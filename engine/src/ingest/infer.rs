//! Deterministic type inference for the columns of new tables: each column gets the narrowest
//! type every one of its non-NULL values (over the whole run) fits, in this order:
//!
//! | type      | every value is                                                          |
//! |-----------|-------------------------------------------------------------------------|
//! | BIGINT    | an integer without leading zeros (`0` is one; `007` is not) in 64 bits  |
//! | DOUBLE    | a decimal number: sign, digits, `.`, exponent; no leading zeros         |
//! | BOOLEAN   | `true` or `false`, in any case                                          |
//! | DATE      | `YYYY-MM-DD`                                                            |
//! | TIMESTAMP | `YYYY-MM-DD[T ]HH:MM:SS[.fraction][Z or ±HH:MM]`                          |
//! | STRING    | anything else, and a column with no non-NULL value                     |
//!
//! Codes with leading zeros (`00123`) stay strings, so no value is changed by its type.

use arrow::datatypes::{DataType, TimeUnit};

const INT: u8 = 1;
const DOUBLE: u8 = 2;
const BOOL: u8 = 4;
const DATE: u8 = 8;
const TIMESTAMP: u8 = 16;
const ALL: u8 = INT | DOUBLE | BOOL | DATE | TIMESTAMP;

/// What one column's values so far allow, and the range of its numbers (whatever else it
/// holds: what an existing numeric column must be widened to).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Candidates {
    allowed: u8,
    seen: bool,
    /// The least and greatest integer value.
    integers: Option<(i64, i64)>,
    /// A number with a fraction or an exponent was seen.
    fractions: bool,
}

impl Default for Candidates {
    fn default() -> Self {
        Candidates {
            allowed: ALL,
            seen: false,
            integers: None,
            fractions: false,
        }
    }
}

/// A value that reads as a number.
enum Number {
    Integer(i64),
    Fraction,
}

impl Candidates {
    /// Narrows by one non-NULL value.
    pub(crate) fn observe(&mut self, value: &str) {
        self.seen = true;
        let number = number_kind(value);
        match number {
            Some(Number::Integer(v)) => {
                self.integers = Some(match self.integers {
                    None => (v, v),
                    Some((lo, hi)) => (lo.min(v), hi.max(v)),
                })
            }
            Some(Number::Fraction) => self.fractions = true,
            None => {}
        }
        if self.allowed == 0 {
            return;
        }
        let mut fits = 0;
        if self.allowed & (INT | DOUBLE) != 0 {
            match number {
                Some(Number::Integer(_)) => fits |= INT | DOUBLE,
                Some(Number::Fraction) => fits |= DOUBLE,
                None => {}
            }
        }
        if self.allowed & BOOL != 0
            && (value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("false"))
        {
            fits |= BOOL;
        }
        if self.allowed & (DATE | TIMESTAMP) != 0 {
            if is_date(value.as_bytes()) {
                fits |= DATE;
            } else if is_timestamp(value.as_bytes()) {
                fits |= TIMESTAMP;
            }
        }
        self.allowed &= fits;
    }

    /// The union of two columns' observations (two workers' shares of one column).
    pub(crate) fn merge(&mut self, other: Candidates) {
        self.allowed &= other.allowed;
        self.seen |= other.seen;
        self.fractions |= other.fractions;
        self.integers = match (self.integers, other.integers) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (x, None) | (None, x) => x,
        };
    }

    /// The type an existing column of type `existing` must be widened to so that every number
    /// seen fits it, when the widening changes no value already stored — Delta's type-widening
    /// rules: TINYINT, SMALLINT and INT widen to a wider integer type, or to DOUBLE for numbers
    /// with fractions. `None` when the numbers fit already, or when no such widening exists
    /// (BIGINT to DOUBLE could change large values): those values stay quarantined.
    pub(crate) fn widening(&self, existing: &DataType) -> Option<DataType> {
        let width = |t: &DataType| match t {
            DataType::Int8 => Some(1),
            DataType::Int16 => Some(2),
            DataType::Int32 => Some(3),
            DataType::Int64 => Some(4),
            _ => None,
        };
        let have = width(existing).filter(|w| *w < 4)?;
        if self.fractions {
            return Some(DataType::Float64);
        }
        let (lo, hi) = self.integers?;
        let need = if i8::try_from(lo).is_ok() && i8::try_from(hi).is_ok() {
            DataType::Int8
        } else if i16::try_from(lo).is_ok() && i16::try_from(hi).is_ok() {
            DataType::Int16
        } else if i32::try_from(lo).is_ok() && i32::try_from(hi).is_ok() {
            DataType::Int32
        } else {
            DataType::Int64
        };
        (width(&need)? > have).then_some(need)
    }

    /// The inferred type.
    pub(crate) fn data_type(&self) -> DataType {
        if !self.seen {
            return DataType::Utf8;
        }
        if self.allowed & INT != 0 {
            DataType::Int64
        } else if self.allowed & DOUBLE != 0 {
            DataType::Float64
        } else if self.allowed & BOOL != 0 {
            DataType::Boolean
        } else if self.allowed & DATE != 0 {
            DataType::Date32
        } else if self.allowed & TIMESTAMP != 0 {
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        } else {
            DataType::Utf8
        }
    }
}

/// An integer that fits 64 bits, another decimal number, or `None` for anything else (leading
/// zeros included).
fn number_kind(value: &str) -> Option<Number> {
    let b = value.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = i - int_start;
    if int_digits > 1 && b[int_start] == b'0' {
        return None;
    }
    let mut fraction_digits = 0;
    let mut integral = true;
    if i < b.len() && b[i] == b'.' {
        integral = false;
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        fraction_digits = i - start;
    }
    if int_digits == 0 && fraction_digits == 0 {
        return None;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        integral = false;
        i += 1;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    if integral {
        // Digits that do not fit 64 bits would lose precision as a DOUBLE too.
        return value.parse::<i64>().ok().map(Number::Integer);
    }
    value
        .parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map(|_| Number::Fraction)
}

fn digits(b: &[u8]) -> bool {
    !b.is_empty() && b.iter().all(u8::is_ascii_digit)
}

fn is_date(b: &[u8]) -> bool {
    b.len() == 10
        && digits(&b[0..4])
        && b[4] == b'-'
        && digits(&b[5..7])
        && b[7] == b'-'
        && digits(&b[8..10])
        && (1..=12).contains(&two(&b[5..7]))
        && (1..=31).contains(&two(&b[8..10]))
}

fn two(b: &[u8]) -> u32 {
    (b[0] - b'0') as u32 * 10 + (b[1] - b'0') as u32
}

fn is_timestamp(b: &[u8]) -> bool {
    if b.len() < 19 || !is_date(&b[..10]) || !(b[10] == b'T' || b[10] == b' ') {
        return false;
    }
    let t = &b[11..19];
    if !(digits(&t[0..2])
        && t[2] == b':'
        && digits(&t[3..5])
        && t[5] == b':'
        && digits(&t[6..8])
        && two(&t[0..2]) < 24
        && two(&t[3..5]) < 60
        && two(&t[6..8]) < 60)
    {
        return false;
    }
    let mut rest = &b[19..];
    if let Some(after) = rest.strip_prefix(b".") {
        let n = after.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 9 {
            return false;
        }
        rest = &after[n..];
    }
    match rest {
        [] | [b'Z'] => true,
        [sign, h1, h2, b':', m1, m2] if *sign == b'+' || *sign == b'-' => {
            digits(&[*h1, *h2, *m1, *m2])
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn infer(values: &[&str]) -> DataType {
        let mut c = Candidates::default();
        for v in values {
            c.observe(v);
        }
        c.data_type()
    }

    fn widening(values: &[&str], existing: DataType) -> Option<DataType> {
        let mut c = Candidates::default();
        for v in values {
            c.observe(v);
        }
        c.widening(&existing)
    }

    #[test]
    fn existing_narrow_integer_columns_widen_only_as_far_as_the_numbers_need() {
        use DataType::*;
        assert_eq!(widening(&["1", "-7"], Int32), None);
        assert_eq!(widening(&["1", "40000"], Int16), Some(Int32));
        assert_eq!(widening(&["1", "3000000000"], Int32), Some(Int64));
        assert_eq!(widening(&["-3000000000", "n/a"], Int8), Some(Int64));
        assert_eq!(widening(&["1", "2.5"], Int32), Some(Float64));
        assert_eq!(widening(&["1e3"], Int16), Some(Float64));
        // No safe widening: BIGINT to DOUBLE could change stored values; text is not numbers.
        assert_eq!(widening(&["2.5"], Int64), None);
        assert_eq!(widening(&["9223372036854775807"], Int64), None);
        assert_eq!(widening(&["abc"], Int32), None);
        assert_eq!(widening(&["2.5"], Utf8), None);
        // Two workers' shares of one column.
        let (mut a, mut b) = (Candidates::default(), Candidates::default());
        a.observe("5");
        b.observe("70000");
        a.merge(b);
        assert_eq!(a.widening(&Int16), Some(Int32));
    }

    #[test]
    fn narrowest_type_every_value_fits() {
        assert_eq!(infer(&["1", "-20", "0"]), DataType::Int64);
        assert_eq!(infer(&["1", "2.5", "-1e3"]), DataType::Float64);
        assert_eq!(infer(&["TRUE", "false"]), DataType::Boolean);
        assert_eq!(infer(&["2026-12-01", "2026-01-31"]), DataType::Date32);
        assert_eq!(
            infer(&[
                "2026-12-01 10:00:00",
                "2026-12-01T10:00:00.123Z",
                "2026-12-01T10:00:00+09:00"
            ]),
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        );
        // Mixed dates and timestamps, codes with leading zeros, huge integers: strings.
        assert_eq!(
            infer(&["2026-12-01", "2026-12-01 10:00:00"]),
            DataType::Utf8
        );
        assert_eq!(infer(&["007", "12"]), DataType::Utf8);
        assert_eq!(infer(&["12345678901234567890"]), DataType::Utf8);
        assert_eq!(infer(&["1", "n/a"]), DataType::Utf8);
        assert_eq!(infer(&["NaN"]), DataType::Utf8);
        assert_eq!(infer(&["2026-13-01"]), DataType::Utf8);
        assert_eq!(infer(&[]), DataType::Utf8);
        assert_eq!(infer(&["1", "0.5"]), DataType::Float64);
        assert_eq!(infer(&["."]), DataType::Utf8);
    }

    #[test]
    fn merging_workers_is_the_same_as_one_pass() {
        let mut a = Candidates::default();
        a.observe("1");
        let mut b = Candidates::default();
        b.observe("2.5");
        a.merge(b);
        assert_eq!(a.data_type(), DataType::Float64);
        let mut empty = Candidates::default();
        empty.merge(Candidates::default());
        assert_eq!(empty.data_type(), DataType::Utf8);
    }
}
