//! `CALL procedure(args)`: binds the arguments (by position, then by name, then defaults),
//! runs the body as a script in a frame of its own, and assigns OUT / INOUT parameters back to
//! the caller's variables. The body runs in the procedure's catalog and schema (names in it
//! mean what they meant where it was defined, whoever calls), with the caller's privileges
//! (`SQL SECURITY INVOKER`) or its owner's (`DEFINER`); `current_user()` and the audit record
//! stay the caller's. Its statements belong to the caller's run.

use std::sync::Arc;

use datafusion::common::ScalarValue;
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast;
use weir_catalog::{ParameterMode, Privilege, ProcedureEntry, ProcedureParam};

use crate::error::{EngineError, Result};
use crate::exec::script::variables::Variable;
use crate::exec::script::{Flow, ScriptRun};
use crate::identity::Identity;
use crate::output::StatementOutput;
use crate::parser::{Call, CallArgument, VariableName};
use crate::session::Session;
use crate::statement_kind::StatementKind;

pub use crate::exec::script::MAX_CALL_DEPTH;

/// 4274K: an argument names no parameter, names one twice, or comes by position after one by
/// name (Databricks' UNRECOGNIZED_PARAMETER_NAME, DUPLICATE_ROUTINE_PARAMETER_ASSIGNMENT,
/// UNEXPECTED_POSITIONAL_ARGUMENT).
fn argument_error(message: String) -> EngineError {
    EngineError::Coded {
        sqlstate: "4274K",
        message,
    }
}

/// 42605: too many or too few arguments (Databricks' WRONG_NUM_ARGS).
fn wrong_number(procedure: &ProcedureEntry, message: String) -> EngineError {
    EngineError::Coded {
        sqlstate: "42605",
        message: format!("{}: {message}", procedure.full_name()),
    }
}

/// The argument given for each parameter, in the parameters' order (`None`: not given).
pub(crate) fn bind<'a>(
    procedure: &ProcedureEntry,
    args: &'a [CallArgument],
) -> Result<Vec<Option<&'a ast::Expr>>> {
    let params = &procedure.params;
    let mut bound: Vec<Option<&ast::Expr>> = vec![None; params.len()];
    let mut named = false;
    for (i, arg) in args.iter().enumerate() {
        match &arg.name {
            None if named => {
                return Err(argument_error(format!(
                    "argument {} is given by position after arguments given by name",
                    i + 1
                )))
            }
            None => {
                if i >= params.len() {
                    return Err(wrong_number(
                        procedure,
                        format!(
                            "takes {} arguments, {} were given",
                            params.len(),
                            args.len()
                        ),
                    ));
                }
                bound[i] = Some(&arg.value);
            }
            Some(name) => {
                named = true;
                let Some(at) = params.iter().position(|p| &p.name == name) else {
                    return Err(argument_error(format!(
                        "{} has no parameter named {name}",
                        procedure.full_name()
                    )));
                };
                if bound[at].is_some() {
                    return Err(argument_error(format!(
                        "parameter {name} of {} is given twice",
                        procedure.full_name()
                    )));
                }
                bound[at] = Some(&arg.value);
            }
        }
    }
    for (param, arg) in params.iter().zip(&bound) {
        if arg.is_none() && param.default.is_none() && param.mode != ParameterMode::Out {
            return Err(wrong_number(
                procedure,
                format!("parameter {} needs an argument", param.name),
            ));
        }
    }
    Ok(bound)
}

