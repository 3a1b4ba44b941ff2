//! Spark's interval literals DataFusion does not read, rewritten to the text form it does
//! (`INTERVAL '1 years 2 months'`):
//! - ranges: `INTERVAL '1-2' YEAR TO MONTH`, `'1 02:03:04.5' DAY TO SECOND`, `'10:20' HOUR TO
//!   MINUTE`, ... with Spark's formats and field limits (22006 otherwise);
//! - several units: `INTERVAL 1 DAY 2 HOURS 30 MINUTES`.
//!
//! Reference: https://spark.apache.org/docs/latest/sql-ref-literals.html#interval-literal

use datafusion::sql::sqlparser::ast::{self, visit_expressions_mut, DateTimeField, Expr, Value};
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan};

use crate::error::{EngineError, Result};

/// Rewrites every interval range of `stmt` (`'1-2' YEAR TO MONTH`) to its text form.
pub(super) fn rewrite_interval_ranges(stmt: &mut ast::Statement) -> Result<()> {
    let mut error = None;
    let _ = visit_expressions_mut(stmt, |e| {
        if let Expr::Interval(interval) = e {
            if let (Some(leading), Some(last)) = (&interval.leading_field, &interval.last_field) {
                match range_literal(&interval.value, leading, last) {
                    Ok(text) => {
                        interval.value = Box::new(Expr::value(Value::SingleQuotedString(text)));
                        interval.leading_field = None;
                        interval.last_field = None;
                        interval.leading_precision = None;
                        interval.fractional_seconds_precision = None;
                    }
                    Err(e) => {
                        error = Some(e);
                        return std::ops::ControlFlow::Break(());
                    }
                }
            }
        }
        std::ops::ControlFlow::Continue(())
    });
    match error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Unit {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
}

impl Unit {
    fn of(field: &DateTimeField) -> Option<Unit> {
        Some(match field {
            DateTimeField::Year | DateTimeField::Years => Unit::Year,
            DateTimeField::Month | DateTimeField::Months => Unit::Month,
            DateTimeField::Day | DateTimeField::Days => Unit::Day,
            DateTimeField::Hour | DateTimeField::Hours => Unit::Hour,
            DateTimeField::Minute | DateTimeField::Minutes => Unit::Minute,
            DateTimeField::Second | DateTimeField::Seconds => Unit::Second,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Unit::Year => "years",
            Unit::Month => "months",
            Unit::Day => "days",
            Unit::Hour => "hours",
            Unit::Minute => "minutes",
            Unit::Second => "seconds",
        }
    }

    /// The largest value a field that is not the leading one may hold.
    fn limit(self) -> Option<f64> {
        match self {
            Unit::Month => Some(11.0),
            Unit::Hour => Some(23.0),
            Unit::Minute => Some(59.0),
            Unit::Second => Some(59.999_999),
            Unit::Year | Unit::Day => None,
        }
    }
}

/// The text form of `value` read as the range `leading TO last`.
fn range_literal(value: &Expr, leading: &DateTimeField, last: &DateTimeField) -> Result<String> {
    let (negated, text) = match value {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) => (false, s.clone()),
            other => return Err(bad_interval(&other.to_string(), leading, last)),
        },
        Expr::UnaryOp {
            op: ast::UnaryOperator::Minus,
            expr,
        } => match expr.as_ref() {
            Expr::Value(v) => match &v.value {
                Value::SingleQuotedString(s) => (true, s.clone()),
                other => return Err(bad_interval(&other.to_string(), leading, last)),
            },
            other => return Err(bad_interval(&other.to_string(), leading, last)),
        },
        other => return Err(bad_interval(&other.to_string(), leading, last)),
    };
    let (Some(from), Some(to)) = (Unit::of(leading), Unit::of(last)) else {
        return Err(bad_interval(&text, leading, last));
    };
    let units: Vec<Unit> = match (from, to) {
        (Unit::Year, Unit::Month) => vec![Unit::Year, Unit::Month],
        (Unit::Day | Unit::Hour | Unit::Minute, Unit::Hour | Unit::Minute | Unit::Second)
            if from < to =>
        {
            [Unit::Day, Unit::Hour, Unit::Minute, Unit::Second]
                .into_iter()
                .filter(|u| *u >= from && *u <= to)
                .collect()
        }
        _ => {
            return Err(EngineError::Coded {
                sqlstate: "22006",
                message: format!("interval range {leading} TO {last} is not one Spark reads"),
            })
        }
    };
    let trimmed = text.trim();
    let (sign, body) = match trimmed.strip_prefix('-') {
        Some(rest) => (!negated, rest),
        None => (negated, trimmed.strip_prefix('+').unwrap_or(trimmed)),
    };
    // Year-month: `y-m`; day-time: `d h:m:s`, starting at the leading field.
    let parts: Vec<&str> = if from == Unit::Year {
        body.split('-').collect()
    } else if from == Unit::Day {
        match body.split_once(char::is_whitespace) {
            Some((day, rest)) => std::iter::once(day).chain(rest.trim().split(':')).collect(),
            None => vec![body],
        }
    } else {
        body.split(':').collect()
    };
    if parts.len() != units.len() {
        return Err(bad_interval(&text, leading, last));
    }
    let mut out = Vec::with_capacity(units.len());
    for (i, (part, unit)) in parts.iter().zip(&units).enumerate() {
        let fraction_allowed = *unit == Unit::Second;
        let valid = !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_digit() || (fraction_allowed && c == '.'))
            && part.chars().filter(|c| *c == '.').count() <= 1;
        let number: f64 = match part.parse() {
            Ok(n) if valid => n,
            _ => return Err(bad_interval(&text, leading, last)),
        };
        if i > 0 {
            if let Some(limit) = unit.limit() {
                if number > limit {
                    return Err(EngineError::Coded {
                        sqlstate: "22006",
                        message: format!(
                            "interval field {} out of range in '{text}' ({leading} TO {last})",
                            unit.name()
                        ),
                    });
                }
            }
        }
        out.push(format!(
            "{}{part} {}",
            if sign { "-" } else { "" },
            unit.name()
        ));
    }
    Ok(out.join(" "))
}

