//! Governance: who may do what. [`Access`] answers privilege and visibility questions for one
//! principal from the metastore's grants and owners; [`GovernedTable`] enforces column grants,
//! column masks and row filters at the table boundary of every plan.
//!
//! The rules (Unity Catalog's, plus PostgreSQL column grants):
//! - members of `admins` pass every privilege check (masks and row filters still apply to them:
//!   the policy function decides);
//! - a privilege granted on a catalog or schema covers every current and future child;
//!   `ALL PRIVILEGES` is every privilege but MANAGE;
//! - an owner (of the object or of a parent) holds every privilege on it;
//! - reading a table needs USE CATALOG, USE SCHEMA and SELECT (or SELECT on some columns);
//! - an object is visible when the principal holds any privilege on it (or BROWSE on its catalog).

mod governed_table;
mod policy;

use std::collections::BTreeSet;
use std::sync::Arc;

use weir_catalog::{
    CatalogEntry, FunctionEntry, GrantEntry, Metastore, Privilege, SchemaEntry, Securable,
    TableEntry, ACCOUNT_USERS_GROUP, ADMINS_GROUP,
};

pub use governed_table::{GovernedTable, TableRead};
pub(crate) use policy::{compile_function, TablePolicies};

use crate::error::{EngineError, Result};

/// A user with the groups it belongs to (transitively, `account users` included).
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: String,
    pub groups: BTreeSet<String>,
}

impl Principal {
    pub fn load(m: &Metastore, user: &str) -> Result<Self> {
        Ok(Principal {
            user: user.to_string(),
            groups: m.groups_of_user(user)?,
        })
    }

    pub fn is_admin(&self) -> bool {
        self.groups.contains(ADMINS_GROUP)
    }

    /// Whether a grant to, or ownership by, `name` applies to this principal.
    pub fn is(&self, name: &str) -> bool {
        name == self.user || self.groups.contains(name)
    }

    pub fn names(&self) -> BTreeSet<String> {
        let mut n = self.groups.clone();
        n.insert(self.user.clone());
        n
    }
}

/// Group membership for `is_member()`, asked of the metastore when the function runs.
#[derive(Debug)]
pub struct MetastoreMembership(pub Arc<Metastore>);

impl weir_udfs::Membership for MetastoreMembership {
    fn is_member(&self, user: &str, group: &str) -> datafusion::common::Result<bool> {
        if group == ACCOUNT_USERS_GROUP {
            return Ok(true);
        }
        self.0
            .groups_of_user(user)
            .map(|g| g.contains(group))
            .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))
    }
}

/// One principal's privileges, read from the metastore once per use.
pub struct Access {
    m: Arc<Metastore>,
    pub principal: Principal,
    grants: Vec<GrantEntry>,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Access({})", self.principal.user)
    }
}

pub fn denied(user: &str, privilege: Privilege, on: &Securable) -> EngineError {
    EngineError::PermissionDenied(format!(
        "permission denied: user '{user}' lacks {} on {} {}",
        privilege.as_str(),
        on.kind().to_lowercase(),
        on.full_name()
    ))
}

/// Privileges that make a table (and so its schema and catalog) visible when held on it or
/// inherited from above.
fn reveals_table(p: Privilege) -> bool {
    matches!(
        p,
        Privilege::Select
            | Privilege::Modify
            | Privilege::AllPrivileges
            | Privilege::Manage
            | Privilege::Browse
    )
}

impl Access {
    pub fn load(m: &Arc<Metastore>, user: &str) -> Result<Self> {
        let principal = Principal::load(m, user)?;
        let grants = m.grants_to(&principal.names())?;
        Ok(Access {
            m: m.clone(),
            principal,
            grants,
        })
    }

    pub fn is_admin(&self) -> bool {
        self.principal.is_admin()
    }

    pub fn user(&self) -> &str {
        &self.principal.user
    }

    /// Whether a grant of `p` (or ALL PRIVILEGES) on `on` or an ancestor reaches the principal.
    fn granted(&self, on: &Securable, p: Privilege) -> bool {
        let mut scope = on.ancestors();
        scope.push(on.clone());
        self.grants.iter().any(|g| {
            g.column.is_none()
                && scope.contains(&g.on)
                && (g.privilege == p
                    || (g.privilege == Privilege::AllPrivileges && p != Privilege::Manage))
        })
    }

