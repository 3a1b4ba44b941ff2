//! Column lineage of a logical plan: for each column a plan produces, the table and view columns
//! it came from and how, in OpenLineage's transformation vocabulary.
//!
//! It is read from the resolved plan DataFusion made of the statement (before optimization, so
//! a view is still one scan, named as the view): a scan's columns are themselves (`IDENTITY`);
//! an expression over columns transforms them (`TRANSFORMATION`), an aggregate aggregates them
//! (`AGGREGATION`); a column that only decides which rows or values come out — a filter, a join
//! key, a grouping key, a sort key, a window's partition or order, a CASE condition — is an
//! `INDIRECT` input of every column it affects. A source column whose values were masked for the
//! reader is flagged.
//!
//! When a plan node is of a kind this module does not know, every output column is taken to
//! come from every input column: lineage may then name too much, never too little.

use std::collections::{BTreeMap, BTreeSet};

use datafusion::common::tree_node::TreeNode;
use datafusion::common::{Column, DFSchema, TableReference};
use datafusion::logical_expr::{
    Expr, JoinType, LogicalPlan, Subquery, TableScan, WindowFunctionDefinition,
};

/// Whether a column's values flow into the output column, or only affect it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Subtype {
    // DIRECT, weakest first: composing keeps the strongest.
    Identity,
    Transformation,
    Aggregation,
    // INDIRECT
    Join,
    GroupBy,
    Filter,
    Sort,
    Window,
    Conditional,
}

impl Subtype {
    pub fn is_direct(self) -> bool {
        matches!(
            self,
            Subtype::Identity | Subtype::Transformation | Subtype::Aggregation
        )
    }

    /// `DIRECT` or `INDIRECT`.
    pub fn kind(self) -> &'static str {
        if self.is_direct() {
            "DIRECT"
        } else {
            "INDIRECT"
        }
    }

    /// The OpenLineage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Subtype::Identity => "IDENTITY",
            Subtype::Transformation => "TRANSFORMATION",
            Subtype::Aggregation => "AGGREGATION",
            Subtype::Join => "JOIN",
            Subtype::GroupBy => "GROUP_BY",
            Subtype::Filter => "FILTER",
            Subtype::Sort => "SORT",
            Subtype::Window => "WINDOW",
            Subtype::Conditional => "CONDITIONAL",
        }
    }

    /// This direct lineage, after its value went through an expression.
    fn transformed(self) -> Subtype {
        match self {
            Subtype::Identity => Subtype::Transformation,
            other => other,
        }
    }
}

/// A column of a table or view a plan reads.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SourceColumn {
    /// `catalog.schema.table` of the table or view.
    pub table: String,
    pub is_view: bool,
    pub column: String,
    /// Its values were masked for the reader before the plan saw them.
    pub masked: bool,
}

/// One input of a written column.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InputField {
    pub source: SourceColumn,
    pub subtype: Subtype,
}

/// A written column and its inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetColumn {
    pub name: String,
    /// Distinct, ordered.
    pub inputs: Vec<InputField>,
}

/// The column lineage of one write: each target column written, with its inputs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnLineage {
    pub columns: Vec<TargetColumn>,
}

impl ColumnLineage {
    /// The lineage of writing `plan`'s output columns, in order, to the columns `targets`.
    pub(crate) fn of_plan(plan: &LogicalPlan, names: &PlanNames, targets: &[String]) -> Self {
        let lineage = PlanLineage::of(plan, names);
        ColumnLineage {
            columns: targets
                .iter()
                .zip(lineage.columns.iter())
                .map(|(name, origins)| TargetColumn {
                    name: name.clone(),
                    inputs: origins.with(&lineage.indirect).inputs(),
                })
                .collect(),
        }
    }
}

/// What names a plan's tables and views: the catalog and schema its partial names are in, and
/// the views the statement resolved. (DataFusion puts a view's own plan in the place of its
/// scan, under an alias that is the name it was called by: a view is that alias over that
/// plan, which a CTE of the same name is not.)
pub(crate) struct PlanNames {
    pub catalog: String,
    pub schema: String,
    /// `catalog.schema.view` of each, with the plan it was inlined as.
    pub views: Vec<(String, LogicalPlan)>,
}

