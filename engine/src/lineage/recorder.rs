//! The lineage recorder: the observer that turns what a statement's plans read (`TableRead`,
//! from the resolved plan, never from its text), the column lineage of the writes it planned,
//! and what it wrote (its Delta commits, or the view it defined) into table and column lineage
//! edges, written to the audit log's lineage when the statement succeeds;
//! `system.access.table_lineage` and `system.access.column_lineage` read them. A view read is a
//! source of its own (the view's own edges lead on to its base tables, recorded when it was
//! defined).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use weir_catalog::{AuditLog, ColumnEdge, LineageEdge};

use super::ColumnLineage;

use crate::observe::{CommitEvent, EngineObserver, StatementInfo, StatementOutcome, TableRead};

const TABLE: &str = "TABLE";
const VIEW: &str = "VIEW";

/// What one running statement read and wrote so far.
#[derive(Default)]
struct Seen {
    reads: Vec<TableRead>,
    /// Full name and type of each object written.
    writes: Vec<(String, &'static str)>,
    /// The column lineage of each write planned, by target.
    columns: Vec<(String, ColumnLineage)>,
}

/// Records table lineage.
pub(crate) struct LineageRecorder {
    log: Arc<AuditLog>,
    running: Mutex<HashMap<uuid::Uuid, Seen>>,
}

impl LineageRecorder {
    pub(crate) fn new(log: Arc<AuditLog>) -> Self {
        LineageRecorder {
            log,
            running: Mutex::default(),
        }
    }

    fn seen(&self, statement: &StatementInfo, f: impl FnOnce(&mut Seen)) {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        f(running.entry(statement.id).or_default());
    }

    fn wrote(&self, statement: &StatementInfo, name: &str, kind: &'static str) {
        self.seen(statement, |s| {
            if !s.writes.iter().any(|(n, _)| n == name) {
                s.writes.push((name.to_string(), kind));
            }
        });
    }
}

/// The column edges of the writes a statement made, from sources it read.
fn column_edges(statement: &StatementInfo, seen: &Seen) -> Vec<ColumnEdge> {
    let mut out = vec![];
    for (target, kind) in &seen.writes {
        for (_, lineage) in seen.columns.iter().filter(|(t, _)| t == target) {
            for column in &lineage.columns {
                for input in &column.inputs {
                    let s = &input.source;
                    if !seen.reads.iter().any(|r| r.name == s.table) {
                        continue;
                    }
                    out.push(ColumnEdge {
                        event_time_ms: statement.started_at_ms,
                        statement_id: statement.id.to_string(),
                        created_by: statement.user.clone(),
                        source: (
                            s.table.clone(),
                            if s.is_view { VIEW } else { TABLE }.to_string(),
                        ),
                        source_column: s.column.clone(),
                        target: (target.clone(), kind.to_string()),
                        target_column: column.name.clone(),
                        transformation: (
                            input.subtype.kind().to_string(),
                            input.subtype.as_str().to_string(),
                        ),
                        masked: s.masked,
                    });
                }
            }
        }
    }
    out
}

/// The edges of a statement that read `reads` and wrote `writes`.
fn edges(statement: &StatementInfo, seen: &Seen) -> Vec<LineageEdge> {
    let edge = |read: &TableRead, target: Option<(String, String)>| LineageEdge {
        event_time_ms: statement.started_at_ms,
        statement_id: statement.id.to_string(),
        created_by: statement.user.clone(),
        source: (
            read.name.clone(),
            if read.is_view { VIEW } else { TABLE }.to_string(),
        ),
        target,
    };
    if seen.writes.is_empty() {
        return seen.reads.iter().map(|r| edge(r, None)).collect();
    }
    seen.writes
        .iter()
        .flat_map(|(name, kind)| {
            seen.reads
                .iter()
                .map(move |r| (r, Some((name.clone(), kind.to_string()))))
        })
        .map(|(r, target)| edge(r, target))
        .collect()
}

impl EngineObserver for LineageRecorder {
    fn read(&self, statement: &StatementInfo, tables: &[TableRead]) {
        self.seen(statement, |s| {
            for t in tables {
                if !s.reads.contains(t) {
                    s.reads.push(t.clone());
                }
            }
        });
    }

    fn committed(&self, commit: &CommitEvent<'_>) {
        self.wrote(commit.statement, commit.table, TABLE);
    }

    fn view_defined(&self, statement: &StatementInfo, view: &str) {
        self.wrote(statement, view, VIEW);
    }

    fn column_lineage(&self, statement: &StatementInfo, target: &str, lineage: &ColumnLineage) {
        self.seen(statement, |s| {
            s.columns.push((target.to_string(), lineage.clone()))
        });
    }

    fn statement_finished(&self, statement: &StatementInfo, outcome: &StatementOutcome) {
        let seen = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&statement.id);
        let (Some(seen), StatementOutcome::Succeeded { .. }) = (seen, outcome) else {
            return;
        };
        let edges = edges(statement, &seen);
        let columns = column_edges(statement, &seen);
        if edges.is_empty() && columns.is_empty() {
            return;
        }
        if let Err(e) = self.log.record_lineage(&edges, &columns) {
            tracing::error!(statement = %statement.id, "lineage lost: {e}");
        }
    }
}
