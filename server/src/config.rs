//! Server configuration: command-line flags and `WEIR_*` environment variables override an
//! optional TOML file, which overrides the embedded defaults.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use serde::Deserialize;

#[derive(Debug, Parser)]
#[command(
    name = "weir",
    version,
    about = "Weir: a governed lakehouse SQL server over Delta tables"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the server.
    Serve(ServeArgs),
}

#[derive(Debug, Args, Default)]
pub struct ServeArgs {
    /// TOML configuration file (keys as the flags below, with underscores: data_dir, pg_addr, ...).
    #[arg(long, env = "WEIR_CONFIG")]
    pub config: Option<PathBuf>,
    /// Directory for the SQLite metastore and, by default, the warehouse. [default: ./weir-data]
    #[arg(long, env = "WEIR_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Root URI for managed tables: a local path or s3://bucket/prefix. [default: DATA_DIR/warehouse]
    #[arg(long, env = "WEIR_WAREHOUSE")]
    pub warehouse: Option<String>,
    /// Postgres wire protocol listen address; port 0 picks a free port. [default: 127.0.0.1:5433]
    #[arg(long, env = "WEIR_PG_ADDR")]
    pub pg_addr: Option<SocketAddr>,
    /// Arrow Flight SQL listen address; port 0 picks a free port. [default: 127.0.0.1:8815]
    #[arg(long, env = "WEIR_FLIGHT_ADDR")]
    pub flight_addr: Option<SocketAddr>,
    /// Seconds a Flight SQL bearer token (and its session) stays valid. [default: 43200]
    #[arg(long, env = "WEIR_FLIGHT_TOKEN_TTL_SECS")]
    pub flight_token_ttl_secs: Option<u64>,
    /// PEM certificate chain for TLS (both fronts). With --tls-key, the server refuses to start if TLS fails.
    #[arg(long, env = "WEIR_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for TLS.
    #[arg(long, env = "WEIR_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// S3 endpoint for S3-compatible stores (MinIO, Ceph, R2); AWS S3 needs none.
    #[arg(long, env = "WEIR_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// S3 region. [default: AWS_REGION, else us-east-1]
    #[arg(long, env = "WEIR_S3_REGION")]
    pub s3_region: Option<String>,
    /// S3 access key id. [default: AWS_ACCESS_KEY_ID]
    #[arg(long, env = "WEIR_S3_ACCESS_KEY_ID")]
    pub s3_access_key_id: Option<String>,
    /// S3 secret access key. [default: AWS_SECRET_ACCESS_KEY]
    #[arg(long, env = "WEIR_S3_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub s3_secret_access_key: Option<String>,
    /// Allow plain-HTTP S3 endpoints (local test servers only).
    #[arg(long, env = "WEIR_S3_ALLOW_HTTP")]
    pub s3_allow_http: Option<bool>,
    /// Log filter, e.g. info, debug, weir_engine=debug. [default: warn,weir=info,weir_engine=info]
    #[arg(long, env = "WEIR_LOG")]
    pub log_level: Option<String>,
    /// Seconds to let running statements finish on shutdown. [default: 30]
    #[arg(long, env = "WEIR_SHUTDOWN_GRACE_SECS")]
    pub shutdown_grace_secs: Option<u64>,
    /// Days of audit records to keep (system.access.audit); 0 keeps them all. [default: 365]
    #[arg(long, env = "WEIR_AUDIT_RETENTION_DAYS")]
    pub audit_retention_days: Option<u32>,
    /// Record the audit log and table lineage (`system.access.*`). [default: true]
    #[arg(long, env = "WEIR_AUDIT")]
    pub audit: Option<bool>,
    /// Append OpenLineage events (one JSON document per line) to this file.
    #[arg(long, env = "WEIR_OPENLINEAGE_FILE")]
    pub openlineage_file: Option<PathBuf>,
    /// Send OpenLineage events to this collector (POST URL/api/v1/lineage, Marquez's API).
    #[arg(long, env = "WEIR_OPENLINEAGE_URL")]
    pub openlineage_url: Option<String>,
    /// API key sent to the OpenLineage URL as a bearer token.
    #[arg(long, env = "WEIR_OPENLINEAGE_API_KEY", hide_env_values = true)]
    pub openlineage_api_key: Option<String>,
    /// Namespace of Weir's OpenLineage jobs and of datasets named by table name. [default: weir]
    #[arg(long, env = "WEIR_OPENLINEAGE_NAMESPACE")]
    pub openlineage_namespace: Option<String>,
    /// OpenLineage events that may wait for each sink before new ones are dropped. [default: 10000]
    #[arg(long, env = "WEIR_OPENLINEAGE_QUEUE")]
    pub openlineage_queue: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    warehouse: Option<String>,
    pg_addr: Option<SocketAddr>,
    flight_addr: Option<SocketAddr>,
    flight_token_ttl_secs: Option<u64>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    s3_endpoint: Option<String>,
    s3_region: Option<String>,
    s3_access_key_id: Option<String>,
    s3_secret_access_key: Option<String>,
    s3_allow_http: Option<bool>,
    log_level: Option<String>,
    shutdown_grace_secs: Option<u64>,
    audit_retention_days: Option<u32>,
    audit: Option<bool>,
    openlineage_file: Option<PathBuf>,
    openlineage_url: Option<String>,
    openlineage_api_key: Option<String>,
    openlineage_namespace: Option<String>,
    openlineage_queue: Option<usize>,
}

