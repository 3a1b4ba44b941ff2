//! What a statement produces, as every front receives it.

use datafusion::physical_plan::SendableRecordBatchStream;

use crate::statement_kind::StatementKind;

/// A message a statement sends its client while it runs (PostgreSQL's NOTICE): a procedure's
/// progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub message: String,
}

/// What a statement produced.
pub enum StatementOutput {
    /// A result set, streamed batch by batch.
    Rows(SendableRecordBatchStream),
    /// A command without a result set: its kind and, for DML, the row count.
    Command {
        kind: StatementKind,
        rows: Option<u64>,
    },
    /// `DEALLOCATE`: the front drops the prepared statement `name` (all of them for `None`).
    Deallocate { name: Option<String> },
    /// A command that reports its outcome as a result set (MERGE's Databricks counts row) and,
    /// like PostgreSQL, as a count of the rows it affected (`MERGE 5`).
    Summary {
        stream: SendableRecordBatchStream,
        kind: StatementKind,
        affected: u64,
    },
}

impl std::fmt::Debug for StatementOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StatementOutput::Rows(s) => write!(f, "Rows({:?})", s.schema()),
            StatementOutput::Command { kind, rows } => write!(f, "Command({kind:?}, {rows:?})"),
            StatementOutput::Deallocate { name } => write!(f, "Deallocate({name:?})"),
            StatementOutput::Summary { kind, affected, .. } => {
                write!(f, "Summary({kind:?}, {affected})")
            }
        }
    }
}

impl StatementOutput {
    pub(crate) fn command(kind: StatementKind) -> Self {
        StatementOutput::Command { kind, rows: None }
    }

    /// The rows a command affected, as protocols report them (a PostgreSQL command tag's count,
    /// a Flight SQL update count): DML's row count, a summary's affected rows, otherwise 0.
    pub fn affected_rows(&self) -> u64 {
        match self {
            StatementOutput::Command { rows, .. } => rows.unwrap_or(0),
            StatementOutput::Summary { affected, .. } => *affected,
            StatementOutput::Rows(_) | StatementOutput::Deallocate { .. } => 0,
        }
    }

    /// The result set, if the statement produced one (a summary's row included).
    pub fn into_rows(self) -> Option<SendableRecordBatchStream> {
        match self {
            StatementOutput::Rows(stream) | StatementOutput::Summary { stream, .. } => Some(stream),
            StatementOutput::Command { .. } | StatementOutput::Deallocate { .. } => None,
        }
    }
}
