//! `INSERT INTO` / `INSERT OVERWRITE`: the query's rows appended to (or replacing those of) a
//! Delta table in one commit.

use std::sync::Arc;

use datafusion::logical_expr::LogicalPlan;
use deltalake::operations::write::WriteBuilder;
use deltalake::protocol::SaveMode;
use deltalake::DeltaTable;
use weir_catalog::{TableEntry, TableKind};

use crate::delta::commit::{MetastoreSync, WriteKind, WriteMetrics};
use crate::error::{EngineError, Result};
use crate::session::Session;

/// How a write meets the table's rows and columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct WriteMode {
    /// The rows replace the table's (INSERT OVERWRITE, an `overwrite` load).
    pub overwrite: bool,
    /// Columns of the rows the table lacks join it in the same commit (COPY INTO with
    /// `mergeSchema`, a load with `schema_evolution => 'add_columns'`).
    pub add_columns: bool,
    /// The rows' schema replaces the table's (with `overwrite`: a column widened by a load).
    pub replace_schema: bool,
}

impl Session {
    /// Appends (or overwrites with) the result of `input` as one Delta commit; returns rows written.
    pub(crate) async fn write_to_table(
        &mut self,
        entry: &TableEntry,
        input: LogicalPlan,
        kind: WriteKind,
    ) -> Result<u64> {
        let mode = WriteMode {
            overwrite: kind == WriteKind::InsertOverwrite,
            ..WriteMode::default()
        };
        self.write_rows(entry, input, kind, mode).await
    }

    /// Writes the result of `input` to the table as `mode` says, as one Delta commit; returns
    /// rows written. New columns (with `add_columns`) are in the metastore when it returns.
    pub(crate) async fn write_rows(
        &mut self,
        entry: &TableEntry,
        input: LogicalPlan,
        kind: WriteKind,
        mode: WriteMode,
    ) -> Result<u64> {
        if entry.kind == TableKind::View {
            return Err(EngineError::WrongObjectType(format!(
                "cannot write to view '{}'",
                entry.full_name()
            )));
        }
        let targets: Vec<String> = entry.columns.iter().map(|c| c.name.clone()).collect();
        self.note_written_columns(
            &entry.full_name(),
            &input,
            &targets,
            &self.current_catalog(),
            &self.current_schema(),
        );
        let write = self.begin_write(entry, kind).await?;
        let table = write.table()?;
        let input = if mode.add_columns || mode.replace_schema {
            input
        } else {
            cast_to_table_schema(input, &table).await?
        };
        self.commit_rows(write, entry, input, mode).await
    }

    /// Rewrites the table with the columns of `types` cast to those types (each a widening:
    /// no value changes), as one Delta commit that replaces the table's schema. The rows are
    /// read from the very snapshot the commit replaces, without governance: every row is
    /// rewritten as stored. Returns rows written.
    pub(crate) async fn widen_columns(
        &mut self,
        entry: &TableEntry,
        types: &[(String, arrow::datatypes::DataType)],
        kind: WriteKind,
    ) -> Result<u64> {
        use datafusion::catalog::TableProvider;
        use datafusion::datasource::provider_as_source;
        use datafusion::logical_expr::{cast, col, LogicalPlanBuilder};
        let write = self.begin_write(entry, kind).await?;
        let table = write.table()?;
        let scan = crate::delta::scan::DeltaTableScan::try_new(&table).await?;
        let exprs: Vec<_> = scan
            .schema()
            .fields()
            .iter()
            .map(|f| {
                let c = col(datafusion::common::Column::from_name(f.name()));
                match types.iter().find(|(n, _)| n == f.name()) {
                    Some((_, t)) => cast(c, t.clone()).alias(f.name()),
                    None => c,
                }
            })
            .collect();
        let input = LogicalPlanBuilder::scan("stored", provider_as_source(Arc::new(scan)), None)?
            .project(exprs)?
            .build()?;
        let mode = WriteMode {
            overwrite: true,
            add_columns: false,
            replace_schema: true,
        };
        self.commit_rows(write, entry, input, mode).await
    }

    /// Writes `input` on the state `write` began from, as `mode` says: the one commit of
    /// `write_rows` and `widen_columns`.
    async fn commit_rows(
        &self,
        write: crate::delta::commit::DeltaWrite<'_>,
        entry: &TableEntry,
        input: LogicalPlan,
        mode: WriteMode,
    ) -> Result<u64> {
        let table = write.table()?;
        let snapshot = table.snapshot()?.snapshot().clone();
        let mut builder = WriteBuilder::new(table.log_store(), Some(snapshot))
            .with_input_plan(input)
            .with_save_mode(if mode.overwrite {
                SaveMode::Overwrite
            } else {
                SaveMode::Append
            })
            .with_session_state(Arc::new(self.ctx.state()))
            .with_commit_properties(write.properties());
        if mode.replace_schema {
            builder = builder.with_schema_mode(deltalake::operations::write::SchemaMode::Overwrite);
        } else if mode.add_columns {
            builder = builder.with_schema_mode(deltalake::operations::write::SchemaMode::Merge);
        }
        let table = builder
            .await
            .map_err(|e| Self::constraint_error(entry, e.into()))?;
        let rows = last_added_rows(&table).await;
        write.finish(
            table,
            WriteMetrics::written(rows),
            if mode.add_columns || mode.replace_schema {
                MetastoreSync::Columns
            } else {
                MetastoreSync::Data
            },
        )?;
        Ok(rows)
    }
}

/// Casts each input column to the table's type. The planner casts INSERT sources, but a bound
/// parameter can arrive with its own type (a driver sending `timestamp` for a `TIMESTAMP` column
/// that Delta stores with a time zone), and Delta must not see a different schema.
pub(crate) async fn cast_to_table_schema(
    input: LogicalPlan,
    table: &DeltaTable,
) -> Result<LogicalPlan> {
    use datafusion::catalog::TableProvider;
    use datafusion::logical_expr::{cast, col, LogicalPlanBuilder};
    let target = crate::delta::scan::DeltaTableScan::try_new(table)
        .await?
        .schema();
    let source = input.schema().clone();
    if source.fields().len() != target.fields().len() {
        return Ok(input);
    }
    let exprs: Vec<_> = source
        .fields()
        .iter()
        .zip(target.fields())
        .map(|(s, t)| {
            let c = col(datafusion::common::Column::from_name(s.name()));
            if s.data_type() == t.data_type() {
                c.alias(t.name())
            } else {
                cast(c, t.data_type().clone()).alias(t.name())
            }
        })
        .collect();
    Ok(LogicalPlanBuilder::from(input).project(exprs)?.build()?)
}

/// Rows added by the table's latest commit, from its commitInfo metrics.
pub(crate) async fn last_added_rows(table: &DeltaTable) -> u64 {
    use futures::StreamExt;
    let mut history = table.history(Some(1));
    if let Some(Ok(info)) = history.next().await {
        if let Some(v) = info
            .info
            .get("operationMetrics")
            .and_then(|m| m.get("num_added_rows"))
        {
            return v
                .as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .unwrap_or(0);
        }
    }
    0
}
