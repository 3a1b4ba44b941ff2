//! A table as one principal may read it: only the columns it was granted, masked values, and
//! only the rows the row filter keeps, before any operator of the query sees them.
//!
//! The masks and the row filter are applied inside this provider's own plan. Filters of the
//! query are never pushed into it — neither logically (`supports_filters_pushdown`) nor by the
//! physical optimizer (a barrier node tops the plan) — so no predicate of the user's can run on
//! a row or value before the policy has (an error such a predicate raises, a division by zero
//! say, would otherwise reveal hidden data).

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow::datatypes::{Field, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::{Session as CatalogSession, TableProvider};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{Column, TableReference};
use datafusion::datasource::{provider_as_source, TableType};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::session_state::SessionState;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::{Cast, Expr, LogicalPlanBuilder, TableProviderFilterPushDown};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};

use super::policy::{compile_function, PolicyCall, TablePolicies};
use crate::error::EngineError;

/// What of a table a principal may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableRead {
    All,
    /// Only these columns (column grants).
    Columns(BTreeSet<String>),
    /// Nothing; the message says why. (The table may still be written with MODIFY.)
    Denied(String),
}

#[derive(Debug)]
pub struct GovernedTable {
    name: String,
    inner: Arc<dyn TableProvider>,
    /// The columns this principal sees.
    schema: SchemaRef,
    /// For each visible column, its index in the inner table.
    visible: Vec<usize>,
    read_denied: Option<String>,
    policies: TablePolicies,
    /// Views never take the query's filters: their own WHERE may be what guards the rows.
    opaque: bool,
}

fn column(name: &str) -> Expr {
    Expr::Column(Column::new_unqualified(name))
}

fn call(udf: datafusion::logical_expr::ScalarUDF, columns: &[String]) -> Expr {
    Expr::ScalarFunction(ScalarFunction::new_udf(
        Arc::new(udf),
        columns.iter().map(|c| column(c)).collect(),
    ))
}

impl GovernedTable {
    /// The columns whose values this reader sees masked.
    pub fn masked_columns(&self) -> Vec<String> {
        self.policies.masks.iter().map(|(c, _)| c.clone()).collect()
    }

    /// `always_visible` are columns shown even under column grants (the change feed's
    /// `_change_type`, `_commit_version`, `_commit_timestamp`).
    pub fn try_new(
        name: String,
        inner: Arc<dyn TableProvider>,
        read: TableRead,
        policies: TablePolicies,
        opaque: bool,
        always_visible: &[&str],
    ) -> crate::error::Result<Self> {
        let inner_schema = inner.schema();
        let (visible, read_denied): (Vec<usize>, Option<String>) = match &read {
            TableRead::All => ((0..inner_schema.fields().len()).collect(), None),
            TableRead::Denied(why) => (
                (0..inner_schema.fields().len()).collect(),
                Some(why.clone()),
            ),
            TableRead::Columns(cols) => (
                inner_schema
                    .fields()
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| {
                        cols.contains(f.name()) || always_visible.contains(&f.name().as_str())
                    })
                    .map(|(i, _)| i)
                    .collect(),
                None,
            ),
        };
        for call in policies
            .masks
            .iter()
            .map(|(_, c)| c)
            .chain(policies.row_filter.iter())
        {
            if let Some(missing) = call
                .columns
                .iter()
                .find(|c| inner_schema.index_of(c).is_err())
            {
                return Err(EngineError::Internal(format!(
                    "policy {} of table {name} uses column '{missing}', which the table no longer \
                     has; the table cannot be read until the policy is changed",
                    call.function.full_name()
                )));
            }
        }
        let fields: Vec<Field> = visible
            .iter()
            .map(|&i| {
                let f = inner_schema.field(i);
                if policies.mask_of(f.name()).is_some() {
                    f.clone().with_nullable(true)
                } else {
                    f.clone()
                }
            })
            .collect();
        Ok(GovernedTable {
            name,
            inner,
            schema: Arc::new(Schema::new_with_metadata(
                fields,
                inner_schema.metadata().clone(),
            )),
            visible,
            read_denied,
            policies,
            opaque,
        })
    }

    fn denied(&self) -> Option<DataFusionError> {
        self.read_denied.as_ref().map(|why| {
            DataFusionError::External(Box::new(EngineError::PermissionDenied(why.clone())))
        })
    }

    /// The plan of the policies over the inner table, in the session that runs the query (its
    /// user is who `current_user()` / `is_member()` answer for).
    fn policy_plan(
        &self,
        state: &SessionState,
        projection: Option<&Vec<usize>>,
        limit: Option<usize>,
    ) -> crate::error::Result<datafusion::logical_expr::LogicalPlan> {
        let inner_schema = self.inner.schema();
        let mut plan = LogicalPlanBuilder::scan(
            TableReference::bare("governed"),
            provider_as_source(self.inner.clone()),
            None,
        )?;
        if let Some(PolicyCall { function, columns }) = &self.policies.row_filter {
            let udf = compile_function(state, function)?;
            plan = plan.filter(call(udf, columns))?;
        }
        let mut exprs = Vec::with_capacity(self.visible.len());
        for &i in &self.visible {
            let field = inner_schema.field(i);
            let name = field.name();
            exprs.push(match self.policies.mask_of(name) {
                Some(mask) => {
                    let udf = compile_function(state, &mask.function)?;
                    Expr::Cast(Cast::new(
                        Box::new(call(udf, &mask.columns)),
                        field.data_type().clone(),
                    ))
                    .alias(name)
                }
                None => column(name),
            });
        }
        plan = plan.project(exprs)?;
        if let Some(p) = projection {
            plan = plan.project(p.iter().map(|&i| column(self.schema.field(i).name())))?;
        }
        if let Some(l) = limit {
            plan = plan.limit(0, Some(l))?;
        }
        Ok(plan.build()?)
    }
}

