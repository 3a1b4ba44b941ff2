//! The Arrow Flight SQL front. Like the Postgres front it only speaks its protocol: every call
//! authenticates, then drives an engine session, so both fronts share SQL, namespace and errors.

mod auth;
mod metadata;
mod params;
mod results;
mod service;
mod session_options;
mod status;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use arrow_flight::flight_service_server::FlightServiceServer;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Identity, Server, ServerTlsConfig};
use weir_engine::Engine;

use self::auth::TokenStore;
use self::results::ResultStore;
use self::service::WeirFlightService;

/// Results must be fetched within this time after GetFlightInfo.
const RESULT_TTL: Duration = Duration::from_secs(600);
/// Large enough for the record batches clients upload (ADBC ingest, parameter batches).
const MAX_MESSAGE_BYTES: usize = 256 * 1024 * 1024;

pub struct FlightFront {
    service: WeirFlightService,
    tls: Option<Identity>,
}

impl FlightFront {
    /// `tls` is the PEM certificate chain and key, already validated by the caller.
    pub fn new(
        engine: Engine,
        tls: Option<&(PathBuf, PathBuf)>,
        token_ttl: Duration,
        inflight: TaskTracker,
    ) -> Result<Self> {
        let tls = match tls {
            Some((cert, key)) => {
                let cert =
                    std::fs::read(cert).with_context(|| format!("reading {}", cert.display()))?;
                let key =
                    std::fs::read(key).with_context(|| format!("reading {}", key.display()))?;
                Some(Identity::from_pem(cert, key))
            }
            None => None,
        };
        Ok(FlightFront {
            service: WeirFlightService {
                tokens: TokenStore::new(engine, token_ttl),
                results: Arc::new(ResultStore::new(RESULT_TTL)),
                sql_info: metadata::sql_info(),
                xdbc: metadata::xdbc_type_info(),
                inflight,
            },
            tls,
        })
    }

    /// Serves until `shutdown` fires; streams still running are tracked by `inflight`.
    pub async fn serve(self, listener: TcpListener, shutdown: CancellationToken) -> Result<()> {
        let mut builder = Server::builder();
        if let Some(identity) = self.tls {
            builder = builder
                .tls_config(ServerTlsConfig::new().identity(identity))
                .context("configuring TLS for Flight SQL")?;
        }
        let service = FlightServiceServer::new(self.service)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        builder
            .add_service(service)
            .serve_with_incoming_shutdown(
                TcpIncoming::from(listener).with_nodelay(Some(true)),
                shutdown.cancelled_owned(),
            )
            .await
            .context("serving Flight SQL")
    }
}
