//! `UNPIVOT [INCLUDE | EXCLUDE NULLS] (value FOR name IN (col [AS a], ...))` and its
//! multi-column form `((v1, v2) FOR name IN ((c1, c2) [AS a], ...))`: each input row becomes
//! one row per listed column (group), keeping the input's other columns, with the column's name
//! (or alias) in `name` and its value in `value`. Rows whose values are all NULL are dropped
//! unless INCLUDE NULLS. Planned as arrays of the names and values per row, unnested side by
//! side (https://docs.databricks.com/en/sql/language-manual/sql-ref-syntax-qry-select-unpivot.html).

use std::collections::HashSet;

use datafusion::common::{Column, UnnestOptions};
use datafusion::error::Result;
use datafusion::functions_nested::expr_fn::make_array;
use datafusion::logical_expr::planner::RelationPlannerContext;
use datafusion::logical_expr::{lit, Expr, LogicalPlan, LogicalPlanBuilder};
use datafusion::sql::sqlparser::ast::{self, ExprWithAlias, Ident, TableFactor};

use super::{engine, other_columns, tuple_parts};
use crate::error::EngineError;

pub(super) struct Unpivot {
    pub value: ast::Expr,
    pub name: Ident,
    pub columns: Vec<ExprWithAlias>,
    pub include_nulls: bool,
}

const NAMES: &str = "__weir_unpivot_name";

fn values_column(i: usize) -> String {
    format!("__weir_unpivot_value_{i}")
}

impl Unpivot {
    pub(super) fn plan(
        self,
        table: TableFactor,
        context: &mut dyn RelationPlannerContext,
    ) -> Result<LogicalPlan> {
        let input = context.plan(table)?;
        let schema = input.schema().clone();
        let value_names: Vec<String> = tuple_parts(self.value)
            .into_iter()
            .map(|e| match e {
                ast::Expr::Identifier(i) => Ok(context.normalize_ident(i)),
                other => Err(engine(EngineError::syntax(format!(
                    "UNPIVOT names its value column(s), found {other}"
                )))),
            })
            .collect::<Result<_>>()?;
        let name_column = context.normalize_ident(self.name);

        let mut names = Vec::with_capacity(self.columns.len());
        let mut values: Vec<Vec<Expr>> = vec![Vec::new(); value_names.len()];
        let mut used: HashSet<usize> = HashSet::new();
        for entry in self.columns {
            let parts = tuple_parts(entry.expr);
            if parts.len() != value_names.len() {
                return Err(engine(EngineError::Coded {
                    sqlstate: "42601",
                    message: format!(
                        "UNPIVOT lists {} column(s) where {} value column(s) are named",
                        parts.len(),
                        value_names.len()
                    ),
                }));
            }
            let mut texts = Vec::with_capacity(parts.len());
            for (i, part) in parts.into_iter().enumerate() {
                let e = context.sql_to_expr(part, &schema)?;
                let Expr::Column(column) = &e else {
                    return Err(engine(EngineError::syntax(format!(
                        "UNPIVOT lists columns, found {e}"
                    ))));
                };
                if let Some(index) = schema.maybe_index_of_column(column) {
                    used.insert(index);
                }
                texts.push(column.name.clone());
                values[i].push(e);
            }
            names.push(match entry.alias {
                Some(alias) => alias.value,
                None => texts.join("_"),
            });
        }
        let kept = other_columns(&schema, &used);

        let mut projection = kept.clone();
        projection.push(make_array(names.into_iter().map(lit).collect()).alias(NAMES));
        let mut unnested = vec![Column::from_name(NAMES)];
        for (i, column_values) in values.into_iter().enumerate() {
            projection.push(make_array(column_values).alias(values_column(i)));
            unnested.push(Column::from_name(values_column(i)));
        }
        let mut result = kept;
        result.push(Expr::Column(Column::from_name(NAMES)).alias(name_column));
        for (i, name) in value_names.iter().enumerate() {
            result.push(Expr::Column(Column::from_name(values_column(i))).alias(name));
        }
        let mut plan = LogicalPlanBuilder::from(input)
            .project(projection)?
            .unnest_columns_with_options(
                unnested,
                UnnestOptions::new().with_preserve_nulls(false),
            )?;
        if !self.include_nulls {
            let any_value = (0..value_names.len())
                .map(|i| Expr::Column(Column::from_name(values_column(i))).is_not_null())
                .reduce(Expr::or)
                .ok_or_else(|| engine(EngineError::syntax("UNPIVOT names no value column")))?;
            plan = plan.filter(any_value)?;
        }
        plan.project(result)?.build()
    }
}
