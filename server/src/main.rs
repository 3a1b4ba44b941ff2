//! `weir`: the Weir server binary.

mod config;
mod flight;
mod front;
mod pg;
mod tls;

use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use weir_engine::{Engine, EngineConfig};

use crate::config::{Cli, Command, ServerConfig};

/// glibc's malloc keeps up to eight arenas per core, each holding on to memory it freed: a
/// 40,000-file load peaked at 550 MiB that way, 361 MiB with one arena per core, 732 MiB with
/// mimalloc (bench/README.md). `MALLOC_ARENA_MAX` in the environment still decides when set.
/// Called first in `main`, before any thread exists.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let arenas = libc::c_int::try_from(cores).unwrap_or(libc::c_int::MAX);
        // SAFETY: mallopt only sets a parameter of the allocator; no thread runs yet.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, arenas);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

fn main() -> Result<()> {
    limit_malloc_arenas();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
            let config = ServerConfig::resolve(args)?;
            init_logging(&config.log_level)?;
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .thread_stack_size(STATEMENT_THREAD_STACK)
                .build()
                .context("starting the async runtime")?
                .block_on(serve(config))
        }
    }
}

/// Stack of the runtime's threads, which parse, plan and execute statements. Statements are
/// bounded to `weir_engine::parser::MAX_STATEMENT_DEPTH` levels of nesting before anything
/// recurses over them; parsing, planning, optimising, executing and dropping a statement at that
/// depth needs far less than this (measured with the deep-statement tests). Only the pages a
/// thread touches are ever committed.
const STATEMENT_THREAD_STACK: usize = 256 * 1024 * 1024;

fn init_logging(filter: &str) -> Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .with_context(|| format!("invalid log filter '{filter}'"))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    Ok(())
}

async fn serve(config: ServerConfig) -> Result<()> {
    let (engine, generated_password) = Engine::open(&EngineConfig {
        data_dir: config.data_dir.clone(),
        warehouse: config.warehouse.clone(),
        storage_options: config.storage_options.clone(),
        admin_password: std::env::var("WEIR_ADMIN_PASSWORD").ok(),
        audit_retention_days: config.audit_retention_days,
        audit: config.audit,
        openlineage: config.openlineage.clone(),
    })
    .map_err(|e| anyhow::anyhow!("{e}"))
    .with_context(|| format!("opening data directory {}", config.data_dir.display()))?;

    let tls = match &config.tls {
        Some((cert, key)) => Some(
            tls::acceptor(cert, key)
                .context("TLS is configured but cannot be set up; refusing to start")?,
        ),
        None => None,
    };

    let listener = TcpListener::bind(config.pg_addr)
        .await
        .with_context(|| format!("binding the Postgres listener to {}", config.pg_addr))?;
    let pg_addr = listener.local_addr()?;
    let flight_listener = TcpListener::bind(config.flight_addr)
        .await
        .with_context(|| format!("binding the Flight SQL listener to {}", config.flight_addr))?;
    let flight_addr = flight_listener.local_addr()?;

    if let Some(p) = &generated_password {
        println!("Generated password for user 'admin' (shown once, only its hash is stored): {p}");
    }
    println!("Weir {} ready", env!("CARGO_PKG_VERSION"));
    println!(
        "postgres listening on {pg_addr}{}",
        if tls.is_some() { " (TLS)" } else { "" }
    );
    println!(
        "flight listening on {flight_addr}{}",
        if tls.is_some() { " (TLS)" } else { "" }
    );
    println!("connect with: psql \"postgresql://admin@{pg_addr}/main\"");
    println!(
        "           or: adbc_driver_flightsql.dbapi.connect(\"grpc{}://{flight_addr}\", ...)",
        if tls.is_some() { "+tls" } else { "" }
    );

    let shutdown = CancellationToken::new();
    let tracker = TaskTracker::new();
    let flight = flight::FlightFront::new(
        engine.clone(),
        config.tls.as_ref(),
        Duration::from_secs(config.flight_token_ttl_secs),
        tracker.clone(),
    )?;
    let flight_task = tokio::spawn(flight.serve(flight_listener, shutdown.clone()));
    let front = pg::PgFront::new(engine.clone(), tls);
    let accept = tokio::spawn(front.serve(listener, shutdown.clone(), tracker.clone()));

    tokio::select! {
        _ = wait_for_signal() => {}
        served = flight_task => {
            // The Flight server only returns early on a fatal error (e.g. TLS it cannot use).
            match served {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(e),
                Err(e) => anyhow::bail!("the Flight SQL server stopped: {e}"),
            }
        }
    }
    tracing::info!(
        "shutting down: no new connections; waiting up to {}s for running statements",
        config.shutdown_grace_secs
    );
    shutdown.cancel();
    let _ = accept.await;
    tracker.close();
    // Delta commits are atomic: a statement cut off at the deadline leaves its table at the
    // previous version, never half-written.
    if tokio::time::timeout(
        Duration::from_secs(config.shutdown_grace_secs),
        tracker.wait(),
    )
    .await
    .is_err()
    {
        tracing::warn!("grace period over; abandoning running statements");
    }
    // Background runs stop, and record that the shutdown ended them.
    engine
        .stop_background_runs(Duration::from_secs(config.shutdown_grace_secs.min(10)))
        .await;
    // Lineage events of the last statements still go out, if the collector takes them soon.
    let unsent = engine
        .flush_lineage_events(Duration::from_secs(config.shutdown_grace_secs.min(10)))
        .await;
    if unsent > 0 {
        tracing::warn!(unsent, "OpenLineage events not delivered before shutdown");
    }
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!("cannot listen for SIGTERM: {e}");
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
