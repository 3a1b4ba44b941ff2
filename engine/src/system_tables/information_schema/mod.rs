//! `information_schema`, in the shapes Databricks documents: one file per view (or per family
//! of views with one shape), served from the metastore, never from Delta logs. Every catalog
//! has one describing itself; `system.information_schema` describes every catalog the reader
//! may see.

mod catalogs;
mod columns;
mod policies;
mod privileges;
mod routines;
mod schemata;
mod tables;
mod tags;
mod views;

use crate::system_tables::SystemTable;

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
    &policies::COLUMN_MASKS,
    &policies::ROW_FILTERS,
];

/// The names of its views.
pub(crate) fn table_names() -> impl Iterator<Item = &'static str> {
    TABLES.iter().map(|t| t.name())
}
