//! Relations that read a table's history: `t VERSION AS OF 3`, `t TIMESTAMP AS OF expr`,
//! Databricks' `t@v3`, and the change feed `table_changes('t', start [, end])`.
//!
//! [`HistoricRelations::open`] finds them in a statement, evaluates their versions and
//! timestamps with the planning session (its time zone, its clock), and opens each through the
//! schema it belongs to, so that the table's grants, masks and row filters apply as they do to
//! the table itself. As a `RelationPlanner` it then places the opened providers into the plan,
//! under the table's name and the alias the statement gives.
//!
//! DataFusion's own planner ignores a table version; every state is made with an empty
//! `HistoricRelations` as its last relation planner, so a versioned relation that was not
//! opened is an error, never silently the latest state.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::Arc;

use arrow::array::RecordBatchOptions;
use arrow::datatypes::{DataType, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, Utc};
use datafusion::catalog::TableProvider;
use datafusion::common::{DFSchema, ScalarValue, TableReference};
use datafusion::datasource::provider_as_source;
use datafusion::error::DataFusionError;
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::planner::{
    PlannedRelation, RelationPlanner, RelationPlannerContext, RelationPlanning,
};
use datafusion::logical_expr::simplify::SimplifyContext;
use datafusion::logical_expr::{Cast, Expr, LogicalPlanBuilder};
use datafusion::optimizer::simplify_expressions::ExprSimplifier;
use datafusion::sql::planner::object_name_to_table_reference;
use datafusion::sql::sqlparser::ast::{
    self, FunctionArg, FunctionArgExpr, ObjectName, ObjectNamePart, TableFactor, TableVersion,
    Value, Visit, Visitor,
};

use crate::error::{EngineError, Result};
use crate::namespace::WeirSchema;
use crate::parser::{split_version_suffix, AsOfSpec};
use crate::time_travel::{AsOf, HistoricRead};

/// A relation that reads history, as the statement writes it. Two relations written alike
/// read the same state and share one provider.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Historic {
    /// `name VERSION AS OF n`, `name TIMESTAMP AS OF expr` or `name@vN` (`name` without the
    /// suffix).
    AsOf { name: ObjectName, spec: AsOfSpec },
    /// `table_changes('name', start [, end])`.
    Changes {
        name: String,
        start: AsOfSpec,
        end: Option<AsOfSpec>,
    },
}

fn unsupported(what: impl std::fmt::Display) -> EngineError {
    EngineError::NotSupported(format!(
        "{what}; Weir reads earlier states with VERSION AS OF n, TIMESTAMP AS OF expr, t@vN \
         and table_changes('t', start [, end])"
    ))
}

impl Historic {
    /// What `factor` reads, when it reads history.
    fn of(factor: &TableFactor) -> Result<Option<Historic>> {
        let TableFactor::Table {
            name,
            version,
            args,
            ..
        } = factor
        else {
            return Ok(None);
        };
        if let Some(args) = args {
            let is_changes = matches!(name.0.as_slice(), [ObjectNamePart::Identifier(f)]
                if f.quote_style.is_none() && f.value.eq_ignore_ascii_case("table_changes"));
            return if is_changes {
                Self::changes(&args.args).map(Some)
            } else {
                Ok(None)
            };
        }
        let spec = match version {
            Some(TableVersion::VersionAsOf(expr)) => AsOfSpec::Version(version_number(expr)?),
            Some(TableVersion::TimestampAsOf(expr)) => AsOfSpec::Timestamp(expr.clone()),
            Some(other) => return Err(unsupported(format!("'{other}' is not supported"))),
            None => {
                let Some(ObjectNamePart::Identifier(last)) = name.0.last() else {
                    return Ok(None);
                };
                let Some((base, v)) = split_version_suffix(&last.value) else {
                    return Ok(None);
                };
                let mut base_name = name.clone();
                if let Some(ObjectNamePart::Identifier(ident)) = base_name.0.last_mut() {
                    ident.value = base.to_string();
                }
                return Ok(Some(Historic::AsOf {
                    name: base_name,
                    spec: AsOfSpec::Version(v),
                }));
            }
        };
        Ok(Some(Historic::AsOf {
            name: name.clone(),
            spec,
        }))
    }

