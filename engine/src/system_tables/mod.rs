//! Tables Weir serves itself, each a small [`SystemTable`] in a file of its own, grouped in
//! schemas: `information_schema` of every catalog, and the built-in `system` catalog
//! ([`catalog::SystemCatalog`]).
//!
//! A system table declares its columns once ([`SystemTable::columns`]) and fills them for one
//! reader ([`SystemTable::fill`]) when a query scans it, never when it is only planned. Rows are
//! filtered to what the reader may see. A table over a log that may be long (the audit log)
//! fills a page at a time ([`SystemTable::fill_page`]): its scan streams the pages, so a query
//! that stops early (`LIMIT`) reads no more of the log than it needs.

pub(crate) mod access;
pub(crate) mod catalog;
pub(crate) mod information_schema;
pub(crate) mod ingest;
pub(crate) mod jobs;
pub(crate) mod listed;
pub(crate) mod names;
mod time_range;

pub(crate) use time_range::TimeRange;

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::{SchemaProvider, Session as DfSession, TableProvider};
use datafusion::datasource::TableType;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use weir_catalog::{AuditLog, Metastore, Page};

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
    /// Fills `cols` with one page of those rows, from where `page` says; returns where the next
    /// page starts (`None` after the last). Tables that are not logs fill all rows at once.
    fn fill_page(
        &self,
        reader: &Reader<'_>,
        cols: &mut [Col],
        _page: Page,
    ) -> Result<Option<Page>> {
        self.fill(reader, cols)?;
        Ok(None)
    }
}

/// Entries a scan reads from a log at a time.
const PAGE_ROWS: usize = 1024;

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
    /// One page of the rows the reader may see.
    fn rows(
        &self,
        time: TimeRange,
        page: Page,
    ) -> Result<(arrow::record_batch::RecordBatch, Option<Page>)> {
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
        let next = self.table.fill_page(&reader, &mut cols, page)?;
        Ok((batch(cols)?, next))
    }
}

/// The rows of one scan: the first page, read when the scan was planned (so that a reader
/// without the right fails there), then the following pages, read as the query asks for them.
#[derive(Debug)]
struct PagedRows {
    scan: Arc<SystemTableScan>,
    time: TimeRange,
    first: std::sync::Mutex<Option<arrow::record_batch::RecordBatch>>,
    next: Option<Page>,
}

impl datafusion::physical_plan::streaming::PartitionStream for PagedRows {
    fn schema(&self) -> &SchemaRef {
        &self.scan.schema
    }

    fn execute(
        &self,
        _ctx: Arc<datafusion::execution::TaskContext>,
    ) -> datafusion::physical_plan::SendableRecordBatchStream {
        use futures::StreamExt;
        let first = self.first.lock().unwrap_or_else(|p| p.into_inner()).take();
        let (scan, time) = (self.scan.clone(), self.time);
        // A scan executed again (a rare plan that reads its input twice) starts over.
        let (first, next) = match first {
            Some(batch) => (Some(batch), self.next),
            None => (None, Some(Page::first(PAGE_ROWS))),
        };
        let rest = futures::stream::try_unfold(next, move |page| {
            let scan = scan.clone();
            async move {
                let Some(page) = page else {
                    return Ok(None);
                };
                let (batch, next) = tokio::task::spawn_blocking(move || scan.rows(time, page))
                    .await
                    .map_err(|e| DataFusionError::External(Box::new(e)))?
                    .map_err(|e| DataFusionError::External(Box::new(e)))?;
                Ok(Some((batch, next)))
            }
        });
        let stream = futures::stream::iter(first.map(Ok)).chain(rest);
        Box::pin(
            datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(
                self.scan.schema.clone(),
                stream,
            ),
        )
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
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let time = TimeRange::from_filters(filters);
        let scan = Arc::new(SystemTableScan {
            table: self.table,
            schema: self.schema.clone(),
            state: self.state.clone(),
            scope: self.scope.clone(),
            rights: self.rights.clone(),
        });
        let reading = scan.clone();
        let (first, next) =
            tokio::task::spawn_blocking(move || reading.rows(time, Page::first(PAGE_ROWS)))
                .await
                .map_err(|e| DataFusionError::External(Box::new(e)))?
                .map_err(|e: EngineError| DataFusionError::External(Box::new(e)))?;
        let rows = PagedRows {
            scan,
            time,
            first: std::sync::Mutex::new(Some(first)),
            next,
        };
        Ok(Arc::new(
            datafusion::physical_plan::streaming::StreamingTableExec::try_new(
                self.schema.clone(),
                vec![Arc::new(rows)],
                projection,
                [],
                false,
                limit,
            )?,
        ))
    }
}
