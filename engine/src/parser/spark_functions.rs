//! Spark function forms DataFusion has under another shape, rewritten to it:
//! - `count_if(cond)` → `count(CASE WHEN cond THEN 1 END)`;
//! - `first(x[, ignoreNulls])` / `last(...)` → `first_value(x)` / `last_value(x)`,
//!   `IGNORE NULLS` when the second argument is `true`;
//! - `max_by(x, y)` / `min_by(x, y)` → `first_value(x ORDER BY y DESC|ASC) FILTER (WHERE y IS
//!   NOT NULL)` (aggregates only);
//! - `percentile(x, p)` → `percentile_cont(p) WITHIN GROUP (ORDER BY x)`;
//! - `decode(e, s1, r1, ...[, default])` → `CASE WHEN e <=> s1 THEN r1 ... END` (Spark's
//!   decode matches NULL with NULL); two arguments stay `decode(binary, charset)`;
//! - `explode(a)` → `unnest(a)` (in a grouped SELECT list; elsewhere see `generators`);
//! - `unix_timestamp()` → `unix_timestamp(current_timestamp())`;
//! - `forall(a, x -> p)` → `NOT array_any_match(a, x -> NOT (p))`.
//!
//! An unaliased item of a SELECT list keeps the name it was written with.

use datafusion::sql::sqlparser::ast::{
    self, visit_expressions_mut, Expr, FunctionArg, FunctionArgExpr, FunctionArgumentClause,
    FunctionArgumentList, FunctionArguments, Ident, NullTreatment, ObjectName, OrderByExpr,
    OrderByOptions, SelectItem, Value,
};

/// A call's name when it is one identifier, in lower case.
pub(super) fn plain_name(f: &ast::Function) -> Option<String> {
    match f.name.0.as_slice() {
        [part] => part.as_ident().map(|i| i.value.to_ascii_lowercase()),
        _ => None,
    }
}

/// A call's arguments when they are plain expressions (no names, clauses or DISTINCT).
pub(super) fn unnamed_args(f: &ast::Function) -> Option<Vec<Expr>> {
    match &f.args {
        FunctionArguments::List(list)
            if list.clauses.is_empty() && list.duplicate_treatment.is_none() =>
        {
            list.args
                .iter()
                .map(|a| match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e.clone()),
                    _ => None,
                })
                .collect()
        }
        FunctionArguments::None => Some(vec![]),
        _ => None,
    }
}

/// A call of `name` with `args` (and clauses such as ORDER BY).
pub(super) fn function(
    name: &str,
    args: Vec<Expr>,
    clauses: Vec<FunctionArgumentClause>,
) -> ast::Function {
    ast::Function {
        name: ObjectName::from(vec![Ident::new(name)]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: args
                .into_iter()
                .map(|e| FunctionArg::Unnamed(FunctionArgExpr::Expr(e)))
                .collect(),
            clauses,
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: vec![],
    }
}

fn order_by(expr: Expr, asc: bool) -> OrderByExpr {
    OrderByExpr {
        expr,
        options: OrderByOptions {
            asc: Some(asc),
            nulls_first: None,
        },
        with_fill: None,
    }
}

fn is_true(e: &Expr) -> Option<bool> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::Boolean(b) => Some(*b),
            _ => None,
        },
        _ => None,
    }
}