/// Weir's own events at info; the libraries' (delta-rs logs every snapshot load) at warn, and
/// delta-rs MERGE's routine notice about a derived metric not at all.
pub const DEFAULT_LOG_FILTER: &str =
    "warn,deltalake_core::operations::merge=error,weir=info,weir_engine=info,weir_server=info";

/// The effective configuration.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub data_dir: PathBuf,
    pub warehouse: Option<String>,
    pub pg_addr: SocketAddr,
    pub flight_addr: SocketAddr,
    pub flight_token_ttl_secs: u64,
    pub tls: Option<(PathBuf, PathBuf)>,
    pub storage_options: HashMap<String, String>,
    pub log_level: String,
    pub shutdown_grace_secs: u64,
    /// `None`: audit records are kept forever.
    pub audit_retention_days: Option<u32>,
    pub audit: bool,
    /// `None` when no sink is configured.
    pub openlineage: Option<weir_engine::lineage::openlineage::OpenLineageConfig>,
}

impl ServerConfig {
    pub fn resolve(args: ServeArgs) -> Result<Self> {
        let file: FileConfig = match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading config file {}", path.display()))?;
                toml::from_str(&text)
                    .with_context(|| format!("parsing config file {}", path.display()))?
            }
            None => FileConfig::default(),
        };
        let tls = match (
            args.tls_cert.or(file.tls_cert),
            args.tls_key.or(file.tls_key),
        ) {
            (Some(c), Some(k)) => Some((c, k)),
            (None, None) => None,
            _ => anyhow::bail!("TLS needs both tls_cert and tls_key"),
        };
        let mut storage_options = HashMap::new();
        let mut put = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                storage_options.insert(k.to_string(), v);
            }
        };
        put("aws_endpoint", args.s3_endpoint.or(file.s3_endpoint));
        put("aws_region", args.s3_region.or(file.s3_region));
        put(
            "aws_access_key_id",
            args.s3_access_key_id.or(file.s3_access_key_id),
        );
        put(
            "aws_secret_access_key",
            args.s3_secret_access_key.or(file.s3_secret_access_key),
        );
        put(
            "aws_allow_http",
            args.s3_allow_http
                .or(file.s3_allow_http)
                .map(|b| b.to_string()),
        );
        Ok(ServerConfig {
            data_dir: args
                .data_dir
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from("weir-data")),
            warehouse: args.warehouse.or(file.warehouse),
            pg_addr: args
                .pg_addr
                .or(file.pg_addr)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 5433))),
            flight_addr: args
                .flight_addr
                .or(file.flight_addr)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8815))),
            flight_token_ttl_secs: args
                .flight_token_ttl_secs
                .or(file.flight_token_ttl_secs)
                .unwrap_or(12 * 3600),
            tls,
            storage_options,
            log_level: args
                .log_level
                .or(file.log_level)
                .unwrap_or_else(|| DEFAULT_LOG_FILTER.into()),
            shutdown_grace_secs: args
                .shutdown_grace_secs
                .or(file.shutdown_grace_secs)
                .unwrap_or(30),
            audit_retention_days: match args
                .audit_retention_days
                .or(file.audit_retention_days)
                .unwrap_or(365)
            {
                0 => None,
                days => Some(days),
            },
            audit: args.audit.or(file.audit).unwrap_or(true),
            openlineage: {
                let file_sink = args.openlineage_file.or(file.openlineage_file);
                let url = args.openlineage_url.or(file.openlineage_url);
                let queue = args
                    .openlineage_queue
                    .or(file.openlineage_queue)
                    .unwrap_or(10_000);
                if queue == 0 {
                    anyhow::bail!("openlineage_queue must be at least 1");
                }
                (file_sink.is_some() || url.is_some()).then(|| {
                    weir_engine::lineage::openlineage::OpenLineageConfig {
                        namespace: args
                            .openlineage_namespace
                            .or(file.openlineage_namespace)
                            .unwrap_or_else(|| "weir".into()),
                        file: file_sink,
                        url,
                        api_key: args.openlineage_api_key.or(file.openlineage_api_key),
                        queue_capacity: queue,
                    }
                })
            },
        })
    }
}