#[async_trait]
impl TableProvider for GovernedTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        self.inner.table_type()
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DfResult<Vec<TableProviderFilterPushDown>> {
        if self.opaque || self.read_denied.is_some() || !self.policies.is_empty() {
            return Ok(vec![
                TableProviderFilterPushDown::Unsupported;
                filters.len()
            ]);
        }
        self.inner.supports_filters_pushdown(filters)
    }

    async fn scan(
        &self,
        state: &dyn CatalogSession,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        if let Some(e) = self.denied() {
            return Err(e);
        }
        if self.policies.is_empty() {
            let all_visible = self.visible.len() == self.inner.schema().fields().len();
            let inner_projection: Option<Vec<usize>> = match projection {
                Some(p) => Some(p.iter().map(|&i| self.visible[i]).collect()),
                None if all_visible => None,
                None => Some(self.visible.clone()),
            };
            let plan = self
                .inner
                .scan(state, inner_projection.as_ref(), filters, limit)
                .await?;
            // An opaque (dynamic) view: the reader's predicates stay above it.
            return Ok(if self.opaque {
                Arc::new(PolicyBarrierExec::new(plan))
            } else {
                plan
            });
        }
        let state = state
            .as_any()
            .downcast_ref::<SessionState>()
            .ok_or_else(|| {
                DataFusionError::Internal(format!(
                    "table {} with masks or a row filter needs a DataFusion SessionState",
                    self.name
                ))
            })?;
        let plan = self
            .policy_plan(state, projection, limit)
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        let physical = state.create_physical_plan(&plan).await?;
        Ok(Arc::new(PolicyBarrierExec::new(physical)))
    }
}

/// The top of a policy plan: the physical optimizer must not push the query's filters (or the
/// dynamic filters of joins and TopK) below it, where they would run on rows the row filter
/// removes or before it. This node passes batches through and takes no filters (the default of
/// `gather_filters_for_pushdown`), nor does it swap places with projections.
#[derive(Debug)]
struct PolicyBarrierExec {
    input: Arc<dyn ExecutionPlan>,
}

impl PolicyBarrierExec {
    fn new(input: Arc<dyn ExecutionPlan>) -> Self {
        PolicyBarrierExec { input }
    }
}

impl DisplayAs for PolicyBarrierExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PolicyBarrierExec")
    }
}

impl ExecutionPlan for PolicyBarrierExec {
    fn name(&self) -> &str {
        "PolicyBarrierExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DfResult<TreeNodeRecursion>,
    ) -> DfResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        match (children.pop(), children.is_empty()) {
            (Some(input), true) => Ok(Arc::new(PolicyBarrierExec::new(input))),
            _ => Err(DataFusionError::Internal(
                "PolicyBarrierExec takes exactly one child".into(),
            )),
        }
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> DfResult<SendableRecordBatchStream> {
        self.input.execute(partition, context)
    }
}
