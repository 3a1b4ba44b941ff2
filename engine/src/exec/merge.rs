//! `MERGE INTO` through delta-rs's MergeBuilder: one commit for all WHEN clauses.
//!
//! sqlparser parses the statement (Weir first turns Databricks' `UPDATE SET *` and `INSERT *`
//! into forms it knows); the source is planned by Weir like any query, and the ON condition and
//! clause expressions are planned over the target's and source's rows (their aliases) and go to
//! delta-rs as DataFusion expressions.

use std::sync::Arc;

use datafusion::logical_expr::Expr;
use datafusion::prelude::DataFrame;
use datafusion::sql::sqlparser::ast::{
    self, AssignmentTarget, MergeAction, MergeClauseKind, MergeInsertKind, TableFactor,
};
use deltalake::operations::merge::{DeleteBuilder, InsertBuilder, UpdateBuilder};
use weir_catalog::TableEntry;

use crate::batches::{batch, rows_output, Col};
use crate::delta::commit::{MetastoreSync, WriteKind, WriteMetrics};
use crate::error::{EngineError, Result};
use crate::output::StatementOutput;
use crate::parser::ALL_COLUMNS;
use crate::session::Session;

fn factor_alias(f: &TableFactor) -> Option<String> {
    let alias = match f {
        TableFactor::Table { alias, .. }
        | TableFactor::Derived { alias, .. }
        | TableFactor::NestedJoin { alias, .. }
        | TableFactor::Function { alias, .. }
        | TableFactor::UNNEST { alias, .. } => alias.as_ref(),
        _ => None,
    };
    alias.map(|a| a.name.value.to_lowercase())
}

fn last_name(name: &ast::ObjectName) -> String {
    name.0
        .last()
        .and_then(|p| p.as_ident())
        .map(|i| i.value.to_lowercase())
        .unwrap_or_default()
}

fn column_of(target: &AssignmentTarget) -> Result<String> {
    match target {
        AssignmentTarget::ColumnName(name) => Ok(last_name(name)),
        AssignmentTarget::Tuple(_) => Err(EngineError::not_supported(
            "tuple assignments in MERGE are not supported",
        )),
    }
}

fn merge_columns() -> Vec<Col> {
    vec![
        Col::int("num_affected_rows"),
        Col::int("num_updated_rows"),
        Col::int("num_deleted_rows"),
        Col::int("num_inserted_rows"),
    ]
}

impl Session {
    pub(crate) fn merge_schema() -> Result<arrow::datatypes::SchemaRef> {
        Ok(batch(merge_columns())?.schema())
    }

    /// A relation of the statement (the MERGE source or target), planned like any query's,
    /// under `alias`.
    async fn relation_frame(&self, relation: &TableFactor, alias: &str) -> Result<DataFrame> {
        let state = self.ctx.state();
        let plan = crate::planner::plan_relation(&state, relation.clone()).await?;
        self.note_reads(&plan, &self.current_catalog(), &self.current_schema());
        let plan = datafusion::logical_expr::LogicalPlanBuilder::from(plan)
            .alias(alias)?
            .build()?;
        Ok(DataFrame::new(state, plan))
    }

    /// Fails if a target row is matched by more than one source row (Databricks' rule: which
    /// source row wins would be arbitrary). Rows are told apart by their values.
    async fn check_single_match(
        &self,
        entry: &TableEntry,
        target: &DataFrame,
        source: &DataFrame,
        on: &Expr,
    ) -> Result<()> {
        use datafusion::functions_aggregate::count::count_all;
        use datafusion::prelude::{col, lit, JoinType};
        let keys: Vec<Expr> = target
            .schema()
            .columns()
            .into_iter()
            .map(Expr::Column)
            .collect();
        let found = target
            .clone()
            .join_on(source.clone(), JoinType::Inner, [on.clone()])?
            .aggregate(keys, vec![count_all().alias("matches")])?
            .filter(col("matches").gt(lit(1)))?
            .limit(0, Some(1))?
            .count()
            .await?;
        if found > 0 {
            return Err(EngineError::Coded {
                sqlstate: "21000",
                message: format!(
                    "MERGE matched a row of '{}' with more than one source row; make the ON \
                     condition match at most one source row per target row",
                    entry.full_name()
                ),
            });
        }
        Ok(())
    }

    pub(crate) async fn merge(
        &mut self,
        merge: &ast::Merge,
        schema_evolution: bool,
    ) -> Result<StatementOutput> {
        let (u, d, i) = self
            .merge_counts(merge, schema_evolution, true, WriteKind::Merge)
            .await?;
        let mut cols = merge_columns();
        cols[0].push_int(Some(u + d + i));
        cols[1].push_int(Some(u));
        cols[2].push_int(Some(d));
        cols[3].push_int(Some(i));
        match rows_output(cols)? {
            StatementOutput::Rows(stream) => Ok(StatementOutput::Summary {
                stream,
                kind: crate::statement_kind::StatementKind::Merge,
                affected: (u + d + i) as u64,
            }),
            other => Ok(other),
        }
    }

