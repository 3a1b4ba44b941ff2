//! `CREATE CATALOG`, `DROP CATALOG` and `USE CATALOG`.

use url::Url;
use weir_catalog::{Privilege, Securable, DEFAULT_SCHEMA};

use crate::error::{EngineError, Result};
use crate::parser::{CreateCatalog, DropCatalog};
use crate::session::Session;

impl Session {
    /// `CREATE CATALOG [IF NOT EXISTS] name [MANAGED LOCATION ...] [COMMENT ...]`
    pub(crate) async fn create_catalog(&mut self, stmt: CreateCatalog) -> Result<()> {
        let CreateCatalog {
            name,
            if_not_exists,
            managed_location,
            comment,
        } = stmt;
        let m = self.state.metastore.clone();
        let user = self.user.clone();
        if name == crate::system_tables::catalog::SYSTEM_CATALOG {
            return Err(EngineError::Coded {
                sqlstate: "42939",
                message: format!("'{name}' is the built-in system catalog's name"),
            });
        }
        let access = self.access()?;
        access.require(&Securable::Metastore, Privilege::CreateCatalog)?;
        let loc = self.resolve_managed_location(&access, managed_location)?;
        m.create_catalog(
            &name,
            comment.as_deref(),
            loc.as_ref().map(Url::as_str),
            &user,
            if_not_exists,
        )?;
        Ok(())
    }

    /// `DROP CATALOG [IF EXISTS] name [CASCADE]`: the catalog's managed tables lose their data.
    pub(crate) async fn drop_catalog(&mut self, stmt: DropCatalog) -> Result<()> {
        let DropCatalog {
            name,
            if_exists,
            cascade,
        } = stmt;
        let m = self.state.metastore.clone();
        if name == crate::system_tables::catalog::SYSTEM_CATALOG {
            return Err(crate::system_tables::catalog::missing_catalog(&name));
        }
        if m.get_catalog(&name)?.is_none() && if_exists {
            return Ok(());
        }
        if m.get_catalog(&name)?.is_some() {
            self.access()?
                .require_manage(&Securable::Catalog(name.clone()))?;
        }
        if name == self.current_catalog() {
            return Err(EngineError::invalid(format!(
                "cannot drop the current catalog '{name}'; USE another catalog first"
            )));
        }
        let tables = m.drop_catalog(&name, cascade)?;
        self.remove_managed_data(&tables).await;
        Ok(())
    }

    /// `USE CATALOG name`: its `default` schema becomes current (in `system`, which has none,
    /// `information_schema`).
    pub(crate) async fn use_catalog(&mut self, c: String) -> Result<()> {
        use crate::system_tables::catalog::SYSTEM_CATALOG;
        use crate::system_tables::information_schema::SCHEMA as INFORMATION_SCHEMA;
        if c == SYSTEM_CATALOG {
            self.access()?.require_use(&c, None)?;
            self.set_current(&c, INFORMATION_SCHEMA);
            return Ok(());
        }
        let m = self.state.metastore.clone();
        if m.get_catalog(&c)?.is_none() {
            return Err(crate::system_tables::catalog::missing_catalog(&c));
        }
        self.access()?.require_use(&c, None)?;
        self.set_current(&c, DEFAULT_SCHEMA);
        Ok(())
    }
}
