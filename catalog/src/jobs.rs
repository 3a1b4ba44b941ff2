//! Job runs: procedure calls that run in the background (`CALL ASYNC`), with their state and
//! progress, kept so that `system.jobs.runs` shows them and a restart can tell which runs it
//! interrupted. Ended runs beyond the most recent [`KEPT_ENDED_RUNS`] are pruned.

use rusqlite::{params, OptionalExtension, Row};

use crate::error::Result;
use crate::store::Metastore;

/// How many ended runs are kept.
pub const KEPT_ENDED_RUNS: i64 = 10_000;

/// The states of a run.
pub mod run_state {
    pub const RUNNING: &str = "RUNNING";
    pub const SUCCEEDED: &str = "SUCCEEDED";
    pub const FAILED: &str = "FAILED";
    pub const CANCELED: &str = "CANCELED";
}

/// One run of a procedure in the background.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRun {
    pub run_id: String,
    /// `catalog.schema.procedure`
    pub procedure: String,
    /// The arguments as the call wrote them.
    pub arguments: String,
    /// Who started it (whose privileges it runs with).
    pub user: String,
    /// See [`run_state`].
    pub state: String,
    pub started_at_ms: i64,
    pub ended_at_ms: Option<i64>,
    /// Statements it has run so far.
    pub statements: i64,
    /// Rows its statements wrote so far.
    pub rows_written: i64,
    pub error: Option<String>,
    /// The schedule whose fire started it (`catalog.schema.name`), if any.
    pub schedule: Option<String>,
}

const COLUMNS: &str = "run_id, procedure, arguments, user, state, started_at_ms, ended_at_ms, \
                       statements, rows_written, error, schedule";

impl Metastore {
    pub fn start_job_run(&self, run: &JobRun) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                &format!(
                    "INSERT INTO job_runs ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
                ),
                params![
                    run.run_id,
                    run.procedure,
                    run.arguments,
                    run.user,
                    run.state,
                    run.started_at_ms,
                    run.ended_at_ms,
                    run.statements,
                    run.rows_written,
                    run.error,
                    run.schedule
                ],
            )?;
            tx.execute(
                "DELETE FROM job_runs WHERE state <> 'RUNNING' AND run_id NOT IN
                   (SELECT run_id FROM job_runs WHERE state <> 'RUNNING'
                    ORDER BY started_at_ms DESC LIMIT ?1)",
                params![KEPT_ENDED_RUNS],
            )?;
            Ok(())
        })
    }

    /// Adds one statement, and the rows it wrote, to a running run.
    pub fn job_run_progress(&self, run_id: &str, rows_written: i64) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE job_runs SET statements = statements + 1,
                   rows_written = rows_written + ?2 WHERE run_id = ?1",
                params![run_id, rows_written],
            )?;
            Ok(())
        })
    }

    /// Ends a run in `state`, with the error that ended it.
    pub fn finish_job_run(
        &self,
        run_id: &str,
        state: &str,
        error: Option<&str>,
        ended_at_ms: i64,
    ) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE job_runs SET state = ?2, error = ?3, ended_at_ms = ?4 WHERE run_id = ?1",
                params![run_id, state, error, ended_at_ms],
            )?;
            Ok(())
        })
    }

    /// Marks the runs a stopped server left running as failed, with `reason`; returns how many.
    pub fn fail_interrupted_job_runs(&self, reason: &str, now_ms: i64) -> Result<usize> {
        self.write(|tx| {
            Ok(tx.execute(
                "UPDATE job_runs SET state = 'FAILED', error = ?1, ended_at_ms = ?2
                 WHERE state = 'RUNNING'",
                params![reason, now_ms],
            )?)
        })
    }

    pub fn get_job_run(&self, run_id: &str) -> Result<Option<JobRun>> {
        let conn = self.lock();
        Ok(conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM job_runs WHERE run_id = ?1"),
                params![run_id],
                job_run,
            )
            .optional()?)
    }

    /// Every kept run, oldest first.
    pub fn job_runs(&self) -> Result<Vec<JobRun>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM job_runs ORDER BY started_at_ms, run_id"
        ))?;
        let rows = stmt.query_map([], job_run)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}

fn job_run(r: &Row<'_>) -> rusqlite::Result<JobRun> {
    Ok(JobRun {
        run_id: r.get(0)?,
        procedure: r.get(1)?,
        arguments: r.get(2)?,
        user: r.get(3)?,
        state: r.get(4)?,
        started_at_ms: r.get(5)?,
        ended_at_ms: r.get(6)?,
        statements: r.get(7)?,
        rows_written: r.get(8)?,
        error: r.get(9)?,
        schedule: r.get(10)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_progress_end_and_interrupted_ones_fail() {
        let m = Metastore::open_in_memory().expect("open");
        m.bootstrap(crate::ADMIN_USER).expect("bootstrap");
        let run = |id: &str| JobRun {
            run_id: id.into(),
            procedure: "main.default.p".into(),
            arguments: "(1)".into(),
            user: "admin".into(),
            state: run_state::RUNNING.into(),
            started_at_ms: 1,
            ended_at_ms: None,
            statements: 0,
            rows_written: 0,
            error: None,
            schedule: None,
        };
        m.start_job_run(&run("a")).expect("a");
        m.start_job_run(&run("b")).expect("b");
        m.job_run_progress("a", 5).expect("progress");
        m.finish_job_run("a", run_state::SUCCEEDED, None, 9)
            .expect("end");
        assert_eq!(m.fail_interrupted_job_runs("stopped", 10).expect("fail"), 1);
        let a = m.get_job_run("a").expect("read").expect("a");
        assert_eq!(
            (a.state.as_str(), a.statements, a.rows_written),
            ("SUCCEEDED", 1, 5)
        );
        let b = m.get_job_run("b").expect("read").expect("b");
        assert_eq!(
            (b.state.as_str(), b.error.as_deref()),
            ("FAILED", Some("stopped"))
        );
    }
}
