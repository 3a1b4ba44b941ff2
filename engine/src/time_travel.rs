//! Delta time travel: reading a table as of a version or a timestamp, `DESCRIBE HISTORY` and
//! `RESTORE`.
//!
//! Versioned relations in queries (`t VERSION AS OF 3`, `t TIMESTAMP AS OF expr`, `t@v3`) are
//! found and planned by `planner::historic`; this module opens the table at that state.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use chrono::{DateTime, Utc};
use datafusion::catalog::TableProvider;
use datafusion::logical_expr::LogicalPlan;
use futures::TryStreamExt;
use weir_catalog::{TableEntry, TableKind};

use crate::batches::{batch, mem_table, rows_output, Col};
use crate::delta::commit::{MetastoreSync, WriteKind, WriteMetrics};
use crate::error::{EngineError, Result};
use crate::namespace::EngineState;
use crate::output::StatementOutput;
use crate::parser::AsOfSpec;
use crate::session::Session;

/// Which state of a table to read, resolved: a version, or the latest version committed at or
/// before an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsOf {
    Version(u64),
    Timestamp(DateTime<Utc>),
}

/// What a historic relation reads of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoricRead {
    /// The table as it was.
    AsOf(AsOf),
    /// The rows its commits changed, from `start` to `end` (the latest when absent).
    Changes { start: AsOf, end: Option<AsOf> },
}

fn version_error(entry: &TableEntry, what: String) -> EngineError {
    EngineError::Coded {
        sqlstate: "22023",
        message: format!("table '{}' {what}", entry.full_name()),
    }
}

impl EngineState {
    /// The table as of an earlier version or time. Opened afresh (not from the cache, which
    /// holds the latest state).
    pub(crate) async fn table_as_of(
        &self,
        entry: &TableEntry,
        as_of: &AsOf,
    ) -> Result<deltalake::DeltaTable> {
        if entry.kind == TableKind::View {
            return Err(EngineError::WrongObjectType(format!(
                "'{}' is a view; time travel reads Delta tables",
                entry.full_name()
            )));
        }
        let latest = self.latest_table(entry).await?;
        let newest = latest.version().unwrap_or(0);
        let url = self
            .storage
            .resolve_location(entry.location.as_deref().unwrap_or_default())?;
        let mut table = self.storage.uninitialized_table(&url)?;
        match as_of {
            AsOf::Version(v) => {
                if *v > newest {
                    return Err(version_error(
                        entry,
                        format!("has no version {v} (the latest is {newest})"),
                    ));
                }
                table.load_version(*v).await.map_err(|e| {
                    version_error(entry, format!("cannot be read at version {v}: {e}"))
                })?;
            }
            AsOf::Timestamp(at) => {
                let at = *at;
                let none_before =
                    || version_error(entry, format!("has no version at or before {at}"));
                table.load_with_datetime(at).await.map_err(|e| {
                    version_error(entry, format!("has no version at or before {at}: {e}"))
                })?;
                // delta-rs falls back to the first version for a time before it.
                let snapshot = table.snapshot()?;
                match snapshot.version_timestamp(snapshot.version()) {
                    Some(ms) if ms > at.timestamp_millis() => return Err(none_before()),
                    _ => {}
                }
            }
        }
        Ok(table)
    }

    pub(crate) async fn versioned_provider(
        &self,
        entry: &TableEntry,
        as_of: &AsOf,
    ) -> Result<Arc<dyn TableProvider>> {
        let table = self.table_as_of(entry, as_of).await?;
        self.register_store(&table);
        Ok(Arc::new(
            crate::delta::scan::DeltaTableScan::try_new(&table).await?,
        ))
    }
}

/// The columns of `DESCRIBE HISTORY` (Databricks' names and order).
fn history_columns() -> Vec<Col> {
    vec![
        Col::int("version"),
        Col::time("timestamp"),
        Col::str("userId"),
        Col::str("userName"),
        Col::str("operation"),
        Col::str("operationParameters"),
        Col::str("job"),
        Col::str("notebook"),
        Col::str("clusterId"),
        Col::int("readVersion"),
        Col::str("isolationLevel"),
        Col::bool("isBlindAppend"),
        Col::str("operationMetrics"),
        Col::str("userMetadata"),
        Col::str("engineInfo"),
    ]
}

fn restore_columns() -> Vec<Col> {
    vec![
        Col::int("table_size_after_restore"),
        Col::int("num_of_files_after_restore"),
        Col::int("num_removed_files"),
        Col::int("num_restored_files"),
    ]
}

