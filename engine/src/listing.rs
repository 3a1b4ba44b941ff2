//! The namespace as the fronts' metadata calls see it (Flight SQL GetCatalogs, GetDbSchemas,
//! GetTables). Everything comes from the metastore, filtered to what the session's user may see:
//! listing never opens a Delta log.

use std::sync::Arc;

use arrow::datatypes::{Field, Schema, SchemaRef};
use weir_catalog::TableKind;

use crate::error::Result;
use crate::session::Session;
use crate::types::parse_spark_type;

/// One table or view of a listing.
#[derive(Debug, Clone)]
pub struct ListedTable {
    pub catalog: String,
    pub schema: String,
    pub name: String,
    /// `TABLE` or `VIEW` (the JDBC/ODBC table types BI tools expect).
    pub table_type: &'static str,
    /// The Arrow schema from the metastore's column list, when asked for.
    pub arrow_schema: Option<SchemaRef>,
    /// Each column's Spark SQL type name and comment, in schema order, when asked for.
    pub column_details: Vec<(String, Option<String>)>,
}

/// The table types a listing can contain.
pub const TABLE_TYPES: [&str; 2] = ["TABLE", "VIEW"];

impl Session {
    /// Catalog names, sorted.
    pub fn list_catalogs(&self) -> Result<Vec<String>> {
        let access = self.access()?;
        let mut names: Vec<String> = crate::system_tables::listed::Listed(&access)
            .catalogs()?
            .into_iter()
            .map(|c| c.name)
            .collect();
        names.sort();
        Ok(names)
    }

    /// (catalog, schema) pairs of one catalog or, with `None`, of every catalog.
    pub fn list_schemas(&self, catalog: Option<&str>) -> Result<Vec<(String, String)>> {
        let catalogs = match catalog {
            Some(c) => vec![c.to_string()],
            None => self.list_catalogs()?,
        };
        let access = self.access()?;
        let mut out = Vec::new();
        for c in catalogs {
            for s in crate::system_tables::listed::Listed(&access).schemas(&c)? {
                out.push((c.clone(), s.name));
            }
        }
        Ok(out)
    }

    /// Tables and views of one catalog or of every catalog, with their Arrow schemas if
    /// `with_schema`.
    pub fn list_tables(
        &self,
        catalog: Option<&str>,
        with_schema: bool,
    ) -> Result<Vec<ListedTable>> {
        let catalogs = match catalog {
            Some(c) => vec![c.to_string()],
            None => self.list_catalogs()?,
        };
        let access = self.access()?;
        let mut out = Vec::new();
        for c in catalogs {
            // Only what the user may see, each table with only its visible columns.
            for entry in crate::system_tables::listed::Listed(&access).tables(&c, None)? {
                let arrow_schema = if with_schema {
                    let fields = entry
                        .columns
                        .iter()
                        .map(|col| {
                            Ok(Field::new(
                                &col.name,
                                parse_spark_type(&col.data_type)?,
                                col.nullable,
                            ))
                        })
                        .collect::<Result<Vec<_>>>()?;
                    Some(Arc::new(Schema::new(fields)))
                } else {
                    None
                };
                let column_details = if with_schema {
                    entry
                        .columns
                        .iter()
                        .map(|c| (c.data_type.clone(), c.comment.clone()))
                        .collect()
                } else {
                    vec![]
                };
                out.push(ListedTable {
                    column_details,
                    catalog: entry.catalog,
                    schema: entry.schema,
                    name: entry.name,
                    table_type: match entry.kind {
                        TableKind::View => "VIEW",
                        _ => "TABLE",
                    },
                    arrow_schema,
                });
            }
        }
        Ok(out)
    }
}
