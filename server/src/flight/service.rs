//! The Flight SQL service: each RPC authenticates its bearer token, then drives the token's engine
//! session exactly as the Postgres front drives a connection's session.

use std::pin::Pin;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::ipc::writer::IpcWriteOptions;
use arrow::record_batch::RecordBatch;
use arrow_flight::decode::FlightRecordBatchStream;
use arrow_flight::encode::{DictionaryHandling, FlightDataEncoderBuilder};
use arrow_flight::error::FlightError;
use arrow_flight::flight_service_server::FlightService;
use arrow_flight::sql::metadata::{
    GetDbSchemasBuilder, GetTablesBuilder, SqlInfoData, XdbcTypeInfoData,
};
use arrow_flight::sql::server::{FlightSqlService, PeekableFlightDataStream};
use arrow_flight::sql::{
    ActionCancelQueryRequest, ActionCancelQueryResult, ActionClosePreparedStatementRequest,
    ActionCreatePreparedStatementRequest, ActionCreatePreparedStatementResult, Any,
    CommandGetCatalogs, CommandGetDbSchemas, CommandGetPrimaryKeys, CommandGetSqlInfo,
    CommandGetTableTypes, CommandGetTables, CommandGetXdbcTypeInfo, CommandPreparedStatementQuery,
    CommandPreparedStatementUpdate, CommandStatementIngest, CommandStatementQuery,
    CommandStatementUpdate, DoPutPreparedStatementResult, ProstMessageExt, SqlInfo,
    TableExistsOption, TableNotExistOption, TicketStatementQuery,
};
use arrow_flight::{
    Action, CancelFlightInfoRequest, CancelFlightInfoResult, CancelStatus, FlightDescriptor,
    FlightEndpoint, FlightInfo, HandshakeRequest, HandshakeResponse, IpcMessage, SchemaAsIpc,
    Ticket,
};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::SendableRecordBatchStream;
use futures::{Stream, StreamExt, TryStreamExt};
use prost::Message;
use tokio_util::task::TaskTracker;
use tonic::metadata::MetadataValue;
use tonic::{Request, Response, Status, Streaming};
use weir_engine::{IngestMode, IngestTarget, StatementOutput, TABLE_TYPES};

use super::auth::{basic_credentials, FlightSession, PreparedEntry, TokenStore};
use super::results::{CancelOutcome, ResultStore};
use super::session_options as opts;
use super::status::{from_arrow, to_status};
use crate::front::running::Running;
use crate::front::statement::DescribedStatement;

type DoGetStream = <WeirFlightService as FlightService>::DoGetStream;
type DoActionStream = <WeirFlightService as FlightService>::DoActionStream;

pub struct WeirFlightService {
    pub(super) tokens: TokenStore,
    pub(super) results: Arc<ResultStore>,
    pub(super) sql_info: SqlInfoData,
    pub(super) xdbc: XdbcTypeInfoData,
    pub(super) inflight: TaskTracker,
}

fn schema_bytes(schema: &Schema) -> Result<prost::bytes::Bytes, Status> {
    let IpcMessage(bytes) = SchemaAsIpc::new(schema, &IpcWriteOptions::default())
        .try_into()
        .map_err(from_arrow)?;
    Ok(bytes)
}

fn ticket_handle(ticket: &TicketStatementQuery) -> Result<String, Status> {
    String::from_utf8(ticket.statement_handle.to_vec())
        .map_err(|_| Status::invalid_argument("malformed ticket"))
}

/// A FlightInfo whose one endpoint redeems `handle` with DoGet.
fn result_info(
    schema: &Schema,
    handle: String,
    descriptor: FlightDescriptor,
) -> Result<Response<FlightInfo>, Status> {
    let ticket = TicketStatementQuery {
        statement_handle: handle.into_bytes().into(),
    };
    let info = FlightInfo::new()
        .try_with_schema(schema)
        .map_err(from_arrow)?
        .with_endpoint(
            FlightEndpoint::new().with_ticket(Ticket::new(ticket.as_any().encode_to_vec())),
        )
        .with_descriptor(descriptor)
        .with_total_records(-1)
        .with_total_bytes(-1);
    Ok(Response::new(info))
}

