//! The Delta change data feed: `table_changes('c.s.t', start [, end])` reads the row changes a
//! table recorded (`delta.enableChangeDataFeed = true`), with `_change_type`, `_commit_version`
//! and `_commit_timestamp`.
//!
//! Like time travel, the parser turns the call into a table name with a suffix
//! (`t@changes<start>..<end>`), which the schema provider resolves; start and end are versions
//! (`v3`) or timestamps (`ts2025-03-18`).

use std::sync::Arc;

use datafusion::catalog::TableProvider;
use deltalake::delta_datafusion::DeltaCdfTableProvider;
use weir_catalog::{TableEntry, TableKind};

use crate::error::{EngineError, Result};
use crate::namespace::EngineState;
use crate::time_travel::{parse_timestamp, AsOf};

const MARK: &str = "@changes";

/// The suffix for `table_changes(name, start, end)`.
pub fn suffix(start: &AsOf, end: Option<&AsOf>) -> String {
    let bound = |b: &AsOf| match b {
        AsOf::Version(v) => format!("v{v}"),
        AsOf::Timestamp(t) => format!("ts{t}"),
    };
    format!(
        "{MARK}{}..{}",
        bound(start),
        end.map(bound).unwrap_or_default()
    )
}

fn parse_bound(text: &str) -> Option<AsOf> {
    if let Some(ts) = text.strip_prefix("ts") {
        return Some(AsOf::Timestamp(ts.to_string()));
    }
    text.strip_prefix('v')?.parse().ok().map(AsOf::Version)
}

/// Splits `t@changes<start>..<end>` into the table name and the range.
pub fn split_changes_name(name: &str) -> Option<(&str, AsOf, Option<AsOf>)> {
    let at = name.rfind(MARK)?;
    let (base, rest) = (&name[..at], &name[at + MARK.len()..]);
    let (start, end) = rest.split_once("..")?;
    let start = parse_bound(start)?;
    let end = if end.is_empty() {
        None
    } else {
        Some(parse_bound(end)?)
    };
    (!base.is_empty()).then_some((base, start, end))
}

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
        let mut builder = table.scan_cdf();
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
            AsOf::Timestamp(t) => builder.with_starting_timestamp(parse_timestamp(t)?),
        };
        builder = match end {
            None => builder,
            Some(AsOf::Version(v)) => builder.with_ending_version((*v).min(newest)),
            Some(AsOf::Timestamp(t)) => builder.with_ending_timestamp(parse_timestamp(t)?),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_ranges_round_trip() {
        let name = format!("t{}", suffix(&AsOf::Version(2), Some(&AsOf::Version(5))));
        assert_eq!(
            split_changes_name(&name),
            Some(("t", AsOf::Version(2), Some(AsOf::Version(5))))
        );
        let name = format!("t{}", suffix(&AsOf::Timestamp("2025-03-18".into()), None));
        assert_eq!(
            split_changes_name(&name),
            Some(("t", AsOf::Timestamp("2025-03-18".into()), None))
        );
        assert_eq!(split_changes_name("t@changesx.."), None);
        assert_eq!(split_changes_name("t"), None);
    }
}
