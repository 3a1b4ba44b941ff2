//! Flight authentication: a Handshake carrying HTTP Basic credentials is checked against the same
//! metastore verifiers as the Postgres front and answered with a bearer token. The token names a
//! server-side session (current catalog and schema, settings, prepared statements, cursors), so
//! each client connection keeps its state between calls, as a Postgres connection does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use rand::RngCore;
use tonic::metadata::MetadataMap;
use tonic::Status;
use weir_engine::{Engine, Session};

use crate::front::statement::DescribedStatement;

/// A prepared statement of a Flight session and the parameters bound to it by DoPut.
pub struct PreparedEntry {
    pub statement: DescribedStatement,
    pub bound: Vec<arrow::record_batch::RecordBatch>,
}

/// One authenticated client: its user, engine session and prepared statements.
pub struct FlightSession {
    pub user: String,
    expires: Instant,
    /// The engine session; locked while a statement is planned and started, not while its
    /// result streams.
    pub engine: tokio::sync::Mutex<Session>,
    pub prepared: Mutex<HashMap<Vec<u8>, PreparedEntry>>,
}

/// The live bearer tokens.
pub struct TokenStore {
    engine: Engine,
    ttl: Duration,
    sessions: Mutex<HashMap<String, Arc<FlightSession>>>,
}

fn unauthenticated(msg: &str) -> Status {
    Status::unauthenticated(msg.to_string())
}

/// `user:password` from an `authorization: Basic ...` header.
pub fn basic_credentials(metadata: &MetadataMap) -> Result<(String, String), Status> {
    let header = metadata
        .get("authorization")
        .ok_or_else(|| unauthenticated("the handshake needs an 'authorization: Basic' header"))?
        .to_str()
        .map_err(|_| unauthenticated("the authorization header is not ASCII"))?;
    let encoded = header
        .strip_prefix("Basic ")
        .or_else(|| header.strip_prefix("basic "))
        .ok_or_else(|| unauthenticated("the handshake needs HTTP Basic credentials"))?;
    // Some clients (arrow-go, used by ADBC) omit the base64 padding.
    let decoded = STANDARD
        .decode(encoded.trim())
        .or_else(|_| STANDARD_NO_PAD.decode(encoded.trim()))
        .map_err(|_| unauthenticated("malformed Basic credentials"))?;
    let text =
        String::from_utf8(decoded).map_err(|_| unauthenticated("malformed Basic credentials"))?;
    let (user, password) = text
        .split_once(':')
        .ok_or_else(|| unauthenticated("malformed Basic credentials"))?;
    Ok((user.to_string(), password.to_string()))
}

impl TokenStore {
    pub fn new(engine: Engine, ttl: Duration) -> Self {
        TokenStore {
            engine,
            ttl,
            sessions: Mutex::default(),
        }
    }

    /// Checks the password and opens a session; returns its bearer token.
    pub async fn login(
        &self,
        user: &str,
        password: &str,
        client: weir_engine::ClientInfo,
    ) -> Result<String, Status> {
        let engine = self.engine.clone();
        let (name, password) = (user.to_string(), password.to_string());
        // PBKDF2 takes milliseconds of CPU: off the async workers.
        let verified = tokio::task::spawn_blocking(move || {
            engine
                .login_verifier(&name)
                .map(|secret| secret.verify(&password))
        })
        .await
        .map_err(|e| Status::internal(format!("authentication task failed: {e}")))?
        .map_err(super::status::to_status)?;
        if !verified {
            tracing::info!(user, "flight authentication failed");
            let message = format!("password authentication failed for user \"{user}\"");
            self.engine
                .record_login(user, client, None, Some(("28P01", &message)));
            return Err(unauthenticated(&message));
        }
        let session = match self.engine.new_session(user, None, client.clone()) {
            Ok(s) => s,
            Err(e) => {
                self.engine
                    .record_login(user, client, None, Some((e.sqlstate(), &e.to_string())));
                return Err(super::status::to_status(e));
            }
        };
        self.engine
            .record_login(user, client, Some(session.id()), None);
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let token = URL_SAFE_NO_PAD.encode(bytes);
        let now = Instant::now();
        let mut sessions = self.lock();
        sessions.retain(|_, s| s.expires > now);
        sessions.insert(
            token.clone(),
            Arc::new(FlightSession {
                user: user.to_string(),
                expires: now + self.ttl,
                engine: tokio::sync::Mutex::new(session),
                prepared: Mutex::default(),
            }),
        );
        Ok(token)
    }

    /// The session of the call's bearer token.
    pub fn authenticate(&self, metadata: &MetadataMap) -> Result<Arc<FlightSession>, Status> {
        let header = metadata
            .get("authorization")
            .ok_or_else(|| unauthenticated("no bearer token; authenticate with a Handshake first"))?
            .to_str()
            .map_err(|_| unauthenticated("the authorization header is not ASCII"))?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or_else(|| unauthenticated("expected 'authorization: Bearer <token>'"))?
            .trim();
        let mut sessions = self.lock();
        match sessions.get(token) {
            Some(s) if s.expires > Instant::now() => Ok(s.clone()),
            Some(_) => {
                sessions.remove(token);
                Err(unauthenticated(
                    "the bearer token has expired; authenticate again",
                ))
            }
            None => Err(unauthenticated("invalid bearer token")),
        }
    }

    /// Ends the session of a token (CloseSession).
    pub fn close(&self, metadata: &MetadataMap) {
        if let Some(token) = metadata
            .get("authorization")
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "))
        {
            self.lock().remove(token.trim());
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<FlightSession>>> {
        // A panic while holding the lock cannot leave the map inconsistent (single inserts and
        // removes), so a poisoned lock is still usable.
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_authorization(value: &str) -> MetadataMap {
        let mut m = MetadataMap::new();
        m.insert("authorization", value.parse().expect("ascii"));
        m
    }

    #[test]
    fn basic_credentials_with_and_without_padding() {
        // "ab:c" encodes with padding ("YWI6Yw==") and without it.
        for header in ["Basic YWI6Yw==", "Basic YWI6Yw", "basic YWI6Yw=="] {
            let (user, password) = basic_credentials(&with_authorization(header)).expect(header);
            assert_eq!((user.as_str(), password.as_str()), ("ab", "c"));
        }
        // A password may contain ':'.
        let header = format!("Basic {}", STANDARD.encode("u:p:q"));
        let (_, password) = basic_credentials(&with_authorization(&header)).unwrap();
        assert_eq!(password, "p:q");
    }

    #[test]
    fn malformed_credentials_are_unauthenticated() {
        for header in ["Bearer abc", "Basic !!!", "Basic bm9jb2xvbg=="] {
            let e = basic_credentials(&with_authorization(header)).unwrap_err();
            assert_eq!(e.code(), tonic::Code::Unauthenticated, "{header}");
        }
        let e = basic_credentials(&MetadataMap::new()).unwrap_err();
        assert_eq!(e.code(), tonic::Code::Unauthenticated);
    }
}