/// A FlightInfo for a metadata command: DoGet answers the command itself.
fn command_info(
    schema: &Schema,
    command: impl ProstMessageExt,
    descriptor: FlightDescriptor,
) -> Result<Response<FlightInfo>, Status> {
    let info = FlightInfo::new()
        .try_with_schema(schema)
        .map_err(from_arrow)?
        .with_endpoint(
            FlightEndpoint::new().with_ticket(Ticket::new(command.as_any().encode_to_vec())),
        )
        .with_descriptor(descriptor);
    Ok(Response::new(info))
}

/// Streams one metadata batch.
fn batch_response(batch: RecordBatch) -> Response<DoGetStream> {
    let schema = batch.schema();
    let stream = FlightDataEncoderBuilder::new()
        .with_schema(schema)
        .build(futures::stream::once(async move { Ok(batch) }))
        .map_err(Status::from);
    Response::new(Box::pin(stream))
}

fn empty_result() -> SendableRecordBatchStream {
    let schema: SchemaRef = Arc::new(Schema::empty());
    Box::pin(RecordBatchStreamAdapter::new(
        schema,
        futures::stream::empty(),
    ))
}

/// The Arrow stream a DoPut carries after its descriptor.
async fn put_batches(
    request: Request<PeekableFlightDataStream>,
) -> Result<SendableRecordBatchStream, Status> {
    // A DoPut without data (a prepared update with no parameters) may carry only the
    // descriptor: a message with no IPC header is not part of the stream.
    let data = request
        .into_inner()
        .try_filter(|d| futures::future::ready(!d.data_header.is_empty()))
        .map_err(|s| FlightError::Tonic(Box::new(s)));
    let mut decoded = FlightRecordBatchStream::new_from_flight_data(data);
    let first = decoded.next().await.transpose().map_err(Status::from)?;
    let schema = match (&first, decoded.schema()) {
        (Some(b), _) => b.schema(),
        (None, Some(s)) => s.clone(),
        (None, None) => Arc::new(Schema::empty()),
    };
    let rest = decoded.map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)));
    let stream = futures::stream::iter(first.map(Ok)).chain(rest);
    Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
}

/// Every batch of a DoPut (prepared statement parameters are small).
async fn collect_put(
    request: Request<PeekableFlightDataStream>,
) -> Result<Vec<RecordBatch>, Status> {
    let stream = put_batches(request).await?;
    datafusion::physical_plan::common::collect(stream)
        .await
        .map_err(super::status::from_datafusion)
}

impl WeirFlightService {
    fn session<T>(&self, request: &Request<T>) -> Result<Arc<FlightSession>, Status> {
        self.tokens.authenticate(request.metadata())
    }

    /// Runs a query string and keeps its (last) result for DoGet.
    async fn start_query(
        &self,
        session: &FlightSession,
        sql: &str,
    ) -> Result<(SchemaRef, String), Status> {
        let _running = self.inflight.token();
        let mut engine = session.engine.lock().await;
        let (outputs, error) = engine.execute_sql(sql).await;
        drop(engine);
        if let Some(e) = error {
            return Err(to_status(e));
        }
        let stream = outputs
            .into_iter()
            .last()
            .and_then(StatementOutput::into_rows)
            .unwrap_or_else(empty_result);
        let schema = stream.schema();
        Ok((schema, self.results.insert(&session.user, stream)))
    }

    /// Cancels the results of a FlightInfo's endpoints (those of `user` only).
    fn cancel_info(&self, info: &FlightInfo, user: &str) -> CancelStatus {
        let cancelled = info.endpoint.iter().any(|ep| {
            ep.ticket
                .as_ref()
                .is_some_and(|t| self.cancel_ticket(&t.ticket, user) == CancelOutcome::Cancelled)
        });
        if cancelled {
            CancelStatus::Cancelled
        } else {
            CancelStatus::NotCancellable
        }
    }

