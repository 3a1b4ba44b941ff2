//! Catalogs, schemas, tables and views: creating, listing, renaming and dropping them.

use rusqlite::{params, Connection, OptionalExtension};

use super::rows::{catalog_from_row, raw_table, schema_from_row, table_from_raw, TABLE_COLUMNS};
use super::{json, now_ms, Metastore};
use crate::error::{MetastoreError, Result};
use crate::model::*;
use crate::DEFAULT_SCHEMA;

impl Metastore {
    // ---- catalogs -------------------------------------------------------------------------

    /// Creates a catalog together with its `default` schema. Returns false if it existed and
    /// `if_not_exists` was set.
    pub fn create_catalog(
        &self,
        name: &str,
        comment: Option<&str>,
        managed_location: Option<&str>,
        owner: &str,
        if_not_exists: bool,
    ) -> Result<bool> {
        self.write(|tx| {
            if get_catalog(tx, name)?.is_some() {
                return if if_not_exists {
                    Ok(false)
                } else {
                    Err(MetastoreError::already_exists("catalog", name))
                };
            }
            insert_catalog(tx, name, comment, managed_location, owner)?;
            Ok(true)
        })
    }

    pub fn get_catalog(&self, name: &str) -> Result<Option<CatalogEntry>> {
        get_catalog(&self.lock(), name)
    }

