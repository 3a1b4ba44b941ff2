//! Users and their password verifiers.

use rusqlite::{params, OptionalExtension};

use super::{now_ms, Metastore};
use crate::error::{MetastoreError, Result};
use crate::model::*;
use crate::password::ScramSecret;

impl Metastore {
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