    fn cancel_ticket(&self, ticket: &[u8], user: &str) -> CancelOutcome {
        let handle = Any::decode(ticket)
            .ok()
            .and_then(|any| any.unpack::<TicketStatementQuery>().ok().flatten())
            .and_then(|t| ticket_handle(&t).ok());
        match handle {
            Some(h) => self.results.cancel(&h, user),
            None => CancelOutcome::Unknown,
        }
    }

    fn set_session_options(
        &self,
        session: Arc<FlightSession>,
        body: &[u8],
    ) -> impl std::future::Future<Output = Result<opts::SetSessionOptionsResult, Status>> + Send
    {
        let request = opts::SetSessionOptionsRequest::decode(body)
            .map_err(|e| Status::invalid_argument(format!("malformed SetSessionOptions: {e}")));
        async move {
            let request = request?;
            let mut result = opts::SetSessionOptionsResult::default();
            let mut engine = session.engine.lock().await;
            // The catalog first: a schema set in the same call is looked up in it.
            let mut options: Vec<_> = request.session_options.into_iter().collect();
            options.sort_by_key(|(k, _)| k != opts::CATALOG);
            for (key, value) in options {
                let value = match value.option_value {
                    Some(opts::OptionValue::StringValue(s)) => Some(s),
                    _ => None,
                };
                let outcome = match (key.as_str(), value) {
                    (opts::CATALOG, Some(v)) => engine.set_catalog_option(&v).await.map_err(|e| {
                        tracing::debug!("SetSessionOptions catalog: {e}");
                        opts::SetSessionOptionError::InvalidValue
                    }),
                    (opts::SCHEMA, Some(v)) => engine.set_schema_option(&v).await.map_err(|e| {
                        tracing::debug!("SetSessionOptions schema: {e}");
                        opts::SetSessionOptionError::InvalidValue
                    }),
                    (opts::CATALOG | opts::SCHEMA, None) => {
                        Err(opts::SetSessionOptionError::InvalidValue)
                    }
                    _ => Err(opts::SetSessionOptionError::InvalidName),
                };
                if let Err(error) = outcome {
                    result.errors.insert(
                        key,
                        opts::SetSessionOptionsError {
                            value: error as i32,
                        },
                    );
                }
            }
            Ok(result)
        }
    }
}

/// Removes a redeemed result from the store when its stream is dropped.
struct FinishOnDrop {
    results: Arc<ResultStore>,
    handle: String,
}

impl Drop for FinishOnDrop {
    fn drop(&mut self) {
        self.results.finish(&self.handle);
    }
}

fn action_response(body: Vec<u8>) -> Response<DoActionStream> {
    let result = arrow_flight::Result { body: body.into() };
    Response::new(Box::pin(futures::stream::once(async { Ok(result) })))
}

#[tonic::async_trait]
impl FlightSqlService for WeirFlightService {
    type FlightService = WeirFlightService;

    async fn do_handshake(
        &self,
        request: Request<Streaming<HandshakeRequest>>,
    ) -> Result<
        Response<Pin<Box<dyn Stream<Item = Result<HandshakeResponse, Status>> + Send>>>,
        Status,
    > {
        let (user, password) = basic_credentials(request.metadata())?;
        let client = weir_engine::ClientInfo {
            protocol: weir_engine::Protocol::Flight,
            address: request.remote_addr(),
            user_agent: request
                .metadata()
                .get("user-agent")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        };
        let token = self.tokens.login(&user, &password, client).await?;
        let bearer = format!("Bearer {token}");
        let reply = HandshakeResponse {
            protocol_version: 0,
            payload: token.into_bytes().into(),
        };
        let mut response: Response<
            Pin<Box<dyn Stream<Item = Result<HandshakeResponse, Status>> + Send>>,
        > = Response::new(Box::pin(futures::stream::once(async { Ok(reply) })));
        response.metadata_mut().insert(
            "authorization",
            MetadataValue::try_from(bearer.as_str())
                .map_err(|_| Status::internal("token is not a valid header value"))?,
        );
        Ok(response)
    }

