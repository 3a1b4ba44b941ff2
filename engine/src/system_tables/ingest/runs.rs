//! `system.ingest.runs`: one row per run of `system.ingest.load`, with what it listed, read
//! and wrote, and how it ended.

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
            Col::str_not_null("user_name"),
            Col::str_not_null("source"),
            Col::str_not_null("pattern"),
            Col::str_not_null("target_schema"),
            Col::str_not_null("mode"),
            Col::str_not_null("state"),
            Col::time("start_time"),
            Col::time("end_time"),
            Col::int("files_listed"),
            Col::int("files_skipped"),
            Col::int("files_unmatched"),
            Col::int("files_read"),
            Col::int("rows_read"),
            Col::int("rows_written"),
            Col::int("rows_quarantined"),
            Col::str("error_message"),
        ]
    }

    fn fill(&self, reader: &Reader<'_>, cols: &mut [Col]) -> Result<()> {
        crate::system_tables::access::require_select_in(reader.access, super::SCHEMA, self.name())?;
        let me = reader.access.user();
        for run in reader.metastore.ingest_runs()? {
            if !reader.access.is_admin() && run.user != me {
                continue;
            }
            cols[0].push_str(Some(run.run_id));
            cols[1].push_str(Some(run.user));
            cols[2].push_str(Some(run.source));
            cols[3].push_str(Some(run.pattern));
            cols[4].push_str(Some(run.target_schema));
            cols[5].push_str(Some(run.mode));
            cols[6].push_str(Some(run.state));
            cols[7].push_int(Some(run.started_at_ms));
            cols[8].push_int(run.ended_at_ms);
            cols[9].push_int(Some(run.files_listed));
            cols[10].push_int(Some(run.files_skipped));
            cols[11].push_int(Some(run.files_unmatched));
            cols[12].push_int(Some(run.files_read));
            cols[13].push_int(Some(run.rows_read));
            cols[14].push_int(Some(run.rows_written));
            cols[15].push_int(Some(run.rows_quarantined));
            cols[16].push_str(run.error);
        }
        Ok(())
    }
}
