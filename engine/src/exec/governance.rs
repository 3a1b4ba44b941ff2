//! Executing governance statements: users, groups, GRANT / REVOKE / SHOW GRANTS, ownership, SQL
//! functions, column masks and row filters.

use datafusion::logical_expr::LogicalPlan;
use weir_catalog::{
    FunctionEntry, PolicyEntry, Privilege, ScramSecret, Securable, TableKind, ACCOUNT_USERS_GROUP,
    ADMIN_USER,
};

use crate::access::{table_securable, Access};
use crate::batches::{batch, Col};
use crate::error::{EngineError, Result};
use crate::output::StatementOutput;
use crate::parser::{GovernanceStatement as G, GrantTarget, Name};
use crate::session::Session;
use crate::system_tables::catalog::{is_system, system_securable, SYSTEM_CATALOG};

/// What may be granted on `system` and its tables, which Weir alone writes.
const SYSTEM_PRIVILEGES: &[Privilege] = &[
    Privilege::UseCatalog,
    Privilege::UseSchema,
    Privilege::Select,
    Privilege::Browse,
];

impl Session {
    /// The securable a GRANT target names, checked to exist.
    fn securable_of(&self, target: &GrantTarget) -> Result<Securable> {
        let m = &self.state.metastore;
        Ok(match target {
            GrantTarget::Metastore => Securable::Metastore,
            GrantTarget::Catalog(c) if c == SYSTEM_CATALOG => Securable::Catalog(c.clone()),
            GrantTarget::Catalog(c) => {
                if m.get_catalog(c)?.is_none() {
                    return Err(crate::system_tables::catalog::missing_catalog(&c));
                }
                Securable::Catalog(c.clone())
            }
            GrantTarget::Schema(n) => {
                let (c, s) = self.qualify_schema(n)?;
                if c == SYSTEM_CATALOG {
                    return system_securable(&s, None);
                }
                if m.get_schema(&c, &s)?.is_none() {
                    return Err(EngineError::UndefinedSchema(format!(
                        "schema '{c}.{s}' does not exist"
                    )));
                }
                Securable::Schema(c, s)
            }
            GrantTarget::Table(n) => {
                let (c, s, t) = self.qualify_table(n)?;
                if c == SYSTEM_CATALOG {
                    return system_securable(&s, Some(&t));
                }
                let e = self.lookup_table(&c, &s, &t)?;
                table_securable(&e)
            }
            GrantTarget::Function(n) => {
                let (c, s, f) = self.qualify_table(n)?;
                if m.get_function(&c, &s, &f)?.is_none() {
                    return Err(EngineError::Coded {
                        sqlstate: "42883",
                        message: format!("function '{c}.{s}.{f}' does not exist"),
                    });
                }
                Securable::Function(c, s, f)
            }
            GrantTarget::Procedure(n) => {
                let (c, s, p) = self.qualify_table(n)?;
                if c == SYSTEM_CATALOG {
                    if crate::builtin_procedures::find(&c, &s, &p).is_none() {
                        return Err(crate::exec::ddl::procedure::missing_procedure(&c, &s, &p));
                    }
                } else if m.get_procedure(&c, &s, &p)?.is_none() {
                    return Err(crate::exec::ddl::procedure::missing_procedure(&c, &s, &p));
                }
                Securable::Procedure(c, s, p)
            }
            GrantTarget::ExternalLocation(n) => {
                if m.get_external_location(n)?.is_none() || !self.access()?.location_visible(n)? {
                    return Err(crate::exec::ddl::external_location::missing_location(n));
                }
                Securable::ExternalLocation(n.clone())
            }
        })
    }

    fn require_principal(&self, name: &str) -> Result<()> {
        if self.state.metastore.principal_exists(name)? {
            Ok(())
        } else {
            Err(EngineError::Coded {
                sqlstate: "42704",
                message: format!("principal '{name}' does not exist (no such user or group)"),
            })
        }
    }

