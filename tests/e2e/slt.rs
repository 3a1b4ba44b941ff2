//! Runs every `tests/slt/*.slt` file against its own fresh server, once over a Postgres
//! connection and once over Flight SQL: both fronts must give the same answers and SQLSTATEs.
//!
//! Records run as `admin`. A record prefixed with `connection <user>` runs as that user, on a
//! connection of its own kept for the rest of the file, logged in with the password
//! `<user>-secret` (the file creates the user with it): that is how a file specifies what
//! several users see and may do.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use sqllogictest::{DBOutput, DefaultColumnType};
use tokio_postgres::SimpleQueryMessage;

use crate::server::WeirServer;

#[derive(Debug)]
pub struct SltError(tokio_postgres::Error);

impl std::fmt::Display for SltError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.as_db_error() {
            Some(db) => write!(f, "{}: {}", db.code().code(), db.message()),
            None => write!(f, "{}", self.0),
        }
    }
}

impl std::error::Error for SltError {}

pub struct Pg {
    client: tokio_postgres::Client,
}

#[async_trait]
impl sqllogictest::AsyncDB for Pg {
    type Error = SltError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, SltError> {
        let messages = self.client.simple_query(sql).await.map_err(SltError)?;
        let mut rows = Vec::new();
        let mut types = None;
        let mut count = 0;
        for m in messages {
            match m {
                SimpleQueryMessage::RowDescription(cols) => {
                    types = Some(vec![DefaultColumnType::Any; cols.len()]);
                }
                SimpleQueryMessage::Row(row) => {
                    types.get_or_insert_with(|| vec![DefaultColumnType::Any; row.len()]);
                    rows.push(
                        (0..row.len())
                            .map(|i| match row.get(i) {
                                None => "NULL".to_string(),
                                Some("") => "(empty)".to_string(),
                                Some(v) => v.to_string(),
                            })
                            .collect(),
                    );
                }
                SimpleQueryMessage::CommandComplete(n) => count = n,
                _ => {}
            }
        }
        Ok(match types {
            Some(types) => DBOutput::Rows { types, rows },
            None => DBOutput::StatementComplete(count),
        })
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "weir"
    }

    async fn sleep(dur: std::time::Duration) {
        tokio::time::sleep(dur).await
    }

    fn error_sql_state(err: &SltError) -> Option<String> {
        err.0.code().map(|c| c.code().to_string())
    }
}

fn slt_files() -> Vec<PathBuf> {
    // Cargo sets the package directory when it runs a test; the compile-time one is stale when
    // the binary was built from another checkout sharing the target directory.
    let package = std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into());
    let dir = Path::new(&package).join("slt");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/slt")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "slt"))
        // While working on one file: WEIR_SLT=time_travel runs the files whose name has it.
        .filter(|p| match std::env::var("WEIR_SLT") {
            Ok(only) => p.to_string_lossy().contains(&only),
            Err(_) => true,
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .slt files in {}", dir.display());
    files
}

/// Flight SQL as a sqllogictest database: each statement is prepared (as JDBC and ADBC do);
/// one with a result set runs as a query, any other as an update with its row count.
pub struct Flight {
    client: crate::flight_client::Client,
}

#[derive(Debug)]
pub struct FlightSltError(arrow_flight::error::FlightError);

impl std::fmt::Display for FlightSltError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            arrow_flight::error::FlightError::Tonic(s) => write!(
                f,
                "{}: {} ({:?})",
                crate::flight_client::sqlstate(&self.0).unwrap_or_default(),
                s.message(),
                s.code()
            ),
            other => write!(f, "{other}"),
        }
    }
}

impl std::error::Error for FlightSltError {}

#[async_trait]
impl sqllogictest::AsyncDB for Flight {
    type Error = FlightSltError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, FlightSltError> {
        let mut prepared = match self.client.prepare(sql.to_string(), None).await {
            Ok(p) => p,
            // Several statements in one string cannot be prepared: run them as one query, as
            // a Flight SQL client's plain execute does.
            // So is a CALL or script that may return a result set, known only when it runs.
            Err(e)
                if e.to_string().contains("multiple commands")
                    || e.to_string().contains("only known when it runs") =>
            {
                let batches = crate::flight_client::query(&mut self.client, sql)
                    .await
                    .map_err(FlightSltError)?;
                return Ok(match batches.first() {
                    Some(b) if b.num_columns() > 0 => DBOutput::Rows {
                        types: vec![DefaultColumnType::Any; b.num_columns()],
                        rows: crate::flight_client::rows_text(&batches),
                    },
                    _ => DBOutput::StatementComplete(0),
                });
            }
            Err(e) => return Err(FlightSltError(e)),
        };
        let columns = prepared
            .dataset_schema()
            .map_err(FlightSltError)?
            .fields()
            .len();
        let output = if columns == 0 {
            let count = prepared.execute_update().await.map_err(FlightSltError)?;
            DBOutput::StatementComplete(count as u64)
        } else {
            let info = prepared.execute().await.map_err(FlightSltError)?;
            let batches = crate::flight_client::fetch(&mut self.client, info)
                .await
                .map_err(FlightSltError)?;
            DBOutput::Rows {
                types: vec![DefaultColumnType::Any; columns],
                rows: crate::flight_client::rows_text(&batches),
            }
        };
        prepared.close().await.map_err(FlightSltError)?;
        Ok(output)
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "weir"
    }

