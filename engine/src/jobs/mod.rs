//! Jobs: procedure calls that run in the background. `CALL ASYNC c.s.p(args)` checks the call
//! as CALL would, records a run (`system.jobs.runs`) and returns its id at once; the call then
//! runs on a session of its own, as its caller, through the one statement path, every statement
//! recorded with the run's id and counted in the run's progress. `CALL system.jobs.cancel(id)`
//! stops a run; a restart marks the runs it interrupted as failed.

pub(crate) mod registry;
pub(crate) mod schedule;

use datafusion::common::ScalarValue;
use datafusion::sql::sqlparser::ast;
use weir_catalog::{run_state, JobRun, ParameterMode};

use crate::error::{EngineError, Result};
use crate::exec::script::variables::Variable;
use crate::output::StatementOutput;
use crate::parser::{Call, CallArgument, Statement};
use crate::session::Session;
use crate::statement_kind::StatementKind;

/// The reason a shutdown gives the runs it stopped.
pub(crate) const SHUT_DOWN: &str = "interrupted: the server shut down while the run was going";

/// The reason a restart gives the runs it found running.
pub(crate) const INTERRUPTED: &str = "interrupted: the server stopped while the run was going";

/// A background run, handed to the launcher task.
pub(crate) struct JobStart {
    session: Session,
    call: Call,
    text: String,
    run_id: uuid::Uuid,
}

/// Starts the task that runs background jobs for `state`, on the current runtime (none: no
/// background runs).
pub(crate) fn start_launcher(state: &std::sync::Arc<crate::engine_state::EngineState>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    state.jobs.set_launcher(tx);
    let weak = std::sync::Arc::downgrade(state);
    runtime.spawn(async move {
        while let Some(job) = rx.recv().await {
            let Some(state) = weak.upgrade() else { break };
            let Ok(job) = job.downcast::<JobStart>() else {
                continue;
            };
            let tasks = state.jobs.tasks();
            tasks.spawn(run_job(*job, state));
        }
    });
}

/// Runs one background job to its end and records how it ended.
async fn run_job(job: JobStart, state: std::sync::Arc<crate::engine_state::EngineState>) {
    let JobStart {
        mut session,
        call,
        text,
        run_id,
    } = job;
    session.begin_statement(text, Some(StatementKind::Call));
    let result = session
        .execute_statement(Statement::Call(Box::new(call)), None)
        .await;
    let result = match session.end_statement(StatementKind::Call, result) {
        Ok(output) => match output.into_rows() {
            Some(rows) => datafusion::physical_plan::common::collect(rows)
                .await
                .map(|_| ())
                .map_err(EngineError::from),
            None => Ok(()),
        },
        Err(e) => Err(e),
    };
    let (end_state, error) = match &result {
        Ok(()) => (run_state::SUCCEEDED, None),
        Err(EngineError::Canceled) if state.jobs.is_shutting_down() => {
            (run_state::FAILED, Some(SHUT_DOWN.to_string()))
        }
        Err(EngineError::Canceled) => (run_state::CANCELED, None),
        Err(e) => (run_state::FAILED, Some(format!("{}: {e}", e.sqlstate()))),
    };
    if let Err(e) =
        state
            .metastore
            .finish_job_run(&run_id.to_string(), end_state, error.as_deref(), now_ms())
    {
        tracing::error!("recording the end of run {run_id}: {e}");
    }
    state.jobs.end(run_id);
}

/// The prefix of the variables a background session holds its call's arguments in.
const ARGUMENT_PREFIX: &str = "__job_argument_";

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A one-row result of text columns.
fn row(columns: &[(&str, String)]) -> Result<StatementOutput> {
    use crate::batches::{batch, Col};
    let b = batch(
        columns
            .iter()
            .map(|(name, value)| {
                let mut c = Col::str_not_null(name);
                c.push_str(Some(value.clone()));
                c
            })
            .collect(),
    )?;
    let schema = b.schema();
    Ok(StatementOutput::Rows(Box::pin(
        datafusion::physical_plan::memory::MemoryStream::try_new(vec![b], schema, None)?,
    )))
}

/// The columns of a one-row result of text columns.
fn row_schema(columns: &[&str]) -> arrow::datatypes::SchemaRef {
    std::sync::Arc::new(arrow::datatypes::Schema::new(
        columns
            .iter()
            .map(|c| arrow::datatypes::Field::new(*c, arrow::datatypes::DataType::Utf8, false))
            .collect::<Vec<_>>(),
    ))
}

impl Session {
    /// What a CALL returns when that is known before it runs: a background run's id, a
    /// built-in procedure's row. (A procedure's result set is known only when it runs.)
    pub(crate) fn call_schema(&self, call: &Call) -> Option<arrow::datatypes::SchemaRef> {
        // `async => true` runs a built-in procedure in the background, as CALL ASYNC does.
        let async_argument = call.args.iter().any(|a| {
            a.name.as_deref() == Some("async")
                && matches!(&a.value, ast::Expr::Value(v) if matches!(v.value, ast::Value::Boolean(true)))
        });
        if call.detached || async_argument {
            return Some(row_schema(&["run_id"]));
        }
        let (c, s, p) = self.qualify_table(&call.procedure).ok()?;
        crate::builtin_procedures::find(&c, &s, &p).map(|b| b.result_schema())
    }

