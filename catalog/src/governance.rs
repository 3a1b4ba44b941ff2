//! Principals (users, groups, memberships), grants, SQL functions and table policies (column
//! masks, row filters) in the metastore.

use std::collections::BTreeSet;

use rusqlite::{params, OptionalExtension, Row};

use crate::error::{MetastoreError, Result};
use crate::model::*;
use crate::store::{from_json, json, now_ms, Metastore};
use crate::{ACCOUNT_USERS_GROUP, ADMINS_GROUP, ADMIN_USER};

impl Metastore {
    // ---- users and groups -----------------------------------------------------------------

    pub fn drop_user(&self, name: &str) -> Result<()> {
        if name == ADMIN_USER {
            return Err(MetastoreError::Invalid {
                what: "user",
                detail: "the built-in admin user cannot be dropped".into(),
            });
        }
        self.write(|tx| {
            // As in PostgreSQL: a user who owns objects is not dropped (a user re-created with
            // the name would otherwise own them); hand them over with OWNER TO first.
            let owned: Option<String> = tx
                .query_row(
                    "SELECT 'catalog ' || name FROM catalogs WHERE owner = ?1
                     UNION ALL SELECT 'schema ' || catalog || '.' || name FROM schemas WHERE owner = ?1
                     UNION ALL SELECT 'table ' || catalog || '.' || schema || '.' || name
                       FROM tables WHERE owner = ?1
                     UNION ALL SELECT 'function ' || catalog || '.' || schema || '.' || name
                       FROM functions WHERE owner = ?1
                     UNION ALL SELECT 'procedure ' || catalog || '.' || schema || '.' || name
                       FROM procedures WHERE owner = ?1
                     UNION ALL SELECT 'schedule ' || catalog || '.' || schema || '.' || name
                       FROM schedules WHERE owner = ?1
                     UNION ALL SELECT 'external location ' || name
                       FROM external_locations WHERE owner = ?1
                     LIMIT 1",
                    params![name],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(object) = owned {
                return Err(MetastoreError::NotEmpty {
                    kind: "user",
                    name: name.to_string(),
                    detail: format!("it owns {object} (and maybe more); transfer it with OWNER TO, or drop it"),
                });
            }
            if tx.execute("DELETE FROM users WHERE name = ?1", params![name])? == 0 {
                return Err(MetastoreError::not_found("user", name));
            }
            tx.execute(
                "DELETE FROM group_members WHERE member_kind = 'USER' AND member = ?1",
                params![name],
            )?;
            tx.execute("DELETE FROM grants WHERE principal = ?1", params![name])?;
            Ok(())
        })
    }

    pub fn user_exists(&self, name: &str) -> Result<bool> {
        let conn = self.lock();
        Ok(conn
            .query_row("SELECT 1 FROM users WHERE name = ?1", params![name], |_| {
                Ok(())
            })
            .optional()?
            .is_some())
    }

    pub fn group_exists(&self, name: &str) -> Result<bool> {
        if name == ACCOUNT_USERS_GROUP {
            return Ok(true);
        }
        let conn = self.lock();
        Ok(conn
            .query_row(
                "SELECT 1 FROM groups WHERE name = ?1",
                params![name],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Whether `name` is a user or a group (grants and owners name one of them).
    pub fn principal_exists(&self, name: &str) -> Result<bool> {
        Ok(self.user_exists(name)? || self.group_exists(name)?)
    }

    pub fn create_group(&self, name: &str) -> Result<()> {
        if name == ACCOUNT_USERS_GROUP {
            return Err(MetastoreError::already_exists("group", name));
        }
        self.write(|tx| {
            let user: bool = tx
                .query_row("SELECT 1 FROM users WHERE name = ?1", params![name], |_| {
                    Ok(())
                })
                .optional()?
                .is_some();
            if user {
                return Err(MetastoreError::already_exists("user", name));
            }
            let n = tx.execute(
                "INSERT INTO groups (name, created_at_ms) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                params![name, now_ms()],
            )?;
            if n == 0 {
                return Err(MetastoreError::already_exists("group", name));
            }
            Ok(())
        })
    }

    pub fn drop_group(&self, name: &str) -> Result<()> {
        if name == ADMINS_GROUP || name == ACCOUNT_USERS_GROUP {
            return Err(MetastoreError::Invalid {
                what: "group",
                detail: format!("the built-in group '{name}' cannot be dropped"),
            });
        }
        self.write(|tx| {
            if tx.execute("DELETE FROM groups WHERE name = ?1", params![name])? == 0 {
                return Err(MetastoreError::not_found("group", name));
            }
            tx.execute(
                "DELETE FROM group_members WHERE member_kind = 'GROUP' AND member = ?1",
                params![name],
            )?;
            tx.execute("DELETE FROM grants WHERE principal = ?1", params![name])?;
            Ok(())
        })
    }

    pub fn list_group_names(&self) -> Result<Vec<String>> {
        let conn = self.lock();
        let mut stmt = conn.prepare("SELECT name FROM groups ORDER BY name")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Adds a user or group to a group. A group may not (transitively) contain itself.
    pub fn add_member(&self, group: &str, kind: MemberKind, member: &str) -> Result<()> {
        if group == ACCOUNT_USERS_GROUP {
            return Err(MetastoreError::Invalid {
                what: "group",
                detail: "'account users' holds every user; its members cannot be changed".into(),
            });
        }
        if !self.group_exists(group)? {
            return Err(MetastoreError::not_found("group", group));
        }
        match kind {
            MemberKind::User if !self.user_exists(member)? => {
                return Err(MetastoreError::not_found("user", member))
            }
            MemberKind::Group if !self.group_exists(member)? || member == ACCOUNT_USERS_GROUP => {
                return Err(MetastoreError::not_found("group", member))
            }
            MemberKind::Group
                if member == group || self.group_ancestors(group)?.contains(member) =>
            {
                return Err(MetastoreError::Invalid {
                    what: "group membership",
                    detail: format!("adding '{member}' to '{group}' would make a cycle"),
                })
            }
            _ => {}
        }
        self.write(|tx| {
            tx.execute(
                "INSERT INTO group_members (group_name, member_kind, member) VALUES (?1, ?2, ?3)
                 ON CONFLICT DO NOTHING",
                params![group, kind.as_str(), member],
            )?;
            Ok(())
        })
    }

    pub fn remove_member(&self, group: &str, kind: MemberKind, member: &str) -> Result<()> {
        if group == ADMINS_GROUP && kind == MemberKind::User && member == ADMIN_USER {
            return Err(MetastoreError::Invalid {
                what: "group membership",
                detail: "the built-in admin user stays in 'admins'".into(),
            });
        }
        self.write(|tx| {
            let n = tx.execute(
                "DELETE FROM group_members WHERE group_name = ?1 AND member_kind = ?2 AND member = ?3",
                params![group, kind.as_str(), member],
            )?;
            if n == 0 {
                return Err(MetastoreError::not_found(
                    "group member",
                    format!("{} '{member}' of '{group}'", kind.as_str().to_lowercase()),
                ));
            }
            Ok(())
        })
    }

    /// Every group a user belongs to, directly or through nested groups, plus `account users`.
    pub fn groups_of_user(&self, user: &str) -> Result<BTreeSet<String>> {
        let mut out = self.containing_groups(MemberKind::User, user)?;
        out.insert(ACCOUNT_USERS_GROUP.to_string());
        Ok(out)
    }

    /// The groups that contain `group`, directly or transitively.
    fn group_ancestors(&self, group: &str) -> Result<BTreeSet<String>> {
        self.containing_groups(MemberKind::Group, group)
    }

    /// The groups holding a user or group directly, and the groups holding those, and so on.
    fn containing_groups(&self, kind: MemberKind, member: &str) -> Result<BTreeSet<String>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "WITH RECURSIVE g(name) AS (
               SELECT group_name FROM group_members WHERE member_kind = ?1 AND member = ?2
               UNION
               SELECT m.group_name FROM group_members m JOIN g
                 ON m.member_kind = 'GROUP' AND m.member = g.name)
             SELECT name FROM g",
        )?;
        let rows = stmt.query_map(params![kind.as_str(), member], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    // ---- grants ---------------------------------------------------------------------------

    pub fn grant(
        &self,
        on: &Securable,
        column: Option<&str>,
        principal: &str,
        privilege: Privilege,
        grantor: &str,
    ) -> Result<()> {
        let (c, s, n) = on.key();
        self.write(|tx| {
            tx.execute(
                "INSERT INTO grants (object_type, catalog, schema, name, col, principal, privilege,
                   grantor, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT DO NOTHING",
                params![
                    on.kind(),
                    c,
                    s,
                    n,
                    column.unwrap_or(""),
                    principal,
                    privilege.as_str(),
                    grantor,
                    now_ms()
                ],
            )?;
            Ok(())
        })
    }

    /// Removes a grant; `ALL PRIVILEGES` removes every privilege the principal holds on the
    /// object (and its columns). Returns whether anything was removed.
    pub fn revoke(
        &self,
        on: &Securable,
        column: Option<&str>,
        principal: &str,
        privilege: Privilege,
    ) -> Result<bool> {
        let (c, s, n) = on.key();
        self.write(|tx| {
            let removed = if privilege == Privilege::AllPrivileges {
                tx.execute(
                    "DELETE FROM grants WHERE object_type = ?1 AND catalog = ?2 AND schema = ?3
                     AND name = ?4 AND principal = ?5",
                    params![on.kind(), c, s, n, principal],
                )?
            } else {
                tx.execute(
                    "DELETE FROM grants WHERE object_type = ?1 AND catalog = ?2 AND schema = ?3
                     AND name = ?4 AND col = ?5 AND principal = ?6 AND privilege = ?7",
                    params![
                        on.kind(),
                        c,
                        s,
                        n,
                        column.unwrap_or(""),
                        principal,
                        privilege.as_str()
                    ],
                )?
            };
            Ok(removed > 0)
        })
    }

    /// Grants held by any of `principals`.
    pub fn grants_to(&self, principals: &BTreeSet<String>) -> Result<Vec<GrantEntry>> {
        if principals.is_empty() {
            return Ok(vec![]);
        }
        let conn = self.lock();
        let marks = vec!["?"; principals.len()].join(", ");
        let mut stmt = conn.prepare(&format!(
            "SELECT object_type, catalog, schema, name, col, principal, privilege, grantor
             FROM grants WHERE principal IN ({marks})"
        ))?;
        let rows = stmt.query_map(
            rusqlite::params_from_iter(principals.iter()),
            grant_from_row,
        )?;
        let mut out = Vec::new();
        for r in rows {
            if let Some(g) = r? {
                out.push(g);
            }
        }
        Ok(out)
    }

    /// Every grant of the metastore, ordered by object.
    pub fn all_grants(&self) -> Result<Vec<GrantEntry>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT object_type, catalog, schema, name, col, principal, privilege, grantor
             FROM grants ORDER BY object_type, catalog, schema, name, col, principal, privilege",
        )?;
        let rows = stmt.query_map([], grant_from_row)?;
        let mut out = Vec::new();
        for r in rows {
            if let Some(g) = r? {
                out.push(g);
            }
        }
        Ok(out)
    }

    /// Sets the owner of a catalog, schema, table/view or function.
    pub fn set_owner(&self, on: &Securable, owner: &str) -> Result<()> {
        let (c, s, n) = on.key();
        self.write(|tx| {
            let changed = match on {
                Securable::Metastore => 0,
                Securable::Catalog(_) => tx.execute(
                    "UPDATE catalogs SET owner = ?2 WHERE name = ?1",
                    params![c, owner],
                )?,
                Securable::Schema(..) => tx.execute(
                    "UPDATE schemas SET owner = ?3 WHERE catalog = ?1 AND name = ?2",
                    params![c, s, owner],
                )?,
                Securable::Table(..) => tx.execute(
                    "UPDATE tables SET owner = ?4 WHERE catalog = ?1 AND schema = ?2 AND name = ?3",
                    params![c, s, n, owner],
                )?,
                Securable::Function(..) => tx.execute(
                    "UPDATE functions SET owner = ?4 WHERE catalog = ?1 AND schema = ?2 AND name = ?3",
                    params![c, s, n, owner],
                )?,
                Securable::Procedure(..) => tx.execute(
                    "UPDATE procedures SET owner = ?4 WHERE catalog = ?1 AND schema = ?2 AND name = ?3",
                    params![c, s, n, owner],
                )?,
                Securable::ExternalLocation(_) => tx.execute(
                    "UPDATE external_locations SET owner = ?2 WHERE name = ?1",
                    params![n, owner],
                )?,
            };
            if changed == 0 {
                return Err(MetastoreError::not_found(
                    match on {
                        Securable::Metastore => "metastore",
                        Securable::Catalog(_) => "catalog",
                        Securable::Schema(..) => "schema",
                        Securable::Table(..) => "table",
                        Securable::Function(..) => "function",
                        Securable::Procedure(..) => "procedure",
                        Securable::ExternalLocation(_) => "external location",
                    },
                    on.full_name(),
                ));
            }
            Ok(())
        })
    }

    // ---- SQL functions --------------------------------------------------------------------

    pub fn create_function(&self, f: &FunctionEntry, replace: bool) -> Result<()> {
        self.write(|tx| {
            let schema: bool = tx
                .query_row(
                    "SELECT 1 FROM schemas WHERE catalog = ?1 AND name = ?2",
                    params![f.catalog, f.schema],
                    |_| Ok(()),
                )
                .optional()?
                .is_some();
            if !schema {
                return Err(MetastoreError::not_found(
                    "schema",
                    format!("{}.{}", f.catalog, f.schema),
                ));
            }
            let sql = if replace {
                "INSERT INTO functions (catalog, schema, name, params, return_type, body, comment,
                   owner, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (catalog, schema, name) DO UPDATE SET params = excluded.params,
                   return_type = excluded.return_type, body = excluded.body,
                   comment = excluded.comment"
            } else {
                "INSERT INTO functions (catalog, schema, name, params, return_type, body, comment,
                   owner, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT DO NOTHING"
            };
            let n = tx.execute(
                sql,
                params![
                    f.catalog,
                    f.schema,
                    f.name,
                    json(&f.params),
                    f.return_type,
                    f.body,
                    f.comment,
                    f.owner,
                    f.created_at_ms
                ],
            )?;
            if n == 0 {
                return Err(MetastoreError::already_exists("function", f.full_name()));
            }
            Ok(())
        })
    }

    pub fn get_function(&self, c: &str, s: &str, n: &str) -> Result<Option<FunctionEntry>> {
        let conn = self.lock();
        let raw = conn
            .query_row(
                "SELECT catalog, schema, name, params, return_type, body, comment, owner,
                   created_at_ms FROM functions WHERE catalog = ?1 AND schema = ?2 AND name = ?3",
                params![c, s, n],
                raw_function,
            )
            .optional()?;
        raw.map(function_from_raw).transpose()
    }

    pub fn list_functions(&self, catalog: &str) -> Result<Vec<FunctionEntry>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT catalog, schema, name, params, return_type, body, comment, owner,
               created_at_ms FROM functions WHERE catalog = ?1 ORDER BY schema, name",
        )?;
        let rows = stmt.query_map(params![catalog], raw_function)?;
        rows.map(|r| function_from_raw(r?)).collect()
    }

