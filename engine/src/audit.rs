//! Audit: the observer that writes one record per statement and per login attempt to the audit
//! log (`weir_catalog::AuditLog`), which `system.access.audit` reads. A statement's record is
//! written when it ends, with the securables it touched: the tables and views its plans read,
//! then those it wrote.

use std::sync::Arc;

use weir_catalog::{AuditLog, AuditRecord};

use crate::observe::{
    ClientInfo, EngineObserver, LoginEvent, StatementInfo, StatementOutcome, StatementTrace,
};

/// Writes the audit log.
pub(crate) struct AuditRecorder {
    log: Arc<AuditLog>,
}

impl AuditRecorder {
    pub(crate) fn new(log: Arc<AuditLog>) -> Self {
        AuditRecorder { log }
    }

    fn write(&self, record: &AuditRecord) {
        // An audit failure must not fail the user's statement; it is logged loudly.
        if let Err(e) = self.log.record(record) {
            tracing::error!(action = %record.action, user = %record.user, "audit record lost: {e}");
        }
    }
}

/// The tables and views a statement read, then those it wrote or set out to write (a write
/// that failed still names its target), each once.
fn securables(trace: &StatementTrace) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    for name in trace
        .reads
        .iter()
        .map(|r| &r.name)
        .chain(trace.writes.iter().map(|w| &w.name))
        .chain(trace.columns.iter().map(|(target, _)| target))
    {
        if !out.contains(name) {
            out.push(name.clone());
        }
    }
    out
}

fn address(client: &ClientInfo) -> Option<String> {
    client.address.map(|a| a.to_string())
}

impl EngineObserver for AuditRecorder {
    fn statement_finished(
        &self,
        statement: &StatementInfo,
        outcome: &StatementOutcome,
        trace: &StatementTrace,
    ) {
        let securables = securables(trace);
        let (status, rows, sqlstate, error_message) = match outcome {
            StatementOutcome::Succeeded { rows } => {
                ("succeeded", rows.map(|r| r as i64), None, None)
            }
            StatementOutcome::Failed { sqlstate, message } => (
                "failed",
                None,
                Some(sqlstate.clone()),
                Some(message.clone()),
            ),
            StatementOutcome::Abandoned => ("abandoned", None, None, None),
        };
        self.write(&AuditRecord {
            event_time_ms: statement.started_at_ms,
            user: statement.user.clone(),
            client_address: address(&statement.client),
            user_agent: statement.client.user_agent.clone(),
            protocol: statement.client.protocol.as_str().to_string(),
            session_id: Some(statement.session_id.to_string()),
            statement_id: Some(statement.id.to_string()),
            run_id: statement.run.as_ref().map(|r| r.id.to_string()),
            action: statement.kind.map_or("unparsed", |k| k.name()).to_string(),
            status: status.to_string(),
            sqlstate,
            error_message,
            statement_text: Some(statement.text.clone()),
            securables,
            rows,
            duration_ms: Some(statement.started.elapsed().as_millis() as i64),
        });
    }

    fn login(&self, login: &LoginEvent) {
        let (status, sqlstate, error_message) = match &login.failure {
            None => ("succeeded", None, None),
            Some((state, message)) => ("failed", Some(state.clone()), Some(message.clone())),
        };
        self.write(&AuditRecord {
            event_time_ms: chrono::Utc::now().timestamp_millis(),
            user: login.user.clone(),
            client_address: address(&login.client),
            user_agent: login.client.user_agent.clone(),
            protocol: login.client.protocol.as_str().to_string(),
            session_id: login.session_id.map(|s| s.to_string()),
            statement_id: None,
            run_id: None,
            action: "login".to_string(),
            status: status.to_string(),
            sqlstate,
            error_message,
            statement_text: None,
            securables: vec![],
            rows: None,
            duration_ms: None,
        });
    }
}
