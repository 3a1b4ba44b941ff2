//! Spark's relations DataFusion does not plan, as a `RelationPlanner` in the one base state:
//! lateral views and generators in FROM ([`generators`]), `PIVOT` ([`pivot`]) and `UNPIVOT`
//! ([`unpivot`]). Each builds its plan from the planned input and DataFusion's operators
//! (aggregate with FILTER, unnest), typed by the input's schema.

mod generators;
mod pivot;
mod unpivot;

use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::planner::{
    PlannedRelation, RelationPlanner, RelationPlannerContext, RelationPlanning,
};
use datafusion::sql::sqlparser::ast::{self, FunctionArg, FunctionArgExpr, TableFactor};

use crate::error::EngineError;

/// Plans lateral views, table generators, PIVOT and UNPIVOT.
#[derive(Debug, Default)]
pub(crate) struct SparkRelations;

impl RelationPlanner for SparkRelations {
    fn plan_relation(
        &self,
        relation: TableFactor,
        context: &mut dyn RelationPlannerContext,
    ) -> Result<RelationPlanning> {
        let planned = match relation {
            TableFactor::Function {
                name, args, alias, ..
            } if is_named(&name, crate::parser::LATERAL_VIEW_RELATION) => {
                PlannedRelation::new(generators::plan_lateral_view(args, alias, context)?, None)
            }
            TableFactor::Table {
                name,
                args: Some(args),
                alias,
                ..
            } if generator_of(&name).is_some() => {
                let (generator, outer) = generator_of(&name).unwrap_or(("explode", false));
                let args = unnamed(args.args)?;
                PlannedRelation::new(
                    generators::plan_table_generator(generator, outer, args, alias, context)?,
                    None,
                )
            }
            TableFactor::Pivot {
                table,
                aggregate_functions,
                value_column,
                value_source,
                default_on_null,
                alias,
            } => {
                if default_on_null.is_some() {
                    return Err(engine(EngineError::not_supported(
                        "PIVOT ... DEFAULT ON NULL is not Databricks SQL; use coalesce in the \
                         outer SELECT",
                    )));
                }
                let pivot = pivot::Pivot {
                    aggregates: aggregate_functions,
                    columns: value_column,
                    values: value_source,
                };
                PlannedRelation::new(pivot.plan(*table, context)?, alias)
            }
            TableFactor::Unpivot {
                table,
                value,
                name,
                columns,
                null_inclusion,
                alias,
            } => {
                let unpivot = unpivot::Unpivot {
                    value,
                    name,
                    columns,
                    include_nulls: matches!(null_inclusion, Some(ast::NullInclusion::IncludeNulls)),
                };
                PlannedRelation::new(unpivot.plan(*table, context)?, alias)
            }
            other => return Ok(RelationPlanning::Original(Box::new(other))),
        };
        Ok(RelationPlanning::Planned(Box::new(planned)))
    }
}

fn is_named(name: &ast::ObjectName, expected: &str) -> bool {
    matches!(name.0.as_slice(), [part] if part.as_ident().is_some_and(|i| i.value.eq_ignore_ascii_case(expected)))
}

fn generator_of(name: &ast::ObjectName) -> Option<(&'static str, bool)> {
    match name.0.as_slice() {
        [part] => part
            .as_ident()
            .and_then(|i| crate::parser::generator_name(&i.value)),
        _ => None,
    }
}

/// The plain arguments of a relation function.
fn unnamed(args: Vec<FunctionArg>) -> Result<Vec<ast::Expr>> {
    args.into_iter()
        .map(|a| match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Ok(e),
            other => Err(engine(EngineError::syntax(format!(
                "expected a plain argument, found {other}"
            )))),
        })
        .collect()
}

/// The parts of a tuple written in a PIVOT or UNPIVOT list (`(a, b)`), or the one expression.
fn tuple_parts(e: ast::Expr) -> Vec<ast::Expr> {
    match e {
        ast::Expr::Tuple(parts) => parts,
        ast::Expr::Nested(inner) => vec![*inner],
        other => vec![other],
    }
}

/// The columns of `schema` whose positions are not in `used`, in order: what PIVOT groups by
/// and UNPIVOT keeps.
fn other_columns(
    schema: &datafusion::common::DFSchema,
    used: &std::collections::HashSet<usize>,
) -> Vec<datafusion::logical_expr::Expr> {
    schema
        .columns()
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !used.contains(i))
        .map(|(_, c)| datafusion::logical_expr::Expr::Column(c))
        .collect()
}

/// Weir's error inside DataFusion's (mapped back with its SQLSTATE).
fn engine(e: EngineError) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}
