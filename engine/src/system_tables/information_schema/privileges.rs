//! `information_schema.{catalog,schema,table,column}_privileges`: the grants on objects the
//! reader may see (its own, and those on objects it owns or manages). The four views have one
//! shape, one name column per level.

use weir_catalog::Securable;

use super::ObjectLevel;
use crate::batches::Col;
use crate::error::Result;
use crate::system_tables::{Reader, SystemTable};

/// The grants on objects of one level: catalogs, schemas, tables or columns.
#[derive(Debug)]
pub(crate) struct Privileges {
    name: &'static str,
    level: ObjectLevel,
}

pub(crate) const CATALOG_PRIVILEGES: Privileges = Privileges {
    name: "catalog_privileges",
    level: ObjectLevel::Catalog,
};
pub(crate) const SCHEMA_PRIVILEGES: Privileges = Privileges {
    name: "schema_privileges",
    level: ObjectLevel::Schema,
};
pub(crate) const TABLE_PRIVILEGES: Privileges = Privileges {
    name: "table_privileges",
    level: ObjectLevel::Table,
};
pub(crate) const COLUMN_PRIVILEGES: Privileges = Privileges {
    name: "column_privileges",
    level: ObjectLevel::Column,
};

impl SystemTable for Privileges {
    fn name(&self) -> &'static str {
        self.name
    }

    fn columns(&self) -> Vec<Col> {
        let names: &[&str] = match self.level {
            ObjectLevel::Catalog => &["catalog_name"],
            ObjectLevel::Schema => &["catalog_name", "schema_name"],
            ObjectLevel::Table => &["table_catalog", "table_schema", "table_name"],
            ObjectLevel::Column => &["table_catalog", "table_schema", "table_name", "column_name"],
        };
        let mut cols = vec![Col::str_not_null("grantor"), Col::str_not_null("grantee")];
        cols.extend(names.iter().map(|n| Col::str_not_null(n)));
        cols.push(Col::str_not_null("privilege_type"));
        cols.push(Col::str_not_null("is_grantable"));
        cols.push(Col::str("inherited_from"));
        cols
    }

    fn fill(&self, reader: &Reader<'_>, cols: &mut [Col]) -> Result<()> {
        let access = reader.access;
        let in_scope = |c: &String| reader.catalogs.contains(c);
        for g in access.all_grants()? {
            let (parts, column) = match (&g.on, &g.column, self.level) {
                (Securable::Catalog(gc), None, ObjectLevel::Catalog) if in_scope(gc) => {
                    (vec![gc.clone()], None)
                }
                (Securable::Schema(gc, gs), None, ObjectLevel::Schema) if in_scope(gc) => {
                    (vec![gc.clone(), gs.clone()], None)
                }
                (Securable::Table(gc, gs, gt), None, ObjectLevel::Table) if in_scope(gc) => {
                    (vec![gc.clone(), gs.clone(), gt.clone()], None)
                }
                (Securable::Table(gc, gs, gt), Some(column), ObjectLevel::Column)
                    if in_scope(gc) =>
                {
                    (
                        vec![gc.clone(), gs.clone(), gt.clone()],
                        Some(column.clone()),
                    )
                }
                _ => continue,
            };
            if !access.grant_visible(&g)? {
                continue;
            }
            let mut vals = vec![g.grantor.clone(), g.principal.clone()];
            vals.extend(parts);
            vals.extend(column);
            vals.push(g.privilege.as_str().to_string());
            vals.push("NO".to_string());
            vals.push("NONE".to_string());
            for (col, v) in cols.iter_mut().zip(vals) {
                col.push_str(Some(v));
            }
        }
        Ok(())
    }
}