    /// Drops a function; refused while a table policy uses it.
    pub fn drop_function(&self, c: &str, s: &str, name: &str) -> Result<()> {
        let full = format!("{c}.{s}.{name}");
        self.write(|tx| {
            let used: Option<String> = tx
                .query_row(
                    "SELECT catalog || '.' || schema || '.' || tbl FROM table_policies
                     WHERE function = ?1 LIMIT 1",
                    params![full],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(table) = used {
                return Err(MetastoreError::NotEmpty {
                    kind: "function",
                    name: full.clone(),
                    detail: format!("it is a mask or row filter of table {table}"),
                });
            }
            let removed = tx.execute(
                "DELETE FROM functions WHERE catalog = ?1 AND schema = ?2 AND name = ?3",
                params![c, s, name],
            )?;
            if removed == 0 {
                return Err(MetastoreError::not_found("function", full.clone()));
            }
            tx.execute(
                "DELETE FROM grants WHERE object_type = 'FUNCTION' AND catalog = ?1
                 AND schema = ?2 AND name = ?3",
                params![c, s, name],
            )?;
            Ok(())
        })
    }

    // ---- column masks and row filters -----------------------------------------------------

    /// Sets a table's row filter (`column` None) or a column's mask, replacing the previous one.
    pub fn set_policy(&self, p: &PolicyEntry) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO table_policies (catalog, schema, tbl, col, function, using_columns)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (catalog, schema, tbl, col) DO UPDATE SET function = excluded.function,
                   using_columns = excluded.using_columns",
                params![
                    p.catalog,
                    p.schema,
                    p.table,
                    p.column.as_deref().unwrap_or(""),
                    p.function,
                    json(&p.using_columns)
                ],
            )?;
            Ok(())
        })
    }

    /// Removes a row filter (`column` None) or mask; returns whether there was one.
    pub fn drop_policy(&self, c: &str, s: &str, t: &str, column: Option<&str>) -> Result<bool> {
        self.write(|tx| {
            Ok(tx.execute(
                "DELETE FROM table_policies WHERE catalog = ?1 AND schema = ?2 AND tbl = ?3
                 AND col = ?4",
                params![c, s, t, column.unwrap_or("")],
            )? > 0)
        })
    }

    pub fn policies_of(&self, c: &str, s: &str, t: &str) -> Result<Vec<PolicyEntry>> {
        self.policies_where("catalog = ?1 AND schema = ?2 AND tbl = ?3", &[c, s, t])
    }

    pub fn list_policies(&self, catalog: &str) -> Result<Vec<PolicyEntry>> {
        self.policies_where("catalog = ?1", &[catalog])
    }

    fn policies_where(&self, filter: &str, args: &[&str]) -> Result<Vec<PolicyEntry>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(&format!(
            "SELECT catalog, schema, tbl, col, function, using_columns FROM table_policies
             WHERE {filter} ORDER BY catalog, schema, tbl, col"
        ))?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for r in rows {
            let (catalog, schema, table, col, function, using) = r?;
            out.push(PolicyEntry {
                catalog,
                schema,
                table,
                column: (!col.is_empty()).then_some(col),
                function,
                using_columns: from_json(&using)?,
            });
        }
        Ok(out)
    }
}

