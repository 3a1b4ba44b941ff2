//! DELETE and UPDATE as Delta commits through delta-rs's builders.
//!
//! DataFusion plans the statement (name resolution, type coercion, subqueries); Weir takes the
//! predicate and assignments out of that plan. Uncorrelated subqueries are evaluated first and
//! replaced by their values, so delta-rs only ever sees plain expressions: a predicate is never
//! lost on its way to the table scan (an empty filter list must not read as "every row").
//! A statement with a correlated subquery runs as a MERGE (see `dml_via_merge`).

use std::sync::Arc;

use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, ScalarValue};
use datafusion::logical_expr::expr::{Exists, InSubquery};
use datafusion::logical_expr::{lit, Expr, LogicalPlan, Subquery};
use weir_catalog::{TableEntry, TableKind};

use crate::error::{EngineError, Result};
use crate::session::{Session, StatementOutput};

/// The parts of a DELETE / UPDATE plan Weir needs.
struct Target {
    predicate: Option<Expr>,
    /// For UPDATE: the projection over the scanned table (`expr AS column` per column).
    assignments: Vec<Expr>,
}

/// Splits `Projection? -> Filter? -> TableScan` into its predicate and projection.
fn dismantle(input: &LogicalPlan) -> Result<Target> {
    let mut assignments = vec![];
    let mut node = input;
    if let LogicalPlan::Projection(p) = node {
        assignments = p.expr.clone();
        node = p.input.as_ref();
    }
    let mut predicate = None;
    if let LogicalPlan::Filter(f) = node {
        predicate = Some(f.predicate.clone());
        node = f.input.as_ref();
    }
    // `UPDATE t AS x ...`: the alias only renames; columns are unqualified later.
    if let LogicalPlan::SubqueryAlias(a) = node {
        node = a.input.as_ref();
    }
    match node {
        LogicalPlan::TableScan(scan) if scan.filters.is_empty() => Ok(Target {
            predicate,
            assignments,
        }),
        other => Err(EngineError::not_supported(format!(
            "this form of UPDATE/DELETE is not supported (plan node {})",
            other.display()
        ))),
    }
}

/// Raised by the plain path for a correlated subquery; the session then runs the statement as
/// a MERGE, which only refuses forms it cannot express (joins in UPDATE ... FROM, USING).
fn correlated() -> EngineError {
    EngineError::not_supported(
        "correlated subqueries in UPDATE/DELETE are supported for a single table without \
         FROM/USING; rewrite the condition with EXISTS or IN (SELECT ...)",
    )
}

/// Column references without the table qualifier, as delta-rs resolves them.
fn unqualify(expr: Expr) -> Result<Expr> {
    Ok(expr
        .transform(|e| {
            Ok(match e {
                Expr::Column(c) if c.relation.is_some() => {
                    Transformed::yes(Expr::Column(Column::from_name(c.name)))
                }
                other => Transformed::no(other),
            })
        })?
        .data)
}

