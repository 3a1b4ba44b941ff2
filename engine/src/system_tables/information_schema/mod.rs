//! `information_schema`, in the shapes Databricks documents: one file per view (or per family
//! of views with one shape), served from the metastore, never from Delta logs. Every catalog
//! has one describing itself; `system.information_schema` describes every catalog the reader
//! may see.

mod catalogs;
mod columns;
mod parameters;
mod policies;
mod privileges;
mod routines;
mod schemata;
mod tables;
mod tags;
mod views;

use crate::system_tables::SystemTable;

/// Which objects a view of one family (tags, privileges) describes: each level's objects are
/// named by one more part than the level above.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ObjectLevel {
    Catalog,
    Schema,
    Table,
    Column,
}

impl ObjectLevel {
    /// How many name parts an object of this level has (a column: catalog, schema, table,
    /// column).
    pub(crate) fn parts(self) -> usize {
        match self {
            ObjectLevel::Catalog => 1,
            ObjectLevel::Schema => 2,
            ObjectLevel::Table => 3,
            ObjectLevel::Column => 4,
        }
    }
}

/// The schema's name, in every catalog and in `system`.
pub(crate) const SCHEMA: &str = "information_schema";

/// The views of `information_schema`, in the order they are listed.
pub(crate) static TABLES: &[&dyn SystemTable] = &[
    &catalogs::Catalogs,
    &schemata::Schemata,
    &tables::Tables,
    &columns::Columns,
    &views::Views,
    &tags::CATALOG_TAGS,
    &tags::SCHEMA_TAGS,
    &tags::TABLE_TAGS,
    &tags::COLUMN_TAGS,
    &privileges::CATALOG_PRIVILEGES,
    &privileges::SCHEMA_PRIVILEGES,
    &privileges::TABLE_PRIVILEGES,
    &privileges::COLUMN_PRIVILEGES,
    &routines::Routines,
    &parameters::Parameters,
    &policies::COLUMN_MASKS,
    &policies::ROW_FILTERS,
];

/// The names of its views.
pub(crate) fn table_names() -> impl Iterator<Item = &'static str> {
    TABLES.iter().map(|t| t.name())
}
