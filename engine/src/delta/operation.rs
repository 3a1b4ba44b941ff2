//! What a Delta write is, in the engine's words: its kind (recorded as `weirOperation`) and
//! what it reports having done. Commits and the observers that hear of them share these.

/// What kind of write a commit is; recorded as `weirOperation` in the Delta commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    Insert,
    InsertOverwrite,
    CreateTable,
    CreateTableAsSelect,
    Update,
    Delete,
    Merge,
    Optimize,
    Vacuum,
    Restore,
    AddConstraint,
    DropConstraint,
    AddColumns,
    SetProperties,
    /// Flight SQL bulk ingest into an existing table.
    Ingest,
    /// Flight SQL bulk ingest that creates the table.
    IngestCreate,
    /// Flight SQL bulk ingest that replaces the table.
    IngestReplace,
    /// `COPY INTO`: files loaded into the table.
    CopyInto,
    /// `system.ingest.load`: a run's rows (or quarantined rows) published to a table, or the
    /// table created for them.
    IngestLoad,
}

impl WriteKind {
    /// The operation name recorded in the commit (`weirOperation`).
    pub fn operation(self) -> &'static str {
        match self {
            WriteKind::Insert => "INSERT",
            WriteKind::InsertOverwrite => "INSERT OVERWRITE",
            WriteKind::CreateTable => "CREATE TABLE",
            WriteKind::CreateTableAsSelect => "CREATE TABLE AS SELECT",
            WriteKind::Update => "UPDATE",
            WriteKind::Delete => "DELETE",
            WriteKind::Merge => "MERGE",
            WriteKind::Optimize => "OPTIMIZE",
            WriteKind::Vacuum => "VACUUM",
            WriteKind::Restore => "RESTORE",
            WriteKind::AddConstraint => "ADD CONSTRAINT",
            WriteKind::DropConstraint => "DROP CONSTRAINT",
            WriteKind::AddColumns => "ADD COLUMNS",
            WriteKind::SetProperties => "SET TBLPROPERTIES",
            WriteKind::Ingest => "INGEST",
            WriteKind::IngestCreate => "CREATE TABLE (INGEST)",
            WriteKind::IngestReplace => "REPLACE TABLE (INGEST)",
            WriteKind::CopyInto => "COPY INTO",
            WriteKind::IngestLoad => "INGEST LOAD",
        }
    }
}

/// What a write did, as far as the operation reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteMetrics {
    pub rows_written: Option<u64>,
    pub rows_updated: Option<u64>,
    pub rows_deleted: Option<u64>,
    pub files_added: Option<u64>,
    pub files_removed: Option<u64>,
}

impl WriteMetrics {
    pub fn written(rows: u64) -> Self {
        WriteMetrics {
            rows_written: Some(rows),
            ..WriteMetrics::default()
        }
    }
}
