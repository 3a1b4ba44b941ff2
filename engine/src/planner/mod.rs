//! From a parsed statement to a DataFusion plan: the one way SQL becomes a `LogicalPlan`, used by
//! sessions, view expansion, view checks, CTAS and MERGE sources.
//!
//! DataFusion resolves the tables a statement names before planning it. Relations it cannot
//! resolve by name alone — a table as of a version or a time, a table's change feed — are
//! opened here first (that needs I/O, with the planning session's time zone and rights), then
//! placed into the plan by [`historic::HistoricRelations`], a `RelationPlanner`.

mod checked_arithmetic;
mod databricks_exprs;
mod historic;
mod integer_literals;
mod lineage_functions;
mod output_names;
mod spark_relations;

use std::sync::Arc;

use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::LogicalPlan;
use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::sqlparser::ast;

use datafusion::error::{DataFusionError, Result};

pub(crate) use checked_arithmetic::CheckedIntegerArithmetic;
pub(crate) use databricks_exprs::DatabricksExprs;
pub(crate) use historic::{
    evaluate_timestamp, refuse_historic_target, refuse_historic_targets, HistoricRelations,
};
pub(crate) use integer_literals::IntegerLiterals;
pub(crate) use lineage_functions::LineageFunctions;
pub(crate) use spark_relations::SparkRelations;

/// Plans a statement in `state`. Errors are DataFusion's, with Weir's own inside
/// `DataFusionError::External`, so callers map planning errors one way.
pub(crate) async fn plan_statement(
    state: &SessionState,
    statement: ast::Statement,
) -> Result<LogicalPlan> {
    let historic = HistoricRelations::open(state, &statement)
        .await
        .map_err(|e| DataFusionError::External(Box::new(e)))?;
    let plan = if historic.is_empty() {
        state
            .statement_to_plan(DFStatement::Statement(Box::new(statement)))
            .await?
    } else {
        let mut state = state.clone();
        state.register_relation_planner(Arc::new(historic))?;
        state
            .statement_to_plan(DFStatement::Statement(Box::new(statement)))
            .await?
    };
    output_names::restore_output_names(plan)
}

/// Plans a query in `state`.
pub(crate) async fn plan_query(state: &SessionState, query: ast::Query) -> Result<LogicalPlan> {
    plan_statement(state, ast::Statement::Query(Box::new(query))).await
}

/// The query `SELECT * FROM from [WHERE selection]` over a statement's own relation and
/// condition: the query's shape comes from the parser, and `from` and `selection` go in as the
/// statement has them (no SQL text is written).
pub(crate) fn select_star(
    from: ast::TableWithJoins,
    selection: Option<ast::Expr>,
) -> Result<ast::Query> {
    let mut query = crate::parser::select_star_from(vec![from])
        .map_err(|e| DataFusionError::External(Box::new(e)))?;
    if let ast::SetExpr::Select(select) = query.body.as_mut() {
        select.selection = selection;
    }
    Ok(query)
}

/// Plans one relation of a statement (a MERGE source or target) as `SELECT * FROM relation`
/// would plan it.
pub(crate) async fn plan_relation(
    state: &SessionState,
    relation: ast::TableFactor,
) -> Result<LogicalPlan> {
    let from = ast::TableWithJoins {
        relation,
        joins: vec![],
    };
    plan_query(state, select_star(from, None)?).await
}
