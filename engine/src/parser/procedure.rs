//! Procedure statements (Databricks syntax): `CREATE [OR REPLACE] PROCEDURE [IF NOT EXISTS]`,
//! `DROP PROCEDURE`, `DESCRIBE PROCEDURE`, `SHOW PROCEDURES`. A body is `BEGIN ... END`, or,
//! for psql (which splits its input at every `;` it does not know to be inside a block), the
//! same text dollar-quoted: `AS $$ BEGIN ... END $$`.

use datafusion::sql::sqlparser::tokenizer::Token;
use weir_catalog::{ParameterMode, ProcedureParam};

use super::script::{Compound, ScriptParser, ScriptStatement};
use super::{Name, Statement, P};
use crate::error::{EngineError, Result};

/// `CREATE [OR REPLACE] PROCEDURE [IF NOT EXISTS] name (params) [characteristics] AS body`
#[derive(Debug, Clone)]
pub struct CreateProcedure {
    pub name: Name,
    pub or_replace: bool,
    pub if_not_exists: bool,
    pub params: Vec<ProcedureParam>,
    /// `SQL SECURITY DEFINER` (the default is INVOKER).
    pub definer: bool,
    pub comment: Option<String>,
    /// The body's text, `BEGIN ... END`, checked to parse.
    pub body: String,
}

/// Parses a procedure statement at the parser's position, or returns `None` consuming nothing.
pub(super) fn parse(p: &mut P<'_, '_>) -> Result<Option<Statement>> {
    if p.peek_is(&["CREATE", "PROCEDURE"]) || p.peek_is(&["CREATE", "OR", "REPLACE", "PROCEDURE"]) {
        p.expect(&["CREATE"])?;
        let or_replace = p.eat(&["OR", "REPLACE"]);
        p.expect(&["PROCEDURE"])?;
        return Ok(Some(Statement::CreateProcedure(Box::new(create(
            p, or_replace,
        )?))));
    }
    if p.eat(&["DROP", "PROCEDURE"]) {
        let if_exists = p.if_exists();
        return Ok(Some(Statement::DropProcedure {
            name: p.name()?,
            if_exists,
        }));
    }
    if p.eat(&["DESCRIBE", "PROCEDURE"]) || p.eat(&["DESC", "PROCEDURE"]) {
        p.eat(&["EXTENDED"]);
        return Ok(Some(Statement::DescribeProcedure { name: p.name()? }));
    }
    if p.eat(&["SHOW", "PROCEDURES"]) {
        let schema = if p.eat(&["IN"]) || p.eat(&["FROM"]) {
            Some(p.name()?)
        } else {
            None
        };
        return Ok(Some(Statement::ShowProcedures {
            schema,
            like: p.like()?,
        }));
    }
    Ok(None)
}