fn bad_interval(text: &str, leading: &DateTimeField, last: &DateTimeField) -> EngineError {
    EngineError::Coded {
        sqlstate: "22006",
        message: format!("invalid interval '{text}' for {leading} TO {last}"),
    }
}

/// The interval units Spark writes after a number (`1 DAY`, `2 HOURS`).
fn is_unit(word: &str) -> bool {
    let w = word.to_ascii_lowercase();
    let singular = w.strip_suffix('s').unwrap_or(&w);
    matches!(
        singular,
        "year"
            | "month"
            | "week"
            | "day"
            | "hour"
            | "minute"
            | "second"
            | "millisecond"
            | "microsecond"
    )
}

/// `INTERVAL 1 DAY 2 HOURS` → `INTERVAL '1 DAY 2 HOURS'` (two or more number-unit pairs).
pub(super) fn multi_unit_intervals(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let significant: Vec<usize> = (0..tokens.len())
        .filter(|&i| !matches!(tokens[i].token, Token::Whitespace(_)))
        .collect();
    // (first token index, last token index, text) of each rewrite.
    let mut rewrites: Vec<(usize, usize, String)> = Vec::new();
    let mut p = 0;
    while p < significant.len() {
        let i = significant[p];
        let is_interval =
            matches!(&tokens[i].token, Token::Word(w) if w.keyword == Keyword::INTERVAL);
        if !is_interval {
            p += 1;
            continue;
        }
        let mut q = p + 1;
        let mut pairs = Vec::new();
        loop {
            let mut r = q;
            let negative = significant
                .get(r)
                .is_some_and(|&j| tokens[j].token == Token::Minus);
            if negative {
                r += 1;
            }
            let value = match significant.get(r).map(|&j| &tokens[j].token) {
                Some(Token::Number(n, _)) => n.clone(),
                Some(Token::SingleQuotedString(s)) => s.clone(),
                _ => break,
            };
            let unit = match significant.get(r + 1).map(|&j| &tokens[j].token) {
                Some(Token::Word(w)) if w.quote_style.is_none() && is_unit(&w.value) => {
                    w.value.clone()
                }
                _ => break,
            };
            pairs.push(format!("{}{value} {unit}", if negative { "-" } else { "" }));
            q = r + 2;
        }
        if pairs.len() >= 2 {
            rewrites.push((significant[p + 1], significant[q - 1], pairs.join(" ")));
        }
        p = q.max(p + 1);
    }
    if rewrites.is_empty() {
        return tokens;
    }
    let mut out = Vec::with_capacity(tokens.len());
    let mut rewrites = rewrites.into_iter().peekable();
    let mut skip_until = None;
    for (i, t) in tokens.into_iter().enumerate() {
        if let Some(end) = skip_until {
            if i <= end {
                continue;
            }
            skip_until = None;
        }
        if let Some((start, end, text)) = rewrites.peek() {
            if *start == i {
                out.push(TokenWithSpan::wrap(Token::SingleQuotedString(text.clone())));
                skip_until = Some(*end);
                rewrites.next();
                continue;
            }
        }
        out.push(t);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(text: &str, leading: DateTimeField, last: DateTimeField) -> Result<String> {
        range_literal(
            &Expr::value(Value::SingleQuotedString(text.into())),
            &leading,
            &last,
        )
    }

    #[test]
    fn spark_ranges() {
        use DateTimeField::*;
        assert_eq!(range("1-2", Year, Month).unwrap(), "1 years 2 months");
        assert_eq!(range("-1-2", Year, Month).unwrap(), "-1 years -2 months");
        assert_eq!(
            range("1 02:03:04.5", Day, Second).unwrap(),
            "1 days 02 hours 03 minutes 04.5 seconds"
        );
        assert_eq!(range("10:20", Hour, Minute).unwrap(), "10 hours 20 minutes");
        assert_eq!(range("100 10", Day, Hour).unwrap(), "100 days 10 hours");
        assert_eq!(
            range("26:10", Minute, Second).unwrap(),
            "26 minutes 10 seconds"
        );
        assert!(range("1 25:00:00", Day, Second).is_err());
        assert!(range("1-12", Year, Month).is_err());
        assert!(range("1:2", Year, Month).is_err());
        assert!(range("x", Hour, Second).is_err());
        assert!(range("1-2", Month, Year).is_err());
    }
}
