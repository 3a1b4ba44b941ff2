//! Table maintenance: `OPTIMIZE` (bin-packing or Z-order) and `VACUUM`, through delta-rs.

use std::sync::Arc;

use datafusion::sql::sqlparser::ast::{BinaryOperator, Expr, UnaryOperator, Value};
use deltalake::operations::optimize::OptimizeType;
use deltalake::{FilterOp, FilterValue};
use weir_catalog::TableKind;

use crate::batches::{batch, rows_output, Col};
use crate::delta::commit::{MetastoreSync, WriteKind, WriteMetrics};
use crate::error::{EngineError, Result};
use crate::output::StatementOutput;
use crate::session::Session;

/// The session setting that, set to `false` by an admin, allows VACUUM below the retention
/// minimum (Databricks' name).
pub const RETENTION_CHECK_SETTING: &str = "spark.databricks.delta.retentiondurationcheck.enabled";

/// Delta's default minimum retention for VACUUM.
const DEFAULT_RETENTION_HOURS: i64 = 168;

/// One partition filter of `OPTIMIZE ... WHERE`, owned until delta-rs borrows it.
enum OwnedFilter {
    Scalar(String, FilterOp, String),
    Set(String, FilterOp, Vec<String>),
}

fn not_partition_predicate(detail: &str) -> EngineError {
    EngineError::Coded {
        sqlstate: "0A000",
        message: format!(
            "OPTIMIZE ... WHERE takes conjunctions of comparisons of partition columns with literals ({detail})"
        ),
    }
}

fn literal(e: &Expr) -> Result<String> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) => Ok(s.clone()),
            Value::Number(n, _) => Ok(n.clone()),
            Value::Boolean(b) => Ok(b.to_string()),
            other => Err(not_partition_predicate(&format!(
                "unsupported literal {other}"
            ))),
        },
        // DATE '2025-03-18', TIMESTAMP '...': the partition value is the text.
        Expr::TypedString(t) => match &t.value.value {
            Value::SingleQuotedString(s) => Ok(s.clone()),
            other => Err(not_partition_predicate(&format!(
                "unsupported literal {other}"
            ))),
        },
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => Ok(format!("-{}", literal(expr)?)),
        other => Err(not_partition_predicate(&format!(
            "{other} is not a literal"
        ))),
    }
}

fn column(e: &Expr, partitions: &[String]) -> Result<String> {
    let name = match e {
        Expr::Identifier(i) => i.value.to_lowercase(),
        Expr::CompoundIdentifier(parts) => parts
            .last()
            .map(|i| i.value.to_lowercase())
            .unwrap_or_default(),
        other => return Err(not_partition_predicate(&format!("{other} is not a column"))),
    };
    if !partitions.contains(&name) {
        return Err(not_partition_predicate(&format!(
            "'{name}' is not a partition column"
        )));
    }
    Ok(name)
}

fn partition_filters(e: &Expr, partitions: &[String], out: &mut Vec<OwnedFilter>) -> Result<()> {
    match e {
        Expr::Nested(inner) => partition_filters(inner, partitions, out),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            partition_filters(left, partitions, out)?;
            partition_filters(right, partitions, out)
        }
        Expr::BinaryOp { left, op, right } => {
            let op = match op {
                BinaryOperator::Eq => FilterOp::Eq,
                BinaryOperator::NotEq => FilterOp::Ne,
                BinaryOperator::Lt => FilterOp::Lt,
                BinaryOperator::LtEq => FilterOp::Le,
                BinaryOperator::Gt => FilterOp::Gt,
                BinaryOperator::GtEq => FilterOp::Ge,
                other => return Err(not_partition_predicate(&format!("operator {other}"))),
            };
            out.push(OwnedFilter::Scalar(
                column(left, partitions)?,
                op,
                literal(right)?,
            ));
            Ok(())
        }
        Expr::InList {
            expr,
            list,
            negated,
        } => {
            let values = list.iter().map(literal).collect::<Result<Vec<_>>>()?;
            let op = if *negated {
                FilterOp::NotIn
            } else {
                FilterOp::In
            };
            out.push(OwnedFilter::Set(column(expr, partitions)?, op, values));
            Ok(())
        }
        other => Err(not_partition_predicate(&other.to_string())),
    }
}

impl Session {
    fn maintained_table(&self, name: &[String], verb: &str) -> Result<weir_catalog::TableEntry> {
        let (c, s, t) = self.qualify_table(name)?;
        let entry = self.lookup_table(&c, &s, &t)?;
        // VACUUM DRY RUN lists file paths, which carry partition values: a full reader's too.
        self.require_writable(&entry, Some(verb))?;
        if entry.kind == TableKind::View {
            return Err(EngineError::WrongObjectType(format!(
                "cannot {verb} view '{}'",
                entry.full_name()
            )));
        }
        Ok(entry)
    }

