//! PostgreSQL client compatibility: `pg_catalog` (from datafusion-pg-catalog) fed by the
//! metastore, and the pg functions psql, JDBC drivers and BI tools call.
//!
//! Each catalog gets its own `pg_catalog` whose `pg_namespace` / `pg_class` list only that
//! catalog's schemas and tables, because a Postgres database is a Weir catalog. The providers are
//! kept for the server's lifetime so that OIDs stay stable across a client's queries (psql looks
//! up an OID in one query and uses it in the next).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use arrow::datatypes::{Field, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::SchemaProvider;
use datafusion::datasource::TableType;
use datafusion::error::DataFusionError;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::prelude::SessionContext;
use datafusion_pg_catalog::pg_catalog::catalog_info::CatalogInfo;
use datafusion_pg_catalog::pg_catalog::context::EmptyContextProvider;
use datafusion_pg_catalog::pg_catalog::{
    self as pgc, PgCatalogSchemaProvider, PgCatalogStaticTables,
};
use weir_catalog::TableKind;

use crate::namespace::EngineState;

#[derive(Default)]
pub struct PgCatalogs {
    static_tables: Mutex<Option<Arc<PgCatalogStaticTables>>>,
    by_catalog: Mutex<HashMap<String, Arc<dyn SchemaProvider>>>,
}

impl PgCatalogs {
    fn static_tables(&self) -> Result<Arc<PgCatalogStaticTables>, DataFusionError> {
        let mut guard = self.static_tables.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = guard.as_ref() {
            return Ok(t.clone());
        }
        let t = Arc::new(PgCatalogStaticTables::try_new()?);
        *guard = Some(t.clone());
        Ok(t)
    }

    pub fn for_catalog(&self, state: &Arc<EngineState>, catalog: &str) -> Arc<dyn SchemaProvider> {
        let mut map = self.by_catalog.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = map.get(catalog) {
            return p.clone();
        }
        let info = MetastoreCatalogInfo {
            state: state.clone(),
            catalog: catalog.to_string(),
        };
        let provider: Arc<dyn SchemaProvider> = match self
            .static_tables()
            .and_then(|st| PgCatalogSchemaProvider::try_new(info, st, EmptyContextProvider))
        {
            Ok(p) => Arc::new(WeirPgCatalog {
                inner: Arc::new(p),
                state: state.clone(),
            }),
            Err(e) => {
                tracing::error!("pg_catalog unavailable: {e}");
                Arc::new(datafusion::catalog::MemorySchemaProvider::new())
            }
        };
        map.insert(catalog.to_string(), provider.clone());
        provider
    }
}

/// The metastore as datafusion-pg-catalog's `CatalogInfo`, scoped to one catalog (database).
#[derive(Clone)]
struct MetastoreCatalogInfo {
    state: Arc<EngineState>,
    catalog: String,
}

impl std::fmt::Debug for MetastoreCatalogInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MetastoreCatalogInfo({})", self.catalog)
    }
}

fn ext(e: weir_catalog::MetastoreError) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

#[async_trait]
impl CatalogInfo for MetastoreCatalogInfo {
    async fn catalog_names(&self) -> Result<Vec<String>, DataFusionError> {
        Ok(self
            .state
            .metastore
            .list_catalogs()
            .map_err(ext)?
            .into_iter()
            .map(|c| c.name)
            .collect())
    }

    async fn schema_names(
        &self,
        catalog_name: &str,
    ) -> Result<Option<Vec<String>>, DataFusionError> {
        if catalog_name != self.catalog {
            return Ok(Some(vec![]));
        }
        let mut names = self
            .state
            .metastore
            .schema_names(catalog_name)
            .map_err(ext)?;
        names.push("information_schema".into());
        Ok(Some(names))
    }

    async fn table_names(
        &self,
        catalog_name: &str,
        schema_name: &str,
    ) -> Result<Option<Vec<String>>, DataFusionError> {
        if catalog_name != self.catalog {
            return Ok(None);
        }
        if schema_name == "information_schema" {
            return Ok(Some(
                crate::information_schema::TABLES
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            ));
        }
        Ok(Some(
            self.state
                .metastore
                .table_names(catalog_name, schema_name)
                .map_err(ext)?,
        ))
    }

    async fn table_schema(
        &self,
        catalog_name: &str,
        schema_name: &str,
        table_name: &str,
    ) -> Result<Option<SchemaRef>, DataFusionError> {
        let Some(t) = self
            .state
            .metastore
            .get_table(catalog_name, schema_name, table_name)
            .map_err(ext)?
        else {
            return Ok(None);
        };
        let fields: Vec<Field> = t
            .columns
            .iter()
            .map(|c| {
                let dt = crate::types::parse_spark_type(&c.data_type)
                    .unwrap_or(arrow::datatypes::DataType::Utf8);
                Field::new(&c.name, dt, c.nullable)
            })
            .collect();
        Ok(Some(Arc::new(Schema::new(fields))))
    }

