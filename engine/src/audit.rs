//! Audit: the observer that writes one record per statement and per login attempt to the audit
//! log (`weir_catalog::AuditLog`), which `system.access.audit` reads. A statement's record is
//! written when it ends, with the securables it touched: the tables and views its plans read,
//! then those it wrote.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use weir_catalog::{AuditLog, AuditRecord};

use crate::observe::{
    ClientInfo, CommitEvent, EngineObserver, LoginEvent, StatementInfo, StatementOutcome, TableRead,
};

/// Writes the audit log.
pub(crate) struct AuditRecorder {
    log: Arc<AuditLog>,
    /// The tables and views each running statement touched so far.
    touched: Mutex<HashMap<uuid::Uuid, Vec<String>>>,
}

impl AuditRecorder {
    pub(crate) fn new(log: Arc<AuditLog>) -> Self {
        AuditRecorder {
            log,
            touched: Mutex::default(),
        }
    }

    fn touch(&self, statement: &StatementInfo, names: impl IntoIterator<Item = String>) {
        let mut touched = self.touched.lock().unwrap_or_else(|p| p.into_inner());
        let list = touched.entry(statement.id).or_default();
        for name in names {
            if !list.contains(&name) {
                list.push(name);
            }
        }
    }

    fn write(&self, record: &AuditRecord) {
        // An audit failure must not fail the user's statement; it is logged loudly.
        if let Err(e) = self.log.record(record) {
            tracing::error!(action = %record.action, user = %record.user, "audit record lost: {e}");
        }
    }
}

fn address(client: &ClientInfo) -> Option<String> {
    client.address.map(|a| a.to_string())
}

impl EngineObserver for AuditRecorder {
    fn read(&self, statement: &StatementInfo, tables: &[TableRead]) {
        self.touch(statement, tables.iter().map(|t| t.name.clone()));
    }

    fn committed(&self, commit: &CommitEvent<'_>) {
        self.touch(commit.statement, [commit.table.to_string()]);
    }

    fn view_defined(&self, statement: &StatementInfo, view: &str) {
        self.touch(statement, [view.to_string()]);
    }

    fn statement_finished(&self, statement: &StatementInfo, outcome: &StatementOutcome) {
        let securables = self
            .touched
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&statement.id)
            .unwrap_or_default();
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
            protocol: statement.client.protocol.as_str().to_string(),
            session_id: Some(statement.session_id.to_string()),
            statement_id: Some(statement.id.to_string()),
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
            protocol: login.client.protocol.as_str().to_string(),
            session_id: login.session_id.map(|s| s.to_string()),
            statement_id: None,
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