    /// `OPTIMIZE t [WHERE partition_predicate] [ZORDER BY (cols)]`: one commit replacing small
    /// files with compacted (or Z-ordered) ones; returns delta-rs's metrics.
    pub(crate) async fn optimize(
        &mut self,
        name: &[String],
        predicate: Option<&Expr>,
        zorder: &[String],
    ) -> Result<StatementOutput> {
        let entry = self.maintained_table(name, "OPTIMIZE")?;
        let mut owned = vec![];
        if let Some(p) = predicate {
            partition_filters(p, &entry.partition_columns, &mut owned)?;
        }
        let filters: Vec<(&str, FilterOp, FilterValue<'_>)> = owned
            .iter()
            .map(|f| match f {
                OwnedFilter::Scalar(c, op, v) => (c.as_str(), *op, FilterValue::Scalar(v.as_str())),
                OwnedFilter::Set(c, op, vs) => (
                    c.as_str(),
                    *op,
                    FilterValue::Set(vs.iter().map(String::as_str).collect()),
                ),
            })
            .collect();
        for c in zorder {
            if !entry.columns.iter().any(|col| &col.name == c) {
                return Err(EngineError::UndefinedColumn(format!(
                    "column '{c}' of ZORDER BY does not exist in '{}'",
                    entry.full_name()
                )));
            }
            if entry.partition_columns.contains(c) {
                return Err(EngineError::invalid(format!(
                    "'{c}' is a partition column; ZORDER BY takes data columns"
                )));
            }
        }
        let write = self.begin_write(&entry, WriteKind::Optimize).await?;
        let optimize_type = if zorder.is_empty() {
            OptimizeType::Compact
        } else {
            OptimizeType::ZOrder(zorder.to_vec())
        };
        let (table, metrics) = write
            .table()?
            .optimize()
            .with_filters(&filters)
            .with_type(optimize_type)
            .with_session_state(Arc::new(self.ctx.state()))
            .with_commit_properties(write.properties())
            .await?;
        let written = WriteMetrics {
            files_added: Some(metrics.num_files_added),
            files_removed: Some(metrics.num_files_removed),
            ..WriteMetrics::default()
        };
        write.finish(table, written, MetastoreSync::Data)?;
        let mut cols = optimize_columns();
        cols[0].push_str(entry.location.clone());
        cols[1].push_int(Some(metrics.num_files_added as i64));
        cols[2].push_int(Some(metrics.num_files_removed as i64));
        cols[3].push_int(Some(metrics.files_added.total_size));
        cols[4].push_int(Some(metrics.files_removed.total_size));
        cols[5].push_int(Some(metrics.partitions_optimized as i64));
        cols[6].push_int(Some(metrics.num_batches as i64));
        cols[7].push_int(Some(metrics.total_considered_files as i64));
        cols[8].push_int(Some(metrics.total_files_skipped as i64));
        rows_output(cols)
    }

    /// `VACUUM t [RETAIN n HOURS] [DRY RUN]`: deletes files no version within the retention
    /// period references. Below the 168-hour minimum only if an admin turned the check off for
    /// the session.
    pub(crate) async fn vacuum(
        &mut self,
        name: &[String],
        retain_hours: Option<f64>,
        dry_run: bool,
    ) -> Result<StatementOutput> {
        let entry = self.maintained_table(name, "VACUUM")?;
        let check = self
            .variable(RETENTION_CHECK_SETTING)
            .map(|v| !v.trim().eq_ignore_ascii_case("false"))
            .unwrap_or(true);
        let hours = retain_hours.unwrap_or(DEFAULT_RETENTION_HOURS as f64);
        if hours < 0.0 || !hours.is_finite() {
            return Err(EngineError::invalid(
                "RETAIN takes a non-negative number of hours",
            ));
        }
        if check && hours < DEFAULT_RETENTION_HOURS as f64 {
            return Err(EngineError::Coded {
                sqlstate: "22023",
                message: format!(
                    "VACUUM RETAIN {hours} HOURS is below the {DEFAULT_RETENTION_HOURS}-hour minimum; \
                     versions older than the retention could no longer be read. An admin can \
                     SET {RETENTION_CHECK_SETTING} = false for the session"
                ),
            });
        }
        let write = self.begin_write(&entry, WriteKind::Vacuum).await?;
        let retention = chrono::Duration::milliseconds((hours * 3_600_000.0) as i64);
        let (table, metrics) = write
            .table()?
            .vacuum()
            .with_retention_period(retention)
            .with_enforce_retention_duration(false)
            .with_dry_run(dry_run)
            .with_commit_properties(write.properties())
            .await?;
        let written = WriteMetrics {
            files_removed: Some(if dry_run {
                0
            } else {
                metrics.files_deleted.len() as u64
            }),
            ..WriteMetrics::default()
        };
        write.finish(table, written, MetastoreSync::Data)?;
        // Databricks lists the files a dry run would delete, and the table path otherwise.
        let mut cols = vacuum_columns();
        if dry_run {
            for f in &metrics.files_deleted {
                cols[0].push_str(Some(f.clone()));
                cols[1].push_int(Some(metrics.files_deleted.len() as i64));
            }
        } else {
            cols[0].push_str(entry.location.clone());
            cols[1].push_int(Some(metrics.files_deleted.len() as i64));
        }
        rows_output(cols)
    }

    /// The result shapes, for clients that describe a statement before running it.
    pub(crate) fn maintenance_schema(optimize: bool) -> Result<arrow::datatypes::SchemaRef> {
        Ok(batch(if optimize {
            optimize_columns()
        } else {
            vacuum_columns()
        })?
        .schema())
    }
}

fn optimize_columns() -> Vec<Col> {
    vec![
        Col::str("path"),
        Col::int("numFilesAdded"),
        Col::int("numFilesRemoved"),
        Col::int("filesAddedSize"),
        Col::int("filesRemovedSize"),
        Col::int("partitionsOptimized"),
        Col::int("numBatches"),
        Col::int("totalConsideredFiles"),
        Col::int("totalFilesSkipped"),
    ]
}

fn vacuum_columns() -> Vec<Col> {
    vec![Col::str("path"), Col::int("numDeletedFiles")]
}