    pub fn catalog_names(&self) -> Result<Vec<String>> {
        let conn = self.lock();
        let mut stmt = conn.prepare("SELECT name FROM catalogs ORDER BY name")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn list_catalogs(&self) -> Result<Vec<CatalogEntry>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT name, comment, managed_location, owner, created_at_ms FROM catalogs ORDER BY name",
        )?;
        let rows = stmt.query_map([], catalog_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Drops a catalog. Without `cascade` it must hold nothing but an empty `default` schema.
    /// Returns the tables that went with it, so the caller can remove managed data.
    pub fn drop_catalog(&self, name: &str, cascade: bool) -> Result<Vec<TableEntry>> {
        self.write(|tx| {
            if get_catalog(tx, name)?.is_none() {
                return Err(MetastoreError::not_found("catalog", name));
            }
            let tables = list_tables_where(tx, "catalog = ?1", params![name])?;
            if !cascade {
                let schemas: Vec<String> = list_schema_names(tx, name)?
                    .into_iter()
                    .filter(|s| s != DEFAULT_SCHEMA)
                    .collect();
                if !schemas.is_empty() || !tables.is_empty() {
                    return Err(MetastoreError::NotEmpty {
                        kind: "catalog",
                        name: name.to_string(),
                        detail: "it contains schemas or tables; use CASCADE".to_string(),
                    });
                }
            }
            tx.execute("DELETE FROM tags WHERE catalog = ?1", params![name])?;
            tx.execute(
                "DELETE FROM grants WHERE object_type <> 'METASTORE' AND catalog = ?1",
                params![name],
            )?;
            tx.execute(
                "DELETE FROM table_policies WHERE catalog = ?1",
                params![name],
            )?;
            tx.execute("DELETE FROM catalogs WHERE name = ?1", params![name])?;
            Ok(tables)
        })
    }

    pub fn set_catalog_comment(&self, name: &str, comment: Option<&str>) -> Result<()> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE catalogs SET comment = ?2 WHERE name = ?1",
                params![name, comment],
            )?;
            if n == 0 {
                return Err(MetastoreError::not_found("catalog", name));
            }
            Ok(())
        })
    }

    // ---- schemas --------------------------------------------------------------------------

    pub fn create_schema(
        &self,
        catalog: &str,
        name: &str,
        comment: Option<&str>,
        managed_location: Option<&str>,
        owner: &str,
        if_not_exists: bool,
    ) -> Result<bool> {
        self.write(|tx| {
            if get_catalog(tx, catalog)?.is_none() {
                return Err(MetastoreError::not_found("catalog", catalog));
            }
            if get_schema(tx, catalog, name)?.is_some() {
                return if if_not_exists {
                    Ok(false)
                } else {
                    Err(MetastoreError::already_exists(
                        "schema",
                        format!("{catalog}.{name}"),
                    ))
                };
            }
            insert_schema(tx, catalog, name, comment, managed_location, owner)?;
            Ok(true)
        })
    }

    pub fn get_schema(&self, catalog: &str, name: &str) -> Result<Option<SchemaEntry>> {
        get_schema(&self.lock(), catalog, name)
    }

    pub fn list_schemas(&self, catalog: &str) -> Result<Vec<SchemaEntry>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT catalog, name, comment, managed_location, owner, created_at_ms FROM schemas
             WHERE catalog = ?1 ORDER BY name",
        )?;
        let rows = stmt.query_map(params![catalog], schema_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn drop_schema(&self, catalog: &str, name: &str, cascade: bool) -> Result<Vec<TableEntry>> {
        self.write(|tx| {
            if get_schema(tx, catalog, name)?.is_none() {
                return Err(MetastoreError::not_found(
                    "schema",
                    format!("{catalog}.{name}"),
                ));
            }
            let tables =
                list_tables_where(tx, "catalog = ?1 AND schema = ?2", params![catalog, name])?;
            if !cascade && !tables.is_empty() {
                return Err(MetastoreError::NotEmpty {
                    kind: "schema",
                    name: format!("{catalog}.{name}"),
                    detail: format!(
                        "it contains {} table(s) or view(s); use CASCADE",
                        tables.len()
                    ),
                });
            }
            let routines: i64 = tx.query_row(
                "SELECT (SELECT count(*) FROM procedures WHERE catalog = ?1 AND schema = ?2)
                      + (SELECT count(*) FROM schedules WHERE catalog = ?1 AND schema = ?2)",
                params![catalog, name],
                |r| r.get(0),
            )?;
            if !cascade && routines > 0 {
                return Err(MetastoreError::NotEmpty {
                    kind: "schema",
                    name: format!("{catalog}.{name}"),
                    detail: format!(
                        "it contains {routines} procedure(s) or schedule(s); use CASCADE"
                    ),
                });
            }
            tx.execute(
                "DELETE FROM tags WHERE catalog = ?1 AND schema = ?2",
                params![catalog, name],
            )?;
            tx.execute(
                "DELETE FROM grants WHERE object_type IN ('SCHEMA', 'TABLE', 'FUNCTION', 'PROCEDURE')
                 AND catalog = ?1 AND schema = ?2",
                params![catalog, name],
            )?;
            tx.execute(
                "DELETE FROM table_policies WHERE catalog = ?1 AND schema = ?2",
                params![catalog, name],
            )?;
            tx.execute(
                "DELETE FROM schemas WHERE catalog = ?1 AND name = ?2",
                params![catalog, name],
            )?;
            Ok(tables)
        })
    }

    pub fn set_schema_comment(
        &self,
        catalog: &str,
        name: &str,
        comment: Option<&str>,
    ) -> Result<()> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE schemas SET comment = ?3 WHERE catalog = ?1 AND name = ?2",
                params![catalog, name, comment],
            )?;
            if n == 0 {
                return Err(MetastoreError::not_found(
                    "schema",
                    format!("{catalog}.{name}"),
                ));
            }
            Ok(())
        })
    }

    // ---- tables ---------------------------------------------------------------------------

    /// Inserts a table or view. With `replace`, an existing entry of the same name is replaced and
    /// returned.
    pub fn create_table(&self, entry: &TableEntry, replace: bool) -> Result<Option<TableEntry>> {
        self.write(|tx| {
            if get_schema(tx, &entry.catalog, &entry.schema)?.is_none() {
                return Err(MetastoreError::not_found(
                    "schema",
                    format!("{}.{}", entry.catalog, entry.schema),
                ));
            }
            let existing = get_table(tx, &entry.catalog, &entry.schema, &entry.name)?;
            if existing.is_some() {
                if !replace {
                    return Err(MetastoreError::already_exists("table", entry.full_name()));
                }
                tx.execute(
                    "DELETE FROM tables WHERE catalog = ?1 AND schema = ?2 AND name = ?3",
                    params![entry.catalog, entry.schema, entry.name],
                )?;
            }
            insert_table(tx, entry)?;
            Ok(existing)
        })
    }

    pub fn get_table(&self, catalog: &str, schema: &str, name: &str) -> Result<Option<TableEntry>> {
        get_table(&self.lock(), catalog, schema, name)
    }

    pub fn list_tables(&self, catalog: &str, schema: &str) -> Result<Vec<TableEntry>> {
        list_tables_where(
            &self.lock(),
            "catalog = ?1 AND schema = ?2",
            params![catalog, schema],
        )
    }

    pub fn list_tables_in_catalog(&self, catalog: &str) -> Result<Vec<TableEntry>> {
        list_tables_where(&self.lock(), "catalog = ?1", params![catalog])
    }

    pub fn table_names(&self, catalog: &str, schema: &str) -> Result<Vec<String>> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare("SELECT name FROM tables WHERE catalog = ?1 AND schema = ?2 ORDER BY name")?;
        let rows = stmt.query_map(params![catalog, schema], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn schema_names(&self, catalog: &str) -> Result<Vec<String>> {
        list_schema_names(&self.lock(), catalog)
    }

    pub fn drop_table(&self, catalog: &str, schema: &str, name: &str) -> Result<TableEntry> {
        self.write(|tx| {
            let entry = get_table(tx, catalog, schema, name)?.ok_or_else(|| {
                MetastoreError::not_found("table", format!("{catalog}.{schema}.{name}"))
            })?;
            tx.execute(
                "DELETE FROM tables WHERE catalog = ?1 AND schema = ?2 AND name = ?3",
                params![catalog, schema, name],
            )?;
            tx.execute(
                "DELETE FROM tags WHERE catalog = ?1 AND schema = ?2 AND tbl = ?3",
                params![catalog, schema, name],
            )?;
            // A new table of the same name starts without the old one's grants and policies.
            tx.execute(
                "DELETE FROM table_policies WHERE catalog = ?1 AND schema = ?2 AND tbl = ?3",
                params![catalog, schema, name],
            )?;
            tx.execute(
                "DELETE FROM grants WHERE object_type = 'TABLE' AND catalog = ?1 AND schema = ?2
                 AND name = ?3",
                params![catalog, schema, name],
            )?;
            Ok(entry)
        })
    }

    /// Renames a table within its catalog (Unity Catalog does not move tables across catalogs).
    pub fn rename_table(&self, from: &TableEntry, to_schema: &str, to_name: &str) -> Result<()> {
        self.write(|tx| {
            if get_schema(tx, &from.catalog, to_schema)?.is_none() {
                return Err(MetastoreError::not_found("schema", format!("{}.{to_schema}", from.catalog)));
            }
            if get_table(tx, &from.catalog, to_schema, to_name)?.is_some() {
                return Err(MetastoreError::already_exists(
                    "table",
                    format!("{}.{to_schema}.{to_name}", from.catalog),
                ));
            }
            tx.execute(
                "UPDATE tables SET schema = ?4, name = ?5, updated_at_ms = ?6
                 WHERE catalog = ?1 AND schema = ?2 AND name = ?3",
                params![from.catalog, from.schema, from.name, to_schema, to_name, now_ms()],
            )?;
            tx.execute(
                "UPDATE tags SET schema = ?4, tbl = ?5 WHERE catalog = ?1 AND schema = ?2 AND tbl = ?3",
                params![from.catalog, from.schema, from.name, to_schema, to_name],
            )?;
            tx.execute(
                "UPDATE grants SET schema = ?4, name = ?5 WHERE object_type = 'TABLE'
                 AND catalog = ?1 AND schema = ?2 AND name = ?3",
                params![from.catalog, from.schema, from.name, to_schema, to_name],
            )?;
            tx.execute(
                "UPDATE table_policies SET schema = ?4, tbl = ?5
                 WHERE catalog = ?1 AND schema = ?2 AND tbl = ?3",
                params![from.catalog, from.schema, from.name, to_schema, to_name],
            )?;
            Ok(())
        })
    }

    /// Replaces the mutable descriptive fields of a table (columns, properties, comment).
    pub fn update_table(&self, entry: &TableEntry) -> Result<()> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE tables SET columns = ?4, properties = ?5, comment = ?6, partition_columns = ?7,
                 updated_at_ms = ?8, owner = ?9
                 WHERE catalog = ?1 AND schema = ?2 AND name = ?3",
                params![
                    entry.catalog,
                    entry.schema,
                    entry.name,
                    json(&entry.columns),
                    json(&entry.properties),
                    entry.comment,
                    json(&entry.partition_columns),
                    now_ms(),
                    entry.owner,
                ],
            )?;
            if n == 0 {
                return Err(MetastoreError::not_found("table", entry.full_name()));
            }
            Ok(())
        })
    }

    /// Replaces only the column list of a table (to follow its Delta schema).
    pub fn update_columns(
        &self,
        catalog: &str,
        schema: &str,
        name: &str,
        columns: &[ColumnEntry],
    ) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE tables SET columns = ?4, updated_at_ms = ?5 WHERE catalog = ?1 AND schema = ?2 AND name = ?3",
                params![catalog, schema, name, json(&columns), now_ms()],
            )?;
            Ok(())
        })
    }
}

