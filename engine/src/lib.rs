//! Weir's engine: sessions, SQL dispatch and Delta table access, shared by every protocol front
//! so that the Postgres wire and Flight SQL fronts behave identically.

mod access;
mod audit;
mod batches;
mod builtin_procedures;
mod change_feed;
mod delta;
mod engine;
mod engine_state;
pub mod error;
mod exec;
mod identity;
mod ingest;
mod jobs;
pub mod lineage;
mod listing;
mod namespace;
pub mod observe;
mod output;
pub mod parser;
mod pg_compat;
mod planner;
mod session;
mod session_state;
pub mod sql_dialect;
mod statement_kind;
pub mod storage;
mod system_tables;
mod time_travel;
pub mod types;
mod views;

pub use delta::operation::{WriteKind, WriteMetrics};
pub use engine::{Engine, EngineConfig};
pub use error::{EngineError, ErrorClass, Result};
pub use exec::ingest::{IngestMode, IngestTarget};
pub use exec::prepared::Prepared;
pub use listing::{ListedTable, TABLE_TYPES};
pub use observe::{ClientInfo, EngineObserver, LoginEvent, Protocol, TableRead};
pub use output::{Notice, StatementOutput};
pub use session::Session;
pub use sql_dialect::SqlDialect;
pub use statement_kind::StatementKind;
pub use storage::StorageConfig;

/// The version string clients see from `version()` and `server_version`.
pub fn server_version() -> String {
    format!(
        "PostgreSQL {PG_SERVER_VERSION} (Weir {})",
        env!("CARGO_PKG_VERSION")
    )
}

/// The PostgreSQL version Weir's wire protocol and catalog emulate.
pub const PG_SERVER_VERSION: &str = "16.0";
