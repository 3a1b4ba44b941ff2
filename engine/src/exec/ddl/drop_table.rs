//! `DROP TABLE` and `DROP VIEW`: a managed table's data is removed with it.

use weir_catalog::TableKind;

use crate::error::{EngineError, Result};
use crate::parser::DropTable;
use crate::session::Session;

impl Session {
    /// `DROP TABLE|VIEW [IF EXISTS] name`; `view` says which the statement names.
    pub(crate) async fn drop_table(&mut self, stmt: DropTable) -> Result<()> {
        let DropTable {
            name,
            if_exists,
            view,
        } = stmt;
        let m = self.state.metastore.clone();
        let (c, s, t) = self.qualify_table(&name)?;
        let entry = match self.lookup_table(&c, &s, &t) {
            Ok(e) => e,
            Err(EngineError::UndefinedTable(_)) if if_exists => return Ok(()),
            Err(e) => return Err(e),
        };
        self.access()?
            .require_manage(&crate::access::table_securable(&entry))?;
        if view != (entry.kind == TableKind::View) {
            return Err(EngineError::WrongObjectType(format!(
                "'{}' is a {}; use DROP {}",
                entry.full_name(),
                if view { "table" } else { "view" },
                if view { "TABLE" } else { "VIEW" }
            )));
        }
        let entry = m.drop_table(&c, &s, &t)?;
        self.remove_managed_data(std::slice::from_ref(&entry)).await;
        Ok(())
    }
}