    /// Whether the principal owns `on` or one of its parents.
    pub fn owns(&self, on: &Securable) -> Result<bool> {
        let mut scope = on.ancestors();
        scope.push(on.clone());
        for s in scope {
            let owner = match &s {
                Securable::Metastore => None,
                Securable::Catalog(c) => self.m.get_catalog(c)?.map(|e| e.owner),
                Securable::Schema(c, n) => self.m.get_schema(c, n)?.map(|e| e.owner),
                Securable::Table(c, n, t) => self.m.get_table(c, n, t)?.map(|e| e.owner),
                Securable::Function(c, n, f) => self.m.get_function(c, n, f)?.map(|e| e.owner),
                Securable::Procedure(c, n, p) => self.m.get_procedure(c, n, p)?.map(|e| e.owner),
                Securable::ExternalLocation(n) => self.m.get_external_location(n)?.map(|e| e.owner),
            };
            if owner.is_some_and(|o| self.principal.is(&o)) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Whether the principal holds `p` on `on` (as admin, owner, or by grant).
    pub fn has(&self, on: &Securable, p: Privilege) -> Result<bool> {
        Ok(self.is_admin() || self.granted(on, p) || self.owns(on)?)
    }

    pub fn require(&self, on: &Securable, p: Privilege) -> Result<()> {
        if self.has(on, p)? {
            Ok(())
        } else {
            Err(denied(self.user(), p, on))
        }
    }

    /// Reading the files at `url` (normalised, see `crate::storage::location_key`): admins
    /// anywhere, others under an external location they own or hold READ FILES on.
    pub fn require_read_files(&self, url: &str) -> Result<()> {
        if self.is_admin() {
            return Ok(());
        }
        match self.m.external_location_holding(url)? {
            Some(l) => self.require(&Securable::ExternalLocation(l.name), Privilege::ReadFiles),
            None => Err(EngineError::PermissionDenied(format!(
                "permission denied: reading files from '{url}' needs READ FILES on an external \
                 location holding it (or an admin)"
            ))),
        }
    }

    /// USE CATALOG on `c` and, with `schema`, USE SCHEMA on `c.schema`.
    pub fn require_use(&self, c: &str, schema: Option<&str>) -> Result<()> {
        self.require(&Securable::Catalog(c.to_string()), Privilege::UseCatalog)?;
        if let Some(s) = schema {
            self.require(
                &Securable::Schema(c.to_string(), s.to_string()),
                Privilege::UseSchema,
            )?;
        }
        Ok(())
    }

    /// `CREATE TABLE` / `CREATE FUNCTION` in schema `c.s`, with the USE privileges.
    pub fn require_create(&self, c: &str, s: &str, p: Privilege) -> Result<()> {
        self.require_use(c, Some(s))?;
        self.require(&Securable::Schema(c.to_string(), s.to_string()), p)
    }

    /// Table-level `p` with the USE privileges on the table's parents.
    pub fn require_on_table(&self, entry: &TableEntry, p: Privilege) -> Result<()> {
        self.require_use(&entry.catalog, Some(&entry.schema))?;
        self.require(&table_securable(entry), p)
    }

    /// Whether the principal may grant on `on`: admin, owner, or MANAGE holder.
    pub fn require_manage(&self, on: &Securable) -> Result<()> {
        if self.is_admin() || self.owns(on)? || self.granted(on, Privilege::Manage) {
            Ok(())
        } else {
            Err(EngineError::PermissionDenied(format!(
                "permission denied: user '{}' is neither owner of {} {} nor holds MANAGE on it",
                self.user(),
                on.kind().to_lowercase(),
                on.full_name()
            )))
        }
    }

    /// Ownership may only go to the caller or a group it belongs to (PostgreSQL's rule), unless
    /// the caller is an admin: a view handed to a stronger owner would run with that owner's
    /// privileges.
    pub fn require_may_give_to(&self, new_owner: &str) -> Result<()> {
        if self.is_admin() || self.principal.is(new_owner) {
            Ok(())
        } else {
            Err(EngineError::PermissionDenied(format!(
                "permission denied: user '{}' may transfer ownership only to itself or a group it                  belongs to, not to '{new_owner}'",
                self.user()
            )))
        }
    }

    pub fn require_admin(&self, what: &str) -> Result<()> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(EngineError::PermissionDenied(format!(
                "permission denied: only members of '{ADMINS_GROUP}' may {what}"
            )))
        }
    }

    /// What of a table the principal may read.
    pub fn table_read(&self, entry: &TableEntry) -> Result<TableRead> {
        if self.is_admin() {
            return Ok(TableRead::All);
        }
        let on = table_securable(entry);
        if let Err(e) = self.require_use(&entry.catalog, Some(&entry.schema)) {
            return Ok(TableRead::Denied(e.to_string()));
        }
        if self.has(&on, Privilege::Select)? {
            return Ok(TableRead::All);
        }
        let columns: BTreeSet<String> = self
            .grants
            .iter()
            .filter(|g| g.on == on && g.privilege == Privilege::Select)
            .filter_map(|g| g.column.clone())
            .collect();
        if !columns.is_empty() {
            return Ok(TableRead::Columns(columns));
        }
        Ok(TableRead::Denied(
            denied(self.user(), Privilege::Select, &on).to_string(),
        ))
    }

