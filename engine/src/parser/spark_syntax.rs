//! Spark SQL syntax DataFusion does not plan, made into what it plans:
//! - typed numeric literals `1Y`, `2S`, `3L`, `1.5F`, `2.5D`, `1.5BD` (TINYINT, SMALLINT,
//!   BIGINT, FLOAT, DOUBLE, DECIMAL) become casts (a token rewrite: the tokenizer reads `3L` as
//!   the number 3 followed by the word `L`, which would otherwise be a column alias);
//! - `a RLIKE p` / `a REGEXP p` become `regexp_like(a, p)`; `a DIV b` becomes `div(a, b)`;
//! - the type `TIMESTAMP_NTZ` (in casts and typed literals) is DataFusion's timestamp without
//!   a time zone.

use datafusion::sql::sqlparser::ast::{
    self, visit_expressions_mut, BinaryOperator, DataType, Expr, TimezoneInfo, UnaryOperator,
};
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan, Whitespace, Word};

/// The SQL type a Spark literal suffix names.
fn suffix_type(suffix: &str) -> Option<&'static str> {
    Some(match suffix.to_ascii_uppercase().as_str() {
        "Y" => "TINYINT",
        "S" => "SMALLINT",
        "L" => "BIGINT",
        "F" => "FLOAT",
        "D" => "DOUBLE",
        "BD" => "DECIMAL",
        _ => return None,
    })
}

fn word(value: &str, keyword: Keyword) -> Token {
    Token::Word(Word {
        value: value.to_string(),
        quote_style: None,
        keyword,
    })
}

/// `3L` → `CAST(3 AS BIGINT)`: a number immediately followed (no space) by a suffix word.
/// `1.5BD` is a DECIMAL of the literal's own precision and scale.
pub(super) fn typed_number_literals(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let mut out = Vec::with_capacity(tokens.len());
    let mut iter = tokens.into_iter().peekable();
    while let Some(t) = iter.next() {
        let Token::Number(number, long) = &t.token else {
            out.push(t);
            continue;
        };
        // The tokenizer reads an upper-case `L` suffix itself (`long`).
        let typed = match iter.peek() {
            _ if *long => Some("BIGINT"),
            Some(next) if next.span.start == t.span.end && t.span.end.line > 0 => match &next.token
            {
                Token::Word(w) if w.quote_style.is_none() => suffix_type(&w.value),
                _ => None,
            },
            _ => None,
        };
        let Some(type_name) = typed else {
            out.push(t);
            continue;
        };
        if !*long {
            iter.next();
        }
        let mut cast_type = type_name.to_string();
        if type_name == "DECIMAL" {
            let digits = number.chars().filter(|c| c.is_ascii_digit()).count().max(1);
            let scale = number.split_once('.').map(|(_, f)| f.len()).unwrap_or(0);
            cast_type = format!("DECIMAL({},{scale})", digits.max(scale));
        }
        let plain = |token: Token| TokenWithSpan::wrap(token);
        out.push(plain(word("CAST", Keyword::CAST)));
        out.push(plain(Token::LParen));
        out.push(plain(Token::Number(number.clone(), false)));
        out.push(plain(Token::Whitespace(Whitespace::Space)));
        out.push(plain(word("AS", Keyword::AS)));
        out.push(plain(Token::Whitespace(Whitespace::Space)));
        // The type's own tokens, read by the tokenizer.
        if let Ok(type_tokens) = datafusion::sql::sqlparser::tokenizer::Tokenizer::new(
            &super::WeirDialect::POSTGRESQL,
            &cast_type,
        )
        .tokenize()
        {
            out.extend(type_tokens.into_iter().map(plain));
        }
        out.push(plain(Token::RParen));
    }
    out
}

/// The column list of `LATERAL VIEW g(...) name` when none is written and a clause follows
/// (sqlparser would read `ORDER`, `LIMIT`, `UNION`, ... as a column name).
pub const NO_LATERAL_VIEW_COLUMNS: &str = "__weir_no_columns";