/// The caller's variable an OUT or INOUT argument names.
fn out_target(param: &ProcedureParam, arg: Option<&ast::Expr>) -> Result<Option<VariableName>> {
    if param.mode == ParameterMode::In {
        return Ok(None);
    }
    let target = match arg {
        Some(ast::Expr::Identifier(id)) => VariableName {
            qualifier: None,
            name: id.value.to_lowercase(),
        },
        Some(ast::Expr::CompoundIdentifier(ids)) if ids.len() == 2 => VariableName {
            qualifier: Some(ids[0].value.to_lowercase()),
            name: ids[1].value.to_lowercase(),
        },
        Some(other) => {
            return Err(EngineError::Coded {
                sqlstate: "42601",
                message: format!(
                    "the argument of {} parameter {} must be a variable, not {other}",
                    param.mode.as_str(),
                    param.name
                ),
            })
        }
        // An OUT parameter left out: its value is not kept.
        None => return Ok(None),
    };
    Ok(Some(target))
}

impl Session {
    /// Checks that the user may call `procedure`: USE on its catalog and schema and EXECUTE on
    /// it, or nothing for a built-in procedure every user may call.
    pub(crate) fn require_execute(&self, procedure: &ProcedureEntry) -> Result<()> {
        let builtin =
            crate::builtin_procedures::find(&procedure.catalog, &procedure.schema, &procedure.name);
        if builtin.is_some_and(|b| b.public) {
            return Ok(());
        }
        let access = self.access()?;
        access.require_use(&procedure.catalog, Some(&procedure.schema))?;
        access.require(&procedure.securable(), Privilege::Execute)
    }

    /// Runs a built-in procedure: its arguments bound and evaluated as a stored procedure's
    /// are, then its implementation, by kind.
    async fn call_builtin(
        &mut self,
        builtin: &crate::builtin_procedures::BuiltinProcedure,
        procedure: &ProcedureEntry,
        call: &Call,
    ) -> Result<StatementOutput> {
        use crate::builtin_procedures::Builtin;
        let bound = bind(procedure, &call.args)?;
        let mut args = Vec::with_capacity(bound.len());
        for (param, arg) in procedure.params.iter().zip(&bound) {
            let value = match (arg, &param.default) {
                (Some(expr), _) => self.evaluate(expr).await?,
                (None, Some(text)) => self.evaluate(&crate::parser::parse_expr(text)?).await?,
                (None, None) => ScalarValue::Null,
            };
            let data_type = crate::types::parse_spark_type(&param.data_type)?;
            // A map keeps its own entry names (`map(...)` and `MAP<...>` name them apart).
            let is_map = matches!(
                (&value, &data_type),
                (ScalarValue::Map(_), arrow::datatypes::DataType::Map(..))
            );
            args.push(if is_map {
                value
            } else {
                crate::exec::script::variables::cast_value(value, &data_type, &param.name)?
            });
        }
        match builtin.kind {
            Builtin::CancelRun => {
                self.cancel_run(args.into_iter().next().unwrap_or(ScalarValue::Null))
            }
            Builtin::IngestLoad => {
                let named = crate::ingest::Arguments(
                    builtin.params.iter().map(|p| p.name).zip(args).collect(),
                );
                let request = crate::ingest::LoadRequest::of(&named)?;
                if request.run_async && self.job_run.is_none() {
                    // The background run calls it again, and runs it there.
                    let mut detached = call.clone();
                    detached.detached = true;
                    return self.call_detached(detached).await;
                }
                self.ingest_load(request).await
            }
        }
    }
}

/// What a call set aside to run the body: the caller's planning context.
struct CallerContext {
    ctx: SessionContext,
    identity: Arc<Identity>,
}

