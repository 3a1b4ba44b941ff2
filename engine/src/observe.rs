//! Observers: what the engine tells about the statements it runs and the commits they make, for
//! audit, lineage and metrics. Observers are registered on the [`crate::Engine`]; every
//! statement of every session (either front, any protocol message) reports its start and end,
//! and every Delta write reports its commit (see [`crate::delta::commit`]).
//!
//! While a statement runs, the registry gathers its [`StatementTrace`] — the tables and views
//! its plans read, what it wrote, the column lineage of its writes — once, and hands it to
//! every observer with the statement's end.
//!
//! Observer methods run on the statement's own task: they must be quick and never block (buffer
//! and hand the work to a task of their own).

use std::sync::{Arc, RwLock};

use crate::delta::operation::{WriteKind, WriteMetrics};

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
    /// What the client says it is: PostgreSQL's `application_name`, Flight's `user-agent`.
    pub user_agent: Option<String>,
}

impl ClientInfo {
    pub fn internal() -> Self {
        ClientInfo {
            protocol: Protocol::Internal,
            address: None,
            user_agent: None,
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
    /// The statement's own text, secrets redacted; a bulk ingest is described
    /// (`INGEST INTO c.s.t`).
    pub text: String,
    /// What kind of statement it is; `None` for text that did not parse.
    pub kind: Option<crate::StatementKind>,
    /// The run (a script, procedure call or job) that executed it, if one did.
    pub run: Option<RunInfo>,
    /// When it started, in Unix milliseconds.
    pub started_at_ms: i64,
    /// When it started, for its duration.
    pub started: std::time::Instant,
}

/// A run: a script, a procedure call or a background job, whose statements it executes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunInfo {
    /// The statement that began it (a script, a CALL), or the background run's id.
    pub id: uuid::Uuid,
    /// `SCRIPT`, `PROCEDURE` or `JOB`.
    pub entity_type: &'static str,
    /// What runs: a procedure's full name; a script's statement id.
    pub entity_id: String,
}

impl RunInfo {
    /// The run as lineage rows record it.
    pub fn entity(&self) -> weir_catalog::RunEntity {
        weir_catalog::RunEntity {
            entity_type: self.entity_type.to_string(),
            entity_id: self.entity_id.clone(),
            run_id: self.id.to_string(),
        }
    }
}

/// A table or view a statement reads, by its full name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TableRead {
    /// `catalog.schema.table`
    pub name: String,
    pub is_view: bool,
}

/// A login attempt on either front.
#[derive(Debug, Clone)]
pub struct LoginEvent {
    pub user: String,
    pub client: ClientInfo,
    /// The session opened, when the login succeeded.
    pub session_id: Option<uuid::Uuid>,
    /// Why it failed (SQLSTATE and message); `None` when it succeeded.
    pub failure: Option<(String, String)>,
}

/// How a statement ended. A statement with a result set ends when its result was read to the
/// end (or failed while being read, or was dropped unread), not when it started streaming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatementOutcome {
    /// It ran to its end. `rows`: the rows it returned, or for DML the rows it affected, when
    /// known.
    Succeeded {
        rows: Option<u64>,
    },
    Failed {
        sqlstate: String,
        message: String,
    },
    /// It never ended: its client went away, or its result was dropped before it was read.
    Abandoned,
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

/// A table or view a statement wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableWrite {
    /// `catalog.schema.name`
    pub name: String,
    pub is_view: bool,
    /// Rows it added, when known (a view defines none).
    pub rows_written: Option<u64>,
}

/// What one statement touched, gathered while it ran.
#[derive(Debug, Clone, Default)]
pub struct StatementTrace {
    /// The tables and views its plans read, in the order first read.
    pub reads: Vec<TableRead>,
    /// The tables it committed to and the views it defined, in order.
    pub writes: Vec<TableWrite>,
    /// The column lineage of each write it planned, by target (planned is not made: what was
    /// made is in `writes`).
    pub columns: Vec<(String, crate::lineage::ColumnLineage)>,
    /// Storage locations it read files from (COPY INTO's), as URLs.
    pub paths: Vec<String>,
}