    /// `table_changes('name', start [, end])`: a version (an integer) or a timestamp (any other
    /// expression) for each bound.
    fn changes(args: &[FunctionArg]) -> Result<Historic> {
        let usage = || {
            EngineError::syntax(
                "table_changes takes a table name and a start and optional end, each a version \
                 or a timestamp: table_changes('t', 2) or table_changes('t', '2025-03-18', 5)",
            )
        };
        let exprs = args
            .iter()
            .map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Ok(e),
                _ => Err(usage()),
            })
            .collect::<Result<Vec<_>>>()?;
        let bound = |e: &ast::Expr| match e {
            ast::Expr::Value(v) if matches!(v.value, Value::Number(..)) => {
                version_number(e).map(AsOfSpec::Version)
            }
            other => Ok(AsOfSpec::Timestamp(other.clone())),
        };
        let name = match exprs.first() {
            Some(ast::Expr::Value(v)) => match &v.value {
                Value::SingleQuotedString(s) => s.clone(),
                _ => return Err(usage()),
            },
            _ => return Err(usage()),
        };
        match exprs.as_slice() {
            [_, start] => Ok(Historic::Changes {
                name,
                start: bound(start)?,
                end: None,
            }),
            [_, start, end] => Ok(Historic::Changes {
                name,
                start: bound(start)?,
                end: Some(bound(end)?),
            }),
            _ => Err(usage()),
        }
    }

    /// The name the relation's columns are qualified with.
    fn reference(&self) -> Result<TableReference> {
        match self {
            Historic::AsOf { name, .. } => Ok(object_name_to_table_reference(name.clone(), true)?),
            Historic::Changes { .. } => Ok(TableReference::bare("table_changes")),
        }
    }

    /// Opens the provider in `state`'s catalogs, with its rights.
    async fn open(&self, state: &SessionState) -> Result<Arc<dyn TableProvider>> {
        let (reference, read) = match self {
            Historic::AsOf { name, spec } => (
                object_name_to_table_reference(name.clone(), true)?,
                HistoricRead::AsOf(resolve(state, spec)?),
            ),
            Historic::Changes { name, start, end } => (
                TableReference::parse_str(name),
                HistoricRead::Changes {
                    start: resolve(state, start)?,
                    end: end.as_ref().map(|e| resolve(state, e)).transpose()?,
                },
            ),
        };
        let defaults = &state.config_options().catalog;
        let resolved = reference
            .clone()
            .resolve(&defaults.default_catalog, &defaults.default_schema);
        let missing =
            || EngineError::UndefinedTable(format!("table '{}' does not exist", resolved.clone()));
        let schema = state.schema_for_ref(reference).map_err(|_| missing())?;
        let Some(schema) = schema.downcast_ref::<WeirSchema>() else {
            return Err(EngineError::WrongObjectType(format!(
                "'{resolved}' is not a Delta table; time travel and table_changes read Delta tables"
            )));
        };
        schema
            .historic_table(&resolved.table, &read)
            .await?
            .ok_or_else(missing)
    }
}

fn version_number(expr: &ast::Expr) -> Result<u64> {
    match expr {
        ast::Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n.parse().ok(),
            _ => None,
        },
        _ => None,
    }
    .ok_or_else(|| EngineError::Coded {
        sqlstate: "22023",
        message: format!("'{expr}' is not a table version: versions are integers from 0"),
    })
}

fn resolve(state: &SessionState, spec: &AsOfSpec) -> Result<AsOf> {
    Ok(match spec {
        AsOfSpec::Version(v) => AsOf::Version(*v),
        AsOfSpec::Timestamp(e) => AsOf::Timestamp(evaluate_timestamp(state, e)?),
    })
}

