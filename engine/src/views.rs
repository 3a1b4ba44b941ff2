//! Views: stored as SQL in the metastore, planned on use with the catalog and schema they were
//! created in as defaults, and with their owner's privileges.

use std::sync::Arc;

use datafusion::catalog::view::ViewTable;
use datafusion::catalog::TableProvider;
use weir_catalog::TableEntry;

use crate::engine_state::{EngineState, ViewPlanner};
use crate::error::{EngineError, Result};
use crate::identity::{Identity, ViewPath};

/// Views may nest this deep.
const MAX_VIEW_DEPTH: usize = 32;

/// Views as the metastore stores them: their SQL, planned on use.
pub(crate) struct StoredViews;

#[async_trait::async_trait]
impl ViewPlanner for StoredViews {
    /// Plans a view for `invoker`: its tables are resolved with the view owner's privileges,
    /// while `current_user()` and `is_member()` inside it answer for the invoker (dynamic views).
    async fn plan_view(
        &self,
        state: &Arc<EngineState>,
        entry: &TableEntry,
        views: &ViewPath,
        invoker: &Identity,
    ) -> Result<Arc<dyn TableProvider>> {
        plan_view(state, entry, views, invoker).await
    }
}

async fn plan_view(
    state: &Arc<EngineState>,
    entry: &TableEntry,
    views: &ViewPath,
    invoker: &Identity,
) -> Result<Arc<dyn TableProvider>> {
    let sql = entry.view_definition.as_deref().ok_or_else(|| {
        EngineError::Internal(format!("view {} has no definition", entry.full_name()))
    })?;
    if views.contains(&entry.id) {
        return Err(EngineError::Recursion(format!(
            "infinite recursion detected in view {}",
            entry.full_name()
        )));
    }
    if views.len() >= MAX_VIEW_DEPTH {
        return Err(EngineError::Recursion(format!(
            "views nest deeper than {MAX_VIEW_DEPTH} levels at {}",
            entry.full_name()
        )));
    }
    let mut path = views.as_ref().clone();
    path.push(entry.id.clone());
    let session = crate::session_state::state_for(
        state,
        &entry.catalog,
        &entry.schema,
        Arc::new(path),
        invoker.for_view(&entry.owner),
        // Stored SQL is Databricks SQL, whoever reads it.
        crate::sql_dialect::SqlDialect::Databricks,
    );
    let broken = |e: EngineError| match e {
        recursion @ EngineError::Recursion(_) => recursion,
        other => EngineError::invalid(format!(
            "view {} no longer plans: {other}",
            entry.full_name()
        )),
    };
    let query = crate::parser::parse_query(sql).map_err(broken)?;
    let plan = crate::planner::plan_query(&session, query)
        .await
        .map_err(|e| broken(e.into()))?;
    Ok(Arc::new(ViewTable::new(plan, Some(sql.to_string()))))
}