impl Session {
    pub(crate) async fn call(&mut self, call: Call) -> Result<StatementOutput> {
        if call.detached {
            return self.call_detached(call).await;
        }
        if self.call_depth >= MAX_CALL_DEPTH {
            return Err(EngineError::StatementTooComplex(format!(
                "procedure calls nest deeper than {MAX_CALL_DEPTH} levels"
            )));
        }
        let procedure = self.visible_procedure(&call.procedure)?;
        self.require_execute(&procedure)?;
        if let Some(builtin) =
            crate::builtin_procedures::find(&procedure.catalog, &procedure.schema, &procedure.name)
        {
            return self.call_builtin(builtin, &procedure, &call).await;
        }
        let body = crate::parser::parse_procedure_body(&procedure.body)?;
        let bound = bind(&procedure, &call.args)?;

        // Arguments are evaluated by the caller, in the caller's context.
        let mut params = Vec::with_capacity(procedure.params.len());
        let mut outs = Vec::new();
        for (param, arg) in procedure.params.iter().zip(&bound) {
            let data_type = crate::types::parse_spark_type(&param.data_type)?;
            let target = out_target(param, *arg)?;
            let value = match (param.mode, arg, &target) {
                (ParameterMode::Out, _, _) => ScalarValue::Null,
                (ParameterMode::InOut, _, Some(var)) => self.with_variables(|v| {
                    v.get(var)
                        .map(|v| v.value.clone())
                        .ok_or_else(|| crate::exec::script::variables::unresolved(var))
                })?,
                (_, Some(expr), _) => self.evaluate(expr).await?,
                (_, None, _) => match &param.default {
                    Some(text) => {
                        let expr = crate::parser::parse_expr(text)?;
                        self.evaluate(&expr).await?
                    }
                    None => ScalarValue::Null,
                },
            };
            let value = crate::exec::script::variables::cast_value(value, &data_type, &param.name)?;
            if let Some(t) = target {
                outs.push((param.name.clone(), t));
            }
            params.push(Variable {
                name: param.name.clone(),
                data_type,
                value,
            });
        }

        let caller = self.enter_procedure(&procedure);
        if self.caller_context.is_none() {
            self.caller_context = Some((caller.ctx.clone(), caller.identity.clone()));
        }
        let depth = self.variables_depth();
        self.with_variables(|v| v.push_frame(Some(procedure.name.clone()), true));
        for p in params {
            self.with_variables(|v| v.declare(p, true))?;
        }
        let outer_run = self.run.clone();
        if self.run.is_none() {
            self.run = self.statement.as_ref().map(|s| crate::observe::RunInfo {
                id: s.id,
                entity_type: "PROCEDURE",
                entity_id: procedure.full_name(),
            });
        }
        self.call_depth += 1;
        let mut run = ScriptRun::of_procedure(procedure.full_name(), body.leaves);
        let flow = self.run_compound(&body, &mut run).await;
        self.call_depth -= 1;
        self.run = outer_run;
        let values: Vec<(VariableName, ScalarValue)> = outs
            .into_iter()
            .filter_map(|(param, target)| {
                let value = self.with_variables(|v| {
                    v.get(&VariableName {
                        qualifier: None,
                        name: param,
                    })
                    .map(|v| v.value.clone())
                })?;
                Some((target, value))
            })
            .collect();
        self.truncate_variables(depth);
        self.leave_procedure(caller);
        if self.call_depth == 0 {
            self.caller_context = None;
        }
        match flow? {
            Flow::Next => {}
            Flow::Leave(l) | Flow::Iterate(l) => {
                return Err(EngineError::Internal(format!(
                    "label {l} left its procedure"
                )))
            }
        }
        for (target, value) in values {
            self.with_variables(|v| v.assign(&target, value))?;
        }
        run.into_output(StatementKind::Call)
    }

    /// Plans the body's statements in the procedure's catalog and schema, with the rights it
    /// runs with; returns the caller's context.
    fn enter_procedure(&mut self, procedure: &ProcedureEntry) -> CallerContext {
        let rights = if procedure.definer {
            procedure.owner.clone()
        } else {
            self.identity.rights.clone()
        };
        let identity = Identity::new(&self.identity.user, &rights);
        identity.set_execution(self.identity.execution());
        let state = crate::session::new_session_state(
            &self.state,
            &procedure.catalog,
            &procedure.schema,
            identity.clone(),
            &self.variables,
            // A procedure's body is stored SQL: Databricks SQL.
            crate::sql_dialect::SqlDialect::Databricks,
        );
        CallerContext {
            ctx: std::mem::replace(&mut self.ctx, SessionContext::new_with_state(state)),
            identity: std::mem::replace(&mut self.identity, identity),
        }
    }

