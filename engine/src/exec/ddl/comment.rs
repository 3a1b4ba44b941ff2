//! `COMMENT ON CATALOG|SCHEMA|TABLE|COLUMN ... IS ...`.

use crate::error::Result;
use crate::parser::{AlterTableOp, TagTarget};
use crate::session::Session;

impl Session {
    /// Sets or removes (`NULL`) the comment.
    pub(crate) async fn comment_on(
        &mut self,
        target: TagTarget,
        comment: Option<String>,
    ) -> Result<()> {
        let m = self.state.metastore.clone();
        if !matches!(target, TagTarget::Column(..)) {
            let (on, _) = self.tag_securable(&target)?;
            self.access()?.require_manage(&on)?;
        }
        match target {
            TagTarget::Catalog(n) => m.set_catalog_comment(&n.join("."), comment.as_deref())?,
            TagTarget::Schema(n) => {
                let (c, s) = self.qualify_schema(&n)?;
                m.set_schema_comment(&c, &s, comment.as_deref())?
            }
            TagTarget::Table(n) => {
                let (c, s, t) = self.qualify_table(&n)?;
                let mut e = self.lookup_table(&c, &s, &t)?;
                e.comment = comment;
                m.update_table(&e)?;
            }
            TagTarget::Column(n, col) => {
                self.alter_table(
                    &n,
                    AlterTableOp::ColumnComment {
                        column: col,
                        comment,
                    },
                )
                .await?
            }
        }
        Ok(())
    }
}