fn grant_from_row(r: &Row<'_>) -> rusqlite::Result<Option<GrantEntry>> {
    let kind: String = r.get(0)?;
    let col: String = r.get(4)?;
    let privilege: String = r.get(6)?;
    let Some(on) = Securable::from_key(&kind, r.get(1)?, r.get(2)?, r.get(3)?) else {
        return Ok(None);
    };
    let Some(privilege) = Privilege::parse(&privilege) else {
        return Ok(None);
    };
    Ok(Some(GrantEntry {
        on,
        column: (!col.is_empty()).then_some(col),
        principal: r.get(5)?,
        privilege,
        grantor: r.get(7)?,
    }))
}

type RawFunction = (
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    i64,
);

fn raw_function(r: &Row<'_>) -> rusqlite::Result<RawFunction> {
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
    ))
}

fn function_from_raw(raw: RawFunction) -> Result<FunctionEntry> {
    let (catalog, schema, name, params, return_type, body, comment, owner, created_at_ms) = raw;
    Ok(FunctionEntry {
        catalog,
        schema,
        name,
        params: from_json(&params)?,
        return_type,
        body,
        comment,
        owner,
        created_at_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ScramSecret;

    fn store() -> Metastore {
        let m = Metastore::open_in_memory().expect("open");
        m.bootstrap(ADMIN_USER).expect("bootstrap");
        m.put_user(ADMIN_USER, &ScramSecret::derive("pw"), false)
            .expect("admin");
        m
    }

    #[test]
    fn nested_groups_are_transitive_and_cycles_refused() {
        let m = store();
        m.put_user("erin", &ScramSecret::derive("pw"), false)
            .expect("user");
        m.create_group("analysts").expect("group");
        m.create_group("eu").expect("group");
        m.add_member("analysts", MemberKind::Group, "eu")
            .expect("nest");
        m.add_member("eu", MemberKind::User, "erin")
            .expect("member");
        let groups = m.groups_of_user("erin").expect("groups");
        assert!(groups.contains("eu") && groups.contains("analysts"));
        assert!(groups.contains(ACCOUNT_USERS_GROUP));
        assert!(m.add_member("eu", MemberKind::Group, "analysts").is_err());
        assert!(m
            .groups_of_user(ADMIN_USER)
            .expect("admin")
            .contains(ADMINS_GROUP));
        m.drop_user("erin").expect("drop");
        assert!(!m.user_exists("erin").expect("exists"));
        // An owner is kept until its objects are handed over.
        m.put_user("olga", &ScramSecret::derive("pw"), false)
            .expect("user");
        m.create_catalog("olgas", None, None, "olga", false)
            .expect("catalog");
        assert!(m.drop_user("olga").is_err());
        m.set_owner(&Securable::Catalog("olgas".into()), ADMIN_USER)
            .expect("owner");
        assert!(m.drop_user("olga").is_err(), "still owns olgas.default");
        m.set_owner(
            &Securable::Schema("olgas".into(), crate::DEFAULT_SCHEMA.into()),
            ADMIN_USER,
        )
        .expect("owner");
        m.drop_user("olga").expect("drop after hand-over");
    }

    #[test]
    fn grants_round_trip_and_follow_drops() {
        let m = store();
        let t = Securable::Table("main".into(), "default".into(), "t".into());
        m.grant(&t, None, "bob", Privilege::Select, "admin")
            .expect("grant");
        m.grant(&t, Some("id"), "alice", Privilege::Select, "admin")
            .expect("grant col");
        let bob: BTreeSet<String> = ["bob".to_string()].into();
        assert_eq!(m.grants_to(&bob).expect("grants").len(), 1);
        assert!(m
            .revoke(&t, None, "bob", Privilege::AllPrivileges)
            .expect("revoke"));
        assert!(m.grants_to(&bob).expect("grants").is_empty());
        assert_eq!(
            m.all_grants().expect("all")[0].column.as_deref(),
            Some("id")
        );
    }
}
