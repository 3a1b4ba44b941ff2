//! Tables Weir serves itself, each a small [`SystemTable`] in a file of its own, grouped in
//! schemas: `information_schema` of every catalog, and the built-in `system` catalog
//! ([`catalog::SystemCatalog`]).
//!
//! A system table declares its columns once ([`SystemTable::columns`]) and fills them for one
//! reader ([`SystemTable::fill`]) when a query scans it, never when it is only planned. Rows are
//! filtered to what the reader may see.

pub(crate) mod access;
pub(crate) mod catalog;
pub(crate) mod information_schema;
pub(crate) mod listed;
pub(crate) mod names;
mod time_range;

pub(crate) use time_range::TimeRange;

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::{SchemaProvider, Session as DfSession, TableProvider};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::TableType;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use weir_catalog::{AuditLog, Metastore};

use crate::access::Access;
use crate::batches::{batch, Col};
use crate::engine_state::EngineState;
use crate::error::{EngineError, Result};

/// One table Weir serves itself.
pub(crate) trait SystemTable: Send + Sync + std::fmt::Debug {
    /// Its name in its schema.
    fn name(&self) -> &'static str;
    /// Its columns, empty: the table's schema.
    fn columns(&self) -> Vec<Col>;
    /// Fills `cols` (as made by [`Self::columns`]) with the rows `reader` may see.
    fn fill(&self, reader: &Reader<'_>, cols: &mut [Col]) -> Result<()>;
}

/// Who reads a system table, and which catalogs the rows are about.
pub(crate) struct Reader<'a> {
    pub metastore: &'a Metastore,
    pub access: &'a Access,
    /// The catalogs the rows describe: the one whose `information_schema` this is, or every
    /// catalog the reader may see (`system.information_schema`).
    pub catalogs: &'a [String],
    pub audit: &'a AuditLog,
    /// The OpenLineage sinks and what they have done.
    pub openlineage_sinks: &'a [Arc<crate::lineage::openlineage::SinkStatus>],
    /// The events the query's filters allow (log tables read only these).
    pub time: TimeRange,
}

/// Which catalogs a schema of system tables describes.
#[derive(Debug, Clone)]
pub(crate) enum Scope {
    Catalog(String),
    AllVisible,
}

/// A schema of system tables, as one principal sees it.
#[derive(Debug)]
pub(crate) struct SystemSchema {
    pub state: Arc<EngineState>,
    pub tables: &'static [&'static dyn SystemTable],
    pub scope: Scope,
    /// Whose view this is: rows are filtered to what that principal may see.
    pub rights: String,
}

impl SystemSchema {
    fn find(&self, name: &str) -> Option<&'static dyn SystemTable> {
        let name = name.to_lowercase();
        self.tables.iter().copied().find(|t| t.name() == name)
    }
}

#[async_trait]
impl SchemaProvider for SystemSchema {
    fn table_names(&self) -> Vec<String> {
        self.tables.iter().map(|t| t.name().to_string()).collect()
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        let Some(table) = self.find(name) else {
            return Ok(None);
        };
        let schema = batch(table.columns())
            .map_err(|e| DataFusionError::External(Box::new(e)))?
            .schema();
        Ok(Some(Arc::new(SystemTableScan {
            table,
            schema,
            state: self.state.clone(),
            scope: self.scope.clone(),
            rights: self.rights.clone(),
        })))
    }

    fn table_exist(&self, name: &str) -> bool {
        self.find(name).is_some()
    }
}

/// A system table in a plan: filled when scanned.
#[derive(Debug)]
struct SystemTableScan {
    table: &'static dyn SystemTable,
    schema: SchemaRef,
    state: Arc<EngineState>,
    scope: Scope,
    rights: String,
}

impl SystemTableScan {
    fn rows(&self, time: TimeRange) -> Result<arrow::record_batch::RecordBatch> {
        let metastore = &self.state.metastore;
        let access = Access::load(metastore, &self.rights)?;
        let catalogs = match &self.scope {
            Scope::Catalog(c) => vec![c.clone()],
            Scope::AllVisible => listed::Listed(&access)
                .catalogs()?
                .into_iter()
                .map(|c| c.name)
                .collect(),
        };
        let reader = Reader {
            metastore,
            access: &access,
            catalogs: &catalogs,
            audit: &self.state.audit,
            openlineage_sinks: &self.state.openlineage_sinks,
            time,
        };
        let mut cols = self.table.columns();
        self.table.fill(&reader, &mut cols)?;
        batch(cols)
    }
}

#[async_trait]
impl TableProvider for SystemTableScan {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    /// Filters reach the scan to bound log tables by time; DataFusion still applies them.
    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DfResult<Vec<TableProviderFilterPushDown>> {
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        _state: &dyn DfSession,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        _limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let rows = self
            .rows(TimeRange::from_filters(filters))
            .map_err(|e: EngineError| DataFusionError::External(Box::new(e)))?;
        Ok(MemorySourceConfig::try_new_exec(
            &[vec![rows]],
            self.schema.clone(),
            projection.cloned(),
        )?)
    }
}
