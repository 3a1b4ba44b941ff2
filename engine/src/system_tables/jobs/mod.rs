//! `system.jobs`: the procedure calls that ran in the background (`CALL ASYNC`). `runs` has one
//! row per run, with its state and progress.

mod runs;

use crate::system_tables::SystemTable;

/// The schema's name.
pub(crate) const SCHEMA: &str = "jobs";

/// Its tables.
pub(crate) static TABLES: &[&dyn SystemTable] = &[&runs::Runs];