    async fn get_flight_info_statement(
        &self,
        query: CommandStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let session = self.session(&request)?;
        if query.transaction_id.is_some() {
            return Err(Status::unimplemented(
                "Weir has no Flight SQL transactions; every statement commits on its own",
            ));
        }
        let (schema, handle) = self.start_query(&session, &query.query).await?;
        result_info(&schema, handle, request.into_inner())
    }

    async fn get_flight_info_prepared_statement(
        &self,
        cmd: CommandPreparedStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let session = self.session(&request)?;
        let key = cmd.prepared_statement_handle.to_vec();
        let (prepared, params) = {
            let map = session.prepared.lock().unwrap_or_else(|p| p.into_inner());
            let entry = map
                .get(&key)
                .ok_or_else(|| Status::not_found("unknown prepared statement handle"))?;
            let rows: usize = entry.bound.iter().map(|b| b.num_rows()).sum();
            if rows > 1 {
                return Err(Status::invalid_argument(format!(
                    "a query runs with one row of parameters; {rows} rows were bound"
                )));
            }
            let params = match entry.bound.iter().find(|b| b.num_rows() == 1) {
                Some(batch) => Some(super::params::row_params(
                    batch,
                    0,
                    &entry.statement.param_types,
                )?),
                None if !entry.statement.param_types.is_empty() => {
                    return Err(Status::invalid_argument(format!(
                        "the statement has {} parameter(s) and none were bound",
                        entry.statement.param_types.len()
                    )))
                }
                None => None,
            };
            (entry.statement.prepared.clone(), params)
        };
        let _running = self.inflight.token();
        let mut engine = session.engine.lock().await;
        let output = engine
            .execute_prepared(&prepared, params)
            .await
            .map_err(to_status)?;
        drop(engine);
        // Flight's prepared statements are closed with ClosePreparedStatement; a SQL
        // DEALLOCATE has none of them to drop.
        let stream = output.into_rows().unwrap_or_else(empty_result);
        let schema = stream.schema();
        let handle = self.results.insert(&session.user, stream);
        result_info(&schema, handle, request.into_inner())
    }

    async fn do_get_statement(
        &self,
        ticket: TicketStatementQuery,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        let session = self.session(&request)?;
        let handle = ticket_handle(&ticket)?;
        let (stream, cancel) = self.results.redeem(&handle, &session.user)?;
        let schema = stream.schema();
        // Forgets the ticket when the stream ends or the client goes away.
        let finished = FinishOnDrop {
            results: self.results.clone(),
            handle,
        };
        let batches = Running::new(cancel, &self.inflight)
            .until_cancelled(stream)
            .map(move |batch| {
                // Held until the stream ends or the client goes away.
                let _ = &finished;
                batch.map_err(|e| FlightError::Tonic(Box::new(super::status::from_datafusion(e))))
            });
        let encoded = FlightDataEncoderBuilder::new()
            .with_schema(schema)
            .with_dictionary_handling(DictionaryHandling::Resend)
            .build(batches)
            .map_err(Status::from);
        Ok(Response::new(Box::pin(encoded)))
    }

    async fn do_put_statement_update(
        &self,
        cmd: CommandStatementUpdate,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        let session = self.session(&request)?;
        if cmd.transaction_id.is_some() {
            return Err(Status::unimplemented(
                "Weir has no Flight SQL transactions; every statement commits on its own",
            ));
        }
        let _running = self.inflight.token();
        let mut engine = session.engine.lock().await;
        let (outputs, error) = engine.execute_sql(&cmd.query).await;
        if let Some(e) = error {
            return Err(to_status(e));
        }
        Ok(outputs.iter().map(|o| o.affected_rows() as i64).sum())
    }

