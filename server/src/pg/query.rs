//! Simple and extended query protocol on top of an engine session.

use std::fmt::Debug;
use std::sync::Arc;

use arrow::datatypes::DataType;
use async_trait::async_trait;
use futures::Sink;
use futures::{SinkExt, StreamExt};
use pgwire::api::portal::PortalExecutionState;
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{send_execution_response, send_ready_for_query};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::{FieldInfo, QueryResponse, Response, Tag};
use pgwire::api::stmt::{QueryParser, StoredStatement};
use pgwire::api::store::Entry;
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, PgWireConnectionState, Type, DEFAULT_NAME};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::data::RowDescription;
use pgwire::messages::extendedquery::Execute;
use pgwire::messages::response::{CommandComplete, EmptyQueryResponse};
use pgwire::messages::simplequery::Query;
use pgwire::messages::PgWireBackendMessage;
use tokio::sync::Mutex;
use tokio_util::task::TaskTracker;
use weir_engine::Session;

use super::cancel::StatementCancel;
use super::encode::{error_info, fields_for, to_pg_error, to_response};
use crate::front::running::Running;
use crate::front::statement::DescribedStatement;

/// The engine session of one connection, opened once authentication succeeds.
#[derive(Clone)]
pub struct ConnectionSession {
    session: Arc<Mutex<Option<Session>>>,
    pub cancel: Arc<StatementCancel>,
    /// Running statements of the whole server, for graceful shutdown.
    inflight: TaskTracker,
}

impl ConnectionSession {
    pub fn new(inflight: TaskTracker) -> Self {
        ConnectionSession {
            session: Arc::default(),
            cancel: Arc::default(),
            inflight,
        }
    }

    pub async fn open(&self, session: Session) {
        *self.session.lock().await = Some(session);
    }

    pub async fn is_open(&self) -> bool {
        self.session.lock().await.is_some()
    }
}

fn no_session() -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "FATAL".into(),
        "08P01".into(),
        "no session: the connection is not authenticated".into(),
    )))
}

/// A prepared statement as pgwire stores it.
pub type PgStatement = DescribedStatement;

pub struct WeirQueryHandler {
    session: ConnectionSession,
    parser: Arc<WeirQueryParser>,
}

impl WeirQueryHandler {
    pub fn new(session: ConnectionSession) -> Self {
        WeirQueryHandler {
            parser: Arc::new(WeirQueryParser {
                session: session.clone(),
            }),
            session,
        }
    }
}

/// Sends a result set like pgwire's `send_query_response`, except that a command tag which already
/// carries its count (`MERGE 5`: the rows a MERGE affected, not the one summary row sent) is sent
/// as is. pgwire always derives the count from the rows sent.
async fn send_rows<C>(client: &mut C, results: QueryResponse, describe: bool) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let QueryResponse {
        command_tag,
        row_schema,
        mut data_rows,
        ..
    } = results;
    if describe {
        let fields = row_schema.iter().map(Into::into).collect();
        client
            .feed(PgWireBackendMessage::RowDescription(RowDescription::new(
                fields,
            )))
            .await?;
    }
    let mut sent = 0usize;
    while let Some(row) = data_rows.next().await {
        client.feed(PgWireBackendMessage::DataRow(row?)).await?;
        sent += 1;
    }
    let complete = if command_tag.contains(' ') {
        CommandComplete::new(command_tag)
    } else {
        Tag::new(&command_tag).with_rows(sent).into()
    };
    client
        .feed(PgWireBackendMessage::CommandComplete(complete))
        .await?;
    Ok(())
}

