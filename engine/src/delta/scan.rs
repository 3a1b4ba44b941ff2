//! The DataFusion face of a Delta table. delta-rs's scan lists partition columns last; SQL users
//! (and `INSERT ... VALUES` without a column list) expect the table's declared column order, so
//! the scan is presented in the order of the Delta schema.

use std::sync::Arc;

use arrow::datatypes::{Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::TableType;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use deltalake::DeltaTable;

#[derive(Debug)]
pub struct DeltaTableScan {
    inner: Arc<dyn TableProvider>,
    schema: SchemaRef,
    /// For each column of `schema`, its index in `inner`'s schema.
    to_inner: Vec<usize>,
}

impl DeltaTableScan {
    pub async fn try_new(table: &DeltaTable) -> crate::Result<Self> {
        let inner = table.table_provider().await?;
        let inner_schema = inner.schema();
        let delta_schema = table.snapshot()?.schema();
        let mut to_inner = Vec::with_capacity(inner_schema.fields().len());
        for f in delta_schema.fields() {
            let idx = inner_schema
                .index_of(f.name())
                .map_err(DataFusionError::from)?;
            to_inner.push(idx);
        }
        // Columns the scan adds beyond the Delta schema (none today) keep their place at the end.
        for i in 0..inner_schema.fields().len() {
            if !to_inner.contains(&i) {
                to_inner.push(i);
            }
        }
        let fields: Vec<_> = to_inner
            .iter()
            .map(|i| inner_schema.field(*i).clone())
            .collect();
        let schema = Arc::new(Schema::new_with_metadata(
            fields,
            inner_schema.metadata().clone(),
        ));
        Ok(DeltaTableScan {
            inner,
            schema,
            to_inner,
        })
    }
}

#[async_trait]
impl TableProvider for DeltaTableScan {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let projection: Vec<usize> = match projection {
            Some(p) => p.iter().map(|i| self.to_inner[*i]).collect(),
            None => self.to_inner.clone(),
        };
        self.inner
            .scan(state, Some(&projection), filters, limit)
            .await
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DfResult<Vec<TableProviderFilterPushDown>> {
        self.inner.supports_filters_pushdown(filters)
    }
}
