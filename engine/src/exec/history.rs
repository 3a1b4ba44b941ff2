//! `DESCRIBE HISTORY t [LIMIT n]`: a Delta table's commits, newest first, in Databricks' shape.

use datafusion::logical_expr::LogicalPlan;
use futures::TryStreamExt;
use weir_catalog::TableKind;

use crate::batches::{batch, mem_table, Col};
use crate::error::{EngineError, Result};
use crate::session::Session;

/// The columns of `DESCRIBE HISTORY` (Databricks' names and order).
fn history_columns() -> Vec<Col> {
    vec![
        Col::int("version"),
        Col::time("timestamp"),
        Col::str("userId"),
        Col::str("userName"),
        Col::str("operation"),
        Col::str("operationParameters"),
        Col::str("job"),
        Col::str("notebook"),
        Col::str("clusterId"),
        Col::int("readVersion"),
        Col::str("isolationLevel"),
        Col::bool("isBlindAppend"),
        Col::str("operationMetrics"),
        Col::str("userMetadata"),
        Col::str("engineInfo"),
    ]
}

impl Session {
    /// `DESCRIBE HISTORY t [LIMIT n]`: newest commit first.
    pub(crate) async fn history_plan(
        &self,
        name: &[String],
        limit: Option<usize>,
    ) -> Result<LogicalPlan> {
        use datafusion::datasource::provider_as_source;
        use datafusion::logical_expr::LogicalPlanBuilder;
        let (c, s, t) = self.qualify_table(name)?;
        let entry = self.lookup_table(&c, &s, &t)?;
        // History shows operation parameters, metrics and statement texts, which name values and
        // rows that column grants, masks and row filters hide: a full reader's business, and on
        // a table with policies its owner's (or a MANAGE holder's).
        let access = self.access()?;
        access.require_on_table(&entry, weir_catalog::Privilege::Select)?;
        if access.table_read(&entry)? != crate::access::TableRead::All
            || !crate::access::TablePolicies::load(&self.state.metastore, &entry)?.is_empty()
        {
            access.require_manage(&crate::access::table_securable(&entry))?;
        }
        if entry.kind == TableKind::View {
            return Err(EngineError::WrongObjectType(format!(
                "'{}' is a view and has no history",
                entry.full_name()
            )));
        }
        let table = self.state.latest_table(&entry).await?;
        let newest = table.version().unwrap_or(0);
        let infos: Vec<_> = table.history(limit).try_collect().await?;
        let mut cols = history_columns();
        for (i, info) in infos.iter().enumerate() {
            let json = |v: Option<&serde_json::Value>| v.map(|v| v.to_string());
            let version = newest.saturating_sub(i as u64);
            cols[0].push_int(Some(version as i64));
            cols[1].push_int(
                crate::time_travel::commit_time(&table, version)
                    .await
                    .or(info.timestamp),
            );
            cols[2].push_str(info.user_id.clone());
            cols[3].push_str(info.user_name.clone().or_else(|| {
                info.info
                    .get("userName")
                    .and_then(|v| v.as_str().map(str::to_string))
            }));
            cols[4].push_str(info.operation.clone());
            cols[5].push_str(
                info.operation_parameters
                    .as_ref()
                    .and_then(|p| serde_json::to_string(p).ok()),
            );
            cols[6].push_str(None::<String>);
            cols[7].push_str(None::<String>);
            cols[8].push_str(None::<String>);
            cols[9].push_int(info.read_version.map(|v| v as i64));
            cols[10].push_str(info.isolation_level.as_ref().map(|l| format!("{l:?}")));
            cols[11].push_bool(info.is_blind_append);
            cols[12].push_str(json(info.info.get("operationMetrics")));
            cols[13].push_str(
                info.info
                    .get("userMetadata")
                    .and_then(|v| v.as_str().map(str::to_string)),
            );
            cols[14].push_str(info.engine_info.clone());
        }
        Ok(LogicalPlanBuilder::scan(
            "history",
            provider_as_source(mem_table(batch(cols)?)?),
            None,
        )?
        .build()?)
    }
}
