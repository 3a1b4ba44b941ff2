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

use super::query::ConnectionSession;

#[derive(Debug)]
pub struct EngineAuthSource {
    pub engine: Engine,
}

fn auth_failed(user: &str) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "FATAL".to_string(),
        "28P01".to_string(),
        format!("password authentication failed for user \"{user}\""),
    )))
}

#[async_trait]
impl AuthSource for EngineAuthSource {
    async fn get_password(&self, login: &LoginInfo) -> PgWireResult<Password> {
        let user = login.user().unwrap_or_default();
        match self.engine.user_secret(user) {
            Ok(Some(secret)) => Ok(Password::new(Some(secret.salt), secret.salted_password)),
            Ok(None) => Err(auth_failed(user)),
            Err(e) => Err(super::encode::to_pg_error(e)),
        }
    }
}

/// SCRAM authentication, then the engine session for the authenticated user and database.
pub struct WeirStartupHandler {
    sasl: SASLAuthStartupHandler<DefaultServerParameterProvider>,
    engine: Engine,
    session: ConnectionSession,
}

impl WeirStartupHandler {
    pub fn new(
        sasl: SASLAuthStartupHandler<DefaultServerParameterProvider>,
        engine: Engine,
        session: ConnectionSession,
    ) -> Self {
        WeirStartupHandler {
            sasl,
            engine,
            session,
        }
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
        self.sasl.on_startup(client, message).await?;
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
            // psql and most drivers default the database to the user name; `admin` is no catalog.
            let database =
                database.filter(|d| *d != user || self.engine.catalog_exists(d).unwrap_or(false));
            let session = self
                .engine
                .new_session(&user, database.as_deref())
                .map_err(super::encode::to_pg_fatal)?;
            self.session.open(session).await;
        }
        Ok(())
    }
}
