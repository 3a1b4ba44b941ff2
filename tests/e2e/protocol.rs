//! Postgres protocol behaviour through tokio-postgres (extended protocol, binary results) and raw
//! sockets.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_postgres::error::SqlState;

use crate::server::WeirServer;

async fn count(client: &tokio_postgres::Client, table: &str) -> i64 {
    client
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .await
        .expect("count")
        .get(0)
}

#[tokio::test]
async fn extended_protocol_parameters_and_binary_results() {
    let server = WeirServer::start().await;
    let client = server.connect("main").await;
    client
        .batch_execute(
            "CREATE TABLE t (id BIGINT NOT NULL, name STRING, score DOUBLE, ok BOOLEAN, small INT)",
        )
        .await
        .unwrap();
    let insert = client
        .prepare("INSERT INTO t VALUES ($1, $2, $3, $4, $5)")
        .await
        .unwrap();
    for i in 0..3i64 {
        let n = client
            .execute(
                &insert,
                &[
                    &i,
                    &format!("n{i}"),
                    &(i as f64 * 1.5),
                    &(i % 2 == 0),
                    &(i as i32),
                ],
            )
            .await
            .unwrap();
        assert_eq!(n, 1);
    }
    let rows = client
        .query(
            "SELECT id, name, score, ok, small FROM t WHERE id >= $1 ORDER BY id",
            &[&1i64],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    let id: i64 = rows[0].get(0);
    let name: &str = rows[0].get(1);
    let score: f64 = rows[1].get(2);
    let ok: bool = rows[1].get(3);
    let small: i32 = rows[1].get(4);
    assert_eq!((id, name, score, ok, small), (1, "n1", 3.0, true, 2));

    // A prepared statement is planned once and re-executed with new parameters.
    let by_id = client
        .prepare("SELECT name FROM t WHERE id = $1")
        .await
        .unwrap();
    for i in 0..3i64 {
        let row = client.query_one(&by_id, &[&i]).await.unwrap();
        assert_eq!(row.get::<_, String>(0), format!("n{i}"));
    }

    // MERGE's command tag counts the rows it affected (`MERGE 3`), not the summary row it sends.
    let merged = client
        .execute(
            "MERGE INTO t USING (VALUES (0, 'x'), (1, 'y'), (7, 'z')) AS s(id, name) \
             ON t.id = s.id WHEN MATCHED THEN UPDATE SET name = s.name \
             WHEN NOT MATCHED THEN INSERT (id, name) VALUES (s.id, s.name)",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(merged, 3);
    assert_eq!(count(&client, "t").await, 4);
}

#[tokio::test]
async fn portal_row_limits_are_honoured() {
    let server = WeirServer::start().await;
    let mut client = server.connect("main").await;
    client
        .batch_execute("CREATE TABLE nums AS SELECT value AS n FROM generate_series(1, 25)")
        .await
        .unwrap();
    let tx = client.transaction().await.unwrap();
    let stmt = tx.prepare("SELECT n FROM nums ORDER BY n").await.unwrap();
    let portal = tx.bind(&stmt, &[]).await.unwrap();
    let mut seen = Vec::new();
    loop {
        let batch = tx.query_portal(&portal, 10).await.unwrap();
        assert!(
            batch.len() <= 10,
            "portal returned {} rows for a limit of 10",
            batch.len()
        );
        if batch.is_empty() {
            break;
        }
        seen.extend(batch.iter().map(|r| r.get::<_, i64>(0)));
    }
    tx.commit().await.unwrap();
    assert_eq!(seen, (1..=25).collect::<Vec<i64>>());
}

#[tokio::test]
async fn errors_carry_sqlstate_and_leave_the_connection_usable() {
    let server = WeirServer::start().await;
    let client = server.connect("main").await;
    client
        .batch_execute("CREATE TABLE t (id BIGINT NOT NULL, v STRING)")
        .await
        .unwrap();
    client
        .batch_execute("INSERT INTO t VALUES (1, 'a')")
        .await
        .unwrap();
    let cases: &[(&str, &SqlState)] = &[
        ("SELEC 1", &SqlState::SYNTAX_ERROR),
        ("SELECT * FROM no_such_table", &SqlState::UNDEFINED_TABLE),
        ("SELECT no_such_column FROM t", &SqlState::UNDEFINED_COLUMN),
        (
            "SELECT * FROM no_such_catalog.s.t",
            &SqlState::UNDEFINED_TABLE,
        ),
        (
            "USE CATALOG no_such_catalog",
            &SqlState::INVALID_CATALOG_NAME,
        ),
        ("USE SCHEMA no_such_schema", &SqlState::INVALID_SCHEMA_NAME),
        (
            "INSERT INTO t VALUES (NULL, 'x')",
            &SqlState::NOT_NULL_VIOLATION,
        ),
        ("CREATE TABLE t (a INT)", &SqlState::DUPLICATE_TABLE),
        ("SELECT CAST('abc' AS INT)", &SqlState::from_code("22000")),
    ];
    for (sql, expected) in cases {
        for simple in [true, false] {
            let err = if simple {
                client.simple_query(sql).await.err()
            } else {
                client.query(*sql, &[]).await.err()
            };
            let err = err.unwrap_or_else(|| panic!("{sql} succeeded"));
            assert_eq!(
                err.code(),
                Some(*expected),
                "{sql} (simple={simple}): {err:?}"
            );
        }
        // The connection is still usable and nothing was written.
        assert_eq!(count(&client, "t").await, 1, "after {sql}");
    }
}

#[tokio::test]
async fn sessions_are_isolated() {
    let server = WeirServer::start().await;
    let a = server.connect("main").await;
    let b = server.connect("main").await;
    a.batch_execute("CREATE SCHEMA s1; USE SCHEMA s1; SET TIME ZONE 'Asia/Seoul'")
        .await
        .unwrap();
    let schema_a: String = a
        .query_one("SELECT current_schema()", &[])
        .await
        .unwrap()
        .get(0);
    let schema_b: String = b
        .query_one("SELECT current_schema()", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!((schema_a.as_str(), schema_b.as_str()), ("s1", "default"));
    let tz_b: String = b.query_one("SHOW TIME ZONE", &[]).await.unwrap().get(0);
    assert_eq!(tz_b, "UTC");
}

#[tokio::test]
async fn database_name_selects_the_catalog() {
    let server = WeirServer::start().await;
    let admin = server.connect("main").await;
    admin
        .batch_execute("CREATE CATALOG sales; CREATE TABLE sales.default.orders (id INT)")
        .await
        .unwrap();
    let sales = server.connect("sales").await;
    let cat: String = sales
        .query_one("SELECT current_catalog()", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(cat, "sales");
    sales
        .batch_execute("INSERT INTO orders VALUES (7)")
        .await
        .unwrap();
    assert_eq!(count(&admin, "sales.default.orders").await, 1);
    let err = server
        .try_connect("nope")
        .await
        .err()
        .expect("unknown database must be refused");
    assert_eq!(err.code(), Some(&SqlState::INVALID_CATALOG_NAME));
}

#[tokio::test]
async fn wrong_password_is_rejected() {
    let server = WeirServer::start().await;
    // A wrong password and an unknown user fail alike, as in PostgreSQL.
    for (user, password) in [("admin", "wrong"), ("nobody", "x")] {
        let dsn = format!(
            "host=127.0.0.1 port={} user={user} password={password} dbname=main",
            server.port
        );
        let err = tokio_postgres::connect(&dsn, tokio_postgres::NoTls)
            .await
            .err()
            .expect("must fail");
        assert_eq!(
            err.code(),
            Some(&SqlState::INVALID_PASSWORD),
            "{user}: {err:?}"
        );
    }
}

#[tokio::test]
async fn garbage_bytes_close_only_that_connection() {
    let server = WeirServer::start().await;
    let client = server.connect("main").await;
    for junk in [
        &b"\x00\x00\x00\x08\xff\xff\xff\xff"[..],
        b"GET / HTTP/1.1\r\n\r\n",
        b"\x00\x00",
    ] {
        let mut raw = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
            .await
            .unwrap();
        raw.write_all(junk).await.unwrap();
        let _ = raw.shutdown().await;
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(10), raw.read_to_end(&mut buf)).await;
    }
    let one: i64 = client
        .query_one("SELECT 1::bigint", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(one, 1);
    let fresh = server.connect("main").await;
    let two: i64 = fresh
        .query_one("SELECT 2::bigint", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(two, 2);
}

/// Starts a long query on `busy`, sends a cancel request for it and asserts it ends with 57014.
async fn assert_cancel_stops_long_query(busy: tokio_postgres::Client) {
    let token = busy.cancel_token();
    let query = tokio::spawn(async move {
        busy.simple_query(
            "SELECT count(*) FROM generate_series(1, 2000000000) a, generate_series(1, 1000) b",
        )
        .await
    });
    // A cancel that arrives before the statement starts is lost (as in PostgreSQL), so keep
    // sending until the query ends.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut query = query;
    let result = loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        token.cancel_query(tokio_postgres::NoTls).await.unwrap();
        match tokio::time::timeout(Duration::from_secs(1), &mut query).await {
            Ok(joined) => break joined.unwrap(),
            Err(_) => assert!(
                tokio::time::Instant::now() < deadline,
                "cancel never took effect"
            ),
        }
    };
    let err = result.err().expect("the query must be canceled");
    assert_eq!(err.code(), Some(&SqlState::QUERY_CANCELED), "{err:?}");
}

#[tokio::test]
async fn cancel_request_stops_a_running_query() {
    let server = WeirServer::start().await;
    assert_cancel_stops_long_query(server.connect("main").await).await;
}

#[tokio::test]
async fn metastore_and_data_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = WeirServer::start_in(&data, &[]).await;
    let c = server.connect("main").await;
    c.batch_execute(
        "CREATE CATALOG c2 COMMENT 'two'; CREATE SCHEMA c2.s; \
         CREATE TABLE c2.s.t (id INT COMMENT 'key') COMMENT 'kept'; INSERT INTO c2.s.t VALUES (1), (2); \
         ALTER TABLE c2.s.t SET TAGS ('tier' = 'gold')",
    )
    .await
    .unwrap();
    drop(c);
    server.stop().await;
    let server = WeirServer::start_in(&data, &[]).await;
    let c = server.connect("c2").await;
    assert_eq!(count(&c, "s.t").await, 2);
    let row = c
        .query_one(
            "SELECT t.comment, g.tag_value FROM information_schema.tables t \
             JOIN information_schema.table_tags g ON g.table_name = t.table_name WHERE t.table_name = 't'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (row.get::<_, String>(0), row.get::<_, String>(1)),
        ("kept".to_string(), "gold".to_string())
    );
    server.stop().await;
}

#[tokio::test]
async fn prepared_statements_see_later_commits() {
    let server = WeirServer::start().await;
    let client = server.connect("main").await;
    client
        .batch_execute("CREATE TABLE t (id BIGINT)")
        .await
        .unwrap();
    let count = client.prepare("SELECT count(*) FROM t").await.unwrap();
    let before: i64 = client.query_one(&count, &[]).await.unwrap().get(0);
    client
        .batch_execute("INSERT INTO t VALUES (1), (2)")
        .await
        .unwrap();
    let after: i64 = client.query_one(&count, &[]).await.unwrap().get(0);
    assert_eq!((before, after), (0, 2));
}

#[tokio::test]
async fn absurd_parameter_numbers_are_rejected() {
    let server = WeirServer::start().await;
    let client = server.connect("main").await;
    let err = client
        .prepare("SELECT $1000000000000")
        .await
        .err()
        .expect("must fail");
    assert!(err.code().is_some(), "{err:?}");
    let one: i64 = client
        .query_one("SELECT 1::bigint", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(one, 1);
}

#[tokio::test]
async fn cancel_targets_the_right_connection_among_many() {
    let server = WeirServer::start().await;
    let busy = server.connect("main").await;
    // Connections opened after the busy one must not take over its cancel key.
    let _others: Vec<_> = futures::future::join_all((0..3).map(|_| server.connect("main"))).await;
    assert_cancel_stops_long_query(busy).await;
}

#[tokio::test]
async fn prepared_correlated_update_and_delete_bind_parameters() {
    // A correlated UPDATE/DELETE runs as a MERGE built from the statement's own plan, so its
    // parameters are bound like any other statement's.
    let server = WeirServer::start().await;
    let client = server.connect("main").await;
    client
        .batch_execute(
            "CREATE TABLE accounts (id BIGINT, state STRING); \
             INSERT INTO accounts VALUES (1, 'open'), (2, 'open'), (3, 'open'); \
             CREATE TABLE flags (id BIGINT, reason STRING); \
             INSERT INTO flags VALUES (1, 'fraud'), (2, 'dormant'), (3, 'fraud')",
        )
        .await
        .unwrap();
    let update = client
        .prepare(
            "UPDATE accounts a SET state = $1 \
             WHERE EXISTS (SELECT 1 FROM flags f WHERE f.id = a.id AND f.reason = $2)",
        )
        .await
        .unwrap();
    assert_eq!(
        client
            .execute(&update, &[&"frozen", &"fraud"])
            .await
            .unwrap(),
        2
    );
    let delete = client
        .prepare(
            "DELETE FROM accounts \
             WHERE EXISTS (SELECT 1 FROM flags WHERE flags.id = accounts.id AND reason = $1)",
        )
        .await
        .unwrap();
    assert_eq!(client.execute(&delete, &[&"dormant"]).await.unwrap(), 1);
    let rows: Vec<(i64, String)> = client
        .query("SELECT id, state FROM accounts ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(rows, vec![(1, "frozen".into()), (3, "frozen".into())]);
    server.stop().await;
}

/// Starts a SCRAM login as `user` on a raw socket and returns the server's first SASL message
/// (`r=...,s=<salt>,i=...`), or the SQLSTATE if the server answered with an error instead.
async fn scram_server_first(port: u16, user: &str) -> Result<String, String> {
    let mut raw = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let mut body = vec![];
    body.extend_from_slice(&196608u32.to_be_bytes()); // protocol 3.0
    for (k, v) in [("user", user), ("database", "main")] {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut startup = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    startup.extend_from_slice(&body);
    raw.write_all(&startup).await.unwrap();

    async fn message(raw: &mut tokio::net::TcpStream) -> (u8, Vec<u8>) {
        let tag = raw.read_u8().await.unwrap();
        let len = raw.read_u32().await.unwrap() as usize;
        let mut payload = vec![0u8; len - 4];
        raw.read_exact(&mut payload).await.unwrap();
        (tag, payload)
    }
    fn sqlstate(payload: &[u8]) -> String {
        payload
            .split(|b| *b == 0)
            .find_map(|f| f.strip_prefix(b"C"))
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .unwrap_or_default()
    }
    // AuthenticationSASL (R, 10) offering SCRAM-SHA-256.
    let (tag, payload) = message(&mut raw).await;
    if tag == b'E' {
        return Err(sqlstate(&payload));
    }
    assert_eq!((tag, &payload[..4]), (b'R', &10u32.to_be_bytes()[..]));
    let client_first = b"n,,n=,r=weirtestnonce0123456789";
    let mut body = b"SCRAM-SHA-256\0".to_vec();
    body.extend_from_slice(&(client_first.len() as u32).to_be_bytes());
    body.extend_from_slice(client_first);
    let mut initial = vec![b'p'];
    initial.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
    initial.extend_from_slice(&body);
    raw.write_all(&initial).await.unwrap();
    // AuthenticationSASLContinue (R, 11) carries the server-first message.
    let (tag, payload) = message(&mut raw).await;
    if tag == b'E' {
        return Err(sqlstate(&payload));
    }
    assert_eq!((tag, &payload[..4]), (b'R', &11u32.to_be_bytes()[..]));
    Ok(String::from_utf8_lossy(&payload[4..]).into_owned())
}

fn salt_of(server_first: &str) -> &str {
    server_first
        .split(',')
        .find_map(|p| p.strip_prefix("s="))
        .expect("a salt")
}

#[tokio::test]
async fn unknown_users_get_the_same_exchange_as_wrong_passwords() {
    let server = WeirServer::start().await;
    // An unknown user is answered with a salt, as a known one is, and the same salt each time
    // (a fresh one per attempt would tell it apart); the login then fails with 28P01.
    let known = scram_server_first(server.port, "admin").await.unwrap();
    let unknown = scram_server_first(server.port, "no_such_user")
        .await
        .unwrap();
    let again = scram_server_first(server.port, "no_such_user")
        .await
        .unwrap();
    assert!(
        known.contains(",i=4096") && unknown.contains(",i=4096"),
        "{known} {unknown}"
    );
    assert_eq!(salt_of(&unknown), salt_of(&again));
    assert_ne!(salt_of(&unknown), salt_of(&known));
    assert_eq!(
        salt_of(&known),
        salt_of(&scram_server_first(server.port, "admin").await.unwrap())
    );
    let e = tokio_postgres::connect(
        &format!(
            "host=127.0.0.1 port={} user=no_such_user password=x dbname=main",
            server.port
        ),
        tokio_postgres::NoTls,
    )
    .await
    .err()
    .expect("login refused");
    assert_eq!(e.code(), Some(&SqlState::INVALID_PASSWORD), "{e:?}");
    server.stop().await;
}
