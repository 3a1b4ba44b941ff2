//! `system.jobs.schedules`: one row per schedule, with its pattern, state and last fire. Admins
//! see every schedule; others (with USE CATALOG system, USE SCHEMA system.jobs and SELECT)
//! their own.

use crate::batches::Col;
use crate::error::Result;
use crate::system_tables::{Reader, SystemTable};

#[derive(Debug)]
pub(crate) struct Schedules;

impl SystemTable for Schedules {
    fn name(&self) -> &'static str {
        "schedules"
    }

    fn columns(&self) -> Vec<Col> {
        vec![
            Col::str_not_null("catalog_name"),
            Col::str_not_null("schema_name"),
            Col::str_not_null("schedule_name"),
            Col::str_not_null("procedure_name"),
            Col::str_not_null("call_statement"),
            Col::str_not_null("cron"),
            Col::str_not_null("time_zone"),
            Col::bool("enabled"),
            Col::time("next_fire_time"),
            Col::time("last_fire_time"),
            Col::str("last_run_id"),
            Col::int("skipped_fires"),
            Col::str_not_null("owner"),
            Col::str("comment"),
            Col::time("created_at"),
        ]
    }

    fn fill(&self, reader: &Reader<'_>, cols: &mut [Col]) -> Result<()> {
        crate::system_tables::access::require_select_in(reader.access, super::SCHEMA, self.name())?;
        let me = reader.access.user();
        for s in reader.metastore.schedules()? {
            if !reader.access.is_admin() && s.owner != me {
                continue;
            }
            cols[0].push_str(Some(s.catalog));
            cols[1].push_str(Some(s.schema));
            cols[2].push_str(Some(s.name));
            cols[3].push_str(Some(s.procedure));
            cols[4].push_str(Some(s.call));
            cols[5].push_str(Some(s.cron));
            cols[6].push_str(Some(s.time_zone));
            cols[7].push_bool(Some(s.enabled));
            cols[8].push_int(s.next_fire_at_ms);
            cols[9].push_int(s.last_fire_at_ms);
            cols[10].push_str(s.last_run_id);
            cols[11].push_int(Some(s.skipped_fires));
            cols[12].push_str(Some(s.owner));
            cols[13].push_str(s.comment);
            cols[14].push_int(Some(s.created_at_ms));
        }
        Ok(())
    }
}
