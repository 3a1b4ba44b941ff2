//! Runs every `tests/slt/*.slt` file against its own fresh server over a Postgres connection.

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
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("slt");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/slt")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "slt"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .slt files in {}", dir.display());
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqllogictest_files() {
    let mut failures = Vec::new();
    for file in slt_files() {
        let server = WeirServer::start().await;
        let dsn = server.dsn("main");
        let mut runner = sqllogictest::Runner::new(move || {
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
        });
        match runner.run_file_async(&file).await {
            Ok(()) => println!("ok   {}", file.display()),
            Err(e) => {
                println!("FAIL {}\n{e}", file.display());
                failures.push(format!("{}: {e}", file.display()));
            }
        }
        server.stop().await;
    }
    assert!(
        failures.is_empty(),
        "{} slt file(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