/// Evaluates `TIMESTAMP AS OF` expressions now, in `state`: a time without a zone is in the
/// session's time zone (`SET TIME ZONE`), `current_timestamp()` is this statement's start.
pub(crate) fn evaluate_timestamp(state: &SessionState, expr: &ast::Expr) -> Result<DateTime<Utc>> {
    let invalid = |why: &dyn std::fmt::Display| EngineError::Coded {
        sqlstate: "22007",
        message: format!("invalid timestamp '{expr}' for TIMESTAMP AS OF: {why}"),
    };
    let planned = state
        .create_logical_expr_from_sql_expr(
            ast::ExprWithAlias {
                expr: expr.clone(),
                alias: None,
            },
            &DFSchema::empty(),
        )
        .map_err(|e| invalid(&e))?;
    let zone = state
        .config_options()
        .execution
        .time_zone
        .clone()
        .unwrap_or_else(|| "UTC".to_string());
    let as_timestamp = Expr::Cast(Cast::new(
        Box::new(planned),
        DataType::Timestamp(TimeUnit::Microsecond, Some(zone.into())),
    ));
    // Folded to a constant first: `now()` is this statement's start.
    let simplifier = ExprSimplifier::new(
        SimplifyContext::builder()
            .with_config_options(Arc::clone(state.config_options()))
            .with_current_time()
            .build(),
    );
    let folded = simplifier.simplify(as_timestamp).map_err(|e| invalid(&e))?;
    let physical = state
        .create_physical_expr(folded, &DFSchema::empty())
        .map_err(|e| invalid(&e))?;
    let one_row = RecordBatch::try_new_with_options(
        Arc::new(Schema::empty()),
        vec![],
        &RecordBatchOptions::new().with_row_count(Some(1)),
    )
    .map_err(|e| EngineError::Internal(e.to_string()))?;
    let value = physical
        .evaluate(&one_row)
        .and_then(|v| v.into_array(1))
        .and_then(|a| ScalarValue::try_from_array(&a, 0))
        .map_err(|e| invalid(&e))?;
    match value {
        ScalarValue::TimestampMicrosecond(Some(us), _) => {
            DateTime::from_timestamp_micros(us).ok_or_else(|| invalid(&"out of range"))
        }
        _ => Err(invalid(&"it is NULL")),
    }
}

/// The historic relations of one statement, opened; planned by name and alias.
#[derive(Debug, Default)]
pub(crate) struct HistoricRelations {
    opened: HashMap<Historic, Arc<dyn TableProvider>>,
}

impl HistoricRelations {
    /// Finds and opens the statement's historic relations. A write's target is the latest
    /// state: naming an earlier one there is refused.
    pub(crate) async fn open(state: &SessionState, statement: &ast::Statement) -> Result<Self> {
        let mut found = Found::default();
        if let ControlFlow::Break(e) = statement.visit(&mut found) {
            return Err(e);
        }
        let mut opened = HashMap::new();
        for historic in found.relations {
            if !opened.contains_key(&historic) {
                let provider = historic.open(state).await?;
                opened.insert(historic, provider);
            }
        }
        Ok(HistoricRelations { opened })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.opened.is_empty()
    }
}

/// Collects historic relations, and refuses them as targets of writes.
#[derive(Default)]
struct Found {
    relations: Vec<Historic>,
}

/// Refuses an earlier state as the target of a write: a write goes to the latest state.
pub(crate) fn refuse_historic_target(target: &TableFactor) -> Result<()> {
    match Historic::of(target)? {
        Some(_) => Err(EngineError::NotSupported(
            "a write goes to the latest state of a table: its target cannot name a version or \
             time (RESTORE goes back to one)"
                .into(),
        )),
        None => Ok(()),
    }
}

/// Refuses an earlier state as the target of an UPDATE, DELETE or MERGE.
pub(crate) fn refuse_historic_targets(statement: &ast::Statement) -> Result<()> {
    match statement {
        ast::Statement::Update(update) => refuse_historic_target(&update.table.relation),
        ast::Statement::Delete(delete) => match &delete.from {
            ast::FromTable::WithFromKeyword(from) | ast::FromTable::WithoutKeyword(from) => from
                .iter()
                .try_for_each(|t| refuse_historic_target(&t.relation)),
        },
        ast::Statement::Merge(merge) => refuse_historic_target(&merge.table),
        _ => Ok(()),
    }
}

