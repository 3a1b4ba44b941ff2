//! SQL scripting: runs `BEGIN ... END` blocks, session variables' DECLARE and SET, and
//! EXECUTE IMMEDIATE. Control flow is interpreted here; every leaf statement of a script is
//! begun, executed by [`Session::execute_statement`] and ended exactly as a client's statement
//! would be (governance, Delta commits, audit with the run's id), so a script has no second
//! execution path. Conditions and values are evaluated as `SELECT expr` on the same path.
//!
//! A script returns the last result set one of its statements produced (earlier ones are
//! read and dropped); without one, its command tag. It checks for cancellation before every
//! statement and every loop iteration.

pub(crate) mod variables;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::common::ScalarValue;
use datafusion::sql::sqlparser::ast;
use futures::future::BoxFuture;
use futures::FutureExt;

use crate::error::{EngineError, Result};
use crate::output::StatementOutput;
use crate::parser::{
    Compound, ConditionValue, DeclareVariable, ExecuteImmediate, HandlerKind, ParsedStatement,
    ScriptStatement, SetValue, SetVariables, Statement, VariableName,
};
use crate::session::Session;
use crate::statement_kind::StatementKind;
use variables::Variable;

/// How a statement of a script ended, when it did not fail.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Flow {
    Next,
    /// `LEAVE label`: unwinds to the block or loop labelled so, which ends.
    Leave(String),
    /// `ITERATE label`: unwinds to the loop labelled so, which goes on.
    Iterate(String),
}

/// How deep procedure calls and EXECUTE IMMEDIATE may nest (deeper: 54001).
pub const MAX_CALL_DEPTH: usize = 64;

/// What a running script keeps: the last result set, and the conditions declared by the
/// blocks it is in.
#[derive(Default)]
pub(crate) struct ScriptRun {
    pub last: Option<(SchemaRef, Vec<RecordBatch>)>,
    /// The procedure whose body runs, and how many statements the body holds: after each
    /// statement the client is told how far the call got.
    pub progress: Option<(String, usize)>,
    conditions: Vec<(String, String)>,
    /// The handlers of the blocks the running statement is in, outermost first.
    handlers: Vec<Vec<crate::parser::Handler>>,
}

/// What a statement of a script produced.
pub(crate) struct Nested {
    /// The result set of a statement that reads.
    pub rows: Option<(SchemaRef, Vec<RecordBatch>)>,
    /// The rows a statement that writes data wrote.
    pub written: u64,
}

impl ScriptRun {
    /// The run of a procedure's body of `statements` statements.
    pub fn of_procedure(procedure: String, statements: usize) -> Self {
        ScriptRun {
            progress: Some((procedure, statements)),
            ..ScriptRun::default()
        }
    }

    /// The run's last result set, or `kind`'s command tag.
    pub fn into_output(self, kind: StatementKind) -> Result<StatementOutput> {
        match self.last {
            Some((schema, batches)) => Ok(StatementOutput::Rows(Box::pin(
                datafusion::physical_plan::memory::MemoryStream::try_new(batches, schema, None)?,
            ))),
            None => Ok(StatementOutput::command(kind)),
        }
    }
}

impl Session {
    /// Executes a scripting statement a client sent: a block, or a session variable's
    /// DECLARE / SET, or EXECUTE IMMEDIATE.
    pub(crate) async fn execute_script(
        &mut self,
        statement: ScriptStatement,
    ) -> Result<StatementOutput> {
        let kind = Statement::Script(Box::new(statement.clone())).kind();
        let mut run = ScriptRun::default();
        let depth = self.variables_depth();
        // The statements of a block are recorded as run by it.
        let outer_run = self.run.clone();
        if matches!(statement, ScriptStatement::Compound(_)) && self.run.is_none() {
            self.run = self.statement.as_ref().map(|s| crate::observe::RunInfo {
                id: s.id,
                entity_type: "SCRIPT",
                entity_id: s.id.to_string(),
            });
        }
        let flow = self.run(&statement, &mut run).await;
        self.run = outer_run;
        self.truncate_variables(depth);
        match flow? {
            Flow::Next => run.into_output(kind),
            // The parser refuses labels that are not in scope.
            Flow::Leave(l) | Flow::Iterate(l) => {
                Err(EngineError::Internal(format!("label {l} left its block")))
            }
        }
    }