    /// Whether the principal may write the table (MODIFY with the USE privileges).
    pub fn may_modify(&self, entry: &TableEntry) -> Result<bool> {
        Ok(self.require_on_table(entry, Privilege::Modify).is_ok())
    }

    // ---- visibility (SHOW, information_schema, pg_catalog, Flight metadata) ----------------

    /// An external location is seen by admins, its owner and whoever holds a privilege on it.
    pub fn location_visible(&self, name: &str) -> Result<bool> {
        let on = Securable::ExternalLocation(name.to_string());
        Ok(self.is_admin() || self.grants.iter().any(|g| g.on == on) || self.owns(&on)?)
    }

    pub fn catalog_visible(&self, c: &str) -> Result<bool> {
        if self.is_admin() {
            return Ok(true);
        }
        let any_grant = self.grants.iter().any(|g| match &g.on {
            Securable::Metastore => g.privilege != Privilege::CreateCatalog,
            Securable::Catalog(gc)
            | Securable::Schema(gc, _)
            | Securable::Table(gc, _, _)
            | Securable::Function(gc, _, _)
            | Securable::Procedure(gc, _, _) => gc == c,
            Securable::ExternalLocation(_) => false,
        });
        if any_grant || self.owns(&Securable::Catalog(c.to_string()))? {
            return Ok(true);
        }
        // Owning something inside the catalog shows the path to it.
        Ok(self
            .m
            .list_schemas(c)?
            .iter()
            .any(|s| self.principal.is(&s.owner))
            || self
                .m
                .list_tables_in_catalog(c)?
                .iter()
                .any(|t| self.principal.is(&t.owner)))
    }

    pub fn schema_visible(&self, c: &str, s: &str) -> Result<bool> {
        if self.is_admin() {
            return Ok(true);
        }
        let on = Securable::Schema(c.to_string(), s.to_string());
        let any_grant = self.grants.iter().any(|g| match &g.on {
            Securable::Metastore => reveals_table(g.privilege),
            Securable::Catalog(gc) => {
                gc == c
                    && g.privilege != Privilege::UseCatalog
                    && g.privilege != Privilege::CreateSchema
            }
            Securable::Schema(gc, gs)
            | Securable::Table(gc, gs, _)
            | Securable::Function(gc, gs, _)
            | Securable::Procedure(gc, gs, _) => gc == c && gs == s,
            Securable::ExternalLocation(_) => false,
        });
        if any_grant || self.owns(&on)? {
            return Ok(true);
        }
        Ok(self
            .m
            .list_tables(c, s)?
            .iter()
            .any(|t| self.principal.is(&t.owner)))
    }

    pub fn table_visible(&self, entry: &TableEntry) -> Result<bool> {
        if self.is_admin() {
            return Ok(true);
        }
        let on = table_securable(entry);
        let (c, s) = (&entry.catalog, &entry.schema);
        let any_grant = self.grants.iter().any(|g| match &g.on {
            Securable::Table(..) => g.on == on,
            Securable::Schema(gc, gs) => gc == c && gs == s && reveals_table(g.privilege),
            Securable::Catalog(gc) => gc == c && reveals_table(g.privilege),
            Securable::Metastore => reveals_table(g.privilege),
            Securable::Function(..) | Securable::Procedure(..) | Securable::ExternalLocation(_) => {
                false
            }
        });
        Ok(any_grant || self.owns(&on)?)
    }

    /// The columns of a table the principal sees in listings: `None` for all.
    pub fn visible_columns(&self, entry: &TableEntry) -> Result<Option<BTreeSet<String>>> {
        Ok(match self.table_read(entry)? {
            TableRead::Columns(c) => Some(c),
            _ => None,
        })
    }

    pub fn function_visible(&self, c: &str, s: &str, f: &str) -> Result<bool> {
        let on = Securable::Function(c.to_string(), s.to_string(), f.to_string());
        Ok(self.is_admin()
            || self.granted(&on, Privilege::Execute)
            || self.granted(&on, Privilege::Manage)
            || self.owns(&on)?)
    }

    /// Every grant of the metastore (callers filter with [`Access::grant_visible`]).
    pub fn all_grants(&self) -> Result<Vec<GrantEntry>> {
        Ok(self.m.all_grants()?)
    }

    /// Grants the principal may see: its own, and all grants on objects it owns or manages.
    pub fn grant_visible(&self, g: &GrantEntry) -> Result<bool> {
        Ok(self.is_admin()
            || self.principal.is(&g.principal)
            || self.owns(&g.on)?
            || self.granted(&g.on, Privilege::Manage))
    }
}

// ---- the metastore as one principal sees it ------------------------------------------------