    async fn do_put_statement_ingest(
        &self,
        cmd: CommandStatementIngest,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        let session = self.session(&request)?;
        if cmd.temporary {
            return Err(Status::unimplemented(
                "temporary tables are not supported; ingest into a catalog table",
            ));
        }
        if cmd.transaction_id.is_some() {
            return Err(Status::unimplemented(
                "Weir has no Flight SQL transactions; an ingest is one commit on its own",
            ));
        }
        let options = cmd.table_definition_options.unwrap_or_default();
        let if_missing = TableNotExistOption::try_from(options.if_not_exist)
            .unwrap_or(TableNotExistOption::Unspecified);
        let if_exists = TableExistsOption::try_from(options.if_exists)
            .unwrap_or(TableExistsOption::Unspecified);
        let mode = match (if_missing, if_exists) {
            (TableNotExistOption::Create, TableExistsOption::Replace)
            | (TableNotExistOption::Unspecified, TableExistsOption::Replace) => IngestMode::Replace,
            (TableNotExistOption::Create, TableExistsOption::Append) => IngestMode::CreateAppend,
            (TableNotExistOption::Create, _) => IngestMode::Create,
            (_, TableExistsOption::Append) | (_, TableExistsOption::Unspecified) => {
                IngestMode::Append
            }
            (TableNotExistOption::Fail | TableNotExistOption::Unspecified, _) => {
                return Err(Status::invalid_argument(
                    "unsupported ingest options: the table must either be created or exist",
                ))
            }
        };
        let target = IngestTarget {
            catalog: cmd.catalog,
            schema: cmd.schema,
            table: cmd.table,
        };
        let input = put_batches(request).await?;
        let _running = self.inflight.token();
        let mut engine = session.engine.lock().await;
        let rows = engine
            .ingest(&target, mode, input)
            .await
            .map_err(to_status)?;
        Ok(rows as i64)
    }