    pub(crate) async fn execute_governance(&mut self, stmt: G) -> Result<StatementOutput> {
        let kind = stmt.kind();
        let m = self.state.metastore.clone();
        let access = self.access()?;
        match stmt {
            G::CreateUser {
                name,
                password,
                if_not_exists,
            } => {
                access.require_admin("create users")?;
                if if_not_exists && m.user_exists(&name)? {
                    return Ok(StatementOutput::command(kind));
                }
                if m.group_exists(&name)? {
                    return Err(EngineError::Duplicate {
                        sqlstate: "42710",
                        message: format!("a group named '{name}' exists"),
                    });
                }
                // A user created without a password cannot log in until one is set.
                let password = password.unwrap_or_else(|| {
                    let bytes: [u8; 32] = rand::random();
                    bytes.iter().map(|b| format!("{b:02x}")).collect()
                });
                m.put_user(&name, &ScramSecret::derive(&password), false)?;
            }
            G::AlterUserPassword { name, password } => {
                if name != self.user {
                    access.require_admin("change another user's password")?;
                }
                if !m.user_exists(&name)? {
                    return Err(EngineError::Coded {
                        sqlstate: "42704",
                        message: format!("user '{name}' does not exist"),
                    });
                }
                m.put_user(&name, &ScramSecret::derive(&password), true)?;
            }
            G::DropUser { name, if_exists } => {
                access.require_admin("drop users")?;
                if name == self.user {
                    return Err(EngineError::invalid("a user cannot drop itself"));
                }
                if if_exists && !m.user_exists(&name)? {
                    return Ok(StatementOutput::command(kind));
                }
                if name == ADMIN_USER {
                    return Err(EngineError::invalid(
                        "the built-in admin user cannot be dropped",
                    ));
                }
                m.drop_user(&name)?;
            }
            G::CreateGroup {
                name,
                if_not_exists,
            } => {
                access.require_admin("create groups")?;
                if if_not_exists && m.group_exists(&name)? {
                    return Ok(StatementOutput::command(kind));
                }
                m.create_group(&name)?;
            }
            G::AlterGroup {
                group,
                add,
                kind,
                member,
            } => {
                access.require_admin("change group membership")?;
                if add {
                    m.add_member(&group, kind, &member)?;
                } else {
                    m.remove_member(&group, kind, &member)?;
                }
            }
            G::DropGroup { name, if_exists } => {
                access.require_admin("drop groups")?;
                if if_exists && !m.group_exists(&name)? {
                    return Ok(StatementOutput::command(kind));
                }
                m.drop_group(&name)?;
            }
            G::Grant {
                revoke,
                privileges,
                columns,
                on,
                principal,
            } => {
                let securable = self.securable_of(&on)?;
                access.require_manage(&securable)?;
                self.require_principal(&principal)?;
                if matches!(securable, Securable::Metastore) {
                    access.require_admin("grant on the metastore")?;
                }
                for p in &privileges {
                    let executes_builtin =
                        *p == Privilege::Execute && matches!(securable, Securable::Procedure(..));
                    if is_system(&securable) && !SYSTEM_PRIVILEGES.contains(p) && !executes_builtin
                    {
                        return Err(EngineError::Coded {
                            sqlstate: "0LP01",
                            message: format!(
                                "privilege {} cannot be granted on {}: the system catalog is \
                                 read-only (USE CATALOG, USE SCHEMA, SELECT, BROWSE and EXECUTE on \
                                 its procedures can be)",
                                p.as_str(),
                                securable.full_name()
                            ),
                        });
                    }
                    if !p.applies_to(securable.kind()) {
                        return Err(EngineError::Coded {
                            sqlstate: "0LP01",
                            message: format!(
                                "privilege {} cannot be granted on {} {}",
                                p.as_str(),
                                securable.kind().to_lowercase(),
                                securable.full_name()
                            ),
                        });
                    }
                }
                if !columns.is_empty() && is_system(&securable) {
                    return Err(EngineError::Coded {
                        sqlstate: "0LP01",
                        message: "column grants are not supported on system tables".into(),
                    });
                }
                if !columns.is_empty() {
                    let Securable::Table(c, s, t) = &securable else {
                        return Err(EngineError::syntax("column grants are on tables"));
                    };
                    let entry = self.lookup_table(c, s, t)?;
                    for col in &columns {
                        if !entry.columns.iter().any(|ec| &ec.name == col) {
                            return Err(EngineError::UndefinedColumn(format!(
                                "column '{col}' of table {} does not exist",
                                entry.full_name()
                            )));
                        }
                    }
                }
                let targets: Vec<Option<&str>> = if columns.is_empty() {
                    vec![None]
                } else {
                    columns.iter().map(|c| Some(c.as_str())).collect()
                };
                for p in privileges {
                    for col in &targets {
                        if revoke {
                            m.revoke(&securable, *col, &principal, p)?;
                        } else {
                            m.grant(&securable, *col, &principal, p, &self.user)?;
                        }
                    }
                }
            }
            G::SetOwner { on, owner } => {
                let securable = self.securable_of(&on)?;
                if is_system(&securable) {
                    return Err(crate::system_tables::catalog::missing_catalog(
                        SYSTEM_CATALOG,
                    ));
                }
                access.require_manage(&securable)?;
                self.require_principal(&owner)?;
                access.require_may_give_to(&owner)?;
                m.set_owner(&securable, &owner)?;
            }
            G::CreateFunction {
                name,
                or_replace,
                if_not_exists,
                params,
                returns,
                body,
                comment,
            } => {
                let (c, s, f) = self.qualify_table(&name)?;
                self.dialect().require_stored_sql("a function")?;
                access.require_create(&c, &s, Privilege::CreateFunction)?;
                let existing = m.get_function(&c, &s, &f)?;
                if let Some(e) = &existing {
                    if if_not_exists {
                        return Ok(StatementOutput::command(kind));
                    }
                    if or_replace {
                        access.require_manage(&Securable::Function(
                            e.catalog.clone(),
                            e.schema.clone(),
                            e.name.clone(),
                        ))?;
                    }
                }
                let entry = FunctionEntry {
                    catalog: c,
                    schema: s,
                    name: f,
                    params,
                    return_type: returns,
                    body,
                    comment,
                    owner: existing
                        .map(|e| e.owner)
                        .unwrap_or_else(|| self.user.clone()),
                    created_at_ms: chrono::Utc::now().timestamp_millis(),
                };
                // A body that does not compile is refused now, not when a query uses it.
                crate::access::compile_function(&self.ctx.state(), &entry)?;
                m.create_function(&entry, or_replace)?;
            }
            G::DropFunction { name, if_exists } => {
                let (c, s, f) = self.qualify_table(&name)?;
                if m.get_function(&c, &s, &f)?.is_none() {
                    if if_exists {
                        return Ok(StatementOutput::command(kind));
                    }
                    return Err(EngineError::Coded {
                        sqlstate: "42883",
                        message: format!("function '{c}.{s}.{f}' does not exist"),
                    });
                }
                access.require_manage(&Securable::Function(c.clone(), s.clone(), f.clone()))?;
                m.drop_function(&c, &s, &f)?;
            }
            G::ShowUsers | G::ShowGroups | G::ShowGrants { .. } => {
                return Err(EngineError::Internal(
                    "SHOW statements are planned as rows".into(),
                ))
            }
        }
        Ok(StatementOutput::command(kind))
    }

