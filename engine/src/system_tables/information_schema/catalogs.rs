//! `information_schema.catalogs`: the catalogs the reader may see.

use crate::batches::Col;
use crate::error::Result;
use crate::system_tables::{Reader, SystemTable};

#[derive(Debug)]
pub(crate) struct Catalogs;

impl SystemTable for Catalogs {
    fn name(&self) -> &'static str {
        "catalogs"
    }

    fn columns(&self) -> Vec<Col> {
        vec![
            Col::str_not_null("catalog_name"),
            Col::str("catalog_owner"),
            Col::str("comment"),
            Col::time("created"),
        ]
    }

    fn fill(&self, reader: &Reader<'_>, cols: &mut [Col]) -> Result<()> {
        for e in crate::system_tables::listed::Listed(reader.access).catalogs()? {
            cols[0].push_str(Some(e.name));
            cols[1].push_str(Some(e.owner));
            cols[2].push_str(e.comment);
            cols[3].push_int(Some(e.created_at_ms));
        }
        Ok(())
    }
}
