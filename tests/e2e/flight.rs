//! Flight SQL behaviour through arrow-flight's `FlightSqlServiceClient`: authentication, tickets,
//! updates, prepared statements, bulk ingest, metadata, cancellation, errors and Arrow types.

use std::sync::Arc;
use std::time::Duration;

use arrow::array::{
    Array, ArrayRef, Decimal128Array, Int32Array, Int64Array, ListArray, StringArray, StructArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Int32Type, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;
use arrow_flight::error::FlightError;
use arrow_flight::sql::client::FlightSqlServiceClient;
use arrow_flight::sql::{
    CommandGetDbSchemas, CommandGetPrimaryKeys, CommandGetTables, CommandGetXdbcTypeInfo,
    CommandStatementIngest, SqlInfo, TableDefinitionOptions, TableExistsOption,
    TableNotExistOption,
};
use arrow_flight::{CancelStatus, IpcMessage};
use futures::TryStreamExt;
use tonic::Code;

use crate::flight_client::{self, connect, connect_as, fetch, query, rows_text, sqlstate, status};
use crate::server::WeirServer;

fn code(e: &FlightError) -> Code {
    status(e).code()
}

/// A refused handshake: arrow-flight's client reports it as an Arrow error with the status text.
fn assert_handshake_refused(e: FlightError) {
    let text = e.to_string();
    assert!(
        text.contains("password authentication failed")
            && text.contains("authentication credentials"),
        "{text}"
    );
}

/// The type with list item names dropped: Delta names list items `element`, Arrow `item`.
fn without_item_names(t: &DataType) -> DataType {
    match t {
        DataType::List(f) => DataType::List(Arc::new(Field::new(
            "item",
            without_item_names(f.data_type()),
            f.is_nullable(),
        ))),
        DataType::Struct(fields) => DataType::Struct(
            fields
                .iter()
                .map(|f| {
                    Arc::new(
                        f.as_ref()
                            .clone()
                            .with_data_type(without_item_names(f.data_type())),
                    )
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

async fn count(client: &mut flight_client::Client, table: &str) -> i64 {
    let batches = query(client, &format!("SELECT count(*) FROM {table}"))
        .await
        .expect("count");
    batches[0]
        .column(0)
        .as_any()
        .downcast_ref::<Int64Array>()
        .expect("count is bigint")
        .value(0)
}

/// A server whose metastore also holds the user `analyst` (created before the first start, as
/// governance statements do not exist yet).
async fn server_with_analyst(ttl: Option<&str>) -> (WeirServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let metastore =
        weir_catalog::Metastore::open(&data.join("metastore.db")).expect("open metastore");
    metastore
        .put_user(
            "analyst",
            &weir_catalog::ScramSecret::derive("analyst-pw"),
            false,
        )
        .expect("create analyst");
    drop(metastore);
    let extra: Vec<&str> = match ttl {
        Some(t) => vec!["--flight-token-ttl-secs", t],
        None => vec![],
    };
    (WeirServer::start_in(&data, &extra).await, dir)
}

#[tokio::test]
async fn authentication_tokens_and_ticket_owners() {
    let (server, _dir) = server_with_analyst(Some("3")).await;
    let port = server.flight_port;

    assert_handshake_refused(
        connect_as(port, "admin", "wrong")
            .await
            .err()
            .expect("bad password"),
    );
    assert_handshake_refused(
        connect_as(port, "nobody", "x")
            .await
            .err()
            .expect("unknown user"),
    );

    // No token, and a made-up token.
    let mut anonymous = FlightSqlServiceClient::new(flight_client::channel(port).await);
    let e = anonymous
        .execute("SELECT 1".into(), None)
        .await
        .unwrap_err();
    assert_eq!(code(&e), Code::Unauthenticated);
    anonymous.set_token("not-a-token".into());
    let e = anonymous.get_catalogs().await.unwrap_err();
    assert_eq!(code(&e), Code::Unauthenticated);

    // A ticket is redeemed once, and only by the user who ran the query.
    let mut admin = connect(&server).await;
    let mut analyst = connect_as(port, "analyst", "analyst-pw")
        .await
        .expect("analyst");
    let info = admin
        .execute("SELECT 42 AS answer".into(), None)
        .await
        .unwrap();
    let ticket = info.endpoint[0].ticket.clone().unwrap();
    let e = analyst
        .do_get(ticket.clone())
        .await
        .err()
        .expect("other user's ticket");
    assert_eq!(code(&e), Code::NotFound);
    let batches: Vec<RecordBatch> = admin
        .do_get(ticket.clone())
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(rows_text(&batches), vec![vec!["42".to_string()]]);
    let e = admin.do_get(ticket).await.err().expect("second redeem");
    assert_eq!(code(&e), Code::NotFound);

    // Sessions follow the user: current_user() is the token's user.
    let batches = query(&mut analyst, "SELECT current_user()").await.unwrap();
    assert_eq!(rows_text(&batches), vec![vec!["analyst".to_string()]]);

    // Only an admin may turn off VACUUM's retention check.
    let e = analyst
        .execute_update(
            "SET spark.databricks.delta.retentionDurationCheck.enabled = false".into(),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(
        (code(&e), sqlstate(&e).as_deref()),
        (Code::PermissionDenied, Some("42501"))
    );

    // Tokens expire.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let e = admin.execute("SELECT 1".into(), None).await.unwrap_err();
    assert_eq!(code(&e), Code::Unauthenticated);
    assert!(status(&e).message().contains("expired"), "{e}");
    server.stop().await;
}

#[tokio::test]
async fn queries_run_once_and_updates_report_counts() {
    let server = WeirServer::start().await;
    let mut c = connect(&server).await;
    assert_eq!(
        c.execute_update("CREATE SCHEMA s".into(), None)
            .await
            .unwrap(),
        0
    );
    c.execute_update("CREATE TABLE s.t (id BIGINT, name STRING)".into(), None)
        .await
        .unwrap();
    let n = c
        .execute_update(
            "INSERT INTO s.t VALUES (1, 'a'), (2, 'b'), (3, 'c')".into(),
            None,
        )
        .await
        .unwrap();
    assert_eq!(n, 3);

    // A statement runs at GetFlightInfo, once: DoGet only streams its result.
    let info = c
        .execute("INSERT INTO s.t VALUES (4, 'd')".into(), None)
        .await
        .unwrap();
    assert_eq!(count(&mut c, "s.t").await, 4);
    fetch(&mut c, info).await.unwrap();
    assert_eq!(count(&mut c, "s.t").await, 4);

    // The same namespace as the Postgres front.
    let pg = server.connect("main").await;
    let row = pg.query_one("SELECT count(*) FROM s.t", &[]).await.unwrap();
    assert_eq!(row.get::<_, i64>(0), 4);

    // Results stream in batches.
    let info = c
        .execute(
            "SELECT value FROM generate_series(1, 300000) AS g(value)".into(),
            None,
        )
        .await
        .unwrap();
    let batches = fetch(&mut c, info).await.unwrap();
    assert!(batches.len() > 1, "one batch for 300k rows");
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 300_000);

    // Errors carry gRPC codes and SQLSTATEs.
    let e = c.execute("SELEC 1".into(), None).await.unwrap_err();
    assert_eq!(
        (code(&e), sqlstate(&e).as_deref()),
        (Code::InvalidArgument, Some("42601"))
    );
    let e = c
        .execute("SELECT * FROM s.missing".into(), None)
        .await
        .unwrap_err();
    assert_eq!(
        (code(&e), sqlstate(&e).as_deref()),
        (Code::NotFound, Some("42P01"))
    );
    assert!(status(&e).message().contains("missing"), "{e}");
    let e = c
        .execute_update("CREATE TABLE s.t (x INT)".into(), None)
        .await
        .unwrap_err();
    assert_eq!(
        (code(&e), sqlstate(&e).as_deref()),
        (Code::AlreadyExists, Some("42P07"))
    );
    let e = c
        .execute("SELECT nope FROM s.t".into(), None)
        .await
        .unwrap_err();
    assert_eq!(code(&e), Code::InvalidArgument);
    server.stop().await;
}

#[tokio::test]
async fn prepared_statements_bind_parameters() {
    let server = WeirServer::start().await;
    let mut c = connect(&server).await;
    c.execute_update("CREATE TABLE t (id INT, name STRING)".into(), None)
        .await
        .unwrap();

    let mut insert = c
        .prepare("INSERT INTO t VALUES ($1, $2)".into(), None)
        .await
        .unwrap();
    let params = insert.parameter_schema().unwrap().clone();
    assert_eq!(params.fields().len(), 2);
    assert_eq!(params.field(0).data_type(), &DataType::Int32);
    assert!(insert.dataset_schema().unwrap().fields().is_empty());
    // Parameters arrive as int64 and are cast to the column's int.
    insert
        .set_parameters(
            RecordBatch::try_from_iter(vec![
                ("a", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef),
                (
                    "b",
                    Arc::new(StringArray::from(vec!["x", "y", "z"])) as ArrayRef,
                ),
            ])
            .unwrap(),
        )
        .unwrap();
    assert_eq!(insert.execute_update().await.unwrap(), 3);
    insert.close().await.unwrap();

    let mut select = c
        .prepare("SELECT name FROM t WHERE id >= ? ORDER BY id".into(), None)
        .await
        .unwrap();
    assert_eq!(select.dataset_schema().unwrap().field(0).name(), "name");
    for (min, expected) in [(2, vec!["y", "z"]), (3, vec!["z"])] {
        select
            .set_parameters(
                RecordBatch::try_from_iter(vec![(
                    "p",
                    Arc::new(Int32Array::from(vec![min])) as ArrayRef,
                )])
                .unwrap(),
            )
            .unwrap();
        let info = select.execute().await.unwrap();
        let rows = rows_text(&fetch(&mut c, info).await.unwrap());
        let want: Vec<Vec<String>> = expected.iter().map(|s| vec![s.to_string()]).collect();
        assert_eq!(rows, want);
    }
    select.close().await.unwrap();

    // A prepared statement sees commits made after it was prepared.
    let mut all = c
        .prepare("SELECT count(*) FROM t".into(), None)
        .await
        .unwrap();
    c.execute_update("INSERT INTO t VALUES (4, 'w')".into(), None)
        .await
        .unwrap();
    let info = all.execute().await.unwrap();
    assert_eq!(
        rows_text(&fetch(&mut c, info).await.unwrap()),
        vec![vec!["4".to_string()]]
    );
    all.close().await.unwrap();

    let e = c
        .prepare("SELECT * FROM nowhere".into(), None)
        .await
        .err()
        .unwrap();
    assert_eq!(code(&e), Code::NotFound);
    server.stop().await;
}

fn ingest_command(
    table: &str,
    if_missing: TableNotExistOption,
    if_exists: TableExistsOption,
) -> CommandStatementIngest {
    CommandStatementIngest {
        table_definition_options: Some(TableDefinitionOptions {
            if_not_exist: if_missing as i32,
            if_exists: if_exists as i32,
        }),
        table: table.to_string(),
        schema: Some("landing".into()),
        catalog: Some("lake".into()),
        temporary: false,
        transaction_id: None,
        options: Default::default(),
    }
}

fn typed_batch(ids: Vec<i64>) -> RecordBatch {
    let n = ids.len();
    let decimals = Decimal128Array::from(vec![12345i128; n])
        .with_precision_and_scale(10, 2)
        .unwrap();
    let ts =
        TimestampMicrosecondArray::from(vec![1_700_000_000_000_000i64; n]).with_timezone("UTC");
    let tags = ListArray::from_iter_primitive::<Int32Type, _, _>(
        (0..n).map(|i| Some(vec![Some(i as i32), None])),
    );
    let point = StructArray::from(vec![(
        Arc::new(Field::new("x", DataType::Int64, true)),
        Arc::new(Int64Array::from(ids.clone())) as ArrayRef,
    )]);
    RecordBatch::try_from_iter(vec![
        ("id", Arc::new(Int64Array::from(ids)) as ArrayRef),
        ("amount", Arc::new(decimals) as ArrayRef),
        ("at", Arc::new(ts) as ArrayRef),
        ("tags", Arc::new(tags) as ArrayRef),
        ("point", Arc::new(point) as ArrayRef),
    ])
    .unwrap()
}

async fn delta_commits(c: &mut flight_client::Client, table: &str) -> usize {
    let batches = query(c, &format!("DESCRIBE DETAIL {table}")).await.unwrap();
    let schema = batches[0].schema();
    let idx = schema.index_of("location").unwrap();
    let location = batches[0]
        .column(idx)
        .as_any()
        .downcast_ref::<StringArray>()
        .map(|a| a.value(0).to_string())
        .unwrap_or_else(|| flight_client::pg_text(batches[0].column(idx), 0));
    let path = location.strip_prefix("file://").expect("local table");
    let log = std::path::Path::new(path).join("_delta_log");
    std::fs::read_dir(&log)
        .unwrap_or_else(|e| panic!("{}: {e}", log.display()))
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".json"))
        })
        .count()
}

#[tokio::test]
async fn bulk_ingest_writes_one_commit_per_call() {
    use TableExistsOption as Exists;
    use TableNotExistOption as Missing;
    let server = WeirServer::start().await;
    let mut c = connect(&server).await;
    c.execute_update("CREATE CATALOG lake".into(), None)
        .await
        .unwrap();
    c.execute_update("CREATE SCHEMA lake.landing".into(), None)
        .await
        .unwrap();
    let batches =
        || futures::stream::iter(vec![Ok(typed_batch(vec![1, 2])), Ok(typed_batch(vec![3]))]);

    // create: two batches, one commit.
    let n = c
        .execute_ingest(
            ingest_command("Events", Missing::Create, Exists::Fail),
            batches(),
        )
        .await
        .unwrap();
    assert_eq!(n, 3);
    assert_eq!(delta_commits(&mut c, "lake.landing.events").await, 1);
    let e = c
        .execute_ingest(
            ingest_command("events", Missing::Create, Exists::Fail),
            batches(),
        )
        .await
        .unwrap_err();
    assert_eq!(code(&e), Code::AlreadyExists, "{e}");

    // append and create_append add one commit each.
    c.execute_ingest(
        ingest_command("events", Missing::Fail, Exists::Append),
        batches(),
    )
    .await
    .unwrap();
    c.execute_ingest(
        ingest_command("events", Missing::Create, Exists::Append),
        batches(),
    )
    .await
    .unwrap();
    assert_eq!(count(&mut c, "lake.landing.events").await, 9);
    assert_eq!(delta_commits(&mut c, "lake.landing.events").await, 3);
    let e = c
        .execute_ingest(
            ingest_command("absent", Missing::Fail, Exists::Append),
            batches(),
        )
        .await
        .unwrap_err();
    assert_eq!(code(&e), Code::NotFound, "{e}");

    // Types come back as they went in.
    let back = query(
        &mut c,
        "SELECT * FROM lake.landing.events ORDER BY id LIMIT 1",
    )
    .await
    .unwrap();
    let sent = typed_batch(vec![1]);
    for (got, want) in back[0].schema().fields().iter().zip(sent.schema().fields()) {
        assert_eq!(got.name(), want.name());
        assert_eq!(
            without_item_names(got.data_type()),
            without_item_names(want.data_type()),
            "column {}",
            want.name()
        );
    }
    assert_eq!(
        rows_text(&back),
        vec![vec![
            "1".to_string(),
            "123.45".into(),
            "2023-11-14 22:13:20+00:00".into(),
            "{0,NULL}".into(),
            "{x: 1}".into()
        ]]
    );

    // replace: new schema and data in one commit.
    let replacement = RecordBatch::try_from_iter(vec![(
        "only",
        Arc::new(StringArray::from(vec!["r"])) as ArrayRef,
    )])
    .unwrap();
    let n = c
        .execute_ingest(
            ingest_command("events", Missing::Create, Exists::Replace),
            futures::stream::iter(vec![Ok(replacement)]),
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(
        rows_text(
            &query(&mut c, "SELECT * FROM lake.landing.events")
                .await
                .unwrap()
        ),
        vec![vec!["r".to_string()]]
    );
    assert_eq!(delta_commits(&mut c, "lake.landing.events").await, 4);

    // An append whose columns do not match changes nothing.
    let e = c
        .execute_ingest(
            ingest_command("events", Missing::Fail, Exists::Append),
            batches(),
        )
        .await
        .unwrap_err();
    assert_eq!(code(&e), Code::InvalidArgument, "{e}");
    assert_eq!(delta_commits(&mut c, "lake.landing.events").await, 4);

    // A stream that fails part-way (a value Delta cannot store) writes nothing: no table is
    // created, and an existing table keeps its version.
    let too_big = || {
        let ok = RecordBatch::try_from_iter(vec![(
            "only",
            Arc::new(arrow::array::UInt64Array::from(vec![1u64])) as ArrayRef,
        )])
        .unwrap();
        let bad = RecordBatch::try_from_iter(vec![(
            "only",
            Arc::new(arrow::array::UInt64Array::from(vec![u64::MAX])) as ArrayRef,
        )])
        .unwrap();
        futures::stream::iter(vec![Ok(ok), Ok(bad)])
    };
    let e = c
        .execute_ingest(
            ingest_command("overflow", Missing::Create, Exists::Fail),
            too_big(),
        )
        .await
        .unwrap_err();
    assert_eq!(code(&e), Code::InvalidArgument, "{e}");
    let e = query(&mut c, "SELECT * FROM lake.landing.overflow")
        .await
        .unwrap_err();
    assert_eq!(code(&e), Code::NotFound);
    c.execute_update(
        "CREATE TABLE lake.landing.counts (only BIGINT)".into(),
        None,
    )
    .await
    .unwrap();
    let before = delta_commits(&mut c, "lake.landing.counts").await;
    c.execute_ingest(
        ingest_command("counts", Missing::Fail, Exists::Append),
        too_big(),
    )
    .await
    .unwrap_err();
    assert_eq!(delta_commits(&mut c, "lake.landing.counts").await, before);
    assert_eq!(count(&mut c, "lake.landing.counts").await, 0);

    // Readable from the Postgres front.
    let pg = server.connect("lake").await;
    let row = pg
        .query_one("SELECT only FROM landing.events", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "r");
    server.stop().await;
}

#[tokio::test]
async fn metadata_comes_from_the_metastore() {
    let server = WeirServer::start().await;
    let mut c = connect(&server).await;
    for sql in [
        "CREATE CATALOG other",
        "CREATE SCHEMA main.sales",
        "CREATE SCHEMA other.sales_eu",
        "CREATE TABLE main.sales.orders (id BIGINT NOT NULL, amount DECIMAL(12, 2), at TIMESTAMP)",
        "CREATE VIEW main.sales.big AS SELECT * FROM main.sales.orders WHERE amount > 100",
        "CREATE TABLE other.sales_eu.orders (id BIGINT)",
    ] {
        c.execute_update(sql.into(), None).await.unwrap();
    }

    let info = c.get_catalogs().await.unwrap();
    let catalogs = rows_text(&fetch(&mut c, info).await.unwrap());
    // `system` is listed like any catalog.
    assert_eq!(
        catalogs,
        vec![
            vec!["main".to_string()],
            vec!["other".to_string()],
            vec!["system".to_string()]
        ]
    );

    // No catalog: schemas of every catalog; patterns filter.
    let info = c
        .get_db_schemas(CommandGetDbSchemas {
            catalog: None,
            db_schema_filter_pattern: Some("sales%".into()),
        })
        .await
        .unwrap();
    assert_eq!(
        rows_text(&fetch(&mut c, info).await.unwrap()),
        vec![
            vec!["main".to_string(), "sales".into()],
            vec!["other".to_string(), "sales_eu".into()]
        ]
    );

    // Tables by type, with schemas decoded from the metastore's columns.
    let info = c
        .get_tables(CommandGetTables {
            catalog: Some("main".into()),
            db_schema_filter_pattern: Some("sales".into()),
            table_name_filter_pattern: Some("%".into()),
            table_types: vec!["TABLE".into()],
            include_schema: true,
        })
        .await
        .unwrap();
    let batches = fetch(&mut c, info).await.unwrap();
    let rows = rows_text(&batches);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(&rows[0][..4], &["main", "sales", "orders", "TABLE"]);
    let schema_bytes = batches[0]
        .column(4)
        .as_any()
        .downcast_ref::<arrow::array::BinaryArray>()
        .unwrap()
        .value(0)
        .to_vec();
    let schema = Schema::try_from(IpcMessage(schema_bytes.into())).unwrap();
    assert_eq!(schema.field(0).name(), "id");
    assert!(!schema.field(0).is_nullable());
    assert_eq!(schema.field(1).data_type(), &DataType::Decimal128(12, 2));
    assert!(matches!(
        schema.field(2).data_type(),
        DataType::Timestamp(TimeUnit::Microsecond, Some(_))
    ));

    let info = c
        .get_tables(CommandGetTables {
            catalog: None,
            db_schema_filter_pattern: None,
            table_name_filter_pattern: None,
            table_types: vec!["VIEW".into()],
            include_schema: false,
        })
        .await
        .unwrap();
    let rows = rows_text(&fetch(&mut c, info).await.unwrap());
    // The system tables are read-only and computed: listed as views.
    let views: Vec<Vec<String>> = [
        ["main", "sales", "big", "VIEW"],
        ["system", "access", "audit", "VIEW"],
        ["system", "access", "column_lineage", "VIEW"],
        ["system", "access", "openlineage_sinks", "VIEW"],
        ["system", "access", "table_lineage", "VIEW"],
    ]
    .iter()
    .map(|r| r.iter().map(|s| s.to_string()).collect())
    .collect();
    assert_eq!(rows, views);

    // Listing never opens a Delta log, even with schemas: it still works without the data.
    let location = query(&mut c, "DESCRIBE DETAIL main.sales.orders")
        .await
        .unwrap();
    let idx = location[0].schema().index_of("location").unwrap();
    let url = flight_client::pg_text(location[0].column(idx), 0);
    std::fs::remove_dir_all(url.strip_prefix("file://").expect("local table")).unwrap();
    let info = c
        .get_tables(CommandGetTables {
            catalog: Some("main".into()),
            db_schema_filter_pattern: None,
            table_name_filter_pattern: Some("orders".into()),
            table_types: vec![],
            include_schema: true,
        })
        .await
        .unwrap();
    assert_eq!(rows_text(&fetch(&mut c, info).await.unwrap()).len(), 1);

    let info = c.get_table_types().await.unwrap();
    assert_eq!(
        rows_text(&fetch(&mut c, info).await.unwrap()),
        vec![vec!["TABLE".to_string()], vec!["VIEW".to_string()]]
    );

    let info = c
        .get_sql_info(vec![
            SqlInfo::FlightSqlServerName,
            SqlInfo::FlightSqlServerReadOnly,
        ])
        .await
        .unwrap();
    let batches = fetch(&mut c, info).await.unwrap();
    let text = arrow::util::pretty::pretty_format_batches(&batches)
        .unwrap()
        .to_string();
    assert!(text.contains("Weir"), "{text}");

    let info = c
        .get_xdbc_type_info(CommandGetXdbcTypeInfo { data_type: None })
        .await
        .unwrap();
    let types = rows_text(&fetch(&mut c, info).await.unwrap());
    assert!(types.iter().any(|r| r[0] == "decimal"), "{types:?}");
    assert!(types.iter().any(|r| r[0] == "timestamp"), "{types:?}");

    let info = c
        .get_primary_keys(CommandGetPrimaryKeys {
            catalog: Some("main".into()),
            db_schema: Some("sales".into()),
            table: "orders".into(),
        })
        .await
        .unwrap();
    let batches = fetch(&mut c, info).await.unwrap();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 0);
    server.stop().await;
}

#[tokio::test]
async fn cancel_flight_info_stops_a_result() {
    let server = WeirServer::start().await;
    let mut c = connect(&server).await;
    let big = "SELECT a.value * b.value AS v FROM generate_series(1, 100000) a(value), generate_series(1, 100000) b(value)";

    // Cancelled before DoGet: the ticket is gone.
    let info = c.execute(big.into(), None).await.unwrap();
    let result = flight_client::cancel(&mut c, info.clone()).await.unwrap();
    assert_eq!(result.status, CancelStatus::Cancelled as i32);
    let e = fetch(&mut c, info.clone()).await.unwrap_err();
    assert_eq!(code(&e), Code::NotFound);
    // Cancelling what is gone is not possible.
    let again = flight_client::cancel(&mut c, info).await.unwrap();
    assert_eq!(again.status, CancelStatus::NotCancellable as i32);

    // Cancelled while streaming: the stream ends with CANCELLED.
    let info = c.execute(big.into(), None).await.unwrap();
    let ticket = info.endpoint[0].ticket.clone().unwrap();
    let mut stream = c.do_get(ticket).await.unwrap();
    let first = stream.try_next().await.unwrap();
    assert!(first.is_some());
    let result = flight_client::cancel(&mut c, info).await.unwrap();
    assert_eq!(result.status, CancelStatus::Cancelled as i32);
    let outcome = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match stream.try_next().await {
                Ok(Some(_)) => continue,
                Ok(None) => return None,
                Err(e) => return Some(e),
            }
        }
    })
    .await
    .expect("the cancelled stream ended");
    let e = outcome.expect("a cancelled stream ends with an error");
    assert_eq!(code(&e), Code::Cancelled, "{e}");

    // The session still works.
    assert_eq!(
        rows_text(&query(&mut c, "SELECT 1").await.unwrap()),
        vec![vec!["1".to_string()]]
    );
    server.stop().await;
}

