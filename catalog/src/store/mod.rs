//! The SQLite-backed metastore: the connection and its transactions here, one module per
//! concern below (schema migrations, the namespace, tags, principals, row mapping); grants,
//! groups, functions and policies are in `crate::governance`.

mod migrations;
mod namespace;
mod principals;
mod rows;
mod tags;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, Transaction};

use crate::error::{MetastoreError, Result};
use crate::DEFAULT_CATALOG;
use migrations::MIGRATIONS;
use namespace::insert_catalog;

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
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::*;

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
