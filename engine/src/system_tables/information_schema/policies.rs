//! `information_schema.column_masks` and `information_schema.row_filters`: the masks and row
//! filters on the tables the reader may see.

use std::collections::BTreeMap;

use weir_catalog::TableEntry;

use crate::batches::Col;
use crate::error::Result;
use crate::system_tables::{Reader, SystemTable};

/// Column masks (`masks`) or row filters.
#[derive(Debug)]
pub(crate) struct Policies {
    masks: bool,
}

pub(crate) const COLUMN_MASKS: Policies = Policies { masks: true };
pub(crate) const ROW_FILTERS: Policies = Policies { masks: false };

impl SystemTable for Policies {
    fn name(&self) -> &'static str {
        if self.masks {
            "column_masks"
        } else {
            "row_filters"
        }
    }

    fn columns(&self) -> Vec<Col> {
        let mut cols = vec![
            Col::str_not_null("table_catalog"),
            Col::str_not_null("table_schema"),
            Col::str_not_null("table_name"),
        ];
        if self.masks {
            cols.push(Col::str_not_null("column_name"));
            cols.push(Col::str_not_null("mask_catalog"));
            cols.push(Col::str_not_null("mask_schema"));
            cols.push(Col::str_not_null("mask_name"));
            cols.push(Col::str("using_columns"));
        } else {
            cols.push(Col::str_not_null("filter_catalog"));
            cols.push(Col::str_not_null("filter_schema"));
            cols.push(Col::str_not_null("filter_name"));
            cols.push(Col::str("target_columns"));
        }
        cols
    }

    fn fill(&self, reader: &Reader<'_>, cols: &mut [Col]) -> Result<()> {
        for c in reader.catalogs {
            let visible: BTreeMap<(String, String), TableEntry> = reader
                .access
                .tables(c, None)?
                .into_iter()
                .map(|t| ((t.schema.clone(), t.name.clone()), t))
                .collect();
            for p in reader.metastore.list_policies(c)? {
                if p.column.is_some() != self.masks {
                    continue;
                }
                let Some(t) = visible.get(&(p.schema.clone(), p.table.clone())) else {
                    continue;
                };
                if let Some(col) = &p.column {
                    if !t.columns.iter().any(|tc| &tc.name == col) {
                        continue;
                    }
                }
                let mut function = p.function.splitn(3, '.').map(str::to_string);
                let mut vals = vec![p.catalog.clone(), p.schema.clone(), p.table.clone()];
                vals.extend(p.column.clone());
                vals.extend([
                    function.next().unwrap_or_default(),
                    function.next().unwrap_or_default(),
                    function.next().unwrap_or_default(),
                    p.using_columns.join(","),
                ]);
                for (col, v) in cols.iter_mut().zip(vals) {
                    col.push_str(Some(v));
                }
            }
        }
        Ok(())
    }
}