impl PlanNames {
    /// The view `alias` over `input` is, if it is one.
    fn view(&self, alias: &TableReference, input: &LogicalPlan) -> Option<String> {
        let name = table_name(alias, self);
        // DataFusion inlines the view's plan as is, or under a projection of its columns.
        let inlined = match input {
            LogicalPlan::Projection(p) => [input, p.input.as_ref()],
            other => [other, other],
        };
        self.views
            .iter()
            .any(|(n, plan)| *n == name && inlined.contains(&plan))
            .then_some(name)
    }
}

/// The lineage of one column inside a plan.
#[derive(Debug, Clone, Default)]
pub(crate) struct Origins {
    direct: BTreeMap<SourceColumn, Subtype>,
    indirect: BTreeSet<(SourceColumn, Subtype)>,
}

impl Origins {
    fn add_direct(&mut self, source: SourceColumn, subtype: Subtype) {
        let entry = self.direct.entry(source).or_insert(subtype);
        *entry = (*entry).max(subtype);
    }

    /// Takes `other`'s lineage as is.
    fn merge(&mut self, other: Origins) {
        for (s, t) in other.direct {
            self.add_direct(s, t);
        }
        self.indirect.extend(other.indirect);
    }

    /// Takes `other`'s lineage after its value went through an expression.
    fn merge_transformed(&mut self, other: Origins) {
        for (s, t) in other.direct {
            self.add_direct(s, t.transformed());
        }
        self.indirect.extend(other.indirect);
    }

    /// Takes `other`'s lineage as only affecting this value, in the way `subtype` says.
    fn merge_indirect(&mut self, other: Origins, subtype: Subtype) {
        self.indirect
            .extend(other.direct.into_keys().map(|s| (s, subtype)));
        self.indirect.extend(other.indirect);
    }

    fn with(&self, indirect: &BTreeSet<(SourceColumn, Subtype)>) -> Origins {
        let mut out = self.clone();
        out.indirect.extend(indirect.iter().cloned());
        out
    }

    fn inputs(&self) -> Vec<InputField> {
        let mut out: BTreeSet<InputField> = self
            .direct
            .iter()
            .map(|(s, t)| InputField {
                source: s.clone(),
                subtype: *t,
            })
            .collect();
        out.extend(self.indirect.iter().map(|(s, t)| InputField {
            source: s.clone(),
            subtype: *t,
        }));
        out.into_iter().collect()
    }
}

/// The lineage of each output column of a plan, and what affects all of them.
#[derive(Debug, Clone, Default)]
pub(crate) struct PlanLineage {
    pub columns: Vec<Origins>,
    /// Columns that decide which rows come out (filters, joins, grouping, sorting).
    pub indirect: BTreeSet<(SourceColumn, Subtype)>,
}

/// A plan's output columns, to resolve the column references of an expression over it.
struct Frame<'a> {
    schema: &'a DFSchema,
    columns: &'a [Origins],
}

impl Frame<'_> {
    fn column(&self, c: &Column) -> Origins {
        self.schema
            .maybe_index_of_column(c)
            .and_then(|i| self.columns.get(i))
            .cloned()
            .unwrap_or_default()
    }
}

impl PlanLineage {
    pub(crate) fn of(plan: &LogicalPlan, names: &PlanNames) -> Self {
        let lineage = Self::node(plan, names);
        if lineage.columns.len() == plan.schema().fields().len() {
            lineage
        } else {
            Self::everything(plan, names)
        }
    }

    /// The lineage of an expression over the output of `plan` (whose lineage this is).
    pub(crate) fn expr(&self, expr: &Expr, schema: &DFSchema, names: &PlanNames) -> Origins {
        let frame = Frame {
            schema,
            columns: &self.columns,
        };
        expr_origins(expr, &frame, names)
    }

    /// Every output column from every input column: for plan nodes not known here.
    fn everything(plan: &LogicalPlan, names: &PlanNames) -> Self {
        let mut all = Origins::default();
        let mut indirect = BTreeSet::new();
        for input in plan.inputs() {
            let l = Self::of(input, names);
            for c in l.columns {
                all.merge_transformed(c);
            }
            indirect.extend(l.indirect);
        }
        let _ = plan.apply_expressions(|e| {
            // The plan's own expressions may hold subqueries.
            let mut sub = Origins::default();
            collect_subqueries(e, names, &mut sub);
            all.merge_transformed(sub);
            Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
        });
        PlanLineage {
            columns: vec![all; plan.schema().fields().len()],
            indirect,
        }
    }

