//! A session: one client connection's state — user, current catalog and schema, settings,
//! cursors, the statement in progress — and the lookups its statements share (names qualified
//! with the session's defaults, tables checked against the user's access). Its statements are
//! executed by `crate::exec`. Both protocol fronts drive sessions the same way.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use datafusion::common::TableReference;
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::prelude::SessionContext;
use weir_catalog::TableEntry;

use crate::engine_state::EngineState;
use crate::error::{EngineError, Result};
use crate::exec::script::variables::{SharedVariables, VariableProvider};
use crate::identity::Identity;
use crate::sql_dialect::SqlDialect;
use crate::statement_kind::StatementKind;

/// Builds the DataFusion state of a session for `identity` in `catalog.schema`, whose
/// statements name `variables` as `@name`.
pub(crate) fn new_session_state(
    state: &Arc<EngineState>,
    catalog: &str,
    schema: &str,
    identity: Arc<Identity>,
    variables: &SharedVariables,
    dialect: SqlDialect,
) -> SessionState {
    use datafusion::logical_expr::var_provider::VarType;
    let mut session =
        crate::session_state::state_for(state, catalog, schema, Arc::default(), identity, dialect);
    session.execution_props_mut().add_var_provider(
        VarType::UserDefined,
        Arc::new(VariableProvider(variables.clone())),
    );
    session
}

/// A statement set aside while the statements of its script run.
pub(crate) struct SetAside {
    statement: Option<Arc<crate::observe::StatementInfo>>,
    end: Option<crate::observe::StatementEnd>,
}

/// An open cursor: the query's result stream, read as the client fetches.
pub(crate) struct Cursor {
    pub schema: SchemaRef,
    /// Behind a mutex only to make `Session` `Sync`; it is reached through `&mut` (`get_mut`).
    pub stream: std::sync::Mutex<SendableRecordBatchStream>,
    /// Rows of the last batch not fetched yet.
    pub pending: Option<arrow::record_batch::RecordBatch>,
    pub hold: bool,
}

pub struct Session {
    pub(crate) state: Arc<EngineState>,
    pub(crate) cursors: HashMap<String, Cursor>,
    pub(crate) ctx: SessionContext,
    pub(crate) user: String,
    id: uuid::Uuid,
    pub(crate) vars: HashMap<String, String>,
    /// Who is connected, and through which front.
    client: crate::observe::ClientInfo,
    /// The statement being executed, recorded in the commits it makes and told to observers.
    pub(crate) statement: Option<Arc<crate::observe::StatementInfo>>,
    /// Its end, until it is told: a statement whose execution was dropped (its client went
    /// away) is told as abandoned when the next one begins or the session closes.
    statement_end: Option<crate::observe::StatementEnd>,
    /// The session's user as the planner's catalogs see it.
    pub(crate) identity: Arc<Identity>,
    /// Session variables, and the locals of the script running.
    pub(crate) variables: SharedVariables,
    /// The run (a script, a procedure call, a job) the statements executed now belong to.
    pub(crate) run: Option<crate::observe::RunInfo>,
    /// Cancels the request being executed (a front's cancel, a job's cancel).
    pub(crate) interrupt: tokio_util::sync::CancellationToken,
    /// When the request being executed must stop (`statement_timeout`).
    pub(crate) deadline: Option<tokio::time::Instant>,
    /// How many procedure calls are running inside one another.
    pub(crate) call_depth: usize,
    /// The background run this session executes (`CALL ASYNC`): its statements count in the
    /// run's progress.
    pub(crate) job_run: Option<uuid::Uuid>,
    /// The schedule this session fires (`catalog.schema.name`): the run its CALL starts is
    /// that schedule's.
    pub(crate) schedule: Option<String>,
    /// Where the notices of the request being executed go (none: nobody listens).
    notices: Option<tokio::sync::mpsc::UnboundedSender<crate::output::Notice>>,
    /// The planning context a procedure call set aside, while one runs: restored by
    /// [`Session::recover_abandoned_request`] if the call's request was dropped before it
    /// ended (its client went away), so that no later request runs with the procedure's rights.
    pub(crate) caller_context: Option<(SessionContext, Arc<Identity>)>,
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
        let variables = SharedVariables::default();
        let ctx = SessionContext::new_with_state(new_session_state(
            &state,
            catalog,
            schema,
            identity.clone(),
            &variables,
            SqlDialect::default(),
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
            variables,
            run: None,
            interrupt: tokio_util::sync::CancellationToken::new(),
            deadline: None,
            call_depth: 0,
            job_run: None,
            schedule: None,
            notices: None,
            caller_context: None,
        }
    }