    /// Runs one statement of a script.
    pub(crate) fn run<'a>(
        &'a mut self,
        statement: &'a ScriptStatement,
        run: &'a mut ScriptRun,
    ) -> BoxFuture<'a, Result<Flow>> {
        async move {
            self.check_interrupted()?;
            // A loop of statements that never wait must still let others (and a cancel) in.
            tokio::task::yield_now().await;
            match statement {
                ScriptStatement::Leaf(parsed, position) => {
                    self.run_leaf(parsed, *position, run).await?;
                    Ok(Flow::Next)
                }
                ScriptStatement::Compound(c) => self.run_compound(c, run).await,
                ScriptStatement::Declare(d) => {
                    self.declare(d).await?;
                    Ok(Flow::Next)
                }
                ScriptStatement::Set(s) => {
                    self.set_variables(s).await?;
                    Ok(Flow::Next)
                }
                ScriptStatement::If {
                    branches,
                    otherwise,
                } => {
                    for (condition, body) in branches {
                        if self.condition(condition).await? {
                            return self.run_list(body, run).await;
                        }
                    }
                    match otherwise {
                        Some(body) => self.run_list(body, run).await,
                        None => Ok(Flow::Next),
                    }
                }
                ScriptStatement::Case {
                    operand,
                    branches,
                    otherwise,
                } => {
                    // The operand is evaluated once, then compared as SQL compares it
                    // (`operand = value`, with SQL's coercions) from a frame of its own.
                    let depth = self.variables_depth();
                    if let Some(e) = operand {
                        let value = self.evaluate(e).await?;
                        self.with_variables(|v| {
                            v.push_frame(Some(CASE_FRAME.into()), false);
                            v.declare(
                                Variable {
                                    name: "operand".into(),
                                    data_type: value.data_type(),
                                    value,
                                },
                                true,
                            )
                        })?;
                    }
                    let mut taken = None;
                    for (when, body) in branches {
                        let test = match operand {
                            Some(_) => ast::Expr::BinaryOp {
                                left: Box::new(ast::Expr::CompoundIdentifier(vec![
                                    ast::Ident::new(format!("@{CASE_FRAME}")),
                                    ast::Ident::new("operand"),
                                ])),
                                op: ast::BinaryOperator::Eq,
                                right: Box::new(ast::Expr::Nested(Box::new(when.clone()))),
                            },
                            None => when.clone(),
                        };
                        match self.condition(&test).await {
                            Ok(true) => {
                                taken = Some(body);
                                break;
                            }
                            Ok(false) => {}
                            Err(e) => {
                                self.truncate_variables(depth);
                                return Err(e);
                            }
                        }
                    }
                    self.truncate_variables(depth);
                    if let Some(body) = taken {
                        return self.run_list(body, run).await;
                    }
                    match otherwise {
                        Some(body) => self.run_list(body, run).await,
                        // Databricks: a CASE statement without a matching branch is an error.
                        None => Err(EngineError::Coded {
                            sqlstate: "20000",
                            message: "CASE statement: no WHEN branch matched and there is no ELSE"
                                .into(),
                        }),
                    }
                }
                ScriptStatement::While {
                    label,
                    condition,
                    body,
                } => {
                    while self.condition(condition).await? {
                        match self.run_list(body, run).await? {
                            Flow::Next => {}
                            flow => match loop_flow(flow, label) {
                                LoopStep::Continue => continue,
                                LoopStep::Break => break,
                                LoopStep::Propagate(f) => return Ok(f),
                            },
                        }
                    }
                    Ok(Flow::Next)
                }
                ScriptStatement::Repeat { label, body, until } => {
                    loop {
                        match self.run_list(body, run).await? {
                            Flow::Next => {}
                            flow => match loop_flow(flow, label) {
                                LoopStep::Continue => {}
                                LoopStep::Break => break,
                                LoopStep::Propagate(f) => return Ok(f),
                            },
                        }
                        if self.condition(until).await? {
                            break;
                        }
                    }
                    Ok(Flow::Next)
                }
                ScriptStatement::Loop { label, body } => loop {
                    match self.run_list(body, run).await? {
                        Flow::Next => {}
                        flow => match loop_flow(flow, label) {
                            LoopStep::Continue => {}
                            LoopStep::Break => return Ok(Flow::Next),
                            LoopStep::Propagate(f) => return Ok(f),
                        },
                    }
                    self.check_interrupted()?;
                    tokio::task::yield_now().await;
                },
                ScriptStatement::For {
                    label,
                    row,
                    query,
                    text,
                    body,
                } => self.run_for(label, row, query, text, body, run).await,
                ScriptStatement::Leave(l) => Ok(Flow::Leave(l.clone())),
                ScriptStatement::Iterate(l) => Ok(Flow::Iterate(l.clone())),
                ScriptStatement::Signal(signal) => {
                    let sqlstate = match &signal.condition {
                        ConditionValue::SqlState(s) => s.clone(),
                        ConditionValue::Named(name) => run
                            .conditions
                            .iter()
                            .rev()
                            .find(|(n, _)| n == name)
                            .map(|(_, s)| s.clone())
                            .ok_or_else(|| EngineError::Coded {
                                sqlstate: "42734",
                                message: format!("condition {name} is not declared"),
                            })?,
                        _ => "P0001".to_string(),
                    };
                    let message = match &signal.message {
                        Some(e) => match self.evaluate(e).await? {
                            v if v.is_null() => String::new(),
                            ScalarValue::Utf8(Some(s))
                            | ScalarValue::LargeUtf8(Some(s))
                            | ScalarValue::Utf8View(Some(s)) => s,
                            other => other.to_string(),
                        },
                        None => format!("unhandled user-defined exception (SQLSTATE {sqlstate})"),
                    };
                    Err(EngineError::Raised { sqlstate, message })
                }
                ScriptStatement::ExecuteImmediate(e) => {
                    self.execute_immediate(e, run).await?;
                    Ok(Flow::Next)
                }
            }
        }
        .boxed()
    }

    async fn run_list(
        &mut self,
        statements: &[ScriptStatement],
        run: &mut ScriptRun,
    ) -> Result<Flow> {
        for s in statements {
            match self.run_step(s, run).await? {
                Flow::Next => {}
                other => return Ok(other),
            }
        }
        Ok(Flow::Next)
    }

    /// Runs one statement of a list of statements. An error that a CONTINUE handler of an
    /// enclosing block catches (the innermost block with a handler for it decides) is handled
    /// here, and the list goes on with its next statement; any other error goes up to the
    /// block whose EXIT handler catches it, or out of the script.
    async fn run_step(&mut self, statement: &ScriptStatement, run: &mut ScriptRun) -> Result<Flow> {
        let depth = self.variables_depth();
        let error = match self.run(statement, run).await {
            Err(e) => e,
            ok => return ok,
        };
        let Some((level, handler)) = continue_handler(run, &error) else {
            return Err(error);
        };
        self.run_handler(level, &handler, depth, run).await?;
        Ok(Flow::Next)
    }

    /// Runs the body of `handler`, declared by the block at `level` of the handler stack, in a
    /// frame of its own above `depth`. Its own errors are handled by the blocks outside that
    /// block only.
    async fn run_handler(
        &mut self,
        level: usize,
        handler: &crate::parser::Handler,
        depth: usize,
        run: &mut ScriptRun,
    ) -> Result<()> {
        self.truncate_variables(depth);
        self.with_variables(|v| v.push_frame(None, false));
        let inner = run.handlers.split_off(level);
        let handled = self.run(&handler.body, run).await;
        run.handlers.extend(inner);
        self.truncate_variables(depth);
        handled.map(|_| ())
    }

    pub(crate) async fn run_compound(
        &mut self,
        compound: &Compound,
        run: &mut ScriptRun,
    ) -> Result<Flow> {
        let depth = self.variables_depth();
        self.with_variables(|v| v.push_frame(compound.label.clone(), false));
        let conditions = run.conditions.len();
        run.conditions.extend(compound.conditions.iter().cloned());
        let level = run.handlers.len();
        run.handlers.push(compound.handlers.clone());
        let mut outcome = Ok(Flow::Next);
        for statement in &compound.statements {
            match self.run_step(statement, run).await {
                Ok(Flow::Next) => {}
                Ok(Flow::Leave(l)) if compound.label.as_deref() == Some(l.as_str()) => break,
                Ok(flow) => {
                    outcome = Ok(flow);
                    break;
                }
                Err(error) => {
                    // Not a CONTINUE handler's (run_step handled those): this block's EXIT
                    // handler, if it has one for the error.
                    let exit = best_handler(&compound.handlers, &run.conditions, &error)
                        .filter(|h| h.kind == HandlerKind::Exit)
                        .cloned();
                    outcome = match exit {
                        Some(handler) => self
                            .run_handler(level, &handler, depth + 1, run)
                            .await
                            .map(|_| Flow::Next),
                        None => Err(error),
                    };
                    break;
                }
            }
        }
        run.handlers.truncate(level);
        run.conditions.truncate(conditions);
        self.truncate_variables(depth);
        outcome
    }

    async fn run_for(
        &mut self,
        label: &Option<String>,
        row: &Option<String>,
        query: &ast::Query,
        text: &str,
        body: &[ScriptStatement],
        run: &mut ScriptRun,
    ) -> Result<Flow> {
        // The query is a statement of the script: recorded, and read to its end first.
        let parsed = ParsedStatement {
            statement: Statement::Standard(Box::new(ast::Statement::Query(Box::new(
                query.clone(),
            )))),
            text: text.to_string(),
        };
        let Some((schema, batches)) = self.run_nested(&parsed).await?.rows else {
            return Ok(Flow::Next);
        };
        let depth = self.variables_depth();
        let frame_label = row.clone().or_else(|| label.clone());
        let mut outcome = Ok(Flow::Next);
        'rows: for batch in &batches {
            for r in 0..batch.num_rows() {
                self.truncate_variables(depth);
                self.with_variables(|v| v.push_frame(frame_label.clone(), false));
                for (i, field) in schema.fields().iter().enumerate() {
                    let value = ScalarValue::try_from_array(batch.column(i), r)?;
                    let variable = Variable {
                        name: field.name().to_lowercase(),
                        data_type: field.data_type().clone(),
                        value,
                    };
                    // A repeated column name: the first one is the variable.
                    let _ = self.with_variables(|v| v.declare(variable, false));
                }
                match self.run_list(body, run).await {
                    Ok(Flow::Next) => {}
                    Ok(flow) => match loop_flow(flow, label) {
                        LoopStep::Continue => {}
                        LoopStep::Break => break 'rows,
                        LoopStep::Propagate(f) => {
                            outcome = Ok(f);
                            break 'rows;
                        }
                    },
                    Err(e) => {
                        outcome = Err(e);
                        break 'rows;
                    }
                }
            }
        }
        self.truncate_variables(depth);
        outcome
    }

    /// Runs a leaf statement of a script as a statement of its own; keeps its result set.
    /// In a procedure's body, tells the client how far the call got.
    async fn run_leaf(
        &mut self,
        parsed: &ParsedStatement,
        position: usize,
        run: &mut ScriptRun,
    ) -> Result<()> {
        let nested = self.run_nested(parsed).await?;
        if let Some((procedure, total)) = &run.progress {
            let kind = parsed.statement.kind();
            let written = match nested.written {
                _ if !kind.writes_data() => String::new(),
                1 => ", 1 row written".to_string(),
                n => format!(", {n} rows written"),
            };
            self.notice(format!(
                "{procedure}: statement {position} of {total} done ({}{written})",
                kind.name()
            ));
        }
        if let Some(rows) = nested.rows {
            run.last = Some(rows);
        }
        Ok(())
    }

    /// Begins, executes and ends `parsed` as a statement of the running script (the statement
    /// running now is set aside meanwhile). A result set is read to its end: the statement
    /// ends there, and a script's statements run in order. Returns the result set of a
    /// statement that reads (a query, SHOW, ...).
    pub(crate) async fn run_nested(&mut self, parsed: &ParsedStatement) -> Result<Nested> {
        let kind = parsed.statement.kind();
        let outer = self.set_aside_statement();
        let record = crate::exec::statement_record(&parsed.text, &parsed.statement);
        self.begin_statement(record, Some(kind));
        let result = self.execute_statement(parsed.statement.clone(), None).await;
        let result = self.end_statement(kind, result);
        let written = match &result {
            Ok(output) if kind.writes_data() => output.affected_rows(),
            _ => 0,
        };
        if let (Some(run), Ok(_)) = (self.job_run, &result) {
            if let Err(e) = self
                .state
                .metastore
                .job_run_progress(&run.to_string(), written as i64)
            {
                tracing::warn!("recording the progress of run {run}: {e}");
            }
        }
        let rows = match result {
            Ok(StatementOutput::Rows(stream)) if kind.is_read() || kind == StatementKind::Call => {
                let schema = stream.schema();
                self.collect_interruptible(stream)
                    .await
                    .map(|batches| Some((schema, batches)))
            }
            Ok(StatementOutput::Rows(stream)) | Ok(StatementOutput::Summary { stream, .. }) => {
                self.collect_interruptible(stream).await.map(|_| None)
            }
            Ok(_) => Ok(None),
            Err(e) => Err(e),
        };
        self.restore_statement(outer);
        Ok(Nested {
            rows: rows?,
            written,
        })
    }

    /// Reads a result to its end, or stops at a cancel.
    async fn collect_interruptible(
        &self,
        stream: datafusion::physical_plan::SendableRecordBatchStream,
    ) -> Result<Vec<RecordBatch>> {
        tokio::select! {
            biased;
            _ = self.interrupted() => Err(self.interruption()),
            batches = datafusion::physical_plan::common::collect(stream) => Ok(batches?),
        }
    }

    async fn declare(&mut self, declare: &DeclareVariable) -> Result<()> {
        let value = match &declare.default {
            Some(e) => self.evaluate(e).await?,
            None => ScalarValue::Null,
        };
        let data_type = match &declare.data_type {
            Some(t) => crate::types::parse_spark_type(t)?,
            None if value.is_null() => arrow::datatypes::DataType::Utf8,
            None => value.data_type(),
        };
        for name in &declare.names {
            if name.contains('.') || name.starts_with('@') {
                return Err(EngineError::syntax(format!("invalid variable name {name}")));
            }
            let value = variables::cast_value(value.clone(), &data_type, name)?;
            let variable = Variable {
                name: name.clone(),
                data_type: data_type.clone(),
                value,
            };
            self.with_variables(|v| v.declare(variable, declare.or_replace))?;
        }
        Ok(())
    }

    async fn set_variables(&mut self, set: &SetVariables) -> Result<()> {
        for target in &set.targets {
            self.with_variables(|v| {
                v.get(target)
                    .map(|_| ())
                    .ok_or_else(|| variables::unresolved(target))
            })?;
        }
        let values = match &set.value {
            SetValue::Expr(e) => vec![self.evaluate(e).await?],
            SetValue::Query(q) => {
                let row = self.single_row(q, set.targets.len()).await?;
                row.unwrap_or_else(|| vec![ScalarValue::Null; set.targets.len()])
            }
        };
        if values.len() != set.targets.len() {
            return Err(EngineError::Coded {
                sqlstate: "21S01",
                message: format!(
                    "SET assigns {} variables but the value has {} columns",
                    set.targets.len(),
                    values.len()
                ),
            });
        }
        for (target, value) in set.targets.iter().zip(values) {
            self.with_variables(|v| v.assign(target, value))?;
        }
        Ok(())
    }

    async fn execute_immediate(
        &mut self,
        statement: &ExecuteImmediate,
        run: &mut ScriptRun,
    ) -> Result<()> {
        let sql = match self.evaluate(&statement.sql).await? {
            ScalarValue::Utf8(Some(s))
            | ScalarValue::LargeUtf8(Some(s))
            | ScalarValue::Utf8View(Some(s)) => s,
            v if v.is_null() => {
                return Err(EngineError::Coded {
                    sqlstate: "22004",
                    message: "EXECUTE IMMEDIATE: the statement text is NULL".into(),
                })
            }
            other => {
                return Err(EngineError::Coded {
                    sqlstate: "42K09",
                    message: format!(
                        "EXECUTE IMMEDIATE takes a string, not a {}",
                        crate::types::spark_type_name(&other.data_type())
                    ),
                })
            }
        };
        let mut parsed = crate::parser::parse_script_in(&sql, self.dialect())?;
        if parsed.len() != 1 {
            return Err(EngineError::Coded {
                sqlstate: "07501",
                message: format!(
                    "EXECUTE IMMEDIATE runs one statement; the text has {}",
                    parsed.len()
                ),
            });
        }
        let mut parsed = parsed.remove(0);
        // Arguments are variables of a frame of their own, named by AS or by position
        // (`?` is the first, ...); the statement's parameters are made references to them.
        let mut args = Vec::with_capacity(statement.using.len());
        for (i, (expr, name)) in statement.using.iter().enumerate() {
            let value = self.evaluate(expr).await?;
            let name = name.clone().unwrap_or_else(|| format!("{}", i + 1));
            args.push(Variable {
                name,
                data_type: value.data_type(),
                value,
            });
        }
        let depth = self.variables_depth();
        self.with_variables(|v| v.push_frame(Some(USING_FRAME.into()), false));
        for arg in args {
            self.with_variables(|v| v.declare(arg, true))?;
        }
        reference_parameters(&mut parsed.statement);
        // Dynamic statements may run dynamic statements: they nest like calls.
        if self.call_depth >= MAX_CALL_DEPTH {
            self.truncate_variables(depth);
            return Err(EngineError::StatementTooComplex(format!(
                "procedure calls and EXECUTE IMMEDIATE nest deeper than {} levels",
                MAX_CALL_DEPTH
            )));
        }
        self.call_depth += 1;
        let result = self.run_nested(&parsed).await;
        self.call_depth -= 1;
        self.truncate_variables(depth);
        let rows = result?.rows;
        if statement.into.is_empty() {
            if let Some(rows) = rows {
                run.last = Some(rows);
            }
            return Ok(());
        }
        let Some((schema, batches)) = rows else {
            return Err(EngineError::Coded {
                sqlstate: "42601",
                message: "EXECUTE IMMEDIATE ... INTO needs a statement that returns rows".into(),
            });
        };
        let values = only_row(&schema, &batches, statement.into.len())?
            .unwrap_or_else(|| vec![ScalarValue::Null; statement.into.len()]);
        for (target, value) in statement.into.iter().zip(values) {
            self.with_variables(|v| v.assign(target, value))?;
        }
        Ok(())
    }

    /// Evaluates an expression of a script (`SELECT expr` on the statement path, so a bare
    /// name is a column of nothing, hence a variable).
    pub(crate) async fn evaluate(&mut self, expr: &ast::Expr) -> Result<ScalarValue> {
        let query = select_of(expr.clone())?;
        let row = self.single_row(&query, 1).await?;
        Ok(row.and_then(|mut r| r.pop()).unwrap_or(ScalarValue::Null))
    }

    /// A condition of IF, WHILE, ...: true, or not (false and NULL).
    async fn condition(&mut self, expr: &ast::Expr) -> Result<bool> {
        match self.evaluate(expr).await? {
            ScalarValue::Boolean(b) => Ok(b == Some(true)),
            v if v.is_null() => Ok(false),
            other => Err(EngineError::Coded {
                sqlstate: "42804",
                message: format!(
                    "a condition must be BOOLEAN, not {} ({expr})",
                    crate::types::spark_type_name(&other.data_type())
                ),
            }),
        }
    }

    /// The one row of a query with `columns` columns (`None`: no row; more than one: 21000).
    async fn single_row(
        &mut self,
        query: &ast::Query,
        columns: usize,
    ) -> Result<Option<Vec<ScalarValue>>> {
        let statement =
            Statement::Standard(Box::new(ast::Statement::Query(Box::new(query.clone()))));
        let output = self.execute_statement(statement, None).await?;
        let Some(stream) = output.into_rows() else {
            return Ok(None);
        };
        let schema = stream.schema();
        let batches = self.collect_interruptible(stream).await?;
        only_row(&schema, &batches, columns)
    }

    pub(crate) fn with_variables<T>(&self, f: impl FnOnce(&mut variables::Variables) -> T) -> T {
        f(&mut self.variables.write().unwrap_or_else(|p| p.into_inner()))
    }

    /// The session's variables as their values, to inline into expressions.
    pub(crate) fn variable_values(&self) -> variables::VariableProvider {
        variables::VariableProvider(self.variables.clone())
    }

    pub(crate) fn variables_depth(&self) -> usize {
        self.with_variables(|v| v.depth())
    }

    pub(crate) fn truncate_variables(&self, depth: usize) {
        self.with_variables(|v| v.truncate(depth));
    }

    /// `DROP TEMPORARY VARIABLE [IF EXISTS] name`
    pub(crate) fn drop_variable(&mut self, name: &str, if_exists: bool) -> Result<()> {
        if self.with_variables(|v| v.drop_session(name)) || if_exists {
            Ok(())
        } else {
            Err(variables::unresolved(&VariableName {
                qualifier: None,
                name: name.to_string(),
            }))
        }
    }
}

