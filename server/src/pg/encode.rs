//! Engine results and errors as Postgres wire responses.

use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use arrow_pg::datatypes::{arrow_schema_to_pg_fields, encode_recordbatch};
use futures::{stream, StreamExt};
use pgwire::api::portal::Format;
use pgwire::api::results::{FieldInfo, QueryResponse, Response, Tag};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::data::DataRow;
use weir_engine::{EngineError, StatementKind, StatementOutput};

use super::tags::command_tag;
use crate::front::running::Running;

pub fn error_info(e: EngineError) -> Box<ErrorInfo> {
    Box::new(ErrorInfo::new(
        "ERROR".into(),
        e.sqlstate().into(),
        e.to_string(),
    ))
}

pub fn to_pg_error(e: EngineError) -> PgWireError {
    PgWireError::UserError(error_info(e))
}

pub fn to_pg_fatal(e: EngineError) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "FATAL".into(),
        e.sqlstate().into(),
        e.to_string(),
    )))
}

pub fn fields_for(
    schema: &arrow::datatypes::Schema,
    format: &Format,
) -> PgWireResult<Vec<FieldInfo>> {
    arrow_schema_to_pg_fields(&pg_schema(schema), format, None)
}

/// PostgreSQL has no map type: a map column is sent as its JSON text (`{"a":1}`), as
/// Databricks' JDBC driver shows maps.
fn pg_schema(schema: &arrow::datatypes::Schema) -> arrow::datatypes::Schema {
    use arrow::datatypes::{DataType, Field};
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Map(..) => Field::new(f.name(), DataType::Utf8, f.is_nullable()),
            _ => f.as_ref().clone(),
        })
        .collect();
    arrow::datatypes::Schema::new_with_metadata(fields, schema.metadata().clone())
}

/// `batch` with its map columns as JSON text (see `pg_schema`).
fn pg_batch(batch: RecordBatch) -> datafusion::error::Result<RecordBatch> {
    use arrow::datatypes::DataType;
    if !batch
        .schema()
        .fields()
        .iter()
        .any(|f| matches!(f.data_type(), DataType::Map(..)))
    {
        return Ok(batch);
    }
    let columns = batch
        .columns()
        .iter()
        .map(|c| match c.data_type() {
            DataType::Map(..) => weir_udfs::spark::json_text(c, true),
            _ => Ok(c.clone()),
        })
        .collect::<datafusion::error::Result<Vec<_>>>()?;
    Ok(RecordBatch::try_new(
        Arc::new(pg_schema(batch.schema().as_ref())),
        columns,
    )?)
}

/// Streams a result set batch by batch: rows are encoded as batches arrive, so a large result
/// never sits in memory.
pub fn to_response(
    output: StatementOutput,
    format: &Format,
    running: Running,
) -> PgWireResult<Response> {
    match output {
        // The statements themselves are dropped from pgwire's store by the handler.
        StatementOutput::Deallocate { name } => Ok(Response::Execution(Tag::new(match name {
            Some(_) => "DEALLOCATE",
            None => "DEALLOCATE ALL",
        }))),
        StatementOutput::Command { kind, rows } => {
            let mut tag = Tag::new(command_tag(kind));
            // Statements commit on their own; BEGIN/COMMIT still move the protocol's transaction
            // status so drivers that track it ('I'/'T') behave.
            match kind {
                StatementKind::Begin => return Ok(Response::TransactionStart(tag)),
                StatementKind::Commit | StatementKind::Rollback => {
                    return Ok(Response::TransactionEnd(tag))
                }
                StatementKind::Insert => tag = tag.with_oid(0),
                _ => {}
            }
            if let Some(n) = rows {
                tag = tag.with_rows(n as usize);
            }
            Ok(Response::Execution(tag))
        }
        StatementOutput::Summary {
            stream,
            kind,
            affected,
        } => {
            let mut response = to_response(StatementOutput::Rows(stream), format, running)?;
            if let Response::Query(rows) = &mut response {
                // Sent verbatim by `send_rows`: the count is what the command affected.
                rows.command_tag = format!("{} {affected}", command_tag(kind));
            }
            Ok(response)
        }
        StatementOutput::Rows(batches) => {
            let fields = Arc::new(fields_for(batches.schema().as_ref(), format)?);
            let fields_ref = fields.clone();
            let rows = running
                .until_cancelled(batches)
                .map(move |rb: datafusion::error::Result<RecordBatch>| {
                    let rows: Box<dyn Iterator<Item = PgWireResult<DataRow>> + Send + Sync> =
                        match rb.and_then(pg_batch) {
                            Ok(rb) => encode_recordbatch(fields_ref.clone(), rb),
                            Err(e) => {
                                Box::new(std::iter::once(Err(to_pg_error(EngineError::from(e)))))
                            }
                        };
                    stream::iter(rows)
                })
                .flatten();
            Ok(Response::Query(QueryResponse::new(fields, rows)))
        }
    }
}
