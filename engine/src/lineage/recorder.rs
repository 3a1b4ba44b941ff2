//! The lineage recorder: the observer that turns what a statement's plans read (`TableRead`,
//! from the resolved plan, never from its text), the column lineage of the writes it planned,
//! and what it wrote (its Delta commits, or the view it defined) into table and column lineage
//! edges, written to the audit log's lineage when the statement succeeds;
//! `system.access.table_lineage` and `system.access.column_lineage` read them. A view read is a
//! source of its own (the view's own edges lead on to its base tables, recorded when it was
//! defined).

use std::sync::Arc;

use weir_catalog::{AuditLog, ColumnEdge, LineageEdge};

use crate::observe::{EngineObserver, StatementInfo, StatementOutcome, StatementTrace, TableRead};

const TABLE: &str = "TABLE";
const VIEW: &str = "VIEW";
/// A source outside the catalog that wrote through a front: a Flight bulk ingest's client.
pub(crate) const CLIENT: &str = "CLIENT";
/// A storage location files were read from (COPY INTO).
pub(crate) const PATH: &str = "PATH";

fn object_type(is_view: bool) -> &'static str {
    if is_view {
        VIEW
    } else {
        TABLE
    }
}

/// Records table and column lineage.
pub(crate) struct LineageRecorder {
    log: Arc<AuditLog>,
}

impl LineageRecorder {
    pub(crate) fn new(log: Arc<AuditLog>) -> Self {
        LineageRecorder { log }
    }
}

/// The column edges of the writes a statement made, from sources it read.
fn column_edges(statement: &StatementInfo, trace: &StatementTrace) -> Vec<ColumnEdge> {
    let mut out = vec![];
    for write in &trace.writes {
        for lineage in trace.columns_of(&write.name) {
            for column in &lineage.columns {
                for input in &column.inputs {
                    let s = &input.source;
                    if !trace.reads.iter().any(|r| r.name == s.table) {
                        continue;
                    }
                    out.push(ColumnEdge {
                        event_time_ms: statement.started_at_ms,
                        statement_id: statement.id.to_string(),
                        created_by: statement.user.clone(),
                        source: (s.table.clone(), object_type(s.is_view).to_string()),
                        source_column: s.column.clone(),
                        target: (write.name.clone(), object_type(write.is_view).to_string()),
                        target_column: column.name.clone(),
                        transformation: (
                            input.subtype.kind().to_string(),
                            input.subtype.as_str().to_string(),
                        ),
                        masked: s.masked,
                        entity: statement.run.as_ref().map(|r| r.entity()),
                    });
                }
            }
        }
    }
    out
}

/// The source a Flight bulk ingest writes from: the client (`flight://ip`), as a path.
fn ingest_source(statement: &StatementInfo) -> Option<TableRead> {
    if statement.kind != Some(crate::StatementKind::Ingest) {
        return None;
    }
    let client = statement.client.address.map_or_else(
        || "flight://unknown".to_string(),
        |a| format!("flight://{}", a.ip()),
    );
    Some(TableRead {
        name: client,
        is_view: false,
    })
}

/// The table edges of a statement: each read to each write, or reads alone.
fn edges(statement: &StatementInfo, trace: &StatementTrace) -> Vec<LineageEdge> {
    let client = ingest_source(statement);
    let paths: Vec<TableRead> = trace
        .paths
        .iter()
        .map(|p| TableRead {
            name: p.clone(),
            is_view: false,
        })
        .collect();
    let edge = |read: &TableRead, target: Option<(String, String)>| LineageEdge {
        event_time_ms: statement.started_at_ms,
        statement_id: statement.id.to_string(),
        created_by: statement.user.clone(),
        source: (
            read.name.clone(),
            if client.as_ref() == Some(read) {
                CLIENT
            } else if paths.contains(read) {
                PATH
            } else {
                object_type(read.is_view)
            }
            .to_string(),
        ),
        target,
        entity: statement.run.as_ref().map(|r| r.entity()),
    };
    if trace.writes.is_empty() {
        return trace.reads.iter().map(|r| edge(r, None)).collect();
    }
    let reads: Vec<TableRead> = trace
        .reads
        .iter()
        .cloned()
        .chain(client.clone())
        .chain(paths.iter().cloned())
        .collect();
    let reads = &reads;
    trace
        .writes
        .iter()
        .flat_map(|w| {
            reads.iter().map(move |r| {
                (
                    r,
                    Some((w.name.clone(), object_type(w.is_view).to_string())),
                )
            })
        })
        .map(|(r, target)| edge(r, target))
        .collect()
}

impl EngineObserver for LineageRecorder {
    fn statement_finished(
        &self,
        statement: &StatementInfo,
        outcome: &StatementOutcome,
        trace: &StatementTrace,
    ) {
        if !matches!(outcome, StatementOutcome::Succeeded { .. }) {
            return;
        }
        let edges = edges(statement, trace);
        let columns = column_edges(statement, trace);
        if edges.is_empty() && columns.is_empty() {
            return;
        }
        if let Err(e) = self.log.record_lineage(&edges, &columns) {
            tracing::error!(statement = %statement.id, "lineage lost: {e}");
        }
    }
}