/// The qualifier of a CASE statement's operand.
const CASE_FRAME: &str = "__case";

/// The qualifier of EXECUTE IMMEDIATE's arguments.
const USING_FRAME: &str = "__using";

/// Makes a dynamic statement's parameters (`?`, numbered `$n` by the parser, and `:name`)
/// references to EXECUTE IMMEDIATE's arguments.
fn reference_parameters(statement: &mut Statement) {
    struct Parameters;
    impl ast::VisitorMut for Parameters {
        type Break = ();
        fn post_visit_expr(&mut self, expr: &mut ast::Expr) -> std::ops::ControlFlow<()> {
            if let ast::Expr::Value(v) = expr {
                if let ast::Value::Placeholder(p) = &v.value {
                    let name = p.trim_start_matches(['$', ':', '?']).to_lowercase();
                    if !name.is_empty() {
                        *expr = ast::Expr::CompoundIdentifier(vec![
                            ast::Ident::new(format!("@{USING_FRAME}")),
                            ast::Ident::new(name),
                        ]);
                    }
                }
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    statement.visit_sql(&mut Parameters);
}

/// `SELECT expr`
fn select_of(expr: ast::Expr) -> Result<ast::Query> {
    static TEMPLATE: std::sync::LazyLock<Option<ast::Query>> =
        std::sync::LazyLock::new(|| crate::parser::parse_query("SELECT NULL").ok());
    let mut query = TEMPLATE
        .clone()
        .ok_or_else(|| EngineError::Internal("the SELECT template does not parse".into()))?;
    if let ast::SetExpr::Select(select) = query.body.as_mut() {
        select.projection = vec![ast::SelectItem::UnnamedExpr(expr)];
    }
    Ok(query)
}

/// The only row of a result with `columns` columns.
fn only_row(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    columns: usize,
) -> Result<Option<Vec<ScalarValue>>> {
    if schema.fields().len() != columns {
        return Err(EngineError::Coded {
            sqlstate: "21S01",
            message: format!(
                "expected {columns} columns, the query returns {}",
                schema.fields().len()
            ),
        });
    }
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    if rows > 1 {
        return Err(EngineError::Coded {
            sqlstate: "21000",
            message: format!("more than one row returned where one value was expected ({rows})"),
        });
    }
    let Some(batch) = batches.iter().find(|b| b.num_rows() == 1) else {
        return Ok(None);
    };
    (0..columns)
        .map(|i| Ok(ScalarValue::try_from_array(batch.column(i), 0)?))
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

enum LoopStep {
    Continue,
    Break,
    Propagate(Flow),
}

/// What a loop labelled `label` does after its body ended with `flow`.
fn loop_flow(flow: Flow, label: &Option<String>) -> LoopStep {
    match flow {
        Flow::Iterate(l) if label.as_deref() == Some(l.as_str()) => LoopStep::Continue,
        Flow::Leave(l) if label.as_deref() == Some(l.as_str()) => LoopStep::Break,
        other => LoopStep::Propagate(other),
    }
}

/// The CONTINUE handler for `error` of the innermost block that handles it, with that block's
/// level; `None` when that block's handler is an EXIT handler, or no block handles it.
fn continue_handler(
    run: &ScriptRun,
    error: &EngineError,
) -> Option<(usize, crate::parser::Handler)> {
    for (level, handlers) in run.handlers.iter().enumerate().rev() {
        if let Some(h) = best_handler(handlers, &run.conditions, error) {
            return (h.kind == HandlerKind::Continue).then(|| (level, h.clone()));
        }
    }
    None
}

/// The handler of `handlers` for `error`: an exact SQLSTATE (or a condition naming it) first,
/// then NOT FOUND for class 02, then SQLEXCEPTION. A cancellation is never handled.
fn best_handler<'c>(
    handlers: &'c [crate::parser::Handler],
    conditions: &[(String, String)],
    error: &EngineError,
) -> Option<&'c crate::parser::Handler> {
    let state = error.sqlstate();
    if state == "57014" {
        return None;
    }
    let named = |n: &str| {
        conditions
            .iter()
            .rev()
            .find(|(c, _)| c == n)
            .map(|(_, s)| s.as_str())
    };
    let rank = |c: &ConditionValue| -> Option<u8> {
        match c {
            ConditionValue::SqlState(s) if s == state => Some(0),
            ConditionValue::Named(n) if named(n) == Some(state) => Some(0),
            ConditionValue::NotFound if state.starts_with("02") => Some(1),
            ConditionValue::SqlException
                if !state.starts_with("01") && !state.starts_with("02") =>
            {
                Some(2)
            }
            _ => None,
        }
    };
    handlers
        .iter()
        .filter_map(|h| h.conditions.iter().filter_map(rank).min().map(|r| (r, h)))
        .min_by_key(|(r, _)| *r)
        .map(|(_, h)| h)
}
