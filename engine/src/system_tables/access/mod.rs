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
    require_select_in(access, SCHEMA, table)
}

/// The same for table `table` of schema `schema` of `system`.
pub(crate) fn require_select_in(
    access: &crate::access::Access,
    schema: &str,
    table: &str,
) -> crate::error::Result<()> {
    use weir_catalog::{Privilege, Securable};
    if access.is_admin() {
        return Ok(());
    }
    let system = crate::system_tables::names::SYSTEM_CATALOG;
    access.require_use(system, Some(schema))?;
    access.require(
        &Securable::Table(system.into(), schema.into(), table.into()),
        Privilege::Select,
    )
}

/// What of the objects audit and lineage rows name a reader may see: an admin everything;
/// anyone else the tables and views (and their columns) they may see in listings, so that a row
/// never tells a reader the name of a table hidden from it. A statement's own text and error
/// may carry its values, so it is shown only to readers who may read the tables it touched
/// whole: every row and column, nothing masked. Each table is looked up once.
pub(crate) struct Visibility<'a> {
    access: &'a crate::access::Access,
    metastore: &'a weir_catalog::Metastore,
    seen: std::cell::RefCell<std::collections::HashMap<String, Seen>>,
}

/// What a reader may see of one table.
#[derive(Debug, Clone)]
enum Seen {
    /// Not even its name (or it no longer exists).
    Hidden,
    /// Its name and these columns (`None`: all).
    Listed(Option<std::collections::BTreeSet<String>>),
    /// All of it: every row and column, no mask.
    Whole,
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

    fn lookup(&self, full_name: &str) -> Seen {
        if let Some(known) = self.seen.borrow().get(full_name) {
            return known.clone();
        }
        let found = self.decide(full_name).unwrap_or(Seen::Hidden);
        self.seen
            .borrow_mut()
            .insert(full_name.to_string(), found.clone());
        found
    }

    fn decide(&self, full_name: &str) -> crate::error::Result<Seen> {
        use crate::access::{TablePolicies, TableRead};
        let parts: Vec<&str> = full_name.splitn(3, '.').collect();
        let entry = match parts.as_slice() {
            [c, s, t] => self.metastore.get_table(c, s, t)?,
            _ => None,
        };
        let Some(entry) = entry else {
            return Ok(Seen::Hidden);
        };
        if !self.access.table_visible(&entry)? {
            return Ok(Seen::Hidden);
        }
        Ok(match self.access.table_read(&entry)? {
            TableRead::All if TablePolicies::load(self.metastore, &entry)?.is_empty() => {
                Seen::Whole
            }
            TableRead::Columns(columns) => Seen::Listed(Some(columns)),
            TableRead::All | TableRead::Denied(_) => Seen::Listed(None),
        })
    }

    pub(crate) fn table(&self, full_name: &str) -> bool {
        self.everything() || !matches!(self.lookup(full_name), Seen::Hidden)
    }

    /// The reader may read all of the table: every row and column, nothing masked.
    pub(crate) fn whole_table(&self, full_name: &str) -> bool {
        self.everything() || matches!(self.lookup(full_name), Seen::Whole)
    }

    pub(crate) fn column(&self, full_name: &str, column: &str) -> bool {
        self.everything()
            || match self.lookup(full_name) {
                Seen::Hidden => false,
                Seen::Listed(None) | Seen::Whole => true,
                Seen::Listed(Some(columns)) => columns.contains(column),
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