    fn leave_procedure(&mut self, caller: CallerContext) {
        self.ctx = caller.ctx;
        self.identity = caller.identity;
    }
}

/// 0A000: a result set that cannot be described before the statement runs.
pub(crate) fn dynamic_rows_not_preparable() -> EngineError {
    EngineError::not_supported(
        "this CALL or script may return a result set, which is only known when it runs: send it \
         as a plain query (PostgreSQL's simple query protocol, as psql does; a Flight SQL \
         statement query, as ADBC's execute does), not as a prepared statement",
    )
}

impl Session {
    /// Whether `statement` (a CALL or a script) may return a result set: one that a prepared
    /// statement could not describe before it runs. Procedures it calls are looked into.
    pub(crate) fn returns_dynamic_rows(
        &self,
        statement: &crate::parser::Statement,
    ) -> Result<bool> {
        use crate::parser::Statement;
        let mut seen = std::collections::HashSet::new();
        match statement {
            Statement::Call(c) => {
                if self.call_schema(c).is_some() {
                    // Its result is known before it runs.
                    return Ok(false);
                }
                self.call_returns_rows(c, &mut seen)
            }
            Statement::Script(s) => self.script_returns_rows(s, &mut seen),
            _ => Ok(false),
        }
    }

    /// Whether a call made by a body may return rows; `seen`: the procedures looked into
    /// already (each once: what one returns is known after its first look).
    fn call_returns_rows(
        &self,
        call: &Call,
        seen: &mut std::collections::HashSet<String>,
    ) -> Result<bool> {
        if call.detached || self.call_schema(call).is_some() {
            return Ok(true);
        }
        let procedure = self.visible_procedure(&call.procedure)?;
        if !seen.insert(procedure.full_name()) {
            return Ok(false);
        }
        let body = crate::parser::parse_procedure_body(&procedure.body)?;
        self.compound_returns_rows(&body, seen)
    }

    fn compound_returns_rows(
        &self,
        compound: &crate::parser::Compound,
        seen: &mut std::collections::HashSet<String>,
    ) -> Result<bool> {
        if self.statements_return_rows(&compound.statements, seen)? {
            return Ok(true);
        }
        for h in &compound.handlers {
            if self.script_returns_rows(&h.body, seen)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn statements_return_rows(
        &self,
        statements: &[crate::parser::ScriptStatement],
        seen: &mut std::collections::HashSet<String>,
    ) -> Result<bool> {
        for s in statements {
            if self.script_returns_rows(s, seen)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn script_returns_rows(
        &self,
        s: &crate::parser::ScriptStatement,
        seen: &mut std::collections::HashSet<String>,
    ) -> Result<bool> {
        use crate::parser::{ScriptStatement as S, Statement};
        match s {
            S::Leaf(parsed, _) => match &parsed.statement {
                Statement::Call(c) => self.call_returns_rows(c, seen),
                other => Ok(other.kind().is_read()),
            },
            S::Compound(c) => self.compound_returns_rows(c, seen),
            S::If {
                branches,
                otherwise,
            }
            | S::Case {
                branches,
                otherwise,
                ..
            } => {
                for body in branches.iter().map(|(_, b)| b).chain(otherwise.iter()) {
                    if self.statements_return_rows(body, seen)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            S::While { body, .. }
            | S::Repeat { body, .. }
            | S::Loop { body, .. }
            | S::For { body, .. } => self.statements_return_rows(body, seen),
            S::ExecuteImmediate(e) => Ok(e.into.is_empty()),
            S::Declare(_) | S::Set(_) | S::Leave(_) | S::Iterate(_) | S::Signal(_) => Ok(false),
        }
    }
}
