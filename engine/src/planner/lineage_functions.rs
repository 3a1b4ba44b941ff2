//! `system.access.lineage_upstream('c.s.t', depth)` and `system.access.lineage_downstream(...)`:
//! table functions over the recorded table lineage, one row per edge with its depth, so that
//! "what is this made from" and "what breaks if I change it" are one SELECT. Their column forms,
//! `lineage_upstream('c.s.t', depth, 'column')`, walk the column lineage the same way. They are placed
//! into the plan by a `RelationPlanner`. The Postgres compatibility rewrites strip the schema
//! from every table function call before planning (DataFusion resolves them by bare name), so
//! `lineage_upstream(...)` is the same call. They read what `system.access.table_lineage` (or
//! `column_lineage`) would show the reader: its grant is needed, and a walk never passes
//! through a table the reader may not see.

use std::sync::Arc;

use datafusion::datasource::provider_as_source;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::planner::{
    PlannedRelation, RelationPlanner, RelationPlannerContext, RelationPlanning,
};
use datafusion::logical_expr::LogicalPlanBuilder;
use datafusion::sql::sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, ObjectName, ObjectNamePart, TableAlias, TableFactor, Value,
};
use weir_catalog::{AuditLog, Metastore};

use crate::access::Access;
use crate::batches::{batch, mem_table, Col};
use crate::error::{EngineError, Result};
use crate::system_tables::access::lineage_graph::{column_edges, table_edges, walk, Direction};

/// Plans the lineage functions for one reader.
#[derive(Debug)]
pub(crate) struct LineageFunctions {
    pub log: Arc<AuditLog>,
    pub metastore: Arc<Metastore>,
    /// Whose rights the reading plan has.
    pub rights: String,
}

/// The function a relation calls, with its arguments and alias: sqlparser reads a qualified
/// call as a table function (`TableFactor::Function`), a bare one as a table with arguments.
fn call(
    factor: TableFactor,
) -> std::result::Result<(Direction, Vec<FunctionArg>, Option<TableAlias>), TableFactor> {
    let direction = match &factor {
        TableFactor::Function {
            name,
            lateral: false,
            ..
        }
        | TableFactor::Table {
            name,
            args: Some(_),
            ..
        } => direction(name),
        _ => None,
    };
    let Some(direction) = direction else {
        return Err(factor);
    };
    match factor {
        TableFactor::Function { args, alias, .. } => Ok((direction, args, alias)),
        TableFactor::Table {
            args: Some(args),
            alias,
            ..
        } => Ok((direction, args.args, alias)),
        other => Err(other),
    }
}

/// Which function `name` is, if it is one of them.
fn direction(name: &ObjectName) -> Option<Direction> {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(i) => i.value.to_lowercase(),
            other => other.to_string(),
        })
        .collect();
    match parts
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["system", "access", "lineage_upstream"] | ["lineage_upstream"] => {
            Some(Direction::Upstream)
        }
        ["system", "access", "lineage_downstream"] | ["lineage_downstream"] => {
            Some(Direction::Downstream)
        }
        _ => None,
    }
}

fn literal(arg: &FunctionArg) -> Option<&Value> {
    match arg {
        FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(v))) => Some(&v.value),
        _ => None,
    }
}

/// What a call names: a table (`c.s.t`, lower-cased), a depth, and for the column form a
/// column (lower-cased).
struct Arguments {
    table: String,
    depth: usize,
    column: Option<String>,
}

fn arguments(args: &[FunctionArg]) -> Result<Arguments> {
    let usage = "takes a table's full name, a depth and optionally a column: \
                 ('catalog.schema.table', depth [, 'column'])";
    let (table, depth, column) = match args {
        [table, depth] => (table, depth, None),
        [table, depth, column] => (table, depth, Some(column)),
        _ => return Err(EngineError::invalid(usage)),
    };
    let table = match literal(table) {
        Some(Value::SingleQuotedString(t)) if t.split('.').count() == 3 => t.to_lowercase(),
        _ => return Err(EngineError::invalid(usage)),
    };
    let depth = match literal(depth) {
        Some(Value::Number(n, _)) => n
            .parse::<usize>()
            .ok()
            .filter(|d| (1..=100).contains(d))
            .ok_or_else(|| EngineError::invalid("depth must be an integer from 1 to 100"))?,
        _ => return Err(EngineError::invalid(usage)),
    };
    let column = match column.map(literal) {
        None => None,
        Some(Some(Value::SingleQuotedString(c))) if !c.is_empty() => Some(c.to_lowercase()),
        Some(_) => return Err(EngineError::invalid(usage)),
    };
    Ok(Arguments {
        table,
        depth,
        column,
    })
}

