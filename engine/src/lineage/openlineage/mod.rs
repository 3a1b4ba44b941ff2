//! OpenLineage: each statement that writes data is sent as a run — START when it begins,
//! COMPLETE, FAIL or ABORT when it ends — to a JSON-lines file and/or an HTTP collector such as
//! Marquez ([`delivery`]), built from the statement's trace ([`event`]).

mod delivery;
mod event;

use std::sync::Arc;

use weir_catalog::Metastore;

use crate::observe::{EngineObserver, StatementInfo, StatementOutcome, StatementTrace};

pub use delivery::{OpenLineageConfig, SinkCounts, SinkStatus};

/// The observer that emits the runs.
pub(crate) struct OpenLineageEmitter {
    namespace: String,
    metastore: Arc<Metastore>,
    sinks: Vec<delivery::Sink>,
}

impl OpenLineageEmitter {
    /// Starts the sinks `config` names (each with its delivery task).
    pub(crate) fn start(
        config: &OpenLineageConfig,
        metastore: Arc<Metastore>,
    ) -> crate::error::Result<Self> {
        Ok(OpenLineageEmitter {
            namespace: config.namespace.clone(),
            metastore,
            sinks: delivery::start(config)?,
        })
    }

    /// What each sink has done, for `system.access.openlineage_sinks`.
    pub(crate) fn statuses(&self) -> Vec<Arc<SinkStatus>> {
        self.sinks.iter().map(|s| s.status.clone()).collect()
    }

    fn emit(&self, event: serde_json::Value) {
        let event: Arc<str> = Arc::from(event.to_string());
        for sink in &self.sinks {
            sink.offer(event.clone());
        }
    }
}

fn writes_data(statement: &StatementInfo) -> bool {
    statement.kind.is_some_and(|k| k.writes_data())
}

impl EngineObserver for OpenLineageEmitter {
    fn statement_started(&self, statement: &StatementInfo) {
        if writes_data(statement) {
            self.emit(event::start(statement, &self.namespace));
        }
    }

    fn statement_finished(
        &self,
        statement: &StatementInfo,
        outcome: &StatementOutcome,
        trace: &StatementTrace,
    ) {
        if writes_data(statement) {
            self.emit(event::end(
                statement,
                outcome,
                trace,
                &self.namespace,
                &self.metastore,
                chrono::Utc::now().timestamp_millis(),
            ));
        }
    }
}