/// `LATERAL VIEW [OUTER] g(...) name ORDER BY ...` → `... name AS __weir_no_columns ORDER BY`:
/// marks "no column names" where a clause keyword follows the lateral view's name.
pub(super) fn lateral_view_clause_keywords(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    const CLAUSES: &[Keyword] = &[
        Keyword::ORDER,
        Keyword::LIMIT,
        Keyword::OFFSET,
        Keyword::FETCH,
        Keyword::UNION,
        Keyword::INTERSECT,
        Keyword::EXCEPT,
        Keyword::MINUS,
        Keyword::WINDOW,
        Keyword::QUALIFY,
        Keyword::SORT,
        Keyword::DISTRIBUTE,
        Keyword::JOIN,
        Keyword::INNER,
        Keyword::LEFT,
        Keyword::RIGHT,
        Keyword::FULL,
        Keyword::CROSS,
        Keyword::ON,
    ];
    let significant = |t: &TokenWithSpan| !matches!(t.token, Token::Whitespace(_));
    let is_keyword = |t: &TokenWithSpan, k: Keyword| matches!(&t.token, Token::Word(w) if w.keyword == k && w.quote_style.is_none());
    let positions: Vec<usize> = (0..tokens.len())
        .filter(|&i| significant(&tokens[i]))
        .collect();
    let mut inserts = Vec::new();
    for (p, &i) in positions.iter().enumerate() {
        let next = |k: usize| positions.get(p + k).map(|&j| &tokens[j]);
        if !is_keyword(&tokens[i], Keyword::LATERAL)
            || !next(1).is_some_and(|t| is_keyword(t, Keyword::VIEW))
        {
            continue;
        }
        let mut q = p + 2;
        if positions
            .get(q)
            .is_some_and(|&j| is_keyword(&tokens[j], Keyword::OUTER))
        {
            q += 1;
        }
        // The generator's name, then its parenthesised arguments.
        q += 1;
        if !positions
            .get(q)
            .is_some_and(|&j| tokens[j].token == Token::LParen)
        {
            continue;
        }
        let mut depth = 0usize;
        while let Some(&j) = positions.get(q) {
            match tokens[j].token {
                Token::LParen => depth += 1,
                Token::RParen => depth = depth.saturating_sub(1),
                _ => {}
            }
            q += 1;
            if depth == 0 {
                break;
            }
        }
        // The view's name, then a clause keyword.
        let (Some(&name), Some(&after)) = (positions.get(q), positions.get(q + 1)) else {
            continue;
        };
        if matches!(tokens[name].token, Token::Word(_))
            && CLAUSES.iter().any(|&k| is_keyword(&tokens[after], k))
        {
            inserts.push(name + 1);
        }
    }
    let mut out = Vec::with_capacity(tokens.len() + inserts.len() * 4);
    let mut inserts = inserts.into_iter().peekable();
    for (i, t) in tokens.into_iter().enumerate() {
        if inserts.peek() == Some(&i) {
            inserts.next();
            let plain = TokenWithSpan::wrap;
            out.push(plain(Token::Whitespace(Whitespace::Space)));
            out.push(plain(word("AS", Keyword::AS)));
            out.push(plain(Token::Whitespace(Whitespace::Space)));
            out.push(plain(word(NO_LATERAL_VIEW_COLUMNS, Keyword::NoKeyword)));
            out.push(plain(Token::Whitespace(Whitespace::Space)));
        }
        out.push(t);
    }
    out
}

/// Spark's `exists(array, x -> predicate)` → `array_any_match(...)`: sqlparser reads `EXISTS (`
/// as a subquery, which this is not when no `SELECT`, `WITH`, `VALUES` or `(` follows.
pub(super) fn exists_calls(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let significant: Vec<usize> = (0..tokens.len())
        .filter(|&i| !matches!(tokens[i].token, Token::Whitespace(_)))
        .collect();
    let mut calls = Vec::new();
    for (p, &i) in significant.iter().enumerate() {
        let is_exists = matches!(&tokens[i].token, Token::Word(w) if w.keyword == Keyword::EXISTS && w.quote_style.is_none());
        if !is_exists
            || !significant
                .get(p + 1)
                .is_some_and(|&j| tokens[j].token == Token::LParen)
        {
            continue;
        }
        let subquery = match significant.get(p + 2).map(|&j| &tokens[j].token) {
            Some(Token::Word(w)) => {
                matches!(w.keyword, Keyword::SELECT | Keyword::WITH | Keyword::VALUES)
            }
            Some(Token::LParen) | None => true,
            Some(_) => false,
        };
        if !subquery {
            calls.push(i);
        }
    }
    let mut tokens = tokens;
    for i in calls {
        tokens[i] = TokenWithSpan::wrap(word("array_any_match", Keyword::NoKeyword));
    }
    tokens
}

fn call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Function(super::spark_functions::function(name, args, vec![]))
}

fn ntz_to_timestamp(data_type: &mut DataType) {
    if let DataType::TimestampNtz(precision) = data_type {
        *data_type = DataType::Timestamp(*precision, TimezoneInfo::None);
    }
}

/// The expression rewrites of the module comment, over every expression of `stmt`.
pub(super) fn rewrite_spark_expressions(stmt: &mut ast::Statement) {
    let _ = visit_expressions_mut(stmt, |e| {
        match e {
            Expr::RLike {
                negated,
                expr,
                pattern,
                ..
            } => {
                let matched = call(
                    "regexp_like",
                    vec![expr.as_ref().clone(), pattern.as_ref().clone()],
                );
                *e = if *negated {
                    Expr::UnaryOp {
                        op: UnaryOperator::Not,
                        expr: Box::new(Expr::Nested(Box::new(matched))),
                    }
                } else {
                    matched
                };
            }
            Expr::BinaryOp {
                left,
                op: BinaryOperator::MyIntegerDivide,
                right,
            } => {
                *e = call("div", vec![left.as_ref().clone(), right.as_ref().clone()]);
            }
            Expr::Cast { data_type, .. } => ntz_to_timestamp(data_type),
            Expr::TypedString(ts) => ntz_to_timestamp(&mut ts.data_type),
            Expr::CompoundFieldAccess { root, access_chain }
                if !matches!(
                    root.as_ref(),
                    Expr::Identifier(_) | Expr::CompoundIdentifier(_)
                ) =>
            {
                fields_as_subscripts(access_chain)
            }
            _ => {}
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

/// `f(x).field` → `f(x)['field']`: DataFusion reads a dot after an expression other than a
/// column name only with a string.
fn fields_as_subscripts(access_chain: &mut [ast::AccessExpr]) {
    for access in access_chain.iter_mut() {
        if let ast::AccessExpr::Dot(Expr::Identifier(field)) = access {
            *access = ast::AccessExpr::Subscript(ast::Subscript::Index {
                index: Expr::value(ast::Value::SingleQuotedString(field.value.clone())),
            });
        }
    }
}
