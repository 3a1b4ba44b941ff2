//! The built-in, read-only catalog `system`: schemas of tables Weir serves itself.
//! `system.access` holds the audit log; `system.information_schema` describes every catalog the
//! reader may see. Lineage, jobs and ingestion tables are added here, one file per table.

use std::sync::Arc;

use datafusion::catalog::{CatalogProvider, SchemaProvider};
use datafusion::error::{DataFusionError, Result as DfResult};

use crate::engine_state::EngineState;
use crate::error::EngineError;
use crate::system_tables::information_schema::SCHEMA as INFORMATION_SCHEMA;
use crate::system_tables::{access, information_schema, ingest, jobs, Scope, SystemSchema};

pub use crate::system_tables::names::SYSTEM_CATALOG;

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

/// The schemas of `system`.
pub(crate) fn schema_names() -> [&'static str; 4] {
    crate::system_tables::names::SYSTEM_SCHEMAS
}

/// The tables of schema `schema` of `system`; `None` when it has no such schema.
pub(crate) fn schema_tables(
    schema: &str,
) -> Option<&'static [&'static dyn crate::system_tables::SystemTable]> {
    match schema {
        access::SCHEMA => Some(access::TABLES),
        ingest::SCHEMA => Some(ingest::TABLES),
        jobs::SCHEMA => Some(jobs::TABLES),
        INFORMATION_SCHEMA => Some(information_schema::TABLES),
        _ => None,
    }
}

/// The securable of a schema or table of `system` a GRANT names, checked to exist.
pub(crate) fn system_securable(
    schema: &str,
    table: Option<&str>,
) -> crate::error::Result<weir_catalog::Securable> {
    use weir_catalog::Securable;
    let tables = schema_tables(schema).ok_or_else(|| {
        EngineError::UndefinedSchema(format!("schema '{SYSTEM_CATALOG}.{schema}' does not exist"))
    })?;
    match table {
        None => Ok(Securable::Schema(SYSTEM_CATALOG.into(), schema.into())),
        Some(t) if tables.iter().any(|st| st.name() == t) => Ok(Securable::Table(
            SYSTEM_CATALOG.into(),
            schema.into(),
            t.into(),
        )),
        Some(t) => Err(EngineError::UndefinedTable(format!(
            "table '{SYSTEM_CATALOG}.{schema}.{t}' does not exist"
        ))),
    }
}

/// Whether `on` is `system` or one of its schemas or tables.
pub(crate) fn is_system(on: &weir_catalog::Securable) -> bool {
    use weir_catalog::Securable;
    match on {
        Securable::Catalog(c)
        | Securable::Schema(c, _)
        | Securable::Table(c, _, _)
        | Securable::Procedure(c, _, _) => c == SYSTEM_CATALOG,
        Securable::Metastore | Securable::Function(..) | Securable::ExternalLocation(_) => false,
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
        schema_names().iter().map(|s| s.to_string()).collect()
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        let name = name.to_lowercase();
        if name == crate::pg_compat::PG_CATALOG {
            // For PostgreSQL clients connected to database `system` (psql's `\l`, `\dt`).
            return Some(self.state.pg_catalogs.for_catalog(
                &self.state.metastore,
                SYSTEM_CATALOG,
                &self.rights,
                &information_schema::table_names().collect::<Vec<_>>(),
            ));
        }
        let tables = schema_tables(&name)?;
        Some(Arc::new(SystemSchema {
            state: self.state.clone(),
            tables,
            scope: Scope::AllVisible,
            rights: self.rights.clone(),
        }))
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
