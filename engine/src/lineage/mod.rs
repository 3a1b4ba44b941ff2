//! Lineage: which tables and columns each statement's writes came from, read from its resolved
//! plans ([`columns`]), and recorded for `system.access.table_lineage` and
//! `system.access.column_lineage` ([`recorder`]) and sent as OpenLineage runs
//! ([`openlineage`]).

pub mod columns;
pub mod openlineage;
mod recorder;

pub(crate) use columns::PlanNames;
pub use columns::{ColumnLineage, InputField, SourceColumn, Subtype, TargetColumn};
pub(crate) use recorder::{LineageRecorder, CLIENT, PATH};
