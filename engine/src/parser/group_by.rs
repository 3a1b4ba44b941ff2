//! Spark's trailing GROUP BY forms as the standard ones DataFusion plans:
//! `GROUP BY a, b WITH ROLLUP` is `GROUP BY ROLLUP (a, b)`, `WITH CUBE` is `CUBE (a, b)`, and
//! `GROUP BY a, b GROUPING SETS ((a), (b))` is `GROUP BY GROUPING SETS ((a), (b))` (the leading
//! list only names the columns the sets may use). DataFusion's planner ignores these modifiers,
//! which made such queries return plain groups without a word; any modifier left (ClickHouse's
//! `WITH TOTALS`, modifiers after `GROUP BY ALL`, several at once) is refused.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    Expr, GroupByExpr, GroupByWithModifier, Query, SetExpr, Statement, VisitMut, VisitorMut,
};

use crate::error::{EngineError, Result};

/// Rewrites every GROUP BY of `stmt` (subqueries included) into a form without modifiers.
pub(super) fn rewrite_group_by_modifiers(stmt: &mut Statement) -> Result<()> {
    let mut rewriter = Rewriter;
    match stmt.visit(&mut rewriter) {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(e) => Err(e),
    }
}

struct Rewriter;

impl VisitorMut for Rewriter {
    type Break = EngineError;

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<Self::Break> {
        match rewrite_set_expr(&mut query.body) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        }
    }
}

/// The SELECTs of a query body (set operations' arms; nested queries are visited apart).
fn rewrite_set_expr(body: &mut SetExpr) -> Result<()> {
    match body {
        SetExpr::Select(select) => rewrite_group_by(&mut select.group_by),
        SetExpr::SetOperation { left, right, .. } => {
            rewrite_set_expr(left)?;
            rewrite_set_expr(right)
        }
        _ => Ok(()),
    }
}

fn rewrite_group_by(group_by: &mut GroupByExpr) -> Result<()> {
    let GroupByExpr::Expressions(exprs, modifiers) = group_by else {
        return match group_by {
            GroupByExpr::All(modifiers) if !modifiers.is_empty() => Err(EngineError::not_supported(
                "GROUP BY ALL with WITH ROLLUP / WITH CUBE: name the columns (GROUP BY a, b WITH ROLLUP)",
            )),
            _ => Ok(()),
        };
    };
    let modifier = match modifiers.as_slice() {
        [] => return Ok(()),
        [one] => one.clone(),
        _ => {
            return Err(EngineError::syntax(
                "GROUP BY takes one of WITH ROLLUP, WITH CUBE and GROUPING SETS",
            ))
        }
    };
    let columns = || exprs.iter().map(|e| vec![e.clone()]).collect::<Vec<_>>();
    let grouping =
        match modifier {
            GroupByWithModifier::Rollup => Expr::Rollup(columns()),
            GroupByWithModifier::Cube => Expr::Cube(columns()),
            GroupByWithModifier::GroupingSets(sets @ Expr::GroupingSets(_)) => sets,
            GroupByWithModifier::GroupingSets(other) => {
                return Err(EngineError::syntax(format!(
                    "GROUP BY ... GROUPING SETS expects a list of sets, not {other}"
                )))
            }
            GroupByWithModifier::Totals => return Err(EngineError::not_supported(
                "GROUP BY ... WITH TOTALS (ClickHouse) is not supported: use GROUP BY ROLLUP (...)",
            )),
        };
    *exprs = vec![grouping];
    modifiers.clear();
    Ok(())
}
