//! Weir's metastore: the Unity-Catalog-style namespace (catalog > schema > table), principals and
//! tags, persisted transactionally in SQLite.
//!
//! The metastore is the source of truth for *listing* and *naming*; table data and table schemas
//! that change with writes live in the Delta log. Every listing (SHOW, information_schema,
//! pg_catalog) is served from here so that listing never opens a Delta log. The audit log is
//! kept here too, in a SQLite file of its own.

mod audit;
mod copy_files;
mod error;
mod external_locations;
mod governance;
mod ingest_runs;
mod jobs;
mod model;
mod password;
mod procedures;
mod schedules;
mod store;

pub use audit::{
    AuditLog, AuditRecord, ColumnEdge, ColumnLink, EdgeEnd, LineageEdge, Page, Paged, RunEntity,
    TableLink,
};
pub use copy_files::CopyFile;
pub use error::{MetastoreError, Result};
pub use external_locations::{location_holds, ExternalLocation, LocationChange};
pub use ingest_runs::{
    ingest_state, IngestCheck, IngestRun, IngestSource, IngestTableResult, KEPT_INGEST_RUNS,
};
pub use jobs::{run_state, JobRun, KEPT_ENDED_RUNS};
pub use model::{
    CatalogEntry, ColumnEntry, FunctionEntry, FunctionParam, GrantEntry, MemberKind, ParameterMode,
    PolicyEntry, Privilege, ProcedureEntry, ProcedureParam, SchemaEntry, Securable, TableEntry,
    TableKind, TagEntry, UserEntry,
};
pub use password::{ScramSecret, SCRAM_ITERATIONS};
pub use schedules::Schedule;
pub use store::Metastore;

/// The catalog a new metastore starts with, as in Unity Catalog.
pub const DEFAULT_CATALOG: &str = "main";
/// The schema every new catalog starts with.
pub const DEFAULT_SCHEMA: &str = "default";
/// The built-in administrator.
pub const ADMIN_USER: &str = "admin";
/// The built-in group of metastore admins; it holds `admin`.
pub const ADMINS_GROUP: &str = "admins";
/// The implicit group every user belongs to.
pub const ACCOUNT_USERS_GROUP: &str = "account users";
