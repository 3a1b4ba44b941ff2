//! The time range a query's filters allow on a system table's `event_time` / `event_date`,
//! so that log tables read only those rows from their store. Filters are pushed down as
//! inexact: DataFusion applies them again, so the range only has to hold every row they keep.

use datafusion::common::ScalarValue;
use datafusion::logical_expr::{Between, BinaryExpr, Expr, Operator};

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Unix milliseconds from `from` (inclusive) until `until` (exclusive); `None` is unbounded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TimeRange {
    pub from: Option<i64>,
    pub until: Option<i64>,
}

/// A bound a comparison sets: where it starts or ends, in milliseconds.
enum Bound {
    From(i64),
    Until(i64),
}

impl TimeRange {
    /// The range every conjunct of `filters` on `event_time` or `event_date` allows.
    pub(crate) fn from_filters(filters: &[Expr]) -> Self {
        let mut range = TimeRange::default();
        for f in filters {
            range.narrow(f);
        }
        range
    }

    fn narrow(&mut self, e: &Expr) {
        match e {
            Expr::BinaryExpr(BinaryExpr {
                left,
                op: Operator::And,
                right,
            }) => {
                self.narrow(left);
                self.narrow(right);
            }
            Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
                let bounds = match (column(left), literal(right)) {
                    (Some(col), Some(v)) => comparison(col, *op, v),
                    _ => match (literal(left), column(right), op.swap()) {
                        (Some(v), Some(col), Some(op)) => comparison(col, op, v),
                        _ => vec![],
                    },
                };
                for b in bounds {
                    self.apply(b);
                }
            }
            Expr::Between(Between {
                expr,
                negated: false,
                low,
                high,
            }) => {
                if let (Some(col), Some(lo), Some(hi)) = (column(expr), literal(low), literal(high))
                {
                    for b in comparison(col, Operator::GtEq, lo)
                        .into_iter()
                        .chain(comparison(col, Operator::LtEq, hi))
                    {
                        self.apply(b);
                    }
                }
            }
            _ => {}
        }
    }

    fn apply(&mut self, bound: Bound) {
        match bound {
            Bound::From(ms) => self.from = Some(self.from.map_or(ms, |f| f.max(ms))),
            Bound::Until(ms) => self.until = Some(self.until.map_or(ms, |u| u.min(ms))),
        }
    }
}

/// Which time column `e` is: `true` for `event_time`, `false` for `event_date`.
fn column(e: &Expr) -> Option<bool> {
    match e {
        Expr::Column(c) if c.name == "event_time" => Some(true),
        Expr::Column(c) if c.name == "event_date" => Some(false),
        _ => None,
    }
}

/// A literal as milliseconds (a timestamp) or as days (a date).
fn literal(e: &Expr) -> Option<i64> {
    let Expr::Literal(v, _) = e else {
        return None;
    };
    match v {
        ScalarValue::TimestampSecond(Some(s), _) => s.checked_mul(1000),
        ScalarValue::TimestampMillisecond(Some(ms), _) => Some(*ms),
        ScalarValue::TimestampMicrosecond(Some(us), _) => Some(us.div_euclid(1000)),
        ScalarValue::TimestampNanosecond(Some(ns), _) => Some(ns.div_euclid(1_000_000)),
        ScalarValue::Date32(Some(d)) => Some(i64::from(*d)),
        _ => None,
    }
}

/// The bounds of `column op value`; `value` is milliseconds for `event_time`, days for
/// `event_date`. Bounds are widened to whole milliseconds or days, never narrowed.
fn comparison(is_time: bool, op: Operator, value: i64) -> Vec<Bound> {
    // [start, end) of the unit the value names.
    let (start, end) = if is_time {
        (value, value.saturating_add(1))
    } else {
        (
            value.saturating_mul(DAY_MS),
            value.saturating_add(1).saturating_mul(DAY_MS),
        )
    };
    match op {
        Operator::Eq => vec![Bound::From(start), Bound::Until(end)],
        Operator::Gt | Operator::GtEq => vec![Bound::From(start)],
        Operator::Lt | Operator::LtEq => vec![Bound::Until(end)],
        _ => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::logical_expr::{col, lit};

    fn ts(ms: i64) -> Expr {
        lit(ScalarValue::TimestampMillisecond(
            Some(ms),
            Some("UTC".into()),
        ))
    }

    fn date(d: i32) -> Expr {
        lit(ScalarValue::Date32(Some(d)))
    }

    #[test]
    fn comparisons_on_event_time_and_event_date_bound_the_range() {
        let r = TimeRange::from_filters(&[
            col("event_time").gt_eq(ts(1000)),
            col("event_time").lt(ts(5000)),
        ]);
        assert_eq!(
            r,
            TimeRange {
                from: Some(1000),
                until: Some(5001)
            }
        );
        let r = TimeRange::from_filters(&[col("event_date").eq(date(2))]);
        assert_eq!(
            r,
            TimeRange {
                from: Some(2 * DAY_MS),
                until: Some(3 * DAY_MS)
            }
        );
        // Literal first, and within an AND.
        let r = TimeRange::from_filters(&[ts(7000)
            .lt(col("event_time"))
            .and(col("event_date").lt_eq(date(1)))]);
        assert_eq!(
            r,
            TimeRange {
                from: Some(7000),
                until: Some(2 * DAY_MS)
            }
        );
        let r = TimeRange::from_filters(&[col("event_time").between(ts(10), ts(20))]);
        assert_eq!(
            r,
            TimeRange {
                from: Some(10),
                until: Some(21)
            }
        );
    }

    #[test]
    fn other_filters_leave_the_range_open() {
        let r = TimeRange::from_filters(&[
            col("event_time").not_eq(ts(1000)),
            col("event_time")
                .gt_eq(ts(1000))
                .or(col("user_identity").eq(lit("ann"))),
            col("rows").gt(lit(5i64)),
            col("event_time").not_between(ts(1), ts(2)),
        ]);
        assert_eq!(r, TimeRange::default());
    }
}
