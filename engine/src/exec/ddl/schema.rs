//! `CREATE SCHEMA`, `DROP SCHEMA` and `USE [SCHEMA]`.

use url::Url;
use weir_catalog::{Privilege, Securable, DEFAULT_SCHEMA};

use crate::error::{EngineError, Result};
use crate::parser::Name;
use crate::parser::{CreateSchema, DropSchema};
use crate::session::Session;

impl Session {
    /// `CREATE SCHEMA [IF NOT EXISTS] [catalog.]name [MANAGED LOCATION ...] [COMMENT ...]`
    pub(crate) async fn create_schema(&mut self, stmt: CreateSchema) -> Result<()> {
        let CreateSchema {
            name,
            if_not_exists,
            managed_location,
            comment,
        } = stmt;
        let m = self.state.metastore.clone();
        let user = self.user.clone();
        let (c, s) = self.qualify_schema(&name)?;
        if m.get_catalog(&c)?.is_none() {
            return Err(crate::system_tables::catalog::missing_catalog(&c));
        }
        let access = self.access()?;
        access.require_use(&c, None)?;
        access.require(&Securable::Catalog(c.clone()), Privilege::CreateSchema)?;
        let loc = self.resolve_managed_location(&access, managed_location)?;
        m.create_schema(
            &c,
            &s,
            comment.as_deref(),
            loc.as_ref().map(Url::as_str),
            &user,
            if_not_exists,
        )?;
        Ok(())
    }

    /// `DROP SCHEMA [IF EXISTS] name [CASCADE]`: the schema's managed tables lose their data.
    pub(crate) async fn drop_schema(&mut self, stmt: DropSchema) -> Result<()> {
        let DropSchema {
            name,
            if_exists,
            cascade,
        } = stmt;
        let m = self.state.metastore.clone();
        let (c, s) = self.qualify_schema(&name)?;
        if c == crate::system_tables::catalog::SYSTEM_CATALOG {
            return Err(crate::system_tables::catalog::missing_catalog(&c));
        }
        if m.get_schema(&c, &s)?.is_none() && if_exists {
            return Ok(());
        }
        if m.get_schema(&c, &s)?.is_some() {
            self.access()?
                .require_manage(&Securable::Schema(c.clone(), s.clone()))?;
        }
        let tables = m.drop_schema(&c, &s, cascade)?;
        self.remove_managed_data(&tables).await;
        if c == self.current_catalog() && s == self.current_schema() {
            self.set_current(&c, DEFAULT_SCHEMA);
        }
        Ok(())
    }

    /// `USE [SCHEMA] [catalog.]name`.
    pub(crate) async fn use_schema(&mut self, name: Name) -> Result<()> {
        let m = self.state.metastore.clone();
        let (c, s) = self.qualify_schema(&name)?;
        let system = c == crate::system_tables::catalog::SYSTEM_CATALOG;
        if !system && m.get_catalog(&c)?.is_none() {
            return Err(crate::system_tables::catalog::missing_catalog(&c));
        }
        let exists = if system {
            crate::system_tables::catalog::schema_names().contains(&s.as_str())
        } else {
            m.get_schema(&c, &s)?.is_some()
        };
        if !exists {
            return Err(EngineError::UndefinedSchema(format!(
                "schema '{c}.{s}' does not exist"
            )));
        }
        self.access()?.require_use(&c, Some(&s))?;
        self.set_current(&c, &s);
        Ok(())
    }
}
