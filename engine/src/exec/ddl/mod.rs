//! Namespace and table DDL, one file per statement: every change is made in Delta first (when
//! data is involved) and then recorded in the metastore in one SQLite transaction. This module
//! holds what several of them share: where managed data goes, and removing it.

pub(crate) mod alter_table;
pub(crate) mod catalog;
pub(crate) mod comment;
pub(crate) mod create_table;
pub(crate) mod create_view;
pub(crate) mod drop_table;
pub(crate) mod external_location;
pub(crate) mod procedure;
pub(crate) mod schedule;
pub(crate) mod schema;
pub(crate) mod tags;

use url::Url;
use weir_catalog::{TableEntry, TableKind};

use crate::access::Access;
use crate::error::{EngineError, Result};
use crate::session::Session;
use crate::storage::StorageConfig;

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn is_delta_property(key: &str) -> bool {
    key.starts_with("delta.")
}

impl Session {
    /// Deletes the data of managed tables that were dropped. A failure here leaves orphaned
    /// files, never a dangling metastore entry, so it is logged rather than returned.
    async fn remove_managed_data(&self, tables: &[TableEntry]) {
        for t in tables {
            self.state.tables.evict(&t.id);
        }
        for t in tables.iter().filter(|t| t.kind == TableKind::Managed) {
            if let Some(loc) = &t.location {
                let result = match self.state.storage.resolve_location(loc) {
                    Ok(url) => self.state.storage.delete_tree(&url).await,
                    Err(e) => Err(e),
                };
                if let Err(e) = result {
                    tracing::warn!(table = %t.full_name(), location = %loc, "could not remove managed data: {e}");
                }
            }
        }
    }

    fn managed_location(&self, c: &str, s: &str, t: &str) -> Result<Url> {
        let m = &self.state.metastore;
        let schema = m.get_schema(c, s)?.ok_or_else(|| {
            EngineError::UndefinedSchema(format!("schema '{c}.{s}' does not exist"))
        })?;
        let catalog = m
            .get_catalog(c)?
            .ok_or_else(|| crate::system_tables::catalog::missing_catalog(&c))?;
        // The directory name keeps only safe characters of the table name: a name such as
        // `?x` or `/x` must never change where the URL points.
        let readable: String = t
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .take(64)
            .collect();
        let leaf = format!("{readable}-{}", uuid::Uuid::new_v4().simple());
        let root = if let Some(l) = schema.managed_location {
            Url::parse(&l).map_err(|e| EngineError::Internal(e.to_string()))?
        } else if let Some(l) = catalog.managed_location {
            StorageConfig::child(
                &Url::parse(&l).map_err(|e| EngineError::Internal(e.to_string()))?,
                s,
            )?
        } else {
            StorageConfig::child(&StorageConfig::child(&self.state.storage.warehouse, c)?, s)?
        };
        StorageConfig::child(&root, &leaf)
    }

    /// A `MANAGED LOCATION` of CREATE CATALOG / SCHEMA, resolved: an admin's to set.
    fn resolve_managed_location(
        &self,
        access: &Access,
        location: Option<String>,
    ) -> Result<Option<Url>> {
        if location.is_some() {
            access.require_admin("set a MANAGED LOCATION")?;
        }
        location
            .map(|l| self.state.storage.resolve_location(&l))
            .transpose()
    }
}
