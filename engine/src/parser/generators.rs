//! Spark's generators — `explode`, `posexplode`, `inline`, `stack` and their `_outer` forms —
//! in `LATERAL VIEW [OUTER]` clauses and in SELECT lists, rewritten into relations that
//! `crate::planner::SparkRelations` plans (DataFusion plans neither form).
//!
//! `FROM f LATERAL VIEW g(args) tv AS c1, c2` becomes the relation
//! `weir_lateral_view((SELECT * FROM f), 'g', outer, args...) AS tv(c1, c2)`; each further
//! lateral view wraps the one before (its rows are the previous rows times its own). A
//! generator in a SELECT list (`SELECT id, posexplode(a) FROM t`) becomes a lateral view of its
//! own and the item its columns (`__weir_generator.*`): Spark allows one per SELECT list. In a
//! grouped SELECT (GROUP BY or HAVING) the generator runs over the groups, which a lateral view
//! cannot express: `explode` stays DataFusion's `unnest` there, the others are refused.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    self, Expr, FunctionArg, FunctionArgExpr, GroupByExpr, Ident, ObjectName, Query, SelectItem,
    SelectItemQualifiedWildcardKind, SetExpr, TableAlias, TableAliasColumnDef, TableFactor,
    TableWithJoins, Value, VisitorMut, WildcardAdditionalOptions,
};

use crate::error::{EngineError, Result};

/// The name of the relation a lateral view becomes.
pub const LATERAL_VIEW_RELATION: &str = "weir_lateral_view";

/// The table alias of a generator written in a SELECT list.
const SELECT_LIST_GENERATOR: &str = "__weir_generator";

/// Spark's generator functions: their name without `_outer`, and whether it was the outer form.
pub fn generator_name(name: &str) -> Option<(&'static str, bool)> {
    let lower = name.to_ascii_lowercase();
    let (base, outer) = match lower.strip_suffix("_outer") {
        Some(base) => (base.to_string(), true),
        None => (lower, false),
    };
    let base = match base.as_str() {
        "explode" => "explode",
        "posexplode" => "posexplode",
        "inline" => "inline",
        "stack" if !outer => "stack",
        _ => return None,
    };
    Some((base, outer))
}