    /// Runs a MERGE; returns the rows updated, deleted and inserted. `check_cardinality` off is
    /// for Weir's own MERGEs whose source cannot match a target row twice; `kind` is what the
    /// commit records (an UPDATE or DELETE run as a MERGE records itself).
    pub(crate) async fn merge_counts(
        &mut self,
        merge: &ast::Merge,
        schema_evolution: bool,
        check_cardinality: bool,
        kind: WriteKind,
    ) -> Result<(i64, i64, i64)> {
        crate::planner::refuse_historic_target(&merge.table)?;
        let TableFactor::Table { name, .. } = &merge.table else {
            return Err(EngineError::syntax("MERGE INTO needs a table name"));
        };
        let parts: Vec<String> = name
            .0
            .iter()
            .filter_map(|p| p.as_ident())
            .map(|i| i.value.to_lowercase())
            .collect();
        let (c, s, t) = self.qualify_table(&parts)?;
        let entry = self.lookup_table(&c, &s, &t)?;
        self.require_writable(&entry, Some("MERGE"))?;
        if schema_evolution {
            // New columns change the table's definition: its owner's (or MANAGE holder's) call.
            self.access()?
                .require_manage(&crate::access::table_securable(&entry))?;
        }
        if entry.kind == weir_catalog::TableKind::View {
            return Err(EngineError::WrongObjectType(format!(
                "cannot MERGE INTO view '{}'",
                entry.full_name()
            )));
        }
        let target_alias = factor_alias(&merge.table).unwrap_or_else(|| entry.name.clone());
        let source_alias = match (&merge.source, factor_alias(&merge.source)) {
            (_, Some(a)) => a,
            (TableFactor::Table { name, .. }, None) => last_name(name),
            _ => {
                return Err(EngineError::syntax(
                    "a MERGE source subquery needs an alias",
                ))
            }
        };
        if source_alias == target_alias {
            return Err(EngineError::syntax(format!(
                "MERGE source and target are both named '{source_alias}'; alias one of them"
            )));
        }
        let source = self.relation_frame(&merge.source, &source_alias).await?;
        let target = self.relation_frame(&merge.table, &target_alias).await?;
        // The statement's expressions, planned over the target and source rows as DataFusion
        // plans any query's: they go to delta-rs as expressions, not as text.
        let rows = target.schema().join(source.schema())?;
        let state = self.ctx.state();
        let variables = self.variable_values();
        let plan_expr = |e: &ast::Expr| -> Result<Expr> {
            Ok(variables.inline(state.create_logical_expr_from_sql_expr(
                ast::ExprWithAlias {
                    expr: e.clone(),
                    alias: None,
                },
                &rows,
            )?)?)
        };
        let on = plan_expr(&merge.on)?;
        let source_columns: Vec<String> = source
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().to_string())
            .collect();

        let target_columns: Vec<String> = entry.columns.iter().map(|c| c.name.clone()).collect();
        let from_source = |c: &str| {
            Expr::Column(datafusion::common::Column::new(
                Some(datafusion::common::TableReference::bare(
                    source_alias.as_str(),
                )),
                c,
            ))
        };
        // `UPDATE SET *` / `INSERT *`: every target column from the source column of that
        // name; with schema evolution, every source column.
        let star_columns = || -> Result<Vec<String>> {
            let mut cols = if schema_evolution {
                source_columns.clone()
            } else {
                target_columns.clone()
            };
            cols.dedup();
            for col in &cols {
                if !source_columns.iter().any(|s| s.eq_ignore_ascii_case(col)) {
                    return Err(EngineError::UndefinedColumn(format!(
                        "column '{col}' of '{}' is missing from the MERGE source",
                        entry.full_name()
                    )));
                }
            }
            Ok(cols)
        };

        let write = self.begin_write(&entry, kind).await?;
        let mut builder = write
            .table()?
            .merge(source.clone(), on.clone())
            .with_source_alias(&source_alias)
            .with_target_alias(&target_alias)
            .with_merge_schema(schema_evolution)
            .with_session_state(Arc::new(self.ctx.state()))
            .with_commit_properties(write.properties());

