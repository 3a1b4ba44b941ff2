//! `information_schema.{catalog,schema,table,column}_tags`: the tags on the objects the reader
//! may see. The four views have one shape, one name column per level.

use std::collections::{BTreeMap, BTreeSet};

use weir_catalog::TableEntry;

use super::ObjectLevel;
use crate::batches::Col;
use crate::error::Result;
use crate::system_tables::{Reader, SystemTable};

/// The tags on objects of one level: catalogs, schemas, tables or columns.
#[derive(Debug)]
pub(crate) struct Tags {
    name: &'static str,
    level: ObjectLevel,
}

pub(crate) const CATALOG_TAGS: Tags = Tags {
    name: "catalog_tags",
    level: ObjectLevel::Catalog,
};
pub(crate) const SCHEMA_TAGS: Tags = Tags {
    name: "schema_tags",
    level: ObjectLevel::Schema,
};
pub(crate) const TABLE_TAGS: Tags = Tags {
    name: "table_tags",
    level: ObjectLevel::Table,
};
pub(crate) const COLUMN_TAGS: Tags = Tags {
    name: "column_tags",
    level: ObjectLevel::Column,
};

impl SystemTable for Tags {
    fn name(&self) -> &'static str {
        self.name
    }

    fn columns(&self) -> Vec<Col> {
        let names = ["catalog_name", "schema_name", "table_name", "column_name"];
        let mut cols: Vec<Col> = names[..self.level.parts()]
            .iter()
            .map(|n| Col::str_not_null(n))
            .collect();
        cols.push(Col::str_not_null("tag_name"));
        cols.push(Col::str("tag_value"));
        cols
    }

    fn fill(&self, reader: &Reader<'_>, cols: &mut [Col]) -> Result<()> {
        let access = reader.access;
        for c in reader.catalogs {
            let visible_schemas: BTreeSet<String> =
                access.schemas(c)?.into_iter().map(|s| s.name).collect();
            let visible_tables: BTreeMap<(String, String), TableEntry> = access
                .tables(c, None)?
                .into_iter()
                .map(|t| ((t.schema.clone(), t.name.clone()), t))
                .collect();
            let catalog_visible = access.catalog_visible(c)?;
            for t in reader.metastore.list_tags(c)? {
                let (shown, level) = if !t.table.is_empty() {
                    let shown = visible_tables
                        .get(&(t.schema.clone(), t.table.clone()))
                        .is_some_and(|e| {
                            t.column.is_empty() || e.columns.iter().any(|col| col.name == t.column)
                        });
                    (
                        shown,
                        if t.column.is_empty() {
                            ObjectLevel::Table
                        } else {
                            ObjectLevel::Column
                        },
                    )
                } else if !t.schema.is_empty() {
                    (visible_schemas.contains(&t.schema), ObjectLevel::Schema)
                } else {
                    (catalog_visible, ObjectLevel::Catalog)
                };
                if !shown || level != self.level {
                    continue;
                }
                let mut vals = vec![t.catalog, t.schema, t.table, t.column];
                vals.truncate(self.level.parts());
                vals.push(t.key);
                vals.push(t.value);
                for (col, v) in cols.iter_mut().zip(vals) {
                    col.push_str(Some(v));
                }
            }
        }
        Ok(())
    }
}