impl Session {
    /// Evaluates every (uncorrelated) subquery of `expr` and puts its result in its place.
    async fn inline_subqueries(&self, expr: Expr) -> Result<Expr> {
        // Collect first (the transform closure cannot await), then substitute in order.
        // (subquery, whether only its row count matters: EXISTS)
        let mut subqueries: Vec<(Subquery, bool)> = vec![];
        expr.apply(|e| {
            match e {
                Expr::ScalarSubquery(s) => subqueries.push((s.clone(), false)),
                Expr::InSubquery(InSubquery { subquery, .. }) => {
                    subqueries.push((subquery.clone(), false))
                }
                Expr::Exists(Exists { subquery, .. }) => subqueries.push((subquery.clone(), true)),
                _ => {}
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
        let mut values: Vec<Vec<ScalarValue>> = Vec::with_capacity(subqueries.len());
        for (s, exists) in &subqueries {
            if !s.outer_ref_columns.is_empty() {
                return Err(correlated());
            }
            let batches = self
                .ctx
                .execute_logical_plan(s.subquery.as_ref().clone())
                .await?
                .collect()
                .await?;
            let mut column = vec![];
            for b in &batches {
                if *exists {
                    column.extend((0..b.num_rows()).map(|_| ScalarValue::Null));
                    continue;
                }
                if b.num_columns() != 1 {
                    return Err(EngineError::Coded {
                        sqlstate: "42601",
                        message: "subquery has too many columns".into(),
                    });
                }
                for row in 0..b.num_rows() {
                    column.push(ScalarValue::try_from_array(b.column(0), row)?);
                }
            }
            values.push(column);
        }
        let mut next = values.into_iter();
        let rewritten = expr.transform_down(|e| {
            Ok(match e {
                Expr::ScalarSubquery(s) => {
                    let column = next.next().unwrap_or_default();
                    if column.len() > 1 {
                        return Err(datafusion::error::DataFusionError::External(Box::new(
                            EngineError::Coded {
                                sqlstate: "21000",
                                message:
                                    "more than one row returned by a subquery used as an expression"
                                        .into(),
                            },
                        )));
                    }
                    let data_type = s.subquery.schema().field(0).data_type().clone();
                    let value = match column.into_iter().next() {
                        Some(v) => v,
                        None => ScalarValue::try_from(&data_type)?,
                    };
                    Transformed::new(lit(value), true, TreeNodeRecursion::Jump)
                }
                Expr::InSubquery(InSubquery { expr, negated, .. }) => {
                    let column = next.next().unwrap_or_default();
                    let list: Vec<Expr> = column.into_iter().map(lit).collect();
                    let replaced = if list.is_empty() {
                        // x IN (empty) is false and x NOT IN (empty) true, even for NULL x.
                        lit(negated)
                    } else {
                        Expr::InList(datafusion::logical_expr::expr::InList::new(
                            expr, list, negated,
                        ))
                    };
                    Transformed::new(replaced, true, TreeNodeRecursion::Jump)
                }
                Expr::Exists(Exists { negated, .. }) => {
                    let column = next.next().unwrap_or_default();
                    Transformed::new(
                        lit(column.is_empty() == negated),
                        true,
                        TreeNodeRecursion::Jump,
                    )
                }
                other => Transformed::no(other),
            })
        })?;
        Ok(rewritten.data)
    }

    fn writable(&self, entry: &TableEntry, verb: &str) -> Result<()> {
        if entry.kind == TableKind::View {
            return Err(EngineError::WrongObjectType(format!(
                "cannot {verb} view '{}'",
                entry.full_name()
            )));
        }
        Ok(())
    }

    /// The statement's parts, with its predicate ready for delta-rs.
    async fn dml_target(
        &self,
        entry: &TableEntry,
        input: &LogicalPlan,
        verb: &str,
    ) -> Result<(Target, Option<Expr>)> {
        self.writable(entry, verb)?;
        let mut target = dismantle(input)?;
        let predicate = match target.predicate.take() {
            Some(p) => Some(unqualify(self.inline_subqueries(p).await?)?),
            None => None,
        };
        Ok((target, predicate))
    }

    pub(crate) async fn delete(
        &mut self,
        entry: &TableEntry,
        input: &LogicalPlan,
    ) -> Result<StatementOutput> {
        let (_, predicate) = self.dml_target(entry, input, "DELETE FROM").await?;
        let table = self.state.latest_table(entry).await?;
        let mut builder = table
            .delete()
            .with_session_state(Arc::new(self.ctx.state()))
            .with_commit_properties(self.commit_properties("DELETE"));
        if let Some(p) = predicate {
            builder = builder.with_predicate(p);
        }
        let (table, metrics) = builder.await?;
        self.state.tables.put(&entry.id, table);
        Ok(StatementOutput::Command {
            tag: "DELETE".into(),
            rows: Some(metrics.num_deleted_rows.unwrap_or(0) as u64),
        })
    }

    pub(crate) async fn update(
        &mut self,
        entry: &TableEntry,
        input: &LogicalPlan,
    ) -> Result<StatementOutput> {
        let (target, predicate) = self.dml_target(entry, input, "UPDATE").await?;
        let table = self.state.latest_table(entry).await?;
        let mut builder = table
            .update()
            .with_session_state(Arc::new(self.ctx.state()))
            .with_commit_properties(self.commit_properties("UPDATE"));
        if let Some(p) = predicate {
            builder = builder.with_predicate(p);
        }
        for assignment in target.assignments {
            let (expr, column) = match assignment {
                Expr::Alias(a) => (*a.expr, a.name),
                other => {
                    return Err(EngineError::Internal(format!(
                        "unexpected UPDATE projection {other}"
                    )))
                }
            };
            // Columns the statement does not assign come through as themselves.
            if matches!(&expr, Expr::Column(c) if c.name == column) {
                continue;
            }
            let expr = unqualify(self.inline_subqueries(expr).await?)?;
            builder = builder.with_update(column, expr);
        }
        let (table, metrics) = builder
            .await
            .map_err(|e| Self::constraint_error(entry, e.into()))?;
        self.state.tables.put(&entry.id, table);
        Ok(StatementOutput::Command {
            tag: "UPDATE".into(),
            rows: Some(metrics.num_updated_rows as u64),
        })
    }
}

/// The target table of an UPDATE/DELETE statement and the name its condition uses for it.
fn target_factor(
    relation: &datafusion::sql::sqlparser::ast::TableFactor,
) -> Result<(String, String)> {
    use datafusion::sql::sqlparser::ast::TableFactor;
    match relation {
        TableFactor::Table { name, alias, .. } => {
            let reference = match alias {
                Some(a) => a.name.to_string(),
                None => name.0.last().map(|p| p.to_string()).unwrap_or_default(),
            };
            Ok((name.to_string(), reference))
        }
        _ => Err(correlated()),
    }
}

impl Session {
    /// An UPDATE/DELETE whose condition has a correlated subquery, run as a MERGE: DataFusion
    /// plans (and decorrelates) `SELECT DISTINCT t.*[, new values] FROM t WHERE condition`, and
    /// the rows of `t` equal to a selected row (NULLs equal) are deleted or updated, in one
    /// commit. Rows with equal values are indistinguishable to the condition, so matching by
    /// value changes exactly the rows the statement means.
    pub(crate) async fn dml_via_merge(
        &mut self,
        statement: &datafusion::sql::sqlparser::ast::Statement,
    ) -> Result<StatementOutput> {
        use datafusion::sql::sqlparser::ast::{FromTable, Statement as Ast};
        let (relation, selection, assignments) = match statement {
            Ast::Delete(d) => {
                let from = match &d.from {
                    FromTable::WithFromKeyword(f) | FromTable::WithoutKeyword(f) => f,
                };
                match from.as_slice() {
                    [only] if only.joins.is_empty() && d.using.is_none() => {
                        (&only.relation, d.selection.as_ref(), None)
                    }
                    _ => return Err(correlated()),
                }
            }
            Ast::Update(u) if u.table.joins.is_empty() && u.from.is_none() => (
                &u.table.relation,
                u.selection.as_ref(),
                Some(&u.assignments),
            ),
            _ => return Err(correlated()),
        };
        let (name, reference) = target_factor(relation)?;
        let parts: Vec<String> = name
            .split('.')
            .map(|p| p.trim_matches('"').to_lowercase())
            .collect();
        let (c, s, t) = self.qualify_table(&parts)?;
        let entry = self.lookup_table(&c, &s, &t)?;
        self.require_writable(&entry, Some("UPDATE or DELETE"))?;
        let q = crate::show::ident;
        let condition = selection
            .map(|e| e.to_string())
            .unwrap_or_else(|| "true".into());
        let mut select = format!("SELECT DISTINCT {}.*", reference);
        let mut sets = vec![];
        for (k, a) in assignments.into_iter().flatten().enumerate() {
            let column = match &a.target {
                datafusion::sql::sqlparser::ast::AssignmentTarget::ColumnName(n) => n.to_string(),
                _ => return Err(correlated()),
            };
            select.push_str(&format!(", ({}) AS __weir_new_{k}", a.value));
            sets.push(format!("{column} = __weir_s.__weir_new_{k}"));
        }
        let on: Vec<String> = entry
            .columns
            .iter()
            .map(|col| {
                format!(
                    "(__weir_t.{0} IS NOT DISTINCT FROM __weir_s.{0})",
                    q(&col.name)
                )
            })
            .collect();
        let action = if sets.is_empty() {
            "DELETE".to_string()
        } else {
            format!("UPDATE SET {}", sets.join(", "))
        };
        let full = format!("{}.{}.{}", q(&c), q(&s), q(&t));
        let sql = format!(
            "MERGE INTO {full} AS __weir_t USING ({select} FROM {full} AS {reference} WHERE {condition}) AS __weir_s \
             ON {} WHEN MATCHED THEN {action}",
            on.join(" AND ")
        );
        let merge = match crate::parser::parse_sql(&sql)?.pop() {
            Some(crate::parser::Statement::Merge { merge, .. }) => merge,
            _ => return Err(EngineError::Internal(format!("not a MERGE: {sql}"))),
        };
        let (updated, deleted, _) = self.merge_counts(&merge, false, false).await?;
        Ok(StatementOutput::Command {
            tag: if sets.is_empty() { "DELETE" } else { "UPDATE" }.into(),
            rows: Some(if sets.is_empty() { deleted } else { updated } as u64),
        })
    }
}

/// Whether an error is the refusal of a correlated subquery (the cue to run it as a MERGE).
pub(crate) fn is_correlated_refusal(e: &EngineError) -> bool {
    matches!(e, EngineError::NotSupported(m) if m.starts_with("correlated subqueries"))
}
