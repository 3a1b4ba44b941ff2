//! Result columns that share a name (`SELECT a, a`, `SELECT current_date(), current_date`,
//! `SELECT 1 AS x, 2 AS x`), which PostgreSQL and Databricks SQL answer and DataFusion refuses
//! (a projection's names must differ). In a statement's top-level SELECT lists, each item
//! that may be named like an earlier one gets a placeholder name,
//! `__weir_duplicate_<n>[_as_<alias>]`; `crate::planner::restore_output_names` gives the
//! planned result its names back.
//!
//! "May be named like": DataFusion names an item by its expression without casts and with
//! the column's qualifier, so items are compared that way, and literals all alike; a cast is
//! named like its operand, which the planner may add to the projection for ORDER BY or GROUP
//! BY, so every cast item gets a placeholder. A false match only renames an item to its own
//! name.

use datafusion::sql::sqlparser::ast::{
    self, visit_expressions_mut, Expr, Ident, SelectItem, SetExpr,
};

/// The prefix of a placeholder name.
pub const DUPLICATE_NAME_PREFIX: &str = "__weir_duplicate_";

/// What stands between a placeholder's number and the alias the item was written with.
pub const DUPLICATE_ALIAS_SEPARATOR: &str = "_as_";

/// Gives the items of `stmt`'s top-level SELECT lists that may repeat an earlier name a
/// placeholder name.
pub(super) fn mark_duplicate_names(stmt: &mut ast::Statement) {
    if let ast::Statement::Query(query) = stmt {
        let mut next = 0;
        mark_set_expr(&mut query.body, &mut next);
    }
}

fn mark_set_expr(body: &mut SetExpr, next: &mut usize) {
    match body {
        SetExpr::Select(select) => mark_select(select, next),
        SetExpr::SetOperation { left, right, .. } => {
            mark_set_expr(left, next);
            mark_set_expr(right, next);
        }
        SetExpr::Query(query) => mark_set_expr(&mut query.body, next),
        _ => {}
    }
}

fn mark_select(select: &mut ast::Select, next: &mut usize) {
    let mut seen = std::collections::HashSet::new();
    for item in select.projection.iter_mut() {
        let (key, alias, cast) = match item {
            SelectItem::UnnamedExpr(e) => (name_key(e), None, is_cast(e)),
            SelectItem::ExprWithAlias { alias, .. } => {
                (alias.value.to_lowercase(), Some(alias.value.clone()), false)
            }
            _ => continue,
        };
        // A cast is named like its operand, which ORDER BY and GROUP BY may add to the
        // projection too (`SELECT CAST(d AS STRING) ... ORDER BY d`).
        if seen.insert(key) && !cast {
            continue;
        }
        let placeholder = match &alias {
            Some(alias) => {
                format!("{DUPLICATE_NAME_PREFIX}{next}{DUPLICATE_ALIAS_SEPARATOR}{alias}")
            }
            None => format!("{DUPLICATE_NAME_PREFIX}{next}"),
        };
        *next += 1;
        let expr = match std::mem::replace(item, SelectItem::Wildcard(Default::default())) {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => e,
            other => {
                *item = other;
                continue;
            }
        };
        *item = SelectItem::ExprWithAlias {
            expr,
            alias: Ident::with_quote('"', placeholder),
        };
    }
}

fn is_cast(e: &Expr) -> bool {
    match e {
        Expr::Cast { .. } => true,
        Expr::Nested(inner) => is_cast(inner),
        _ => false,
    }
}

/// The expression as DataFusion would name it, loosely: casts and parentheses dropped,
/// columns by their last name part, every literal alike (parameters by their number).
fn name_key(e: &Expr) -> String {
    let mut e = e.clone();
    let _ = visit_expressions_mut(&mut e, |e| {
        loop {
            match e {
                Expr::Cast { expr, .. } | Expr::Nested(expr) => *e = expr.as_ref().clone(),
                Expr::CompoundIdentifier(parts) => match parts.last() {
                    Some(last) => *e = Expr::Identifier(last.clone()),
                    None => break,
                },
                Expr::Value(v) if matches!(v.value, ast::Value::Placeholder(_)) => break,
                Expr::Value(_) | Expr::Interval(_) | Expr::TypedString(_) => {
                    *e = Expr::Identifier(Ident::new("<literal>"));
                    break;
                }
                // `current_date()` and `current_date` are one function.
                Expr::Function(f) if matches!(&f.args, ast::FunctionArguments::List(l) if l.args.is_empty() && l.clauses.is_empty()) =>
                {
                    f.args = ast::FunctionArguments::None;
                    break;
                }
                _ => break,
            }
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    e.to_string().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marked(sql: &str) -> String {
        let mut statements = crate::parser::parse_sql(sql).unwrap();
        match statements.pop() {
            Some(crate::parser::Statement::Standard(s)) => s.to_string(),
            _ => panic!("not a standard statement"),
        }
    }

    #[test]
    fn marks_items_named_alike() {
        assert_eq!(
            marked("SELECT a, t.a, CAST(a AS INT), b FROM t"),
            "SELECT a, t.a AS \"__weir_duplicate_0\", CAST(a AS INT) AS \"__weir_duplicate_1\", b FROM t"
        );
        assert_eq!(
            marked("SELECT 1 AS x, 2 AS X"),
            "SELECT 1 AS x, 2 AS \"__weir_duplicate_0_as_X\""
        );
        assert_eq!(
            marked("SELECT sum(x), sum(y) FROM t"),
            "SELECT sum(x), sum(y) FROM t"
        );
    }
}
