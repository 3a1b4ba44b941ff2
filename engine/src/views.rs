//! Views: stored as SQL in the metastore, planned on use with the catalog and schema they were
//! created in as defaults, and with their owner's privileges.

use std::sync::Arc;

use datafusion::catalog::view::ViewTable;
use datafusion::catalog::TableProvider;
use weir_catalog::TableEntry;

use crate::error::{EngineError, Result};
use crate::namespace::{EngineState, ViewPath};

/// Views may nest this deep.
const MAX_VIEW_DEPTH: usize = 32;

/// Plans a view for `invoker`: its tables are resolved with the view owner's privileges, while
/// `current_user()` and `is_member()` inside it answer for the invoker (dynamic views).
pub async fn plan_view(
    state: &Arc<EngineState>,
    entry: &TableEntry,
    views: &ViewPath,
    invoker: &str,
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
    let session = state.template.state_for(
        state,
        &entry.catalog,
        &entry.schema,
        Arc::new(path),
        crate::namespace::Identity::new(invoker, &entry.owner),
    );
    let plan = session
        .create_logical_plan(sql)
        .await
        .map_err(|e| match EngineError::from(e) {
            recursion @ EngineError::Recursion(_) => recursion,
            other => EngineError::invalid(format!(
                "view {} no longer plans: {other}",
                entry.full_name()
            )),
        })?;
    Ok(Arc::new(ViewTable::new(plan, Some(sql.to_string()))))
}
