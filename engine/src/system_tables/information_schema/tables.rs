//! `information_schema.tables`: the tables and views the reader may see.

use weir_catalog::TableKind;

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
            Col::str_not_null("table_catalog"),
            Col::str_not_null("table_schema"),
            Col::str_not_null("table_name"),
            Col::str_not_null("table_type"),
            Col::str("is_insertable_into"),
            Col::str("table_owner"),
            Col::str("comment"),
            Col::time("created"),
            Col::time("last_altered"),
            Col::str("data_source_format"),
            Col::str("storage_path"),
        ]
    }

    fn fill(&self, reader: &Reader<'_>, cols: &mut [Col]) -> Result<()> {
        for c in reader.catalogs {
            for t in crate::system_tables::listed::Listed(reader.access).tables(c, None)? {
                let view = t.kind == TableKind::View;
                cols[0].push_str(Some(t.catalog));
                cols[1].push_str(Some(t.schema));
                cols[2].push_str(Some(t.name));
                cols[3].push_str(Some(t.kind.as_str()));
                cols[4].push_str(Some(if view { "NO" } else { "YES" }));
                cols[5].push_str(Some(t.owner));
                cols[6].push_str(t.comment);
                cols[7].push_int(Some(t.created_at_ms));
                cols[8].push_int(Some(t.updated_at_ms));
                cols[9].push_str((!view).then_some("DELTA"));
                cols[10].push_str(t.location);
            }
        }
        Ok(())
    }
}