#[async_trait]
impl SimpleQueryHandler for WeirQueryHandler {
    /// pgwire's `_on_query`, with result sets sent by [`send_rows`]. (COPY responses are never
    /// produced; cancellation is Weir's own, see `cancel.rs`.)
    async fn on_query<C>(&self, client: &mut C, query: Query) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            return Err(PgWireError::NotReadyForQuery);
        }
        let mut status = client.transaction_status();
        client.set_state(PgWireConnectionState::QueryInProgress);
        if query.query.chars().all(|c| c == ';' || c.is_whitespace()) {
            client
                .feed(PgWireBackendMessage::EmptyQueryResponse(
                    EmptyQueryResponse::new(),
                ))
                .await?;
        } else {
            for response in SimpleQueryHandler::do_query(self, client, &query.query).await? {
                match response {
                    Response::EmptyQuery => {
                        client
                            .feed(PgWireBackendMessage::EmptyQueryResponse(
                                EmptyQueryResponse::new(),
                            ))
                            .await?
                    }
                    Response::Query(rows) => send_rows(client, rows, true).await?,
                    Response::Execution(tag) => send_execution_response(client, tag).await?,
                    Response::TransactionStart(tag) => {
                        send_execution_response(client, tag).await?;
                        status = status.to_in_transaction_state();
                    }
                    Response::TransactionEnd(tag) => {
                        send_execution_response(client, tag).await?;
                        status = status.to_idle_state();
                    }
                    Response::Error(e) => {
                        client
                            .feed(PgWireBackendMessage::ErrorResponse((*e).into()))
                            .await?;
                        status = status.to_error_state();
                    }
                    _ => {
                        return Err(PgWireError::UserError(Box::new(ErrorInfo::new(
                            "ERROR".into(),
                            "0A000".into(),
                            "COPY is not supported".into(),
                        ))))
                    }
                }
            }
        }
        client.set_state(PgWireConnectionState::ReadyForQuery);
        client.set_transaction_status(status);
        send_ready_for_query(client, status).await
    }

    async fn do_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let mut guard = self.session.session.lock().await;
        let session = guard.as_mut().ok_or_else(no_session)?;
        let cancel = self.session.cancel.begin();
        session.set_interrupt(cancel.clone());
        let running = Running::new(cancel, &self.session.inflight);
        let (sink, mut notices) = tokio::sync::mpsc::unbounded_channel();
        session.set_notice_sink(Some(sink));
        let dialect = session.dialect();
        let executed = with_notices(client, &mut notices, session.execute_sql(query)).await;
        session.set_notice_sink(None);
        report_dialect(client, dialect, session.dialect()).await?;
        let (outputs, error) = executed?;
        let mut responses = Vec::with_capacity(outputs.len() + 1);
        for o in outputs {
            drop_deallocated(client, &o);
            responses.push(to_response(o, &Format::UnifiedText, running.clone())?);
        }
        if let Some(e) = error {
            // Earlier statements' results are sent, then the error, as PostgreSQL does.
            responses.push(Response::Error(error_info(e)));
        }
        Ok(responses)
    }
}

/// After a statement changed the session's SQL dialect (`SET weir.dialect`): tells the client
/// whether a backslash in a string literal is still an escape, as PostgreSQL reports a change
/// of `standard_conforming_strings`, so that drivers quoting literals themselves follow.
async fn report_dialect<C>(
    client: &mut C,
    before: weir_engine::SqlDialect,
    after: weir_engine::SqlDialect,
) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    if before != after {
        let value = if after.backslash_escapes() {
            "off"
        } else {
            "on"
        };
        client
            .send(PgWireBackendMessage::ParameterStatus(
                pgwire::messages::startup::ParameterStatus::new(
                    "standard_conforming_strings".into(),
                    value.into(),
                ),
            ))
            .await?;
    }
    Ok(())
}

/// Drives `work` while sending the notices it raises (a procedure's progress) to the client as
/// they come, so that psql shows them while the statement runs.
async fn with_notices<C, T>(
    client: &mut C,
    notices: &mut tokio::sync::mpsc::UnboundedReceiver<weir_engine::Notice>,
    work: impl std::future::Future<Output = T>,
) -> PgWireResult<T>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let notice = |n: weir_engine::Notice| {
        PgWireBackendMessage::NoticeResponse(
            ErrorInfo::new("NOTICE".into(), "00000".into(), n.message).into(),
        )
    };
    tokio::pin!(work);
    let result = 'run: loop {
        let n = tokio::select! {
            result = &mut work => break 'run result,
            Some(n) = notices.recv() => n,
        };
        // The statement goes on while a slow client takes the notice (a cancel still
        // reaches it).
        let send = async { client.send(notice(n)).await.map_err(PgWireError::from) };
        tokio::pin!(send);
        tokio::select! {
            sent = &mut send => sent?,
            result = &mut work => {
                send.await?;
                break 'run result;
            }
        }
    };
    while let Ok(n) = notices.try_recv() {
        client.feed(notice(n)).await?;
    }
    Ok(result)
}

/// `DEALLOCATE name` drops the statement from pgwire's store, where the protocol keeps
/// prepared statements. `DEALLOCATE ALL` (psycopg sends it after DDL) keeps them, which is
/// harmless as drivers never reuse a deallocated name.
fn drop_deallocated<C>(client: &mut C, output: &weir_engine::StatementOutput)
where
    C: ClientPortalStore,
    C::PortalStore: PortalStore,
{
    if let weir_engine::StatementOutput::Deallocate { name: Some(name) } = output {
        client.portal_store().rm_statement(name);
    }
}

pub struct WeirQueryParser {
    session: ConnectionSession,
}

#[async_trait]
impl QueryParser for WeirQueryParser {
    type Statement = PgStatement;

    async fn parse_sql<C>(
        &self,
        _client: &C,
        sql: &str,
        _types: &[Option<Type>],
    ) -> PgWireResult<Option<PgStatement>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let mut guard = self.session.session.lock().await;
        let session = guard.as_mut().ok_or_else(no_session)?;
        DescribedStatement::prepare(session, sql)
            .await
            .map_err(to_pg_error)
    }

    fn get_parameter_types(&self, stmt: &PgStatement) -> PgWireResult<Vec<Type>> {
        stmt.param_types
            .iter()
            .map(|t| match t {
                Some(t) => arrow_pg::datatypes::into_pg_type(t),
                None => Ok(Type::UNKNOWN),
            })
            .collect()
    }

    fn get_result_schema(
        &self,
        stmt: &PgStatement,
        format: Option<&Format>,
    ) -> PgWireResult<Vec<FieldInfo>> {
        match &stmt.result {
            Some(s) => fields_for(s, format.unwrap_or(&Format::UnifiedText)),
            None => Ok(vec![]),
        }
    }
}