    /// `CALL system.jobs.cancel(run_id)`: the run's user or an admin stops a run.
    pub(crate) fn cancel_run(&mut self, run_id: ScalarValue) -> Result<StatementOutput> {
        let id = match run_id {
            ScalarValue::Utf8(Some(s))
            | ScalarValue::LargeUtf8(Some(s))
            | ScalarValue::Utf8View(Some(s)) => s,
            other => {
                return Err(EngineError::invalid(format!(
                    "run_id must be a string, not {other}"
                )))
            }
        };
        let run = uuid::Uuid::parse_str(id.trim())
            .ok()
            .and_then(|u| {
                self.state
                    .metastore
                    .get_job_run(&u.to_string())
                    .transpose()
                    .map(|r| r.map(|r| (u, r)))
            })
            .transpose()?;
        let Some((uuid, run)) = run else {
            return Err(EngineError::Coded {
                sqlstate: "42704",
                message: format!("run '{id}' does not exist"),
            });
        };
        let access = self.access()?;
        if !access.is_admin() && run.user != self.user {
            return Err(EngineError::PermissionDenied(format!(
                "permission denied: run '{id}' belongs to '{}'",
                run.user
            )));
        }
        let state = if run.state == run_state::RUNNING && self.state.jobs.cancel(uuid) {
            "CANCELING".to_string()
        } else {
            run.state
        };
        row(&[("run_id", run.run_id), ("state", state)])
    }

    /// Checks a call that is to run in the background (CALL ASYNC, a schedule's call) as the
    /// session's user: the procedure is visible and executable, the arguments bind, and none
    /// is an OUT or INOUT parameter's variable (the caller is gone when the run ends).
    /// Returns the procedure and each parameter's argument.
    pub(crate) fn check_background_call<'a>(
        &self,
        call: &'a Call,
    ) -> Result<(weir_catalog::ProcedureEntry, Vec<Option<&'a ast::Expr>>)> {
        let procedure = self.visible_procedure(&call.procedure)?;
        self.require_execute(&procedure)?;
        let bound = crate::exec::call::bind(&procedure, &call.args)?;
        for (param, arg) in procedure.params.iter().zip(&bound) {
            if arg.is_some() && param.mode != ParameterMode::In {
                return Err(EngineError::Coded {
                    sqlstate: "42601",
                    message: format!(
                        "a background run ends after its caller: {} parameter {} cannot be \
                         given a variable",
                        param.mode.as_str(),
                        param.name
                    ),
                });
            }
        }
        Ok((procedure, bound))
    }

    /// `CALL ASYNC c.s.p(args)`: checked and its arguments evaluated now, as CALL would; run in
    /// the background on a session of its own, as the caller. Returns the run's id.
    pub(crate) async fn call_detached(&mut self, call: Call) -> Result<StatementOutput> {
        if self.job_run.is_some() {
            // Runs that start runs would outlive every cancel but their own.
            return Err(EngineError::not_supported(
                "a background run cannot start another (CALL ASYNC inside CALL ASYNC)",
            ));
        }
        let (procedure, bound) = self.check_background_call(&call)?;
        let mut arguments = Vec::new();
        for (param, arg) in procedure.params.iter().zip(&bound) {
            let Some(expr) = arg else { continue };
            arguments.push((param.name.clone(), self.evaluate(expr).await?));
        }
        let run_id = uuid::Uuid::new_v4();
        let shown = call
            .args
            .iter()
            .map(|a| match &a.name {
                Some(n) => format!("{n} => {}", a.value),
                None => a.value.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", ");
        let full_name = procedure.full_name();
        self.state.metastore.start_job_run(&JobRun {
            run_id: run_id.to_string(),
            procedure: full_name.clone(),
            arguments: crate::exec::carried_record(&format!("({shown})")),
            user: self.user.clone(),
            state: run_state::RUNNING.into(),
            started_at_ms: now_ms(),
            ended_at_ms: None,
            statements: 0,
            rows_written: 0,
            error: None,
            schedule: self.schedule.clone(),
        })?;

        let mut session = Session::new(
            self.state.clone(),
            &self.user,
            &procedure.catalog,
            &procedure.schema,
            crate::observe::ClientInfo::internal(),
        );
        // The run reads the clock as its caller does (`current_date()` in the caller's zone).
        if let Some(zone) = self.variable("timezone") {
            session.set_variable("timezone", &zone)?;
        }
        session.set_interrupt(self.state.jobs.start(run_id));
        session.run = Some(crate::observe::RunInfo {
            id: run_id,
            entity_type: "JOB",
            entity_id: full_name.clone(),
        });
        session.job_run = Some(run_id);
        let mut args = Vec::with_capacity(arguments.len());
        for (name, value) in arguments {
            let variable = format!("{ARGUMENT_PREFIX}{name}");
            session.with_variables(|v| {
                v.declare(
                    Variable {
                        name: variable.clone(),
                        data_type: value.data_type(),
                        value,
                    },
                    true,
                )
            })?;
            args.push(CallArgument {
                name: Some(name),
                value: ast::Expr::Identifier(ast::Ident::new(variable)),
            });
        }
        let job_call = Call {
            procedure: vec![
                procedure.catalog.clone(),
                procedure.schema.clone(),
                procedure.name.clone(),
            ],
            args,
            detached: false,
        };
        let text = crate::exec::carried_record(&format!("CALL {full_name}({shown})"));
        let launched = self.state.jobs.launch(Box::new(JobStart {
            session,
            call: job_call,
            text,
            run_id,
        }));
        if !launched {
            self.state.jobs.end(run_id);
            self.state.metastore.finish_job_run(
                &run_id.to_string(),
                run_state::FAILED,
                Some("background runs are not available: the engine has no runtime"),
                now_ms(),
            )?;
            return Err(EngineError::not_supported(
                "background runs are not available: the engine has no runtime",
            ));
        }
        row(&[("run_id", run_id.to_string())])
    }
}