    /// Sets the token that cancels the requests executed from now on: a front gives each
    /// request its own.
    pub fn set_interrupt(&mut self, token: tokio_util::sync::CancellationToken) {
        self.interrupt = token;
    }

    /// Sets where the notices of the requests executed from now on go: a front that can show
    /// them while a request runs (PostgreSQL's NOTICE) gives each request a channel.
    pub fn set_notice_sink(
        &mut self,
        sink: Option<tokio::sync::mpsc::UnboundedSender<crate::output::Notice>>,
    ) {
        self.notices = sink;
    }

    /// Sends a notice to the client, if one listens.
    pub(crate) fn notice(&self, message: String) {
        if let Some(sink) = &self.notices {
            let _ = sink.send(crate::output::Notice { message });
        }
    }

    /// The error that stops a request cancelled or out of time, if it is.
    pub(crate) fn check_interrupted(&self) -> Result<()> {
        if self.interrupt.is_cancelled()
            || self
                .deadline
                .is_some_and(|d| tokio::time::Instant::now() >= d)
        {
            return Err(self.interruption());
        }
        Ok(())
    }

    /// Why the request stops: a cancel, or `statement_timeout`.
    pub(crate) fn interruption(&self) -> EngineError {
        if self.interrupt.is_cancelled() {
            EngineError::Canceled
        } else {
            EngineError::Coded {
                sqlstate: "57014",
                message: "canceling statement due to statement timeout".into(),
            }
        }
    }

    /// Waits until the request is cancelled or out of time.
    pub(crate) async fn interrupted(&self) {
        match self.deadline {
            Some(d) => tokio::select! {
                _ = self.interrupt.cancelled() => {}
                _ = tokio::time::sleep_until(d) => {}
            },
            None => self.interrupt.cancelled().await,
        }
    }

    /// Undoes what a request dropped in the middle of a script or procedure call left: the
    /// caller's planning context and rights, the call depth, the run, the script's variables.
    /// Called as each request begins.
    pub(crate) fn recover_abandoned_request(&mut self) {
        if let Some((ctx, identity)) = self.caller_context.take() {
            self.ctx = ctx;
            self.identity = identity;
        }
        if self.job_run.is_none() {
            self.call_depth = 0;
            self.run = None;
        }
        self.truncate_variables(0);
    }

    /// Sets the statement running aside while a statement of its script runs.
    pub(crate) fn set_aside_statement(&mut self) -> SetAside {
        SetAside {
            statement: self.statement.take(),
            end: self.statement_end.take(),
        }
    }

    /// Takes back the statement set aside.
    pub(crate) fn restore_statement(&mut self, outer: SetAside) {
        self.statement = outer.statement;
        self.statement_end = outer.end;
    }

    /// The statement being executed (an empty description outside of one).
    pub(crate) fn statement_info(&self) -> Arc<crate::observe::StatementInfo> {
        self.statement
            .clone()
            .unwrap_or_else(|| Arc::new(self.describe_statement(String::new(), None)))
    }

    fn describe_statement(
        &self,
        text: String,
        kind: Option<StatementKind>,
    ) -> crate::observe::StatementInfo {
        crate::observe::StatementInfo {
            id: uuid::Uuid::new_v4(),
            session_id: self.id,
            user: self.user.clone(),
            client: self.client.clone(),
            text,
            kind,
            run: self.run.clone(),
            started_at_ms: chrono::Utc::now().timestamp_millis(),
            started: std::time::Instant::now(),
        }
    }

