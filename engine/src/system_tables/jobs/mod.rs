//! `system.jobs`: the procedure calls that run in the background (`CALL ASYNC`, schedules).
//! `runs` has one row per run, with its state and progress; `schedules` one per schedule.

mod runs;
mod schedules;

use crate::system_tables::SystemTable;

/// The schema's name.
pub(crate) const SCHEMA: &str = "jobs";

/// Its tables.
pub(crate) static TABLES: &[&dyn SystemTable] = &[&runs::Runs, &schedules::Schedules];
