//! What every session of a server shares: the metastore, the warehouse, open Delta tables,
//! DataFusion's runtime and base state, and the engine's observers. It sits below the
//! namespace, the planner and the executors, which all read it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use datafusion::catalog::TableProvider;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::execution::session_state::SessionState;
use deltalake::DeltaTable;
use weir_catalog::{AuditLog, Metastore, TableEntry};

use crate::error::{EngineError, Result};
use crate::identity::{Identity, ViewPath};
use crate::observe::Observers;
use crate::pg_compat::PgCatalogs;
use crate::storage::StorageConfig;

/// Plans a stored view for a reader. The namespace meets views while resolving names; planning
/// one needs the planner, which sits above the namespace, so the engine hands it down.
#[async_trait]
pub trait ViewPlanner: Send + Sync {
    /// The view `entry` as `reader` reads it; `views` are the views whose expansion led here.
    async fn plan_view(
        &self,
        state: &Arc<EngineState>,
        entry: &TableEntry,
        views: &ViewPath,
        reader: &Identity,
    ) -> Result<Arc<dyn TableProvider>>;
}

/// Everything the namespace needs, shared by all sessions of a server.
pub struct EngineState {
    pub metastore: Arc<Metastore>,
    pub storage: StorageConfig,
    pub tables: TableCache,
    pub runtime: Arc<RuntimeEnv>,
    pub pg_catalogs: PgCatalogs,
    pub observers: Arc<Observers>,
    /// What every plan's DataFusion state is made from: every function and planner
    /// registered (see `session_state`).
    pub base_state: SessionState,
    /// Plans stored views when a query names one (see `views`).
    pub views: Arc<dyn ViewPlanner>,
    /// The audit log, written by `audit::AuditRecorder`, read by `system.access.audit`.
    pub audit: Arc<AuditLog>,
    /// What each OpenLineage sink has done (`system.access.openlineage_sinks`).
    pub openlineage_sinks: Vec<Arc<crate::lineage::openlineage::SinkStatus>>,
    /// The background runs going on (`CALL ASYNC`).
    pub jobs: Arc<crate::jobs::registry::RunningJobs>,
    /// One COPY INTO at a time per table (by table id): its loaded-files record is settled,
    /// read and written as one step. Ingest runs also take one per target schema
    /// (`ingest:catalog.schema`).
    pub copy_locks:
        std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Where ingest runs stage what they read (a directory per run, removed when it ends).
    pub staging_dir: std::path::PathBuf,
}

impl EngineState {
    /// The lock of loads into `key` (a table id, or `ingest:catalog.schema`): a load holds it
    /// while it settles, reads and records the files it loads.
    pub(crate) fn load_lock(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.copy_locks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key.to_string())
            .or_default()
            .clone()
    }
}

impl std::fmt::Debug for EngineState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineState").finish_non_exhaustive()
    }
}

/// Delta tables kept open between queries. A cached table is brought up to date with
/// `update_incremental`, which reads only commits newer than the cached version, so an unchanged
/// table costs one listing of its log tail and a commit by another writer is seen on the next query.
#[derive(Default)]
pub struct TableCache {
    tables: Mutex<HashMap<String, DeltaTable>>,
}

impl TableCache {
    fn get(&self, id: &str) -> Option<DeltaTable> {
        self.tables
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }

    pub fn put(&self, id: &str, table: DeltaTable) {
        self.tables
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.to_string(), table);
    }

    pub fn evict(&self, id: &str) {
        self.tables
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }

    /// The latest committed state of a metastore table.
    pub async fn latest(&self, storage: &StorageConfig, entry: &TableEntry) -> Result<DeltaTable> {
        let location = entry.location.as_deref().ok_or_else(|| {
            EngineError::WrongObjectType(format!("'{}' is a view, not a table", entry.full_name()))
        })?;
        let table = match self.get(&entry.id) {
            Some(mut t) => {
                t.update_incremental(None).await?;
                t
            }
            None => {
                storage
                    .open_table(&storage.resolve_location(location)?)
                    .await?
            }
        };
        self.put(&entry.id, table.clone());
        Ok(table)
    }
}

impl EngineState {
    /// The latest committed Delta state of a metastore table.
    pub async fn latest_table(&self, entry: &TableEntry) -> Result<DeltaTable> {
        self.tables.latest(&self.storage, entry).await
    }

    /// Makes the table's object store known to DataFusion's runtime (idempotent), as
    /// `DeltaTable::update_datafusion_session` does for one session; the runtime is shared here.
    pub fn register_store(&self, table: &DeltaTable) {
        use deltalake::delta_datafusion::engine::AsObjectStoreUrl;
        let log_store = table.log_store();
        let url = log_store.root_url().as_object_store_url();
        if self.runtime.object_store(&url).is_err() {
            self.runtime
                .register_object_store(url.as_ref(), log_store.root_object_store(None));
        }
    }
}
