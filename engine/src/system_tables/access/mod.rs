//! `system.access`: who did what. `audit` has one row per statement and login attempt;
//! `table_lineage` one row per table a statement read, with the table it wrote.

mod audit;
pub(crate) mod lineage_graph;
mod table_lineage;

use crate::system_tables::SystemTable;

/// The schema's name in `system`.
pub(crate) const SCHEMA: &str = "access";

/// Its tables.
pub(crate) static TABLES: &[&dyn SystemTable] = &[&audit::Audit, &table_lineage::TableLineage];