    async fn table_type(
        &self,
        catalog_name: &str,
        schema_name: &str,
        table_name: &str,
    ) -> Result<Option<TableType>, DataFusionError> {
        if schema_name == "information_schema" {
            return Ok(Some(TableType::View));
        }
        Ok(self
            .state
            .metastore
            .get_table(catalog_name, schema_name, table_name)
            .map_err(ext)?
            .map(|t| {
                if t.kind == TableKind::View {
                    TableType::View
                } else {
                    TableType::Base
                }
            }))
    }
}

/// Registers the pg_* functions clients call. `current_database()` / `current_schema()` come from
/// `weir-udfs` instead, because they must follow `USE`.
pub fn install_pg_functions(ctx: &SessionContext) {
    use datafusion_pg_catalog::pg_catalog::{
        array_bounds_udf, format_type, has_privilege_udf, pg_get_expr_udf, quote_ident_udf,
    };
    ctx.register_udf(pgc::create_current_schemas_udf());
    ctx.register_udf(pgc::create_pg_get_userbyid_udf());
    for name in [
        "has_table_privilege",
        "has_schema_privilege",
        "has_database_privilege",
        "has_any_column_privilege",
    ] {
        ctx.register_udf(has_privilege_udf::create_has_privilege_udf(name));
    }
    ctx.register_udf(pgc::create_pg_table_is_visible());
    ctx.register_udf(format_type::create_format_type_udf());
    ctx.register_udf(pg_get_expr_udf::create_pg_get_expr_udf());
    ctx.register_udf(pgc::create_pg_get_partkeydef_udf());
    ctx.register_udf(pgc::create_pg_relation_is_publishable_udf());
    ctx.register_udf(pgc::create_pg_get_statisticsobjdef_columns_udf());
    ctx.register_udf(pgc::create_pg_encoding_to_char_udf());
    ctx.register_udf(pgc::create_pg_backend_pid_udf());
    ctx.register_udf(pgc::create_pg_relation_size_udf());
    ctx.register_udf(pgc::create_pg_total_relation_size_udf());
    ctx.register_udf(pgc::create_pg_stat_get_numscans());
    ctx.register_udf(pgc::create_pg_get_constraintdef());
    ctx.register_udf(pgc::create_pg_get_partition_ancestors_udf());
    ctx.register_udf(quote_ident_udf::create_quote_ident_udf());
    ctx.register_udf(quote_ident_udf::create_parse_ident_udf());
    ctx.register_udf(array_bounds_udf::create_array_upper_udf());
    ctx.register_udf(array_bounds_udf::create_array_lower_udf());
    {
        let state = ctx.state_ref();
        let existing = state.read().clone();
        let new_state = SessionStateBuilder::new_from_existing(existing)
            .with_type_planner(Arc::new(pgc::oid_type_planner::PgOidTypePlanner))
            .build();
        *state.write() = new_state;
    }
    pgc::generate_series_arg_coercion::CoerceIntArgsToBigInt::widen(ctx);
}

/// datafusion-pg-catalog's `pg_catalog`, with `pg_database` listing exactly Weir's catalogs (the
/// library always adds a `postgres` database, which does not exist here).
#[derive(Debug)]
struct WeirPgCatalog {
    inner: Arc<dyn SchemaProvider>,
    state: Arc<EngineState>,
}

#[async_trait]
impl SchemaProvider for WeirPgCatalog {
    fn table_names(&self) -> Vec<String> {
        self.inner.table_names()
    }

    async fn table(
        &self,
        name: &str,
    ) -> Result<Option<Arc<dyn datafusion::catalog::TableProvider>>, DataFusionError> {
        let table = self.inner.table(name).await?;
        match table {
            Some(t) if name.eq_ignore_ascii_case("pg_database") => {
                Ok(Some(self.only_catalogs(t).await?))
            }
            other => Ok(other),
        }
    }

    fn table_exist(&self, name: &str) -> bool {
        self.inner.table_exist(name)
    }
}

impl WeirPgCatalog {
    async fn only_catalogs(
        &self,
        table: Arc<dyn datafusion::catalog::TableProvider>,
    ) -> Result<Arc<dyn datafusion::catalog::TableProvider>, DataFusionError> {
        use arrow::array::{Array, BooleanArray, StringArray};
        let catalogs: std::collections::HashSet<String> = self
            .state
            .metastore
            .list_catalogs()
            .map_err(ext)?
            .into_iter()
            .map(|c| c.name)
            .collect();
        let ctx = SessionContext::new();
        let batches = ctx.read_table(table.clone())?.collect().await?;
        let mut kept = Vec::with_capacity(batches.len());
        for batch in batches {
            let idx = batch.schema().index_of("datname")?;
            let names = arrow::compute::cast(batch.column(idx), &arrow::datatypes::DataType::Utf8)?;
            let names = names
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or_else(|| {
                    DataFusionError::Internal("pg_database.datname is not text".into())
                })?;
            let keep: BooleanArray = (0..names.len())
                .map(|i| Some(names.is_valid(i) && catalogs.contains(names.value(i))))
                .collect();
            kept.push(arrow::compute::filter_record_batch(&batch, &keep)?);
        }
        Ok(Arc::new(datafusion::datasource::MemTable::try_new(
            table.schema(),
            vec![kept],
        )?))
    }
}
