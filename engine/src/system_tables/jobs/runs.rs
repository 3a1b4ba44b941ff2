//! `system.jobs.runs`: one row per background run, with its state and progress. Admins see
//! every run; others (with USE CATALOG system, USE SCHEMA system.jobs and SELECT) their own.

use crate::batches::Col;
use crate::error::Result;
use crate::system_tables::{Reader, SystemTable};

#[derive(Debug)]
pub(crate) struct Runs;

impl SystemTable for Runs {
    fn name(&self) -> &'static str {
        "runs"
    }

    fn columns(&self) -> Vec<Col> {
        vec![
            Col::str_not_null("run_id"),
            Col::str_not_null("procedure_name"),
            Col::str_not_null("arguments"),
            Col::str_not_null("user_name"),
            Col::str_not_null("state"),
            Col::time("start_time"),
            Col::time("end_time"),
            Col::int("statements"),
            Col::int("rows_written"),
            Col::str("error_message"),
            Col::str("schedule_name"),
        ]
    }

    fn fill(&self, reader: &Reader<'_>, cols: &mut [Col]) -> Result<()> {
        crate::system_tables::access::require_select_in(reader.access, super::SCHEMA, self.name())?;
        let me = reader.access.user();
        for run in reader.metastore.job_runs()? {
            if !reader.access.is_admin() && run.user != me {
                continue;
            }
            cols[0].push_str(Some(run.run_id));
            cols[1].push_str(Some(run.procedure));
            cols[2].push_str(Some(run.arguments));
            cols[3].push_str(Some(run.user));
            cols[4].push_str(Some(run.state));
            cols[5].push_int(Some(run.started_at_ms));
            cols[6].push_int(run.ended_at_ms);
            cols[7].push_int(Some(run.statements));
            cols[8].push_int(Some(run.rows_written));
            cols[9].push_str(run.error);
            cols[10].push_str(run.schedule);
        }
        Ok(())
    }
}
