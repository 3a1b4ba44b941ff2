//! Deeply nested statements: OR filters, UNION ALL arms, CASE chains and IN lists of 10,000
//! terms answer correctly over both fronts; chains of other operators answer up to Weir's
//! limit and past it (10,000 terms) are refused with 54001 at once, while the server and the
//! same connection keep serving. None of them may abort the server.

use tokio_postgres::error::SqlState;

use crate::flight_client::{self, rows_text};
use crate::server::WeirServer;

const TERMS: usize = 10_000;

fn joined(n: usize, sep: &str, term: impl Fn(usize) -> String) -> String {
    (0..n).map(term).collect::<Vec<_>>().join(sep)
}

/// What a shape must answer: its one row, or 54001.
enum Expect {
    Row(Vec<String>),
    TooComplex,
}

fn row(values: &[&str]) -> Expect {
    Expect::Row(values.iter().map(|v| v.to_string()).collect())
}

fn additions(n: usize) -> String {
    format!("SELECT {}", joined(n, "+", |_| "1".into()))
}

fn conjunctions(n: usize) -> String {
    format!(
        "SELECT count(*) FROM deep WHERE {}",
        joined(n, " AND ", |i| format!("id <> {}", i + 1))
    )
}

fn concatenations(n: usize) -> String {
    format!("SELECT length({})", joined(n, " || ", |_| "'a'".into()))
}

/// Each shape with what it must answer. The table holds ids 0, 5, 9999, 10000 and 20000.
fn shapes() -> Vec<(&'static str, String, Expect)> {
    let union_sum: usize = (0..TERMS).sum();
    vec![
        (
            "10,000 ORs of equalities",
            format!(
                "SELECT count(*) FROM deep WHERE {}",
                joined(TERMS, " OR ", |i| format!("id = {i}"))
            ),
            row(&["3"]),
        ),
        (
            "10,000 UNION ALL arms",
            format!(
                "SELECT count(*), sum(x) FROM ({}) AS u",
                joined(TERMS, " UNION ALL ", |i| format!("SELECT {i} AS x"))
            ),
            Expect::Row(vec![TERMS.to_string(), union_sum.to_string()]),
        ),
        (
            "10,000 CASE branches",
            format!(
                "SELECT sum(CASE {} ELSE -1 END) FROM deep",
                joined(TERMS, " ", |i| format!("WHEN id = {i} THEN {i}"))
            ),
            // 0 + 5 + 9999 - 1 - 1
            row(&["10002"]),
        ),
        (
            "an IN list of 10,000 values",
            format!(
                "SELECT count(*) FROM deep WHERE id IN ({})",
                joined(TERMS, ", ", |i| i.to_string())
            ),
            row(&["3"]),
        ),
        ("1,000 additions", additions(1_000), row(&["1000"])),
        (
            "1,000 concatenations",
            concatenations(1_000),
            row(&["1000"]),
        ),
        // Only ids 0, 9999, 10000 and 20000 differ from every one of 1..=500.
        ("500 ANDs", conjunctions(500), row(&["4"])),
        ("10,000 additions", additions(TERMS), Expect::TooComplex),
        ("10,000 ANDs", conjunctions(TERMS), Expect::TooComplex),
        (
            "10,000 concatenations",
            concatenations(TERMS),
            Expect::TooComplex,
        ),
        (
            "brackets 100 deep",
            format!("SELECT {}1{}", "(".repeat(100), ")".repeat(100)),
            Expect::TooComplex,
        ),
        (
            "100,000 UNION ALL arms",
            joined(100_000, " UNION ALL ", |i| format!("SELECT {i}")),
            Expect::TooComplex,
        ),
    ]
}

const SETUP: &str = "CREATE TABLE deep (id BIGINT); \
                     INSERT INTO deep VALUES (0), (5), (9999), (10000), (20000)";

#[tokio::test]
async fn deep_statements_over_postgres() {
    let server = WeirServer::start().await;
    let client = server.connect("main").await;
    client.batch_execute(SETUP).await.unwrap();
    for (name, sql, expect) in shapes() {
        // The simple query protocol (psql's).
        let result = client.simple_query(&sql).await;
        match expect {
            Expect::Row(values) => {
                let messages = result.unwrap_or_else(|e| panic!("{name}: {e}"));
                let rows: Vec<Vec<String>> = messages
                    .iter()
                    .filter_map(|m| match m {
                        tokio_postgres::SimpleQueryMessage::Row(r) => Some(
                            (0..r.len())
                                .map(|i| r.get(i).unwrap_or("NULL").to_string())
                                .collect(),
                        ),
                        _ => None,
                    })
                    .collect();
                assert_eq!(rows, vec![values], "{name}");
            }
            Expect::TooComplex => {
                let e = result.expect_err(name);
                assert_eq!(
                    e.code(),
                    Some(&SqlState::STATEMENT_TOO_COMPLEX),
                    "{name}: {e:?}"
                );
            }
        }
    }
    // The extended protocol (parse, describe, bind, execute) as JDBC drivers send a BI filter.
    let (_, or_filter, _) = shapes().remove(0);
    let row = client.query_one(&or_filter, &[]).await.unwrap();
    assert_eq!(row.get::<_, i64>(0), 3);
    let e = client.query(&additions(TERMS), &[]).await.unwrap_err();
    assert_eq!(e.code(), Some(&SqlState::STATEMENT_TOO_COMPLEX), "{e:?}");

    // The connection and the server are still there.
    let row = client
        .query_one("SELECT count(*) FROM deep", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 5);
    server.stop().await;
}

#[tokio::test]
async fn deep_statements_over_flight() {
    let server = WeirServer::start().await;
    let mut client = flight_client::connect(&server).await;
    for statement in SETUP.split("; ") {
        client
            .execute_update(statement.to_string(), None)
            .await
            .unwrap();
    }
    for (name, sql, expect) in shapes() {
        let result = flight_client::query(&mut client, &sql).await;
        match expect {
            Expect::Row(values) => {
                let batches = result.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(rows_text(&batches), vec![values], "{name}");
            }
            Expect::TooComplex => {
                let e = result.expect_err(name);
                assert_eq!(
                    flight_client::sqlstate(&e).as_deref(),
                    Some("54001"),
                    "{name}: {e}"
                );
            }
        }
    }
    let batches = flight_client::query(&mut client, "SELECT count(*) FROM deep")
        .await
        .unwrap();
    assert_eq!(rows_text(&batches), vec![vec!["5".to_string()]]);
    server.stop().await;
}