pub(super) fn insert_catalog(
    tx: &Connection,
    name: &str,
    comment: Option<&str>,
    managed_location: Option<&str>,
    owner: &str,
) -> Result<()> {
    tx.execute(
        "INSERT INTO catalogs (name, comment, managed_location, owner, created_at_ms) VALUES (?1,?2,?3,?4,?5)",
        params![name, comment, managed_location, owner, now_ms()],
    )?;
    insert_schema(
        tx,
        name,
        DEFAULT_SCHEMA,
        Some("Default schema"),
        None,
        owner,
    )
}

fn insert_schema(
    tx: &Connection,
    catalog: &str,
    name: &str,
    comment: Option<&str>,
    managed_location: Option<&str>,
    owner: &str,
) -> Result<()> {
    tx.execute(
        "INSERT INTO schemas (catalog, name, comment, managed_location, owner, created_at_ms)
         VALUES (?1,?2,?3,?4,?5,?6)",
        params![catalog, name, comment, managed_location, owner, now_ms()],
    )?;
    Ok(())
}

fn insert_table(tx: &Connection, e: &TableEntry) -> Result<()> {
    tx.execute(
        "INSERT INTO tables (id, catalog, schema, name, kind, location, columns, partition_columns,
           properties, comment, view_definition, owner, created_at_ms, updated_at_ms)
         VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)",
        params![
            e.id,
            e.catalog,
            e.schema,
            e.name,
            e.kind.as_str(),
            e.location,
            json(&e.columns),
            json(&e.partition_columns),
            json(&e.properties),
            e.comment,
            e.view_definition,
            e.owner,
            e.created_at_ms,
            e.updated_at_ms,
        ],
    )?;
    Ok(())
}