    async fn do_action_create_prepared_statement(
        &self,
        query: ActionCreatePreparedStatementRequest,
        request: Request<Action>,
    ) -> Result<ActionCreatePreparedStatementResult, Status> {
        let session = self.session(&request)?;
        if query.transaction_id.is_some() {
            return Err(Status::unimplemented(
                "Weir has no Flight SQL transactions; every statement commits on its own",
            ));
        }
        let mut engine = session.engine.lock().await;
        let statement = DescribedStatement::prepare(&mut engine, &query.query)
            .await
            .map_err(to_status)?
            .ok_or_else(|| Status::invalid_argument("the statement is empty"))?;
        drop(engine);
        let dataset = statement
            .result
            .clone()
            .unwrap_or_else(|| Arc::new(Schema::empty()));
        let parameters = Schema::new(
            statement
                .param_types
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    Field::new(
                        format!("${}", i + 1),
                        t.clone().unwrap_or(DataType::Null),
                        true,
                    )
                })
                .collect::<Vec<_>>(),
        );
        let mut bytes = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
        let handle = bytes.to_vec();
        session
            .prepared
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                handle.clone(),
                PreparedEntry {
                    statement,
                    bound: vec![],
                },
            );
        Ok(ActionCreatePreparedStatementResult {
            prepared_statement_handle: handle.into(),
            dataset_schema: schema_bytes(&dataset)?,
            parameter_schema: schema_bytes(&parameters)?,
        })
    }

    async fn do_action_close_prepared_statement(
        &self,
        query: ActionClosePreparedStatementRequest,
        request: Request<Action>,
    ) -> Result<(), Status> {
        let session = self.session(&request)?;
        let removed = session
            .prepared
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(query.prepared_statement_handle.as_ref());
        removed
            .map(|_| ())
            .ok_or_else(|| Status::not_found("unknown prepared statement handle"))
    }

    async fn do_put_prepared_statement_query(
        &self,
        query: CommandPreparedStatementQuery,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<DoPutPreparedStatementResult, Status> {
        let session = self.session(&request)?;
        let batches = collect_put(request).await?;
        let mut map = session.prepared.lock().unwrap_or_else(|p| p.into_inner());
        let entry = map
            .get_mut(query.prepared_statement_handle.as_ref())
            .ok_or_else(|| Status::not_found("unknown prepared statement handle"))?;
        entry.bound = batches;
        Ok(DoPutPreparedStatementResult {
            prepared_statement_handle: Some(query.prepared_statement_handle),
        })
    }

    async fn do_put_prepared_statement_update(
        &self,
        query: CommandPreparedStatementUpdate,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        let session = self.session(&request)?;
        let sent = collect_put(request).await?;
        let (prepared, types, has_result, batches) = {
            let map = session.prepared.lock().unwrap_or_else(|p| p.into_inner());
            let entry = map
                .get(query.prepared_statement_handle.as_ref())
                .ok_or_else(|| Status::not_found("unknown prepared statement handle"))?;
            // Parameters come with the update (ADBC) or were bound before it (arrow-rs, JDBC).
            let batches = if sent.iter().any(|b| b.num_columns() > 0) {
                sent
            } else {
                entry.bound.clone()
            };
            (
                entry.statement.prepared.clone(),
                entry.statement.param_types.clone(),
                entry.statement.result.is_some(),
                batches,
            )
        };
        if has_result {
            return Err(Status::invalid_argument(
                "the statement returns rows; execute it as a query",
            ));
        }
        let _running = self.inflight.token();
        let mut engine = session.engine.lock().await;
        let mut runs = Vec::new();
        for batch in batches.iter().filter(|b| b.num_rows() > 0) {
            for row in 0..batch.num_rows() {
                runs.push(Some(super::params::row_params(batch, row, &types)?));
            }
        }
        if runs.is_empty() {
            if !types.is_empty() {
                return Err(Status::invalid_argument(format!(
                    "the statement has {} parameter(s) and none were bound",
                    types.len()
                )));
            }
            runs.push(None);
        }
        // One execution (one commit) per parameter row, as JDBC batches do.
        let mut total = 0i64;
        for params in runs {
            let output = engine
                .execute_prepared(&prepared, params)
                .await
                .map_err(to_status)?;
            total += output.affected_rows() as i64;
        }
        Ok(total)
    }

    async fn get_flight_info_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.session(&request)?;
        let schema = query.into_builder().schema();
        command_info(&schema, query, request.into_inner())
    }

    async fn do_get_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        let session = self.session(&request)?;
        let names = session
            .engine
            .lock()
            .await
            .list_catalogs()
            .map_err(to_status)?;
        let mut builder = query.into_builder();
        for name in names {
            builder.append(name);
        }
        Ok(batch_response(builder.build().map_err(Status::from)?))
    }

    async fn get_flight_info_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.session(&request)?;
        let schema = query.clone().into_builder().schema();
        command_info(&schema, query, request.into_inner())
    }

    async fn do_get_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        let session = self.session(&request)?;
        let catalog = query.catalog.clone();
        let schemas = session
            .engine
            .lock()
            .await
            .list_schemas(catalog.as_deref().filter(|c| !c.is_empty()))
            .map_err(to_status)?;
        let mut builder = GetDbSchemasBuilder::new(catalog, query.db_schema_filter_pattern.clone());
        for (c, s) in schemas {
            builder.append(c, s);
        }
        Ok(batch_response(builder.build().map_err(Status::from)?))
    }

    async fn get_flight_info_tables(
        &self,
        query: CommandGetTables,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.session(&request)?;
        let schema = query.clone().into_builder().schema();
        command_info(&schema, query, request.into_inner())
    }

    async fn do_get_tables(
        &self,
        query: CommandGetTables,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        let session = self.session(&request)?;
        let tables = session
            .engine
            .lock()
            .await
            .list_tables(
                query.catalog.as_deref().filter(|c| !c.is_empty()),
                query.include_schema,
            )
            .map_err(to_status)?;
        let mut builder: GetTablesBuilder = query.into_builder();
        let no_columns = Schema::empty();
        for t in tables {
            let schema = match &t.arrow_schema {
                Some(s) => super::metadata::with_column_metadata(s, &t.column_details),
                None => no_columns.clone(),
            };
            builder
                .append(&t.catalog, &t.schema, &t.name, t.table_type, &schema)
                .map_err(Status::from)?;
        }
        Ok(batch_response(builder.build().map_err(Status::from)?))
    }

    async fn get_flight_info_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.session(&request)?;
        let schema = query.into_builder().schema();
        command_info(&schema, query, request.into_inner())
    }

    async fn do_get_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        self.session(&request)?;
        let mut builder = query.into_builder();
        for t in TABLE_TYPES {
            builder.append(t);
        }
        Ok(batch_response(builder.build().map_err(Status::from)?))
    }

    async fn get_flight_info_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.session(&request)?;
        command_info(&self.sql_info.schema(), query, request.into_inner())
    }

    async fn do_get_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        self.session(&request)?;
        let batch = query
            .into_builder(&self.sql_info)
            .build()
            .map_err(Status::from)?;
        Ok(batch_response(batch))
    }

    async fn get_flight_info_xdbc_type_info(
        &self,
        query: CommandGetXdbcTypeInfo,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.session(&request)?;
        command_info(&self.xdbc.schema(), query, request.into_inner())
    }

    async fn do_get_xdbc_type_info(
        &self,
        query: CommandGetXdbcTypeInfo,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        self.session(&request)?;
        let batch = query
            .into_builder(&self.xdbc)
            .build()
            .map_err(Status::from)?;
        Ok(batch_response(batch))
    }

    async fn get_flight_info_primary_keys(
        &self,
        query: CommandGetPrimaryKeys,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.session(&request)?;
        command_info(
            &super::metadata::primary_keys_schema(),
            query,
            request.into_inner(),
        )
    }

    async fn do_get_primary_keys(
        &self,
        _query: CommandGetPrimaryKeys,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        self.session(&request)?;
        let batch = RecordBatch::new_empty(super::metadata::primary_keys_schema());
        Ok(batch_response(batch))
    }

    async fn do_action_cancel_query(
        &self,
        query: ActionCancelQueryRequest,
        request: Request<Action>,
    ) -> Result<ActionCancelQueryResult, Status> {
        let session = self.session(&request)?;
        let info = FlightInfo::decode(query.info)
            .map_err(|e| Status::invalid_argument(format!("malformed FlightInfo: {e}")))?;
        // `ActionCancelQueryResult.CancelResult` (not re-exported by arrow-flight): 1 is
        // CANCELLED, 3 NOT_CANCELLABLE — the same numbers as Flight's `CancelStatus`.
        let status = self.cancel_info(&info, &session.user);
        Ok(ActionCancelQueryResult {
            result: status as i32,
        })
    }

    async fn do_action_fallback(
        &self,
        request: Request<Action>,
    ) -> Result<Response<DoActionStream>, Status> {
        let session = self.session(&request)?;
        let action = request.get_ref();
        match action.r#type.as_str() {
            "CancelFlightInfo" => {
                let cancel =
                    CancelFlightInfoRequest::decode(action.body.as_ref()).map_err(|e| {
                        Status::invalid_argument(format!("malformed CancelFlightInfoRequest: {e}"))
                    })?;
                let info = cancel.info.ok_or_else(|| {
                    Status::invalid_argument("CancelFlightInfo needs the FlightInfo")
                })?;
                let status = self.cancel_info(&info, &session.user);
                Ok(action_response(
                    CancelFlightInfoResult {
                        status: status as i32,
                    }
                    .encode_to_vec(),
                ))
            }
            opts::SET_SESSION_OPTIONS => {
                let result = self
                    .set_session_options(session.clone(), action.body.as_ref())
                    .await?;
                Ok(action_response(result.encode_to_vec()))
            }
            opts::GET_SESSION_OPTIONS => {
                let engine = session.engine.lock().await;
                let mut result = opts::GetSessionOptionsResult::default();
                result.session_options.insert(
                    opts::CATALOG.to_string(),
                    opts::string_value(engine.current_catalog()),
                );
                result.session_options.insert(
                    opts::SCHEMA.to_string(),
                    opts::string_value(engine.current_schema()),
                );
                Ok(action_response(result.encode_to_vec()))
            }
            opts::CLOSE_SESSION => {
                self.tokens.close(request.metadata());
                Ok(action_response(
                    opts::CloseSessionResult {
                        status: opts::CloseSessionStatus::Closed as i32,
                    }
                    .encode_to_vec(),
                ))
            }
            other => Err(Status::unimplemented(format!("unknown action '{other}'"))),
        }
    }

    async fn register_sql_info(&self, _id: i32, _result: &SqlInfo) {}
}
