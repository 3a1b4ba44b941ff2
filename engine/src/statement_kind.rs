//! What kind of statement ran. The engine reports it with every command outcome; each front maps
//! it to its own vocabulary (the Postgres front to command tags), and audit records it as the
//! statement's action.

/// The kind of a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatementKind {
    /// A query, and any other statement that DataFusion plans and that returns rows.
    Query,
    Explain,
    Insert,
    Update,
    Delete,
    Merge,
    CreateCatalog,
    DropCatalog,
    CreateSchema,
    DropSchema,
    Use,
    CreateTable,
    CreateTableAsSelect,
    CreateView,
    DropTable,
    DropView,
    AlterTable,
    SetTags,
    UnsetTags,
    Comment,
    Show,
    Describe,
    DescribeHistory,
    Optimize,
    Vacuum,
    Restore,
    Set,
    Begin,
    Commit,
    Rollback,
    Savepoint,
    ReleaseSavepoint,
    RollbackToSavepoint,
    DeclareCursor,
    Fetch,
    CloseCursor,
    Deallocate,
    CreateUser,
    AlterUser,
    DropUser,
    CreateGroup,
    AlterGroup,
    DropGroup,
    Grant,
    Revoke,
    SetOwner,
    CreateFunction,
    DropFunction,
    /// A Flight SQL bulk ingest.
    Ingest,
    /// A SQL scripting block (`BEGIN ... END`).
    Script,
    /// `CALL procedure(...)`
    Call,
    /// `DECLARE VARIABLE` (a session variable, or a script's local one).
    DeclareVariable,
    DropVariable,
    ExecuteImmediate,
    CreateProcedure,
    DropProcedure,
    CreateSchedule,
    AlterSchedule,
    DropSchedule,
    /// `COPY INTO`: files loaded into a table.
    CopyInto,
    CreateExternalLocation,
    AlterExternalLocation,
    DropExternalLocation,
}

impl StatementKind {
    /// Whether the statement's work is reading its result, so that it ends when the result
    /// has been read. Any other statement has done its work when it returns its result (a
    /// summary, such as OPTIMIZE's metrics).
    pub fn is_read(self) -> bool {
        matches!(
            self,
            StatementKind::Query
                | StatementKind::Explain
                | StatementKind::Show
                | StatementKind::Describe
                | StatementKind::DescribeHistory
                | StatementKind::Fetch
        )
    }

    /// Whether the statement writes a table's data or defines a view over data: what
    /// OpenLineage tells as a run.
    pub fn writes_data(self) -> bool {
        matches!(
            self,
            StatementKind::Insert
                | StatementKind::Update
                | StatementKind::Delete
                | StatementKind::Merge
                | StatementKind::CreateTableAsSelect
                | StatementKind::CreateView
                | StatementKind::Restore
                | StatementKind::Ingest
                | StatementKind::CopyInto
        )
    }

    /// A stable lower-case name (audit's action).
    pub fn name(self) -> &'static str {
        match self {
            StatementKind::Query => "query",
            StatementKind::Explain => "explain",
            StatementKind::Insert => "insert",
            StatementKind::Update => "update",
            StatementKind::Delete => "delete",
            StatementKind::Merge => "merge",
            StatementKind::CreateCatalog => "create_catalog",
            StatementKind::DropCatalog => "drop_catalog",
            StatementKind::CreateSchema => "create_schema",
            StatementKind::DropSchema => "drop_schema",
            StatementKind::Use => "use",
            StatementKind::CreateTable => "create_table",
            StatementKind::CreateTableAsSelect => "create_table_as_select",
            StatementKind::CreateView => "create_view",
            StatementKind::DropTable => "drop_table",
            StatementKind::DropView => "drop_view",
            StatementKind::AlterTable => "alter_table",
            StatementKind::SetTags => "set_tags",
            StatementKind::UnsetTags => "unset_tags",
            StatementKind::Comment => "comment",
            StatementKind::Show => "show",
            StatementKind::Describe => "describe",
            StatementKind::DescribeHistory => "describe_history",
            StatementKind::Optimize => "optimize",
            StatementKind::Vacuum => "vacuum",
            StatementKind::Restore => "restore",
            StatementKind::Set => "set",
            StatementKind::Begin => "begin",
            StatementKind::Commit => "commit",
            StatementKind::Rollback => "rollback",
            StatementKind::Savepoint => "savepoint",
            StatementKind::ReleaseSavepoint => "release_savepoint",
            StatementKind::RollbackToSavepoint => "rollback_to_savepoint",
            StatementKind::DeclareCursor => "declare_cursor",
            StatementKind::Fetch => "fetch",
            StatementKind::CloseCursor => "close_cursor",
            StatementKind::Deallocate => "deallocate",
            StatementKind::CreateUser => "create_user",
            StatementKind::AlterUser => "alter_user",
            StatementKind::DropUser => "drop_user",
            StatementKind::CreateGroup => "create_group",
            StatementKind::AlterGroup => "alter_group",
            StatementKind::DropGroup => "drop_group",
            StatementKind::Grant => "grant",
            StatementKind::Revoke => "revoke",
            StatementKind::SetOwner => "set_owner",
            StatementKind::CreateFunction => "create_function",
            StatementKind::DropFunction => "drop_function",
            StatementKind::Ingest => "ingest",
            StatementKind::Script => "script",
            StatementKind::Call => "call",
            StatementKind::DeclareVariable => "declare_variable",
            StatementKind::DropVariable => "drop_variable",
            StatementKind::ExecuteImmediate => "execute_immediate",
            StatementKind::CreateProcedure => "create_procedure",
            StatementKind::DropProcedure => "drop_procedure",
            StatementKind::CreateSchedule => "create_schedule",
            StatementKind::CopyInto => "copy_into",
            StatementKind::AlterSchedule => "alter_schedule",
            StatementKind::DropSchedule => "drop_schedule",
            StatementKind::CreateExternalLocation => "create_external_location",
            StatementKind::AlterExternalLocation => "alter_external_location",
            StatementKind::DropExternalLocation => "drop_external_location",
        }
    }
}
