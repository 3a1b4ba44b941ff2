//! `CREATE [OR REPLACE] VIEW [IF NOT EXISTS] name [COMMENT ...] AS query`: the query is planned
//! now, as its readers will plan it, and stored as written.

use std::collections::BTreeMap;

use datafusion::logical_expr::LogicalPlan;
use weir_catalog::{ColumnEntry, Privilege, TableEntry, TableKind};

use super::now_ms;
use crate::error::{EngineError, Result};
use crate::parser::CreateView;
use crate::session::Session;
use crate::types::spark_type_name;

impl Session {
    /// Creates or replaces the view.
    pub(crate) async fn create_view(&mut self, stmt: CreateView) -> Result<()> {
        let CreateView {
            name,
            or_replace,
            if_not_exists,
            comment,
            query,
            text,
        } = stmt;
        let m = self.state.metastore.clone();
        let user = self.user.clone();
        let (c, s, t) = self.qualify_table(&name)?;
        self.dialect().require_stored_sql("a view")?;
        let access = self.access()?;
        access.require_create(&c, &s, Privilege::CreateTable)?;
        if let Some(existing) = m.get_table(&c, &s, &t)? {
            if if_not_exists {
                return Ok(());
            }
            if or_replace {
                access.require_manage(&crate::access::table_securable(&existing))?;
            }
            if !or_replace {
                return Err(EngineError::Duplicate {
                    sqlstate: "42P07",
                    message: format!("'{c}.{s}.{t}' already exists"),
                });
            }
            if existing.kind != TableKind::View {
                return Err(EngineError::WrongObjectType(format!(
                    "'{c}.{s}.{t}' is a table, not a view"
                )));
            }
        }
        let sql = text;
        // Plan now, as the view's readers will (without the session's variables): a view that
        // does not plan is rejected.
        let plan = crate::planner::plan_query(
            &crate::session::new_session_state(
                &self.state,
                &c,
                &s,
                self.identity.clone(),
                &Default::default(),
                // Stored SQL is Databricks SQL.
                crate::sql_dialect::SqlDialect::Databricks,
            ),
            (*query).clone(),
        )
        .await?;
        self.note_reads(&plan, &c, &s);
        let view_columns: Vec<String> = plan
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        self.note_written_columns(&format!("{c}.{s}.{t}"), &plan, &view_columns, &c, &s);
        if references_table(&plan, &c, &s, &t) {
            return Err(EngineError::invalid(format!(
                "view '{c}.{s}.{t}' cannot reference itself"
            )));
        }
        let columns = plan
            .schema()
            .fields()
            .iter()
            .map(|f| ColumnEntry {
                name: f.name().clone(),
                data_type: spark_type_name(f.data_type()),
                nullable: f.is_nullable(),
                comment: None,
            })
            .collect();
        let now = now_ms();
        let full_name = format!("{c}.{s}.{t}");
        m.create_table(
            &TableEntry {
                id: uuid::Uuid::new_v4().to_string(),
                catalog: c,
                schema: s,
                name: t,
                kind: TableKind::View,
                location: None,
                columns,
                partition_columns: vec![],
                properties: BTreeMap::new(),
                comment,
                view_definition: Some(sql),
                owner: user,
                created_at_ms: now,
                updated_at_ms: now,
            },
            or_replace,
        )?;
        if let Some(statement) = &self.statement {
            self.state.observers.view_defined(statement, &full_name);
        }
        Ok(())
    }
}

/// Whether the plan reads table `c.s.t` (a view may not read itself).
fn references_table(plan: &LogicalPlan, c: &str, s: &str, t: &str) -> bool {
    use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
    let mut found = false;
    let _ = plan.apply(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            let r = &scan.table_name;
            if r.table() == t
                && r.schema().is_none_or(|x| x == s)
                && r.catalog().is_none_or(|x| x == c)
            {
                found = true;
                return Ok(TreeNodeRecursion::Stop);
            }
        }
        Ok(TreeNodeRecursion::Continue)
    });
    found
}
