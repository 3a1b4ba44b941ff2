//! Variables: a session's (`DECLARE VARIABLE`), a script's locals (one frame per block, loop
//! row or routine call) and a procedure's parameters. Statements name them as DataFusion's
//! user variables (`@name`, `@label.name`), which [`VariableProvider`] answers; a bare name
//! becomes such a reference only when the planner found no column of that name (columns win,
//! as in Databricks), see [`reference_variable`].

use std::sync::{Arc, RwLock};

use arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::logical_expr::var_provider::VarProvider;
use datafusion::sql::sqlparser::ast;

use crate::error::{EngineError, Result};
use crate::parser::{Statement, VariableName};

/// The qualifier of a session variable (`session.x`, `system.session.x`).
pub(crate) const SESSION_QUALIFIER: &str = "session";

#[derive(Debug, Clone)]
pub(crate) struct Variable {
    pub name: String,
    pub data_type: DataType,
    pub value: ScalarValue,
}

#[derive(Debug, Default)]
struct Frame {
    label: Option<String>,
    variables: Vec<Variable>,
    /// A routine's outermost frame: the frames below it (its caller's) are not visible.
    routine: bool,
}

/// The variables in scope.
#[derive(Debug, Default)]
pub(crate) struct Variables {
    session: Vec<Variable>,
    frames: Vec<Frame>,
}

/// Where a variable lives, to assign it.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Session(usize),
    Frame(usize, usize),
}

impl Variables {
    /// Whether any variable is defined: only then can a statement name one.
    pub fn any(&self) -> bool {
        !self.session.is_empty() || self.frames.iter().any(|f| !f.variables.is_empty())
    }

    fn visible_frames(&self) -> impl Iterator<Item = (usize, &Frame)> {
        let start = self.frames.iter().rposition(|f| f.routine).unwrap_or(0);
        self.frames.iter().enumerate().skip(start).rev()
    }

    fn slot(&self, name: &VariableName) -> Option<Slot> {
        let find = |vars: &[Variable]| vars.iter().position(|v| v.name == name.name);
        match &name.qualifier {
            None => self
                .visible_frames()
                .find_map(|(i, f)| find(&f.variables).map(|j| Slot::Frame(i, j)))
                .or_else(|| find(&self.session).map(Slot::Session)),
            Some(q) => self
                .visible_frames()
                .find(|(_, f)| f.label.as_deref() == Some(q))
                .and_then(|(i, f)| find(&f.variables).map(|j| Slot::Frame(i, j)))
                .or_else(|| {
                    (q == SESSION_QUALIFIER)
                        .then(|| find(&self.session).map(Slot::Session))
                        .flatten()
                }),
        }
    }

    pub fn get(&self, name: &VariableName) -> Option<&Variable> {
        Some(match self.slot(name)? {
            Slot::Session(i) => &self.session[i],
            Slot::Frame(i, j) => &self.frames[i].variables[j],
        })
    }

    /// Assigns a variable, cast to its type.
    pub fn assign(&mut self, name: &VariableName, value: ScalarValue) -> Result<()> {
        let slot = self.slot(name).ok_or_else(|| unresolved(name))?;
        let var = match slot {
            Slot::Session(i) => &mut self.session[i],
            Slot::Frame(i, j) => &mut self.frames[i].variables[j],
        };
        var.value = cast_value(value, &var.data_type, &var.name)?;
        Ok(())
    }

    /// Declares a variable in the innermost frame, or in the session outside of scripts.
    /// `or_replace`: a session variable of that name is replaced instead of refused.
    pub fn declare(&mut self, variable: Variable, or_replace: bool) -> Result<()> {
        let vars = match self.frames.last_mut() {
            Some(frame) => &mut frame.variables,
            None => &mut self.session,
        };
        match vars.iter().position(|v| v.name == variable.name) {
            Some(i) if or_replace => vars[i] = variable,
            Some(_) => {
                return Err(EngineError::Duplicate {
                    sqlstate: "42723",
                    message: format!(
                        "variable {} is already declared in this scope",
                        variable.name
                    ),
                })
            }
            None => vars.push(variable),
        }
        Ok(())
    }

    /// Drops a session variable; whether it existed.
    pub fn drop_session(&mut self, name: &str) -> bool {
        let before = self.session.len();
        self.session.retain(|v| v.name != name);
        self.session.len() != before
    }

    pub fn push_frame(&mut self, label: Option<String>, routine: bool) {
        self.frames.push(Frame {
            label,
            variables: Vec::new(),
            routine,
        });
    }