fn get_catalog(conn: &Connection, name: &str) -> Result<Option<CatalogEntry>> {
    Ok(conn
        .query_row(
            "SELECT name, comment, managed_location, owner, created_at_ms FROM catalogs WHERE name = ?1",
            params![name],
            catalog_from_row,
        )
        .optional()?)
}

fn get_schema(conn: &Connection, catalog: &str, name: &str) -> Result<Option<SchemaEntry>> {
    Ok(conn
        .query_row(
            "SELECT catalog, name, comment, managed_location, owner, created_at_ms FROM schemas
             WHERE catalog = ?1 AND name = ?2",
            params![catalog, name],
            schema_from_row,
        )
        .optional()?)
}

fn list_schema_names(conn: &Connection, catalog: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM schemas WHERE catalog = ?1 ORDER BY name")?;
    let rows = stmt.query_map(params![catalog], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn get_table(
    conn: &Connection,
    catalog: &str,
    schema: &str,
    name: &str,
) -> Result<Option<TableEntry>> {
    let raw = conn
        .query_row(
            &format!("SELECT {TABLE_COLUMNS} FROM tables WHERE catalog = ?1 AND schema = ?2 AND name = ?3"),
            params![catalog, schema, name],
            raw_table,
        )
        .optional()?;
    raw.map(table_from_raw).transpose()
}

fn list_tables_where(
    conn: &Connection,
    predicate: &str,
    args: impl rusqlite::Params,
) -> Result<Vec<TableEntry>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {TABLE_COLUMNS} FROM tables WHERE {predicate} ORDER BY schema, name"
    ))?;
    let raws = stmt
        .query_map(args, raw_table)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    raws.into_iter().map(table_from_raw).collect()
}
