//! Databricks SQL's meaning of syntax DataFusion plans its own way: an `ExprPlanner` ahead of
//! DataFusion's, present in the states of Databricks-SQL sessions only.
//! - `arr[i]`: arrays are indexed from 0 (DataFusion's `[]` counts from 1, as PostgreSQL
//!   does). By type: arrays get Weir's `subscript`; maps, structs and named fields go on to
//!   DataFusion.
//! - `substring(s, pos[, len])` / `substr(...)` (sqlparser reads both as syntax, which
//!   DataFusion plans as its own `substr`): Spark's, where a negative position counts from the
//!   end.
//! - `a / b` of two integers divides as DOUBLE (`7 / 2` is 3.5; integral division is `a DIV
//!   b`), where DataFusion (and PostgreSQL) divide integrally.

use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DFSchema, ExprSchema, Result};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::planner::{
    ExprPlanner, PlannerResult, RawBinaryExpr, RawFieldAccessExpr,
};
use datafusion::logical_expr::{cast, Expr, ExprSchemable, GetFieldAccess, ScalarUDF};
use datafusion::sql::sqlparser::ast::BinaryOperator;

#[derive(Debug)]
pub(crate) struct DatabricksExprs {
    subscript: Arc<ScalarUDF>,
    substring: Arc<ScalarUDF>,
}

impl Default for DatabricksExprs {
    fn default() -> Self {
        DatabricksExprs {
            subscript: Arc::new(weir_udfs::spark::subscript()),
            substring: datafusion_spark::function::string::substring(),
        }
    }
}

impl ExprPlanner for DatabricksExprs {
    fn plan_binary_op(
        &self,
        expr: RawBinaryExpr,
        schema: &DFSchema,
    ) -> Result<PlannerResult<RawBinaryExpr>> {
        if expr.op != BinaryOperator::Divide {
            return Ok(PlannerResult::Original(expr));
        }
        let integer = |e: &Expr| {
            e.get_type(schema)
                .map(|t| t.is_integer() || t.is_null())
                .unwrap_or(false)
        };
        if !(integer(&expr.left) && integer(&expr.right)) {
            return Ok(PlannerResult::Original(expr));
        }
        // A cast keeps the operand's name: the column is still named `a / b`.
        Ok(PlannerResult::Original(RawBinaryExpr {
            op: expr.op,
            left: cast(expr.left, DataType::Float64),
            right: cast(expr.right, DataType::Float64),
        }))
    }

    fn plan_substring(&self, args: Vec<Expr>) -> Result<PlannerResult<Vec<Expr>>> {
        Ok(PlannerResult::Planned(Expr::ScalarFunction(
            ScalarFunction::new_udf(self.substring.clone(), args),
        )))
    }

    fn plan_field_access(
        &self,
        expr: RawFieldAccessExpr,
        schema: &DFSchema,
    ) -> Result<PlannerResult<RawFieldAccessExpr>> {
        let GetFieldAccess::ListIndex { key } = &expr.field_access else {
            return Ok(PlannerResult::Original(expr));
        };
        let is_array = matches!(
            expr.expr.get_type(schema as &dyn ExprSchema)?,
            DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(_, _)
        );
        if !is_array {
            return Ok(PlannerResult::Original(expr));
        }
        Ok(PlannerResult::Planned(Expr::ScalarFunction(
            ScalarFunction::new_udf(
                self.subscript.clone(),
                vec![expr.expr.clone(), key.as_ref().clone()],
            ),
        )))
    }
}