        // What each clause assigns, and when: the write's column lineage.
        let mut assigned: Vec<(String, Expr, Option<Expr>)> = vec![];
        for clause in &merge.clauses {
            let predicate = clause.predicate.as_ref().map(&plan_expr).transpose()?;
            match (&clause.clause_kind, &clause.action) {
                (
                    MergeClauseKind::Matched | MergeClauseKind::NotMatchedBySource,
                    MergeAction::Update(u),
                ) => {
                    let mut sets: Vec<(String, Expr)> = vec![];
                    for a in &u.assignments {
                        let column = column_of(&a.target)?;
                        if column == ALL_COLUMNS {
                            for c in star_columns()? {
                                sets.push((c.clone(), from_source(&c)));
                            }
                        } else {
                            if !target_columns.contains(&column) {
                                return Err(EngineError::UndefinedColumn(format!(
                                    "column '{column}' does not exist in '{}'",
                                    entry.full_name()
                                )));
                            }
                            sets.push((column, plan_expr(&a.value)?));
                        }
                    }
                    for (c, e) in &sets {
                        assigned.push((c.clone(), e.clone(), predicate.clone()));
                    }
                    let apply = |mut b: UpdateBuilder| {
                        if let Some(p) = &predicate {
                            b = b.predicate(p.clone());
                        }
                        for (c, e) in &sets {
                            b = b.update(c.as_str(), e.clone());
                        }
                        b
                    };
                    builder = if clause.clause_kind == MergeClauseKind::Matched {
                        builder.when_matched_update(apply)?
                    } else {
                        builder.when_not_matched_by_source_update(apply)?
                    };
                }
                (
                    MergeClauseKind::Matched | MergeClauseKind::NotMatchedBySource,
                    MergeAction::Delete { .. },
                ) => {
                    let apply = |mut b: DeleteBuilder| {
                        if let Some(p) = &predicate {
                            b = b.predicate(p.clone());
                        }
                        b
                    };
                    builder = if clause.clause_kind == MergeClauseKind::Matched {
                        builder.when_matched_delete(apply)?
                    } else {
                        builder.when_not_matched_by_source_delete(apply)?
                    };
                }
                (
                    MergeClauseKind::NotMatched | MergeClauseKind::NotMatchedByTarget,
                    MergeAction::Insert(i),
                ) => {
                    let sets: Vec<(String, Expr)> = match &i.kind {
                        MergeInsertKind::Row => star_columns()?
                            .into_iter()
                            .map(|c| {
                                let e = from_source(&c);
                                (c, e)
                            })
                            .collect(),
                        MergeInsertKind::Values(values) => {
                            let row = match values.rows.as_slice() {
                                [row] => row,
                                _ => {
                                    return Err(EngineError::syntax(
                                        "MERGE INSERT takes one VALUES row",
                                    ))
                                }
                            };
                            let columns: Vec<String> = if i.columns.is_empty() {
                                target_columns.clone()
                            } else {
                                i.columns.iter().map(last_name).collect()
                            };
                            if columns.len() != row.len() {
                                return Err(EngineError::syntax(format!(
                                    "MERGE INSERT names {} column(s) but gives {} value(s)",
                                    columns.len(),
                                    row.len()
                                )));
                            }
                            for c in &columns {
                                if !target_columns.contains(c) && !schema_evolution {
                                    return Err(EngineError::UndefinedColumn(format!(
                                        "column '{c}' does not exist in '{}'",
                                        entry.full_name()
                                    )));
                                }
                            }
                            let values = row.iter().map(&plan_expr).collect::<Result<Vec<_>>>()?;
                            columns.into_iter().zip(values).collect()
                        }
                    };
                    for (c, e) in &sets {
                        assigned.push((c.clone(), e.clone(), predicate.clone()));
                    }
                    builder = builder.when_not_matched_insert(|mut b: InsertBuilder| {
                        if let Some(p) = &predicate {
                            b = b.predicate(p.clone());
                        }
                        for (c, e) in &sets {
                            b = b.set(c.as_str(), e.clone());
                        }
                        b
                    })?;
                }
                (kind, action) => {
                    return Err(EngineError::syntax(format!(
                        "WHEN {kind} THEN {action} is not a valid MERGE clause"
                    )))
                }
            }
        }
        // After the clauses are validated, so that a misspelt column is reported as such.
        if check_cardinality
            && merge
                .clauses
                .iter()
                .any(|c| c.clause_kind == MergeClauseKind::Matched)
        {
            self.check_single_match(&entry, &target, &source, &on)
                .await?;
        }
        let names = self.lineage_names(&self.current_catalog(), &self.current_schema());
        let mut lineage = crate::lineage::columns::Assignments::new(
            &[target.logical_plan(), source.logical_plan()],
            &rows,
            &names,
        );
        lineage.affect_all(&on, crate::lineage::Subtype::Join);
        for (column, value, condition) in &assigned {
            lineage.assign(column, value, condition.as_ref());
        }
        self.note_column_lineage(&entry.full_name(), &lineage.finish());
        let (table, metrics) = builder
            .await
            .map_err(|e| Self::constraint_error(&entry, e.into()))?;
        let written = WriteMetrics {
            rows_written: Some(metrics.num_target_rows_inserted as u64),
            rows_updated: Some(metrics.num_target_rows_updated as u64),
            rows_deleted: Some(metrics.num_target_rows_deleted as u64),
            files_added: Some(metrics.num_target_files_added as u64),
            files_removed: Some(metrics.num_target_files_removed as u64),
        };
        // New columns are part of the table now: the metastore lists them at once.
        let sync = if schema_evolution {
            MetastoreSync::Columns
        } else {
            MetastoreSync::Data
        };
        write.finish(table, written, sync)?;
        Ok((
            metrics.num_target_rows_updated as i64,
            metrics.num_target_rows_deleted as i64,
            metrics.num_target_rows_inserted as i64,
        ))
    }
}