fn create(p: &mut P<'_, '_>, or_replace: bool) -> Result<CreateProcedure> {
    let if_not_exists = p.if_not_exists();
    if or_replace && if_not_exists {
        return Err(EngineError::syntax(
            "CREATE OR REPLACE PROCEDURE cannot also say IF NOT EXISTS",
        ));
    }
    let name = p.name()?;
    p.lparen()?;
    let mut params: Vec<ProcedureParam> = Vec::new();
    if !p.p.consume_token(&Token::RParen) {
        loop {
            let param = parameter(p)?;
            if params.iter().any(|q| q.name == param.name) {
                return Err(EngineError::Coded {
                    sqlstate: "42734",
                    message: format!("parameter {} is declared twice", param.name),
                });
            }
            if param.default.is_none()
                && param.mode != ParameterMode::Out
                && params.iter().any(|q| q.default.is_some())
            {
                return Err(EngineError::Coded {
                    sqlstate: "42601",
                    message: format!(
                        "parameter {} needs a DEFAULT: it follows a parameter with one",
                        param.name
                    ),
                });
            }
            params.push(param);
            if !p.p.consume_token(&Token::Comma) {
                break;
            }
        }
        p.rparen()?;
    }
    let mut definer = false;
    let mut comment = None;
    loop {
        if p.eat(&["LANGUAGE", "SQL"]) {
        } else if p.eat(&["SQL", "SECURITY", "INVOKER"]) {
            definer = false;
        } else if p.eat(&["SQL", "SECURITY", "DEFINER"]) {
            definer = true;
        } else if p.eat(&["COMMENT"]) {
            comment = Some(p.string()?);
        } else if p.eat(&["NOT", "DETERMINISTIC"])
            || p.eat(&["DETERMINISTIC"])
            || p.eat(&["MODIFIES", "SQL", "DATA"])
            || p.eat(&["READS", "SQL", "DATA"])
            || p.eat(&["CONTAINS", "SQL"])
        {
        } else {
            break;
        }
    }
    p.expect(&["AS"])?;
    let body = match p.p.peek_token().token {
        Token::DollarQuotedString(quoted) => {
            p.p.next_token();
            parse_procedure_body(&quoted.value)?;
            quoted.value.trim().to_string()
        }
        _ => {
            let start = p.p.index();
            let mut leaf = super::parse_leaf;
            let statement = ScriptParser::new(&mut leaf).statement(p)?;
            if !matches!(statement, ScriptStatement::Compound(_)) {
                return Err(EngineError::syntax(
                    "a procedure's body is a BEGIN ... END block",
                ));
            }
            p.text_since(start)
        }
    };
    Ok(CreateProcedure {
        name,
        or_replace,
        if_not_exists,
        params,
        definer,
        comment,
        body,
    })
}

/// `[IN | OUT | INOUT] name type [DEFAULT expr] [COMMENT '...']`
fn parameter(p: &mut P<'_, '_>) -> Result<ProcedureParam> {
    let mode = if p.eat(&["INOUT"]) {
        ParameterMode::InOut
    } else if p.eat(&["OUT"]) {
        ParameterMode::Out
    } else {
        p.eat(&["IN"]);
        ParameterMode::In
    };
    let name = p.ident()?;
    let start = p.p.index();
    p.p.parse_data_type()?;
    let type_text = p.text_since(start);
    let data_type = crate::types::spark_type_name(&crate::types::parse_spark_type(&type_text)?);
    let mut default = None;
    let mut comment = None;
    loop {
        if p.eat(&["DEFAULT"]) {
            let start = p.p.index();
            p.p.parse_expr()?;
            default = Some(p.text_since(start));
        } else if p.eat(&["COMMENT"]) {
            comment = Some(p.string()?);
        } else {
            break;
        }
    }
    if mode == ParameterMode::Out && default.is_some() {
        return Err(EngineError::syntax(format!(
            "OUT parameter {name} cannot have a DEFAULT"
        )));
    }
    Ok(ProcedureParam {
        mode,
        name,
        data_type,
        default,
        comment,
    })
}

/// Parses a procedure's stored body (`BEGIN ... END`).
pub fn parse_procedure_body(text: &str) -> Result<Compound> {
    let tokens = super::tokens_of(text)?;
    let mut parser =
        datafusion::sql::sqlparser::parser::Parser::new(&super::WeirDialect::DATABRICKS)
            .with_tokens_with_locations(tokens);
    let mut p = P { p: &mut parser };
    let mut leaf = super::parse_leaf;
    let statement = ScriptParser::new(&mut leaf).statement(&mut p)?;
    while p.p.consume_token(&Token::SemiColon) {}
    if p.p.peek_token().token != Token::EOF {
        return Err(EngineError::syntax(format!(
            "expected the end of the procedure's body, found: {}",
            p.p.peek_token().token
        )));
    }
    match statement {
        ScriptStatement::Compound(c) => Ok(c),
        _ => Err(EngineError::syntax(
            "a procedure's body is a BEGIN ... END block",
        )),
    }
}
