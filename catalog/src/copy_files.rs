//! The files `COPY INTO` loaded into each table (path, size, modification time), so that a
//! rerun loads only new or changed files. A file is recorded as pending, with the statement
//! that loads it, before that statement's Delta commit, and confirmed after it; a pending
//! record left by a crash is settled by the next COPY INTO of the table, which looks for the
//! statement's commit in the table's log.

use rusqlite::params;

use crate::error::Result;
use crate::store::Metastore;

/// A file as COPY INTO knows it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CopyFile {
    /// Its location (a URL).
    pub path: String,
    pub size: i64,
    pub modified_ms: i64,
}

impl Metastore {
    /// The files loaded into the table `table_id` (confirmed ones).
    pub fn copied_files(&self, table_id: &str) -> Result<Vec<CopyFile>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT path, size, modified_ms FROM copy_files WHERE table_id = ?1 AND confirmed = 1",
        )?;
        let rows = stmt.query_map(params![table_id], |r| {
            Ok(CopyFile {
                path: r.get(0)?,
                size: r.get(1)?,
                modified_ms: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// The statements whose files are still pending for the table (a crash came between
    /// their record and their confirmation).
    pub fn pending_copy_statements(&self, table_id: &str) -> Result<Vec<String>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT DISTINCT statement_id FROM copy_files WHERE table_id = ?1 AND confirmed = 0",
        )?;
        let rows = stmt.query_map(params![table_id], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Records `files` as being loaded into `table_id` by `statement_id` (a file recorded
    /// already, reloaded by force, keeps its record).
    pub fn add_pending_copy_files(
        &self,
        table_id: &str,
        statement_id: &str,
        files: &[CopyFile],
        now_ms: i64,
    ) -> Result<()> {
        self.write(|tx| {
            let mut stmt = tx.prepare(
                "INSERT OR IGNORE INTO copy_files
                   (table_id, path, size, modified_ms, statement_id, confirmed, loaded_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)",
            )?;
            for f in files {
                stmt.execute(params![
                    table_id,
                    f.path,
                    f.size,
                    f.modified_ms,
                    statement_id,
                    now_ms
                ])?;
            }
            Ok(())
        })
    }

    /// Settles the files `statement_id` loads into `table_id`: confirmed when its commit to the
    /// table exists, else forgotten (one statement may load several tables: ingest runs).
    pub fn settle_copy_files(
        &self,
        table_id: &str,
        statement_id: &str,
        committed: bool,
    ) -> Result<()> {
        self.write(|tx| {
            if committed {
                tx.execute(
                    "UPDATE copy_files SET confirmed = 1 WHERE statement_id = ?1 AND table_id = ?2",
                    params![statement_id, table_id],
                )?;
            } else {
                tx.execute(
                    "DELETE FROM copy_files
                     WHERE statement_id = ?1 AND table_id = ?2 AND confirmed = 0",
                    params![statement_id, table_id],
                )?;
            }
            Ok(())
        })
    }
}
