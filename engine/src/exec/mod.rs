//! The statement path. A request's text is parsed into typed statements; each one is begun
//! (it gets an id and observers hear of it), executed by its executor, reached from the one
//! match in [`Session::execute_statement`], and ended when its result has been read. The
//! executors check access (`crate::access`), read and change the namespace through the
//! metastore, and write Delta tables through the one commit path (`crate::delta::commit`).

pub(crate) mod call;
pub(crate) mod copy_into;
pub(crate) mod cursor;
pub(crate) mod ddl;
pub(crate) mod dml;
pub(crate) mod governance;
pub(crate) mod history;
pub(crate) mod ingest;
pub(crate) mod insert;
pub(crate) mod maintenance;
pub(crate) mod merge;
pub(crate) mod prepared;
pub(crate) mod query;
pub(crate) mod restore;
pub(crate) mod script;
pub(crate) mod set;
pub(crate) mod show;

use datafusion::common::ParamValues;

use crate::error::{EngineError, Result};
use crate::exec::cursor::cursor_missing;
use crate::output::StatementOutput;
use crate::parser::{Statement, TransactionVerb};
use crate::session::Session;
use crate::statement_kind::StatementKind;

impl Session {
    /// Executes every statement of a query string in order, stopping at the first error. Outputs
    /// of the statements before it are returned with it.
    pub async fn execute_sql(&mut self, sql: &str) -> (Vec<StatementOutput>, Option<EngineError>) {
        self.start_request();
        let statements = match crate::parser::parse_script_in(sql, self.dialect()) {
            Ok(s) => s,
            Err(e) => {
                // Text that does not parse is a statement too, for audit: one that failed.
                self.begin_statement(redacted(sql), None);
                let failed: Result<StatementOutput> = Err(e);
                return (
                    vec![],
                    self.end_statement(StatementKind::Query, failed).err(),
                );
            }
        };
        let count = statements.len();
        let mut out = Vec::with_capacity(count);
        for (i, parsed) in statements.into_iter().enumerate() {
            let stmt = parsed.statement;
            let kind = stmt.kind();
            self.begin_statement(statement_record(&parsed.text, &stmt), Some(kind));
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

    /// A client's request begins: `statement_timeout` bounds it from now (scripts check it
    /// between statements).
    pub(crate) fn start_request(&mut self) {
        self.recover_abandoned_request();
        self.deadline = self
            .variable(set::STATEMENT_TIMEOUT)
            .and_then(|v| set::statement_timeout(&v).ok().flatten())
            .map(|d| tokio::time::Instant::now() + d);
    }

    /// Executes one statement. A name the planner finds no column for may name a variable
    /// (columns win): the statement is then executed again with that name as a reference to
    /// the variable, once per variable.
    pub(crate) async fn execute_statement(
        &mut self,
        stmt: Statement,
        params: Option<ParamValues>,
    ) -> Result<StatementOutput> {
        if !self.with_variables(|v| v.any()) {
            return self.dispatch_statement(stmt, params).await;
        }
        let mut stmt = stmt;
        let mut referenced = Vec::new();
        loop {
            match self.dispatch_statement(stmt.clone(), params.clone()).await {
                Err(e) if self.reference_variable(&e, &mut stmt, &mut referenced) => continue,
                other => return other,
            }
        }
    }

    /// After `error`, makes the name the planner found no column for a reference to the
    /// variable of that name in `stmt`, once per variable; whether it did (and `stmt` is to be
    /// planned again).
    pub(crate) fn reference_variable(
        &self,
        error: &EngineError,
        stmt: &mut Statement,
        referenced: &mut Vec<crate::parser::VariableName>,
    ) -> bool {
        let EngineError::ColumnNotFound {
            qualifier, name, ..
        } = error
        else {
            return false;
        };
        // A CALL's arguments are resolved when evaluated; its error comes from its body,
        // which must not run twice.
        if matches!(stmt, Statement::Call(_) | Statement::Script(_)) {
            return false;
        }
        let var = crate::parser::VariableName {
            qualifier: qualifier.clone(),
            name: name.clone(),
        };
        if !self.with_variables(|v| v.get(&var).is_some()) || referenced.contains(&var) {
            return false;
        }
        if !script::variables::reference_variable(stmt, &var) {
            return false;
        }
        referenced.push(var);
        true
    }

    /// Executes one statement by its executor: the one match every statement goes through.
    async fn dispatch_statement(
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
            | Statement::DescribeSchema { .. }
            | Statement::DescribeProcedure { .. }
            | Statement::ShowProcedures { .. }
            | Statement::DescribeSchedule { .. }
            | Statement::ShowSchedules { .. } => match self.plan_rows(&stmt).await? {
                Some(plan) => self.run_plan(plan).await,
                None => Err(EngineError::Internal(format!(
                    "no result for {:?}",
                    stmt.kind()
                ))),
            },
            Statement::CreateCatalog(s) => {
                self.create_catalog(s).await?;
                Ok(StatementOutput::command(kind))
            }
            Statement::DropCatalog(s) => {
                self.drop_catalog(s).await?;
                Ok(StatementOutput::command(kind))
            }
            Statement::CreateSchema(s) => {
                self.create_schema(s).await?;
                Ok(StatementOutput::command(kind))
            }
            Statement::DropSchema(s) => {
                self.drop_schema(s).await?;
                Ok(StatementOutput::command(kind))
            }
            Statement::UseCatalog(name) => {
                self.use_catalog(name).await?;
                Ok(StatementOutput::command(kind))
            }
            Statement::UseSchema(name) => {
                self.use_schema(name).await?;
                Ok(StatementOutput::command(kind))
            }
            Statement::CreateTable(ct) => {
                let rows = self.create_table(*ct).await?;
                Ok(StatementOutput::Command { kind, rows })
            }
            Statement::CreateView(s) => {
                self.create_view(s).await?;
                Ok(StatementOutput::command(kind))
            }
            Statement::DropTable(s) => {
                self.drop_table(s).await?;
                Ok(StatementOutput::command(kind))
            }
            Statement::AlterTable { name, op } => {
                self.alter_table(&name, op).await?;
                Ok(StatementOutput::command(kind))
            }
            Statement::CommentOn { target, comment } => {
                self.comment_on(target, comment).await?;
                Ok(StatementOutput::command(kind))
            }
            Statement::SetTags { target, tags } => {
                self.set_tags(target, tags).await?;
                Ok(StatementOutput::command(kind))
            }
            Statement::UnsetTags { target, keys } => {
                self.unset_tags(target, keys).await?;
                Ok(StatementOutput::command(kind))
            }
            Statement::Script(s) => self.execute_script(*s).await,
            // Boxed: a procedure's body calls back into this path.
            Statement::Call(c) => Box::pin(self.call(*c)).await,
            Statement::CreateProcedure(c) => {
                self.create_procedure(*c)?;
                Ok(StatementOutput::command(kind))
            }
            Statement::DropProcedure { name, if_exists } => {
                self.drop_procedure(&name, if_exists)?;
                Ok(StatementOutput::command(kind))
            }
            Statement::CopyInto(c) => self.copy_into(*c).await,
            Statement::CreateSchedule(c) => {
                self.create_schedule(*c)?;
                Ok(StatementOutput::command(kind))
            }
            Statement::AlterSchedule { name, action } => {
                self.alter_schedule(&name, action)?;
                Ok(StatementOutput::command(kind))
            }
            Statement::DropSchedule { name, if_exists } => {
                self.drop_schedule(&name, if_exists)?;
                Ok(StatementOutput::command(kind))
            }
            Statement::DropVariable { name, if_exists } => {
                self.drop_variable(&name, if_exists)?;
                Ok(StatementOutput::command(kind))
            }
            Statement::ExternalLocation(ref s) if s.kind().is_read() => {
                match self.plan_rows(&stmt).await? {
                    Some(plan) => self.run_plan(plan).await,
                    None => Err(EngineError::Internal(format!("no result for {kind:?}"))),
                }
            }
            Statement::ExternalLocation(s) => {
                self.change_external_location(*s)?;
                Ok(StatementOutput::command(kind))
            }
        }
    }
}

/// The text a statement is recorded with (in Delta commits, for observers): its own, with
/// passwords redacted.
pub(crate) fn statement_record(text: &str, statement: &Statement) -> String {
    let carries_statements = matches!(
        statement,
        Statement::Script(_)
            | Statement::Call(_)
            | Statement::CreateProcedure(_)
            | Statement::CreateSchedule(_)
    );
    if matches!(statement, Statement::Governance(g) if g.has_secret()) {
        crate::parser::redact_secrets(text)
    } else if carries_statements {
        carried_record(text)
    } else {
        redacted(text)
    }
}

/// The record of text that may carry statements inside its literals (a script's EXECUTE
/// IMMEDIATE 'ALTER USER ...', a call's arguments): where a password may be among them, every
/// literal is redacted.
pub(crate) fn carried_record(text: &str) -> String {
    if text.to_ascii_uppercase().contains("PASSWORD") {
        crate::parser::redact_literals(text)
    } else {
        text.to_string()
    }
}

/// Text that may hold a password (even text that did not parse), with it redacted.
fn redacted(text: &str) -> String {
    if text.to_ascii_uppercase().contains("PASSWORD") {
        crate::parser::redact_secrets(text)
    } else {
        text.to_string()
    }
}
