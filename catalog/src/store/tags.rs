//! Tags on catalogs, schemas, tables and columns.

use rusqlite::params;

use super::Metastore;
use crate::error::Result;
use crate::model::*;

impl Metastore {
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
}
