//! `PIVOT (agg [AS a], ... FOR col | (col, ...) IN (value [AS v], ...))`: one row per group of
//! the input's other columns, one column per value and aggregate, each aggregate over the rows
//! whose pivot column(s) match the value (`<=>`, as Spark's pivot matches NULL with NULL).
//! Planned as an aggregate whose calls carry `FILTER (WHERE col <=> value)`.
//!
//! Column names as Spark's: the value's alias or text with one aggregate,
//! `value_aggregate` with several
//! (https://spark.apache.org/docs/latest/sql-ref-syntax-qry-select-pivot.html).

use std::collections::HashSet;

use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, ScalarValue};
use datafusion::error::Result;
use datafusion::logical_expr::planner::RelationPlannerContext;
use datafusion::logical_expr::utils::find_aggregate_exprs;
use datafusion::logical_expr::{binary_expr, Expr, LogicalPlan, LogicalPlanBuilder, Operator};
use datafusion::sql::sqlparser::ast::{self, ExprWithAlias, PivotValueSource, TableFactor};

use super::{engine, other_columns, tuple_parts};
use crate::error::EngineError;

pub(super) struct Pivot {
    pub aggregates: Vec<ExprWithAlias>,
    pub columns: Vec<ast::Expr>,
    pub values: PivotValueSource,
}

impl Pivot {
    pub(super) fn plan(
        self,
        table: TableFactor,
        context: &mut dyn RelationPlannerContext,
    ) -> Result<LogicalPlan> {
        let PivotValueSource::List(values) = self.values else {
            return Err(engine(EngineError::not_supported(
                "PIVOT takes a list of values: IN (v1 [AS a1], ...)",
            )));
        };
        let input = context.plan(table)?;
        let schema = input.schema().clone();
        let columns = self
            .columns
            .into_iter()
            .map(|c| context.sql_to_expr(c, &schema))
            .collect::<Result<Vec<_>>>()?;
        let mut aggregates = Vec::with_capacity(self.aggregates.len());
        for aggregate in self.aggregates {
            let text = aggregate.expr.to_string();
            let expr = context.sql_to_expr(aggregate.expr, &schema)?;
            if find_aggregate_exprs([&expr]).is_empty() {
                return Err(engine(EngineError::Coded {
                    sqlstate: "42803",
                    message: format!("PIVOT needs aggregate expressions, found {text}"),
                }));
            }
            let name = match aggregate.alias {
                Some(alias) => context.normalize_ident(alias),
                None => text,
            };
            aggregates.push((expr, name));
        }
        // The input's other columns are the groups.
        let mut used: HashSet<usize> = HashSet::new();
        for e in columns.iter().chain(aggregates.iter().map(|(e, _)| e)) {
            for c in e.column_refs() {
                if let Some(i) = schema.maybe_index_of_column(c) {
                    used.insert(i);
                }
            }
        }
        let groups = other_columns(&schema, &used);

        let single = aggregates.len() == 1;
        let mut calls: Vec<Expr> = Vec::new();
        let mut outputs: Vec<Expr> = groups.clone();
        for value in values {
            let value_name = match &value.alias {
                Some(alias) => context.normalize_ident(alias.clone()),
                None => value_text(&value.expr),
            };
            let parts = tuple_parts(value.expr);
            if parts.len() != columns.len() {
                return Err(engine(EngineError::Coded {
                    sqlstate: "42601",
                    message: format!(
                        "PIVOT value {value_name} has {} part(s) for {} pivot column(s)",
                        parts.len(),
                        columns.len()
                    ),
                }));
            }
            let mut condition: Option<Expr> = None;
            for (column, part) in columns.iter().zip(parts) {
                let part = context.sql_to_expr(part, &schema)?;
                let matches = binary_expr(column.clone(), Operator::IsNotDistinctFrom, part);
                condition = Some(match condition {
                    Some(c) => c.and(matches),
                    None => matches,
                });
            }
            let condition =
                condition.unwrap_or(Expr::Literal(ScalarValue::Boolean(Some(true)), None));
            for (aggregate, aggregate_name) in &aggregates {
                let filtered = aggregate
                    .clone()
                    .transform_up(|e| match e {
                        Expr::AggregateFunction(mut call) => {
                            call.params.filter = Some(Box::new(match call.params.filter.take() {
                                Some(f) => f.and(condition.clone()),
                                None => condition.clone(),
                            }));
                            let name = format!("__weir_pivot_{}", calls.len());
                            calls.push(Expr::AggregateFunction(call).alias(name.clone()));
                            Ok(Transformed::yes(Expr::Column(Column::from_name(name))))
                        }
                        other => Ok(Transformed::no(other)),
                    })?
                    .data;
                let name = if single {
                    value_name.clone()
                } else {
                    format!("{value_name}_{aggregate_name}")
                };
                outputs.push(filtered.alias(name));
            }
        }
        LogicalPlanBuilder::from(input)
            .aggregate(groups, calls)?
            .project(outputs)?
            .build()
    }
}

/// A pivot value's column name when it has no alias: the value cast to a string, as Spark
/// names it (a string without quotes, `null`, a tuple as a struct: `{1, x}`).
fn value_text(e: &ast::Expr) -> String {
    match e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => s.clone(),
            ast::Value::Null => "null".to_string(),
            other => other.to_string(),
        },
        ast::Expr::Tuple(parts) => format!(
            "{{{}}}",
            parts.iter().map(value_text).collect::<Vec<_>>().join(", ")
        ),
        ast::Expr::UnaryOp { op, expr } => format!("{op}{}", value_text(expr)),
        other => other.to_string(),
    }
}
