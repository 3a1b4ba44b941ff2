//! `information_schema.schemata`: the schemas the reader may see.

use crate::batches::Col;
use crate::error::Result;
use crate::system_tables::{Reader, SystemTable};

#[derive(Debug)]
pub(crate) struct Schemata;

impl SystemTable for Schemata {
    fn name(&self) -> &'static str {
        "schemata"
    }

    fn columns(&self) -> Vec<Col> {
        vec![
            Col::str_not_null("catalog_name"),
            Col::str_not_null("schema_name"),
            Col::str("schema_owner"),
            Col::str("comment"),
            Col::time("created"),
        ]
    }

    fn fill(&self, reader: &Reader<'_>, cols: &mut [Col]) -> Result<()> {
        for c in reader.catalogs {
            for e in crate::system_tables::listed::Listed(reader.access).schemas(c)? {
                cols[0].push_str(Some(e.catalog));
                cols[1].push_str(Some(e.name));
                cols[2].push_str(Some(e.owner));
                cols[3].push_str(e.comment);
                cols[4].push_int(Some(e.created_at_ms));
            }
        }
        Ok(())
    }
}
