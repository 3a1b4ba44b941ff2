//! Standard SQL: planned by DataFusion through `crate::planner` with the session's state, and
//! run: writes (INSERT, UPDATE, DELETE) through the Delta executors, queries as streams.

use datafusion::logical_expr::{DmlStatement, LogicalPlan, WriteOp};

use crate::error::{EngineError, Result};
use crate::output::StatementOutput;
use crate::session::Session;
use crate::statement_kind::StatementKind;

impl Session {
    pub(crate) async fn plan_standard(
        &self,
        stmt: &datafusion::sql::sqlparser::ast::Statement,
    ) -> Result<LogicalPlan> {
        let state = self.ctx.state();
        self.identity.forget_hidden();
        crate::planner::refuse_historic_targets(stmt)?;
        if let Some(plan) = self.plan_aliased_delete(stmt).await? {
            self.note_reads(&plan, &self.current_catalog(), &self.current_schema());
            return Ok(plan);
        }
        let plan = crate::planner::plan_statement(&state, stmt.clone())
            .await
            .map_err(|e| self.hidden_column_error(e))?;
        self.note_reads(&plan, &self.current_catalog(), &self.current_schema());
        Ok(plan)
    }

    pub(crate) async fn plan_query(
        &self,
        query: &datafusion::sql::sqlparser::ast::Query,
    ) -> Result<LogicalPlan> {
        self.plan_standard(&datafusion::sql::sqlparser::ast::Statement::Query(
            Box::new(query.clone()),
        ))
        .await
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
}
