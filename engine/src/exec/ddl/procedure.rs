//! `CREATE [OR REPLACE] PROCEDURE` and `DROP PROCEDURE`. Creating needs USE CATALOG, USE SCHEMA
//! and CREATE FUNCTION on the schema (Unity Catalog's rule for routines); replacing or dropping
//! needs ownership or MANAGE. The creator owns the procedure.

use weir_catalog::{Privilege, ProcedureEntry, Securable};

use crate::error::{EngineError, Result};
use crate::parser::{CreateProcedure, Name};
use crate::session::Session;

/// 42883, Databricks' UNRESOLVED_ROUTINE.
pub(crate) fn missing_procedure(c: &str, s: &str, p: &str) -> EngineError {
    EngineError::Coded {
        sqlstate: "42883",
        message: format!("procedure '{c}.{s}.{p}' does not exist"),
    }
}

impl Session {
    pub(crate) fn create_procedure(&mut self, create: CreateProcedure) -> Result<()> {
        let (c, s, p) = self.qualify_table(&create.name)?;
        if c == crate::system_tables::catalog::SYSTEM_CATALOG {
            return Err(EngineError::PermissionDenied(
                "the system catalog is read-only".into(),
            ));
        }
        self.dialect().require_stored_sql("a procedure")?;
        let access = self.access()?;
        access.require_create(&c, &s, Privilege::CreateFunction)?;
        let m = &self.state.metastore;
        if let Some(e) = &m.get_procedure(&c, &s, &p)? {
            if create.if_not_exists {
                return Ok(());
            }
            if create.or_replace {
                access.require_manage(&e.securable())?;
            }
        }
        // A body is shown to everyone who may run it (DESCRIBE PROCEDURE, routines): no
        // passwords in it.
        if crate::parser::has_password_literal(&create.body) {
            return Err(EngineError::Coded {
                sqlstate: "42601",
                message: "a procedure's body cannot hold a password literal; pass it as an \
                          argument"
                    .into(),
            });
        }
        if m.get_function(&c, &s, &p)?.is_some() {
            return Err(EngineError::Duplicate {
                sqlstate: "42723",
                message: format!("a function named '{c}.{s}.{p}' exists"),
            });
        }
        let entry = ProcedureEntry {
            catalog: c,
            schema: s,
            name: p,
            params: create.params,
            body: create.body,
            definer: create.definer,
            comment: create.comment,
            // Whoever replaces a procedure owns the new one: a DEFINER body runs with its
            // owner's rights, which must be the rights of whoever wrote it.
            owner: self.identity.rights.clone(),
            created_at_ms: chrono::Utc::now().timestamp_millis(),
        };
        m.create_procedure(&entry, create.or_replace)?;
        Ok(())
    }

    pub(crate) fn drop_procedure(&mut self, name: &Name, if_exists: bool) -> Result<()> {
        let (c, s, p) = self.qualify_table(name)?;
        if c == crate::system_tables::catalog::SYSTEM_CATALOG {
            return Err(EngineError::PermissionDenied(
                "the system catalog is read-only".into(),
            ));
        }
        let m = &self.state.metastore;
        if m.get_procedure(&c, &s, &p)?.is_none() {
            if if_exists {
                return Ok(());
            }
            return Err(missing_procedure(&c, &s, &p));
        }
        self.access()?
            .require_manage(&Securable::Procedure(c.clone(), s.clone(), p.clone()))?;
        m.drop_procedure(&c, &s, &p)?;
        Ok(())
    }

    /// A procedure the user may see (EXECUTE, MANAGE, owner), by its name as written.
    pub(crate) fn visible_procedure(&self, name: &Name) -> Result<ProcedureEntry> {
        let (c, s, p) = self.qualify_table(name)?;
        let entry = match crate::builtin_procedures::find(&c, &s, &p) {
            Some(builtin) => builtin.entry(),
            None => self
                .state
                .metastore
                .get_procedure(&c, &s, &p)?
                .ok_or_else(|| missing_procedure(&c, &s, &p))?,
        };
        let access = self.access()?;
        if !access.procedure_visible(&entry)? {
            return Err(crate::access::denied(
                &self.identity.rights,
                Privilege::Execute,
                &entry.securable(),
            ));
        }
        Ok(entry)
    }
}