    async fn sleep(dur: std::time::Duration) {
        tokio::time::sleep(dur).await
    }

    fn error_sql_state(err: &FlightSltError) -> Option<String> {
        crate::flight_client::sqlstate(&err.0)
    }
}

/// The password an slt file gives the users it creates.
fn password_of(user: &str) -> String {
    format!("{user}-secret")
}

/// Runs `file`'s records: each on the runner of its connection (`runner_for(None)` for the
/// admin's, `runner_for(Some(user))` for a user's, made when first named).
async fn run_file_as_users<D, M>(
    file: &Path,
    mut runner_for: impl FnMut(Option<&str>) -> sqllogictest::Runner<D, M>,
) -> Result<(), sqllogictest::TestError>
where
    D: sqllogictest::AsyncDB<ColumnType = DefaultColumnType>,
    M: sqllogictest::MakeConnection<Conn = D>,
{
    use sqllogictest::{Connection, Record};
    let records = sqllogictest::parse_file::<DefaultColumnType>(file)?;
    let mut admin = runner_for(None);
    let mut users: std::collections::HashMap<String, sqllogictest::Runner<D, M>> =
        Default::default();
    for mut record in records {
        let connection = match &mut record {
            Record::Statement { connection, .. } | Record::Query { connection, .. } => {
                std::mem::take(connection)
            }
            _ => Connection::Default,
        };
        match connection {
            Connection::Default => admin.run_async(record).await?,
            Connection::Named(user) => {
                users
                    .entry(user.clone())
                    .or_insert_with(|| runner_for(Some(&user)))
                    .run_async(record)
                    .await?
            }
        };
    }
    Ok(())
}

fn record(
    front: &str,
    file: &Path,
    result: Result<(), impl std::fmt::Display>,
    failures: &mut Vec<String>,
) {
    match result {
        Ok(()) => println!("ok   [{front}] {}", file.display()),
        Err(e) => {
            println!("FAIL [{front}] {}\n{e}", file.display());
            failures.push(format!("[{front}] {}: {e}", file.display()));
        }
    }
}

fn assert_all_passed(failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{} slt file(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqllogictest_files_over_postgres() {
    let mut failures = Vec::new();
    for file in slt_files() {
        let server = WeirServer::start().await;
        let port = server.port;
        let result = run_file_as_users(&file, |user| {
            let dsn = match user {
                None => format!(
                    "host=127.0.0.1 port={port} user=admin password={} dbname=main",
                    crate::server::PASSWORD
                ),
                Some(u) => format!(
                    "host=127.0.0.1 port={port} user={u} password={} dbname=main",
                    password_of(u)
                ),
            };
            sqllogictest::Runner::new(move || {
                let dsn = dsn.clone();
                async move {
                    let (client, conn) = tokio_postgres::connect(&dsn, tokio_postgres::NoTls)
                        .await
                        .map_err(SltError)?;
                    tokio::spawn(async move {
                        let _ = conn.await;
                    });
                    Ok(Pg { client })
                }
            })
        })
        .await;
        record("postgres", &file, result, &mut failures);
        server.stop().await;
    }
    assert_all_passed(failures);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqllogictest_files_over_flight_sql() {
    let mut failures = Vec::new();
    for file in slt_files() {
        let server = WeirServer::start().await;
        let port = server.flight_port;
        let result = run_file_as_users(&file, |user| {
            let (user, password) = match user {
                None => ("admin".to_string(), crate::server::PASSWORD.to_string()),
                Some(u) => (u.to_string(), password_of(u)),
            };
            sqllogictest::Runner::new(move || {
                let (user, password) = (user.clone(), password.clone());
                async move {
                    let client = crate::flight_client::connect_as(port, &user, &password)
                        .await
                        .map_err(FlightSltError)?;
                    Ok(Flight { client })
                }
            })
        })
        .await;
        record("flight", &file, result, &mut failures);
        server.stop().await;
    }
    assert_all_passed(failures);
}
