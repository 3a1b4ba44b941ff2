//! Long chains of OR and of UNION / INTERSECT arms, rebuilt as balanced trees.
//!
//! The parser builds `a OR b OR c ...` and `q1 UNION ALL q2 UNION ALL ...` as left-deep trees,
//! as deep as the chain is long, and DataFusion's planning and execution cost grows with that
//! depth (a 10,000-term OR filter, the shape BI tools send for a filter on many values, took
//! minutes). Both operators are associative, so a balanced tree of the same operands in the same
//! order means the same thing and is only `log2(n)` deep. Short chains are left as written, so
//! plans of ordinary statements look as the user wrote them.
//!
//! The chains are taken apart without recursion, so a long one never costs stack here.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    BinaryOperator, Expr, Query, SetExpr, SetOperator, SetQuantifier, Statement, Value, VisitMut,
    VisitorMut,
};

/// Chains shorter than this keep their shape.
const MIN_CHAIN: usize = 32;

/// Rebalances every long OR chain and set-operation chain in `statement`.
pub fn rebalance_statement(statement: &mut Statement) {
    let _ = statement.visit(&mut Rebalancer);
}

/// Rebalances every long chain in `query`.
pub fn rebalance_query(query: &mut Query) {
    let _ = query.visit(&mut Rebalancer);
}

/// Rebalances every long chain in `expr`.
pub fn rebalance_expr(expr: &mut Expr) {
    let _ = expr.visit(&mut Rebalancer);
}

/// The visitor that rebalances; visit any AST node with it.
pub struct Rebalancer;

impl VisitorMut for Rebalancer {
    type Break = ();

    // Before the children are visited: they are then the balanced subtrees.
    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if or_spine(expr) >= MIN_CHAIN {
            let whole = std::mem::replace(expr, Expr::value(Value::Null));
            *expr = balanced_or(or_operands(whole));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        if let SetExpr::SetOperation {
            op: op @ (SetOperator::Union | SetOperator::Intersect),
            set_quantifier,
            ..
        } = query.body.as_ref()
        {
            let (op, quantifier) = (*op, *set_quantifier);
            if set_spine(&query.body, op, quantifier) >= MIN_CHAIN {
                let body = std::mem::replace(query.body.as_mut(), empty_set());
                *query.body = balanced_set(set_arms(body, op, quantifier), op, quantifier);
            }
        }
        ControlFlow::Continue(())
    }
}

/// How many ORs lead down the left side of `expr`: the length of the chain the parser built.
fn or_spine(mut expr: &Expr) -> usize {
    let mut n = 0;
    while let Expr::BinaryOp {
        left,
        op: BinaryOperator::Or,
        ..
    } = expr
    {
        n += 1;
        expr = left;
    }
    n
}

/// How many of the same set operation lead down the left side of `body`.
fn set_spine(mut body: &SetExpr, op: SetOperator, quantifier: SetQuantifier) -> usize {
    let mut n = 0;
    while let SetExpr::SetOperation {
        op: o,
        set_quantifier: q,
        left,
        ..
    } = body
    {
        if *o != op || *q != quantifier {
            break;
        }
        n += 1;
        body = left;
    }
    n
}

fn empty_set() -> SetExpr {
    SetExpr::Values(datafusion::sql::sqlparser::ast::Values {
        explicit_row: false,
        value_keyword: false,
        rows: vec![],
    })
}

/// The operands of a chain of ORs, left to right.
fn or_operands(expr: Expr) -> Vec<Expr> {
    let mut out = Vec::new();
    let mut pending = vec![expr];
    while let Some(e) = pending.pop() {
        match e {
            Expr::BinaryOp {
                left,
                op: BinaryOperator::Or,
                right,
            } => {
                pending.push(*right);
                pending.push(*left);
            }
            other => out.push(other),
        }
    }
    out
}

fn or(left: Expr, right: Expr) -> Expr {
    Expr::BinaryOp {
        left: Box::new(left),
        op: BinaryOperator::Or,
        right: Box::new(right),
    }
}

fn balanced_or(mut operands: Vec<Expr>) -> Expr {
    if operands.len() == 1 {
        return operands.pop().unwrap_or(Expr::value(Value::Null));
    }
    let right = operands.split_off(operands.len() / 2);
    or(balanced_or(operands), balanced_or(right))
}