impl StatementTrace {
    /// The column lineage planned for `target`, if any.
    pub fn columns_of<'a>(
        &'a self,
        target: &'a str,
    ) -> impl Iterator<Item = &'a crate::lineage::ColumnLineage> {
        self.columns
            .iter()
            .filter(move |(t, _)| t == target)
            .map(|(_, l)| l)
    }

    fn wrote(&mut self, write: TableWrite) {
        match self.writes.iter_mut().find(|w| w.name == write.name) {
            Some(w) => {
                if let Some(rows) = write.rows_written {
                    w.rows_written = Some(w.rows_written.unwrap_or(0) + rows);
                }
            }
            None => self.writes.push(write),
        }
    }
}

/// Receives the engine's events. Every method has a default that ignores the event.
pub trait EngineObserver: Send + Sync {
    fn statement_started(&self, _statement: &StatementInfo) {}
    /// The statement ended; `trace` is what it touched.
    fn statement_finished(
        &self,
        _statement: &StatementInfo,
        _outcome: &StatementOutcome,
        _trace: &StatementTrace,
    ) {
    }
    fn committed(&self, _commit: &CommitEvent<'_>) {}
    fn login(&self, _login: &LoginEvent) {}
}

/// The observers registered on an engine, and the traces of the statements running.
#[derive(Default)]
pub struct Observers {
    observers: RwLock<Vec<Arc<dyn EngineObserver>>>,
    traces: std::sync::Mutex<std::collections::HashMap<uuid::Uuid, StatementTrace>>,
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

    fn trace(&self, statement: &StatementInfo, f: impl FnOnce(&mut StatementTrace)) {
        let mut traces = self.traces.lock().unwrap_or_else(|p| p.into_inner());
        f(traces.entry(statement.id).or_default());
    }

    pub fn statement_started(&self, statement: &StatementInfo) {
        self.each(|o| o.statement_started(statement));
    }

    pub fn statement_finished(&self, statement: &StatementInfo, outcome: &StatementOutcome) {
        let trace = self
            .traces
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&statement.id)
            .unwrap_or_default();
        self.each(|o| o.statement_finished(statement, outcome, &trace));
    }

    pub fn committed(&self, commit: &CommitEvent<'_>) {
        self.trace(commit.statement, |t| {
            t.wrote(TableWrite {
                name: commit.table.to_string(),
                is_view: false,
                rows_written: commit.metrics.rows_written,
            })
        });
        self.each(|o| o.committed(commit));
    }

    /// The tables and views a statement's plan reads (told once per plan it makes: a MERGE
    /// plans its source and its target).
    pub fn read(&self, statement: &StatementInfo, tables: &[TableRead]) {
        self.trace(statement, |t| {
            for table in tables {
                if !t.reads.contains(table) {
                    t.reads.push(table.clone());
                }
            }
        });
    }

    /// A statement read files under the storage locations `paths` (URLs).
    pub fn read_paths(&self, statement: &StatementInfo, paths: &[String]) {
        self.trace(statement, |t| {
            for path in paths {
                if !t.paths.contains(path) {
                    t.paths.push(path.clone());
                }
            }
        });
    }

    /// A statement defined view `view` (`catalog.schema.view`), which reads what the statement
    /// read.
    pub fn view_defined(&self, statement: &StatementInfo, view: &str) {
        self.trace(statement, |t| {
            t.wrote(TableWrite {
                name: view.to_string(),
                is_view: true,
                rows_written: None,
            })
        });
    }

    /// The column lineage of a write the statement planned to `target` (`catalog.schema.name`,
    /// a table or view), told before the write is made.
    pub fn column_lineage(
        &self,
        statement: &StatementInfo,
        target: &str,
        lineage: &crate::lineage::ColumnLineage,
    ) {
        self.trace(statement, |t| {
            t.columns.push((target.to_string(), lineage.clone()))
        });
    }

    pub fn login(&self, login: &LoginEvent) {
        self.each(|o| o.login(login));
    }
}

