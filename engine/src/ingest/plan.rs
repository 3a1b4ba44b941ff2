//! The plans over a run's staged rows, per table: every staged column list aligned by name to
//! the table's columns and cast to their types (a value that does not fit marks its row bad,
//! with the reason), the bad rows as quarantine rows, and the good rows deduplicated — what the
//! checks measure and the publish step writes.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use datafusion::common::{Column, ScalarValue};
use datafusion::datasource::file_format::arrow::ArrowFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::datasource::provider_as_source;
use datafusion::functions::expr_fn::{coalesce, concat};
use datafusion::functions_window::expr_fn::row_number;
use datafusion::logical_expr::{
    cast, lit, try_cast, when, Expr, ExprFunctionExt, LogicalPlan, LogicalPlanBuilder,
};

use super::stage::{
    quarantine_schema, staged_schema, StagedFile, LINE_COLUMN, MEMBER_COLUMN, OBJECT_COLUMN,
    RAW_COLUMN,
};
use crate::error::Result;

/// Internal columns of the aligned plan.
pub(crate) const BAD_COLUMN: &str = "__weir_bad";
pub(crate) const REASON_COLUMN: &str = "__weir_reason";
/// A row's place among the rows of its key, the winner first.
const RANK_COLUMN: &str = "__weir_rank";

/// Metadata columns every loaded table gets.
pub(crate) const SOURCE_FILE_COLUMN: &str = "_source_file";
pub(crate) const INGESTED_AT_COLUMN: &str = "_ingested_at";

pub(crate) fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

pub(crate) fn column(name: &str) -> Expr {
    Expr::Column(Column::from_name(name))
}

/// How one table's staged rows become its rows.
pub(crate) struct Alignment<'a> {
    /// The table's columns in order, with their types.
    pub columns: &'a [(String, DataType)],
    /// The placeholder columns the staging files carry.
    pub placeholders: &'a [String],
    pub ingested_at_us: i64,
}

/// One scan per staged column list (the files of several workers with the same columns are
/// read together), aligned to the table, unioned: the table's columns plus the internal ones
/// (object, member, line, bad, reason, raw).
pub(crate) fn aligned_plan(files: &[&StagedFile], a: &Alignment<'_>) -> Result<LogicalPlan> {
    let mut groups: BTreeMap<&[String], Vec<PathBuf>> = BTreeMap::new();
    for f in files {
        groups
            .entry(f.columns.as_slice())
            .or_default()
            .push(f.path.clone());
    }
    let mut plan: Option<LogicalPlanBuilder> = None;
    for (columns, paths) in groups {
        let scan = scan_staged(columns, a.placeholders, &paths)?;
        let aligned = LogicalPlanBuilder::from(scan)
            .project(align_exprs(Some(columns), a))?
            .build()?;
        plan = Some(match plan {
            None => LogicalPlanBuilder::from(aligned),
            Some(p) => p.union(aligned)?,
        });
    }
    match plan {
        Some(p) => Ok(p.build()?),
        // A table whose files held no rows: no rows, the same columns.
        None => Ok(LogicalPlanBuilder::empty(false)
            .project(align_exprs(None, a))?
            .build()?),
    }
}

/// Reads staged Arrow IPC files holding `columns` (then the internal and placeholder ones).
fn scan_staged(
    columns: &[String],
    placeholders: &[String],
    paths: &[PathBuf],
) -> Result<LogicalPlan> {
    scan_ipc(staged_schema(columns, placeholders), paths)
}

/// A scan of local Arrow IPC files with `schema`.
pub(crate) fn scan_ipc(schema: SchemaRef, paths: &[PathBuf]) -> Result<LogicalPlan> {
    let urls = paths
        .iter()
        .map(|p| ListingTableUrl::parse(p.to_string_lossy().as_ref()))
        .collect::<datafusion::error::Result<Vec<_>>>()?;
    let options = ListingOptions::new(Arc::new(ArrowFormat)).with_file_extension(".arrow");
    let config = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(options)
        .with_schema(schema);
    let table = ListingTable::try_new(config)?;
    Ok(LogicalPlanBuilder::scan("staged", provider_as_source(Arc::new(table)), None)?.build()?)
}

