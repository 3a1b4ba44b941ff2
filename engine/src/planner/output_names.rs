//! The names of a result whose columns share one (see `crate::parser::output_names`): the
//! placeholders of the plan's output become the names the items were written with (an
//! alias) or that DataFusion gives their expressions. A result may repeat a name only when
//! each column has its own qualifier, so every column is given one (`__weir_column_<i>`);
//! clients see the names alone.

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, TableReference};
use datafusion::error::Result;
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder};

use crate::parser::{DUPLICATE_ALIAS_SEPARATOR, DUPLICATE_NAME_PREFIX};

/// `plan` with a last projection naming its placeholder columns; `plan` itself without any.
pub(crate) fn restore_output_names(plan: LogicalPlan) -> Result<LogicalPlan> {
    let schema = plan.schema().clone();
    if !schema
        .fields()
        .iter()
        .any(|f| f.name().starts_with(DUPLICATE_NAME_PREFIX))
    {
        return Ok(plan);
    }
    let mut columns = Vec::with_capacity(schema.fields().len());
    for (i, (qualifier, field)) in schema.iter().enumerate() {
        let name = field.name();
        let written = match name.strip_prefix(DUPLICATE_NAME_PREFIX) {
            Some(rest) => match rest.split_once(DUPLICATE_ALIAS_SEPARATOR) {
                Some((_, alias)) => alias.to_string(),
                None => expression_name(&plan, name).unwrap_or_else(|| name.clone()),
            },
            None => name.clone(),
        };
        let column = Expr::Column(Column::new(qualifier.cloned(), name));
        columns.push(column.alias_qualified(
            Some(TableReference::bare(format!("__weir_column_{i}"))),
            written,
        ));
    }
    LogicalPlanBuilder::from(plan).project(columns)?.build()
}

/// The name DataFusion gives the expression aliased `placeholder` in `plan`'s projections.
fn expression_name(plan: &LogicalPlan, placeholder: &str) -> Option<String> {
    let mut found = None;
    let _ = plan.apply(|node| {
        if let LogicalPlan::Projection(projection) = node {
            for e in &projection.expr {
                if let Expr::Alias(alias) = e {
                    if alias.name == placeholder {
                        // A column keeps its name; other expressions are named by their text.
                        found = Some(match unwrap_casts(alias.expr.as_ref()) {
                            Expr::Column(column) => column.name.clone(),
                            other => other.schema_name().to_string(),
                        });
                        return Ok(TreeNodeRecursion::Stop);
                    }
                }
            }
        }
        Ok(TreeNodeRecursion::Continue)
    });
    found
}

/// The operand of (nested) casts, which DataFusion names a cast by.
fn unwrap_casts(e: &Expr) -> &Expr {
    match e {
        Expr::Cast(cast) => unwrap_casts(&cast.expr),
        Expr::TryCast(cast) => unwrap_casts(&cast.expr),
        other => other,
    }
}
