//! Runs of `system.ingest.load`: one record per run (what it read, its state and totals), one
//! per table it loaded (counts, null ratios, seconds per stage) and one per quality check, so
//! that `system.ingest.*` shows them and the next run can compare row counts. Source objects a
//! published run read whole are remembered per target schema with the tables they fed, so a
//! rerun skips them without opening them while those tables exist (their members are also
//! recorded per table, in `copy_files`).

use rusqlite::{params, Row};

use crate::error::Result;
use crate::store::Metastore;

/// How many ended ingest runs are kept.
pub const KEPT_INGEST_RUNS: i64 = 10_000;

/// The states of an ingest run.
pub mod ingest_state {
    pub const RUNNING: &str = "RUNNING";
    /// Every table it loaded was published.
    pub const PUBLISHED: &str = "PUBLISHED";
    /// An error-severity check failed: nothing was published.
    pub const NOT_PUBLISHED: &str = "NOT_PUBLISHED";
    pub const FAILED: &str = "FAILED";
}

/// One run of `system.ingest.load`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IngestRun {
    pub run_id: String,
    pub user: String,
    pub source: String,
    pub pattern: String,
    pub target_schema: String,
    pub mode: String,
    /// See [`ingest_state`].
    pub state: String,
    pub started_at_ms: i64,
    pub ended_at_ms: Option<i64>,
    pub files_listed: i64,
    pub files_skipped: i64,
    pub files_unmatched: i64,
    pub files_read: i64,
    pub rows_read: i64,
    pub rows_written: i64,
    pub rows_quarantined: i64,
    pub error: Option<String>,
}

/// What a run did to one table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IngestTableResult {
    pub run_id: String,
    /// `catalog.schema.table`
    pub table_name: String,
    pub status: String,
    pub files: i64,
    pub rows_read: i64,
    pub rows_written: i64,
    pub rows_quarantined: i64,
    pub rows_deduplicated: i64,
    pub columns_added: Option<String>,
    /// A JSON object: column name to its share of NULLs.
    pub null_ratios: String,
    pub seconds_read: f64,
    pub seconds_check: f64,
    pub seconds_publish: f64,
}

/// One quality check of a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IngestCheck {
    pub run_id: String,
    /// The table checked; `None` for a check of the whole run.
    pub table_name: Option<String>,
    pub check_name: String,
    /// `error` or `warning`.
    pub severity: String,
    pub passed: bool,
    pub observed: Option<String>,
    pub threshold: Option<String>,
    pub message: Option<String>,
}

/// A source object (file or archive) as a run read it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IngestSource {
    pub path: String,
    pub size: i64,
    pub modified_ms: i64,
}

const RUN_COLUMNS: &str = "run_id, user, source, pattern, target_schema, mode, state, \
    started_at_ms, ended_at_ms, files_listed, files_skipped, files_unmatched, files_read, \
    rows_read, rows_written, rows_quarantined, error";

