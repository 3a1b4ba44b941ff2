//! `SET`: session settings, the few DataFusion execution settings a session may tune, the time
//! zone, `search_path`; and `USE CATALOG` / `USE SCHEMA` for fronts that set them as options.

use std::sync::Arc;

use datafusion::execution::session_state::SessionState;
use datafusion::execution::FunctionRegistry;

use crate::error::{EngineError, Result};
use crate::identity::Identity;
use crate::session::Session;

/// After a session changed its settings: functions that depend on them (`now()` returns
/// timestamps in the session's time zone) are made again, as DataFusion's own `SET` does, and
/// the views the session reads will plan with them.
fn follow_config(state: &mut SessionState, identity: &Identity) -> Result<()> {
    let options = state.config().options().clone();
    let updated: Vec<_> = state
        .scalar_functions()
        .values()
        .filter_map(|f| f.inner().with_updated_config(&options))
        .collect();
    for f in updated {
        state.register_udf(Arc::new(f))?;
    }
    identity.set_execution(Some(options.execution.clone()));
    Ok(())
}

/// PostgreSQL's `statement_timeout`: how long a request may run before it is stopped (57014).
pub(crate) const STATEMENT_TIMEOUT: &str = "statement_timeout";

/// A `statement_timeout` value as PostgreSQL takes it: milliseconds, or a number with a unit
/// (`ms`, `s`, `min`, `h`, `d`); 0 turns it off (`None`).
pub(crate) fn statement_timeout(value: &str) -> Result<Option<std::time::Duration>> {
    let v = value.trim().trim_matches('\'').trim().to_ascii_lowercase();
    let split = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(v.len());
    let (number, unit) = v.split_at(split);
    let invalid = || {
        EngineError::invalid(format!(
            "invalid value for parameter \"statement_timeout\": \"{value}\""
        ))
    };
    let number: f64 = number.parse().map_err(|_| invalid())?;
    let ms = match unit.trim() {
        "" | "ms" => number,
        "s" => number * 1e3,
        "min" => number * 60e3,
        "h" => number * 3600e3,
        "d" => number * 86400e3,
        _ => return Err(invalid()),
    };
    if !(0.0..=2_147_483_647.0).contains(&ms) {
        return Err(invalid());
    }
    Ok((ms >= 1.0).then(|| std::time::Duration::from_millis(ms as u64)))
}

impl Session {
    pub(crate) fn set_variable(&mut self, name: &str, value: &str) -> Result<()> {
        if name.starts_with("datafusion.") {
            // Only bounded execution tuning is open to sessions: catalog, file-access and
            // memory settings are the server's.
            let bounds = match name {
                "datafusion.execution.batch_size" => Some((1u64, 1u64 << 20)),
                "datafusion.execution.target_partitions" => Some((1, 256)),
                _ => None,
            };
            let Some((lo, hi)) = bounds else {
                return Err(EngineError::PermissionDenied(format!(
                    "setting '{name}' cannot be changed by a session"
                )));
            };
            match value.trim().parse::<u64>() {
                Ok(v) if (lo..=hi).contains(&v) => {}
                _ => {
                    return Err(EngineError::invalid(format!(
                        "{name} must be an integer from {lo} to {hi}"
                    )))
                }
            }
            let state = self.ctx.state_ref();
            let mut guard = state.write();
            guard.config_mut().options_mut().set(name, value.trim())?;
            follow_config(&mut guard, &self.identity)?;
            return Ok(());
        }
        if name == crate::exec::maintenance::RETENTION_CHECK_SETTING
            && value.trim().eq_ignore_ascii_case("false")
        {
            self.access()?
                .require_admin(&format!("turn off the VACUUM retention check ({name})"))?;
        }
        if name == STATEMENT_TIMEOUT {
            statement_timeout(value)?;
        }
        if name == crate::sql_dialect::DIALECT_SETTING {
            let dialect = crate::sql_dialect::SqlDialect::parse(value)?;
            self.use_dialect(dialect);
            let state = self.ctx.state_ref();
            let mut guard = state.write();
            follow_config(&mut guard, &self.identity)?;
            drop(guard);
            self.vars
                .insert(name.to_string(), dialect.name().to_string());
            return Ok(());
        }
        if name == "search_path" {
            // The first schema of the path that exists in the current catalog becomes current.
            let catalog = self.current_catalog();
            let found = value
                .split(',')
                .map(|p| {
                    p.trim()
                        .trim_matches(|c| c == '"' || c == '\'')
                        .to_lowercase()
                })
                .find(|p| matches!(self.state.metastore.get_schema(&catalog, p), Ok(Some(_))));
            match found {
                Some(schema) => self.set_current(&catalog, &schema),
                None => {
                    return Err(EngineError::UndefinedSchema(format!(
                        "no schema of search_path '{value}' exists in catalog '{catalog}'"
                    )))
                }
            }
        }
        if name == "timezone" {
            let state = self.ctx.state_ref();
            let mut guard = state.write();
            guard.config_mut().options_mut().execution.time_zone = Some(value.to_string());
            follow_config(&mut guard, &self.identity)?;
        }
        self.vars.insert(name.to_string(), value.to_string());
        Ok(())
    }

    /// `USE CATALOG name` for fronts that set it as a session option.
    pub async fn set_catalog_option(&mut self, name: &str) -> Result<()> {
        self.use_catalog(name.to_lowercase()).await
    }

    /// `USE SCHEMA name` (in the current catalog) for fronts that set it as a session option.
    pub async fn set_schema_option(&mut self, name: &str) -> Result<()> {
        self.use_schema(vec![name.to_lowercase()]).await
    }
}
