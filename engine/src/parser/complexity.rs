//! How deeply a statement may nest, checked on its tokens before anything recursive sees it.
//!
//! sqlparser builds chains of infix operators (`a OR b OR ...`, `1 + 1 + ...`, `x || y || ...`)
//! and of set operations (`SELECT 1 UNION ALL SELECT 2 ...`) in a loop, so the parser itself
//! accepts any length; but the tree it returns is as deep as the chain is long, and everything
//! after it (rewrites, planning, optimising, execution, even dropping the tree) recurses over
//! it. Rather than let a long statement exhaust a thread's stack, the statement's nesting is
//! bounded here, from its tokens and without recursion, and a statement past the bound is
//! refused with SQLSTATE 54001 (statement_too_complex), as PostgreSQL refuses one that exceeds
//! its stack depth limit.
//!
//! The bound over-approximates the depth of the tree: it counts, along every path of nested
//! brackets, the operator tokens of the expression being built (keywords and symbols; a list
//! separator or a clause keyword starts a new sibling expression), the ORs, the set operations
//! and the joins. Each level of a chain costs at least one such token, so the real depth is never
//! larger.
//!
//! A second, lower bound applies to one chain of operators other than OR (`+`, `||`, AND, ...):
//! OR chains and UNION / INTERSECT chains are rebalanced after parsing (see `rebalance`), but
//! DataFusion's cost for the others grows faster than quadratically with their length (in a
//! debug build, 1,000 ANDs took 16 s and 2,000 took 76 s; 4,000 additions 82 s), so they are bounded by length.

use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan};

use crate::error::{EngineError, Result};

/// The deepest nesting a statement may have, counted as described in the module doc. Chains of
/// 10,000 comparisons joined by OR (`id = 0 OR id = 1 OR ...`, two tokens a link) fit; the
/// threads that run statements have stack for well beyond it (see the server's runtime).
pub const MAX_STATEMENT_DEPTH: usize = 32_768;

/// The most operator tokens one expression may chain, ORs aside (`a + b + ...` of 2,048 terms;
/// 1,024 comparisons joined by AND). Past it DataFusion's planning takes tens of seconds.
pub const MAX_OPERATOR_CHAIN: usize = 2_048;

/// One level of brackets.
#[derive(Default)]
struct Level {
    /// The depth at which this level's content starts.
    base: usize,
    /// Operator tokens of the expression being built since the last separator or OR.
    chain: usize,
    /// ORs of the expression being built.
    ors: usize,
    /// Set operations (UNION, INTERSECT, EXCEPT) and joins at this level: each nests the
    /// query built so far one level deeper.
    nesting: usize,
    /// Whether the current clause is a FROM list, whose commas are joins.
    in_from: bool,
}

impl Level {
    fn depth(&self) -> usize {
        self.base + self.nesting + self.ors + self.chain
    }
}

/// Refuses with 54001 a statement that nests deeper than `max_depth` or chains more than
/// `max_chain` operators in one expression.
pub fn check_depth(tokens: &[TokenWithSpan], max_depth: usize, max_chain: usize) -> Result<()> {
    let bound = nesting_bound(tokens, max_depth, max_chain);
    if bound.depth > max_depth {
        return Err(EngineError::StatementTooComplex(format!(
            "statement too complex: it nests more than {max_depth} levels deep; split it into \
             several statements"
        )));
    }
    if bound.chain > max_chain {
        return Err(EngineError::StatementTooComplex(format!(
            "statement too complex: an expression chains more than {max_chain} operators; \
             write a long list of comparisons as IN (...) / NOT IN (...), or split the statement"
        )));
    }
    Ok(())
}

/// The largest nesting and the longest operator chain of a token stream.
#[derive(Debug, Default, PartialEq)]
struct Bound {
    depth: usize,
    chain: usize,
}

/// Keywords that join or extend an expression (sqlparser's infix and postfix operators, and
/// the keywords inside them), so a chain of them nests.
fn is_operator_keyword(k: Keyword) -> bool {
    matches!(
        k,
        Keyword::AND
            | Keyword::XOR
            | Keyword::NOT
            | Keyword::IS
            | Keyword::NOTNULL
            | Keyword::IN
            | Keyword::BETWEEN
            | Keyword::LIKE
            | Keyword::ILIKE
            | Keyword::SIMILAR
            | Keyword::REGEXP
            | Keyword::RLIKE
            | Keyword::MATCH
            | Keyword::MEMBER
            | Keyword::OPERATOR
            | Keyword::OVERLAPS
            | Keyword::DIV
            | Keyword::MOD
            | Keyword::AT
            | Keyword::COLLATE
            | Keyword::ESCAPE
            | Keyword::ANY
            | Keyword::ALL
            | Keyword::SOME
    )
}

