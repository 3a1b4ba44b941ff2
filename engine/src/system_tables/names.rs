//! The name of the built-in catalog, which every layer that meets it checks for.

/// The catalog's name, reserved: no catalog of the metastore can take it.
pub const SYSTEM_CATALOG: &str = "system";

/// The schemas of `system`: `access`, `ingest`, `jobs`, and the `information_schema` every
/// catalog has.
pub const SYSTEM_SCHEMAS: [&str; 4] = ["access", "ingest", "jobs", INFORMATION_SCHEMA];

/// The schema every catalog has, `system` included.
pub const INFORMATION_SCHEMA: &str = "information_schema";
