//! The metastore seen as DataFusion catalogs: `catalog > schema > table`, resolved lazily per
//! query. Delta tables come from the [`TableCache`]; views are planned from their stored SQL;
//! `information_schema`, `pg_catalog` and the `system` catalog are served by Weir itself.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::catalog::{CatalogProvider, CatalogProviderList, SchemaProvider, TableProvider};
use datafusion::datasource::TableType;
use datafusion::error::{DataFusionError, Result as DfResult};
use deltalake::DeltaTable;
use weir_catalog::{TableEntry, TableKind};

use crate::engine_state::EngineState;
use crate::error::{EngineError, Result};
use crate::identity::{Identity, ViewPath};
use crate::pg_compat::PG_CATALOG;
use crate::system_tables::information_schema::SCHEMA as INFORMATION_SCHEMA;

impl EngineState {
    /// Keeps the metastore's column list in step with the Delta schema, which another writer
    /// (schema evolution, the deltalake package) may have changed. Comments are kept. Returns
    /// the new columns when they changed.
    pub(crate) fn follow_schema(
        &self,
        entry: &TableEntry,
        table: &DeltaTable,
    ) -> Option<Vec<weir_catalog::ColumnEntry>> {
        let comments = crate::delta::schema::column_comments(
            entry
                .columns
                .iter()
                .map(|c| (c.name.as_str(), c.comment.as_ref())),
        );
        match crate::delta::schema::columns_of(table, &comments) {
            Ok(columns) if columns != entry.columns => {
                if let Err(e) = self.metastore.update_columns(
                    &entry.catalog,
                    &entry.schema,
                    &entry.name,
                    &columns,
                ) {
                    tracing::warn!(table = %entry.full_name(), "could not record the new Delta schema: {e}");
                }
                Some(columns)
            }
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(table = %entry.full_name(), "reading the Delta schema: {e}");
                None
            }
        }
    }

    /// The provider of a table or view. `views` are the views whose expansion led here.
    pub async fn table_provider(
        self: &Arc<Self>,
        entry: &TableEntry,
        views: &ViewPath,
        identity: &Identity,
    ) -> Result<Arc<dyn TableProvider>> {
        match entry.kind {
            TableKind::View => self.views.plan_view(self, entry, views, identity).await,
            TableKind::Managed | TableKind::External => {
                let table = self.latest_table(entry).await?;
                self.register_store(&table);
                let _ = self.follow_schema(entry, &table);
                Ok(Arc::new(
                    crate::delta::scan::DeltaTableScan::try_new(&table).await?,
                ))
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct WeirCatalogList {
    pub state: Arc<EngineState>,
    pub views: ViewPath,
    pub identity: Arc<Identity>,
}

impl CatalogProviderList for WeirCatalogList {
    fn register_catalog(
        &self,
        name: String,
        _catalog: Arc<dyn CatalogProvider>,
    ) -> Option<Arc<dyn CatalogProvider>> {
        // Catalogs are created with CREATE CATALOG, never registered in memory.
        tracing::warn!(catalog = %name, "ignored in-memory catalog registration");
        None
    }

    fn catalog_names(&self) -> Vec<String> {
        self.state.metastore.catalog_names().unwrap_or_else(|e| {
            tracing::error!("listing catalogs: {e}");
            vec![]
        })
    }

    fn catalog(&self, name: &str) -> Option<Arc<dyn CatalogProvider>> {
        let name = name.to_lowercase();
        if name == crate::system_tables::catalog::SYSTEM_CATALOG {
            return Some(Arc::new(crate::system_tables::catalog::SystemCatalog {
                state: self.state.clone(),
                rights: self.identity.rights.clone(),
            }));
        }
        match self.state.metastore.get_catalog(&name) {
            Ok(Some(_)) => Some(Arc::new(WeirCatalog {
                state: self.state.clone(),
                name,
                views: self.views.clone(),
                identity: self.identity.clone(),
            })),
            _ => None,
        }
    }
}

#[derive(Debug)]
pub struct WeirCatalog {
    state: Arc<EngineState>,
    name: String,
    views: ViewPath,
    identity: Arc<Identity>,
}

impl CatalogProvider for WeirCatalog {
    fn schema_names(&self) -> Vec<String> {
        let mut names = self
            .state
            .metastore
            .schema_names(&self.name)
            .unwrap_or_default();
        names.push(INFORMATION_SCHEMA.to_string());
        names.push(PG_CATALOG.to_string());
        names
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        let name = name.to_lowercase();
        match name.as_str() {
            INFORMATION_SCHEMA => Some(Arc::new(crate::system_tables::SystemSchema {
                state: self.state.clone(),
                tables: crate::system_tables::information_schema::TABLES,
                scope: crate::system_tables::Scope::Catalog(self.name.clone()),
                rights: self.identity.rights.clone(),
            })),
            PG_CATALOG => Some(self.state.pg_catalogs.for_catalog(
                &self.state.metastore,
                &self.name,
                &self.identity.rights,
                &crate::system_tables::information_schema::table_names().collect::<Vec<_>>(),
            )),
            _ => match self.state.metastore.get_schema(&self.name, &name) {
                Ok(Some(_)) => Some(Arc::new(WeirSchema {
                    state: self.state.clone(),
                    catalog: self.name.clone(),
                    name,
                    views: self.views.clone(),
                    identity: self.identity.clone(),
                })),
                _ => None,
            },
        }
    }

    fn register_schema(
        &self,
        name: &str,
        _schema: Arc<dyn SchemaProvider>,
    ) -> DfResult<Option<Arc<dyn SchemaProvider>>> {
        Err(DataFusionError::NotImplemented(format!(
            "schema '{name}' cannot be registered in memory; use CREATE SCHEMA"
        )))
    }
}

#[derive(Debug)]
pub struct WeirSchema {
    state: Arc<EngineState>,
    catalog: String,
    name: String,
    views: ViewPath,
    identity: Arc<Identity>,
}

/// Whether a view's plan calls a function that answers for its reader (`current_user()`,
/// `is_member()`, ...), in any expression of any of its queries and subqueries.
fn reads_identity(view: &dyn TableProvider) -> bool {
    use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
    use datafusion::logical_expr::Expr;
    let Some(plan) = view.get_logical_plan() else {
        return false;
    };
    let mut found = false;
    let _ = plan.apply_with_subqueries(|node| {
        node.apply_expressions(|expr| {
            expr.apply(|e| {
                if matches!(e, Expr::ScalarFunction(f) if weir_udfs::answers_for_reader(f.name())) {
                    found = true;
                    return Ok(TreeNodeRecursion::Stop);
                }
                Ok(TreeNodeRecursion::Continue)
            })
        })
    });
    found
}

/// Columns of the change feed shown to every reader of the table.
const CHANGE_FEED_COLUMNS: &[&str] = &["_change_type", "_commit_version", "_commit_timestamp"];

impl WeirSchema {
    /// The provider as the identity may read it: column grants, masks and row filters applied.
    /// A table the identity holds no privilege on fails here, before its columns are known.
    /// What the identity may read of a table, decided before the table is opened (or a view
    /// planned): one without any privilege on it learns nothing, not even planning errors.
    fn read_access(&self, entry: &TableEntry) -> Result<crate::access::TableRead> {
        use crate::access::{Access, TableRead};
        let access = Access::load(&self.state.metastore, &self.identity.rights)?;
        let read = access.table_read(entry)?;
        if let TableRead::Denied(why) = &read {
            if !access.may_modify(entry)? {
                return Err(EngineError::PermissionDenied(why.clone()));
            }
        }
        Ok(read)
    }

    /// An earlier state or the change feed of one of this schema's tables, governed as the
    /// table is (the change feed's own columns are shown to every reader). `None` when the
    /// schema has no such table.
    pub(crate) async fn historic_table(
        &self,
        name: &str,
        read: &crate::time_travel::HistoricRead,
    ) -> Result<Option<Arc<dyn TableProvider>>> {
        use crate::time_travel::HistoricRead;
        let Some(entry) =
            self.state
                .metastore
                .get_table(&self.catalog, &self.name, &name.to_lowercase())?
        else {
            return Ok(None);
        };
        let access = self.read_access(&entry)?;
        let (raw, always_visible) = match read {
            HistoricRead::AsOf(as_of) => {
                (self.state.versioned_provider(&entry, as_of).await?, &[][..])
            }
            HistoricRead::Changes { start, end } => (
                self.state
                    .changes_provider(&entry, start, end.as_ref())
                    .await?,
                CHANGE_FEED_COLUMNS,
            ),
        };
        self.govern(&entry, access, raw, always_visible).map(Some)
    }

    fn govern(
        &self,
        entry: &TableEntry,
        read: crate::access::TableRead,
        raw: Arc<dyn TableProvider>,
        always_visible: &[&str],
    ) -> Result<Arc<dyn TableProvider>> {
        use crate::access::{GovernedTable, TablePolicies, TableRead};
        self.identity.note_resolved(crate::observe::TableRead {
            name: entry.full_name(),
            is_view: entry.kind == TableKind::View,
        });
        if let Some(plan) = raw.get_logical_plan() {
            self.identity
                .note_view_plan(entry.full_name(), plan.into_owned());
        }
        let policies = if entry.kind == TableKind::View {
            TablePolicies::default()
        } else {
            TablePolicies::load(&self.state.metastore, entry)?
        };
        // A view that asks who reads it guards rows or values itself (a "dynamic view"): it is
        // kept opaque like a row filter, so no predicate of the reader's runs inside it first.
        let dynamic_view = entry.kind == TableKind::View && reads_identity(raw.as_ref());
        if read == TableRead::All && policies.is_empty() && !dynamic_view {
            // Nothing to enforce: the plain provider keeps views inlined and filters pushed down.
            return Ok(raw);
        }
        if let TableRead::Columns(cols) = &read {
            let hidden = raw
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .filter(|n| !cols.contains(n) && !always_visible.contains(&n.as_str()))
                .collect();
            self.identity.note_hidden(entry.full_name(), hidden);
        }
        Ok(Arc::new(GovernedTable::try_new(
            entry.full_name(),
            raw,
            read,
            policies,
            entry.kind == TableKind::View,
            always_visible,
        )?))
    }
}

#[async_trait]
impl SchemaProvider for WeirSchema {
    fn table_names(&self) -> Vec<String> {
        self.state
            .metastore
            .table_names(&self.catalog, &self.name)
            .unwrap_or_default()
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        let entry = self
            .state
            .metastore
            .get_table(&self.catalog, &self.name, &name.to_lowercase())
            .map_err(|e| DataFusionError::External(Box::new(EngineError::from(e))))?;
        let as_external = |e: EngineError| DataFusionError::External(Box::new(e));
        match entry {
            Some(entry) => {
                let read = self.read_access(&entry).map_err(as_external)?;
                let raw = self
                    .state
                    .table_provider(&entry, &self.views, &self.identity)
                    .await
                    .map_err(as_external)?;
                self.govern(&entry, read, raw, &[])
                    .map(Some)
                    .map_err(as_external)
            }
            None => Ok(None),
        }
    }

    async fn table_type(&self, name: &str) -> DfResult<Option<TableType>> {
        Ok(self
            .state
            .metastore
            .get_table(&self.catalog, &self.name, &name.to_lowercase())
            .ok()
            .flatten()
            .map(|e| {
                if e.kind == TableKind::View {
                    TableType::View
                } else {
                    TableType::Base
                }
            }))
    }

    fn table_exist(&self, name: &str) -> bool {
        matches!(
            self.state
                .metastore
                .get_table(&self.catalog, &self.name, &name.to_lowercase()),
            Ok(Some(_))
        )
    }
}
