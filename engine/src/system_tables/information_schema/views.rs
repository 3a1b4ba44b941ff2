//! `information_schema.views`: the views the reader may see, with their definitions as written.

use weir_catalog::TableKind;

use crate::batches::Col;
use crate::error::Result;
use crate::system_tables::{Reader, SystemTable};

#[derive(Debug)]
pub(crate) struct Views;

impl SystemTable for Views {
    fn name(&self) -> &'static str {
        "views"
    }

    fn columns(&self) -> Vec<Col> {
        vec![
            Col::str_not_null("table_catalog"),
            Col::str_not_null("table_schema"),
            Col::str_not_null("table_name"),
            Col::str("view_definition"),
        ]
    }

    fn fill(&self, reader: &Reader<'_>, cols: &mut [Col]) -> Result<()> {
        for c in reader.catalogs {
            for t in reader
                .access
                .tables(c, None)?
                .into_iter()
                .filter(|t| t.kind == TableKind::View)
            {
                cols[0].push_str(Some(t.catalog));
                cols[1].push_str(Some(t.schema));
                cols[2].push_str(Some(t.name));
                cols[3].push_str(t.view_definition);
            }
        }
        Ok(())
    }
}
