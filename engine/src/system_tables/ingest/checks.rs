//! `system.ingest.checks`: one row per quality check of a run (of a table, or of the whole run
//! when `table_name` is NULL): its severity, whether it passed, what was observed against what
//! threshold.

use crate::batches::Col;
use crate::error::Result;
use crate::system_tables::{Reader, SystemTable};

#[derive(Debug)]
pub(crate) struct Checks;

impl SystemTable for Checks {
    fn name(&self) -> &'static str {
        "checks"
    }

    fn columns(&self) -> Vec<Col> {
        vec![
            Col::str_not_null("run_id"),
            Col::str("table_name"),
            Col::str_not_null("check_name"),
            Col::str_not_null("severity"),
            Col::bool("passed"),
            Col::str("observed"),
            Col::str("threshold"),
            Col::str("message"),
        ]
    }

    fn fill(&self, reader: &Reader<'_>, cols: &mut [Col]) -> Result<()> {
        crate::system_tables::access::require_select_in(reader.access, super::SCHEMA, self.name())?;
        let me = reader.access.user();
        for (user, c) in reader.metastore.ingest_checks()? {
            if !reader.access.is_admin() && user != me {
                continue;
            }
            cols[0].push_str(Some(c.run_id));
            cols[1].push_str(c.table_name);
            cols[2].push_str(Some(c.check_name));
            cols[3].push_str(Some(c.severity));
            cols[4].push_bool(Some(c.passed));
            cols[5].push_str(c.observed);
            cols[6].push_str(c.threshold);
            cols[7].push_str(c.message);
        }
        Ok(())
    }
}