/// The arms of a chain of the same set operation with the same quantifier, left to right.
fn set_arms(body: SetExpr, op: SetOperator, quantifier: SetQuantifier) -> Vec<SetExpr> {
    let mut out = Vec::new();
    let mut pending = vec![body];
    while let Some(e) = pending.pop() {
        match e {
            SetExpr::SetOperation {
                op: o,
                set_quantifier: q,
                left,
                right,
            } if o == op && q == quantifier => {
                pending.push(*right);
                pending.push(*left);
            }
            other => out.push(other),
        }
    }
    out
}

fn set_op(left: SetExpr, right: SetExpr, op: SetOperator, quantifier: SetQuantifier) -> SetExpr {
    SetExpr::SetOperation {
        op,
        set_quantifier: quantifier,
        left: Box::new(left),
        right: Box::new(right),
    }
}

fn balanced_set(mut arms: Vec<SetExpr>, op: SetOperator, q: SetQuantifier) -> SetExpr {
    if arms.len() <= 1 {
        return arms.pop().unwrap_or_else(empty_set);
    }
    let right = arms.split_off(arms.len() / 2);
    set_op(balanced_set(arms, op, q), balanced_set(right, op, q), op, q)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::sqlparser::dialect::GenericDialect;
    use datafusion::sql::sqlparser::parser::Parser;

    fn parse(sql: &str) -> Statement {
        Parser::parse_sql(&GenericDialect {}, sql)
            .expect("parse")
            .pop()
            .expect("one statement")
    }

    fn or_depth(e: &Expr) -> usize {
        match e {
            Expr::BinaryOp {
                left,
                op: BinaryOperator::Or,
                right,
            } => 1 + or_depth(left).max(or_depth(right)),
            _ => 0,
        }
    }

    #[test]
    fn long_or_chains_become_balanced_in_order() {
        let terms: Vec<String> = (0..1000).map(|i| format!("x = {i}")).collect();
        let mut stmt = parse(&format!("SELECT * FROM t WHERE {}", terms.join(" OR ")));
        rebalance_statement(&mut stmt);
        let Statement::Query(q) = &stmt else {
            panic!("a query")
        };
        let SetExpr::Select(select) = q.body.as_ref() else {
            panic!("a select")
        };
        let predicate = select.selection.as_ref().expect("where");
        assert_eq!(or_depth(predicate), 10);
        // Same operands, same order.
        let mut operands = or_operands(predicate.clone());
        assert_eq!(operands.len(), 1000);
        assert_eq!(operands.remove(0).to_string(), "x = 0");
        assert_eq!(
            operands.pop().map(|e| e.to_string()).as_deref(),
            Some("x = 999")
        );
    }

    #[test]
    fn short_chains_and_other_operators_keep_their_shape() {
        for sql in [
            "SELECT a OR b OR c FROM t",
            "SELECT 1 + 2 + 3",
            "SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3",
            "SELECT 1 EXCEPT SELECT 2 EXCEPT SELECT 3",
        ] {
            let mut stmt = parse(sql);
            rebalance_statement(&mut stmt);
            assert_eq!(stmt.to_string(), parse(sql).to_string());
        }
    }

    #[test]
    fn long_union_chains_become_balanced_and_mixed_quantifiers_stay_apart() {
        let arms: Vec<String> = (0..100).map(|i| format!("SELECT {i}")).collect();
        let mut stmt = parse(&arms.join(" UNION ALL "));
        rebalance_statement(&mut stmt);
        let text = stmt.to_string();
        assert!(text.starts_with("SELECT 0 UNION ALL SELECT 1"), "{text}");
        let Statement::Query(q) = stmt else {
            panic!("a query")
        };
        let arms_after = set_arms(*q.body, SetOperator::Union, SetQuantifier::All);
        assert_eq!(arms_after.len(), 100);
        assert_eq!(arms_after[99].to_string(), "SELECT 99");

        // A UNION (distinct) over a UNION ALL chain is not one chain.
        let sql = format!("{} UNION SELECT 1", arms.join(" UNION ALL "));
        let mut stmt = parse(&sql);
        rebalance_statement(&mut stmt);
        let Statement::Query(q) = stmt else {
            panic!("a query")
        };
        let SetExpr::SetOperation { set_quantifier, .. } = q.body.as_ref() else {
            panic!("a set operation")
        };
        assert_eq!(*set_quantifier, SetQuantifier::None);
    }
}