    /// How many frames are open, to restore after an error unwound some.
    pub fn depth(&self) -> usize {
        self.frames.len()
    }

    pub fn truncate(&mut self, depth: usize) {
        self.frames.truncate(depth);
    }
}

/// The variables a session's statements see, shared with its planner.
pub(crate) type SharedVariables = Arc<RwLock<Variables>>;

pub(crate) fn unresolved(name: &VariableName) -> EngineError {
    EngineError::Coded {
        sqlstate: "42883",
        message: format!("variable {name} does not exist"),
    }
}

/// A value cast to a variable's type (22000 if it cannot be).
pub(crate) fn cast_value(value: ScalarValue, to: &DataType, name: &str) -> Result<ScalarValue> {
    if value.data_type() == *to {
        return Ok(value);
    }
    value.cast_to(to).map_err(|e| {
        EngineError::DataException(format!(
            "cannot assign a value of type {} to variable {name} of type {}: {e}",
            crate::types::spark_type_name(&value.data_type()),
            crate::types::spark_type_name(to)
        ))
    })
}

/// DataFusion's names of a variable reference (`@name`, `@label.name`) as Weir names it.
fn variable_of(names: &[String]) -> Option<VariableName> {
    let first = names.first()?.strip_prefix('@')?;
    match names {
        [_] => Some(VariableName {
            qualifier: None,
            name: first.to_string(),
        }),
        [_, name] => Some(VariableName {
            qualifier: Some(first.to_string()),
            name: name.clone(),
        }),
        _ => None,
    }
}

/// Answers DataFusion's user variables (`@...`) from a session's variables.
#[derive(Debug)]
pub(crate) struct VariableProvider(pub SharedVariables);

impl VarProvider for VariableProvider {
    fn get_value(&self, names: Vec<String>) -> datafusion::error::Result<ScalarValue> {
        let vars = self.0.read().unwrap_or_else(|p| p.into_inner());
        variable_of(&names)
            .and_then(|n| vars.get(&n).map(|v| v.value.clone()))
            .ok_or_else(|| {
                datafusion::error::DataFusionError::External(Box::new(unresolved(&VariableName {
                    qualifier: None,
                    name: names.join("."),
                })))
            })
    }

    fn get_type(&self, names: &[String]) -> Option<DataType> {
        let vars = self.0.read().unwrap_or_else(|p| p.into_inner());
        variable_of(names).and_then(|n| vars.get(&n).map(|v| v.data_type.clone()))
    }
}

impl VariableProvider {
    /// `expr` with every variable reference replaced by the variable's value: for expressions
    /// handed to delta-rs, which writes them into commits as text and knows no variables.
    pub(crate) fn inline(
        &self,
        expr: datafusion::logical_expr::Expr,
    ) -> datafusion::error::Result<datafusion::logical_expr::Expr> {
        use datafusion::common::tree_node::{Transformed, TreeNode};
        use datafusion::logical_expr::Expr;
        expr.transform(|e| match e {
            Expr::ScalarVariable(_, names) => Ok(Transformed::yes(Expr::Literal(
                self.get_value(names)?,
                None,
            ))),
            other => Ok(Transformed::no(other)),
        })
        .map(|t| t.data)
    }

    /// `plan` with every variable reference replaced by the variable's value.
    pub(crate) fn inline_plan(
        &self,
        plan: datafusion::logical_expr::LogicalPlan,
    ) -> datafusion::error::Result<datafusion::logical_expr::LogicalPlan> {
        plan.transform_up_with_subqueries(|node| {
            node.map_expressions(|e| {
                let inlined = self.inline(e.clone())?;
                Ok(if inlined == e {
                    datafusion::common::tree_node::Transformed::no(e)
                } else {
                    datafusion::common::tree_node::Transformed::yes(inlined)
                })
            })
        })
        .map(|t| t.data)
    }
}

/// Makes every bare `name` (or `qualifier.name`) in `statement` a reference to the variable:
/// the planner found no column of that name. Returns whether anything was rewritten.
pub(crate) fn reference_variable(statement: &mut Statement, var: &VariableName) -> bool {
    let mut rewriter = Rewriter {
        var,
        rewritten: false,
    };
    statement.visit_sql(&mut rewriter);
    rewriter.rewritten
}

struct Rewriter<'a> {
    var: &'a VariableName,
    rewritten: bool,
}

