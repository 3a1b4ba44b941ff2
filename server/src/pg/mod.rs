//! The Postgres wire protocol front. It only speaks the protocol: authentication, message flow
//! and encoding; statements go to the engine's session for this connection.

mod auth;
mod encode;
mod query;

use std::net::SocketAddr;
use std::sync::Arc;

use pgwire::api::auth::sasl::scram::ScramAuth;
use pgwire::api::auth::sasl::SASLAuthStartupHandler;
use pgwire::api::auth::DefaultServerParameterProvider;
use pgwire::api::cancel::DefaultCancelHandler;
use pgwire::api::{ConnectionManager, PgWireServerHandlers};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use weir_engine::Engine;

use self::auth::{EngineAuthSource, WeirStartupHandler};
use self::query::{ConnectionSession, WeirQueryHandler};

/// Handlers of one connection. pgwire's SASL handler keeps per-connection state, and each
/// connection owns its own engine session, so a fresh set is built for every socket.
struct ConnectionHandlers {
    startup: Arc<WeirStartupHandler>,
    query: Arc<WeirQueryHandler>,
    cancel: Arc<DefaultCancelHandler>,
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
}

impl PgFront {
    pub fn new(engine: Engine, tls: Option<TlsAcceptor>) -> Self {
        PgFront {
            engine,
            tls,
            connections: Arc::new(ConnectionManager::new()),
        }
    }

    fn handlers(&self) -> ConnectionHandlers {
        let mut params = DefaultServerParameterProvider::default();
        params.server_version = weir_engine::PG_SERVER_VERSION.to_string();
        let params = Arc::new(params);
        let mut scram = ScramAuth::new(Arc::new(EngineAuthSource {
            engine: self.engine.clone(),
        }));
        scram.set_iterations(weir_catalog::SCRAM_ITERATIONS as usize);
        let sasl = SASLAuthStartupHandler::new(params)
            .with_scram(scram)
            .with_connection_manager(self.connections.clone());
        let session = ConnectionSession::default();
        ConnectionHandlers {
            startup: Arc::new(WeirStartupHandler::new(
                sasl,
                self.engine.clone(),
                session.clone(),
            )),
            query: Arc::new(WeirQueryHandler::new(session)),
            cancel: Arc::new(DefaultCancelHandler::new(self.connections.clone())),
        }
    }

    /// Accepts connections until `shutdown` fires; connection tasks are tracked by `tracker`.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: CancellationToken,
        tracker: TaskTracker,
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
            let handlers = Arc::new(front.handlers());
            let tls = front.tls.clone();
            let shutdown = shutdown.clone();
            tracker.spawn(async move {
                // A broken client only ends its own task; the server keeps serving others.
                tokio::select! {
                    result = pgwire::tokio::process_socket(socket, tls, handlers) => {
                        if let Err(e) = result {
                            tracing::debug!(%addr, "connection closed with error: {e}");
                        }
                    }
                    _ = wait_idle_shutdown(shutdown) => {}
                }
            });
        }
    }
}

/// Resolves once shutdown has been requested; connections are then dropped between statements
/// by the grace-period timeout in `main`.
async fn wait_idle_shutdown(shutdown: CancellationToken) {
    shutdown.cancelled().await;
    std::future::pending::<()>().await
}
