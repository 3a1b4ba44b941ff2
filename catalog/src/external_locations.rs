//! External locations: storage URLs an admin names so that other principals may read the files
//! under them (`READ FILES`), the Unity Catalog way of giving storage access without storage
//! paths for everyone. Two locations never overlap, so a path lies in at most one.

use rusqlite::{params, OptionalExtension, Row};

use crate::error::{MetastoreError, Result};
use crate::store::Metastore;

/// One external location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalLocation {
    pub name: String,
    /// Normalised: `scheme://authority/path` or an absolute local path, no trailing `/`.
    pub url: String,
    pub comment: Option<String>,
    pub owner: String,
    pub created_at_ms: i64,
    pub created_by: String,
    pub updated_at_ms: i64,
}

/// A change to an external location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocationChange {
    Rename(String),
    Url(String),
    Comment(Option<String>),
}

const COLUMNS: &str = "name, url, comment, owner, created_at_ms, created_by, updated_at_ms";

/// `url` is `location` or lies under it (whole path segments: `s3://b/raw` holds
/// `s3://b/raw/x.csv`, not `s3://b/raw2`). Both are normalised URLs.
pub fn location_holds(location: &str, url: &str) -> bool {
    match url.strip_prefix(location) {
        Some(rest) => rest.is_empty() || rest.starts_with('/') || location.ends_with('/'),
        None => false,
    }
}

impl Metastore {
    /// Registers a location; refused when its name is taken or its URL overlaps another's.
    pub fn create_external_location(&self, l: &ExternalLocation) -> Result<()> {
        self.write(|tx| {
            if exists(tx, &l.name)? {
                return Err(MetastoreError::already_exists(
                    "external location",
                    l.name.clone(),
                ));
            }
            check_no_overlap(tx, &l.name, &l.url)?;
            tx.execute(
                &format!(
                    "INSERT INTO external_locations ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                ),
                params![
                    l.name,
                    l.url,
                    l.comment,
                    l.owner,
                    l.created_at_ms,
                    l.created_by,
                    l.updated_at_ms
                ],
            )?;
            Ok(())
        })
    }

    pub fn get_external_location(&self, name: &str) -> Result<Option<ExternalLocation>> {
        let conn = self.lock();
        Ok(conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM external_locations WHERE name = ?1"),
                params![name],
                location_row,
            )
            .optional()?)
    }

    /// Every external location, by name.
    pub fn list_external_locations(&self) -> Result<Vec<ExternalLocation>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM external_locations ORDER BY name"
        ))?;
        let rows = stmt.query_map([], location_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// The location holding `url` (a normalised URL), if any.
    pub fn external_location_holding(&self, url: &str) -> Result<Option<ExternalLocation>> {
        Ok(self
            .list_external_locations()?
            .into_iter()
            .find(|l| location_holds(&l.url, url)))
    }

    /// Changes a location's name, URL or comment (a rename carries its grants along).
    pub fn alter_external_location(
        &self,
        name: &str,
        change: &LocationChange,
        at_ms: i64,
    ) -> Result<()> {
        self.write(|tx| {
            if !exists(tx, name)? {
                return Err(MetastoreError::not_found("external location", name));
            }
            match change {
                LocationChange::Rename(to) => {
                    if exists(tx, to)? {
                        return Err(MetastoreError::already_exists(
                            "external location",
                            to.clone(),
                        ));
                    }
                    tx.execute(
                        "UPDATE external_locations SET name = ?2, updated_at_ms = ?3
                         WHERE name = ?1",
                        params![name, to, at_ms],
                    )?;
                    tx.execute(
                        "UPDATE grants SET name = ?2
                         WHERE object_type = 'EXTERNAL LOCATION' AND name = ?1",
                        params![name, to],
                    )?;
                }
                LocationChange::Url(url) => {
                    check_no_overlap(tx, name, url)?;
                    tx.execute(
                        "UPDATE external_locations SET url = ?2, updated_at_ms = ?3
                         WHERE name = ?1",
                        params![name, url, at_ms],
                    )?;
                }
                LocationChange::Comment(comment) => {
                    tx.execute(
                        "UPDATE external_locations SET comment = ?2, updated_at_ms = ?3
                         WHERE name = ?1",
                        params![name, comment, at_ms],
                    )?;
                }
            }
            Ok(())
        })
    }

    /// Drops a location and the grants on it.
    pub fn drop_external_location(&self, name: &str) -> Result<()> {
        self.write(|tx| {
            let removed = tx.execute(
                "DELETE FROM external_locations WHERE name = ?1",
                params![name],
            )?;
            if removed == 0 {
                return Err(MetastoreError::not_found("external location", name));
            }
            tx.execute(
                "DELETE FROM grants WHERE object_type = 'EXTERNAL LOCATION' AND name = ?1",
                params![name],
            )?;
            Ok(())
        })
    }
}

/// Whether a location is named `name`.
fn exists(tx: &rusqlite::Transaction<'_>, name: &str) -> Result<bool> {
    Ok(tx
        .query_row(
            "SELECT 1 FROM external_locations WHERE name = ?1",
            params![name],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// Refuses `url` for location `name` when it holds, or lies in, another location.
fn check_no_overlap(tx: &rusqlite::Transaction<'_>, name: &str, url: &str) -> Result<()> {
    let mut stmt = tx.prepare("SELECT name, url FROM external_locations WHERE name <> ?1")?;
    let others = stmt.query_map(params![name], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    for other in others {
        let (other_name, other_url) = other?;
        if location_holds(&other_url, url) || location_holds(url, &other_url) {
            return Err(MetastoreError::Invalid {
                what: "external location",
                detail: format!(
                    "'{url}' overlaps external location '{other_name}' ('{other_url}')"
                ),
            });
        }
    }
    Ok(())
}

fn location_row(r: &Row<'_>) -> rusqlite::Result<ExternalLocation> {
    Ok(ExternalLocation {
        name: r.get(0)?,
        url: r.get(1)?,
        comment: r.get(2)?,
        owner: r.get(3)?,
        created_at_ms: r.get(4)?,
        created_by: r.get(5)?,
        updated_at_ms: r.get(6)?,
    })
}

#[cfg(test)]
mod tests {
    use super::location_holds;

    #[test]
    fn a_location_holds_whole_segments_below_it() {
        assert!(location_holds("s3://b/raw", "s3://b/raw"));
        assert!(location_holds("s3://b/raw", "s3://b/raw/x.csv"));
        assert!(location_holds("s3://b/raw", "s3://b/raw/d/*.csv"));
        assert!(!location_holds("s3://b/raw", "s3://b/raw2/x.csv"));
        assert!(!location_holds("s3://b/raw", "s3://b"));
        assert!(!location_holds("/data/in", "/data/input/x.csv"));
        assert!(location_holds("/data/in", "/data/in/x.csv"));
    }
}
