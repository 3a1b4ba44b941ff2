//! Bulk ingest: an Arrow stream from a client (Flight SQL `CommandStatementIngest`, what ADBC's
//! `adbc_ingest` sends) written into a Delta table as one commit, without collecting it first.

use std::sync::{Arc, Mutex};

use arrow::datatypes::{DataType, Field, SchemaRef, TimeUnit};
use datafusion::catalog::streaming::StreamingTable;
use datafusion::datasource::provider_as_source;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{cast, col, Expr, LogicalPlan, LogicalPlanBuilder};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use datafusion::physical_plan::SendableRecordBatchStream;

use crate::delta::commit::WriteKind;
use crate::error::{EngineError, Result};
use crate::parser::CreateTable;
use crate::session::Session;

/// What to do about an existing (or missing) target table — ADBC's ingest modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestMode {
    /// Create the table; fail if it exists.
    Create,
    /// Append to the table; fail if it does not exist.
    Append,
    /// Replace the table's schema and data if it exists, else create it.
    Replace,
    /// Append if the table exists, else create it.
    CreateAppend,
}

/// The table an ingest writes to; missing parts default to the session's catalog and schema.
/// Names are matched like unquoted SQL identifiers (case-insensitively, stored lower case).
#[derive(Debug, Clone, Default)]
pub struct IngestTarget {
    pub catalog: Option<String>,
    pub schema: Option<String>,
    pub table: String,
}

/// The incoming stream, handed to the write plan exactly once.
struct OneShotPartition {
    schema: SchemaRef,
    stream: Mutex<Option<SendableRecordBatchStream>>,
}

impl std::fmt::Debug for OneShotPartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OneShotPartition")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl PartitionStream for OneShotPartition {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let taken = self.stream.lock().ok().and_then(|mut s| s.take());
        match taken {
            Some(s) => s,
            None => Box::pin(RecordBatchStreamAdapter::new(
                self.schema.clone(),
                futures::stream::once(async {
                    Err(datafusion::error::DataFusionError::Internal(
                        "the ingest stream can be read only once".into(),
                    ))
                }),
            )),
        }
    }
}

/// The Delta type a column of `t` is stored as, where Delta has no exact equivalent. Unsigned
/// integers widen so no value changes; timestamps become microseconds (Delta's unit); dictionaries
/// store their values.
fn delta_storable(t: &DataType) -> Result<Option<DataType>> {
    Ok(match t {
        DataType::UInt8 => Some(DataType::Int16),
        DataType::UInt16 => Some(DataType::Int32),
        DataType::UInt32 => Some(DataType::Int64),
        // Values above i64::MAX fail the (checked) cast rather than wrap.
        DataType::UInt64 => Some(DataType::Int64),
        DataType::Float16 => Some(DataType::Float32),
        DataType::Timestamp(unit, tz) if *unit != TimeUnit::Microsecond => {
            Some(DataType::Timestamp(TimeUnit::Microsecond, tz.clone()))
        }
        DataType::Date64 => Some(DataType::Date32),
        DataType::Dictionary(_, v) => Some(delta_storable(v)?.unwrap_or(v.as_ref().clone())),
        DataType::Time32(_)
        | DataType::Time64(_)
        | DataType::Duration(_)
        | DataType::Interval(_) => {
            return Err(EngineError::NotSupported(format!(
                "Delta tables cannot store {t} columns; cast them to a string or number first"
            )))
        }
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::ListView(f)
        | DataType::LargeListView(f)
        | DataType::FixedSizeList(f, _) => {
            let inner = delta_storable(f.data_type())?;
            match (t, inner) {
                (DataType::List(_), None) => None,
                (_, inner) => {
                    Some(DataType::List(Arc::new(f.as_ref().clone().with_data_type(
                        inner.unwrap_or_else(|| f.data_type().clone()),
                    ))))
                }
            }
        }
        DataType::Struct(fields) => {
            let mut changed = false;
            let mut out = Vec::with_capacity(fields.len());
            for f in fields {
                match delta_storable(f.data_type())? {
                    Some(dt) => {
                        changed = true;
                        out.push(Arc::new(f.as_ref().clone().with_data_type(dt)));
                    }
                    None => out.push(f.clone()),
                }
            }
            changed.then(|| DataType::Struct(out.into()))
        }
        _ => None,
    })
}

impl Session {
    /// Writes `input` into `target` as one Delta commit and returns the rows written. It is a
    /// statement of its own for observers and the commit (`INGEST INTO c.s.t MODE m`).
    pub async fn ingest(
        &mut self,
        target: &IngestTarget,
        mode: IngestMode,
        input: SendableRecordBatchStream,
    ) -> Result<u64> {
        let name = [&target.catalog, &target.schema]
            .into_iter()
            .flatten()
            .filter(|p| !p.is_empty())
            .chain(std::iter::once(&target.table))
            .cloned()
            .collect::<Vec<_>>()
            .join(".");
        self.begin_statement(
            format!("INGEST INTO {name} MODE {mode:?}"),
            Some(crate::StatementKind::Ingest),
        );
        let result = self.ingest_stream(target, mode, input).await;
        self.end_statement(crate::StatementKind::Ingest, result)
    }

