//! The built-in, read-only catalog `system`: schemas of tables Weir serves itself.
//! `system.access` holds the audit log; `system.information_schema` describes every catalog the
//! reader may see. Lineage, jobs and ingestion tables are added here, one file per table.

use std::sync::Arc;

use datafusion::catalog::{CatalogProvider, SchemaProvider};
use datafusion::error::{DataFusionError, Result as DfResult};

use crate::engine_state::EngineState;
use crate::error::EngineError;
use crate::system_tables::information_schema::SCHEMA as INFORMATION_SCHEMA;
use crate::system_tables::{access, information_schema, Scope, SystemSchema};

/// The catalog's name, reserved: no catalog of the metastore can take it.
pub const SYSTEM_CATALOG: &str = "system";

/// The error for a statement that needs catalog `name` of the metastore, which has none of
/// that name: `system` is read-only (42501), any other catalog does not exist (3D000).
pub(crate) fn missing_catalog(name: &str) -> EngineError {
    if name == SYSTEM_CATALOG {
        EngineError::PermissionDenied(format!(
            "the {SYSTEM_CATALOG} catalog is read-only: Weir maintains its tables"
        ))
    } else {
        EngineError::UndefinedCatalog(format!("catalog '{name}' does not exist"))
    }
}

/// `system`, as one principal sees it.
#[derive(Debug)]
pub(crate) struct SystemCatalog {
    pub state: Arc<EngineState>,
    pub rights: String,
}

impl CatalogProvider for SystemCatalog {
    fn schema_names(&self) -> Vec<String> {
        vec![access::SCHEMA.to_string(), INFORMATION_SCHEMA.to_string()]
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        match name.to_lowercase().as_str() {
            access::SCHEMA => Some(Arc::new(SystemSchema {
                state: self.state.clone(),
                tables: access::TABLES,
                scope: Scope::AllVisible,
                rights: self.rights.clone(),
            })),
            INFORMATION_SCHEMA => Some(Arc::new(SystemSchema {
                state: self.state.clone(),
                tables: information_schema::TABLES,
                scope: Scope::AllVisible,
                rights: self.rights.clone(),
            })),
            _ => None,
        }
    }

    fn register_schema(
        &self,
        name: &str,
        _schema: Arc<dyn SchemaProvider>,
    ) -> DfResult<Option<Arc<dyn SchemaProvider>>> {
        Err(DataFusionError::NotImplemented(format!(
            "the system catalog is read-only: schema '{name}' cannot be created in it"
        )))
    }
}
