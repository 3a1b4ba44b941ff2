//! `CREATE / ALTER / DROP EXTERNAL LOCATION`. Admins create locations (and change their URLs:
//! a URL decides which files a grant opens); the owner, an admin or a MANAGE holder renames,
//! comments on or drops one. To anyone who neither owns nor holds a privilege on a location,
//! it does not exist.

use weir_catalog::{ExternalLocation, LocationChange, Securable};

use crate::error::{EngineError, Result};
use crate::parser::ExternalLocationStatement;
use crate::session::Session;

pub(crate) fn missing_location(name: &str) -> EngineError {
    EngineError::Coded {
        sqlstate: "42704",
        message: format!("external location '{name}' does not exist"),
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Session {
    /// The location `name`, if the principal may see it.
    pub(crate) fn visible_location(&self, name: &str) -> Result<ExternalLocation> {
        match self.state.metastore.get_external_location(name)? {
            Some(l) if self.access()?.location_visible(name)? => Ok(l),
            _ => Err(missing_location(name)),
        }
    }

    /// The normalised URL of a location as written (`s3a://` is `s3://`; no `.` or `..`).
    fn location_url(&self, url: &str) -> Result<String> {
        let resolved = self.state.storage.resolve_location(url)?;
        crate::storage::location_key(&resolved)
    }

    pub(crate) fn change_external_location(
        &mut self,
        statement: ExternalLocationStatement,
    ) -> Result<()> {
        let access = self.access()?;
        let m = self.state.metastore.clone();
        match statement {
            ExternalLocationStatement::Create {
                name,
                url,
                comment,
                if_not_exists,
            } => {
                access.require_admin("create external locations")?;
                if if_not_exists && m.get_external_location(&name)?.is_some() {
                    return Ok(());
                }
                let url = self.location_url(&url)?;
                let at = now_ms();
                m.create_external_location(&ExternalLocation {
                    name,
                    url,
                    comment,
                    owner: access.user().to_string(),
                    created_at_ms: at,
                    created_by: access.user().to_string(),
                    updated_at_ms: at,
                })?;
            }
            ExternalLocationStatement::Alter { name, change } => {
                self.visible_location(&name)?;
                let change = match change {
                    LocationChange::Url(url) => {
                        access.require_admin("change an external location's URL")?;
                        LocationChange::Url(self.location_url(&url)?)
                    }
                    other => {
                        access.require_manage(&Securable::ExternalLocation(name.clone()))?;
                        other
                    }
                };
                m.alter_external_location(&name, &change, now_ms())?;
            }
            ExternalLocationStatement::Drop { name, if_exists } => {
                if m.get_external_location(&name)?.is_none() && if_exists {
                    return Ok(());
                }
                self.visible_location(&name)?;
                access.require_manage(&Securable::ExternalLocation(name.clone()))?;
                m.drop_external_location(&name)?;
            }
            ExternalLocationStatement::Describe { .. } | ExternalLocationStatement::Show { .. } => {
                return Err(EngineError::Internal(
                    "a listing reached the external location DDL".into(),
                ))
            }
        }
        Ok(())
    }
}
