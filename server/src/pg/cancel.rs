//! Query cancellation. pgwire cancels only while a handler computes its response; Weir streams
//! results after that, so each connection also has a token that stops its running stream, and
//! cancel requests (matched by process id and secret key) trigger it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use async_trait::async_trait;
use pgwire::api::cancel::{CancelHandler, DefaultCancelHandler};
use pgwire::messages::cancel::CancelRequest;
use pgwire::messages::startup::SecretKey;
use tokio_util::sync::CancellationToken;

/// The cancellation token of a connection's current statement.
#[derive(Default)]
pub struct StatementCancel(Mutex<CancellationToken>);

impl StatementCancel {
    /// A fresh token for the statement about to run.
    pub fn begin(&self) -> CancellationToken {
        let token = CancellationToken::new();
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = token.clone();
        token
    }

    fn cancel(&self) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).cancel();
    }
}

#[derive(Default)]
pub struct CancelRegistry {
    connections: Mutex<HashMap<(i32, Vec<u8>), Weak<StatementCancel>>>,
}

impl CancelRegistry {
    pub fn register(&self, pid: i32, key: SecretKey, cancel: &Arc<StatementCancel>) {
        let mut map = self.connections.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, w| w.strong_count() > 0);
        map.insert((pid, key_bytes(&key)), Arc::downgrade(cancel));
    }
}

/// Protocol 3.0 carries a 4-byte key that pgwire may parse as bytes while it generated an i32;
/// compare the wire bytes.
fn key_bytes(key: &SecretKey) -> Vec<u8> {
    match key {
        SecretKey::I32(i) => i.to_be_bytes().to_vec(),
        SecretKey::Bytes(b) => b.to_vec(),
    }
}

pub struct WeirCancelHandler {
    pub registry: Arc<CancelRegistry>,
    pub pgwire: DefaultCancelHandler,
}

#[async_trait]
impl CancelHandler for WeirCancelHandler {
    async fn on_cancel_request(&self, request: CancelRequest) {
        let target = {
            let map = self
                .registry
                .connections
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            map.get(&(request.pid, key_bytes(&request.secret_key)))
                .and_then(Weak::upgrade)
        };
        match target {
            Some(cancel) => {
                tracing::info!(pid = request.pid, "cancel request accepted");
                cancel.cancel();
            }
            None => tracing::info!(
                pid = request.pid,
                "cancel request for an unknown connection ignored"
            ),
        }
        self.pgwire.on_cancel_request(request).await;
    }
}