#[tokio::test]
async fn arrow_types_round_trip() {
    let server = WeirServer::start().await;
    let mut c = connect(&server).await;
    let sql = "SELECT \
        CAST(12.34 AS DECIMAL(10, 2)) AS dec, \
        arrow_cast(TIMESTAMP '2025-03-18 10:00:00', 'Timestamp(Microsecond, Some(\"Asia/Seoul\"))') AS tstz, \
        [1, 2, 3] AS list, \
        named_struct('a', 1, 'b', 'x') AS st, \
        arrow_cast('red', 'Dictionary(Int32, Utf8)') AS dict, \
        arrow_cast('view', 'Utf8View') AS view";
    let info = c.execute(sql.into(), None).await.unwrap();
    let announced = Schema::try_from(info.clone()).unwrap();
    let batches = fetch(&mut c, info).await.unwrap();
    let got = batches[0].schema();
    for (a, g) in announced.fields().iter().zip(got.fields()) {
        assert_eq!(a.data_type(), g.data_type(), "column {}", a.name());
    }
    let types: Vec<&DataType> = got.fields().iter().map(|f| f.data_type()).collect();
    assert_eq!(types[0], &DataType::Decimal128(10, 2));
    assert_eq!(
        types[1],
        &DataType::Timestamp(TimeUnit::Microsecond, Some("Asia/Seoul".into()))
    );
    assert!(matches!(types[2], DataType::List(_)));
    assert!(matches!(types[3], DataType::Struct(_)));
    assert!(
        matches!(types[4], DataType::Dictionary(_, _)),
        "{:?}",
        types[4]
    );
    assert_eq!(types[5], &DataType::Utf8View);
    let dict = batches[0].column(4);
    assert_eq!(dict.len(), 1);
    assert_eq!(flight_client::pg_text(dict, 0), "red");
    server.stop().await;
}