    fn node(plan: &LogicalPlan, names: &PlanNames) -> Self {
        match plan {
            LogicalPlan::TableScan(scan) => scan_lineage(scan, names),
            LogicalPlan::Projection(p) => {
                let input = Self::of(&p.input, names);
                let columns = input.exprs(&p.expr, p.input.schema(), names);
                PlanLineage {
                    columns,
                    indirect: input.indirect,
                }
            }
            LogicalPlan::Filter(f) => {
                let mut input = Self::of(&f.input, names);
                let predicate = input.expr(&f.predicate, f.input.schema(), names);
                input.add_indirect(predicate, Subtype::Filter);
                input
            }
            LogicalPlan::Sort(s) => {
                let mut input = Self::of(&s.input, names);
                for e in &s.expr {
                    let o = input.expr(&e.expr, s.input.schema(), names);
                    input.add_indirect(o, Subtype::Sort);
                }
                input
            }
            LogicalPlan::Join(j) => {
                let left = Self::of(&j.left, names);
                let right = Self::of(&j.right, names);
                let mut keys = Origins::default();
                for (l, r) in &j.on {
                    keys.merge(left.expr(l, j.left.schema(), names));
                    keys.merge(right.expr(r, j.right.schema(), names));
                }
                let Ok(both_schema) = j.left.schema().join(j.right.schema()) else {
                    return Self::everything(plan, names);
                };
                let both: Vec<Origins> = left
                    .columns
                    .iter()
                    .chain(right.columns.iter())
                    .cloned()
                    .collect();
                if let Some(filter) = &j.filter {
                    let frame = Frame {
                        schema: &both_schema,
                        columns: &both,
                    };
                    keys.merge(expr_origins(filter, &frame, names));
                }
                let columns = match j.join_type {
                    JoinType::LeftSemi | JoinType::LeftAnti => left.columns.clone(),
                    JoinType::RightSemi | JoinType::RightAnti => right.columns.clone(),
                    JoinType::LeftMark => {
                        let mut c = left.columns.clone();
                        c.push(Origins::default());
                        c
                    }
                    JoinType::RightMark => {
                        let mut c = right.columns.clone();
                        c.push(Origins::default());
                        c
                    }
                    _ => both,
                };
                let mut out = PlanLineage {
                    columns,
                    indirect: left.indirect.into_iter().chain(right.indirect).collect(),
                };
                out.add_indirect(keys, Subtype::Join);
                out
            }
            LogicalPlan::Aggregate(a) => {
                let input = Self::of(&a.input, names);
                let schema = a.input.schema();
                let mut columns = vec![];
                let mut keys = Origins::default();
                // The output's grouping columns, as DataFusion lists them (duplicates once).
                let Ok(group) =
                    datafusion::logical_expr::utils::grouping_set_to_exprlist(&a.group_expr)
                else {
                    return Self::everything(plan, names);
                };
                for g in &group {
                    let o = input.expr(g, schema, names);
                    keys.merge(o.clone());
                    columns.push(o);
                }
                if matches!(a.group_expr.as_slice(), [Expr::GroupingSet(_)]) {
                    // The internal grouping id.
                    columns.push(Origins::default());
                }
                columns.extend(input.exprs(&a.aggr_expr, schema, names));
                let mut out = PlanLineage {
                    columns,
                    indirect: input.indirect,
                };
                out.add_indirect(keys, Subtype::GroupBy);
                out
            }
            LogicalPlan::Window(w) => {
                let mut input = Self::of(&w.input, names);
                let extra = input.exprs(&w.window_expr, w.input.schema(), names);
                input.columns.extend(extra);
                input
            }
            LogicalPlan::Union(u) => {
                let mut out = PlanLineage::default();
                for input in &u.inputs {
                    let l = Self::of(input, names);
                    if out.columns.is_empty() {
                        out.columns = vec![Origins::default(); l.columns.len()];
                    }
                    for (o, c) in out.columns.iter_mut().zip(l.columns) {
                        o.merge(c);
                    }
                    out.indirect.extend(l.indirect);
                }
                out
            }
            LogicalPlan::RecursiveQuery(r) => {
                let mut out = Self::of(&r.static_term, names);
                let recursive = Self::of(&r.recursive_term, names);
                for (o, c) in out.columns.iter_mut().zip(recursive.columns) {
                    o.merge(c);
                }
                out.indirect.extend(recursive.indirect);
                out
            }
            LogicalPlan::Distinct(datafusion::logical_expr::Distinct::On(d)) => {
                let input = Self::of(&d.input, names);
                let schema = d.input.schema();
                let mut out = PlanLineage {
                    columns: input.exprs(&d.select_expr, schema, names),
                    indirect: input.indirect.clone(),
                };
                let mut keys = Origins::default();
                for e in &d.on_expr {
                    keys.merge(input.expr(e, schema, names));
                }
                out.add_indirect(keys, Subtype::GroupBy);
                for s in d.sort_expr.iter().flatten() {
                    let o = input.expr(&s.expr, schema, names);
                    out.add_indirect(o, Subtype::Sort);
                }
                out
            }
            LogicalPlan::SubqueryAlias(a) if names.view(&a.alias, &a.input).is_some() => {
                let view = names.view(&a.alias, &a.input).unwrap_or_default();
                view_lineage(&view, a.schema.as_ref())
            }
            LogicalPlan::Distinct(datafusion::logical_expr::Distinct::All(input))
            | LogicalPlan::Limit(datafusion::logical_expr::Limit { input, .. })
            | LogicalPlan::Repartition(datafusion::logical_expr::Repartition { input, .. })
            | LogicalPlan::SubqueryAlias(datafusion::logical_expr::SubqueryAlias {
                input, ..
            }) => Self::of(input, names),
            LogicalPlan::Subquery(s) => Self::of(&s.subquery, names),
            LogicalPlan::Unnest(u) => {
                let input = Self::of(&u.input, names);
                let unnested: BTreeSet<usize> = u
                    .list_type_columns
                    .iter()
                    .map(|(i, _)| *i)
                    .chain(u.struct_type_columns.iter().copied())
                    .collect();
                let columns = u
                    .dependency_indices
                    .iter()
                    .map(|&i| {
                        let mut o = Origins::default();
                        if let Some(c) = input.columns.get(i) {
                            if unnested.contains(&i) {
                                o.merge_transformed(c.clone());
                            } else {
                                o.merge(c.clone());
                            }
                        }
                        o
                    })
                    .collect();
                PlanLineage {
                    columns,
                    indirect: input.indirect,
                }
            }
            LogicalPlan::EmptyRelation(_) => PlanLineage {
                columns: vec![Origins::default(); plan.schema().fields().len()],
                indirect: BTreeSet::new(),
            },
            LogicalPlan::Values(v) => {
                let empty = DFSchema::empty();
                let frame = Frame {
                    schema: &empty,
                    columns: &[],
                };
                let mut columns = vec![Origins::default(); v.schema.fields().len()];
                for row in &v.values {
                    for (o, e) in columns.iter_mut().zip(row) {
                        o.merge(expr_origins(e, &frame, names));
                    }
                }
                PlanLineage {
                    columns,
                    indirect: BTreeSet::new(),
                }
            }
            other => Self::everything(other, names),
        }
    }