impl Rewriter<'_> {
    /// Whether `expr` names the variable.
    fn names(&self, expr: &ast::Expr) -> bool {
        let same = |id: &ast::Ident, name: &str| id.value.eq_ignore_ascii_case(name);
        match (expr, &self.var.qualifier) {
            (ast::Expr::Identifier(id), None) => same(id, &self.var.name),
            (ast::Expr::CompoundIdentifier(ids), Some(q)) => {
                ids.len() == 2 && same(&ids[0], q) && same(&ids[1], &self.var.name)
            }
            _ => false,
        }
    }

    /// A selected variable keeps its name as the column's (`SELECT x` is column `x`).
    fn alias_selected(&self, body: &mut ast::SetExpr) {
        match body {
            ast::SetExpr::Select(select) => {
                for item in select.projection.iter_mut() {
                    if let ast::SelectItem::UnnamedExpr(e) = item {
                        if self.names(e) {
                            *item = ast::SelectItem::ExprWithAlias {
                                expr: e.clone(),
                                alias: ast::Ident::new(self.var.name.clone()),
                            };
                        }
                    }
                }
            }
            ast::SetExpr::SetOperation { left, right, .. } => {
                self.alias_selected(left);
                self.alias_selected(right);
            }
            ast::SetExpr::Query(q) => self.alias_selected(&mut q.body),
            _ => {}
        }
    }
}

impl ast::VisitorMut for Rewriter<'_> {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut ast::Query) -> std::ops::ControlFlow<()> {
        self.alias_selected(&mut query.body);
        std::ops::ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut ast::Expr) -> std::ops::ControlFlow<()> {
        let same = |id: &ast::Ident, name: &str| id.value.eq_ignore_ascii_case(name);
        let replaced = match (expr as &ast::Expr, &self.var.qualifier) {
            (ast::Expr::Identifier(id), None) if same(id, &self.var.name) => Some(
                ast::Expr::Identifier(ast::Ident::new(format!("@{}", self.var.name))),
            ),
            (ast::Expr::CompoundIdentifier(ids), Some(q))
                if ids.len() == 2 && same(&ids[0], q) && same(&ids[1], &self.var.name) =>
            {
                Some(ast::Expr::CompoundIdentifier(vec![
                    ast::Ident::new(format!("@{q}")),
                    ast::Ident::new(self.var.name.clone()),
                ]))
            }
            (ast::Expr::CompoundIdentifier(ids), Some(q))
                if q == SESSION_QUALIFIER
                    && ids.len() == 3
                    && same(&ids[0], "system")
                    && same(&ids[1], SESSION_QUALIFIER)
                    && same(&ids[2], &self.var.name) =>
            {
                Some(ast::Expr::CompoundIdentifier(vec![
                    ast::Ident::new(format!("@{q}")),
                    ast::Ident::new(self.var.name.clone()),
                ]))
            }
            _ => None,
        };
        if let Some(r) = replaced {
            *expr = r;
            self.rewritten = true;
        }
        std::ops::ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(name: &str, value: i64) -> Variable {
        Variable {
            name: name.into(),
            data_type: DataType::Int64,
            value: ScalarValue::Int64(Some(value)),
        }
    }

    fn name(q: Option<&str>, n: &str) -> VariableName {
        VariableName {
            qualifier: q.map(String::from),
            name: n.into(),
        }
    }

    #[test]
    fn inner_frames_shadow_and_routines_hide_their_callers() {
        let mut v = Variables::default();
        v.declare(var("x", 1), false).expect("session x");
        v.push_frame(Some("outer".into()), false);
        v.declare(var("x", 2), false).expect("local x");
        assert_eq!(
            v.get(&name(None, "x")).map(|v| v.value.clone()),
            Some(ScalarValue::Int64(Some(2)))
        );
        assert_eq!(
            v.get(&name(Some("session"), "x")).map(|v| v.value.clone()),
            Some(ScalarValue::Int64(Some(1)))
        );
        v.push_frame(None, true);
        // The caller's local is hidden inside the routine; the session's is not.
        assert_eq!(
            v.get(&name(None, "x")).map(|v| v.value.clone()),
            Some(ScalarValue::Int64(Some(1)))
        );
        assert!(v.get(&name(Some("outer"), "x")).is_none());
        v.truncate(1);
        v.assign(&name(Some("outer"), "x"), ScalarValue::Int32(Some(7)))
            .expect("assigned, cast to BIGINT");
        assert_eq!(
            v.get(&name(None, "x")).map(|v| v.value.clone()),
            Some(ScalarValue::Int64(Some(7)))
        );
        assert!(v.declare(var("x", 3), false).is_err());
    }
}
