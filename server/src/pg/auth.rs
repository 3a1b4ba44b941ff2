//! Password authentication (SCRAM-SHA-256) against the metastore's verifiers, and the choice of
//! catalog from the connection's database name.

use std::fmt::Debug;

use async_trait::async_trait;
use futures::Sink;
use pgwire::api::auth::sasl::SASLAuthStartupHandler;
use pgwire::api::auth::{
    AuthSource, DefaultServerParameterProvider, LoginInfo, Password, StartupHandler,
};
use pgwire::api::{ClientInfo, PgWireConnectionState};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use weir_engine::Engine;

use super::cancel::CancelRegistry;
use super::query::ConnectionSession;
use std::sync::Arc;

#[derive(Debug)]
pub struct EngineAuthSource {
    pub engine: Engine,
}

fn auth_failed_message(user: &str) -> String {
    format!("password authentication failed for user \"{user}\"")
}

#[async_trait]
impl AuthSource for EngineAuthSource {
    async fn get_password(&self, login: &LoginInfo) -> PgWireResult<Password> {
        let user = login.user().unwrap_or_default();
        match self.engine.login_verifier(user) {
            Ok(secret) => Ok(Password::new(Some(secret.salt), secret.salted_password)),
            Err(e) => Err(super::encode::to_pg_error(e)),
        }
    }
}

/// The connection as the engine records it: its address and the `application_name` it gave.
fn pg_client<C: ClientInfo>(client: &C) -> weir_engine::ClientInfo {
    weir_engine::ClientInfo {
        protocol: weir_engine::Protocol::Postgres,
        address: Some(client.socket_addr()),
        user_agent: client
            .metadata()
            .get(pgwire::api::METADATA_APPLICATION_NAME)
            .filter(|a| !a.is_empty())
            .cloned(),
    }
}

/// SCRAM authentication, then the engine session for the authenticated user and database.
pub struct WeirStartupHandler {
    sasl: SASLAuthStartupHandler<DefaultServerParameterProvider>,
    engine: Engine,
    session: ConnectionSession,
    cancels: Arc<CancelRegistry>,
}

impl WeirStartupHandler {
    pub fn new(
        sasl: SASLAuthStartupHandler<DefaultServerParameterProvider>,
        engine: Engine,
        session: ConnectionSession,
        cancels: Arc<CancelRegistry>,
    ) -> Self {
        WeirStartupHandler {
            sasl,
            engine,
            session,
            cancels,
        }
    }
}

/// The catalog a connection asked for. psql and most drivers default the database to the user
/// name; when no catalog has that name the default catalog is used instead.
fn requested_catalog(
    engine: &Engine,
    user: &str,
    database: Option<&str>,
) -> Result<Option<String>, PgWireError> {
    match database {
        None | Some("") => Ok(None),
        Some(d) => match engine.catalog_exists(d) {
            Ok(true) => Ok(Some(d.to_string())),
            Ok(false) if d == user => Ok(None),
            Ok(false) => Err(PgWireError::UserError(Box::new(ErrorInfo::new(
                "FATAL".into(),
                "3D000".into(),
                format!("database \"{d}\" does not exist"),
            )))),
            Err(e) => Err(super::encode::to_pg_fatal(e)),
        },
    }
}

#[async_trait]
impl StartupHandler for WeirStartupHandler {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if let PgWireFrontendMessage::Startup(startup) = &message {
            // Refuse an unknown database before authentication starts, with a clean FATAL.
            let user = startup.parameters.get("user").cloned().unwrap_or_default();
            let database = startup.parameters.get("database").map(String::as_str);
            if let Err(e) = requested_catalog(&self.engine, &user, database) {
                if let PgWireError::UserError(info) = &e {
                    self.engine.record_login(
                        &user,
                        pg_client(client),
                        None,
                        Some((&info.code, &info.message)),
                    );
                }
                return Err(e);
            }
        }
        self.sasl
            .on_startup(client, message)
            .await
            .map_err(|e| match e {
                // pgwire names the user from the SCRAM message, which libpq leaves empty.
                PgWireError::InvalidPassword(_) => {
                    let user = client
                        .metadata()
                        .get(pgwire::api::METADATA_USER)
                        .cloned()
                        .unwrap_or_default();
                    let message = auth_failed_message(&user);
                    self.engine.record_login(
                        &user,
                        pg_client(client),
                        None,
                        Some(("28P01", &message)),
                    );
                    PgWireError::UserError(Box::new(ErrorInfo::new(
                        "FATAL".to_string(),
                        "28P01".to_string(),
                        message,
                    )))
                }
                other => other,
            })?;
        if matches!(client.state(), PgWireConnectionState::ReadyForQuery)
            && !self.session.is_open().await
        {
            let user = client
                .metadata()
                .get(pgwire::api::METADATA_USER)
                .cloned()
                .unwrap_or_default();
            let database = client
                .metadata()
                .get(pgwire::api::METADATA_DATABASE)
                .cloned();
            let catalog = requested_catalog(&self.engine, &user, database.as_deref())?;
            let session = self
                .engine
                .new_session(&user, catalog.as_deref(), pg_client(client))
                .inspect_err(|e| {
                    self.engine.record_login(
                        &user,
                        pg_client(client),
                        None,
                        Some((e.sqlstate(), &e.to_string())),
                    )
                })
                .map_err(super::encode::to_pg_fatal)?;
            self.engine
                .record_login(&user, pg_client(client), Some(session.id()), None);
            let (pid, key) = client.pid_and_secret_key();
            self.cancels.register(pid, key, &self.session.cancel);
            self.session.open(session).await;
        }
        Ok(())
    }
}