/// The bounds of a token stream; stops counting once past a limit.
fn nesting_bound(tokens: &[TokenWithSpan], max_depth: usize, max_chain: usize) -> Bound {
    let mut levels = vec![Level::default()];
    let mut bound = Bound::default();
    let mut after_bracket = false;
    for token in tokens {
        let top = levels.len() - 1;
        let previous_was_bracket = after_bracket;
        after_bracket = matches!(token.token, Token::RParen | Token::RBracket);
        let after_bracket = previous_was_bracket;
        match &token.token {
            Token::Whitespace(_) | Token::EOF => continue,
            Token::SemiColon => {
                levels.truncate(1);
                levels[0] = Level::default();
                continue;
            }
            Token::LParen | Token::LBracket | Token::LBrace => {
                let base = levels[top].depth() + 1;
                levels.push(Level {
                    base,
                    ..Level::default()
                });
            }
            Token::RParen | Token::RBracket | Token::RBrace => {
                if levels.len() > 1 {
                    levels.pop();
                }
                // The bracketed group is one operand of the expression around it.
                continue;
            }
            Token::Comma => {
                let level = &mut levels[top];
                level.chain = 0;
                if level.in_from {
                    level.nesting += 1;
                }
            }
            Token::Word(w) => {
                let level = &mut levels[top];
                match w.keyword {
                    Keyword::UNION | Keyword::INTERSECT | Keyword::EXCEPT | Keyword::MINUS => {
                        level.nesting += 1;
                        level.chain = 0;
                        level.in_from = false;
                    }
                    Keyword::OR => {
                        level.ors += 1;
                        level.chain = 0;
                    }
                    Keyword::JOIN => {
                        level.nesting += 1;
                        level.chain = 0;
                    }
                    Keyword::FROM => {
                        level.chain = 0;
                        level.in_from = true;
                    }
                    // Clause keywords start a new expression beside the previous one.
                    Keyword::SELECT
                    | Keyword::WHERE
                    | Keyword::GROUP
                    | Keyword::HAVING
                    | Keyword::QUALIFY
                    | Keyword::WINDOW
                    | Keyword::ORDER
                    | Keyword::LIMIT
                    | Keyword::OFFSET
                    | Keyword::VALUES
                    | Keyword::SET
                    | Keyword::RETURNING => {
                        level.chain = 0;
                        level.in_from = false;
                    }
                    Keyword::ON
                    | Keyword::USING
                    | Keyword::WHEN
                    | Keyword::THEN
                    | Keyword::ELSE => {
                        level.chain = 0;
                    }
                    k if w.quote_style.is_none() && is_operator_keyword(k) => level.chain += 1,
                    // Names and values (`id`, `name`, `NULL`, `DATE '...'`) add no depth.
                    _ => {}
                }
            }
            // `f(x).g(y)...`: access on a call's result nests it.
            Token::Period if after_bracket => levels[top].chain += 1,
            // Literals, placeholders and name separators add no depth.
            Token::Number(..)
            | Token::Char(_)
            | Token::SingleQuotedString(_)
            | Token::DoubleQuotedString(_)
            | Token::TripleSingleQuotedString(_)
            | Token::TripleDoubleQuotedString(_)
            | Token::DollarQuotedString(_)
            | Token::SingleQuotedByteStringLiteral(_)
            | Token::DoubleQuotedByteStringLiteral(_)
            | Token::TripleSingleQuotedByteStringLiteral(_)
            | Token::TripleDoubleQuotedByteStringLiteral(_)
            | Token::SingleQuotedRawStringLiteral(_)
            | Token::DoubleQuotedRawStringLiteral(_)
            | Token::TripleSingleQuotedRawStringLiteral(_)
            | Token::TripleDoubleQuotedRawStringLiteral(_)
            | Token::NationalStringLiteral(_)
            | Token::EscapedStringLiteral(_)
            | Token::UnicodeStringLiteral(_)
            | Token::HexStringLiteral(_)
            | Token::Placeholder(_)
            | Token::Period => {}
            // Every other token is an operator symbol.
            _ => levels[top].chain += 1,
        }
        let level = &levels[levels.len() - 1];
        bound.depth = bound.depth.max(level.depth());
        bound.chain = bound.chain.max(level.chain);
        if bound.depth > max_depth || bound.chain > max_chain {
            break;
        }
    }
    bound
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::sqlparser::dialect::GenericDialect;
    use datafusion::sql::sqlparser::tokenizer::Tokenizer;

    fn bound(sql: &str) -> usize {
        let tokens = Tokenizer::new(&GenericDialect {}, sql)
            .tokenize_with_location()
            .expect("tokenize");
        nesting_bound(&tokens, usize::MAX, usize::MAX).depth
    }

    fn chain(sql: &str) -> usize {
        let tokens = Tokenizer::new(&GenericDialect {}, sql)
            .tokenize_with_location()
            .expect("tokenize");
        nesting_bound(&tokens, usize::MAX, usize::MAX).chain
    }

    fn joined(term: &str, sep: &str, n: usize) -> String {
        (0..n)
            .map(|i| term.replace("{i}", &i.to_string()))
            .collect::<Vec<_>>()
            .join(sep)
    }

    #[test]
    fn chains_count_one_per_operator() {
        assert_eq!(bound(&format!("SELECT {}", joined("1", "+", 100))), 99);
        assert_eq!(
            bound(&format!(
                "SELECT * FROM t WHERE {}",
                joined("x = {i}", " OR ", 100)
            )),
            99 + 1
        );
        assert_eq!(
            bound(&joined("SELECT 1", " UNION ALL ", 100)),
            99 + 1 // the nesting of the UNIONs plus ALL
        );
    }

    #[test]
    fn ors_split_chains_but_count_as_nesting() {
        let ors = format!("SELECT * FROM t WHERE {}", joined("x = {i}", " OR ", 100));
        assert_eq!(chain(&ors), 1);
        let ands = format!("SELECT * FROM t WHERE {}", joined("x <> {i}", " AND ", 100));
        assert_eq!(chain(&ands), 199);
        assert_eq!(chain(&format!("SELECT {}", joined("1", " + ", 100))), 99);
    }

    #[test]
    fn lists_and_case_branches_are_flat() {
        let in_list = format!(
            "SELECT * FROM t WHERE x IN ({})",
            joined("{i}", ", ", 10_000)
        );
        assert!(bound(&in_list) < 5, "{}", bound(&in_list));
        let case = format!(
            "SELECT CASE {} ELSE 0 END FROM t",
            joined("WHEN x = {i} THEN {i}", " ", 10_000)
        );
        assert!(bound(&case) < 5, "{}", bound(&case));
        let columns = format!("SELECT {} FROM t", joined("a + {i}", ", ", 10_000));
        assert!(bound(&columns) < 5);
    }

    #[test]
    fn brackets_add_to_the_enclosing_chain() {
        // 3 operators outside, 1 bracket level, 2 inside.
        assert_eq!(bound("SELECT 1 + 1 + 1 + (1 + 1 + 1)"), 3 + 1 + 2);
        // Statements are counted separately.
        assert_eq!(bound("SELECT 1 + 1; SELECT 1"), 1);
    }

    #[test]
    fn from_lists_and_joins_nest() {
        assert_eq!(
            bound(&format!("SELECT 1 FROM {}", joined("t{i}", ", ", 50))),
            49
        );
        assert_eq!(
            bound(&format!(
                "SELECT 1 FROM t {}",
                joined("JOIN u{i} ON a = b", " ", 50)
            )),
            50 + 1
        );
    }

    #[test]
    fn over_the_limit_is_54001() {
        let tokens = Tokenizer::new(
            &GenericDialect {},
            &format!("SELECT {}", joined("1", "+", 50)),
        )
        .tokenize_with_location()
        .expect("tokenize");
        let err = check_depth(&tokens, 10, 100).unwrap_err();
        assert_eq!(err.sqlstate(), "54001");
        let err = check_depth(&tokens, 100, 10).unwrap_err();
        assert_eq!(err.sqlstate(), "54001");
        assert!(check_depth(&tokens, 100, 100).is_ok());
    }
}
