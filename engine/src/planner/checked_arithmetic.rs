//! Integer `+`, `-` and `*` that raise 22003 when the result leaves its type, as PostgreSQL and
//! Databricks SQL (ANSI mode) do: DataFusion's operators wrap around
//! (`CAST(2147483647 AS INT) + 1` would answer -2147483648). A `FunctionRewrite` of the
//! analyzer, by the operands' types: integer operations become Weir's `checked_*` functions;
//! every other operation (decimals, floats, dates, intervals) stays DataFusion's.
//! Upstream DataFusion should offer checked integer arithmetic as an option.

use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::Transformed;
use datafusion::common::{DFSchema, Result};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::expr_rewriter::FunctionRewrite;
use datafusion::logical_expr::{BinaryExpr, Expr, ExprSchemable, Operator, ScalarUDF};

#[derive(Debug)]
pub(crate) struct CheckedIntegerArithmetic {
    add: Arc<ScalarUDF>,
    subtract: Arc<ScalarUDF>,
    multiply: Arc<ScalarUDF>,
}

impl Default for CheckedIntegerArithmetic {
    fn default() -> Self {
        let [add, subtract, multiply] = weir_udfs::spark::checked_operators();
        CheckedIntegerArithmetic {
            add,
            subtract,
            multiply,
        }
    }
}

fn is_integer(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64
    )
}

impl FunctionRewrite for CheckedIntegerArithmetic {
    fn name(&self) -> &str {
        "checked_integer_arithmetic"
    }

    fn rewrite(
        &self,
        expr: Expr,
        schema: &DFSchema,
        _config: &ConfigOptions,
    ) -> Result<Transformed<Expr>> {
        let Expr::BinaryExpr(BinaryExpr { left, op, right }) = &expr else {
            return Ok(Transformed::no(expr));
        };
        let function = match op {
            Operator::Plus => &self.add,
            Operator::Minus => &self.subtract,
            Operator::Multiply => &self.multiply,
            _ => return Ok(Transformed::no(expr)),
        };
        if !(is_integer(&left.get_type(schema)?) && is_integer(&right.get_type(schema)?)) {
            return Ok(Transformed::no(expr));
        }
        Ok(Transformed::yes(Expr::ScalarFunction(
            ScalarFunction::new_udf(
                function.clone(),
                vec![left.as_ref().clone(), right.as_ref().clone()],
            ),
        )))
    }
}