/// Rewrites the lateral views and SELECT-list generators of every SELECT in `stmt`.
pub(super) fn rewrite_generators(stmt: &mut ast::Statement) -> Result<()> {
    struct Rewriter(Option<EngineError>);
    impl VisitorMut for Rewriter {
        type Break = ();
        fn post_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
            match rewrite_set_expr(&mut query.body) {
                Ok(()) => ControlFlow::Continue(()),
                Err(e) => {
                    self.0 = Some(e);
                    ControlFlow::Break(())
                }
            }
        }
    }
    let mut rewriter = Rewriter(None);
    let _ = ast::VisitMut::visit(stmt, &mut rewriter);
    match rewriter.0 {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn rewrite_set_expr(body: &mut SetExpr) -> Result<()> {
    match body {
        SetExpr::Select(select) => rewrite_select(select),
        SetExpr::SetOperation { left, right, .. } => {
            rewrite_set_expr(left)?;
            rewrite_set_expr(right)
        }
        _ => Ok(()),
    }
}

/// A generator call: its name, whether outer, and its arguments.
struct GeneratorCall {
    name: &'static str,
    outer: bool,
    args: Vec<Expr>,
}

impl GeneratorCall {
    fn of(expr: &Expr) -> Result<Option<Self>> {
        let Expr::Function(f) = expr else {
            return Ok(None);
        };
        let Some((name, outer)) = super::spark_functions::plain_name(f)
            .as_deref()
            .and_then(generator_name)
        else {
            return Ok(None);
        };
        if f.over.is_some() || f.filter.is_some() {
            return Err(EngineError::not_supported(format!(
                "the generator {name} cannot be a window or filtered aggregate"
            )));
        }
        let args = super::spark_functions::unnamed_args(f).ok_or_else(|| {
            EngineError::syntax(format!("{name} takes plain arguments, found {}", f.args))
        })?;
        Ok(Some(Self { name, outer, args }))
    }
}

fn rewrite_select(select: &mut ast::Select) -> Result<()> {
    let lateral_views = std::mem::take(&mut select.lateral_views);
    let grouped = !matches!(&select.group_by, GroupByExpr::Expressions(v, _) if v.is_empty())
        || select.having.is_some();
    let mut views = Vec::with_capacity(lateral_views.len() + 1);
    for view in lateral_views {
        let Some(call) = GeneratorCall::of(&view.lateral_view)? else {
            return Err(EngineError::Coded {
                sqlstate: "42883",
                message: format!(
                    "LATERAL VIEW needs a generator (explode, posexplode, inline, stack and \
                     their _outer forms), found {}",
                    view.lateral_view
                ),
            });
        };
        let name = match view.lateral_view_name.0.as_slice() {
            [part] => part.as_ident().cloned().ok_or_else(|| {
                EngineError::syntax(format!(
                    "a lateral view's name is one identifier, found {}",
                    view.lateral_view_name
                ))
            })?,
            _ => {
                return Err(EngineError::syntax(format!(
                    "a lateral view's name is one identifier, found {}",
                    view.lateral_view_name
                )))
            }
        };
        let mut columns = view.lateral_col_alias;
        if matches!(columns.as_slice(), [c] if c.quote_style.is_none() && c.value == super::spark_syntax::NO_LATERAL_VIEW_COLUMNS)
        {
            columns.clear();
        }
        views.push((call, view.outer, name, columns));
    }
    if let Some(view) = select_list_generator(select, grouped)? {
        views.push(view);
    }
    if views.is_empty() {
        return Ok(());
    }
    let mut source = (!select.from.is_empty()).then(|| std::mem::take(&mut select.from));
    for (call, outer, name, columns) in views {
        let relation = lateral_view_relation(source, call, outer, name, columns)?;
        source = Some(vec![TableWithJoins {
            relation,
            joins: vec![],
        }]);
    }
    select.from = source.unwrap_or_default();
    Ok(())
}

type LateralView = (GeneratorCall, bool, Ident, Vec<Ident>);

/// Takes the generator out of a SELECT list (leaving its columns in its place).
fn select_list_generator(select: &mut ast::Select, grouped: bool) -> Result<Option<LateralView>> {
    let mut found: Option<LateralView> = None;
    for item in select.projection.iter_mut() {
        let (expr, aliases) = match item {
            SelectItem::UnnamedExpr(e) => (e, vec![]),
            SelectItem::ExprWithAlias { expr, alias } => (expr, vec![alias.clone()]),
            SelectItem::ExprWithAliases { expr, aliases } => (expr, aliases.clone()),
            _ => continue,
        };
        let Some(call) = GeneratorCall::of(expr)? else {
            continue;
        };
        if grouped {
            if call.name == "explode" && !call.outer {
                // DataFusion's unnest runs over the groups (see `spark_functions`).
                continue;
            }
            return Err(EngineError::not_supported(format!(
                "{} in a grouped SELECT list; generate from a subquery's groups instead: \
                 SELECT {}(...) FROM (SELECT ... GROUP BY ...)",
                call.name, call.name
            )));
        }
        if found.is_some() {
            return Err(EngineError::not_supported(
                "only one generator is allowed in a SELECT list; use LATERAL VIEW for more",
            ));
        }
        let name = Ident::new(SELECT_LIST_GENERATOR);
        *item = SelectItem::QualifiedWildcard(
            SelectItemQualifiedWildcardKind::ObjectName(ObjectName::from(vec![name.clone()])),
            WildcardAdditionalOptions::default(),
        );
        found = Some((call, false, name, aliases));
    }
    Ok(found)
}

/// The relation `weir_lateral_view((SELECT * FROM source), 'name', outer, args...) AS
/// name(columns)`.
fn lateral_view_relation(
    source: Option<Vec<TableWithJoins>>,
    call: GeneratorCall,
    outer: bool,
    name: Ident,
    columns: Vec<Ident>,
) -> Result<TableFactor> {
    let source = match source {
        Some(from) => Expr::Subquery(Box::new(super::select_star_from(from)?)),
        None => Expr::value(Value::Null),
    };
    let mut args = vec![
        source,
        Expr::value(Value::SingleQuotedString(call.name.to_string())),
        Expr::value(Value::Boolean(outer || call.outer)),
    ];
    args.extend(call.args);
    Ok(TableFactor::Function {
        lateral: true,
        name: ObjectName::from(vec![Ident::new(LATERAL_VIEW_RELATION)]),
        args: args
            .into_iter()
            .map(|e| FunctionArg::Unnamed(FunctionArgExpr::Expr(e)))
            .collect(),
        with_ordinality: false,
        alias: Some(TableAlias {
            explicit: true,
            name,
            columns: columns
                .into_iter()
                .map(|name| TableAliasColumnDef {
                    name,
                    data_type: None,
                })
                .collect(),
            at: None,
        }),
    })
}