#[async_trait]
impl ExtendedQueryHandler for WeirQueryHandler {
    type Statement = PgStatement;
    type QueryParser = WeirQueryParser;

    fn query_parser(&self) -> Arc<WeirQueryParser> {
        self.parser.clone()
    }

    /// Execute without a row limit streams the result. pgwire's default collects every row of
    /// such an Execute into memory before sending; with a row limit (portal suspension) it is
    /// bounded by the limit, so that case keeps pgwire's handling.
    async fn on_execute<C>(&self, client: &mut C, message: Execute) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if message.max_rows > 0 {
            return self._on_execute(client, message).await;
        }
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME).to_string();
        let portal = match client.portal_store().get_portal(&name) {
            Some(Entry::Value(p)) => p,
            _ => return self._on_execute(client, message).await,
        };
        if !matches!(*portal.state().lock().await, PortalExecutionState::Initial) {
            return self._on_execute(client, message).await;
        }
        if !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            return Err(PgWireError::NotReadyForQuery);
        }
        client.set_state(PgWireConnectionState::QueryInProgress);
        let mut status = client.transaction_status();
        let response = ExtendedQueryHandler::do_query(self, client, portal.as_ref(), 0).await;
        *portal.state().lock().await = PortalExecutionState::Finished;
        let sent = match response {
            Ok(Response::Query(rows)) => send_rows(client, rows, false).await,
            Ok(Response::Execution(tag)) => send_execution_response(client, tag).await,
            Ok(Response::TransactionStart(tag)) => {
                status = status.to_in_transaction_state();
                send_execution_response(client, tag).await
            }
            Ok(Response::TransactionEnd(tag)) => {
                status = status.to_idle_state();
                send_execution_response(client, tag).await
            }
            Ok(Response::EmptyQuery) => client
                .feed(PgWireBackendMessage::EmptyQueryResponse(
                    EmptyQueryResponse::new(),
                ))
                .await
                .map_err(Into::into),
            Ok(Response::Error(e)) => {
                status = status.to_error_state();
                client
                    .send(PgWireBackendMessage::ErrorResponse((*e).into()))
                    .await
                    .map_err(Into::into)
            }
            Ok(_) => Err(PgWireError::UserError(Box::new(ErrorInfo::new(
                "ERROR".into(),
                "0A000".into(),
                "COPY is not supported".into(),
            )))),
            Err(e) => Err(e),
        };
        client.set_state(PgWireConnectionState::ReadyForQuery);
        client.set_transaction_status(status);
        sent
    }

    async fn do_query<C>(
        &self,
        client: &mut C,
        portal: &Portal<PgStatement>,
        _max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        // Row limits (`max_rows`) are applied by pgwire, which suspends the portal's stream.
        let stmt = &portal.statement.statement;
        let params = if stmt.param_types.is_empty() {
            None
        } else {
            let inferred: Vec<Option<&DataType>> =
                stmt.param_types.iter().map(|t| t.as_ref()).collect();
            Some(arrow_pg::datatypes::df::deserialize_parameters(
                portal, &inferred,
            )?)
        };
        let mut guard = self.session.session.lock().await;
        let session = guard.as_mut().ok_or_else(no_session)?;
        let cancel = self.session.cancel.begin();
        session.set_interrupt(cancel.clone());
        let running = Running::new(cancel, &self.session.inflight);
        let (sink, mut notices) = tokio::sync::mpsc::unbounded_channel();
        session.set_notice_sink(Some(sink));
        let dialect = session.dialect();
        let executed = with_notices(
            client,
            &mut notices,
            session.execute_prepared(&stmt.prepared, params),
        )
        .await;
        session.set_notice_sink(None);
        report_dialect(client, dialect, session.dialect()).await?;
        let output = executed?.map_err(to_pg_error)?;
        // A declared cursor is also a protocol-level portal in PostgreSQL: drivers (psycopg's
        // named cursors) send Describe Portal for it. Register one that fetches from it.
        if let Some(name) = stmt.prepared.declared_cursor() {
            let fetch = session.prepare_cursor_fetch(name).map_err(to_pg_error)?;
            let statement = DescribedStatement::describe(session, fetch)
                .await
                .map_err(to_pg_error)?;
            let stored = StoredStatement::new(name.to_string(), statement, vec![]);
            client
                .portal_store()
                .put_portal(Arc::new(Portal::new_cursor(
                    name.to_string(),
                    Arc::new(stored),
                )));
        }
        drop_deallocated(client, &output);
        match stmt.prepared.closed_cursor() {
            Some(Some(name)) => client.portal_store().rm_portal(name),
            Some(None) => client.portal_store().clear_portals(),
            None => {}
        }
        to_response(output, &portal.result_column_format, running)
    }
}