    /// Starts a statement of `kind` (`None`: its text did not parse): it gets its own id, and
    /// observers hear of it.
    pub(crate) fn begin_statement(&mut self, text: String, kind: Option<StatementKind>) {
        let info = Arc::new(self.describe_statement(text, kind));
        // What was resolved outside of a statement (a Parse, a Describe) is none of its reads.
        self.identity.forget_resolved();
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

    /// Tells observers which metastore tables and views the statement's `plan` reads: those
    /// the planner resolved by name for it (a view is read as the view), less the target of an
    /// INSERT, which is resolved to be written, not read. `catalog.schema` are the defaults the
    /// plan was made with.
    pub(crate) fn note_reads(&self, plan: &LogicalPlan, catalog: &str, schema: &str) {
        use datafusion::common::tree_node::TreeNodeRecursion;
        use datafusion::logical_expr::{DmlStatement, WriteOp};
        let mut reads = self.identity.take_resolved();
        let Some(statement) = &self.statement else {
            return;
        };
        if let LogicalPlan::Dml(DmlStatement {
            table_name,
            op: WriteOp::Insert(_),
            input,
            ..
        }) = plan
        {
            let target = table_name.clone().resolve(catalog, schema);
            let mut scanned = false;
            let _ = input.apply_with_subqueries(|node| {
                if let LogicalPlan::TableScan(scan) = node {
                    if scan.table_name.clone().resolve(catalog, schema) == target {
                        scanned = true;
                        return Ok(TreeNodeRecursion::Stop);
                    }
                }
                Ok(TreeNodeRecursion::Continue)
            });
            if !scanned {
                let name = format!("{}.{}.{}", target.catalog, target.schema, target.table);
                reads.retain(|r| r.name != name);
            }
        }
        if !reads.is_empty() {
            self.state.observers.read(statement, &reads);
        }
    }

    /// Tells observers where the columns of a write to `target` come from: `plan`'s output
    /// columns, in order, become the columns `targets`. `catalog.schema` are the defaults the
    /// plan was made with.
    pub(crate) fn note_written_columns(
        &self,
        target: &str,
        plan: &LogicalPlan,
        targets: &[String],
        catalog: &str,
        schema: &str,
    ) {
        let lineage = self.column_lineage_of(plan, targets, catalog, schema);
        self.note_column_lineage(target, &lineage);
    }

    /// What column lineage needs to name the tables and views of the statement's plans made
    /// with defaults `catalog.schema`.
    pub(crate) fn lineage_names(&self, catalog: &str, schema: &str) -> crate::lineage::PlanNames {
        crate::lineage::PlanNames {
            catalog: catalog.to_string(),
            schema: schema.to_string(),
            views: self.identity.resolved_views(),
        }
    }

    /// The column lineage of `plan`'s output columns, in order, written to columns `targets`.
    pub(crate) fn column_lineage_of(
        &self,
        plan: &LogicalPlan,
        targets: &[String],
        catalog: &str,
        schema: &str,
    ) -> crate::lineage::ColumnLineage {
        let names = self.lineage_names(catalog, schema);
        crate::lineage::ColumnLineage::of_plan(plan, &names, targets)
    }

    /// Tells observers the column lineage of a write to `target`.
    pub(crate) fn note_column_lineage(
        &self,
        target: &str,
        lineage: &crate::lineage::ColumnLineage,
    ) {
        if let Some(statement) = &self.statement {
            self.state
                .observers
                .column_lineage(statement, target, lineage);
        }
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    /// The privileges statements run with as of now (grants change between statements): the
    /// session user's, or inside a `SQL SECURITY DEFINER` procedure its owner's.
    pub(crate) fn access(&self) -> Result<crate::access::Access> {
        crate::access::Access::load(&self.state.metastore, &self.identity.rights)
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

    pub(crate) fn set_current(&self, catalog: &str, schema: &str) {
        let state = self.ctx.state_ref();
        let mut guard = state.write();
        let opts = guard.config_mut().options_mut();
        opts.catalog.default_catalog = catalog.to_string();
        opts.catalog.default_schema = schema.to_string();
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

    pub fn variable(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }

    /// The SQL dialect of the session's statements (`SET weir.dialect`).
    pub fn dialect(&self) -> SqlDialect {
        self.vars
            .get(crate::sql_dialect::DIALECT_SETTING)
            .and_then(|v| SqlDialect::parse(v).ok())
            .unwrap_or_default()
    }

    /// Plans the session's statements in `dialect` from now on: the session's DataFusion
    /// state is made again for it, with the settings the session has made.
    pub(crate) fn use_dialect(&mut self, dialect: SqlDialect) {
        let mut config = self.ctx.state().config().clone();
        config.options_mut().sql_parser.default_null_ordering = dialect.null_ordering().to_string();
        let mut state = new_session_state(
            &self.state,
            &self.current_catalog(),
            &self.current_schema(),
            self.identity.clone(),
            &self.variables,
            dialect,
        );
        *state.config_mut() = config;
        self.ctx = SessionContext::new_with_state(state);
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
        use crate::system_tables::catalog::{system_securable, SYSTEM_CATALOG};
        let access = self.access()?;
        if c == SYSTEM_CATALOG {
            // Weir's own tables are described as listings show them. Its information_schema,
            // like every catalog's, is read but not described.
            if s == crate::system_tables::information_schema::SCHEMA {
                return Err(EngineError::UndefinedSchema(format!(
                    "schema '{c}.{s}' does not exist"
                )));
            }
            let on = system_securable(s, Some(t))?;
            return crate::system_tables::listed::Listed(&access)
                .table(c, s, t)?
                .ok_or_else(|| {
                    crate::access::denied(&self.user, weir_catalog::Privilege::Select, &on)
                });
        }
        let entry = self.lookup_table(c, s, t)?;
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

    pub(crate) fn resolve_table_ref(&self, r: &TableReference) -> Result<TableEntry> {
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
        _ => None,
    }
}