impl Visitor for Found {
    type Break = EngineError;

    fn pre_visit_statement(&mut self, statement: &ast::Statement) -> ControlFlow<EngineError> {
        match refuse_historic_targets(statement) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        }
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<EngineError> {
        match Historic::of(factor) {
            Ok(Some(historic)) => {
                self.relations.push(historic);
                ControlFlow::Continue(())
            }
            Ok(None) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        }
    }
}

impl RelationPlanner for HistoricRelations {
    fn plan_relation(
        &self,
        relation: TableFactor,
        _context: &mut dyn RelationPlannerContext,
    ) -> datafusion::error::Result<RelationPlanning> {
        let as_df = |e: EngineError| DataFusionError::External(Box::new(e));
        let Some(historic) = Historic::of(&relation).map_err(as_df)? else {
            return Ok(RelationPlanning::Original(Box::new(relation)));
        };
        let provider = self.opened.get(&historic).ok_or_else(|| {
            as_df(EngineError::Internal(format!(
                "'{relation}' reads an earlier state of a table that was not opened before \
                 planning"
            )))
        })?;
        let alias = match relation {
            TableFactor::Table { alias, .. } => alias,
            _ => None,
        };
        let plan = LogicalPlanBuilder::scan(
            historic.reference().map_err(as_df)?,
            provider_as_source(provider.clone()),
            None,
        )?
        .build()?;
        Ok(RelationPlanning::Planned(Box::new(PlannedRelation::new(
            plan, alias,
        ))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::sqlparser::parser::Parser;

    fn expr(sql: &str) -> ast::Expr {
        Parser::new(&crate::parser::WeirDialect::DATABRICKS)
            .try_with_sql(sql)
            .and_then(|mut p| p.parse_expr())
            .expect("an expression")
    }

    fn at(zone: Option<&str>, sql: &str) -> Result<DateTime<Utc>> {
        let mut config = datafusion::prelude::SessionConfig::new();
        config.options_mut().execution.time_zone = zone.map(str::to_string);
        let state = datafusion::execution::session_state::SessionStateBuilder::new()
            .with_config(config)
            .with_default_features()
            .build();
        evaluate_timestamp(&state, &expr(sql))
    }

    fn utc(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339)
            .expect("a time")
            .with_timezone(&Utc)
    }

    #[test]
    fn timestamps_without_a_zone_are_in_the_session_time_zone() {
        assert_eq!(
            at(None, "'2025-03-18'").ok(),
            Some(utc("2025-03-18T00:00:00Z"))
        );
        assert_eq!(
            at(None, "'2025-03-18 10:11:12.5'").ok(),
            Some(utc("2025-03-18T10:11:12.5Z"))
        );
        assert_eq!(
            at(Some("+09:00"), "'2025-03-18 10:00:00'").ok(),
            Some(utc("2025-03-18T01:00:00Z"))
        );
        assert_eq!(
            at(Some("Asia/Seoul"), "TIMESTAMP '2025-03-18 10:00:00'").ok(),
            Some(utc("2025-03-18T01:00:00Z"))
        );
        // An explicit offset wins over the session's zone.
        assert_eq!(
            at(Some("+09:00"), "'2025-03-18T10:00:00+01:00'").ok(),
            Some(utc("2025-03-18T09:00:00Z"))
        );
    }

    #[test]
    fn timestamp_expressions_are_evaluated_now() {
        let got = at(Some("+09:00"), "current_timestamp() - INTERVAL 1 DAY").expect("evaluates");
        let want = Utc::now() - chrono::Duration::days(1);
        assert!((got - want).num_seconds().abs() < 60, "{got} vs {want}");
    }

    #[test]
    fn what_is_not_a_timestamp_is_22007() {
        for sql in ["'yesterday'", "no_such_column + 1", "NULL"] {
            match at(None, sql) {
                Err(EngineError::Coded { sqlstate, .. }) => assert_eq!(sqlstate, "22007", "{sql}"),
                other => panic!("{sql}: {other:?}"),
            }
        }
    }
}
