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

/// Refuses a reader table `table` of `system.access` unless it is an admin or holds what any
/// table needs: USE CATALOG on `system`, USE SCHEMA on `system.access` and SELECT on the table
/// (granted on it, the schema or the catalog).
pub(crate) fn require_select(
    access: &crate::access::Access,
    table: &str,
) -> crate::error::Result<()> {
    use weir_catalog::{Privilege, Securable};
    if access.is_admin() {
        return Ok(());
    }
    let system = crate::system_tables::names::SYSTEM_CATALOG;
    access.require_use(system, Some(SCHEMA))?;
    access.require(
        &Securable::Table(system.into(), SCHEMA.into(), table.into()),
        Privilege::Select,
    )
}

/// What of the objects audit and lineage rows name a reader may see: an admin everything;
/// anyone else the tables and views (and their columns) they may see in listings, so that a row
/// never tells a reader the name of a table hidden from it. Each table is looked up once.
pub(crate) struct Visibility<'a> {
    access: &'a crate::access::Access,
    metastore: &'a weir_catalog::Metastore,
    /// Full name → whether it is visible, and the columns visible (`None`: all).
    seen: std::cell::RefCell<
        std::collections::HashMap<String, Option<Option<std::collections::BTreeSet<String>>>>,
    >,
}

impl<'a> Visibility<'a> {
    pub(crate) fn new(
        access: &'a crate::access::Access,
        metastore: &'a weir_catalog::Metastore,
    ) -> Self {
        Visibility {
            access,
            metastore,
            seen: Default::default(),
        }
    }

    pub(crate) fn everything(&self) -> bool {
        self.access.is_admin()
    }

    /// `None`: the table is not visible (or no longer exists); else its visible columns.
    fn lookup(&self, full_name: &str) -> Option<Option<std::collections::BTreeSet<String>>> {
        if let Some(known) = self.seen.borrow().get(full_name) {
            return known.clone();
        }
        let parts: Vec<&str> = full_name.splitn(3, '.').collect();
        let entry = match parts.as_slice() {
            [c, s, t] => self.metastore.get_table(c, s, t).ok().flatten(),
            _ => None,
        };
        let found = entry.and_then(|e| match self.access.table_visible(&e) {
            Ok(true) => self.access.visible_columns(&e).ok(),
            _ => None,
        });
        self.seen
            .borrow_mut()
            .insert(full_name.to_string(), found.clone());
        found
    }

    pub(crate) fn table(&self, full_name: &str) -> bool {
        self.everything() || self.lookup(full_name).is_some()
    }

    /// The table and every column of it are visible.
    pub(crate) fn whole_table(&self, full_name: &str) -> bool {
        self.everything() || matches!(self.lookup(full_name), Some(None))
    }

    pub(crate) fn column(&self, full_name: &str, column: &str) -> bool {
        self.everything()
            || match self.lookup(full_name) {
                Some(None) => true,
                Some(Some(columns)) => columns.contains(column),
                None => false,
            }
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
