//! The name of the built-in catalog, which every layer that meets it checks for.

/// The catalog's name, reserved: no catalog of the metastore can take it.
pub const SYSTEM_CATALOG: &str = "system";