/// The end of one statement, told to observers exactly once: by [`StatementEnd::finish`], or
/// as [`StatementOutcome::Abandoned`] when dropped unfinished.
pub(crate) struct StatementEnd {
    observers: Arc<Observers>,
    statement: Arc<StatementInfo>,
    told: bool,
}

impl StatementEnd {
    pub(crate) fn new(observers: Arc<Observers>, statement: Arc<StatementInfo>) -> Self {
        StatementEnd {
            observers,
            statement,
            told: false,
        }
    }

    pub(crate) fn finish(mut self, outcome: StatementOutcome) {
        self.told = true;
        self.observers.statement_finished(&self.statement, &outcome);
    }
}

impl Drop for StatementEnd {
    fn drop(&mut self) {
        if !self.told {
            self.observers
                .statement_finished(&self.statement, &StatementOutcome::Abandoned);
        }
    }
}

/// A statement's result set that ends the statement when it has been read: at its end, at an
/// error, or when dropped before either.
pub(crate) struct ObservedStream {
    inner: datafusion::physical_plan::SendableRecordBatchStream,
    end: Option<StatementEnd>,
    rows: u64,
}

impl ObservedStream {
    pub(crate) fn new(
        inner: datafusion::physical_plan::SendableRecordBatchStream,
        end: StatementEnd,
    ) -> Self {
        ObservedStream {
            inner,
            end: Some(end),
            rows: 0,
        }
    }
}

impl futures::Stream for ObservedStream {
    type Item = datafusion::error::Result<arrow::record_batch::RecordBatch>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::task::Poll;
        let polled = self.inner.as_mut().poll_next(cx);
        match polled {
            Poll::Ready(Some(Ok(batch))) => {
                self.rows += batch.num_rows() as u64;
                Poll::Ready(Some(Ok(batch)))
            }
            Poll::Ready(Some(Err(e))) => {
                // Classified once, here; the front receives the same error.
                let error = crate::error::EngineError::from(e);
                if let Some(end) = self.end.take() {
                    end.finish(StatementOutcome::Failed {
                        sqlstate: error.sqlstate().to_string(),
                        message: error.to_string(),
                    });
                }
                Poll::Ready(Some(Err(datafusion::error::DataFusionError::External(
                    Box::new(error),
                ))))
            }
            Poll::Ready(None) => {
                let rows = self.rows;
                if let Some(end) = self.end.take() {
                    end.finish(StatementOutcome::Succeeded { rows: Some(rows) });
                }
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl datafusion::physical_plan::RecordBatchStream for ObservedStream {
    fn schema(&self) -> arrow::datatypes::SchemaRef {
        self.inner.schema()
    }
}

/// A statement's successful result, which ends the statement: at once, or when read.
pub(crate) trait Observed {
    fn observed(self, kind: crate::StatementKind, end: StatementEnd) -> Self;
}

impl Observed for crate::output::StatementOutput {
    fn observed(self, kind: crate::StatementKind, end: StatementEnd) -> Self {
        use crate::output::StatementOutput;
        match self {
            StatementOutput::Rows(stream) if kind.is_read() => {
                StatementOutput::Rows(Box::pin(ObservedStream::new(stream, end)))
            }
            StatementOutput::Rows(stream) => {
                end.finish(StatementOutcome::Succeeded { rows: None });
                StatementOutput::Rows(stream)
            }
            StatementOutput::Command { kind, rows } => {
                end.finish(StatementOutcome::Succeeded { rows });
                StatementOutput::Command { kind, rows }
            }
            StatementOutput::Deallocate { name } => {
                end.finish(StatementOutcome::Succeeded { rows: None });
                StatementOutput::Deallocate { name }
            }
            StatementOutput::Summary {
                stream,
                kind,
                affected,
            } => {
                end.finish(StatementOutcome::Succeeded {
                    rows: Some(affected),
                });
                StatementOutput::Summary {
                    stream,
                    kind,
                    affected,
                }
            }
        }
    }
}

/// A bulk ingest's count of rows written.
impl Observed for u64 {
    fn observed(self, _kind: crate::StatementKind, end: StatementEnd) -> Self {
        end.finish(StatementOutcome::Succeeded { rows: Some(self) });
        self
    }
}
