//! Starting and stopping a `weir` server for a test.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const PASSWORD: &str = "test-password";

pub struct WeirServer {
    child: Child,
    pub port: u16,
    pub flight_port: u16,
    _dir: Option<tempfile::TempDir>,
}

/// The server binary: `WEIR_BIN`, else the workspace's (or `CARGO_TARGET_DIR`'s) debug build.
pub fn weir_bin() -> PathBuf {
    if let Ok(p) = std::env::var("WEIR_BIN") {
        return PathBuf::from(p);
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("debug/weir")
}

impl WeirServer {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let data_dir = dir.path().join("data");
        let mut s = Self::start_in(&data_dir, &[]).await;
        s._dir = Some(dir);
        s
    }

    /// Starts a server on an existing data directory (to test restarts) with extra flags.
    pub async fn start_in(data_dir: &Path, extra: &[&str]) -> Self {
        let bin = weir_bin();
        assert!(
            bin.exists(),
            "weir binary not found at {} (build it or set WEIR_BIN)",
            bin.display()
        );
        let mut child = Command::new(&bin)
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--pg-addr", "127.0.0.1:0", "--flight-addr", "127.0.0.1:0"])
            .args(["--log-level", "warn"])
            .args(extra)
            .env("WEIR_ADMIN_PASSWORD", PASSWORD)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn weir");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let port_of = |addr: &str| {
            addr.split_whitespace()
                .next()
                .and_then(|a| a.rsplit(':').next())
                .and_then(|p| p.parse::<u16>().ok())
                .expect("port")
        };
        let (port, flight_port) = tokio::time::timeout(Duration::from_secs(60), async {
            let (mut pg, mut flight) = (None, None);
            while let Some(line) = lines.next_line().await.expect("read stdout") {
                if let Some(addr) = line.strip_prefix("postgres listening on ") {
                    pg = Some(port_of(addr));
                }
                if let Some(addr) = line.strip_prefix("flight listening on ") {
                    flight = Some(port_of(addr));
                }
                if let (Some(p), Some(f)) = (pg, flight) {
                    return (p, f);
                }
            }
            panic!("weir exited before listening");
        })
        .await
        .expect("weir did not start within 60 s");
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        WeirServer {
            child,
            port,
            flight_port,
            _dir: None,
        }
    }

    pub fn dsn(&self, database: &str) -> String {
        format!(
            "host=127.0.0.1 port={} user=admin password={PASSWORD} dbname={database}",
            self.port
        )
    }

    pub async fn connect(&self, database: &str) -> tokio_postgres::Client {
        self.try_connect(database).await.expect("connect")
    }

    pub async fn try_connect(
        &self,
        database: &str,
    ) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
        let (client, conn) =
            tokio_postgres::connect(&self.dsn(database), tokio_postgres::NoTls).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(client)
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status();
        }
        let status = tokio::time::timeout(Duration::from_secs(40), self.child.wait())
            .await
            .expect("weir did not stop within 40 s after SIGTERM")
            .expect("wait");
        assert!(status.success(), "weir exited with {status}");
    }
}
