//! The namespace as listings show it to one principal: the metastore's catalogs, schemas and
//! tables it may see, and the built-in `system` catalog with those of its schemas and tables
//! the principal may see (all of them for admins). SHOW, information_schema, pg_catalog and
//! the Flight SQL metadata calls list through this, so `system` appears in each alike.

use weir_catalog::{CatalogEntry, ColumnEntry, SchemaEntry, TableEntry, TableKind};

use crate::access::Access;
use crate::error::Result;
use crate::system_tables::names::SYSTEM_CATALOG;
use crate::system_tables::{access, SystemTable};

/// The schemas of `system` listings show, with their tables: not its `information_schema`,
/// which every catalog has and no listing shows.
const LISTED_SCHEMAS: &[(&str, &[&dyn SystemTable])] = &[(access::SCHEMA, access::TABLES)];

fn listed_schema_names() -> impl Iterator<Item = &'static str> {
    LISTED_SCHEMAS.iter().map(|(name, _)| *name)
}

fn schema_tables(schema: &str) -> Option<&'static [&'static dyn SystemTable]> {
    LISTED_SCHEMAS
        .iter()
        .find(|(name, _)| *name == schema)
        .map(|(_, tables)| *tables)
}

/// Who owns what Weir serves itself.
const SYSTEM_OWNER: &str = "System user";

/// What listings show `access`'s principal.
pub(crate) struct Listed<'a>(pub &'a Access);

fn system_catalog() -> CatalogEntry {
    CatalogEntry {
        name: SYSTEM_CATALOG.to_string(),
        comment: Some("Weir's own tables: audit and lineage".to_string()),
        managed_location: None,
        owner: SYSTEM_OWNER.to_string(),
        created_at_ms: 0,
    }
}

fn system_schema(name: &str) -> SchemaEntry {
    SchemaEntry {
        catalog: SYSTEM_CATALOG.to_string(),
        name: name.to_string(),
        comment: None,
        managed_location: None,
        owner: SYSTEM_OWNER.to_string(),
        created_at_ms: 0,
    }
}

/// The tables of `system.schema`, as entries (read-only and computed, like views).
fn system_tables(schema: &str) -> Result<Vec<TableEntry>> {
    let Some(tables) = schema_tables(schema) else {
        return Ok(vec![]);
    };
    tables
        .iter()
        .map(|t| {
            let arrow = crate::batches::batch(t.columns())?.schema();
            Ok(TableEntry {
                id: format!("{SYSTEM_CATALOG}.{schema}.{}", t.name()),
                catalog: SYSTEM_CATALOG.to_string(),
                schema: schema.to_string(),
                name: t.name().to_string(),
                kind: TableKind::View,
                location: None,
                columns: arrow
                    .fields()
                    .iter()
                    .map(|f| ColumnEntry {
                        name: f.name().clone(),
                        data_type: crate::types::spark_type_name(f.data_type()),
                        nullable: f.is_nullable(),
                        comment: None,
                    })
                    .collect(),
                partition_columns: vec![],
                properties: Default::default(),
                comment: None,
                view_definition: None,
                owner: SYSTEM_OWNER.to_string(),
                created_at_ms: 0,
                updated_at_ms: 0,
            })
        })
        .collect()
}

impl Listed<'_> {
    /// Whether the principal sees `system` at all.
    pub(crate) fn sees_system(&self) -> Result<bool> {
        self.0.catalog_visible(SYSTEM_CATALOG)
    }

    pub(crate) fn catalogs(&self) -> Result<Vec<CatalogEntry>> {
        let mut out = self.0.catalogs()?;
        if self.sees_system()? {
            out.push(system_catalog());
            out.sort_by(|a, b| a.name.cmp(&b.name));
        }
        Ok(out)
    }

    pub(crate) fn schemas(&self, catalog: &str) -> Result<Vec<SchemaEntry>> {
        if catalog != SYSTEM_CATALOG {
            return self.0.schemas(catalog);
        }
        let mut out = vec![];
        for name in listed_schema_names() {
            if self.0.schema_visible(SYSTEM_CATALOG, name)? {
                out.push(system_schema(name));
            }
        }
        Ok(out)
    }

    /// The visible tables of a catalog (or one of its schemas).
    pub(crate) fn tables(&self, catalog: &str, schema: Option<&str>) -> Result<Vec<TableEntry>> {
        if catalog != SYSTEM_CATALOG {
            return self.0.tables(catalog, schema);
        }
        let mut out = vec![];
        for name in listed_schema_names() {
            if schema.is_some_and(|s| s != name) {
                continue;
            }
            for t in system_tables(name)? {
                if self.0.table_visible(&t)? {
                    out.push(t);
                }
            }
        }
        Ok(out)
    }

    /// A table as the principal sees it, `None` when it is invisible to it.
    pub(crate) fn table(&self, c: &str, s: &str, t: &str) -> Result<Option<TableEntry>> {
        if c != SYSTEM_CATALOG {
            return self.0.table(c, s, t);
        }
        Ok(self.tables(c, Some(s))?.into_iter().find(|e| e.name == t))
    }

    /// Whether schema `c.s` exists for the principal (in `system`, its `information_schema`
    /// too, which no listing shows but every reader may read).
    pub(crate) fn has_schema(&self, c: &str, s: &str) -> Result<bool> {
        if c == SYSTEM_CATALOG && s == crate::system_tables::names::INFORMATION_SCHEMA {
            return Ok(true);
        }
        Ok(self.schemas(c)?.iter().any(|e| e.name == s))
    }
}

/// The listing pg_catalog lists through.
pub(crate) struct WithSystem;

impl crate::pg_compat::NamespaceListing for WithSystem {
    fn catalogs(&self, access: &Access) -> Result<Vec<CatalogEntry>> {
        Listed(access).catalogs()
    }

    fn schemas(&self, access: &Access, catalog: &str) -> Result<Vec<SchemaEntry>> {
        Listed(access).schemas(catalog)
    }

    fn tables(
        &self,
        access: &Access,
        catalog: &str,
        schema: Option<&str>,
    ) -> Result<Vec<TableEntry>> {
        Listed(access).tables(catalog, schema)
    }

    fn table(&self, access: &Access, c: &str, s: &str, t: &str) -> Result<Option<TableEntry>> {
        Listed(access).table(c, s, t)
    }
}
