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
use weir_catalog::{Metastore, TableKind};

/// The schema's name in every catalog.
pub(crate) const PG_CATALOG: &str = "pg_catalog";

use crate::access::Access;

/// What listings show a principal: the metastore's catalogs, schemas and tables it may see and
/// those Weir serves itself. The engine provides it (`system_tables::listed`), so that
/// pg_catalog lists what SHOW and information_schema list.
pub(crate) trait NamespaceListing: Send + Sync {
    fn catalogs(&self, access: &Access) -> crate::error::Result<Vec<weir_catalog::CatalogEntry>>;
    fn schemas(
        &self,
        access: &Access,
        catalog: &str,
    ) -> crate::error::Result<Vec<weir_catalog::SchemaEntry>>;
    fn tables(
        &self,
        access: &Access,
        catalog: &str,
        schema: Option<&str>,
    ) -> crate::error::Result<Vec<weir_catalog::TableEntry>>;
    fn table(
        &self,
        access: &Access,
        catalog: &str,
        schema: &str,
        table: &str,
    ) -> crate::error::Result<Option<weir_catalog::TableEntry>>;
}

pub struct PgCatalogs {
    listing: Arc<dyn NamespaceListing>,
    static_tables: Mutex<Option<Arc<PgCatalogStaticTables>>>,
    /// Per (catalog, principal): each principal sees only what it may (its own OIDs, stable).
    by_catalog: Mutex<HashMap<(String, String), Arc<dyn SchemaProvider>>>,
}

impl PgCatalogs {
    pub(crate) fn new(listing: Arc<dyn NamespaceListing>) -> Self {
        PgCatalogs {
            listing,
            static_tables: Mutex::default(),
            by_catalog: Mutex::default(),
        }
    }

    fn static_tables(&self) -> Result<Arc<PgCatalogStaticTables>, DataFusionError> {
        let mut guard = self.static_tables.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = guard.as_ref() {
            return Ok(t.clone());
        }
        let t = Arc::new(PgCatalogStaticTables::try_new()?);
        *guard = Some(t.clone());
        Ok(t)
    }

    /// The `pg_catalog` of `catalog` as `rights` sees it. `information_schema` names the
    /// views of the catalog's `information_schema`, which `pg_class` lists too.
    pub fn for_catalog(
        &self,
        metastore: &Arc<Metastore>,
        catalog: &str,
        rights: &str,
        information_schema: &[&str],
    ) -> Arc<dyn SchemaProvider> {
        let mut map = self.by_catalog.lock().unwrap_or_else(|p| p.into_inner());
        let key = (catalog.to_string(), rights.to_string());
        if let Some(p) = map.get(&key) {
            return p.clone();
        }
        let info = MetastoreCatalogInfo {
            listing: self.listing.clone(),
            metastore: metastore.clone(),
            catalog: catalog.to_string(),
            rights: rights.to_string(),
            information_schema: information_schema.iter().map(|t| t.to_string()).collect(),
        };
        let provider: Arc<dyn SchemaProvider> = match self
            .static_tables()
            .and_then(|st| PgCatalogSchemaProvider::try_new(info, st, EmptyContextProvider))
        {
            Ok(p) => Arc::new(WeirPgCatalog {
                listing: self.listing.clone(),
                inner: Arc::new(p),
                metastore: metastore.clone(),
                catalog: catalog.to_string(),
                rights: rights.to_string(),
            }),
            Err(e) => {
                tracing::error!("pg_catalog unavailable: {e}");
                Arc::new(datafusion::catalog::MemorySchemaProvider::new())
            }
        };
        map.insert(key, provider.clone());
        provider
    }
}

/// The metastore as datafusion-pg-catalog's `CatalogInfo`, scoped to one catalog (database).
#[derive(Clone)]
struct MetastoreCatalogInfo {
    listing: Arc<dyn NamespaceListing>,
    metastore: Arc<Metastore>,
    catalog: String,
    rights: String,
    /// The views of the catalog's `information_schema`.
    information_schema: Vec<String>,
}

impl MetastoreCatalogInfo {
    fn access(&self) -> Result<Access, DataFusionError> {
        Access::load(&self.metastore, &self.rights)
            .map_err(|e| DataFusionError::External(Box::new(e)))
    }

    /// What listings show the reader (the `system` catalog included).
    fn listed<T>(
        &self,
        f: impl FnOnce(&dyn NamespaceListing, &Access) -> crate::error::Result<T>,
    ) -> Result<T, DataFusionError> {
        listed(self.listing.as_ref(), self.access()?, f)
    }
}

/// `f` over what listings show `access`'s principal (the `system` catalog included).
fn listed<T>(
    listing: &dyn NamespaceListing,
    access: Access,
    f: impl FnOnce(&dyn NamespaceListing, &Access) -> crate::error::Result<T>,
) -> Result<T, DataFusionError> {
    f(listing, &access).map_err(eng)
}

fn eng(e: crate::error::EngineError) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

impl std::fmt::Debug for MetastoreCatalogInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MetastoreCatalogInfo({})", self.catalog)
    }
}

