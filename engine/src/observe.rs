//! Observers: what the engine tells about the statements it runs and the commits they make, for
//! audit, lineage and metrics. Observers are registered on the [`crate::Engine`]; every
//! statement of every session (either front, any protocol message) reports its start and end,
//! and every Delta write reports its commit (see [`crate::delta::commit`]).
//!
//! Observer methods run on the statement's own task: they must be quick and never block (buffer
//! and hand the work to a task of their own).

use std::sync::{Arc, RwLock};

use crate::delta::commit::{WriteKind, WriteMetrics};

/// Which front a session came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Postgres,
    Flight,
    /// The engine's own sessions (tests, background work).
    Internal,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Postgres => "postgres",
            Protocol::Flight => "flight",
            Protocol::Internal => "internal",
        }
    }
}

/// Who is on the other end of a session.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    pub protocol: Protocol,
    /// The client's address, when the front knows it.
    pub address: Option<std::net::SocketAddr>,
}

impl ClientInfo {
    pub fn internal() -> Self {
        ClientInfo {
            protocol: Protocol::Internal,
            address: None,
        }
    }
}

/// One statement being executed.
#[derive(Debug, Clone)]
pub struct StatementInfo {
    /// New for every statement executed (each statement of a multi-statement request, each
    /// execution of a prepared statement).
    pub id: uuid::Uuid,
    pub session_id: uuid::Uuid,
    pub user: String,
    pub client: ClientInfo,
    /// The text the client sent for it, secrets redacted. A request of several statements is
    /// recorded whole for each of them; a bulk ingest is described (`INGEST INTO c.s.t`).
    pub text: String,
}

/// How a statement ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatementOutcome {
    /// It ran; a result set, if any, is streamed to the client after this.
    Succeeded,
    Failed {
        sqlstate: String,
        message: String,
    },
}

/// A Delta commit made by a statement.
#[derive(Debug)]
pub struct CommitEvent<'a> {
    pub statement: &'a StatementInfo,
    /// `catalog.schema.table`
    pub table: &'a str,
    pub kind: WriteKind,
    /// The table version committed (the last one, for operations that commit twice: VACUUM).
    pub version: u64,
    pub metrics: &'a WriteMetrics,
}

/// Receives the engine's events. Every method has a default that ignores the event.
pub trait EngineObserver: Send + Sync {
    fn statement_started(&self, _statement: &StatementInfo) {}
    fn statement_finished(&self, _statement: &StatementInfo, _outcome: &StatementOutcome) {}
    fn committed(&self, _commit: &CommitEvent<'_>) {}
}

/// The observers registered on an engine.
#[derive(Default)]
pub struct Observers {
    observers: RwLock<Vec<Arc<dyn EngineObserver>>>,
}

impl Observers {
    pub fn add(&self, observer: Arc<dyn EngineObserver>) {
        self.observers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(observer);
    }

    fn each(&self, f: impl Fn(&dyn EngineObserver)) {
        for o in self
            .observers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            f(o.as_ref());
        }
    }

    pub fn statement_started(&self, statement: &StatementInfo) {
        self.each(|o| o.statement_started(statement));
    }

    pub fn statement_finished(&self, statement: &StatementInfo, outcome: &StatementOutcome) {
        self.each(|o| o.statement_finished(statement, outcome));
    }

    pub fn committed(&self, commit: &CommitEvent<'_>) {
        self.each(|o| o.committed(commit));
    }
}
