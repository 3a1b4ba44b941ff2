use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};

use crate::error::{MetastoreError, Result};
use crate::model::*;
use crate::password::ScramSecret;
use crate::{DEFAULT_CATALOG, DEFAULT_SCHEMA};

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE catalogs (
    name TEXT PRIMARY KEY,
    comment TEXT,
    managed_location TEXT,
    owner TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
);
CREATE TABLE schemas (
    catalog TEXT NOT NULL REFERENCES catalogs(name) ON DELETE CASCADE,
    name TEXT NOT NULL,
    comment TEXT,
    managed_location TEXT,
    owner TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (catalog, name)
);
CREATE TABLE tables (
    id TEXT NOT NULL UNIQUE,
    catalog TEXT NOT NULL,
    schema TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    location TEXT,
    columns TEXT NOT NULL,
    partition_columns TEXT NOT NULL,
    properties TEXT NOT NULL,
    comment TEXT,
    view_definition TEXT,
    owner TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (catalog, schema, name),
    FOREIGN KEY (catalog, schema) REFERENCES schemas(catalog, name) ON DELETE CASCADE
);
CREATE TABLE tags (
    catalog TEXT NOT NULL,
    schema TEXT NOT NULL,
    tbl TEXT NOT NULL,
    col TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (catalog, schema, tbl, col, key)
);
CREATE TABLE users (
    name TEXT PRIMARY KEY,
    salt BLOB NOT NULL,
    iterations INTEGER NOT NULL,
    salted_password BLOB NOT NULL,
    created_at_ms INTEGER NOT NULL
);
"#,
    r#"
CREATE TABLE groups (
    name TEXT PRIMARY KEY,
    created_at_ms INTEGER NOT NULL
);
CREATE TABLE group_members (
    group_name TEXT NOT NULL REFERENCES groups(name) ON DELETE CASCADE,
    member_kind TEXT NOT NULL CHECK (member_kind IN ('USER', 'GROUP')),
    member TEXT NOT NULL,
    PRIMARY KEY (group_name, member_kind, member)
);
CREATE TABLE grants (
    object_type TEXT NOT NULL,
    catalog TEXT NOT NULL,
    schema TEXT NOT NULL,
    name TEXT NOT NULL,
    col TEXT NOT NULL,
    principal TEXT NOT NULL,
    privilege TEXT NOT NULL,
    grantor TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (object_type, catalog, schema, name, col, principal, privilege)
);
CREATE INDEX grants_by_principal ON grants (principal);
CREATE TABLE functions (
    catalog TEXT NOT NULL,
    schema TEXT NOT NULL,
    name TEXT NOT NULL,
    params TEXT NOT NULL,
    return_type TEXT NOT NULL,
    body TEXT NOT NULL,
    comment TEXT,
    owner TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (catalog, schema, name),
    FOREIGN KEY (catalog, schema) REFERENCES schemas(catalog, name) ON DELETE CASCADE
);
CREATE TABLE table_policies (
    catalog TEXT NOT NULL,
    schema TEXT NOT NULL,
    tbl TEXT NOT NULL,
    col TEXT NOT NULL,
    function TEXT NOT NULL,
    using_columns TEXT NOT NULL,
    PRIMARY KEY (catalog, schema, tbl, col)
);
INSERT INTO groups (name, created_at_ms) VALUES ('admins', 0);
INSERT INTO group_members (group_name, member_kind, member) VALUES ('admins', 'USER', 'admin');
"#,
];

/// The SQLite-backed metastore. All mutations run in a transaction, so a crash leaves either the
/// old or the new state (SQLite's WAL journal is durable on commit).
pub struct Metastore {
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for Metastore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metastore").finish_non_exhaustive()
    }
}

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

pub(crate) fn json<T: serde::Serialize>(v: &T) -> String {
    // Serializing plain maps and vectors of strings cannot fail.
    serde_json::to_string(v).unwrap_or_else(|_| "null".to_string())
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| MetastoreError::Corrupt(format!("{e}: {s}")))
}

