//! `system.access`: who did what. `audit` has one row per statement and login attempt;
//! `table_lineage` one row per table a statement read, with the table it wrote;
//! `column_lineage` one row per column written and each column it came from;
//! `openlineage_sinks` one row per OpenLineage sink with its delivery counts.

mod audit;
mod column_lineage;
pub(crate) mod lineage_graph;
mod openlineage_sinks;
mod table_lineage;

use crate::system_tables::SystemTable;

/// Refuses `what` to a reader who is not an admin: audit and lineage rows name the objects,
/// statements and values of every user, so until grants on system tables exist they are the
/// admins'.
pub(crate) fn require_admin(
    access: &crate::access::Access,
    what: &str,
) -> crate::error::Result<()> {
    if access.is_admin() {
        Ok(())
    } else {
        Err(crate::error::EngineError::PermissionDenied(format!(
            "permission denied: {what} is readable by admins"
        )))
    }
}

/// The schema's name in `system`.
pub(crate) const SCHEMA: &str = "access";

/// Its tables.
pub(crate) static TABLES: &[&dyn SystemTable] = &[
    &audit::Audit,
    &table_lineage::TableLineage,
    &column_lineage::ColumnLineage,
    &openlineage_sinks::OpenLineageSinks,
];
