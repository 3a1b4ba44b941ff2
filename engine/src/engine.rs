//! Opening an engine: the metastore, the warehouse, the shared caches and the built-in admin;
//! sessions are started from it.

use std::path::PathBuf;
use std::sync::Arc;

use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use weir_catalog::{AuditLog, Metastore, ScramSecret, ADMIN_USER, DEFAULT_SCHEMA};

use crate::engine_state::{EngineState, TableCache};
use crate::error::{EngineError, Result};
use crate::pg_compat::PgCatalogs;
use crate::session::Session;
use crate::storage::StorageConfig;
use crate::system_tables::catalog::SYSTEM_CATALOG;

/// How to open an engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Holds `metastore.db` and, unless `warehouse` says otherwise, `warehouse/`.
    pub data_dir: PathBuf,
    /// Root URI for managed tables (`s3://bucket/prefix` or a local path).
    pub warehouse: Option<String>,
    pub storage_options: std::collections::HashMap<String, String>,
    /// Password for the built-in `admin` user on first start; generated if `None`.
    pub admin_password: Option<String>,
    /// Days of audit records to keep; `None` keeps them all.
    pub audit_retention_days: Option<u32>,
    /// Whether statements and logins are audited and lineage recorded.
    pub audit: bool,
    /// Where OpenLineage events go; `None` sends none.
    pub openlineage: Option<crate::lineage::openlineage::OpenLineageConfig>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

/// One server's engine: the metastore, storage and the caches every session shares.
#[derive(Clone)]
pub struct Engine {
    state: Arc<EngineState>,
}

