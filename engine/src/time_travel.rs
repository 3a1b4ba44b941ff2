//! Delta time travel: opening a table as of a version or a timestamp. (`DESCRIBE HISTORY`
//! and `RESTORE` are statements of their own, in `exec`.)
//!
//! Versioned relations in queries (`t VERSION AS OF 3`, `t TIMESTAMP AS OF expr`, `t@v3`) are
//! found and planned by `planner::historic`; this module opens the table at that state.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use datafusion::catalog::TableProvider;
use weir_catalog::{TableEntry, TableKind};

use crate::engine_state::EngineState;
use crate::error::{EngineError, Result};

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

/// When a version was committed, as time travel (`TIMESTAMP AS OF`) reads it: the modification
/// time of its log file, which the Delta protocol makes the commit's time. The commit info's own
/// timestamp is taken before the file is written, a few milliseconds earlier, so showing it
/// would send a reader who copies it to the version before. `None` if the file is gone.
pub(crate) async fn commit_time(table: &deltalake::DeltaTable, version: u64) -> Option<i64> {
    use object_store::ObjectStoreExt;
    if let Some(ms) = table
        .snapshot()
        .ok()
        .and_then(|s| s.version_timestamp(version))
    {
        return Some(ms);
    }
    let path = deltalake::logstore::commit_uri_from_version(Some(version));
    table
        .object_store()
        .head(&path)
        .await
        .ok()
        .map(|meta| meta.last_modified.timestamp_millis())
}

/// The first version committed at or after `at` (`at_or_after`), or the last committed at or
/// before it, by the commit times time travel uses ([`commit_time`]); `None` when no version is
/// on that side. Commit times grow with versions, so this is a binary search over `0..=newest`.
pub(crate) async fn version_by_time(
    table: &deltalake::DeltaTable,
    newest: u64,
    at: DateTime<Utc>,
    at_or_after: bool,
) -> Option<u64> {
    let at = at.timestamp_millis();
    // The first version whose time is past `at` (or at least `at`, when looking after it).
    let (mut lo, mut hi) = (0u64, newest + 1);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let t = commit_time(table, mid).await?;
        let past = if at_or_after { t >= at } else { t > at };
        if past {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    if at_or_after {
        (lo <= newest).then_some(lo)
    } else {
        lo.checked_sub(1)
    }
}
