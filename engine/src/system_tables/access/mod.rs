//! `system.access`: who did what. `audit` has one row per statement and login attempt.

mod audit;

use crate::system_tables::SystemTable;

/// The schema's name in `system`.
pub(crate) const SCHEMA: &str = "access";

/// Its tables.
pub(crate) static TABLES: &[&dyn SystemTable] = &[&audit::Audit];
