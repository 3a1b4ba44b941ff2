//! Column masks and row filters of a table, and the compilation of SQL functions (their bodies)
//! into scalar functions a plan can call.

use std::sync::Arc;

use datafusion::common::DFSchema;
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::{Expr, ScalarUDF};
use weir_catalog::{FunctionEntry, Metastore, TableEntry};
use weir_udfs::SqlFunction;

use crate::error::{EngineError, Result};
use crate::types::parse_spark_type;

/// A policy function bound to the table columns it is called with.
#[derive(Debug, Clone)]
pub struct PolicyCall {
    pub function: FunctionEntry,
    /// Argument columns in order (for a mask, the masked column first).
    pub columns: Vec<String>,
}

/// The masks and row filter of one table.
#[derive(Debug, Clone, Default)]
pub struct TablePolicies {
    /// Masked column → its mask.
    pub masks: Vec<(String, PolicyCall)>,
    pub row_filter: Option<PolicyCall>,
}

fn split_function_name(full: &str) -> Option<(&str, &str, &str)> {
    let mut it = full.splitn(3, '.');
    Some((it.next()?, it.next()?, it.next()?))
}

impl TablePolicies {
    /// Reads a table's policies. A policy whose function is gone makes the table unreadable
    /// (an error) rather than unprotected.
    pub fn load(m: &Metastore, entry: &TableEntry) -> Result<Self> {
        let mut out = TablePolicies::default();
        for p in m.policies_of(&entry.catalog, &entry.schema, &entry.name)? {
            let function = split_function_name(&p.function)
                .map(|(c, s, f)| m.get_function(c, s, f))
                .transpose()?
                .flatten()
                .ok_or_else(|| {
                    EngineError::Internal(format!(
                        "policy function {} of table {} does not exist; the table cannot be read \
                         until the policy is dropped or the function re-created",
                        p.function,
                        entry.full_name()
                    ))
                })?;
            match p.column {
                Some(col) => {
                    let mut columns = vec![col.clone()];
                    columns.extend(p.using_columns);
                    out.masks.push((col, PolicyCall { function, columns }));
                }
                None => {
                    out.row_filter = Some(PolicyCall {
                        function,
                        columns: p.using_columns,
                    })
                }
            }
        }
        Ok(out)
    }

    pub fn is_empty(&self) -> bool {
        self.masks.is_empty() && self.row_filter.is_none()
    }

    pub fn mask_of(&self, column: &str) -> Option<&PolicyCall> {
        self.masks
            .iter()
            .find(|(c, _)| c == column)
            .map(|(_, call)| call)
    }
}

/// Compiles a SQL function's body against its parameters, with the session functions of
/// `state` (so `current_user()` and `is_member()` answer for that session's user).
pub(crate) fn compile_function(state: &SessionState, f: &FunctionEntry) -> Result<ScalarUDF> {
    let params = f
        .params
        .iter()
        .map(|p| Ok((p.name.clone(), parse_spark_type(&p.data_type)?)))
        .collect::<Result<Vec<_>>>()?;
    let return_type = parse_spark_type(&f.return_type)?;
    let schema = SqlFunction::parameter_schema(&params);
    let df_schema = DFSchema::try_from(schema.as_ref().clone())?;
    let body = state
        .create_logical_expr(&f.body, &df_schema)
        .map_err(|e| {
            EngineError::invalid(format!(
                "body of function {} does not plan: {}",
                f.full_name(),
                EngineError::from(e)
            ))
        })?;
    use datafusion::common::tree_node::TreeNode;
    let has_subquery = body
        .exists(|e| {
            Ok(matches!(
                e,
                Expr::ScalarSubquery(_) | Expr::Exists(_) | Expr::InSubquery(_)
            ))
        })
        .unwrap_or(true);
    if has_subquery {
        return Err(EngineError::not_supported(format!(
            "function {}: subqueries in a SQL function body are not supported",
            f.full_name()
        )));
    }
    let physical = state.create_physical_expr(body, &df_schema)?;
    Ok(ScalarUDF::new_from_impl(SqlFunction::new(
        &f.full_name(),
        schema,
        return_type,
        &f.body,
        Arc::clone(&physical),
    )))
}