impl Access {
    pub fn catalogs(&self) -> Result<Vec<CatalogEntry>> {
        let all = self.m.list_catalogs()?;
        if self.is_admin() {
            return Ok(all);
        }
        let mut out = Vec::new();
        for c in all {
            if self.catalog_visible(&c.name)? {
                out.push(c);
            }
        }
        Ok(out)
    }

    pub fn schemas(&self, catalog: &str) -> Result<Vec<SchemaEntry>> {
        let all = self.m.list_schemas(catalog)?;
        if self.is_admin() {
            return Ok(all);
        }
        let mut out = Vec::new();
        for s in all {
            if self.schema_visible(&s.catalog, &s.name)? {
                out.push(s);
            }
        }
        Ok(out)
    }

    /// The visible tables of a catalog (or one of its schemas), each listing only the columns
    /// the principal may see.
    pub fn tables(&self, catalog: &str, schema: Option<&str>) -> Result<Vec<TableEntry>> {
        let all = match schema {
            Some(s) => self.m.list_tables(catalog, s)?,
            None => self.m.list_tables_in_catalog(catalog)?,
        };
        if self.is_admin() {
            return Ok(all);
        }
        let mut out = Vec::new();
        for t in all {
            if self.table_visible(&t)? {
                out.push(self.restrict_columns(t)?);
            }
        }
        Ok(out)
    }

    /// A table as the principal sees it, `None` when it is invisible to it.
    pub fn table(&self, c: &str, s: &str, t: &str) -> Result<Option<TableEntry>> {
        match self.m.get_table(c, s, t)? {
            Some(e) if self.table_visible(&e)? => Ok(Some(self.restrict_columns(e)?)),
            _ => Ok(None),
        }
    }

    /// The entry with only the columns the principal may see.
    pub fn restrict_columns(&self, mut entry: TableEntry) -> Result<TableEntry> {
        if let Some(cols) = self.visible_columns(&entry)? {
            entry.columns.retain(|c| cols.contains(&c.name));
            entry.partition_columns.retain(|c| cols.contains(c));
        }
        Ok(entry)
    }

    /// Whether the principal sees a procedure: admin, owner, or EXECUTE / MANAGE on it (or
    /// on its schema or catalog).
    pub fn procedure_visible(&self, p: &weir_catalog::ProcedureEntry) -> Result<bool> {
        if crate::builtin_procedures::find(&p.catalog, &p.schema, &p.name).is_some_and(|b| b.public)
        {
            return Ok(true);
        }
        let on = p.securable();
        Ok(self.is_admin()
            || self.granted(&on, Privilege::Execute)
            || self.granted(&on, Privilege::Manage)
            || self.owns(&on)?)
    }

    /// The procedures of `catalog` the principal sees.
    pub fn procedures(&self, catalog: &str) -> Result<Vec<weir_catalog::ProcedureEntry>> {
        let mut out = Vec::new();
        let stored = if catalog == crate::system_tables::names::SYSTEM_CATALOG {
            crate::builtin_procedures::BUILTINS
                .iter()
                .map(|b| b.entry())
                .collect()
        } else {
            self.m.list_procedures(catalog)?
        };
        for p in stored {
            if self.procedure_visible(&p)? {
                out.push(p);
            }
        }
        Ok(out)
    }

    pub fn functions(&self, catalog: &str) -> Result<Vec<FunctionEntry>> {
        let mut out = Vec::new();
        for f in self.m.list_functions(catalog)? {
            if self.function_visible(&f.catalog, &f.schema, &f.name)? {
                out.push(f);
            }
        }
        Ok(out)
    }
}

/// Whether a plan reads a table through a [`GovernedTable`] (column grants, masks, row filter),
/// directly or inside a view.
pub fn reads_governed_table(plan: &datafusion::logical_expr::LogicalPlan) -> Result<bool> {
    use datafusion::catalog::view::ViewTable;
    use datafusion::common::tree_node::TreeNodeRecursion;
    use datafusion::datasource::source_as_provider;
    use datafusion::logical_expr::LogicalPlan;
    let mut found = false;
    plan.apply_with_subqueries(|p| {
        if let LogicalPlan::TableScan(scan) = p {
            if let Ok(provider) = source_as_provider(&scan.source) {
                let any: &dyn std::any::Any = provider.as_ref();
                if any.is::<GovernedTable>() {
                    found = true;
                } else if let Some(view) = any.downcast_ref::<ViewTable>() {
                    found = reads_governed_table(view.logical_plan()).unwrap_or(true);
                }
            }
        }
        Ok(if found {
            TreeNodeRecursion::Stop
        } else {
            TreeNodeRecursion::Continue
        })
    })?;
    Ok(found)
}

pub fn table_securable(entry: &TableEntry) -> Securable {
    Securable::Table(
        entry.catalog.clone(),
        entry.schema.clone(),
        entry.name.clone(),
    )
}