    /// SHOW USERS, SHOW GROUPS and SHOW GRANTS as result sets.
    pub(crate) fn governance_rows(&self, stmt: &G) -> Result<Option<LogicalPlan>> {
        let m = &self.state.metastore;
        let access = self.access()?;
        let b = match stmt {
            G::ShowUsers => {
                let mut n = Col::str_not_null("name");
                for u in m.list_user_names()? {
                    n.push_str(Some(u));
                }
                batch(vec![n])?
            }
            G::ShowGroups => {
                let mut n = Col::str_not_null("name");
                n.push_str(Some(ACCOUNT_USERS_GROUP));
                for g in m.list_group_names()? {
                    n.push_str(Some(g));
                }
                batch(vec![n])?
            }
            G::ShowGrants { principal, on } => {
                let on = on.as_ref().map(|t| self.securable_of(t)).transpose()?;
                let (mut p, mut a, mut t, mut k) = (
                    Col::str_not_null("principal"),
                    Col::str_not_null("actionType"),
                    Col::str_not_null("objectType"),
                    Col::str_not_null("objectKey"),
                );
                for g in access.all_grants()? {
                    if on.as_ref().is_some_and(|o| o != &g.on) {
                        continue;
                    }
                    if principal.as_ref().is_some_and(|pr| pr != &g.principal) {
                        continue;
                    }
                    if !access.grant_visible(&g)? {
                        continue;
                    }
                    p.push_str(Some(g.principal.clone()));
                    a.push_str(Some(g.privilege.as_str()));
                    match &g.column {
                        Some(col) => {
                            t.push_str(Some("COLUMN"));
                            k.push_str(Some(format!("{}.{col}", g.on.full_name())));
                        }
                        None => {
                            t.push_str(Some(object_type(m, &g.on)));
                            k.push_str(Some(g.on.full_name()));
                        }
                    }
                }
                batch(vec![p, a, t, k])?
            }
            _ => return Ok(None),
        };
        Ok(Some(crate::exec::show::mem_plan(b)?))
    }

