//! DELETE and UPDATE as Delta commits through delta-rs's builders.
//!
//! DataFusion plans the statement (name resolution, type coercion, subqueries); Weir takes the
//! predicate and assignments out of that plan. Uncorrelated subqueries are evaluated first and
//! replaced by their values, so delta-rs only ever sees plain expressions: a predicate is never
//! lost on its way to the table scan (an empty filter list must not read as "every row").
//! A statement with a correlated subquery runs as a MERGE built from its plan (see
//! `dml_as_merge`).

use std::sync::Arc;

use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, ScalarValue};
use datafusion::logical_expr::expr::{Exists, InSubquery};
use datafusion::logical_expr::{lit, Expr, LogicalPlan, Subquery};
use weir_catalog::{TableEntry, TableKind};

use crate::delta::commit::{MetastoreSync, WriteKind, WriteMetrics};
use crate::error::{EngineError, Result};
use crate::output::StatementOutput;
use crate::session::Session;
use crate::statement_kind::StatementKind;

/// The parts of a DELETE / UPDATE plan Weir needs.
struct Target {
    predicate: Option<Expr>,
    /// For UPDATE: the projection over the scanned table (`expr AS column` per column).
    assignments: Vec<Expr>,
}

/// Splits `Projection? -> Filter? -> TableScan` into its predicate and projection.
fn dismantle(input: &LogicalPlan) -> Result<Target> {
    let mut assignments = vec![];
    let mut node = input;
    if let LogicalPlan::Projection(p) = node {
        assignments = p.expr.clone();
        node = p.input.as_ref();
    }
    let mut predicate = None;
    if let LogicalPlan::Filter(f) = node {
        predicate = Some(f.predicate.clone());
        node = f.input.as_ref();
    }
    // `UPDATE t AS x ...`: the alias only renames; columns are unqualified later.
    if let LogicalPlan::SubqueryAlias(a) = node {
        node = a.input.as_ref();
    }
    match node {
        LogicalPlan::TableScan(scan) if scan.filters.is_empty() => Ok(Target {
            predicate,
            assignments,
        }),
        other => Err(EngineError::not_supported(format!(
            "this form of UPDATE/DELETE is not supported (plan node {})",
            other.display()
        ))),
    }
}

/// A correlated subquery where the plain path cannot take one (routed to `dml_as_merge` first).
fn correlated() -> EngineError {
    EngineError::not_supported(
        "correlated subqueries in UPDATE/DELETE are supported for a single table without \
         FROM/USING; rewrite the condition with EXISTS or IN (SELECT ...)",
    )
}

/// Column references without the table qualifier, as delta-rs resolves them.
fn unqualify(expr: Expr) -> Result<Expr> {
    Ok(expr
        .transform(|e| {
            Ok(match e {
                Expr::Column(c) if c.relation.is_some() => {
                    Transformed::yes(Expr::Column(Column::from_name(c.name)))
                }
                other => Transformed::no(other),
            })
        })?
        .data)
}

