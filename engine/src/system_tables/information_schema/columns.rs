//! `information_schema.columns`: the columns of the tables and views the reader may see, as
//! far as it may see them.

use crate::batches::Col;
use crate::error::Result;
use crate::system_tables::{Reader, SystemTable};

#[derive(Debug)]
pub(crate) struct Columns;

impl SystemTable for Columns {
    fn name(&self) -> &'static str {
        "columns"
    }

    fn columns(&self) -> Vec<Col> {
        vec![
            Col::str_not_null("table_catalog"),
            Col::str_not_null("table_schema"),
            Col::str_not_null("table_name"),
            Col::str_not_null("column_name"),
            Col::int("ordinal_position"),
            Col::str("is_nullable"),
            Col::str("data_type"),
            Col::str("full_data_type"),
            Col::str("comment"),
            Col::int("partition_index"),
        ]
    }

    fn fill(&self, reader: &Reader<'_>, cols: &mut [Col]) -> Result<()> {
        for c in reader.catalogs {
            for t in crate::system_tables::listed::Listed(reader.access).tables(c, None)? {
                for (i, col) in t.columns.iter().enumerate() {
                    cols[0].push_str(Some(t.catalog.clone()));
                    cols[1].push_str(Some(t.schema.clone()));
                    cols[2].push_str(Some(t.name.clone()));
                    cols[3].push_str(Some(col.name.clone()));
                    cols[4].push_int(Some(i as i64));
                    cols[5].push_str(Some(if col.nullable { "YES" } else { "NO" }));
                    let base = col
                        .data_type
                        .split(['<', '('])
                        .next()
                        .unwrap_or_default()
                        .to_uppercase();
                    cols[6].push_str(Some(base));
                    cols[7].push_str(Some(col.data_type.clone()));
                    cols[8].push_str(col.comment.clone());
                    cols[9].push_int(
                        t.partition_columns
                            .iter()
                            .position(|p| p == &col.name)
                            .map(|p| p as i64),
                    );
                }
            }
        }
        Ok(())
    }
}