#[async_trait]
impl CatalogInfo for MetastoreCatalogInfo {
    async fn catalog_names(&self) -> Result<Vec<String>, DataFusionError> {
        Ok(self
            .listed(|l, a| l.catalogs(a))?
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
        let mut names: Vec<String> = self
            .listed(|l, a| l.schemas(a, catalog_name))?
            .into_iter()
            .map(|s| s.name)
            .collect();
        if !names.iter().any(|n| n == "information_schema") {
            names.push("information_schema".into());
        }
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
            return Ok(Some(self.information_schema.clone()));
        }
        Ok(Some(
            self.listed(|l, a| l.tables(a, catalog_name, Some(schema_name)))?
                .into_iter()
                .map(|t| t.name)
                .collect(),
        ))
    }

    async fn table_schema(
        &self,
        catalog_name: &str,
        schema_name: &str,
        table_name: &str,
    ) -> Result<Option<SchemaRef>, DataFusionError> {
        let Some(t) = self.listed(|l, a| l.table(a, catalog_name, schema_name, table_name))? else {
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
            .access()?
            .table(catalog_name, schema_name, table_name)
            .map_err(eng)?
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
struct WeirPgCatalog {
    listing: Arc<dyn NamespaceListing>,
    inner: Arc<dyn SchemaProvider>,
    metastore: Arc<Metastore>,
    catalog: String,
    rights: String,
}

impl std::fmt::Debug for WeirPgCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WeirPgCatalog({})", self.catalog)
    }
}

impl WeirPgCatalog {
    fn access(&self) -> Result<Access, DataFusionError> {
        Access::load(&self.metastore, &self.rights).map_err(eng)
    }
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
        match (name.to_ascii_lowercase().as_str(), table) {
            ("pg_database", Some(t)) => Ok(Some(self.only_catalogs(t).await?)),
            ("pg_attribute", Some(t)) => Ok(Some(self.with_type_modifiers(t).await?)),
            ("pg_description", Some(t)) => Ok(Some(self.descriptions(t).await?)),
            (_, other) => Ok(other),
        }
    }

    fn table_exist(&self, name: &str) -> bool {
        self.inner.table_exist(name)
    }
}

/// Reads a (small, in-memory) catalog table.
async fn collect(
    table: Arc<dyn datafusion::catalog::TableProvider>,
) -> Result<Vec<arrow::array::RecordBatch>, DataFusionError> {
    SessionContext::new().read_table(table)?.collect().await
}

/// A column of a catalog batch, cast to the Arrow array type `A` (`to`).
fn column_as<A: arrow::array::Array + Clone + 'static>(
    batch: &arrow::array::RecordBatch,
    name: &str,
    to: &arrow::datatypes::DataType,
) -> Result<A, DataFusionError> {
    let col = arrow::compute::cast(batch.column(batch.schema().index_of(name)?), to)?;
    col.as_any()
        .downcast_ref::<A>()
        .cloned()
        .ok_or_else(|| DataFusionError::Internal(format!("pg_catalog column {name} is not {to}")))
}

fn int_column(
    batch: &arrow::array::RecordBatch,
    name: &str,
) -> Result<arrow::array::Int64Array, DataFusionError> {
    column_as(batch, name, &arrow::datatypes::DataType::Int64)
}

fn str_column(
    batch: &arrow::array::RecordBatch,
    name: &str,
) -> Result<arrow::array::StringArray, DataFusionError> {
    column_as(batch, name, &arrow::datatypes::DataType::Utf8)
}

impl WeirPgCatalog {
    /// `oid` of each relation of this catalog -> (schema, table), as pg_class numbers them.
    async fn relations(&self) -> Result<HashMap<i64, (String, String)>, DataFusionError> {
        let mut namespaces = HashMap::new();
        if let Some(t) = self.inner.table("pg_namespace").await? {
            for b in collect(t).await? {
                let (oid, name) = (int_column(&b, "oid")?, str_column(&b, "nspname")?);
                for i in 0..b.num_rows() {
                    namespaces.insert(oid.value(i), name.value(i).to_string());
                }
            }
        }
        let mut out = HashMap::new();
        if let Some(t) = self.inner.table("pg_class").await? {
            for b in collect(t).await? {
                let (oid, name, ns) = (
                    int_column(&b, "oid")?,
                    str_column(&b, "relname")?,
                    int_column(&b, "relnamespace")?,
                );
                for i in 0..b.num_rows() {
                    if let Some(schema) = namespaces.get(&ns.value(i)) {
                        out.insert(oid.value(i), (schema.clone(), name.value(i).to_string()));
                    }
                }
            }
        }
        Ok(out)
    }