impl Session {
    /// `DESCRIBE HISTORY t [LIMIT n]`: newest commit first.
    pub(crate) async fn history_plan(
        &self,
        name: &[String],
        limit: Option<usize>,
    ) -> Result<LogicalPlan> {
        use datafusion::datasource::provider_as_source;
        use datafusion::logical_expr::LogicalPlanBuilder;
        let (c, s, t) = self.qualify_table(name)?;
        let entry = self.lookup_table(&c, &s, &t)?;
        // History shows operation parameters, metrics and statement texts, which name values and
        // rows that column grants, masks and row filters hide: a full reader's business, and on
        // a table with policies its owner's (or a MANAGE holder's).
        let access = self.access()?;
        access.require_on_table(&entry, weir_catalog::Privilege::Select)?;
        if access.table_read(&entry)? != crate::access::TableRead::All
            || !crate::access::TablePolicies::load(&self.state.metastore, &entry)?.is_empty()
        {
            access.require_manage(&crate::access::table_securable(&entry))?;
        }
        if entry.kind == TableKind::View {
            return Err(EngineError::WrongObjectType(format!(
                "'{}' is a view and has no history",
                entry.full_name()
            )));
        }
        let table = self.state.latest_table(&entry).await?;
        let newest = table.version().unwrap_or(0);
        let infos: Vec<_> = table.history(limit).try_collect().await?;
        let mut cols = history_columns();
        for (i, info) in infos.iter().enumerate() {
            let json = |v: Option<&serde_json::Value>| v.map(|v| v.to_string());
            cols[0].push_int(Some(newest as i64 - i as i64));
            cols[1].push_int(info.timestamp);
            cols[2].push_str(info.user_id.clone());
            cols[3].push_str(info.user_name.clone().or_else(|| {
                info.info
                    .get("userName")
                    .and_then(|v| v.as_str().map(str::to_string))
            }));
            cols[4].push_str(info.operation.clone());
            cols[5].push_str(
                info.operation_parameters
                    .as_ref()
                    .and_then(|p| serde_json::to_string(p).ok()),
            );
            cols[6].push_str(None::<String>);
            cols[7].push_str(None::<String>);
            cols[8].push_str(None::<String>);
            cols[9].push_int(info.read_version.map(|v| v as i64));
            cols[10].push_str(info.isolation_level.as_ref().map(|l| format!("{l:?}")));
            cols[11].push_bool(info.is_blind_append);
            cols[12].push_str(json(info.info.get("operationMetrics")));
            cols[13].push_str(
                info.info
                    .get("userMetadata")
                    .and_then(|v| v.as_str().map(str::to_string)),
            );
            cols[14].push_str(info.engine_info.clone());
        }
        Ok(LogicalPlanBuilder::scan(
            "history",
            provider_as_source(mem_table(batch(cols)?)?),
            None,
        )?
        .build()?)
    }

    pub(crate) fn restore_schema() -> Result<SchemaRef> {
        Ok(batch(restore_columns())?.schema())
    }

    /// `RESTORE TABLE t TO VERSION AS OF n | TIMESTAMP AS OF ts`: one commit that makes the
    /// table's files those of the earlier state.
    pub(crate) async fn restore(
        &mut self,
        name: &[String],
        as_of: &AsOfSpec,
    ) -> Result<StatementOutput> {
        let as_of = match as_of {
            AsOfSpec::Version(v) => AsOf::Version(*v),
            AsOfSpec::Timestamp(e) => {
                AsOf::Timestamp(crate::planner::evaluate_timestamp(&self.ctx.state(), e)?)
            }
        };
        let (c, s, t) = self.qualify_table(name)?;
        let entry = self.lookup_table(&c, &s, &t)?;
        self.require_writable(&entry, Some("RESTORE"))?;
        // Validates the target state exists, with Weir's error messages.
        self.state.table_as_of(&entry, &as_of).await?;
        let write = self.begin_write(&entry, WriteKind::Restore).await?;
        let mut builder = write
            .table()?
            .restore()
            .with_commit_properties(write.properties());
        builder = match as_of {
            AsOf::Version(v) => builder.with_version_to_restore(v),
            AsOf::Timestamp(at) => builder.with_datetime_to_restore(at),
        };
        let (table, metrics) = builder.await?;
        let snapshot = table.snapshot()?;
        let files: Vec<_> = snapshot.log_data().iter().collect();
        let size: i64 = files.iter().map(|f| f.size()).sum();
        let mut cols = restore_columns();
        cols[0].push_int(Some(size));
        cols[1].push_int(Some(files.len() as i64));
        cols[2].push_int(Some(metrics.num_removed_file as i64));
        cols[3].push_int(Some(metrics.num_restored_file as i64));
        let written = WriteMetrics {
            files_added: Some(metrics.num_restored_file as u64),
            files_removed: Some(metrics.num_removed_file as u64),
            ..WriteMetrics::default()
        };
        // The restored version's schema and properties (constraints) are the table's again.
        write.finish(table, written, MetastoreSync::Full)?;
        rows_output(cols)
    }
}