    fn exprs(&self, exprs: &[Expr], schema: &DFSchema, names: &PlanNames) -> Vec<Origins> {
        exprs.iter().map(|e| self.expr(e, schema, names)).collect()
    }

    fn add_indirect(&mut self, origins: Origins, subtype: Subtype) {
        let mut o = Origins::default();
        o.merge_indirect(origins, subtype);
        self.indirect.extend(o.indirect);
    }
}

fn table_name(name: &TableReference, names: &PlanNames) -> String {
    let r = name.clone().resolve(&names.catalog, &names.schema);
    format!("{}.{}.{}", r.catalog, r.schema, r.table)
}

fn scan_lineage(scan: &TableScan, names: &PlanNames) -> PlanLineage {
    use datafusion::datasource::TableType;
    let table = table_name(&scan.table_name, names);
    let provider = datafusion::catalog::default_table_source::source_as_provider(&scan.source).ok();
    let is_view = scan.source.table_type() == TableType::View;
    let masked: Vec<String> = provider
        .as_ref()
        .and_then(|p| {
            let any: &dyn std::any::Any = p.as_ref();
            any.downcast_ref::<crate::access::GovernedTable>()
                .map(|g| g.masked_columns())
        })
        .unwrap_or_default();
    let source = |column: &str| SourceColumn {
        table: table.clone(),
        is_view,
        column: column.to_string(),
        masked: masked.iter().any(|m| m == column),
    };
    let columns = scan
        .projected_schema
        .fields()
        .iter()
        .map(|f| {
            let mut o = Origins::default();
            o.add_direct(source(f.name()), Subtype::Identity);
            o
        })
        .collect();
    let mut indirect = BTreeSet::new();
    for filter in &scan.filters {
        for c in filter.column_refs() {
            indirect.insert((source(&c.name), Subtype::Filter));
        }
    }
    PlanLineage { columns, indirect }
}