/// The end of an edge a walk in `direction` arrives by.
fn near_end(direction: Direction) -> weir_catalog::EdgeEnd {
    match direction {
        Direction::Upstream => weir_catalog::EdgeEnd::Target,
        Direction::Downstream => weir_catalog::EdgeEnd::Source,
    }
}

impl LineageFunctions {
    fn rows(
        &self,
        direction: Direction,
        args: &[FunctionArg],
    ) -> Result<Arc<dyn datafusion::catalog::TableProvider>> {
        let Arguments {
            table,
            depth,
            column,
        } = arguments(args)?;
        let access = Access::load(&self.metastore, &self.rights)?;
        let lineage_table = if column.is_some() {
            "column_lineage"
        } else {
            "table_lineage"
        };
        crate::system_tables::access::require_select(&access, lineage_table)?;
        let visible = crate::system_tables::access::Visibility::new(&access, &self.metastore);
        let Some(column) = column else {
            let mut cols = vec![
                Col::str_not_null("source_table_full_name"),
                Col::str_not_null("source_type"),
                Col::str_not_null("target_table_full_name"),
                Col::str_not_null("target_type"),
                Col::int("depth"),
            ];
            let step = |nodes: &[String]| -> Result<Vec<_>> {
                let links = self.log.table_links_at(near_end(direction), nodes)?;
                Ok(table_edges(links)
                    .filter(|(source, target, (source_type, _))| {
                        (source_type == crate::lineage::CLIENT || visible.table(source))
                            && visible.table(target)
                    })
                    .collect())
            };
            for hop in walk(step, &table, direction, depth)? {
                cols[0].push_str(Some(hop.source));
                cols[1].push_str(Some(hop.about.0));
                cols[2].push_str(Some(hop.target));
                cols[3].push_str(Some(hop.about.1));
                cols[4].push_int(Some(hop.depth as i64));
            }
            return mem_table(batch(cols)?);
        };
        let mut cols = vec![
            Col::str_not_null("source_table_full_name"),
            Col::str_not_null("source_column_name"),
            Col::str_not_null("source_type"),
            Col::str_not_null("target_table_full_name"),
            Col::str_not_null("target_column_name"),
            Col::str_not_null("target_type"),
            Col::str_not_null("transformation_type"),
            Col::str_not_null("transformation_subtype"),
            Col::bool("masked"),
            Col::int("depth"),
        ];
        let step = |nodes: &[(String, String)]| -> Result<Vec<_>> {
            let links = self.log.column_links_at(near_end(direction), nodes)?;
            Ok(column_edges(links)
                .filter(|(source, target, _)| {
                    visible.column(&source.0, &source.1) && visible.column(&target.0, &target.1)
                })
                .collect())
        };
        for hop in walk(step, &(table, column), direction, depth)? {
            cols[0].push_str(Some(hop.source.0));
            cols[1].push_str(Some(hop.source.1));
            cols[2].push_str(Some(hop.about.source_type));
            cols[3].push_str(Some(hop.target.0));
            cols[4].push_str(Some(hop.target.1));
            cols[5].push_str(Some(hop.about.target_type));
            cols[6].push_str(Some(hop.about.transformation_type));
            cols[7].push_str(Some(hop.about.transformation_subtype));
            cols[8].push_bool(Some(hop.about.masked));
            cols[9].push_int(Some(hop.depth as i64));
        }
        mem_table(batch(cols)?)
    }
}

impl RelationPlanner for LineageFunctions {
    fn plan_relation(
        &self,
        relation: TableFactor,
        _context: &mut dyn RelationPlannerContext,
    ) -> datafusion::error::Result<RelationPlanning> {
        let (direction, args, alias) = match call(relation) {
            Ok(call) => call,
            Err(relation) => return Ok(RelationPlanning::Original(Box::new(relation))),
        };
        let provider = self
            .rows(direction, &args)
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        let name = match direction {
            Direction::Upstream => "lineage_upstream",
            Direction::Downstream => "lineage_downstream",
        };
        let plan = LogicalPlanBuilder::scan(name, provider_as_source(provider), None)?.build()?;
        Ok(RelationPlanning::Planned(Box::new(PlannedRelation::new(
            plan, alias,
        ))))
    }
}
