//! The Delta change data feed: `table_changes('c.s.t', start [, end])` reads the row changes a
//! table recorded (`delta.enableChangeDataFeed = true`), with `_change_type`, `_commit_version`
//! and `_commit_timestamp`. The call is found and planned by `planner::historic`; this module
//! opens the feed.

use std::sync::Arc;

use datafusion::catalog::TableProvider;
use deltalake::delta_datafusion::DeltaCdfTableProvider;
use weir_catalog::{TableEntry, TableKind};

use crate::engine_state::EngineState;
use crate::error::{EngineError, Result};
use crate::time_travel::{version_by_time, AsOf};

impl EngineState {
    pub(crate) async fn changes_provider(
        &self,
        entry: &TableEntry,
        start: &AsOf,
        end: Option<&AsOf>,
    ) -> Result<Arc<dyn TableProvider>> {
        if entry.kind == TableKind::View {
            return Err(EngineError::WrongObjectType(format!(
                "'{}' is a view; table_changes reads Delta tables",
                entry.full_name()
            )));
        }
        let table = self.latest_table(entry).await?;
        let enabled = table
            .snapshot()?
            .metadata()
            .configuration()
            .get("delta.enableChangeDataFeed")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if !enabled {
            return Err(EngineError::Coded {
                sqlstate: "55000",
                message: format!(
                    "the change data feed is not enabled for '{}'; set TBLPROPERTIES \
                     ('delta.enableChangeDataFeed' = 'true') first",
                    entry.full_name()
                ),
            });
        }
        let newest = table.version().unwrap_or(0);
        self.register_store(&table);
        let mut builder = table.clone().scan_cdf();
        builder = match start {
            AsOf::Version(v) if *v > newest => {
                return Err(EngineError::Coded {
                    sqlstate: "22023",
                    message: format!(
                        "table '{}' has no version {v} (the latest is {newest})",
                        entry.full_name()
                    ),
                })
            }
            AsOf::Version(v) => builder.with_starting_version(*v),
            // Times name versions as time travel does (by their log file's time; delta-rs's
            // change feed would compare the commit info's own, earlier, timestamp).
            AsOf::Timestamp(t) => match version_by_time(&table, newest, *t, true).await {
                Some(v) => builder.with_starting_version(v),
                None => builder.with_starting_timestamp(*t),
            },
        };
        builder = match end {
            None => builder,
            Some(AsOf::Version(v)) => builder.with_ending_version((*v).min(newest)),
            Some(AsOf::Timestamp(t)) => match version_by_time(&table, newest, *t, false).await {
                Some(v) => builder.with_ending_version(v),
                None => builder.with_ending_timestamp(*t),
            },
        };
        Ok(Arc::new(ChangeFeedScan {
            inner: DeltaCdfTableProvider::try_new(builder)?,
        }))
    }
}

/// delta-rs's change feed provider, with scans of no files replaced by empty plans: its plan
/// unions scans of which some may have no files (no partitions), and a sort pushed into such a
/// branch fails DataFusion's plan checks.
#[derive(Debug)]
struct ChangeFeedScan {
    inner: DeltaCdfTableProvider,
}

#[async_trait::async_trait]
impl TableProvider for ChangeFeedScan {
    fn schema(&self) -> arrow::datatypes::SchemaRef {
        self.inner.schema()
    }

    fn table_type(&self) -> datafusion::datasource::TableType {
        datafusion::datasource::TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn datafusion::catalog::Session,
        projection: Option<&Vec<usize>>,
        filters: &[datafusion::logical_expr::Expr],
        limit: Option<usize>,
    ) -> datafusion::error::Result<Arc<dyn datafusion::physical_plan::ExecutionPlan>> {
        use datafusion::common::tree_node::{Transformed, TreeNode};
        use datafusion::physical_plan::empty::EmptyExec;
        use datafusion::physical_plan::ExecutionPlanProperties;
        let plan = self.inner.scan(state, projection, filters, limit).await?;
        // A scan without files has no partitions; an empty one-partition plan reads the same.
        let plan = plan
            .transform_up(|node| {
                Ok(if node.output_partitioning().partition_count() == 0 {
                    Transformed::yes(Arc::new(EmptyExec::new(node.schema()))
                        as Arc<dyn datafusion::physical_plan::ExecutionPlan>)
                } else {
                    Transformed::no(node)
                })
            })?
            .data;
        Ok(plan)
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&datafusion::logical_expr::Expr],
    ) -> datafusion::error::Result<Vec<datafusion::logical_expr::TableProviderFilterPushDown>> {
        self.inner.supports_filters_pushdown(filters)
    }
}
