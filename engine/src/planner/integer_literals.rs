//! An integer literal in arithmetic with an INT (or narrower) operand, or with another such
//! literal, is an INT, as in Databricks SQL and PostgreSQL: `int_col + 1` stays INT and
//! raises 22003 where it leaves INT's range, `2147483647 + 1` too. DataFusion reads every
//! integer literal as BIGINT, which widened these silently. An `ExprPlanner` in every state,
//! deciding by the other operand's type while the statement is planned; a literal elsewhere
//! (`SELECT 1`, `LIMIT 1`) stays DataFusion's.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DFSchema, Result, ScalarValue};
use datafusion::logical_expr::planner::{ExprPlanner, PlannerResult, RawBinaryExpr};
use datafusion::logical_expr::{Expr, ExprSchemable};
use datafusion::sql::sqlparser::ast::BinaryOperator;

#[derive(Debug, Default)]
pub(crate) struct IntegerLiterals;

/// The INT value of a BIGINT literal (or its negation) that fits one.
fn as_int(e: &Expr) -> Option<Expr> {
    match e {
        Expr::Literal(ScalarValue::Int64(Some(v)), metadata) => i32::try_from(*v)
            .ok()
            .map(|v| Expr::Literal(ScalarValue::Int32(Some(v)), metadata.clone())),
        Expr::Negative(inner) => as_int(inner).map(|i| Expr::Negative(Box::new(i))),
        _ => None,
    }
}

fn int_or_narrower(e: &Expr, schema: &DFSchema) -> bool {
    matches!(
        e.get_type(schema),
        Ok(DataType::Int8 | DataType::Int16 | DataType::Int32)
    )
}

impl ExprPlanner for IntegerLiterals {
    fn plan_binary_op(
        &self,
        expr: RawBinaryExpr,
        schema: &DFSchema,
    ) -> Result<PlannerResult<RawBinaryExpr>> {
        if !matches!(
            expr.op,
            BinaryOperator::Plus
                | BinaryOperator::Minus
                | BinaryOperator::Multiply
                | BinaryOperator::Divide
                | BinaryOperator::Modulo
        ) {
            return Ok(PlannerResult::Original(expr));
        }
        let (left_int, right_int) = (as_int(&expr.left), as_int(&expr.right));
        let (left, right) = match (left_int, right_int) {
            (Some(l), Some(r)) => (l, r),
            (Some(l), None) if int_or_narrower(&expr.right, schema) => (l, expr.right),
            (None, Some(r)) if int_or_narrower(&expr.left, schema) => (expr.left, r),
            _ => return Ok(PlannerResult::Original(expr)),
        };
        Ok(PlannerResult::Original(RawBinaryExpr {
            op: expr.op,
            left,
            right,
        }))
    }
}
