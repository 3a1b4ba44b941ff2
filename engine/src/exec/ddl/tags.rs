//! `SET TAGS` / `UNSET TAGS` on catalogs, schemas, tables and columns.

use weir_catalog::Securable;

use crate::error::{EngineError, Result};
use crate::parser::TagTarget;
use crate::session::Session;

impl Session {
    /// `ALTER ... SET TAGS ('k' = 'v', ...)`.
    pub(crate) async fn set_tags(
        &mut self,
        target: TagTarget,
        tags: Vec<(String, String)>,
    ) -> Result<()> {
        let m = self.state.metastore.clone();
        let (on, col) = self.tag_securable(&target)?;
        self.access()?.require_manage(&on)?;
        m.set_tags(&on, col.as_deref(), &tags)?;
        Ok(())
    }

    /// `ALTER ... UNSET TAGS ('k', ...)`.
    pub(crate) async fn unset_tags(&mut self, target: TagTarget, keys: Vec<String>) -> Result<()> {
        let m = self.state.metastore.clone();
        let (on, col) = self.tag_securable(&target)?;
        self.access()?.require_manage(&on)?;
        m.unset_tags(&on, col.as_deref(), &keys)?;
        Ok(())
    }

    /// The object a tag or comment statement names, which must exist, and its column.
    pub(crate) fn tag_securable(&self, target: &TagTarget) -> Result<(Securable, Option<String>)> {
        let m = &self.state.metastore;
        Ok(match target {
            TagTarget::Catalog(n) => {
                let c = n.join(".");
                if m.get_catalog(&c)?.is_none() {
                    return Err(crate::system_tables::catalog::missing_catalog(&c));
                }
                (Securable::Catalog(c), None)
            }
            TagTarget::Schema(n) => {
                let (c, s) = self.qualify_schema(n)?;
                if m.get_schema(&c, &s)?.is_none() {
                    return Err(EngineError::UndefinedSchema(format!(
                        "schema '{c}.{s}' does not exist"
                    )));
                }
                (Securable::Schema(c, s), None)
            }
            TagTarget::Table(n) => {
                let (c, s, t) = self.qualify_table(n)?;
                self.lookup_table(&c, &s, &t)?;
                (Securable::Table(c, s, t), None)
            }
            TagTarget::Column(n, col) => {
                let (c, s, t) = self.qualify_table(n)?;
                let e = self.lookup_table(&c, &s, &t)?;
                if !e.columns.iter().any(|x| &x.name == col) {
                    return Err(EngineError::UndefinedColumn(format!(
                        "column '{col}' does not exist in '{}'",
                        e.full_name()
                    )));
                }
                (Securable::Table(c, s, t), Some(col.clone()))
            }
        })
    }
}
