//! Results between GetFlightInfo and DoGet. A statement is planned and started once, at
//! GetFlightInfo; its stream waits here under a random ticket until its user redeems it with
//! DoGet. Unredeemed results expire, and CancelFlightInfo stops a result waiting or streaming.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use datafusion::physical_plan::SendableRecordBatchStream;
use rand::RngCore;
use tokio_util::sync::CancellationToken;
use tonic::Status;

struct Entry {
    owner: String,
    /// Taken by DoGet; the entry stays while the result streams so it can be cancelled.
    stream: Option<SendableRecordBatchStream>,
    cancel: CancellationToken,
    expires: Instant,
}

/// What cancelling a ticket did.
#[derive(Debug, PartialEq, Eq)]
pub enum CancelOutcome {
    Cancelled,
    Unknown,
}

pub struct ResultStore {
    ttl: Duration,
    entries: Mutex<HashMap<String, Entry>>,
}

impl ResultStore {
    pub fn new(ttl: Duration) -> Self {
        ResultStore {
            ttl,
            entries: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps a started result for `owner`; returns its ticket.
    pub fn insert(&self, owner: &str, stream: SendableRecordBatchStream) -> String {
        let mut bytes = [0u8; 24];
        rand::rng().fill_bytes(&mut bytes);
        let ticket = URL_SAFE_NO_PAD.encode(bytes);
        let now = Instant::now();
        let mut entries = self.lock();
        // Unredeemed results hold table snapshots and buffers: drop the expired ones. Redeemed
        // ones leave when their stream is dropped.
        entries.retain(|_, e| e.stream.is_none() || e.expires > now);
        entries.insert(
            ticket.clone(),
            Entry {
                owner: owner.to_string(),
                stream: Some(stream),
                cancel: CancellationToken::new(),
                expires: now + self.ttl,
            },
        );
        ticket
    }

    /// Hands the result of `ticket` to its owner, once.
    pub fn redeem(
        &self,
        ticket: &str,
        user: &str,
    ) -> Result<(SendableRecordBatchStream, CancellationToken), Status> {
        let mut entries = self.lock();
        let gone = || Status::not_found("unknown or already redeemed ticket");
        let entry = entries.get_mut(ticket).ok_or_else(gone)?;
        if entry.owner != user {
            // Said the same way as an unknown ticket: tickets of other users are not confirmed.
            return Err(gone());
        }
        if entry.expires <= Instant::now() {
            entries.remove(ticket);
            return Err(Status::not_found(
                "the ticket has expired; run the query again",
            ));
        }
        let stream = entry.stream.take().ok_or_else(gone)?;
        Ok((stream, entry.cancel.clone()))
    }

    /// Forgets a redeemed result whose stream has ended.
    pub fn finish(&self, ticket: &str) {
        self.lock().remove(ticket);
    }

    /// Cancels a result of `user`, waiting or streaming.
    pub fn cancel(&self, ticket: &str, user: &str) -> CancelOutcome {
        let mut entries = self.lock();
        match entries.get(ticket) {
            Some(e) if e.owner == user => {
                e.cancel.cancel();
                if e.stream.is_some() {
                    entries.remove(ticket);
                }
                CancelOutcome::Cancelled
            }
            _ => CancelOutcome::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::Schema;
    use datafusion::physical_plan::stream::RecordBatchStreamAdapter;

    fn empty() -> SendableRecordBatchStream {
        Box::pin(RecordBatchStreamAdapter::new(
            Arc::new(Schema::empty()),
            futures::stream::empty(),
        ))
    }

    use std::sync::Arc;

    #[test]
    fn a_ticket_is_redeemed_once_by_its_owner() {
        let store = ResultStore::new(Duration::from_secs(60));
        let ticket = store.insert("ann", empty());
        assert_eq!(
            store.redeem(&ticket, "bob").err().map(|s| s.code()),
            Some(tonic::Code::NotFound)
        );
        assert_eq!(store.cancel(&ticket, "bob"), CancelOutcome::Unknown);
        assert!(store.redeem(&ticket, "ann").is_ok());
        assert!(store.redeem(&ticket, "ann").is_err());
        // Still cancellable while it streams, until it finishes.
        assert_eq!(store.cancel(&ticket, "ann"), CancelOutcome::Cancelled);
        store.finish(&ticket);
        assert_eq!(store.cancel(&ticket, "ann"), CancelOutcome::Unknown);
    }

    #[test]
    fn unredeemed_results_expire() {
        let store = ResultStore::new(Duration::from_millis(0));
        let ticket = store.insert("ann", empty());
        assert!(store.redeem(&ticket, "ann").is_err());
        // The next insert sweeps expired entries.
        store.insert("ann", empty());
        assert_eq!(store.lock().len(), 1);
    }
}
