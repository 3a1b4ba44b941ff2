//! `system.ingest`: the runs of `system.ingest.load`. `runs` has one row per run, `tables` one
//! per table a run loaded, `checks` one per quality check. Admins see every run; others (with
//! USE CATALOG system, USE SCHEMA system.ingest and SELECT) their own.

mod checks;
mod runs;
mod tables;

use crate::system_tables::SystemTable;

/// The schema's name.
pub(crate) const SCHEMA: &str = "ingest";

/// Its tables.
pub(crate) static TABLES: &[&dyn SystemTable] = &[&runs::Runs, &tables::Tables, &checks::Checks];
