//! The Postgres wire protocol front. It only speaks the protocol: authentication, message flow
//! and encoding; statements go to the engine's session for this connection.

mod auth;
mod cancel;
mod encode;
mod query;
mod tags;

use std::net::SocketAddr;
use std::sync::Arc;

use pgwire::api::auth::sasl::scram::ScramAuth;
use pgwire::api::auth::sasl::SASLAuthStartupHandler;
use pgwire::api::auth::DefaultServerParameterProvider;
use pgwire::api::cancel::DefaultCancelHandler;
use pgwire::api::{ConnectionManager, PgWireServerHandlers, RandomPidSecretKeyGenerator};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use weir_engine::Engine;

use self::auth::{EngineAuthSource, WeirStartupHandler};
use self::cancel::{CancelRegistry, WeirCancelHandler};
use self::query::{ConnectionSession, WeirQueryHandler};

/// Handlers of one connection. pgwire's SASL handler keeps per-connection state, and each
/// connection owns its own engine session, so a fresh set is built for every socket.
struct ConnectionHandlers {
    startup: Arc<WeirStartupHandler>,
    query: Arc<WeirQueryHandler>,
    cancel: Arc<WeirCancelHandler>,
}

impl PgWireServerHandlers for ConnectionHandlers {
    fn simple_query_handler(&self) -> Arc<impl pgwire::api::query::SimpleQueryHandler> {
        self.query.clone()
    }
    fn extended_query_handler(&self) -> Arc<impl pgwire::api::query::ExtendedQueryHandler> {
        self.query.clone()
    }
    fn startup_handler(&self) -> Arc<impl pgwire::api::auth::StartupHandler> {
        self.startup.clone()
    }
    fn cancel_handler(&self) -> Arc<impl pgwire::api::cancel::CancelHandler> {
        self.cancel.clone()
    }
}

pub struct PgFront {
    engine: Engine,
    tls: Option<TlsAcceptor>,
    connections: Arc<ConnectionManager>,
    cancels: Arc<CancelRegistry>,
    /// One generator for all connections, so process ids are unique across the server.
    pids: Arc<RandomPidSecretKeyGenerator>,
}

impl PgFront {
    pub fn new(engine: Engine, tls: Option<TlsAcceptor>) -> Self {
        PgFront {
            engine,
            tls,
            connections: Arc::new(ConnectionManager::new()),
            cancels: Arc::default(),
            pids: Arc::default(),
        }
    }

    fn handlers(&self, inflight: TaskTracker) -> ConnectionHandlers {
        let mut params = DefaultServerParameterProvider::default();
        params.server_version = weir_engine::PG_SERVER_VERSION.to_string();
        // Sessions start in Databricks SQL, where a backslash in a string literal escapes:
        // drivers that quote literals themselves (libpq, pgjdbc) then double backslashes.
        params.standard_conforming_strings =
            !weir_engine::SqlDialect::default().backslash_escapes();
        let params = Arc::new(params);
        let mut scram = ScramAuth::new(Arc::new(EngineAuthSource {
            engine: self.engine.clone(),
        }));
        scram.set_iterations(weir_catalog::SCRAM_ITERATIONS as usize);
        let sasl = SASLAuthStartupHandler::new(params)
            .with_scram(scram)
            .with_pid_secret_key_generator(self.pids.clone())
            .with_connection_manager(self.connections.clone());
        let session = ConnectionSession::new(inflight);
        ConnectionHandlers {
            startup: Arc::new(WeirStartupHandler::new(
                sasl,
                self.engine.clone(),
                session.clone(),
                self.cancels.clone(),
            )),
            query: Arc::new(WeirQueryHandler::new(session)),
            cancel: Arc::new(WeirCancelHandler {
                registry: self.cancels.clone(),
                pgwire: DefaultCancelHandler::new(self.connections.clone()),
            }),
        }
    }

    /// Accepts connections until `shutdown` fires. Every running statement holds a token of
    /// `inflight`, so shutdown can wait for statements without waiting for idle connections.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: CancellationToken,
        inflight: TaskTracker,
    ) {
        let front = Arc::new(self);
        loop {
            let (socket, addr): (_, SocketAddr) = tokio::select! {
                _ = shutdown.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!("accepting a connection: {e}");
                        continue;
                    }
                },
            };
            let handlers = Arc::new(front.handlers(inflight.clone()));
            let tls = front.tls.clone();
            tokio::spawn(async move {
                // A broken client only ends its own task; the server keeps serving others.
                if let Err(e) = pgwire::tokio::process_socket(socket, tls, handlers).await {
                    tracing::debug!(%addr, "connection closed with error: {e}");
                }
            });
        }
    }
}
