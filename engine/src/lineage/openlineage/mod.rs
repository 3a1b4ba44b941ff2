//! OpenLineage: each statement that writes data is sent as a run — START when it begins,
//! COMPLETE, FAIL or ABORT when it ends — to a JSON-lines file and/or an HTTP collector such as
//! Marquez ([`delivery`]), built from the statement's trace ([`event`]).

mod delivery;
mod event;

use std::sync::Arc;

use weir_catalog::Metastore;

use crate::observe::{EngineObserver, StatementInfo, StatementOutcome, StatementTrace};

pub use delivery::{OpenLineageConfig, SinkCounts, SinkStatus};

/// A run's event to build.
enum Pending {
    Start(StatementInfo),
    End(StatementInfo, StatementOutcome, StatementTrace, i64),
}

/// The observer that emits the runs. It only hands what it hears to a task of its own, which
/// builds each event (reading the metastore for the datasets' names and schemas) and queues it
/// for every sink, in order.
pub(crate) struct OpenLineageEmitter {
    pending: tokio::sync::mpsc::Sender<Pending>,
    statuses: Vec<Arc<SinkStatus>>,
}

impl OpenLineageEmitter {
    /// Starts the sinks `config` names (each with its delivery task) and the task that builds
    /// the events.
    pub(crate) fn start(
        config: &OpenLineageConfig,
        metastore: Arc<Metastore>,
    ) -> crate::error::Result<Self> {
        let sinks = delivery::start(config)?;
        let statuses = sinks.iter().map(|s| s.status.clone()).collect();
        let (pending, mut to_build) = tokio::sync::mpsc::channel(config.queue_capacity.max(1));
        let namespace = config.namespace.clone();
        tokio::spawn(async move {
            while let Some(p) = to_build.recv().await {
                let (namespace, metastore) = (namespace.clone(), metastore.clone());
                let built = tokio::task::spawn_blocking(move || match p {
                    Pending::Start(statement) => event::start(&statement, &namespace),
                    Pending::End(statement, outcome, trace, now_ms) => {
                        event::end(&statement, &outcome, &trace, &namespace, &metastore, now_ms)
                    }
                })
                .await;
                match built {
                    Ok(event) => {
                        let event: Arc<str> = Arc::from(event.to_string());
                        for sink in &sinks {
                            sink.offer_reserved(event.clone());
                        }
                    }
                    Err(e) => {
                        tracing::error!("an OpenLineage event could not be built: {e}");
                        for sink in &sinks {
                            sink.status.unreserve_dropped();
                        }
                    }
                }
            }
        });
        Ok(OpenLineageEmitter { pending, statuses })
    }

    /// What each sink has done, for `system.access.openlineage_sinks`.
    pub(crate) fn statuses(&self) -> Vec<Arc<SinkStatus>> {
        self.statuses.clone()
    }

    /// Hands `p` to the builder, counted as queued for every sink; never waits.
    fn emit(&self, p: Pending) {
        for s in &self.statuses {
            s.reserve();
        }
        if self.pending.try_send(p).is_err() {
            for s in &self.statuses {
                s.unreserve_dropped();
            }
        }
    }
}

fn writes_data(statement: &StatementInfo) -> bool {
    statement.kind.is_some_and(|k| k.writes_data())
}

impl EngineObserver for OpenLineageEmitter {
    fn statement_started(&self, statement: &StatementInfo) {
        if writes_data(statement) {
            self.emit(Pending::Start(statement.clone()));
        }
    }

    fn statement_finished(
        &self,
        statement: &StatementInfo,
        outcome: &StatementOutcome,
        trace: &StatementTrace,
    ) {
        if writes_data(statement) {
            self.emit(Pending::End(
                statement.clone(),
                outcome.clone(),
                trace.clone(),
                chrono::Utc::now().timestamp_millis(),
            ));
        }
    }
}
