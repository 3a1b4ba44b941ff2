//! A Flight SQL client for tests (arrow-flight's `FlightSqlServiceClient`), and Arrow values
//! rendered as PostgreSQL's text format so the same `.slt` files run over both fronts.

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use arrow_flight::error::FlightError;
use arrow_flight::sql::client::FlightSqlServiceClient;
use arrow_flight::FlightInfo;
use futures::TryStreamExt;
use tonic::transport::Channel;

use crate::server::{WeirServer, PASSWORD};

pub type Client = FlightSqlServiceClient<Channel>;

pub async fn channel(port: u16) -> Channel {
    Channel::from_shared(format!("http://127.0.0.1:{port}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect to the Flight port")
}

/// A client authenticated as `user`.
pub async fn connect_as(port: u16, user: &str, password: &str) -> Result<Client, FlightError> {
    let mut client = FlightSqlServiceClient::new(channel(port).await);
    client.handshake(user, password).await?;
    Ok(client)
}

/// A client authenticated as the admin.
pub async fn connect(server: &WeirServer) -> Client {
    connect_as(server.flight_port, "admin", PASSWORD)
        .await
        .expect("handshake as admin")
}

/// Every batch of every endpoint of `info`.
pub async fn fetch(client: &mut Client, info: FlightInfo) -> Result<Vec<RecordBatch>, FlightError> {
    let mut out = Vec::new();
    for endpoint in info.endpoint {
        let ticket = endpoint.ticket.expect("endpoint ticket");
        let stream = client.do_get(ticket).await?;
        out.extend(stream.try_collect::<Vec<_>>().await?);
    }
    Ok(out)
}

/// Runs a query and returns its batches.
pub async fn query(client: &mut Client, sql: &str) -> Result<Vec<RecordBatch>, FlightError> {
    let info = client.execute(sql.to_string(), None).await?;
    fetch(client, info).await
}

pub fn status(e: &FlightError) -> &tonic::Status {
    match e {
        FlightError::Tonic(s) => s,
        other => panic!("expected a gRPC status, got {other}"),
    }
}

/// The SQLSTATE the server attached to an error.
pub fn sqlstate(e: &FlightError) -> Option<String> {
    match e {
        FlightError::Tonic(s) => s
            .metadata()
            .get("x-sqlstate")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        _ => None,
    }
}

pub fn rows_text(batches: &[RecordBatch]) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for b in batches {
        for r in 0..b.num_rows() {
            rows.push(b.columns().iter().map(|c| pg_text(c, r)).collect());
        }
    }
    rows
}

/// A value as PostgreSQL's text format writes it (what psql shows), with sqllogictest's
/// conventions for NULL and the empty string.
pub fn pg_text(array: &ArrayRef, row: usize) -> String {
    if array.is_null(row) {
        return "NULL".into();
    }
    let text = value_text(array, row);
    if text.is_empty() {
        "(empty)".into()
    } else {
        text
    }
}

fn value_text(array: &ArrayRef, row: usize) -> String {
    match array.data_type() {
        DataType::Boolean => if array.as_boolean().value(row) {
            "t"
        } else {
            "f"
        }
        .into(),
        DataType::List(_) | DataType::LargeList(_) => {
            let values = match array.data_type() {
                DataType::List(_) => array.as_list::<i32>().value(row),
                _ => array.as_list::<i64>().value(row),
            };
            let items: Vec<String> = (0..values.len())
                .map(|i| {
                    if values.is_null(i) {
                        "NULL".to_string()
                    } else {
                        value_text(&values, i)
                    }
                })
                .collect();
            format!("{{{}}}", items.join(","))
        }
        // As the Postgres front sends a map: JSON text.
        DataType::Map(..) => {
            let field = std::sync::Arc::new(arrow::datatypes::Field::new(
                "value",
                array.data_type().clone(),
                true,
            ));
            let options = arrow::json::writer::EncoderOptions::default().with_explicit_nulls(true);
            let mut encoder = arrow::json::writer::make_encoder(&field, array.as_ref(), &options)
                .expect("a JSON encoder for a map");
            let mut out = Vec::new();
            encoder.encode(row, &mut out);
            String::from_utf8(out).expect("JSON is UTF-8")
        }
        DataType::Timestamp(_, tz) => {
            let options = FormatOptions::default()
                .with_timestamp_format(Some("%Y-%m-%d %H:%M:%S%.f"))
                .with_timestamp_tz_format(Some("%Y-%m-%d %H:%M:%S%.f%:z"));
            let f = ArrayFormatter::try_new(array.as_ref(), &options).expect("formatter");
            let _ = tz;
            f.value(row).to_string()
        }
        _ => {
            let f = ArrayFormatter::try_new(array.as_ref(), &FormatOptions::default())
                .expect("formatter");
            f.value(row).to_string()
        }
    }
}

/// CancelFlightInfo (what arrow-flight's plain `FlightClient` sends).
pub async fn cancel(
    client: &mut Client,
    info: FlightInfo,
) -> Result<arrow_flight::CancelFlightInfoResult, FlightError> {
    use prost::Message;
    let request = arrow_flight::CancelFlightInfoRequest::new(info);
    let action = arrow_flight::Action::new("CancelFlightInfo", request.encode_to_vec());
    let reply = client
        .do_action(action)
        .await?
        .try_next()
        .await?
        .ok_or_else(|| FlightError::protocol("no reply to CancelFlightInfo"))?;
    arrow_flight::CancelFlightInfoResult::decode(reply.body)
        .map_err(|e| FlightError::DecodeError(e.to_string()))
}
