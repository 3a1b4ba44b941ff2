//! Prepared statements: parsed (and for standard SQL, planned) once, described, and executed
//! any number of times with parameters.

use std::sync::Arc;

use arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::ParamValues;
use datafusion::logical_expr::LogicalPlan;

use crate::error::{EngineError, Result};
use crate::exec::statement_record;
use crate::output::StatementOutput;
use crate::parser::Statement;
use crate::session::Session;

/// A statement parsed (and, for standard SQL, planned) once, executed any number of times with
/// parameters — the extended query protocol's prepared statement.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub sql: String,
    statement: Statement,
    /// The plan of a standard statement, with `$n` placeholders.
    plan: Option<LogicalPlan>,
}

/// The most parameters a statement may have, on every front: PostgreSQL's limit (its Bind
/// message counts them in 16 bits), so that what prepares on one front runs on the other. It
/// also bounds the allocation a `$1000000000000` would otherwise size.
const MAX_PARAMETERS: usize = 65535;

impl Prepared {
    pub(crate) fn new(sql: String, statement: Statement, plan: Option<LogicalPlan>) -> Self {
        Prepared {
            sql,
            statement,
            plan,
        }
    }

    /// The cursor this statement declares (`DECLARE name CURSOR ...`), if it is one.
    pub fn declared_cursor(&self) -> Option<&str> {
        match &self.statement {
            Statement::DeclareCursor { name, .. } => Some(name),
            _ => None,
        }
    }

    /// The cursor this statement closes; `Some(None)` is `CLOSE ALL`.
    pub fn closed_cursor(&self) -> Option<Option<&str>> {
        match &self.statement {
            Statement::CloseCursor { name } => Some(name.as_deref()),
            _ => None,
        }
    }
}

impl Session {
    /// Parses and plans one statement for later execution.
    pub async fn prepare(&mut self, sql: &str) -> Result<Option<Prepared>> {
        self.recover_abandoned_request();
        let mut statements = crate::parser::parse_sql_in(sql, self.dialect())?;
        if statements.len() > 1 {
            return Err(EngineError::syntax(
                "cannot insert multiple commands into a prepared statement",
            ));
        }
        let Some(statement) = statements.pop() else {
            return Ok(None);
        };
        if self.returns_dynamic_rows(&statement)? {
            return Err(crate::exec::call::dynamic_rows_not_preparable());
        }
        // A name of a session variable is a reference to it, as in `execute_statement`.
        let mut statement = statement;
        let mut referenced = Vec::new();
        let plan = loop {
            let planned = match &statement {
                Statement::Standard(s) => self.plan_standard(s).await.map(Some),
                Statement::DeclareCursor { query, .. } => self.plan_query(query).await.map(Some),
                _ => Ok(None),
            };
            match planned {
                Err(e) if self.reference_variable(&e, &mut statement, &mut referenced) => {}
                other => break other?,
            }
        };
        Ok(Some(Prepared {
            sql: sql.to_string(),
            statement,
            plan,
        }))
    }

    /// The parameter types and result schema of a prepared statement (None: returns no rows).
    pub async fn describe(
        &self,
        prepared: &Prepared,
    ) -> Result<(Vec<Option<DataType>>, Option<SchemaRef>)> {
        if let Some(plan) = &prepared.plan {
            let params = plan.get_parameter_types()?;
            let mut ordered: Vec<(usize, Option<DataType>)> = params
                .into_iter()
                .filter_map(|(k, v)| {
                    k.trim_start_matches('$')
                        .parse::<usize>()
                        .ok()
                        .map(|i| (i, v))
                })
                .collect();
            ordered.sort_by_key(|(i, _)| *i);
            let n = ordered.last().map(|(i, _)| *i).unwrap_or(0);
            // PostgreSQL's limit; also keeps `$1000000000000` from sizing an allocation.
            if n > MAX_PARAMETERS || ordered.iter().any(|(i, _)| *i == 0) {
                return Err(EngineError::invalid(format!(
                    "parameter numbers must be between $1 and ${MAX_PARAMETERS}"
                )));
            }
            let mut types = vec![None; n];
            for (i, t) in ordered {
                types[i - 1] = t;
            }
            let schema = match (plan, &prepared.statement) {
                (_, Statement::DeclareCursor { .. }) => None,
                (LogicalPlan::Dml(_) | LogicalPlan::Ddl(_), _) => None,
                _ => Some(Arc::new(plan.schema().as_arrow().clone())),
            };
            return Ok((types, schema));
        }
        if let Statement::Fetch { name, .. } = &prepared.statement {
            return Ok((vec![], Some(self.cursor(name)?.schema.clone())));
        }
        Ok((vec![], self.result_schema(&prepared.statement).await?))
    }

    pub async fn execute_prepared(
        &mut self,
        prepared: &Prepared,
        params: Option<ParamValues>,
    ) -> Result<StatementOutput> {
        self.start_request();
        self.begin_statement(
            statement_record(&prepared.sql, &prepared.statement),
            Some(prepared.statement.kind()),
        );
        let result = self.run_prepared(prepared, params).await;
        self.end_statement(prepared.statement.kind(), result)
    }

    pub(crate) async fn run_prepared(
        &mut self,
        prepared: &Prepared,
        params: Option<ParamValues>,
    ) -> Result<StatementOutput> {
        match &prepared.plan {
            Some(prepared_plan) => {
                // Planned again on every execution: a plan holds the table snapshots of the
                // moment it was made, and a prepared statement must see later commits.
                let plan = match &prepared.statement {
                    Statement::DeclareCursor { query, .. } => self.plan_query(query).await?,
                    Statement::Standard(s) => self.plan_standard(s).await?,
                    _ => prepared_plan.clone(),
                };
                if plan.schema().fields() != prepared_plan.schema().fields() {
                    return Err(EngineError::not_supported(
                        "cached plan must not change result type; prepare the statement again",
                    ));
                }
                let plan = match params {
                    Some(p) => plan.replace_params_with_values(&p)?,
                    None => plan,
                };
                match &prepared.statement {
                    Statement::DeclareCursor { name, hold, .. } => {
                        self.declare_cursor(name, plan, *hold).await
                    }
                    Statement::Standard(_) => self.run_plan(plan).await,
                    _ => self.run_plan(plan).await,
                }
            }
            None => {
                self.execute_statement(prepared.statement.clone(), None)
                    .await
            }
        }
    }
}
