//! A session: one client connection's state (user, current catalog and schema, settings) and the
//! dispatch of its statements. Both protocol fronts drive sessions the same way.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::ParamValues;
use datafusion::common::TableReference;
use datafusion::execution::session_state::SessionState;
use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::{DmlStatement, LogicalPlan, WriteOp};
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::prelude::SessionContext;
use weir_catalog::TableEntry;

use crate::error::{EngineError, Result};
use crate::namespace::{EngineState, Identity};
use crate::output::StatementOutput;
use crate::parser::{parse_sql, Statement, TransactionVerb};
use crate::statement_kind::StatementKind;

/// A statement parsed (and, for standard SQL, planned) once, executed any number of times with
/// parameters — the extended query protocol's prepared statement.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub sql: String,
    statement: Statement,
    /// The plan of a standard statement, with `$n` placeholders.
    plan: Option<LogicalPlan>,
}

/// The most parameters a statement may have (PostgreSQL's wire limit).
const MAX_PARAMETERS: usize = 65535;

fn cursor_missing(name: &str) -> EngineError {
    EngineError::InvalidCursor(format!("cursor \"{name}\" does not exist"))
}

impl Prepared {
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

/// After a session changed its settings: functions that depend on them (`now()` returns
/// timestamps in the session's time zone) are made again, as DataFusion's own `SET` does, and
/// the views the session reads will plan with them.
fn follow_config(state: &mut SessionState, identity: &Identity) -> Result<()> {
    let options = state.config().options().clone();
    let updated: Vec<_> = state
        .scalar_functions()
        .values()
        .filter_map(|f| f.inner().with_updated_config(&options))
        .collect();
    for f in updated {
        state.register_udf(Arc::new(f))?;
    }
    identity.set_execution(Some(options.execution.clone()));
    Ok(())
}

/// Builds the DataFusion state of a session for `identity` in `catalog.schema`.
pub(crate) fn new_session_state(
    state: &Arc<EngineState>,
    catalog: &str,
    schema: &str,
    identity: Arc<Identity>,
) -> SessionState {
    state
        .template
        .state_for(state, catalog, schema, Arc::default(), identity)
}

/// An open cursor: the query's result stream, read as the client fetches.
struct Cursor {
    schema: SchemaRef,
    /// Behind a mutex only to make `Session` `Sync`; it is reached through `&mut` (`get_mut`).
    stream: std::sync::Mutex<SendableRecordBatchStream>,
    /// Rows of the last batch not fetched yet.
    pending: Option<arrow::record_batch::RecordBatch>,
    hold: bool,
}

pub struct Session {
    pub(crate) state: Arc<EngineState>,
    cursors: HashMap<String, Cursor>,
    pub(crate) ctx: SessionContext,
    pub(crate) user: String,
    id: uuid::Uuid,
    vars: HashMap<String, String>,
    /// Who is connected, and through which front.
    client: crate::observe::ClientInfo,
    /// The statement being executed, recorded in the commits it makes and told to observers.
    statement: Option<Arc<crate::observe::StatementInfo>>,
    /// Its end, until it is told: a statement whose execution was dropped (its client went
    /// away) is told as abandoned when the next one begins or the session closes.
    statement_end: Option<crate::observe::StatementEnd>,
    /// The session's user as the planner's catalogs see it.
    pub(crate) identity: Arc<Identity>,
}

impl Session {
    pub(crate) fn new(
        state: Arc<EngineState>,
        user: &str,
        catalog: &str,
        schema: &str,
        client: crate::observe::ClientInfo,
    ) -> Self {
        let identity = Identity::new(user, user);
        let ctx = SessionContext::new_with_state(new_session_state(
            &state,
            catalog,
            schema,
            identity.clone(),
        ));
        Session {
            state,
            cursors: HashMap::new(),
            ctx,
            user: user.to_string(),
            id: uuid::Uuid::new_v4(),
            vars: HashMap::new(),
            client,
            statement: None,
            statement_end: None,
            identity,
        }
    }

    /// The statement being executed (an empty description outside of one).
    pub(crate) fn statement_info(&self) -> Arc<crate::observe::StatementInfo> {
        self.statement.clone().unwrap_or_else(|| {
            Arc::new(crate::observe::StatementInfo {
                id: uuid::Uuid::new_v4(),
                session_id: self.id,
                user: self.user.clone(),
                client: self.client.clone(),
                text: String::new(),
            })
        })
    }