    async fn ingest_stream(
        &mut self,
        target: &IngestTarget,
        mode: IngestMode,
        input: SendableRecordBatchStream,
    ) -> Result<u64> {
        if target.table.is_empty() {
            return Err(EngineError::invalid("ingest needs a target table name"));
        }
        let name = vec![
            target
                .catalog
                .clone()
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| self.current_catalog()),
            target
                .schema
                .clone()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| self.current_schema()),
            target.table.clone(),
        ]
        .into_iter()
        .map(|part| part.to_lowercase())
        .collect::<Vec<_>>();
        let (c, s, t) = (name[0].clone(), name[1].clone(), name[2].clone());
        let existing = self.state.metastore.get_table(&c, &s, &t)?;

        let plan = self.ingest_plan(input)?;
        let create = |or_replace| CreateTable {
            name: name.clone(),
            or_replace,
            if_not_exists: false,
            columns: vec![],
            partitioned_by: vec![],
            location: None,
            comment: None,
            properties: vec![],
            as_query: None,
        };
        match (mode, existing) {
            (IngestMode::Create, Some(_)) => Err(EngineError::Duplicate {
                sqlstate: "42P07",
                message: format!("table '{c}.{s}.{t}' already exists"),
            }),
            (IngestMode::Append, None) => Err(EngineError::UndefinedTable(format!(
                "table '{c}.{s}.{t}' does not exist"
            ))),
            (IngestMode::Append | IngestMode::CreateAppend, Some(entry)) => {
                self.require_writable(&entry, None)?;
                let plan = align_to_columns(plan, &entry)?;
                self.write_to_table(&entry, plan, WriteKind::Ingest).await
            }
            (IngestMode::Create | IngestMode::CreateAppend, None) => Ok(self
                .create_table_from(create(false), Some(plan), WriteKind::IngestCreate)
                .await?
                .unwrap_or(0)),
            (IngestMode::Replace, _) => Ok(self
                .create_table_from(create(true), Some(plan), WriteKind::IngestReplace)
                .await?
                .unwrap_or(0)),
        }
    }

    /// A logical plan reading `input` once, with columns cast to types Delta can store.
    fn ingest_plan(&self, input: SendableRecordBatchStream) -> Result<LogicalPlan> {
        if input.schema().fields().is_empty() {
            return Err(EngineError::invalid("the ingested data has no columns"));
        }
        let input = without_metadata(input);
        let schema = input.schema();
        let table = StreamingTable::try_new(
            schema.clone(),
            vec![Arc::new(OneShotPartition {
                schema: schema.clone(),
                stream: Mutex::new(Some(input)),
            })],
        )?;
        let builder =
            LogicalPlanBuilder::scan("ingest", provider_as_source(Arc::new(table)), None)?;
        let mut any_cast = false;
        let mut exprs: Vec<Expr> = Vec::with_capacity(schema.fields().len());
        for field in schema.fields() {
            let column = col(datafusion::common::Column::from_name(field.name()));
            match delta_storable(field.data_type())? {
                Some(dt) => {
                    any_cast = true;
                    exprs.push(cast(column, dt).alias(field.name()));
                }
                None => exprs.push(column),
            }
        }
        let builder = if any_cast {
            builder.project(exprs)?
        } else {
            builder
        };
        Ok(builder.build()?)
    }
}

/// Orders the ingested columns as the table's, matching names case-insensitively; an append
/// whose columns differ from the table's is refused rather than guessed at.
fn align_to_columns(plan: LogicalPlan, entry: &weir_catalog::TableEntry) -> Result<LogicalPlan> {
    let source: Vec<&Field> = plan.schema().fields().iter().map(|f| f.as_ref()).collect();
    let mut exprs = Vec::with_capacity(entry.columns.len());
    for column in &entry.columns {
        let found = source
            .iter()
            .find(|f| f.name().eq_ignore_ascii_case(&column.name))
            .ok_or_else(|| {
                EngineError::UndefinedColumn(format!(
                    "column '{}' of table '{}' is missing from the ingested data",
                    column.name,
                    entry.full_name()
                ))
            })?;
        exprs.push(col(datafusion::common::Column::from_name(found.name())).alias(&column.name));
    }
    if let Some(extra) = source.iter().find(|f| {
        !entry
            .columns
            .iter()
            .any(|c| c.name.eq_ignore_ascii_case(f.name()))
    }) {
        return Err(EngineError::UndefinedColumn(format!(
            "column '{}' of the ingested data does not exist in table '{}'",
            extra.name(),
            entry.full_name()
        )));
    }
    Ok(LogicalPlanBuilder::from(plan).project(exprs)?.build()?)
}

/// The stream with schema and field metadata dropped: clients attach their own (pandas stores
/// its index layout there), and Delta's writer compares schemas including metadata.
fn without_metadata(input: SendableRecordBatchStream) -> SendableRecordBatchStream {
    use futures::StreamExt;
    let schema = Arc::new(arrow::datatypes::Schema::new(
        input
            .schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_metadata(Default::default()))
            .collect::<Vec<_>>(),
    ));
    let target = schema.clone();
    let stream = input.map(move |batch| {
        let batch = batch?;
        Ok(arrow::record_batch::RecordBatch::try_new(
            target.clone(),
            batch.columns().to_vec(),
        )?)
    });
    Box::pin(RecordBatchStreamAdapter::new(schema, stream))
}