impl Engine {
    /// Opens the metastore (creating it on first start) and returns the engine, plus the admin
    /// password when one was generated (to be shown once; only its verifier is stored).
    pub fn open(config: &EngineConfig) -> Result<(Engine, Option<String>)> {
        deltalake::aws::register_handlers(None);
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            EngineError::Storage(format!(
                "cannot create data directory {}: {e}",
                config.data_dir.display()
            ))
        })?;
        let metastore = Arc::new(Metastore::open(&config.data_dir.join("metastore.db"))?);
        let mut storage = match &config.warehouse {
            Some(w) => {
                let probe = StorageConfig::local(&config.data_dir)?;
                StorageConfig {
                    warehouse: probe.resolve_location(w)?,
                    options: Default::default(),
                }
            }
            None => {
                let dir = config.data_dir.join("warehouse");
                std::fs::create_dir_all(&dir).map_err(|e| {
                    EngineError::Storage(format!("cannot create warehouse {}: {e}", dir.display()))
                })?;
                StorageConfig::local(&dir)?
            }
        };
        storage.options = config.storage_options.clone();

        metastore.bootstrap(ADMIN_USER)?;
        let mut generated = None;
        if metastore.get_user(ADMIN_USER)?.is_none() {
            let password = match &config.admin_password {
                Some(p) if !p.is_empty() => p.clone(),
                _ => {
                    let p = random_password();
                    generated = Some(p.clone());
                    p
                }
            };
            metastore.put_user(ADMIN_USER, &ScramSecret::derive(&password), false)?;
        }

        // Runs a stopped server left going did not finish.
        let interrupted = metastore.fail_interrupted_job_runs(
            crate::jobs::INTERRUPTED,
            chrono::Utc::now().timestamp_millis(),
        )?;
        if interrupted > 0 {
            tracing::warn!("{interrupted} background run(s) were interrupted by the last stop");
        }
        let interrupted = metastore.fail_interrupted_ingest_runs(
            crate::jobs::INTERRUPTED,
            chrono::Utc::now().timestamp_millis(),
        )?;
        if interrupted > 0 {
            tracing::warn!("{interrupted} ingest run(s) were interrupted by the last stop");
        }
        // What interrupted runs staged is of no use: they publish nothing after a restart.
        let staging_dir = config.data_dir.join("ingest-staging");
        if staging_dir.exists() {
            std::fs::remove_dir_all(&staging_dir).map_err(|e| {
                EngineError::Storage(format!(
                    "cannot clear staging directory {}: {e}",
                    staging_dir.display()
                ))
            })?;
        }

        let audit = Arc::new(AuditLog::open(
            &config.data_dir.join("audit.db"),
            config.audit_retention_days,
        )?);
        let openlineage = config
            .openlineage
            .as_ref()
            .filter(|c| c.file.is_some() || c.url.is_some())
            .map(|c| crate::lineage::openlineage::OpenLineageEmitter::start(c, metastore.clone()))
            .transpose()?
            .map(Arc::new);
        let runtime = RuntimeEnvBuilder::new().build_arc()?;
        let state = Arc::new(EngineState {
            metastore,
            storage,
            tables: TableCache::default(),
            runtime: runtime.clone(),
            pg_catalogs: PgCatalogs::new(Arc::new(crate::system_tables::listed::WithSystem)),
            observers: Default::default(),
            base_state: crate::session_state::base_state(runtime.clone()),
            views: Arc::new(crate::views::StoredViews),
            audit: audit.clone(),
            openlineage_sinks: openlineage
                .as_ref()
                .map(|o| o.statuses())
                .unwrap_or_default(),
            jobs: Default::default(),
            copy_locks: Default::default(),
            staging_dir,
        });
        crate::jobs::start_launcher(&state);
        if let Some(emitter) = openlineage {
            state.observers.add(emitter);
        }
        if config.audit {
            state
                .observers
                .add(Arc::new(crate::audit::AuditRecorder::new(audit.clone())));
            state
                .observers
                .add(Arc::new(crate::lineage::LineageRecorder::new(audit)));
        }
        // Schedules fire once their runs are observed like any statement.
        crate::jobs::schedule::start_scheduler(&state);
        Ok((Engine { state }, generated))
    }

    /// The password verifier a login as `user` is checked against, for every front: the
    /// user's, or for an unknown user a decoy no password matches, so that neither the exchange
    /// nor its timing tells whether the user exists.
    pub fn login_verifier(&self, user: &str) -> Result<ScramSecret> {
        Ok(match self.state.metastore.get_user(user)? {
            Some(u) => u.secret,
            None => ScramSecret::decoy_for(user),
        })
    }

    /// Records a login attempt on a front: `session_id` of the session it opened, or the
    /// SQLSTATE and message it failed with. Audited like a statement.
    pub fn record_login(
        &self,
        user: &str,
        client: crate::observe::ClientInfo,
        session_id: Option<uuid::Uuid>,
        failure: Option<(&str, &str)>,
    ) {
        self.state.observers.login(&crate::observe::LoginEvent {
            user: user.to_string(),
            client,
            session_id,
            failure: failure.map(|(s, m)| (s.to_string(), m.to_string())),
        });
    }

    /// Registers an observer of every statement and commit from now on.
    pub fn add_observer(&self, observer: Arc<dyn crate::observe::EngineObserver>) {
        self.state.observers.add(observer);
    }

    /// Starts a session for an authenticated user in `catalog` (the Postgres database name).
    pub fn new_session(
        &self,
        user: &str,
        catalog: Option<&str>,
        client: crate::observe::ClientInfo,
    ) -> Result<Session> {
        let catalog = catalog
            .filter(|c| !c.is_empty())
            .unwrap_or(weir_catalog::DEFAULT_CATALOG)
            .to_lowercase();
        if !self.catalog_exists(&catalog)? {
            return Err(EngineError::UndefinedCatalog(format!(
                "database \"{catalog}\" does not exist"
            )));
        }
        let schema = if catalog == SYSTEM_CATALOG {
            // `system` has no `default` schema; every reader may read its information_schema.
            crate::system_tables::information_schema::SCHEMA.to_string()
        } else if self
            .state
            .metastore
            .get_schema(&catalog, DEFAULT_SCHEMA)?
            .is_some()
        {
            DEFAULT_SCHEMA.to_string()
        } else {
            self.state
                .metastore
                .schema_names(&catalog)?
                .into_iter()
                .next()
                .unwrap_or_else(|| DEFAULT_SCHEMA.into())
        };
        Ok(Session::new(
            self.state.clone(),
            user,
            &catalog,
            &schema,
            client,
        ))
    }

    /// Stops the background runs (`CALL ASYNC`), which record that the shutdown ended them;
    /// waits at most `timeout` for them to.
    pub async fn stop_background_runs(&self, timeout: std::time::Duration) {
        self.state.jobs.shut_down(timeout).await;
    }

    /// Waits, for at most `timeout`, until every OpenLineage sink has sent the events queued
    /// (at shutdown, after the last statement); returns how many events were left unsent.
    pub async fn flush_lineage_events(&self, timeout: std::time::Duration) -> u64 {
        let sinks = &self.state.openlineage_sinks;
        futures::future::join_all(sinks.iter().map(|s| s.flushed(timeout))).await;
        sinks.iter().map(|s| s.unsent()).sum()
    }

    /// Whether `catalog` is a catalog of the metastore or `system`.
    pub fn catalog_exists(&self, catalog: &str) -> Result<bool> {
        let catalog = catalog.to_lowercase();
        Ok(catalog == SYSTEM_CATALOG || self.state.metastore.get_catalog(&catalog)?.is_some())
    }
}

fn random_password() -> String {
    use rand::distr::{Alphanumeric, SampleString};
    Alphanumeric.sample_string(&mut rand::rng(), 24)
}