/// A view read: its columns are themselves (what they come from is the view's own lineage).
fn view_lineage(view: &str, schema: &DFSchema) -> PlanLineage {
    PlanLineage {
        columns: schema
            .fields()
            .iter()
            .map(|f| {
                let mut o = Origins::default();
                o.add_direct(
                    SourceColumn {
                        table: view.to_string(),
                        is_view: true,
                        column: f.name().clone(),
                        masked: false,
                    },
                    Subtype::Identity,
                );
                o
            })
            .collect(),
        indirect: BTreeSet::new(),
    }
}

/// The lineage of `expr` over the columns of `frame`.
fn expr_origins(expr: &Expr, frame: &Frame<'_>, names: &PlanNames) -> Origins {
    let mut out = Origins::default();
    match expr {
        Expr::Alias(a) => return expr_origins(&a.expr, frame, names),
        Expr::Column(c) => return frame.column(c),
        // A cast keeps the value.
        Expr::Cast(c) => return expr_origins(&c.expr, frame, names),
        Expr::TryCast(c) => return expr_origins(&c.expr, frame, names),
        Expr::Case(case) => {
            if let Some(operand) = &case.expr {
                out.merge_indirect(expr_origins(operand, frame, names), Subtype::Conditional);
            }
            for (when, then) in &case.when_then_expr {
                out.merge_indirect(expr_origins(when, frame, names), Subtype::Conditional);
                out.merge_transformed(expr_origins(then, frame, names));
            }
            if let Some(e) = &case.else_expr {
                out.merge_transformed(expr_origins(e, frame, names));
            }
        }
        Expr::AggregateFunction(f) => {
            for a in &f.params.args {
                let o = expr_origins(a, frame, names);
                for (s, _) in o.direct {
                    out.add_direct(s, Subtype::Aggregation);
                }
                // `sum(CASE WHEN flag THEN amount END)`: `flag` decides what is summed.
                out.indirect.extend(o.indirect);
            }
            if let Some(filter) = &f.params.filter {
                out.merge_indirect(expr_origins(filter, frame, names), Subtype::Filter);
            }
            for s in &f.params.order_by {
                out.merge_indirect(expr_origins(&s.expr, frame, names), Subtype::Sort);
            }
        }
        Expr::WindowFunction(w) => {
            let subtype = match &w.fun {
                WindowFunctionDefinition::AggregateUDF(_) => Subtype::Aggregation,
                WindowFunctionDefinition::WindowUDF(_) => Subtype::Transformation,
            };
            for a in &w.params.args {
                let o = expr_origins(a, frame, names);
                for (s, _) in o.direct {
                    out.add_direct(s, subtype);
                }
                out.indirect.extend(o.indirect);
            }
            for e in w
                .params
                .partition_by
                .iter()
                .chain(w.params.order_by.iter().map(|s| &s.expr))
                .chain(w.params.filter.as_deref())
            {
                out.merge_indirect(expr_origins(e, frame, names), Subtype::Window);
            }
        }
        Expr::ScalarSubquery(s) => {
            let (value, condition) = subquery_origins(s, frame, names);
            out.merge_transformed(value);
            out.merge_indirect(condition, Subtype::Filter);
        }
        Expr::Exists(e) => {
            let (value, condition) = subquery_origins(&e.subquery, frame, names);
            out.merge_transformed(value);
            out.merge_transformed(condition);
        }
        Expr::InSubquery(i) => {
            out.merge_transformed(expr_origins(&i.expr, frame, names));
            let (value, condition) = subquery_origins(&i.subquery, frame, names);
            out.merge_transformed(value);
            out.merge_transformed(condition);
        }
        other => {
            let _ = other.apply_children(|child| {
                out.merge_transformed(expr_origins(child, frame, names));
                Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
            });
        }
    }
    out
}