/// The projection aligning staged `columns` (`None`: no staged rows) to the table.
fn align_exprs(columns: Option<&[String]>, a: &Alignment<'_>) -> Vec<Expr> {
    let staged = |name: &str| columns.is_some_and(|cs| cs.iter().any(|c| c == name));
    let null = |t: &DataType| cast(lit(ScalarValue::Null), t.clone());
    let mut exprs = Vec::new();
    let mut failures: Vec<(Expr, Expr)> = Vec::new();
    for (name, data_type) in a.columns {
        let value = if staged(name) {
            let source = column(name);
            if *data_type == DataType::Utf8 {
                source
            } else {
                let typed = try_cast(source.clone(), data_type.clone());
                failures.push((
                    source.clone().is_not_null().and(typed.clone().is_null()),
                    concat(vec![
                        lit(format!("column '{name}': '")),
                        source,
                        lit(format!(
                            "' is not a {}",
                            crate::types::spark_type_name(data_type).to_uppercase()
                        )),
                    ]),
                ));
                typed
            }
        } else if columns.is_some() && a.placeholders.iter().any(|p| p == name) {
            cast(column(name), data_type.clone())
        } else if name == SOURCE_FILE_COLUMN && columns.is_some() {
            when(column(MEMBER_COLUMN).is_null(), column(OBJECT_COLUMN))
                .otherwise(concat(vec![
                    column(OBJECT_COLUMN),
                    lit("!/"),
                    column(MEMBER_COLUMN),
                ]))
                .unwrap_or_else(|_| column(OBJECT_COLUMN))
        } else if name == INGESTED_AT_COLUMN {
            cast(
                lit(ScalarValue::TimestampMicrosecond(
                    Some(a.ingested_at_us),
                    Some("UTC".into()),
                )),
                data_type.clone(),
            )
        } else {
            null(data_type)
        };
        exprs.push(value.alias(name));
    }
    match columns {
        Some(_) => {
            exprs.push(column(OBJECT_COLUMN).alias(OBJECT_COLUMN));
            exprs.push(column(MEMBER_COLUMN).alias(MEMBER_COLUMN));
            exprs.push(column(LINE_COLUMN).alias(LINE_COLUMN));
            let bad = failures
                .iter()
                .map(|(c, _)| c.clone())
                .reduce(Expr::or)
                .unwrap_or_else(|| lit(false));
            exprs.push(coalesce(vec![bad, lit(false)]).alias(BAD_COLUMN));
            let reason = match failures.split_first() {
                None => cast(lit(ScalarValue::Null), DataType::Utf8),
                Some(((c, r), rest)) => {
                    let mut case = when(c.clone(), r.clone());
                    for (c, r) in rest {
                        case = case.when(c.clone(), r.clone());
                    }
                    case.otherwise(cast(lit(ScalarValue::Null), DataType::Utf8))
                        .unwrap_or_else(|_| cast(lit(ScalarValue::Null), DataType::Utf8))
                }
            };
            exprs.push(reason.alias(REASON_COLUMN));
            // The record as it was read.
            exprs.push(column(RAW_COLUMN).alias(RAW_COLUMN));
        }
        None => {
            exprs.push(null(&DataType::Utf8).alias(OBJECT_COLUMN));
            exprs.push(null(&DataType::Utf8).alias(MEMBER_COLUMN));
            exprs.push(null(&DataType::Int64).alias(LINE_COLUMN));
            exprs.push(lit(false).alias(BAD_COLUMN));
            exprs.push(null(&DataType::Utf8).alias(REASON_COLUMN));
            exprs.push(null(&DataType::Utf8).alias(RAW_COLUMN));
        }
    }
    exprs
}