    /// `ALTER TABLE ... SET MASK / DROP MASK / SET ROW FILTER / DROP ROW FILTER`, by a user
    /// `alter_table` has checked may manage the table.
    pub(crate) fn set_policy(
        &self,
        access: &Access,
        entry: &weir_catalog::TableEntry,
        column: Option<&str>,
        function: Option<(&Name, &[String])>,
    ) -> Result<()> {
        if entry.kind == TableKind::View {
            return Err(EngineError::WrongObjectType(format!(
                "'{}' is a view; masks and row filters are set on tables",
                entry.full_name()
            )));
        }
        let (c, s, t) = (
            entry.catalog.clone(),
            entry.schema.clone(),
            entry.name.clone(),
        );
        let m = &self.state.metastore;
        if let Some(col) = column {
            if !entry.columns.iter().any(|ec| ec.name == col) {
                return Err(EngineError::UndefinedColumn(format!(
                    "column '{col}' of table {} does not exist",
                    entry.full_name()
                )));
            }
        }
        let Some((fname, using)) = function else {
            if !m.drop_policy(&c, &s, &t, column)? {
                return Err(EngineError::invalid(match column {
                    Some(col) => format!("column '{col}' of {} has no mask", entry.full_name()),
                    None => format!("table {} has no row filter", entry.full_name()),
                }));
            }
            return Ok(());
        };
        let (fc, fs, ff) = self.qualify_table(fname)?;
        let f = m
            .get_function(&fc, &fs, &ff)?
            .ok_or_else(|| EngineError::Coded {
                sqlstate: "42883",
                message: format!("function '{fc}.{fs}.{ff}' does not exist"),
            })?;
        access.require(
            &Securable::Function(fc.clone(), fs.clone(), ff.clone()),
            Privilege::Execute,
        )?;
        for col in using {
            if !entry.columns.iter().any(|ec| &ec.name == col) {
                return Err(EngineError::UndefinedColumn(format!(
                    "column '{col}' of table {} does not exist",
                    entry.full_name()
                )));
            }
        }
        let arity = using.len() + usize::from(column.is_some());
        if f.params.len() != arity {
            return Err(EngineError::invalid(format!(
                "function {} takes {} argument(s) but the policy passes {arity}",
                f.full_name(),
                f.params.len()
            )));
        }
        if column.is_none() && f.return_type != "boolean" {
            return Err(EngineError::invalid(format!(
                "row filter function {} must return BOOLEAN, not {}",
                f.full_name(),
                f.return_type
            )));
        }
        // The policy must plan against the table now, not fail later for every reader.
        crate::access::compile_function(&self.ctx.state(), &f)?;
        m.set_policy(&PolicyEntry {
            catalog: c,
            schema: s,
            table: t,
            column: column.map(str::to_string),
            function: f.full_name(),
            using_columns: using.to_vec(),
        })?;
        Ok(())
    }

    /// Refuses UPDATE, DELETE and MERGE on a table whose masks or row filter the user is
    /// subject to: their predicates would read values and rows the policies hide.
    pub(crate) fn require_unprotected_write(
        &self,
        access: &Access,
        entry: &weir_catalog::TableEntry,
        verb: &str,
    ) -> Result<()> {
        if access.is_admin() || access.owns(&table_securable(entry))? {
            return Ok(());
        }
        let policies = crate::access::TablePolicies::load(&self.state.metastore, entry)?;
        if policies.is_empty() {
            return Ok(());
        }
        Err(EngineError::PermissionDenied(format!(
            "permission denied: {verb} on {} is reserved to its owner and admins because the \
             table has a column mask or row filter",
            entry.full_name()
        )))
    }
}

fn object_type(m: &weir_catalog::Metastore, on: &Securable) -> &'static str {
    match on {
        Securable::Table(c, s, t) => match m.get_table(c, s, t) {
            Ok(Some(e)) if e.kind == TableKind::View => "VIEW",
            _ => "TABLE",
        },
        other => other.kind(),
    }
}