impl Metastore {
    /// Opens (creating if needed) the metastore at `path` and applies pending migrations.
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        Self::init(conn)
    }

    pub fn open_in_memory() -> Result<Self> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<Self> {
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let tx = conn.transaction()?;
        for (i, migration) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.execute_batch(migration)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        }
        tx.commit()?;
        Ok(Metastore {
            conn: Mutex::new(conn),
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (transactions roll back on
        // drop), so a poisoned lock is safe to reuse.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Creates the default `main` catalog with its `default` schema on a new metastore.
    /// Returns true if it had to.
    pub fn bootstrap(&self, owner: &str) -> Result<bool> {
        self.write(|tx| {
            let n: i64 = tx.query_row("SELECT count(*) FROM catalogs", [], |r| r.get(0))?;
            if n > 0 {
                return Ok(false);
            }
            insert_catalog(tx, DEFAULT_CATALOG, Some("Default catalog"), None, owner)?;
            Ok(true)
        })
    }

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
            tx.execute(
                "DELETE FROM tags WHERE catalog = ?1 AND schema = ?2",
                params![catalog, name],
            )?;
            tx.execute(
                "DELETE FROM grants WHERE object_type IN ('SCHEMA', 'TABLE', 'FUNCTION')
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

    // ---- tags -----------------------------------------------------------------------------

    pub fn set_tags(
        &self,
        on: &Securable,
        column: Option<&str>,
        tags: &[(String, String)],
    ) -> Result<()> {
        self.write(|tx| {
            let (c, s, t) = on.key();
            for (k, v) in tags {
                tx.execute(
                    "INSERT INTO tags (catalog, schema, tbl, col, key, value) VALUES (?1,?2,?3,?4,?5,?6)
                     ON CONFLICT (catalog, schema, tbl, col, key) DO UPDATE SET value = excluded.value",
                    params![c, s, t, column.unwrap_or(""), k, v],
                )?;
            }
            Ok(())
        })
    }

    pub fn unset_tags(&self, on: &Securable, column: Option<&str>, keys: &[String]) -> Result<()> {
        self.write(|tx| {
            let (c, s, t) = on.key();
            for k in keys {
                tx.execute(
                    "DELETE FROM tags WHERE catalog = ?1 AND schema = ?2 AND tbl = ?3 AND col = ?4 AND key = ?5",
                    params![c, s, t, column.unwrap_or(""), k],
                )?;
            }
            Ok(())
        })
    }

    /// All tags in a catalog (for information_schema.*_tags).
    pub fn list_tags(&self, catalog: &str) -> Result<Vec<TagEntry>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT catalog, schema, tbl, col, key, value FROM tags WHERE catalog = ?1
             ORDER BY schema, tbl, col, key",
        )?;
        let rows = stmt.query_map(params![catalog], |r| {
            Ok(TagEntry {
                catalog: r.get(0)?,
                schema: r.get(1)?,
                table: r.get(2)?,
                column: r.get(3)?,
                key: r.get(4)?,
                value: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    // ---- users ----------------------------------------------------------------------------

    /// Creates a user, or replaces its password when `replace` is set.
    pub fn put_user(&self, name: &str, secret: &ScramSecret, replace: bool) -> Result<()> {
        self.write(|tx| {
            let exists: bool = tx
                .query_row("SELECT 1 FROM users WHERE name = ?1", params![name], |_| {
                    Ok(true)
                })
                .optional()?
                .unwrap_or(false);
            if exists && !replace {
                return Err(MetastoreError::already_exists("user", name));
            }
            tx.execute(
                "INSERT INTO users (name, salt, iterations, salted_password, created_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (name) DO UPDATE SET salt = excluded.salt,
                   iterations = excluded.iterations, salted_password = excluded.salted_password",
                params![
                    name,
                    secret.salt,
                    secret.iterations,
                    secret.salted_password,
                    now_ms()
                ],
            )?;
            Ok(())
        })
    }

    pub fn get_user(&self, name: &str) -> Result<Option<UserEntry>> {
        let conn = self.lock();
        Ok(conn
            .query_row(
                "SELECT name, salt, iterations, salted_password, created_at_ms FROM users WHERE name = ?1",
                params![name],
                |r| {
                    Ok(UserEntry {
                        name: r.get(0)?,
                        secret: ScramSecret {
                            salt: r.get(1)?,
                            iterations: r.get(2)?,
                            salted_password: r.get(3)?,
                        },
                        created_at_ms: r.get(4)?,
                    })
                },
            )
            .optional()?)
    }

    pub fn list_user_names(&self) -> Result<Vec<String>> {
        let conn = self.lock();
        let mut stmt = conn.prepare("SELECT name FROM users ORDER BY name")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

fn insert_catalog(
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

fn catalog_from_row(r: &Row<'_>) -> rusqlite::Result<CatalogEntry> {
    Ok(CatalogEntry {
        name: r.get(0)?,
        comment: r.get(1)?,
        managed_location: r.get(2)?,
        owner: r.get(3)?,
        created_at_ms: r.get(4)?,
    })
}

fn schema_from_row(r: &Row<'_>) -> rusqlite::Result<SchemaEntry> {
    Ok(SchemaEntry {
        catalog: r.get(0)?,
        name: r.get(1)?,
        comment: r.get(2)?,
        managed_location: r.get(3)?,
        owner: r.get(4)?,
        created_at_ms: r.get(5)?,
    })
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

const TABLE_COLUMNS: &str = "id, catalog, schema, name, kind, location, columns, partition_columns,
    properties, comment, view_definition, owner, created_at_ms, updated_at_ms";

type RawTable = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    i64,
    i64,
);

fn raw_table(r: &Row<'_>) -> rusqlite::Result<RawTable> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
        r.get(11)?,
        r.get(12)?,
        r.get(13)?,
    ))
}

fn table_from_raw(raw: RawTable) -> Result<TableEntry> {
    let (
        id,
        catalog,
        schema,
        name,
        kind,
        location,
        columns,
        partition_columns,
        properties,
        comment,
        view_definition,
        owner,
        created_at_ms,
        updated_at_ms,
    ) = raw;
    Ok(TableEntry {
        kind: TableKind::parse(&kind)
            .ok_or_else(|| MetastoreError::Corrupt(format!("unknown table kind {kind}")))?,
        columns: from_json(&columns)?,
        partition_columns: from_json(&partition_columns)?,
        properties: from_json::<BTreeMap<String, String>>(&properties)?,
        id,
        catalog,
        schema,
        name,
        location,
        comment,
        view_definition,
        owner,
        created_at_ms,
        updated_at_ms,
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn table(c: &str, s: &str, n: &str) -> TableEntry {
        TableEntry {
            id: uuid::Uuid::new_v4().to_string(),
            catalog: c.into(),
            schema: s.into(),
            name: n.into(),
            kind: TableKind::Managed,
            location: Some(format!("file:///tmp/{n}")),
            columns: vec![ColumnEntry {
                name: "id".into(),
                data_type: "bigint".into(),
                nullable: false,
                comment: None,
            }],
            partition_columns: vec![],
            properties: BTreeMap::new(),
            comment: None,
            view_definition: None,
            owner: "admin".into(),
            created_at_ms: 0,
            updated_at_ms: 0,
        }
    }

    #[test]
    fn namespace_round_trip_and_restrict() {
        let m = Metastore::open_in_memory().unwrap();
        assert!(m.bootstrap("admin").unwrap());
        assert!(!m.bootstrap("admin").unwrap());
        assert_eq!(m.schema_names("main").unwrap(), vec!["default"]);
        m.create_schema("main", "bronze", Some("raw"), None, "admin", false)
            .unwrap();
        assert!(matches!(
            m.create_schema("main", "bronze", None, None, "admin", false),
            Err(MetastoreError::AlreadyExists { .. })
        ));
        m.create_table(&table("main", "bronze", "t"), false)
            .unwrap();
        assert!(matches!(
            m.drop_schema("main", "bronze", false),
            Err(MetastoreError::NotEmpty { .. })
        ));
        let dropped = m.drop_schema("main", "bronze", true).unwrap();
        assert_eq!(dropped.len(), 1);
        assert!(m.get_table("main", "bronze", "t").unwrap().is_none());
    }

    #[test]
    fn survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        {
            let m = Metastore::open(&path).unwrap();
            m.bootstrap("admin").unwrap();
            m.create_table(&table("main", "default", "t"), false)
                .unwrap();
            m.set_tags(
                &Securable::Table("main".into(), "default".into(), "t".into()),
                Some("id"),
                &[("pii".into(), "no".into())],
            )
            .unwrap();
        }
        let m = Metastore::open(&path).unwrap();
        assert_eq!(
            m.get_table("main", "default", "t")
                .unwrap()
                .unwrap()
                .columns[0]
                .name,
            "id"
        );
        assert_eq!(m.list_tags("main").unwrap()[0].column, "id");
    }
}
