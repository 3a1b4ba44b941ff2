//! `system.ingest.tables`: one row per table a run loaded: files, rows read, written,
//! quarantined and deduplicated, columns added, each column's share of NULLs, seconds per stage.

use crate::batches::Col;
use crate::error::Result;
use crate::system_tables::{Reader, SystemTable};

#[derive(Debug)]
pub(crate) struct Tables;

impl SystemTable for Tables {
    fn name(&self) -> &'static str {
        "tables"
    }

    fn columns(&self) -> Vec<Col> {
        vec![
            Col::str_not_null("run_id"),
            Col::str_not_null("table_name"),
            Col::str_not_null("status"),
            Col::int("files"),
            Col::int("rows_read"),
            Col::int("rows_written"),
            Col::int("rows_quarantined"),
            Col::int("rows_deduplicated"),
            Col::str("columns_added"),
            Col::str_not_null("null_ratios"),
            Col::float("seconds_read"),
            Col::float("seconds_check"),
            Col::float("seconds_publish"),
        ]
    }

    fn fill(&self, reader: &Reader<'_>, cols: &mut [Col]) -> Result<()> {
        crate::system_tables::access::require_select_in(reader.access, super::SCHEMA, self.name())?;
        let me = reader.access.user();
        for (user, t) in reader.metastore.ingest_run_tables()? {
            if !reader.access.is_admin() && user != me {
                continue;
            }
            cols[0].push_str(Some(t.run_id));
            cols[1].push_str(Some(t.table_name));
            cols[2].push_str(Some(t.status));
            cols[3].push_int(Some(t.files));
            cols[4].push_int(Some(t.rows_read));
            cols[5].push_int(Some(t.rows_written));
            cols[6].push_int(Some(t.rows_quarantined));
            cols[7].push_int(Some(t.rows_deduplicated));
            cols[8].push_str(t.columns_added);
            cols[9].push_str(Some(t.null_ratios));
            cols[10].push_float(Some(t.seconds_read));
            cols[11].push_float(Some(t.seconds_check));
            cols[12].push_float(Some(t.seconds_publish));
        }
        Ok(())
    }
}