impl Metastore {
    /// Records a run as it starts (state RUNNING); ended runs beyond the most recent
    /// [`KEPT_INGEST_RUNS`] are pruned with their tables and checks.
    pub fn start_ingest_run(&self, run: &IngestRun) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                &format!(
                    "INSERT INTO ingest_runs ({RUN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, \
                     ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"
                ),
                params![
                    run.run_id,
                    run.user,
                    run.source,
                    run.pattern,
                    run.target_schema,
                    run.mode,
                    run.state,
                    run.started_at_ms,
                    run.ended_at_ms,
                    run.files_listed,
                    run.files_skipped,
                    run.files_unmatched,
                    run.files_read,
                    run.rows_read,
                    run.rows_written,
                    run.rows_quarantined,
                    run.error
                ],
            )?;
            tx.execute(
                "DELETE FROM ingest_runs WHERE state <> 'RUNNING' AND run_id NOT IN
                   (SELECT run_id FROM ingest_runs WHERE state <> 'RUNNING'
                    ORDER BY started_at_ms DESC LIMIT ?1)",
                params![KEPT_INGEST_RUNS],
            )?;
            Ok(())
        })
    }

    /// Ends a run: its totals and state, the tables it loaded and its checks, in one
    /// transaction; with the sources it read whole when it published them, each with the ids
    /// of the tables it fed.
    pub fn finish_ingest_run(
        &self,
        run: &IngestRun,
        tables: &[IngestTableResult],
        checks: &[IngestCheck],
        sources_done: &[(IngestSource, Vec<String>)],
    ) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE ingest_runs SET state = ?2, ended_at_ms = ?3, files_listed = ?4,
                   files_skipped = ?5, files_unmatched = ?6, files_read = ?7, rows_read = ?8,
                   rows_written = ?9, rows_quarantined = ?10, error = ?11 WHERE run_id = ?1",
                params![
                    run.run_id,
                    run.state,
                    run.ended_at_ms,
                    run.files_listed,
                    run.files_skipped,
                    run.files_unmatched,
                    run.files_read,
                    run.rows_read,
                    run.rows_written,
                    run.rows_quarantined,
                    run.error
                ],
            )?;
            let mut stmt = tx.prepare(
                "INSERT OR REPLACE INTO ingest_run_tables (run_id, table_name, status, files,
                   rows_read, rows_written, rows_quarantined, rows_deduplicated, columns_added,
                   null_ratios, seconds_read, seconds_check, seconds_publish)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )?;
            for t in tables {
                stmt.execute(params![
                    t.run_id,
                    t.table_name,
                    t.status,
                    t.files,
                    t.rows_read,
                    t.rows_written,
                    t.rows_quarantined,
                    t.rows_deduplicated,
                    t.columns_added,
                    t.null_ratios,
                    t.seconds_read,
                    t.seconds_check,
                    t.seconds_publish
                ])?;
            }
            let mut stmt = tx.prepare(
                "INSERT OR REPLACE INTO ingest_checks (run_id, position, table_name, check_name,
                   severity, passed, observed, threshold, message)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for (i, c) in checks.iter().enumerate() {
                stmt.execute(params![
                    c.run_id,
                    i as i64,
                    c.table_name,
                    c.check_name,
                    c.severity,
                    c.passed,
                    c.observed,
                    c.threshold,
                    c.message
                ])?;
            }
            let mut stmt = tx.prepare(
                "INSERT OR REPLACE INTO ingest_sources (target_schema, path, size, modified_ms,
                   run_id, table_ids) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for (s, table_ids) in sources_done {
                let ids = serde_json::to_string(table_ids).unwrap_or_else(|_| "[]".into());
                stmt.execute(params![
                    run.target_schema,
                    s.path,
                    s.size,
                    s.modified_ms,
                    run.run_id,
                    ids
                ])?;
            }
            Ok(())
        })
    }

    /// Marks the runs a stopped server left running as failed, with `reason`; returns how many.
    pub fn fail_interrupted_ingest_runs(&self, reason: &str, now_ms: i64) -> Result<usize> {
        self.write(|tx| {
            Ok(tx.execute(
                "UPDATE ingest_runs SET state = 'FAILED', error = ?1, ended_at_ms = ?2
                 WHERE state = 'RUNNING'",
                params![reason, now_ms],
            )?)
        })
    }

    /// Every kept run, oldest first.
    pub fn ingest_runs(&self) -> Result<Vec<IngestRun>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(&format!(
            "SELECT {RUN_COLUMNS} FROM ingest_runs ORDER BY started_at_ms, run_id"
        ))?;
        let rows = stmt.query_map([], ingest_run)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// The tables of every kept run, with the user who ran it.
    pub fn ingest_run_tables(&self) -> Result<Vec<(String, IngestTableResult)>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT r.user, t.run_id, t.table_name, t.status, t.files, t.rows_read,
               t.rows_written, t.rows_quarantined, t.rows_deduplicated, t.columns_added,
               t.null_ratios, t.seconds_read, t.seconds_check, t.seconds_publish
             FROM ingest_run_tables t JOIN ingest_runs r ON r.run_id = t.run_id
             ORDER BY r.started_at_ms, t.run_id, t.table_name",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get(0)?,
                IngestTableResult {
                    run_id: r.get(1)?,
                    table_name: r.get(2)?,
                    status: r.get(3)?,
                    files: r.get(4)?,
                    rows_read: r.get(5)?,
                    rows_written: r.get(6)?,
                    rows_quarantined: r.get(7)?,
                    rows_deduplicated: r.get(8)?,
                    columns_added: r.get(9)?,
                    null_ratios: r.get(10)?,
                    seconds_read: r.get(11)?,
                    seconds_check: r.get(12)?,
                    seconds_publish: r.get(13)?,
                },
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// The checks of every kept run, with the user who ran it.
    pub fn ingest_checks(&self) -> Result<Vec<(String, IngestCheck)>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT r.user, c.run_id, c.table_name, c.check_name, c.severity, c.passed,
               c.observed, c.threshold, c.message
             FROM ingest_checks c JOIN ingest_runs r ON r.run_id = c.run_id
             ORDER BY r.started_at_ms, c.run_id, c.position",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get(0)?,
                IngestCheck {
                    run_id: r.get(1)?,
                    table_name: r.get(2)?,
                    check_name: r.get(3)?,
                    severity: r.get(4)?,
                    passed: r.get(5)?,
                    observed: r.get(6)?,
                    threshold: r.get(7)?,
                    message: r.get(8)?,
                },
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// The rows the last published run read for `table_name`, for the row-count check.
    pub fn last_published_rows_read(&self, table_name: &str) -> Result<Option<i64>> {
        use rusqlite::OptionalExtension;
        let conn = self.lock();
        Ok(conn
            .query_row(
                "SELECT t.rows_read FROM ingest_run_tables t
                   JOIN ingest_runs r ON r.run_id = t.run_id
                 WHERE t.table_name = ?1 AND t.status = 'PUBLISHED'
                 ORDER BY r.started_at_ms DESC LIMIT 1",
                params![table_name],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// The source objects published runs into `target_schema` read whole, each with the ids
    /// of the tables it fed.
    pub fn ingested_sources(
        &self,
        target_schema: &str,
    ) -> Result<Vec<(IngestSource, Vec<String>)>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT path, size, modified_ms, table_ids FROM ingest_sources
             WHERE target_schema = ?1",
        )?;
        let rows = stmt.query_map(params![target_schema], |r| {
            let ids: String = r.get(3)?;
            Ok((
                IngestSource {
                    path: r.get(0)?,
                    size: r.get(1)?,
                    modified_ms: r.get(2)?,
                },
                serde_json::from_str(&ids).unwrap_or_default(),
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}

fn ingest_run(r: &Row<'_>) -> rusqlite::Result<IngestRun> {
    Ok(IngestRun {
        run_id: r.get(0)?,
        user: r.get(1)?,
        source: r.get(2)?,
        pattern: r.get(3)?,
        target_schema: r.get(4)?,
        mode: r.get(5)?,
        state: r.get(6)?,
        started_at_ms: r.get(7)?,
        ended_at_ms: r.get(8)?,
        files_listed: r.get(9)?,
        files_skipped: r.get(10)?,
        files_unmatched: r.get(11)?,
        files_read: r.get(12)?,
        rows_read: r.get(13)?,
        rows_written: r.get(14)?,
        rows_quarantined: r.get(15)?,
        error: r.get(16)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_records_its_tables_checks_and_sources() {
        let dir = tempfile::tempdir().expect("dir");
        let m = Metastore::open(&dir.path().join("m.db")).expect("open");
        let mut run = IngestRun {
            run_id: "r1".into(),
            user: "admin".into(),
            source: "/drop".into(),
            pattern: "{table}.csv".into(),
            target_schema: "main.bronze".into(),
            mode: "append".into(),
            state: ingest_state::RUNNING.into(),
            started_at_ms: 1,
            ..IngestRun::default()
        };
        m.start_ingest_run(&run).expect("start");
        run.state = ingest_state::PUBLISHED.into();
        run.rows_read = 7;
        let table = IngestTableResult {
            run_id: "r1".into(),
            table_name: "main.bronze.t".into(),
            status: "PUBLISHED".into(),
            rows_read: 7,
            null_ratios: "{}".into(),
            ..IngestTableResult::default()
        };
        let check = IngestCheck {
            run_id: "r1".into(),
            check_name: "expected_files".into(),
            severity: "error".into(),
            passed: true,
            ..IngestCheck::default()
        };
        let source = IngestSource {
            path: "file:///drop/a.tar.gz".into(),
            size: 10,
            modified_ms: 5,
        };
        let fed = vec!["t-id".to_string()];
        m.finish_ingest_run(
            &run,
            &[table.clone()],
            &[check.clone()],
            &[(source.clone(), fed.clone())],
        )
        .expect("finish");
        assert_eq!(m.ingest_runs().expect("runs"), vec![run]);
        assert_eq!(
            m.ingest_run_tables().expect("tables"),
            vec![("admin".to_string(), table)]
        );
        assert_eq!(
            m.ingest_checks().expect("checks"),
            vec![("admin".to_string(), check)]
        );
        assert_eq!(
            m.last_published_rows_read("main.bronze.t").expect("rows"),
            Some(7)
        );
        assert_eq!(
            m.ingested_sources("main.bronze").expect("src"),
            vec![(source, fed)]
        );
        assert!(m.ingested_sources("main.silver").expect("src").is_empty());
    }
}
