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
        let typed = match iter.peek() {
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
        iter.next();
        let mut cast_type = type_name.to_string();
        if type_name == "DECIMAL" {
            let digits = number.chars().filter(|c| c.is_ascii_digit()).count().max(1);
            let scale = number.split_once('.').map(|(_, f)| f.len()).unwrap_or(0);
            cast_type = format!("DECIMAL({},{scale})", digits.max(scale));
        }
        let plain = |token: Token| TokenWithSpan::wrap(token);
        out.push(plain(word("CAST", Keyword::CAST)));
        out.push(plain(Token::LParen));
        out.push(plain(Token::Number(number.clone(), *long)));
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
            _ => {}
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}
