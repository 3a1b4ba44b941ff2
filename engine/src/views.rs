//! Views: stored as SQL in the metastore, planned on use with the catalog and schema they were
//! created in as defaults.

use std::sync::Arc;

use datafusion::catalog::view::ViewTable;
use datafusion::catalog::TableProvider;
use weir_catalog::TableEntry;

use crate::error::{EngineError, Result};
use crate::namespace::EngineState;

pub async fn plan_view(
    state: &Arc<EngineState>,
    entry: &TableEntry,
) -> Result<Arc<dyn TableProvider>> {
    let sql = entry.view_definition.as_deref().ok_or_else(|| {
        EngineError::Internal(format!("view {} has no definition", entry.full_name()))
    })?;
    let session = crate::session::new_session_state(state, &entry.catalog, &entry.schema);
    let plan = session.create_logical_plan(sql).await.map_err(|e| {
        EngineError::invalid(format!(
            "view {} no longer plans: {}",
            entry.full_name(),
            EngineError::from(e)
        ))
    })?;
    Ok(Arc::new(ViewTable::new(plan, Some(sql.to_string()))))
}
