//! PostgreSQL command tags: the word(s) CommandComplete carries for each kind of statement.

use weir_engine::StatementKind as K;

/// The command tag of a statement that completed without a result set of its own (a result
/// set's tag is `SELECT n`, which pgwire derives from the rows sent).
pub fn command_tag(kind: K) -> &'static str {
    match kind {
        K::CreateCatalog => "CREATE CATALOG",
        K::DropCatalog => "DROP CATALOG",
        K::CreateSchema => "CREATE SCHEMA",
        K::DropSchema => "DROP SCHEMA",
        K::Use => "USE",
        // PostgreSQL reports CREATE TABLE AS with the rows it wrote: `SELECT n`.
        K::CreateTableAsSelect => "SELECT",
        K::CreateTable => "CREATE TABLE",
        K::CreateView => "CREATE VIEW",
        K::DropView => "DROP VIEW",
        K::DropTable => "DROP TABLE",
        K::AlterTable | K::SetTags | K::UnsetTags | K::SetOwner => "ALTER",
        K::Comment => "COMMENT",
        K::Set => "SET",
        K::Begin => "BEGIN",
        K::Commit => "COMMIT",
        K::Rollback => "ROLLBACK",
        K::Savepoint => "SAVEPOINT",
        K::ReleaseSavepoint => "RELEASE",
        // The block stays open after ROLLBACK TO; PostgreSQL's tag is ROLLBACK.
        K::RollbackToSavepoint => "ROLLBACK",
        K::DeclareCursor => "DECLARE CURSOR",
        K::CloseCursor => "CLOSE CURSOR",
        K::Deallocate => "DEALLOCATE",
        K::Fetch => "FETCH",
        K::Restore => "RESTORE",
        K::Insert => "INSERT",
        K::Update => "UPDATE",
        K::Delete => "DELETE",
        K::Merge => "MERGE",
        K::CopyInto => "COPY",
        K::CreateUser | K::CreateGroup => "CREATE ROLE",
        K::AlterUser | K::AlterGroup => "ALTER ROLE",
        K::DropUser | K::DropGroup => "DROP ROLE",
        K::Grant => "GRANT",
        K::Revoke => "REVOKE",
        K::CreateFunction => "CREATE FUNCTION",
        K::DropFunction => "DROP FUNCTION",
        // PostgreSQL's tag for an anonymous block (DO).
        K::Script => "DO",
        K::Call => "CALL",
        K::DeclareVariable => "DECLARE VARIABLE",
        K::DropVariable => "DROP VARIABLE",
        K::ExecuteImmediate => "EXECUTE",
        K::CreateProcedure => "CREATE PROCEDURE",
        K::DropProcedure => "DROP PROCEDURE",
        K::CreateSchedule => "CREATE SCHEDULE",
        K::AlterSchedule => "ALTER SCHEDULE",
        K::DropSchedule => "DROP SCHEDULE",
        K::CreateExternalLocation => "CREATE EXTERNAL LOCATION",
        K::AlterExternalLocation => "ALTER EXTERNAL LOCATION",
        K::DropExternalLocation => "DROP EXTERNAL LOCATION",
        K::Query
        | K::Explain
        | K::Show
        | K::Describe
        | K::DescribeHistory
        | K::Optimize
        | K::Vacuum
        | K::Ingest => "SELECT",
    }
}