/// The rewrite of one call, or `None` when it is not one of the forms above.
fn rewrite_call(f: &ast::Function) -> Option<Expr> {
    let name = plain_name(f)?;
    let args = unnamed_args(f)?;
    let windowed = f.over.is_some();
    let rewritten = match (name.as_str(), args.as_slice()) {
        ("count_if", [cond]) => {
            let case = Expr::Case {
                case_token: ast::helpers::attached_token::AttachedToken::empty(),
                end_token: ast::helpers::attached_token::AttachedToken::empty(),
                operand: None,
                conditions: vec![ast::CaseWhen {
                    condition: cond.clone(),
                    result: Expr::value(Value::Number("1".into(), false)),
                }],
                else_result: None,
            };
            ast::Function {
                over: f.over.clone(),
                filter: f.filter.clone(),
                ..function("count", vec![case], vec![])
            }
        }
        ("first" | "last", [x, rest @ ..]) if rest.len() <= 1 => {
            let ignore = match rest.first() {
                None => false,
                Some(e) => is_true(e)?,
            };
            let target = if name == "first" {
                "first_value"
            } else {
                "last_value"
            };
            ast::Function {
                over: f.over.clone(),
                filter: f.filter.clone(),
                null_treatment: ignore.then_some(NullTreatment::IgnoreNulls),
                ..function(target, vec![x.clone()], vec![])
            }
        }
        ("max_by" | "min_by", [x, y]) if !windowed => {
            let not_null = Expr::IsNotNull(Box::new(y.clone()));
            let filter = match &f.filter {
                Some(existing) => Expr::BinaryOp {
                    left: Box::new(Expr::Nested(existing.clone())),
                    op: ast::BinaryOperator::And,
                    right: Box::new(not_null),
                },
                None => not_null,
            };
            ast::Function {
                filter: Some(Box::new(filter)),
                ..function(
                    "first_value",
                    vec![x.clone()],
                    vec![FunctionArgumentClause::OrderBy(vec![order_by(
                        y.clone(),
                        name == "min_by",
                    )])],
                )
            }
        }
        ("percentile", [x, p]) if !windowed => ast::Function {
            filter: f.filter.clone(),
            within_group: vec![order_by(x.clone(), true)],
            ..function("percentile_cont", vec![p.clone()], vec![])
        },
        ("decode", [e, pairs @ ..]) if pairs.len() >= 2 => {
            let conditions = pairs
                .chunks(2)
                .filter(|c| c.len() == 2)
                .map(|c| ast::CaseWhen {
                    condition: Expr::IsNotDistinctFrom(Box::new(e.clone()), Box::new(c[0].clone())),
                    result: c[1].clone(),
                })
                .collect();
            let else_result =
                (pairs.len() % 2 == 1).then(|| Box::new(pairs[pairs.len() - 1].clone()));
            return Some(Expr::Case {
                case_token: ast::helpers::attached_token::AttachedToken::empty(),
                end_token: ast::helpers::attached_token::AttachedToken::empty(),
                operand: None,
                conditions,
                else_result,
            });
        }
        ("explode", [a]) if !windowed => function("unnest", vec![a.clone()], vec![]),
        // Every element matches: no element fails (NULL when none fails but some are NULL).
        ("forall", [a, Expr::Lambda(lambda)]) => {
            let mut negated = lambda.clone();
            negated.body = Box::new(Expr::UnaryOp {
                op: ast::UnaryOperator::Not,
                expr: Box::new(Expr::Nested(lambda.body.clone())),
            });
            return Some(Expr::UnaryOp {
                op: ast::UnaryOperator::Not,
                expr: Box::new(Expr::Function(function(
                    "array_any_match",
                    vec![a.clone(), Expr::Lambda(negated)],
                    vec![],
                ))),
            });
        }
        ("unix_timestamp", []) => function(
            "unix_timestamp",
            vec![Expr::Function(function(
                "current_timestamp",
                vec![],
                vec![],
            ))],
            vec![],
        ),
        _ => return None,
    };
    Some(Expr::Function(rewritten))
}

fn rewrite_expr(e: &mut Expr) {
    if let Expr::Function(f) = e {
        if let Some(new) = rewrite_call(f) {
            *e = new;
        }
    }
}

/// The rewrites of the module comment over every expression of `stmt`.
pub(super) fn rewrite_spark_functions(stmt: &mut ast::Statement) {
    // Unaliased SELECT items first, to keep the written name.
    name_rewritten_items(stmt);
    let _ = visit_expressions_mut(stmt, |e| {
        rewrite_expr(e);
        std::ops::ControlFlow::<()>::Continue(())
    });
}

/// Gives each unaliased SELECT item that is a call rewritten above the name it was written
/// with (`count_if(x > 1)`), as Spark names it.
fn name_rewritten_items(stmt: &mut ast::Statement) {
    struct Namer;
    impl ast::VisitorMut for Namer {
        type Break = ();
        fn pre_visit_query(&mut self, query: &mut ast::Query) -> std::ops::ControlFlow<()> {
            name_in_set_expr(&mut query.body);
            std::ops::ControlFlow::Continue(())
        }
    }
    fn name_in_set_expr(body: &mut ast::SetExpr) {
        match body {
            ast::SetExpr::Select(select) => {
                for item in select.projection.iter_mut() {
                    if let SelectItem::UnnamedExpr(Expr::Function(f)) = item {
                        if rewrite_call(f).is_some() {
                            let alias = Ident::with_quote('"', f.to_string());
                            *item = SelectItem::ExprWithAlias {
                                expr: Expr::Function(f.clone()),
                                alias,
                            };
                        }
                    }
                }
            }
            ast::SetExpr::SetOperation { left, right, .. } => {
                name_in_set_expr(left);
                name_in_set_expr(right);
            }
            _ => {}
        }
    }
    let _ = ast::VisitMut::visit(stmt, &mut Namer);
}