    /// Starts a statement: it gets its own id, and observers hear of it.
    pub(crate) fn begin_statement(&mut self, text: String) {
        let info = Arc::new(crate::observe::StatementInfo {
            id: uuid::Uuid::new_v4(),
            session_id: self.id,
            user: self.user.clone(),
            client: self.client.clone(),
            text,
        });
        // The statement before, if it never ended, is told as abandoned first.
        self.statement_end = None;
        self.state.observers.statement_started(&info);
        self.statement_end = Some(crate::observe::StatementEnd::new(
            self.state.observers.clone(),
            info.clone(),
        ));
        self.statement = Some(info);
    }

    /// Ends the statement begun last and passes `result` on. Observers are told how it ended
    /// now, or for a result set, when it has been read.
    pub(crate) fn end_statement<T: crate::observe::Observed>(
        &mut self,
        kind: StatementKind,
        result: Result<T>,
    ) -> Result<T> {
        self.statement = None;
        let Some(end) = self.statement_end.take() else {
            return result;
        };
        match result {
            Ok(output) => Ok(output.observed(kind, end)),
            Err(e) => {
                end.finish(crate::observe::StatementOutcome::Failed {
                    sqlstate: e.sqlstate().to_string(),
                    message: e.to_string(),
                });
                Err(e)
            }
        }
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    /// The session user's privileges as of now (grants change between statements).
    pub(crate) fn access(&self) -> Result<crate::access::Access> {
        crate::access::Access::load(&self.state.metastore, &self.user)
    }

    pub fn id(&self) -> uuid::Uuid {
        self.id
    }

    pub fn current_catalog(&self) -> String {
        self.ctx
            .state()
            .config()
            .options()
            .catalog
            .default_catalog
            .clone()
    }

    pub fn current_schema(&self) -> String {
        self.ctx
            .state()
            .config()
            .options()
            .catalog
            .default_schema
            .clone()
    }

    /// `USE CATALOG name` for fronts that set it as a session option.
    pub async fn use_catalog(&mut self, name: &str) -> Result<()> {
        self.execute_ddl(Statement::UseCatalog(name.to_lowercase()))
            .await
            .map(|_| ())
    }

    /// `USE SCHEMA name` (in the current catalog) for fronts that set it as a session option.
    pub async fn use_schema(&mut self, name: &str) -> Result<()> {
        self.execute_ddl(Statement::UseSchema(vec![name.to_lowercase()]))
            .await
            .map(|_| ())
    }

    pub(crate) fn set_current(&self, catalog: &str, schema: &str) {
        let state = self.ctx.state_ref();
        let mut guard = state.write();
        let opts = guard.config_mut().options_mut();
        opts.catalog.default_catalog = catalog.to_string();
        opts.catalog.default_schema = schema.to_string();
    }

    /// Executes every statement of a query string in order, stopping at the first error. Outputs
    /// of the statements before it are returned with it.
    pub async fn execute_sql(&mut self, sql: &str) -> (Vec<StatementOutput>, Option<EngineError>) {
        let statements = match crate::parser::parse_script(sql) {
            Ok(s) => s,
            Err(e) => return (vec![], Some(e)),
        };
        let count = statements.len();
        let mut out = Vec::with_capacity(count);
        for (i, parsed) in statements.into_iter().enumerate() {
            let stmt = parsed.statement;
            let kind = stmt.kind();
            self.begin_statement(statement_record(&parsed.text, &stmt));
            let result = self.execute_statement(stmt, None).await;
            let output = match self.end_statement(kind, result) {
                Ok(o) => o,
                Err(e) => return (out, Some(e)),
            };
            // A result that is followed by more statements is read to its end first: an error
            // while producing it must stop the statements after it, as in PostgreSQL. The last
            // result streams.
            let output = match output {
                StatementOutput::Rows(stream) if i + 1 < count => {
                    let schema = stream.schema();
                    match datafusion::physical_plan::common::collect(stream).await {
                        Ok(batches) => {
                            match datafusion::physical_plan::memory::MemoryStream::try_new(
                                batches, schema, None,
                            ) {
                                Ok(s) => StatementOutput::Rows(Box::pin(s)),
                                Err(e) => return (out, Some(e.into())),
                            }
                        }
                        Err(e) => return (out, Some(e.into())),
                    }
                }
                other => other,
            };
            out.push(output);
        }
        (out, None)
    }

    /// Parses and plans one statement for later execution.
    pub async fn prepare(&self, sql: &str) -> Result<Option<Prepared>> {
        let mut statements = parse_sql(sql)?;
        if statements.len() > 1 {
            return Err(EngineError::syntax(
                "cannot insert multiple commands into a prepared statement",
            ));
        }
        let Some(statement) = statements.pop() else {
            return Ok(None);
        };
        let plan = match &statement {
            Statement::Standard(s) => Some(self.plan_standard(s).await?),
            Statement::DeclareCursor { query, .. } => Some(self.plan_query(query).await?),
            _ => None,
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
        self.begin_statement(statement_record(&prepared.sql, &prepared.statement));
        let result = self.run_prepared(prepared, params).await;
        self.end_statement(prepared.statement.kind(), result)
    }

    async fn run_prepared(
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

    async fn plan_standard(
        &self,
        stmt: &datafusion::sql::sqlparser::ast::Statement,
    ) -> Result<LogicalPlan> {
        let state = self.ctx.state();
        self.identity.forget_hidden();
        crate::planner::refuse_historic_targets(stmt)?;
        if let Some(plan) = self.plan_aliased_delete(stmt).await? {
            return Ok(plan);
        }
        crate::planner::plan_statement(&state, stmt.clone())
            .await
            .map_err(|e| self.hidden_column_error(e))
    }

    /// A column the user's grants hide is reported as a permission error naming it, not as an
    /// unknown column (PostgreSQL's "permission denied for column").
    pub(crate) fn hidden_column_error(&self, e: datafusion::error::DataFusionError) -> EngineError {
        if let Some(column) = missing_field(&e) {
            if let Some(table) = self.identity.hiding_table(&column) {
                return EngineError::PermissionDenied(format!(
                    "permission denied for column {column} of table {table}"
                ));
            }
        }
        e.into()
    }

    async fn execute_statement(
        &mut self,
        stmt: Statement,
        _params: Option<ParamValues>,
    ) -> Result<StatementOutput> {
        let kind = stmt.kind();
        match stmt {
            Statement::Standard(s) => {
                let plan = self.plan_standard(&s).await?;
                self.run_plan(plan).await
            }
            Statement::SetVariable { name, value } => {
                self.set_variable(&name, &value)?;
                Ok(StatementOutput::command(kind))
            }
            Statement::Transaction(verb) => {
                if matches!(verb, TransactionVerb::Commit | TransactionVerb::Rollback) {
                    // Cursors WITHOUT HOLD end with their transaction block.
                    self.cursors.retain(|_, c| c.hold);
                }
                Ok(StatementOutput::command(kind))
            }
            Statement::DeclareCursor { name, query, hold } => {
                let plan = self.plan_query(&query).await?;
                self.declare_cursor(&name, plan, hold).await
            }
            Statement::Fetch { name, count } => self.fetch(&name, count).await,
            Statement::Deallocate { name } => Ok(StatementOutput::Deallocate { name }),
            Statement::CloseCursor { name } => {
                match name {
                    None => self.cursors.clear(),
                    Some(n) => {
                        self.cursors.remove(&n).ok_or_else(|| cursor_missing(&n))?;
                    }
                }
                Ok(StatementOutput::command(kind))
            }
            Statement::Merge {
                merge,
                schema_evolution,
            } => self.merge(&merge, schema_evolution).await,
            Statement::Restore { table, as_of } => self.restore(&table, &as_of).await,
            Statement::Optimize {
                table,
                predicate,
                zorder,
            } => self.optimize(&table, predicate.as_ref(), &zorder).await,
            Statement::Vacuum {
                table,
                retain_hours,
                dry_run,
            } => self.vacuum(&table, retain_hours, dry_run).await,
            Statement::Governance(g) => match self.governance_rows(&g)? {
                Some(plan) => self.run_plan(plan).await,
                None => self.execute_governance(*g).await,
            },
            Statement::ShowCatalogs { .. }
            | Statement::ShowSchemas { .. }
            | Statement::ShowTables { .. }
            | Statement::ShowColumns { .. }
            | Statement::ShowTblProperties { .. }
            | Statement::ShowVariable { .. }
            | Statement::Describe { .. }
            | Statement::DescribeDetail { .. }
            | Statement::DescribeHistory { .. }
            | Statement::DescribeCatalog { .. }
            | Statement::DescribeSchema { .. } => match self.plan_rows(&stmt).await? {
                Some(plan) => self.run_plan(plan).await,
                None => Err(EngineError::Internal(format!(
                    "no result for {:?}",
                    stmt.kind()
                ))),
            },
            Statement::CreateCatalog { .. }
            | Statement::DropCatalog { .. }
            | Statement::CreateSchema { .. }
            | Statement::DropSchema { .. }
            | Statement::UseCatalog(_)
            | Statement::UseSchema(_)
            | Statement::CreateTable(_)
            | Statement::CreateView { .. }
            | Statement::DropTable { .. }
            | Statement::AlterTable { .. }
            | Statement::CommentOn { .. }
            | Statement::SetTags { .. }
            | Statement::UnsetTags { .. } => self.execute_ddl(stmt).await,
        }
    }

    async fn plan_query(
        &self,
        query: &datafusion::sql::sqlparser::ast::Query,
    ) -> Result<LogicalPlan> {
        self.plan_standard(&datafusion::sql::sqlparser::ast::Statement::Query(
            Box::new(query.clone()),
        ))
        .await
    }

    fn cursor(&self, name: &str) -> Result<&Cursor> {
        self.cursors.get(name).ok_or_else(|| cursor_missing(name))
    }

    async fn declare_cursor(
        &mut self,
        name: &str,
        plan: LogicalPlan,
        hold: bool,
    ) -> Result<StatementOutput> {
        if self.cursors.contains_key(name) {
            return Err(EngineError::Duplicate {
                sqlstate: "42P03",
                message: format!("cursor \"{name}\" already exists"),
            });
        }
        let df = self.ctx.execute_logical_plan(plan).await?;
        let stream = df.execute_stream().await?;
        let schema = stream.schema();
        self.cursors.insert(
            name.to_string(),
            Cursor {
                schema,
                stream: std::sync::Mutex::new(stream),
                pending: None,
                hold,
            },
        );
        Ok(StatementOutput::command(StatementKind::DeclareCursor))
    }

    /// Reads up to `count` rows (all with `None`) from a cursor; the query runs only as far as
    /// the client fetches.
    async fn fetch(&mut self, name: &str, count: Option<u64>) -> Result<StatementOutput> {
        use futures::StreamExt;
        let cursor = self
            .cursors
            .get_mut(name)
            .ok_or_else(|| cursor_missing(name))?;
        let mut wanted = count.map(|c| c as usize).unwrap_or(usize::MAX);
        let mut out = Vec::new();
        while wanted > 0 {
            let batch = match cursor.pending.take() {
                Some(b) => b,
                None => match cursor
                    .stream
                    .get_mut()
                    .unwrap_or_else(|p| p.into_inner())
                    .next()
                    .await
                {
                    Some(b) => b?,
                    None => break,
                },
            };
            if batch.num_rows() > wanted {
                out.push(batch.slice(0, wanted));
                cursor.pending = Some(batch.slice(wanted, batch.num_rows() - wanted));
                wanted = 0;
            } else {
                wanted -= batch.num_rows();
                out.push(batch);
            }
        }
        let schema = cursor.schema.clone();
        let stream = datafusion::physical_plan::memory::MemoryStream::try_new(out, schema, None)?;
        Ok(StatementOutput::Rows(Box::pin(stream)))
    }

    /// Executes a logical plan: DML through Delta commits, everything else through DataFusion.
    pub(crate) async fn run_plan(&mut self, plan: LogicalPlan) -> Result<StatementOutput> {
        match plan {
            LogicalPlan::Dml(DmlStatement {
                table_name,
                op,
                input,
                ..
            }) => match op {
                WriteOp::Insert(insert_op) => {
                    let entry = self.resolve_table_ref(&table_name)?;
                    let overwrite = matches!(
                        insert_op,
                        datafusion::logical_expr::dml::InsertOp::Overwrite
                    );
                    // Overwriting deletes every row, also those a row filter hides.
                    self.require_writable(&entry, overwrite.then_some("INSERT OVERWRITE"))?;
                    let kind = if overwrite {
                        crate::delta::commit::WriteKind::InsertOverwrite
                    } else {
                        crate::delta::commit::WriteKind::Insert
                    };
                    let rows = self
                        .write_to_table(&entry, input.as_ref().clone(), kind)
                        .await?;
                    Ok(StatementOutput::Command {
                        kind: StatementKind::Insert,
                        rows: Some(rows),
                    })
                }
                WriteOp::Delete => {
                    let entry = self.resolve_table_ref(&table_name)?;
                    self.require_writable(&entry, Some("DELETE"))?;
                    self.run_dml(&entry, &input, crate::delta::commit::WriteKind::Delete)
                        .await
                }
                WriteOp::Update => {
                    let entry = self.resolve_table_ref(&table_name)?;
                    self.require_writable(&entry, Some("UPDATE"))?;
                    self.run_dml(&entry, &input, crate::delta::commit::WriteKind::Update)
                        .await
                }
                other => Err(EngineError::not_supported(format!(
                    "{other} is not supported yet"
                ))),
            },
            LogicalPlan::Ddl(ddl) => Err(EngineError::not_supported(format!(
                "{} is not supported; Weir tables are created with CREATE TABLE (Delta)",
                ddl.name()
            ))),
            LogicalPlan::Copy(_) => Err(EngineError::not_supported("COPY ... TO is not supported")),
            LogicalPlan::Explain(_) | LogicalPlan::Analyze(_)
                if crate::access::reads_governed_table(&plan)? && !self.access()?.is_admin() =>
            {
                Err(EngineError::PermissionDenied(
                    "permission denied: EXPLAIN of a query over a table with column grants, masks \
                     or a row filter is reserved to admins (its plan shows file paths, partition \
                     values and row counts the policies hide)"
                        .into(),
                ))
            }
            LogicalPlan::Statement(s) => Err(EngineError::not_supported(format!(
                "{} is not supported",
                s.name()
            ))),
            plan => {
                let df = self.ctx.execute_logical_plan(plan).await?;
                Ok(StatementOutput::Rows(df.execute_stream().await?))
            }
        }
    }

    fn set_variable(&mut self, name: &str, value: &str) -> Result<()> {
        if name.starts_with("datafusion.") {
            // Only bounded execution tuning is open to sessions: catalog, file-access and
            // memory settings are the server's.
            let bounds = match name {
                "datafusion.execution.batch_size" => Some((1u64, 1u64 << 20)),
                "datafusion.execution.target_partitions" => Some((1, 256)),
                _ => None,
            };
            let Some((lo, hi)) = bounds else {
                return Err(EngineError::PermissionDenied(format!(
                    "setting '{name}' cannot be changed by a session"
                )));
            };
            match value.trim().parse::<u64>() {
                Ok(v) if (lo..=hi).contains(&v) => {}
                _ => {
                    return Err(EngineError::invalid(format!(
                        "{name} must be an integer from {lo} to {hi}"
                    )))
                }
            }
            let state = self.ctx.state_ref();
            let mut guard = state.write();
            guard.config_mut().options_mut().set(name, value.trim())?;
            follow_config(&mut guard, &self.identity)?;
            return Ok(());
        }
        if name == crate::exec::maintenance::RETENTION_CHECK_SETTING
            && value.trim().eq_ignore_ascii_case("false")
        {
            self.access()?
                .require_admin(&format!("turn off the VACUUM retention check ({name})"))?;
        }
        if name == "search_path" {
            // The first schema of the path that exists in the current catalog becomes current.
            let catalog = self.current_catalog();
            let found = value
                .split(',')
                .map(|p| {
                    p.trim()
                        .trim_matches(|c| c == '"' || c == '\'')
                        .to_lowercase()
                })
                .find(|p| matches!(self.state.metastore.get_schema(&catalog, p), Ok(Some(_))));
            match found {
                Some(schema) => self.set_current(&catalog, &schema),
                None => {
                    return Err(EngineError::UndefinedSchema(format!(
                        "no schema of search_path '{value}' exists in catalog '{catalog}'"
                    )))
                }
            }
        }
        if name == "timezone" {
            let state = self.ctx.state_ref();
            let mut guard = state.write();
            guard.config_mut().options_mut().execution.time_zone = Some(value.to_string());
            follow_config(&mut guard, &self.identity)?;
        }
        self.vars.insert(name.to_string(), value.to_string());
        Ok(())
    }

    pub fn variable(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }

    /// Splits a name of 1 to 3 parts into catalog, schema, table using the session defaults.
    pub(crate) fn qualify_table(&self, name: &[String]) -> Result<(String, String, String)> {
        match name {
            [t] => Ok((self.current_catalog(), self.current_schema(), t.clone())),
            [s, t] => Ok((self.current_catalog(), s.clone(), t.clone())),
            [c, s, t] => Ok((c.clone(), s.clone(), t.clone())),
            _ => Err(EngineError::syntax(format!(
                "invalid table name '{}'",
                name.join(".")
            ))),
        }
    }

    pub(crate) fn qualify_schema(&self, name: &[String]) -> Result<(String, String)> {
        match name {
            [s] => Ok((self.current_catalog(), s.clone())),
            [c, s] => Ok((c.clone(), s.clone())),
            _ => Err(EngineError::syntax(format!(
                "invalid schema name '{}'",
                name.join(".")
            ))),
        }
    }

    /// Looks a table up in the metastore, with errors naming what is missing.
    pub(crate) fn lookup_table(&self, c: &str, s: &str, t: &str) -> Result<TableEntry> {
        let m = &self.state.metastore;
        if let Some(e) = m.get_table(c, s, t)? {
            return Ok(e);
        }
        if m.get_catalog(c)?.is_none() {
            return Err(crate::system_tables::catalog::missing_catalog(&c));
        }
        if m.get_schema(c, s)?.is_none() {
            return Err(EngineError::UndefinedSchema(format!(
                "schema '{c}.{s}' does not exist"
            )));
        }
        Err(EngineError::UndefinedTable(format!(
            "table '{c}.{s}.{t}' does not exist"
        )))
    }

    /// A table the user may see (42501 otherwise), listing only the columns it may see.
    pub(crate) fn visible_table(&self, c: &str, s: &str, t: &str) -> Result<TableEntry> {
        let entry = self.lookup_table(c, s, t)?;
        let access = self.access()?;
        if !access.table_visible(&entry)? {
            return Err(crate::access::denied(
                &self.user,
                weir_catalog::Privilege::Select,
                &crate::access::table_securable(&entry),
            ));
        }
        access.restrict_columns(entry)
    }

    /// Checks the user may write a table: MODIFY (with USE CATALOG / USE SCHEMA). Statements
    /// that read the table's rows to rewrite them (`rewrite`: UPDATE, DELETE, MERGE, INSERT
    /// OVERWRITE) evaluate their predicates and assignments on the raw table, so they also need
    /// SELECT on every column, and no mask or row filter may apply to the table.
    pub(crate) fn require_writable(&self, entry: &TableEntry, rewrite: Option<&str>) -> Result<()> {
        let access = self.access()?;
        access.require_on_table(entry, weir_catalog::Privilege::Modify)?;
        if let Some(verb) = rewrite {
            if access.table_read(entry)? != crate::access::TableRead::All {
                return Err(EngineError::PermissionDenied(format!(
                    "permission denied: {verb} reads the rows of {} and needs SELECT on the \
                     whole table; user '{}' lacks it",
                    entry.full_name(),
                    self.user
                )));
            }
            self.require_unprotected_write(&access, entry, verb)?;
        }
        Ok(())
    }

    fn resolve_table_ref(&self, r: &TableReference) -> Result<TableEntry> {
        let parts: Vec<String> = match r {
            TableReference::Bare { table } => vec![table.to_string()],
            TableReference::Partial { schema, table } => {
                vec![schema.to_string(), table.to_string()]
            }
            TableReference::Full {
                catalog,
                schema,
                table,
            } => vec![catalog.to_string(), schema.to_string(), table.to_string()],
        };
        let parts: Vec<String> = parts.into_iter().map(|p| p.to_lowercase()).collect();
        let (c, s, t) = self.qualify_table(&parts)?;
        self.lookup_table(&c, &s, &t)
    }
}

/// The statement text kept for a request (commit metadata, audit): passwords redacted.
/// The text a statement is recorded with (in Delta commits, for observers): its own, with
/// passwords redacted.
fn statement_record(text: &str, statement: &Statement) -> String {
    if matches!(statement, Statement::Governance(g) if g.has_secret())
        || text.to_ascii_uppercase().contains("PASSWORD")
    {
        crate::parser::redact_secrets(text)
    } else {
        text.to_string()
    }
}

/// The name of the field a planning error could not find, if that is what it is.
fn missing_field(e: &datafusion::error::DataFusionError) -> Option<String> {
    use datafusion::common::SchemaError;
    use datafusion::error::DataFusionError as D;
    match e {
        D::SchemaError(se, _) => match se.as_ref() {
            SchemaError::FieldNotFound { field, .. } => Some(field.name.clone()),
            _ => None,
        },
        D::Context(_, inner) | D::Diagnostic(_, inner) => missing_field(inner),
        D::Shared(inner) => missing_field(inner),
        // "No field named t.salary." / "No field named salary. Valid fields are ..."
        D::Plan(msg) => msg.split("No field named ").nth(1).map(|rest| {
            let name = rest.split_whitespace().next().unwrap_or_default();
            let name = name.trim_end_matches(['.', ',']);
            name.rsplit('.')
                .next()
                .unwrap_or(name)
                .trim_matches('"')
                .to_string()
        }),
        _ => None,
    }
}