    /// pg_attribute with `atttypmod` of DECIMAL(p,s) columns set as PostgreSQL encodes it
    /// (`(p << 16 | s) + 4`), so `format_type()` and drivers see `numeric(p,s)`.
    async fn with_type_modifiers(
        &self,
        table: Arc<dyn datafusion::catalog::TableProvider>,
    ) -> Result<Arc<dyn datafusion::catalog::TableProvider>, DataFusionError> {
        let relations = self.relations().await?;
        let mut columns: HashMap<(String, String), Vec<weir_catalog::ColumnEntry>> = HashMap::new();
        let batches = collect(table.clone()).await?;
        let mut out = Vec::with_capacity(batches.len());
        for b in batches {
            let (relid, attname, typmod) = (
                int_column(&b, "attrelid")?,
                str_column(&b, "attname")?,
                int_column(&b, "atttypmod")?,
            );
            let mut mods: Vec<i64> = typmod.values().to_vec();
            for i in 0..b.num_rows() {
                let Some(key) = relations.get(&relid.value(i)) else {
                    continue;
                };
                if !columns.contains_key(key) {
                    let cols = self
                        .access()?
                        .table(self.catalog(), &key.0, &key.1)
                        .map_err(eng)?
                        .map(|t| t.columns)
                        .unwrap_or_default();
                    columns.insert(key.clone(), cols);
                }
                let decimal = columns[key]
                    .iter()
                    .find(|c| c.name == attname.value(i))
                    .and_then(|c| match crate::types::parse_spark_type(&c.data_type) {
                        Ok(arrow::datatypes::DataType::Decimal128(p, s)) => {
                            Some((p as i64, s as i64))
                        }
                        _ => None,
                    });
                if let Some((p, s)) = decimal {
                    mods[i] = ((p << 16) | s) + 4;
                }
            }
            let idx = b.schema().index_of("atttypmod")?;
            let mut cols = b.columns().to_vec();
            cols[idx] = arrow::compute::cast(
                &(Arc::new(arrow::array::Int64Array::from(mods)) as arrow::array::ArrayRef),
                b.schema().field(idx).data_type(),
            )?;
            out.push(arrow::array::RecordBatch::try_new(b.schema(), cols)?);
        }
        Ok(Arc::new(datafusion::datasource::MemTable::try_new(
            table.schema(),
            vec![out],
        )?))
    }

    /// pg_description from the metastore's table and column comments.
    async fn descriptions(
        &self,
        table: Arc<dyn datafusion::catalog::TableProvider>,
    ) -> Result<Arc<dyn datafusion::catalog::TableProvider>, DataFusionError> {
        const PG_CLASS_OID: i64 = 1259;
        let relations = self.relations().await?;
        let tables: HashMap<(String, String), weir_catalog::TableEntry> =
            listed(self.listing.as_ref(), self.access()?, |l, a| {
                l.tables(a, self.catalog(), None)
            })?
            .into_iter()
            .map(|t| ((t.schema.clone(), t.name.clone()), t))
            .collect();
        let (mut objoid, mut classoid, mut objsubid, mut text) = (vec![], vec![], vec![], vec![]);
        for (oid, key) in &relations {
            let Some(t) = tables.get(key) else { continue };
            if let Some(c) = &t.comment {
                objoid.push(*oid);
                classoid.push(PG_CLASS_OID);
                objsubid.push(0i64);
                text.push(c.clone());
            }
            for (i, col) in t.columns.iter().enumerate() {
                if let Some(c) = &col.comment {
                    objoid.push(*oid);
                    classoid.push(PG_CLASS_OID);
                    objsubid.push(i as i64 + 1);
                    text.push(c.clone());
                }
            }
        }
        let schema = table.schema();
        let mut arrays: Vec<arrow::array::ArrayRef> = Vec::with_capacity(schema.fields().len());
        for f in schema.fields() {
            let a: arrow::array::ArrayRef = match f.name().as_str() {
                "objoid" => Arc::new(arrow::array::Int64Array::from(objoid.clone())),
                "classoid" => Arc::new(arrow::array::Int64Array::from(classoid.clone())),
                "objsubid" => Arc::new(arrow::array::Int64Array::from(objsubid.clone())),
                "description" => Arc::new(arrow::array::StringArray::from(text.clone())),
                _ => arrow::array::new_null_array(f.data_type(), objoid.len()),
            };
            arrays.push(arrow::compute::cast(&a, f.data_type())?);
        }
        let batch = arrow::array::RecordBatch::try_new(schema.clone(), arrays)?;
        Ok(Arc::new(datafusion::datasource::MemTable::try_new(
            schema,
            vec![vec![batch]],
        )?))
    }

    fn catalog(&self) -> &str {
        &self.catalog
    }

    async fn only_catalogs(
        &self,
        table: Arc<dyn datafusion::catalog::TableProvider>,
    ) -> Result<Arc<dyn datafusion::catalog::TableProvider>, DataFusionError> {
        let catalogs: std::collections::HashSet<String> =
            listed(self.listing.as_ref(), self.access()?, |l, a| l.catalogs(a))?
                .into_iter()
                .map(|c| c.name)
                .collect();
        let mut kept = Vec::new();
        for batch in collect(table.clone()).await? {
            let names = str_column(&batch, "datname")?;
            let keep: arrow::array::BooleanArray = names
                .iter()
                .map(|n| Some(n.is_some_and(|n| catalogs.contains(n))))
                .collect();
            kept.push(arrow::compute::filter_record_batch(&batch, &keep)?);
        }
        Ok(Arc::new(datafusion::datasource::MemTable::try_new(
            table.schema(),
            vec![kept],
        )?))
    }
}
