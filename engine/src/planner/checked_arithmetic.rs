//! Integer `+`, `-` and `*` that raise 22003 when the result leaves its type, and DOUBLE `/`
//! that raises 22012 for a zero divisor, as PostgreSQL and Databricks SQL (ANSI mode) do:
//! DataFusion's operators wrap around (`CAST(2147483647 AS INT) + 1` would answer
//! -2147483648) and divide by zero into infinities. An analyzer rule after type
//! coercion: integer operations become Weir's `checked_*` functions, by the operands' types;
//! every other operation (decimals, floats, dates, intervals) stays DataFusion's. Types are
//! carried up the expression as it is rewritten, so a chain of 2,000 additions is typed once
//! per node, not once per ancestor. Upstream DataFusion should offer checked integer
//! arithmetic as an option.

use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, Result};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::type_coercion::binary::BinaryTypeCoercer;
use datafusion::logical_expr::utils::merge_schema;
use datafusion::logical_expr::{BinaryExpr, Expr, ExprSchemable, LogicalPlan, Operator, ScalarUDF};
use datafusion::optimizer::AnalyzerRule;

#[derive(Debug)]
pub(crate) struct CheckedIntegerArithmetic {
    add: Arc<ScalarUDF>,
    subtract: Arc<ScalarUDF>,
    multiply: Arc<ScalarUDF>,
    divide: Arc<ScalarUDF>,
}

impl Default for CheckedIntegerArithmetic {
    fn default() -> Self {
        let [add, subtract, multiply] = weir_udfs::spark::checked_operators();
        CheckedIntegerArithmetic {
            add,
            subtract,
            multiply,
            divide: weir_udfs::spark::checked_divide(),
        }
    }
}

fn integer_rank(t: &DataType) -> Option<u8> {
    match t {
        DataType::Int8 => Some(1),
        DataType::Int16 => Some(2),
        DataType::Int32 => Some(3),
        DataType::Int64 => Some(4),
        _ => None,
    }
}

impl CheckedIntegerArithmetic {
    /// `expr` with its integer arithmetic checked, and its type when that was found on the way
    /// (an arithmetic operation's).
    fn rewrite(&self, expr: Expr, schema: &DFSchema) -> Result<(Expr, Option<DataType>)> {
        match expr {
            Expr::BinaryExpr(BinaryExpr { left, op, right })
                if matches!(
                    op,
                    Operator::Plus | Operator::Minus | Operator::Multiply | Operator::Divide
                ) =>
            {
                let (left, left_type) = self.rewrite(*left, schema)?;
                let (right, right_type) = self.rewrite(*right, schema)?;
                let left_type = match left_type {
                    Some(t) => t,
                    None => left.get_type(schema)?,
                };
                let right_type = match right_type {
                    Some(t) => t,
                    None => right.get_type(schema)?,
                };
                match (integer_rank(&left_type), integer_rank(&right_type)) {
                    // DOUBLE and FLOAT division by zero is an error, not an infinity.
                    _ if op == Operator::Divide
                        && left_type == right_type
                        && matches!(left_type, DataType::Float64 | DataType::Float32) =>
                    {
                        use datafusion::logical_expr::cast;
                        let divided = if left_type == DataType::Float32 {
                            let divided = Expr::ScalarFunction(ScalarFunction::new_udf(
                                self.divide.clone(),
                                vec![
                                    cast(left, DataType::Float64),
                                    cast(right, DataType::Float64),
                                ],
                            ));
                            cast(divided, DataType::Float32)
                        } else {
                            Expr::ScalarFunction(ScalarFunction::new_udf(
                                self.divide.clone(),
                                vec![left, right],
                            ))
                        };
                        Ok((divided, Some(left_type)))
                    }
                    // Integer division stays DataFusion's (a zero divisor is its error).
                    (Some(_), Some(_)) if op == Operator::Divide => {
                        let result = BinaryTypeCoercer::new(&left_type, &op, &right_type)
                            .get_result_type()?;
                        Ok((
                            Expr::BinaryExpr(BinaryExpr::new(Box::new(left), op, Box::new(right))),
                            Some(result),
                        ))
                    }
                    (Some(l), Some(r)) => {
                        let function = match op {
                            Operator::Plus => &self.add,
                            Operator::Minus => &self.subtract,
                            _ => &self.multiply,
                        };
                        let result = if l >= r { left_type } else { right_type };
                        Ok((
                            Expr::ScalarFunction(ScalarFunction::new_udf(
                                function.clone(),
                                vec![left, right],
                            )),
                            Some(result),
                        ))
                    }
                    _ => {
                        // Typed from the operands' types: asking the expression would type
                        // the whole chain below it again.
                        let result = BinaryTypeCoercer::new(&left_type, &op, &right_type)
                            .get_result_type()?;
                        Ok((
                            Expr::BinaryExpr(BinaryExpr::new(Box::new(left), op, Box::new(right))),
                            Some(result),
                        ))
                    }
                }
            }
            other => {
                let rewritten = other.map_children(|child| {
                    self.rewrite(child, schema)
                        .map(|(e, _)| Transformed::yes(e))
                })?;
                Ok((rewritten.data, None))
            }
        }
    }
}

impl AnalyzerRule for CheckedIntegerArithmetic {
    fn name(&self) -> &str {
        "checked_integer_arithmetic"
    }

    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(|plan| {
            let mut schema = merge_schema(&plan.inputs());
            if let LogicalPlan::TableScan(scan) = &plan {
                schema.merge(scan.projected_schema.as_ref());
            }
            let has_arithmetic = plan.expressions().iter().any(|e| {
                e.exists(|e| {
                    Ok(matches!(
                        e,
                        Expr::BinaryExpr(BinaryExpr {
                            op: Operator::Plus
                                | Operator::Minus
                                | Operator::Multiply
                                | Operator::Divide,
                            ..
                        })
                    ))
                })
                .unwrap_or(true)
            });
            if !has_arithmetic {
                return Ok(Transformed::no(plan));
            }
            // Names stay what they were (`a + 1`, not `checked_add(a, 1)`).
            let names = datafusion::logical_expr::expr_rewriter::NamePreserver::new(&plan);
            plan.map_expressions(|e| {
                let saved = names.save(&e);
                let (rewritten, _) = self.rewrite(e, &schema)?;
                Ok(Transformed::yes(saved.restore(rewritten)))
            })
        })
        .map(|t| t.data)
    }
}
