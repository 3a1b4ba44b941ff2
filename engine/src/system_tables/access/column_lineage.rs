//! `system.access.column_lineage`: one row per column a statement wrote and each column it came
//! from, in Databricks' shape plus how (OpenLineage's transformation type and subtype) and
//! whether the source column was masked for the writer. Admins read it, and whoever is granted
//! SELECT on it; those see the rows whose tables and columns they may see.

use crate::batches::Col;
use crate::error::Result;
use crate::system_tables::{Reader, SystemTable};
use weir_catalog::Page;

use super::table_lineage::{push_run, push_side, run_columns, side_columns};

#[derive(Debug)]
pub(crate) struct ColumnLineage;

impl SystemTable for ColumnLineage {
    fn name(&self) -> &'static str {
        "column_lineage"
    }

    fn columns(&self) -> Vec<Col> {
        let mut cols = side_columns();
        cols.extend([
            Col::str_not_null("source_column_name"),
            Col::str_not_null("target_column_name"),
            Col::str_not_null("transformation_type"),
            Col::str_not_null("transformation_subtype"),
            Col::bool("masked"),
        ]);
        cols.extend(run_columns());
        cols
    }

    fn fill(&self, reader: &Reader<'_>, cols: &mut [Col]) -> Result<()> {
        self.fill_page(reader, cols, Page::default()).map(|_| ())
    }

    fn fill_page(&self, reader: &Reader<'_>, cols: &mut [Col], page: Page) -> Result<Option<Page>> {
        super::require_select(reader.access, self.name())?;
        let visible = super::Visibility::new(reader.access, reader.metastore);
        let paged = reader
            .audit
            .column_lineage_page(reader.time.from, reader.time.until, page)?;
        for e in paged.items {
            if !visible.column(&e.source.0, &e.source_column)
                || !visible.column(&e.target.0, &e.target_column)
            {
                continue;
            }
            push_side(cols, 0, Some(e.source));
            push_side(cols, 6, Some(e.target));
            cols[12].push_str(Some(e.source_column));
            cols[13].push_str(Some(e.target_column));
            cols[14].push_str(Some(e.transformation.0));
            cols[15].push_str(Some(e.transformation.1));
            cols[16].push_bool(Some(e.masked));
            push_run(
                cols,
                17,
                e.entity,
                e.created_by,
                e.event_time_ms,
                e.statement_id,
            );
        }
        Ok(paged.next)
    }
}