/// A subquery's first output column (its value) and what decides it: the subquery's own
/// filters and joins, and the outer columns it is correlated on.
fn subquery_origins(s: &Subquery, frame: &Frame<'_>, names: &PlanNames) -> (Origins, Origins) {
    let lineage = PlanLineage::of(&s.subquery, names);
    let value = lineage.columns.first().cloned().unwrap_or_default();
    let mut condition = Origins::default();
    condition.indirect.extend(lineage.indirect);
    for outer in &s.outer_ref_columns {
        if let Expr::OuterReferenceColumn(_, c) = outer {
            condition.merge(frame.column(c));
        }
    }
    (value, condition)
}

/// The lineage of the subqueries inside `expr` (for plan nodes not known here).
fn collect_subqueries(expr: &Expr, names: &PlanNames, out: &mut Origins) {
    let _ = expr.apply(|e| {
        let subquery = match e {
            Expr::ScalarSubquery(s) => Some(s),
            Expr::Exists(x) => Some(&x.subquery),
            Expr::InSubquery(i) => Some(&i.subquery),
            _ => None,
        };
        if let Some(s) = subquery {
            let l = PlanLineage::of(&s.subquery, names);
            for c in l.columns {
                out.merge_transformed(c);
            }
            out.indirect.extend(l.indirect);
        }
        Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
    });
}

/// The column lineage of a write whose target columns are assigned expressions over a plan's
/// rows, each under an optional condition (MERGE's clauses).
pub(crate) struct Assignments<'a> {
    rows: PlanLineage,
    schema: &'a DFSchema,
    names: &'a PlanNames,
    columns: Vec<(String, Origins)>,
    /// What decides every assignment (MERGE's ON condition).
    common: Origins,
}

impl<'a> Assignments<'a> {
    /// Assignments over the rows of the plans `parts`, side by side (their schemas joined make
    /// `schema`).
    pub(crate) fn new(parts: &[&LogicalPlan], schema: &'a DFSchema, names: &'a PlanNames) -> Self {
        let mut rows = PlanLineage::default();
        for p in parts {
            let l = PlanLineage::of(p, names);
            rows.columns.extend(l.columns);
            rows.indirect.extend(l.indirect);
        }
        Assignments {
            rows,
            schema,
            names,
            columns: vec![],
            common: Origins::default(),
        }
    }

    /// `expr` decides every assignment, in the way `subtype` says.
    pub(crate) fn affect_all(&mut self, expr: &Expr, subtype: Subtype) {
        let o = self.rows.expr(expr, self.schema, self.names);
        self.common.merge_indirect(o, subtype);
    }

    /// `column` is assigned `value` when `condition` holds.
    pub(crate) fn assign(&mut self, column: &str, value: &Expr, condition: Option<&Expr>) {
        let mut o = self.rows.expr(value, self.schema, self.names);
        if let Some(c) = condition {
            o.merge_indirect(
                self.rows.expr(c, self.schema, self.names),
                Subtype::Conditional,
            );
        }
        match self.columns.iter_mut().find(|(n, _)| n == column) {
            Some((_, existing)) => existing.merge(o),
            None => self.columns.push((column.to_string(), o)),
        }
    }

    pub(crate) fn finish(self) -> ColumnLineage {
        let mut all = self.rows.indirect.clone();
        all.extend(self.common.indirect.iter().cloned());
        ColumnLineage {
            columns: self
                .columns
                .into_iter()
                .map(|(name, o)| TargetColumn {
                    name,
                    inputs: o.with(&all).inputs(),
                })
                .collect(),
        }
    }
}