/// The good rows of `aligned`, one per key (`keys`; every data column when empty) when
/// deduplicating — the winner has the greatest `order_by`, then comes from the later file,
/// then the later line — as the table's columns. Deduplicating numbers each key's rows in the
/// winner's order (`row_number`, over rows sorted by key: the sort holds rows, not per-key
/// state for every column, and spills when the memory pool is bounded) and keeps the first;
/// file and line make the order total, so the winner is one row.
pub(crate) fn good_rows(
    aligned: LogicalPlan,
    columns: &[(String, DataType)],
    deduplicate: bool,
    keys: &[String],
    order_by: Option<&str>,
) -> Result<LogicalPlan> {
    let mut b = LogicalPlanBuilder::from(aligned).filter(!column(BAD_COLUMN))?;
    if deduplicate {
        let partition: Vec<Expr> = if keys.is_empty() {
            columns
                .iter()
                .filter(|(n, _)| !n.starts_with('_'))
                .map(|(n, _)| column(n))
                .collect()
        } else {
            keys.iter().map(|k| column(k)).collect()
        };
        if !partition.is_empty() {
            let mut order = Vec::new();
            if let Some(o) = order_by {
                order.push(column(o).sort(false, false));
            }
            order.push(column(OBJECT_COLUMN).sort(false, false));
            order.push(column(MEMBER_COLUMN).sort(false, false));
            order.push(column(LINE_COLUMN).sort(false, false));
            let rank = row_number()
                .partition_by(partition)
                .order_by(order)
                .build()?
                .alias(RANK_COLUMN);
            b = b
                .window(vec![rank])?
                .filter(column(RANK_COLUMN).eq(lit(1u64)))?;
        }
    }
    Ok(b.project(columns.iter().map(|(n, _)| column(n)))?.build()?)
}

/// The columns of the quarantine table.
pub(crate) fn quarantine_columns() -> Vec<(String, DataType)> {
    vec![
        ("run_id".into(), DataType::Utf8),
        ("table_name".into(), DataType::Utf8),
        ("source_file".into(), DataType::Utf8),
        ("archive_member".into(), DataType::Utf8),
        ("line_number".into(), DataType::Int64),
        ("raw_line".into(), DataType::Utf8),
        ("reason".into(), DataType::Utf8),
        ("quarantined_at".into(), timestamp_type()),
    ]
}

/// The quarantine rows of one table: the bad rows of `aligned` and the records its files'
/// parsing set aside (`parse_files`), as the quarantine table's columns.
pub(crate) fn quarantine_rows(
    aligned: LogicalPlan,
    parse_files: &[PathBuf],
    run_id: &str,
    table_name: &str,
    at_us: i64,
) -> Result<LogicalPlan> {
    let at = lit(ScalarValue::TimestampMicrosecond(
        Some(at_us),
        Some("UTC".into()),
    ));
    let bad = LogicalPlanBuilder::from(aligned)
        .filter(column(BAD_COLUMN))?
        .project(vec![
            lit(run_id).alias("run_id"),
            lit(table_name).alias("table_name"),
            column(OBJECT_COLUMN).alias("source_file"),
            column(MEMBER_COLUMN).alias("archive_member"),
            column(LINE_COLUMN).alias("line_number"),
            column(RAW_COLUMN).alias("raw_line"),
            column(REASON_COLUMN).alias("reason"),
            at.clone().alias("quarantined_at"),
        ])?;
    if parse_files.is_empty() {
        return Ok(bad.build()?);
    }
    let parsed = LogicalPlanBuilder::from(scan_ipc(quarantine_schema(), parse_files)?)
        .filter(column("table_name").eq(lit(short_name(table_name))))?
        .project(vec![
            lit(run_id).alias("run_id"),
            lit(table_name).alias("table_name"),
            column("source_file"),
            column("archive_member"),
            column("line_number"),
            column("raw_line"),
            column("reason"),
            at.alias("quarantined_at"),
        ])?
        .build()?;
    Ok(bad.union(parsed)?.build()?)
}

/// `t` of `c.s.t`.
fn short_name(full: &str) -> &str {
    full.rsplit('.').next().unwrap_or(full)
}
