//! `system.access.openlineage_sinks`: one row per OpenLineage sink (`--openlineage-file`,
//! `--openlineage-url`) with what it has delivered, retried and dropped, so that a collector
//! that is down shows here rather than in any user's statement. Admins read it, and whoever is
//! granted SELECT on it.

use crate::batches::Col;
use crate::error::Result;
use crate::system_tables::{Reader, SystemTable};

#[derive(Debug)]
pub(crate) struct OpenLineageSinks;

impl SystemTable for OpenLineageSinks {
    fn name(&self) -> &'static str {
        "openlineage_sinks"
    }

    fn columns(&self) -> Vec<Col> {
        vec![
            Col::str_not_null("sink"),
            Col::str_not_null("target"),
            Col::int("queued"),
            Col::int("delivered"),
            Col::int("retried"),
            Col::int("dropped"),
            Col::int("failed"),
            Col::time("last_error_time"),
            Col::str("last_error"),
        ]
    }

    fn fill(&self, reader: &Reader<'_>, cols: &mut [Col]) -> Result<()> {
        super::require_select(reader.access, self.name())?;
        for sink in reader.openlineage_sinks {
            let c = sink.counts();
            cols[0].push_str(Some(sink.kind));
            cols[1].push_str(Some(sink.target.clone()));
            for (i, n) in [c.queued, c.delivered, c.retried, c.dropped, c.failed]
                .into_iter()
                .enumerate()
            {
                cols[2 + i].push_int(Some(n as i64));
            }
            let (time, error) = match c.last_error {
                Some((t, e)) => (Some(t), Some(e)),
                None => (None, None),
            };
            cols[7].push_int(time);
            cols[8].push_str(error);
        }
        Ok(())
    }
}