impl Session {
    /// Evaluates every (uncorrelated) subquery of `expr` and puts its result in its place.
    async fn inline_subqueries(&self, expr: Expr) -> Result<Expr> {
        // Collect first (the transform closure cannot await), then substitute in order.
        // (subquery, whether only its row count matters: EXISTS)
        let mut subqueries: Vec<(Subquery, bool)> = vec![];
        expr.apply(|e| {
            match e {
                Expr::ScalarSubquery(s) => subqueries.push((s.clone(), false)),
                Expr::InSubquery(InSubquery { subquery, .. }) => {
                    subqueries.push((subquery.clone(), false))
                }
                Expr::Exists(Exists { subquery, .. }) => subqueries.push((subquery.clone(), true)),
                _ => {}
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
        let mut values: Vec<Vec<ScalarValue>> = Vec::with_capacity(subqueries.len());
        for (s, exists) in &subqueries {
            if !s.outer_ref_columns.is_empty() {
                return Err(correlated());
            }
            let batches = self
                .ctx
                .execute_logical_plan(s.subquery.as_ref().clone())
                .await?
                .collect()
                .await?;
            let mut column = vec![];
            for b in &batches {
                if *exists {
                    column.extend((0..b.num_rows()).map(|_| ScalarValue::Null));
                    continue;
                }
                if b.num_columns() != 1 {
                    return Err(EngineError::Coded {
                        sqlstate: "42601",
                        message: "subquery has too many columns".into(),
                    });
                }
                for row in 0..b.num_rows() {
                    column.push(ScalarValue::try_from_array(b.column(0), row)?);
                }
            }
            values.push(column);
        }
        let mut next = values.into_iter();
        let rewritten = expr.transform_down(|e| {
            Ok(match e {
                Expr::ScalarSubquery(s) => {
                    let column = next.next().unwrap_or_default();
                    if column.len() > 1 {
                        return Err(datafusion::error::DataFusionError::External(Box::new(
                            EngineError::Coded {
                                sqlstate: "21000",
                                message:
                                    "more than one row returned by a subquery used as an expression"
                                        .into(),
                            },
                        )));
                    }
                    let data_type = s.subquery.schema().field(0).data_type().clone();
                    let value = match column.into_iter().next() {
                        Some(v) => v,
                        None => ScalarValue::try_from(&data_type)?,
                    };
                    Transformed::new(lit(value), true, TreeNodeRecursion::Jump)
                }
                Expr::InSubquery(InSubquery { expr, negated, .. }) => {
                    let column = next.next().unwrap_or_default();
                    let list: Vec<Expr> = column.into_iter().map(lit).collect();
                    let replaced = if list.is_empty() {
                        // x IN (empty) is false and x NOT IN (empty) true, even for NULL x.
                        lit(negated)
                    } else {
                        Expr::InList(datafusion::logical_expr::expr::InList::new(
                            expr, list, negated,
                        ))
                    };
                    Transformed::new(replaced, true, TreeNodeRecursion::Jump)
                }
                Expr::Exists(Exists { negated, .. }) => {
                    let column = next.next().unwrap_or_default();
                    Transformed::new(
                        lit(column.is_empty() == negated),
                        true,
                        TreeNodeRecursion::Jump,
                    )
                }
                other => Transformed::no(other),
            })
        })?;
        Ok(rewritten.data)
    }

    fn writable(&self, entry: &TableEntry, verb: &str) -> Result<()> {
        if entry.kind == TableKind::View {
            return Err(EngineError::WrongObjectType(format!(
                "cannot {verb} view '{}'",
                entry.full_name()
            )));
        }
        Ok(())
    }

    /// The statement's parts, with its predicate ready for delta-rs.
    async fn dml_target(&self, mut target: Target) -> Result<(Target, Option<Expr>)> {
        let predicate = match target.predicate.take() {
            Some(p) => Some(unqualify(self.inline_subqueries(p).await?)?),
            None => None,
        };
        Ok((target, predicate))
    }

    /// Runs a DELETE (`kind` Delete) or UPDATE (`kind` Update) plan as one Delta commit: with
    /// delta-rs's own operation, or as a MERGE when a subquery is correlated.
    pub(crate) async fn run_dml(
        &mut self,
        entry: &TableEntry,
        input: &LogicalPlan,
        kind: WriteKind,
    ) -> Result<StatementOutput> {
        let verb = if kind == WriteKind::Delete {
            "DELETE FROM"
        } else {
            "UPDATE"
        };
        self.writable(entry, verb)?;
        // delta-rs takes the predicate and assignments as expressions it also writes out as
        // text: variables are given as their values.
        let inlined = self.variable_values().inline_plan(input.clone())?;
        let input = &inlined;
        let target = dismantle(input)?;
        if kind == WriteKind::Update {
            self.note_updated_columns(entry, input, &target);
        }
        if has_correlated_subquery(&target)? {
            return self.dml_as_merge(entry, input, target, kind).await;
        }
        if kind == WriteKind::Delete {
            self.delete(entry, target).await
        } else {
            self.update(entry, target).await
        }
    }

    /// Tells observers where the columns an UPDATE assigns come from (the columns it leaves
    /// as they are are not written).
    fn note_updated_columns(&self, entry: &TableEntry, input: &LogicalPlan, target: &Target) {
        let names: Vec<String> = input
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let mut lineage = self.column_lineage_of(
            input,
            &names,
            &self.current_catalog(),
            &self.current_schema(),
        );
        let unchanged: Vec<&str> = target
            .assignments
            .iter()
            .filter_map(|a| match a {
                Expr::Alias(a) => match a.expr.as_ref() {
                    Expr::Column(c) if c.name == a.name => Some(a.name.as_str()),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        lineage
            .columns
            .retain(|c| !unchanged.contains(&c.name.as_str()));
        self.note_column_lineage(&entry.full_name(), &lineage);
    }

    async fn delete(&mut self, entry: &TableEntry, target: Target) -> Result<StatementOutput> {
        let (_, predicate) = self.dml_target(target).await?;
        let write = self.begin_write(entry, WriteKind::Delete).await?;
        let mut builder = write
            .table()?
            .delete()
            .with_session_state(Arc::new(self.ctx.state()))
            .with_commit_properties(write.properties());
        if let Some(p) = predicate {
            builder = builder.with_predicate(p);
        }
        let (table, metrics) = builder.await?;
        let deleted = metrics.num_deleted_rows.unwrap_or(0) as u64;
        let written = WriteMetrics {
            rows_deleted: Some(deleted),
            files_added: Some(metrics.num_added_files as u64),
            files_removed: Some(metrics.num_removed_files as u64),
            ..WriteMetrics::default()
        };
        write.finish(table, written, MetastoreSync::Data)?;
        Ok(StatementOutput::Command {
            kind: StatementKind::Delete,
            rows: Some(deleted),
        })
    }

    async fn update(&mut self, entry: &TableEntry, target: Target) -> Result<StatementOutput> {
        let (target, predicate) = self.dml_target(target).await?;
        let write = self.begin_write(entry, WriteKind::Update).await?;
        let mut builder = write
            .table()?
            .update()
            .with_session_state(Arc::new(self.ctx.state()))
            .with_commit_properties(write.properties());
        if let Some(p) = predicate {
            builder = builder.with_predicate(p);
        }
        for assignment in target.assignments {
            let (expr, column) = match assignment {
                Expr::Alias(a) => (*a.expr, a.name),
                other => {
                    return Err(EngineError::Internal(format!(
                        "unexpected UPDATE projection {other}"
                    )))
                }
            };
            // Columns the statement does not assign come through as themselves.
            if matches!(&expr, Expr::Column(c) if c.name == column) {
                continue;
            }
            let expr = unqualify(self.inline_subqueries(expr).await?)?;
            builder = builder.with_update(column, expr);
        }
        let (table, metrics) = builder
            .await
            .map_err(|e| Self::constraint_error(entry, e.into()))?;
        let updated = metrics.num_updated_rows as u64;
        let written = WriteMetrics {
            rows_updated: Some(updated),
            files_added: Some(metrics.num_added_files as u64),
            files_removed: Some(metrics.num_removed_files as u64),
            ..WriteMetrics::default()
        };
        write.finish(table, written, MetastoreSync::Data)?;
        Ok(StatementOutput::Command {
            kind: StatementKind::Update,
            rows: Some(updated),
        })
    }
}

/// Whether the condition or the new values of a DELETE / UPDATE plan use a correlated subquery.
fn has_correlated_subquery(target: &Target) -> Result<bool> {
    let mut found = false;
    for expr in target.predicate.iter().chain(target.assignments.iter()) {
        expr.apply(|e| {
            let subquery = match e {
                Expr::ScalarSubquery(s) => Some(s),
                Expr::Exists(Exists { subquery, .. }) => Some(subquery),
                Expr::InSubquery(InSubquery { subquery, .. }) => Some(subquery),
                _ => None,
            };
            if subquery.is_some_and(|s| !s.outer_ref_columns.is_empty()) {
                found = true;
                return Ok(TreeNodeRecursion::Stop);
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
    }
    Ok(found)
}

impl Session {
    /// The plan of `DELETE FROM t AS x WHERE ...`, whose condition names the table by its alias.
    /// DataFusion 55 plans DELETE without the alias (`No field named x.id`), so the rows to
    /// delete are planned as the query `SELECT * FROM t AS x WHERE ...` would select them, and
    /// the DELETE is built over that. `None` for any other statement.
    pub(crate) async fn plan_aliased_delete(
        &self,
        statement: &datafusion::sql::sqlparser::ast::Statement,
    ) -> Result<Option<LogicalPlan>> {
        use datafusion::logical_expr::{DmlStatement, WriteOp};
        use datafusion::sql::sqlparser::ast::{FromTable, Statement as Ast, TableFactor};
        let Ast::Delete(delete) = statement else {
            return Ok(None);
        };
        let (FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from)) = &delete.from;
        let [target] = from.as_slice() else {
            return Ok(None);
        };
        let aliased = matches!(&target.relation, TableFactor::Table { alias: Some(_), .. });
        if !aliased
            || !target.joins.is_empty()
            || delete.using.is_some()
            || delete.returning.is_some()
            || !delete.tables.is_empty()
            || !delete.order_by.is_empty()
            || delete.limit.is_some()
        {
            return Ok(None);
        }
        let query = crate::planner::select_star(target.clone(), delete.selection.clone())?;
        let plan = crate::planner::plan_query(&self.ctx.state(), query)
            .await
            .map_err(|e| self.hidden_column_error(e))?;
        // The rows selected, without `*`'s projection: Filter -> SubqueryAlias -> TableScan.
        let selected = match plan {
            LogicalPlan::Projection(p) => p.input.as_ref().clone(),
            other => other,
        };
        let mut scan = None;
        selected.apply(|node| {
            if let LogicalPlan::TableScan(s) = node {
                scan = Some((s.table_name.clone(), s.source.clone()));
                return Ok(TreeNodeRecursion::Stop);
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
        let Some((table_name, source)) = scan else {
            return Ok(None);
        };
        Ok(Some(LogicalPlan::Dml(DmlStatement::new(
            table_name,
            source,
            WriteOp::Delete,
            Arc::new(selected),
        ))))
    }
}

const MERGE_TARGET: &str = "__weir_t";
const MERGE_SOURCE: &str = "__weir_s";

impl Session {
    /// A DELETE / UPDATE whose condition or new values use a correlated subquery, run as one
    /// MERGE commit: DataFusion plans (and decorrelates) the rows the statement selects, with
    /// their new values, from the statement's own plan; the rows of the table equal to a
    /// selected row (NULLs equal) are deleted or updated. Rows with equal values are
    /// indistinguishable to the condition, so matching by value changes exactly the rows the
    /// statement means.
    async fn dml_as_merge(
        &mut self,
        entry: &TableEntry,
        input: &LogicalPlan,
        target: Target,
        kind: WriteKind,
    ) -> Result<StatementOutput> {
        use datafusion::logical_expr::{and, BinaryExpr, LogicalPlanBuilder, Operator};
        // The rows selected: the plan below UPDATE's projection of new values.
        let selected = match input {
            LogicalPlan::Projection(p) => p.input.as_ref().clone(),
            other => other.clone(),
        };
        let schema = selected.schema().clone();
        let mut projection = Vec::with_capacity(entry.columns.len());
        for column in &entry.columns {
            let (qualifier, field) = schema
                .qualified_fields_with_unqualified_name(&column.name)
                .into_iter()
                .next()
                .ok_or_else(|| {
                    EngineError::Internal(format!(
                        "column '{}' is missing from the plan of the statement",
                        column.name
                    ))
                })?;
            projection
                .push(Expr::Column(Column::from((qualifier, field))).alias(column.name.clone()));
        }
        let mut sets = vec![];
        for (k, assignment) in target.assignments.into_iter().enumerate() {
            let Expr::Alias(a) = assignment else {
                return Err(EngineError::Internal(format!(
                    "unexpected UPDATE projection {assignment}"
                )));
            };
            // Columns the statement does not assign come through as themselves.
            if matches!(a.expr.as_ref(), Expr::Column(c) if c.name == a.name) {
                continue;
            }
            let new_value = format!("__weir_new_{k}");
            projection.push(a.expr.as_ref().clone().alias(new_value.clone()));
            sets.push((a.name, new_value));
        }
        let source = LogicalPlanBuilder::from(selected)
            .project(projection)?
            .distinct()?
            .build()?;
        let source = datafusion::prelude::DataFrame::new(self.ctx.state(), source);
        let side = |table: &str, name: &str| Expr::Column(Column::new(Some(table), name));
        let on = entry
            .columns
            .iter()
            .map(|c| {
                Expr::BinaryExpr(BinaryExpr::new(
                    Box::new(side(MERGE_TARGET, &c.name)),
                    Operator::IsNotDistinctFrom,
                    Box::new(side(MERGE_SOURCE, &c.name)),
                ))
            })
            .reduce(and)
            .unwrap_or(lit(true));

        let write = self.begin_write(entry, kind).await?;
        let builder = write
            .table()?
            .merge(source, on)
            .with_source_alias(MERGE_SOURCE)
            .with_target_alias(MERGE_TARGET)
            .with_session_state(Arc::new(self.ctx.state()))
            .with_commit_properties(write.properties());
        let builder = if kind == WriteKind::Delete {
            builder.when_matched_delete(|delete| delete)?
        } else {
            builder.when_matched_update(|mut update| {
                for (column, new_value) in &sets {
                    update = update.update(column.as_str(), side(MERGE_SOURCE, new_value));
                }
                update
            })?
        };
        let (table, metrics) = builder
            .await
            .map_err(|e| Self::constraint_error(entry, e.into()))?;
        let (updated, deleted) = (
            metrics.num_target_rows_updated as u64,
            metrics.num_target_rows_deleted as u64,
        );
        let written = WriteMetrics {
            rows_updated: Some(updated),
            rows_deleted: Some(deleted),
            files_added: Some(metrics.num_target_files_added as u64),
            files_removed: Some(metrics.num_target_files_removed as u64),
            ..WriteMetrics::default()
        };
        write.finish(table, written, MetastoreSync::Data)?;
        Ok(if kind == WriteKind::Delete {
            StatementOutput::Command {
                kind: StatementKind::Delete,
                rows: Some(deleted),
            }
        } else {
            StatementOutput::Command {
                kind: StatementKind::Update,
                rows: Some(updated),
            }
        })
    }
}
