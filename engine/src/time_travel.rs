//! Delta time travel: reading a table as of a version or a timestamp (`t VERSION AS OF 3`,
//! `t TIMESTAMP AS OF '2025-03-18'`, `t@v3`), `DESCRIBE HISTORY` and `RESTORE`.
//!
//! The parser turns a versioned table reference into the table name with a suffix (`t@v3`,
//! `t@ts2025-03-18`) which the schema provider resolves, so a versioned table joins, aliases and
//! qualifies like any other.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use datafusion::catalog::TableProvider;
use datafusion::logical_expr::LogicalPlan;
use futures::TryStreamExt;
use weir_catalog::{TableEntry, TableKind};

use crate::batches::{batch, mem_table, rows_output, Col};
use crate::delta::commit::{MetastoreSync, WriteKind, WriteMetrics};
use crate::error::{EngineError, Result};
use crate::namespace::EngineState;
use crate::output::StatementOutput;
use crate::session::Session;

/// Which state of a table to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AsOf {
    Version(u64),
    /// As written by the user; parsed when the table is opened.
    Timestamp(String),
}

impl AsOf {
    /// The suffix the parser appends to a table name.
    pub fn suffix(&self) -> String {
        match self {
            AsOf::Version(v) => format!("@v{v}"),
            AsOf::Timestamp(ts) => format!("@ts{ts}"),
        }
    }
}

/// Splits `name@v3` / `name@ts...` into the table name and what to read.
pub fn split_versioned_name(name: &str) -> Option<(&str, AsOf)> {
    let (base, spec) = name.rsplit_once('@')?;
    if base.is_empty() {
        return None;
    }
    if let Some(ts) = spec.strip_prefix("ts") {
        return Some((base, AsOf::Timestamp(ts.to_string())));
    }
    let version = spec.strip_prefix('v')?.parse::<u64>().ok()?;
    Some((base, AsOf::Version(version)))
}

/// A timestamp as Databricks accepts it: a date, a date and time (UTC), or RFC 3339.
pub fn parse_timestamp(text: &str) -> Result<DateTime<Utc>> {
    let t = text.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(d.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(t, format) {
            return Ok(dt.and_utc());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    if let Some(ts) = eval_timestamp_expr(t) {
        return Ok(ts);
    }
    Err(EngineError::Coded {
        sqlstate: "22007",
        message: format!("invalid timestamp '{text}' for TIMESTAMP AS OF"),
    })
}

/// A constant expression that is or casts to a timestamp (`current_timestamp() - INTERVAL 1
/// DAY`, `date_sub(current_date(), 1)`), evaluated now: the optimizer folds it to a literal.
fn eval_timestamp_expr(text: &str) -> Option<DateTime<Utc>> {
    use arrow::datatypes::{DataType, TimeUnit};
    use datafusion::common::{DFSchema, ScalarValue};
    use datafusion::logical_expr::{Cast, Expr, LogicalPlan, LogicalPlanBuilder};
    let mut state = datafusion::prelude::SessionContext::new().state();
    // `now()` is folded to the statement's start time, which this marks.
    state.mark_start_execution();
    let expr = state.create_logical_expr(text, &DFSchema::empty()).ok()?;
    let expr = Expr::Cast(Cast::new(
        Box::new(expr),
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
    ));
    let plan = LogicalPlanBuilder::empty(true)
        .project(vec![expr])
        .ok()?
        .build()
        .ok()?;
    let LogicalPlan::Projection(p) = state.optimize(&plan).ok()? else {
        return None;
    };
    match p.expr.first()?.clone().unalias() {
        Expr::Literal(ScalarValue::TimestampMicrosecond(Some(us), _), _) => {
            DateTime::from_timestamp_micros(us)
        }
        _ => None,
    }
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
            AsOf::Timestamp(ts) => {
                let at = parse_timestamp(ts)?;
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
        as_of: &AsOf,
    ) -> Result<StatementOutput> {
        let (c, s, t) = self.qualify_table(name)?;
        let entry = self.lookup_table(&c, &s, &t)?;
        self.require_writable(&entry, Some("RESTORE"))?;
        // Validates the target state exists, with Weir's error messages.
        self.state.table_as_of(&entry, as_of).await?;
        let write = self.begin_write(&entry, WriteKind::Restore).await?;
        let mut builder = write
            .table()?
            .restore()
            .with_commit_properties(write.properties());
        builder = match as_of {
            AsOf::Version(v) => builder.with_version_to_restore(*v),
            AsOf::Timestamp(ts) => builder.with_datetime_to_restore(parse_timestamp(ts)?),
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

#[cfg(test)]
mod tests {
    #[test]
    fn timestamp_expressions_are_evaluated_now() {
        let got = parse_timestamp("current_timestamp() - INTERVAL 1 DAY").expect("evaluates");
        let want = chrono::Utc::now() - chrono::Duration::days(1);
        assert!((got - want).num_seconds().abs() < 60, "{got} vs {want}");
        assert!(parse_timestamp("no_such_column + 1").is_err());
    }

    use super::*;

    #[test]
    fn versioned_names() {
        assert_eq!(split_versioned_name("t@v3"), Some(("t", AsOf::Version(3))));
        assert_eq!(
            split_versioned_name("t@ts2025-03-18"),
            Some(("t", AsOf::Timestamp("2025-03-18".into())))
        );
        assert_eq!(split_versioned_name("t"), None);
        assert_eq!(split_versioned_name("t@x"), None);
        assert_eq!(split_versioned_name("@v1"), None);
    }

    #[test]
    fn timestamps() {
        let want = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert_eq!(
            parse_timestamp("2025-03-18").unwrap(),
            want("2025-03-18T00:00:00Z")
        );
        assert_eq!(
            parse_timestamp("2025-03-18 10:11:12.5").unwrap(),
            want("2025-03-18T10:11:12.5Z")
        );
        assert_eq!(
            parse_timestamp("2025-03-18T10:00:00+09:00").unwrap(),
            want("2025-03-18T01:00:00Z")
        );
        assert!(parse_timestamp("yesterday").is_err());
    }
}
