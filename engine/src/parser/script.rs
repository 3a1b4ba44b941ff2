//! SQL scripting (Databricks' compound statements): `BEGIN ... END` blocks with variables,
//! handlers and conditions, IF / CASE / WHILE / REPEAT / LOOP / FOR, LEAVE / ITERATE,
//! SIGNAL, EXECUTE IMMEDIATE, session variables and CALL. Control flow is parsed here into
//! [`ScriptStatement`]s; every other statement of a body is a leaf parsed as a client's
//! statement would be, so that it runs through the one statement path.
//!
//! Labels are checked as the body is parsed: LEAVE and ITERATE must name an enclosing block
//! or loop (ITERATE a loop), a label is not reused inside itself, and an end label repeats its
//! begin label (42K0L, Databricks' INVALID_LABEL_USAGE).

use datafusion::sql::sqlparser::ast;
use datafusion::sql::sqlparser::tokenizer::Token;

use super::{word_of, ParsedStatement, P};
use crate::error::{EngineError, Result};

/// A variable as a statement names it: `name`, or `label.name` for a variable of the block
/// labelled so (`session.name` / `system.session.name` for a session variable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariableName {
    pub qualifier: Option<String>,
    pub name: String,
}

impl std::fmt::Display for VariableName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.qualifier {
            Some(q) => write!(f, "{q}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// `DECLARE [OR REPLACE] [VARIABLE] name [, ...] [type] [{DEFAULT | =} expr]`
#[derive(Debug, Clone)]
pub struct DeclareVariable {
    pub names: Vec<String>,
    pub or_replace: bool,
    /// The declared type (Spark syntax); `None`: the default's type.
    pub data_type: Option<String>,
    pub default: Option<ast::Expr>,
}

/// What a SET assigns: one expression to one variable, or a query's single row to several.
#[derive(Debug, Clone)]
pub enum SetValue {
    Expr(ast::Expr),
    Query(Box<ast::Query>),
}

/// `SET [VAR | VARIABLE] name = expr` or `SET [VAR] (a, b) = (query)`
#[derive(Debug, Clone)]
pub struct SetVariables {
    pub targets: Vec<VariableName>,
    pub value: SetValue,
}

/// What a handler catches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConditionValue {
    /// Every error (but a cancellation).
    SqlException,
    /// SQLSTATE class 02 (no data).
    NotFound,
    SqlState(String),
    /// A condition declared with `DECLARE name CONDITION FOR SQLSTATE '...'`.
    Named(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandlerKind {
    /// After the handler, the block that declared it ends.
    Exit,
    /// After the handler, the statement after the one that failed runs.
    Continue,
}

/// `DECLARE {EXIT | CONTINUE} HANDLER FOR condition [, ...] statement`
#[derive(Debug, Clone)]
pub struct Handler {
    pub kind: HandlerKind,
    pub conditions: Vec<ConditionValue>,
    pub body: Box<ScriptStatement>,
}

/// `[label:] BEGIN ... END [label]`
#[derive(Debug, Clone)]
pub struct Compound {
    pub label: Option<String>,
    pub statements: Vec<ScriptStatement>,
    pub handlers: Vec<Handler>,
    /// `DECLARE name CONDITION FOR SQLSTATE 'xxxxx'`, by name.
    pub conditions: Vec<(String, String)>,
    /// How many leaf statements the block holds, nested ones included (a procedure's
    /// progress is "statement n of this").
    pub leaves: usize,
}

/// `SIGNAL {SQLSTATE [VALUE] 'xxxxx' | condition} [SET MESSAGE_TEXT = expr]`
#[derive(Debug, Clone)]
pub struct Signal {
    pub condition: ConditionValue,
    pub message: Option<ast::Expr>,
}

/// `EXECUTE IMMEDIATE sql [INTO var [, ...]] [USING expr [AS name] [, ...]]`
#[derive(Debug, Clone)]
pub struct ExecuteImmediate {
    pub sql: ast::Expr,
    pub into: Vec<VariableName>,
    pub using: Vec<(ast::Expr, Option<String>)>,
}

/// An argument of CALL, by position or by name (`name => expr`).
#[derive(Debug, Clone)]
pub struct CallArgument {
    pub name: Option<String>,
    pub value: ast::Expr,
}

/// `CALL [ASYNC] name(args)`
#[derive(Debug, Clone)]
pub struct Call {
    pub procedure: super::Name,
    pub args: Vec<CallArgument>,
    /// `CALL ASYNC`: runs in the background; the statement returns the run's id.
    pub detached: bool,
}

/// A statement of SQL scripting.
#[derive(Debug, Clone)]
pub enum ScriptStatement {
    /// Any other statement, executed as a client's statement would be; with its position
    /// among the script's statements (1-based, in the order they are written).
    Leaf(Box<ParsedStatement>, usize),
    Compound(Compound),
    Declare(DeclareVariable),
    Set(SetVariables),
    If {
        branches: Vec<(ast::Expr, Vec<ScriptStatement>)>,
        otherwise: Option<Vec<ScriptStatement>>,
    },
    /// `CASE [operand] WHEN v THEN ... [ELSE ...] END CASE`: with an operand, a branch is taken
    /// when the operand equals its value; without, when its condition holds.
    Case {
        operand: Option<ast::Expr>,
        branches: Vec<(ast::Expr, Vec<ScriptStatement>)>,
        otherwise: Option<Vec<ScriptStatement>>,
    },
    While {
        label: Option<String>,
        condition: ast::Expr,
        body: Vec<ScriptStatement>,
    },
    Repeat {
        label: Option<String>,
        body: Vec<ScriptStatement>,
        until: ast::Expr,
    },
    Loop {
        label: Option<String>,
        body: Vec<ScriptStatement>,
    },
    /// `FOR [name AS] query DO ... END FOR`: the body runs once per row, with the row's
    /// columns as variables (qualified by `name`).
    For {
        label: Option<String>,
        row: Option<String>,
        query: Box<ast::Query>,
        /// The query's text, recorded as the statement that reads the rows.
        text: String,
        body: Vec<ScriptStatement>,
    },
    Leave(String),
    Iterate(String),
    Signal(Signal),
    ExecuteImmediate(ExecuteImmediate),
}

/// How deep blocks, loops and conditionals may nest in one script (deeper: 54001).
pub const MAX_SCRIPT_DEPTH: usize = 64;

/// A label in scope while a body is parsed.
struct Label {
    name: String,
    is_loop: bool,
}

/// Parses scripting statements, handing leaves to `leaf`.
pub(super) struct ScriptParser<'l> {
    labels: Vec<Label>,
    /// How deep the statement being parsed is nested.
    depth: usize,
    /// Parses a leaf statement at the parser's position (up to, not including, its `;`).
    leaf: &'l mut dyn FnMut(&mut P<'_, '_>) -> Result<ParsedStatement>,
    /// Leaf statements parsed so far.
    leaves: usize,
}

fn label_error(message: String) -> EngineError {
    EngineError::Coded {
        sqlstate: "42K0L",
        message,
    }
}

/// Whether the parser is at `[label:] BEGIN` opening a compound statement (not a transaction's
/// BEGIN: that is followed by nothing, `;`, TRANSACTION, WORK or a transaction mode).
pub(super) fn at_compound(p: &P<'_, '_>) -> bool {
    let at = usize::from(is_label(p));
    let at = at * 2;
    if p.peek_word(at).as_deref() != Some("BEGIN") {
        return false;
    }
    let next = p.p.peek_nth_token(at + 1).token;
    match &next {
        Token::EOF | Token::SemiColon => false,
        Token::Word(_) => !matches!(
            word_of(&next).as_deref(),
            Some("TRANSACTION" | "WORK" | "ISOLATION" | "READ" | "DEFERRABLE" | "NOT")
        ),
        _ => true,
    }
}

/// Whether the parser is at `label:`.
fn is_label(p: &P<'_, '_>) -> bool {
    matches!(p.p.peek_token().token, Token::Word(_)) && p.p.peek_nth_token(1).token == Token::Colon
}

impl<'l> ScriptParser<'l> {
    pub(super) fn new(leaf: &'l mut dyn FnMut(&mut P<'_, '_>) -> Result<ParsedStatement>) -> Self {
        ScriptParser {
            labels: Vec::new(),
            depth: 0,
            leaf,
            leaves: 0,
        }
    }

    /// One statement of a body (or a top-level compound), without its terminating `;`.
    pub(super) fn statement(&mut self, p: &mut P<'_, '_>) -> Result<ScriptStatement> {
        if self.depth >= MAX_SCRIPT_DEPTH {
            return Err(EngineError::StatementTooComplex(format!(
                "statement too complex: blocks and loops nest deeper than {MAX_SCRIPT_DEPTH}"
            )));
        }
        self.depth += 1;
        let statement = self.statement_at_depth(p);
        self.depth -= 1;
        statement
    }

    fn statement_at_depth(&mut self, p: &mut P<'_, '_>) -> Result<ScriptStatement> {
        let label = if is_label(p) {
            let name = p.ident()?;
            p.p.next_token(); // `:`
            Some(name)
        } else {
            None
        };
        let first = p.peek_word(0).unwrap_or_default();
        if label.is_some()
            && !matches!(
                first.as_str(),
                "BEGIN" | "WHILE" | "REPEAT" | "LOOP" | "FOR"
            )
        {
            return Err(label_error(format!(
                "a label can only be put on BEGIN, WHILE, REPEAT, LOOP or FOR, not on {first}"
            )));
        }
        match first.as_str() {
            "BEGIN" => self.compound(p, label).map(ScriptStatement::Compound),
            "DECLARE" if !declares_cursor(p) => Ok(ScriptStatement::Declare(declare_variable(p)?)),
            "SET" if sets_variable(p) || self.sets_qualified_variable(p) => {
                Ok(ScriptStatement::Set(set_variables(p)?))
            }
            "IF" => self.if_statement(p),
            "CASE" => self.case_statement(p),
            "WHILE" => {
                p.p.next_token();
                let condition = p.p.parse_expr()?;
                p.expect(&["DO"])?;
                let body =
                    self.in_label(label.clone(), true, |s| s.body(p, &[&["END", "WHILE"]]))?;
                p.expect(&["END", "WHILE"])?;
                end_label(p, &label)?;
                Ok(ScriptStatement::While {
                    label,
                    condition,
                    body,
                })
            }
            "REPEAT" => {
                p.p.next_token();
                let body = self.in_label(label.clone(), true, |s| s.body(p, &[&["UNTIL"]]))?;
                p.expect(&["UNTIL"])?;
                let until = p.p.parse_expr()?;
                p.expect(&["END", "REPEAT"])?;
                end_label(p, &label)?;
                Ok(ScriptStatement::Repeat { label, body, until })
            }
            "LOOP" => {
                p.p.next_token();
                let body =
                    self.in_label(label.clone(), true, |s| s.body(p, &[&["END", "LOOP"]]))?;
                p.expect(&["END", "LOOP"])?;
                end_label(p, &label)?;
                Ok(ScriptStatement::Loop { label, body })
            }
            "FOR" => {
                p.p.next_token();
                let row = if p.peek_word(1).as_deref() == Some("AS")
                    && !matches!(
                        p.peek_word(0).as_deref(),
                        Some("SELECT" | "WITH" | "VALUES")
                    ) {
                    let name = p.ident()?;
                    p.p.next_token();
                    Some(name)
                } else {
                    None
                };
                let start = p.p.index();
                let query = p.p.parse_query()?;
                let text = p.text_since(start);
                p.expect(&["DO"])?;
                let body = self.in_label(label.clone(), true, |s| s.body(p, &[&["END", "FOR"]]))?;
                p.expect(&["END", "FOR"])?;
                end_label(p, &label)?;
                Ok(ScriptStatement::For {
                    label,
                    row,
                    query,
                    text,
                    body,
                })
            }
            "LEAVE" | "ITERATE" => {
                p.p.next_token();
                let target = p.ident()?;
                let Some(found) = self.labels.iter().rev().find(|l| l.name == target) else {
                    return Err(label_error(format!(
                        "{first} {target}: no enclosing block or loop is labelled {target}"
                    )));
                };
                if first == "ITERATE" {
                    if !found.is_loop {
                        return Err(label_error(format!(
                            "ITERATE {target}: {target} labels a block, not a loop"
                        )));
                    }
                    Ok(ScriptStatement::Iterate(target))
                } else {
                    Ok(ScriptStatement::Leave(target))
                }
            }
            "SIGNAL" => {
                p.p.next_token();
                let condition = if p.eat(&["SQLSTATE"]) {
                    p.eat(&["VALUE"]);
                    ConditionValue::SqlState(sqlstate_literal(p)?)
                } else {
                    ConditionValue::Named(p.ident()?)
                };
                let message = if p.eat(&["SET", "MESSAGE_TEXT"]) {
                    p.p.expect_token(&Token::Eq)?;
                    Some(p.p.parse_expr()?)
                } else {
                    None
                };
                Ok(ScriptStatement::Signal(Signal { condition, message }))
            }
            "EXECUTE" if p.peek_is(&["EXECUTE", "IMMEDIATE"]) => {
                Ok(ScriptStatement::ExecuteImmediate(execute_immediate(p)?))
            }
            _ => {
                let leaf = (self.leaf)(p)?;
                self.leaves += 1;
                Ok(ScriptStatement::Leaf(Box::new(leaf), self.leaves))
            }
        }
    }

    /// `BEGIN` declarations and statements `END [label]`.
    fn compound(&mut self, p: &mut P<'_, '_>, label: Option<String>) -> Result<Compound> {
        p.expect(&["BEGIN"])?;
        let mut compound = Compound {
            label: label.clone(),
            statements: Vec::new(),
            handlers: Vec::new(),
            conditions: Vec::new(),
            leaves: 0,
        };
        let leaves_before = self.leaves;
        self.in_label(label.clone(), false, |s| {
            loop {
                if p.peek_is(&["END"]) {
                    break;
                }
                if p.peek_is(&["DECLARE"]) && matches!(p.peek_word(2).as_deref(), Some("HANDLER")) {
                    compound.handlers.push(s.handler(p)?);
                } else if p.peek_is(&["DECLARE"]) && p.peek_word(2).as_deref() == Some("CONDITION")
                {
                    p.p.next_token();
                    let name = p.ident()?;
                    p.expect(&["CONDITION", "FOR", "SQLSTATE"])?;
                    p.eat(&["VALUE"]);
                    compound.conditions.push((name, sqlstate_literal(p)?));
                } else {
                    compound.statements.push(s.statement(p)?);
                }
                terminator(p)?;
            }
            Ok(())
        })?;
        p.expect(&["END"])?;
        end_label(p, &label)?;
        compound.leaves = self.leaves - leaves_before;
        Ok(compound)
    }

    fn handler(&mut self, p: &mut P<'_, '_>) -> Result<Handler> {
        p.expect(&["DECLARE"])?;
        let kind = if p.eat(&["EXIT"]) {
            HandlerKind::Exit
        } else if p.eat(&["CONTINUE"]) {
            HandlerKind::Continue
        } else {
            return Err(EngineError::syntax(format!(
                "expected EXIT or CONTINUE HANDLER, found: {}",
                p.p.peek_token().token
            )));
        };
        p.expect(&["HANDLER", "FOR"])?;
        let mut conditions = Vec::new();
        loop {
            conditions.push(if p.eat(&["SQLEXCEPTION"]) {
                ConditionValue::SqlException
            } else if p.eat(&["NOT", "FOUND"]) {
                ConditionValue::NotFound
            } else if p.eat(&["SQLSTATE"]) {
                p.eat(&["VALUE"]);
                ConditionValue::SqlState(sqlstate_literal(p)?)
            } else {
                ConditionValue::Named(p.ident()?)
            });
            if !p.p.consume_token(&Token::Comma) {
                break;
            }
        }
        // A handler's body leaves and iterates nothing of the block it handles.
        let outer = std::mem::take(&mut self.labels);
        let body = self.statement(p);
        self.labels = outer;
        Ok(Handler {
            kind,
            conditions,
            body: Box::new(body?),
        })
    }

    fn if_statement(&mut self, p: &mut P<'_, '_>) -> Result<ScriptStatement> {
        p.expect(&["IF"])?;
        let mut branches = Vec::new();
        let mut otherwise = None;
        loop {
            let condition = p.p.parse_expr()?;
            p.expect(&["THEN"])?;
            let body = self.body(p, &[&["ELSEIF"], &["ELSE"], &["END", "IF"]])?;
            branches.push((condition, body));
            if p.eat(&["ELSEIF"]) {
                continue;
            }
            if p.eat(&["ELSE"]) {
                otherwise = Some(self.body(p, &[&["END", "IF"]])?);
            }
            break;
        }
        p.expect(&["END", "IF"])?;
        Ok(ScriptStatement::If {
            branches,
            otherwise,
        })
    }

    fn case_statement(&mut self, p: &mut P<'_, '_>) -> Result<ScriptStatement> {
        p.expect(&["CASE"])?;
        let operand = if p.peek_is(&["WHEN"]) {
            None
        } else {
            Some(p.p.parse_expr()?)
        };
        let mut branches = Vec::new();
        while p.eat(&["WHEN"]) {
            let value = p.p.parse_expr()?;
            p.expect(&["THEN"])?;
            let body = self.body(p, &[&["WHEN"], &["ELSE"], &["END", "CASE"]])?;
            branches.push((value, body));
        }
        if branches.is_empty() {
            return Err(EngineError::syntax("CASE needs at least one WHEN branch"));
        }
        let otherwise = if p.eat(&["ELSE"]) {
            Some(self.body(p, &[&["END", "CASE"]])?)
        } else {
            None
        };
        p.expect(&["END", "CASE"])?;
        Ok(ScriptStatement::Case {
            operand,
            branches,
            otherwise,
        })
    }

    /// Statements, each ended by `;`, up to (not including) one of `ends`.
    fn body(&mut self, p: &mut P<'_, '_>, ends: &[&[&str]]) -> Result<Vec<ScriptStatement>> {
        let mut statements = Vec::new();
        loop {
            if ends.iter().any(|e| p.peek_is(e)) {
                return Ok(statements);
            }
            if p.p.peek_token().token == Token::EOF {
                return Err(EngineError::syntax(format!(
                    "expected {}, found the end of the text",
                    ends.iter()
                        .map(|e| e.join(" "))
                        .collect::<Vec<_>>()
                        .join(" or ")
                )));
            }
            if p.peek_is(&["DECLARE"]) && !declares_cursor(p) {
                return Err(EngineError::syntax(
                    "variables, handlers and conditions are declared in a BEGIN ... END block, \
                     not directly in a loop or a branch (wrap the statements in BEGIN ... END)",
                ));
            }
            statements.push(self.statement(p)?);
            terminator(p)?;
        }
    }

    /// `SET label.name = ...` for a label in scope, or `SET session.name` /
    /// `SET system.session.name` (other dotted names are settings).
    fn sets_qualified_variable(&self, p: &P<'_, '_>) -> bool {
        let word = |i: usize| match p.p.peek_nth_token(i).token {
            Token::Word(w) => Some(w.value.to_lowercase()),
            _ => None,
        };
        let dot = |i: usize| p.p.peek_nth_token(i).token == Token::Period;
        let eq = |i: usize| p.p.peek_nth_token(i).token == Token::Eq;
        match (word(1), dot(2), word(3)) {
            (Some(q), true, Some(_)) if eq(4) => {
                q == "session" || self.labels.iter().any(|l| l.name == q)
            }
            (Some(q), true, Some(s)) if q == "system" && s == "session" => {
                dot(4) && word(5).is_some() && eq(6)
            }
            _ => false,
        }
    }

    /// Runs `f` with `label` in scope.
    fn in_label<T>(
        &mut self,
        label: Option<String>,
        is_loop: bool,
        f: impl FnOnce(&mut Self) -> Result<T>,
    ) -> Result<T> {
        let Some(name) = label else {
            return f(self);
        };
        if self.labels.iter().any(|l| l.name == name) {
            return Err(label_error(format!(
                "label {name} is already used by an enclosing block or loop"
            )));
        }
        self.labels.push(Label { name, is_loop });
        let result = f(self);
        self.labels.pop();
        result
    }
}

/// Whether a DECLARE at the parser's position declares a cursor (PostgreSQL's form).
pub(super) fn declares_cursor(p: &P<'_, '_>) -> bool {
    (1..6).any(|i| p.peek_word(i).as_deref() == Some("CURSOR"))
        && !matches!(p.peek_word(1).as_deref(), Some("VARIABLE" | "OR"))
}

/// A statement of a body ends with `;`.
fn terminator(p: &mut P<'_, '_>) -> Result<()> {
    if p.p.consume_token(&Token::SemiColon) {
        Ok(())
    } else {
        Err(EngineError::syntax(format!(
            "expected ; after a statement of a BEGIN ... END block, found: {}",
            p.p.peek_token().token
        )))
    }
}

/// An optional end label, which must repeat the begin label.
fn end_label(p: &mut P<'_, '_>, label: &Option<String>) -> Result<()> {
    if !matches!(p.p.peek_token().token, Token::Word(_)) {
        return Ok(());
    }
    let end = p.ident()?;
    match label {
        Some(l) if *l == end => Ok(()),
        Some(l) => Err(label_error(format!(
            "end label {end} does not match the begin label {l}"
        ))),
        None => Err(label_error(format!(
            "end label {end} without a begin label"
        ))),
    }
}

fn sqlstate_literal(p: &mut P<'_, '_>) -> Result<String> {
    let state = p.string()?.to_ascii_uppercase();
    if state.len() != 5 || !state.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(EngineError::Coded {
            sqlstate: "428B3",
            message: format!("invalid SQLSTATE '{state}': five letters or digits expected"),
        });
    }
    if state.starts_with("00") {
        return Err(EngineError::Coded {
            sqlstate: "428B3",
            message: format!("invalid SQLSTATE '{state}': class 00 is success, not a condition"),
        });
    }
    Ok(state)
}

/// Whether a SET at the parser's position assigns variables: `SET VAR`, `SET VARIABLE`,
/// `SET (a, b) = ...` and `SET name = ...` (in a body, SET assigns a variable; settings keep
/// their own forms: `SET TIME ZONE`, dotted names, `SET name TO value`).
pub(super) fn sets_variable(p: &P<'_, '_>) -> bool {
    if p.peek_is(&["SET", "VAR"]) || p.peek_is(&["SET", "VARIABLE"]) {
        return true;
    }
    let second = p.p.peek_nth_token(1).token;
    if second == Token::LParen {
        return true;
    }
    matches!(second, Token::Word(_))
        && !matches!(
            word_of(&second).as_deref(),
            Some("TIME" | "SESSION" | "LOCAL")
        )
        && p.p.peek_nth_token(2).token == Token::Eq
}

/// `SET [VAR | VARIABLE] target = expr | SET [VAR] (targets) = (query)`
pub(super) fn set_variables(p: &mut P<'_, '_>) -> Result<SetVariables> {
    p.expect(&["SET"])?;
    if !p.eat(&["VARIABLE"]) {
        p.eat(&["VAR"]);
    }
    if p.p.consume_token(&Token::LParen) {
        let mut targets = vec![variable_name(p)?];
        while p.p.consume_token(&Token::Comma) {
            targets.push(variable_name(p)?);
        }
        p.rparen()?;
        p.p.expect_token(&Token::Eq)?;
        let query = match p.p.parse_expr()? {
            ast::Expr::Subquery(q) => q,
            other => {
                return Err(EngineError::syntax(format!(
                    "SET (...) = expects a parenthesized query, found: {other}"
                )))
            }
        };
        return Ok(SetVariables {
            targets,
            value: SetValue::Query(query),
        });
    }
    let target = variable_name(p)?;
    p.p.expect_token(&Token::Eq)?;
    let value = p.p.parse_expr()?;
    Ok(SetVariables {
        targets: vec![target],
        value: SetValue::Expr(value),
    })
}

fn variable_name(p: &mut P<'_, '_>) -> Result<VariableName> {
    let mut parts = p.name()?;
    let name = parts.pop().unwrap_or_default();
    match parts.len() {
        0 => Ok(VariableName {
            qualifier: None,
            name,
        }),
        1 => Ok(VariableName {
            qualifier: parts.pop(),
            name,
        }),
        2 if parts[0] == "system" && parts[1] == "session" => Ok(VariableName {
            qualifier: Some("session".into()),
            name,
        }),
        _ => Err(EngineError::syntax(format!(
            "invalid variable name {}.{name}",
            parts.join(".")
        ))),
    }
}

/// `DECLARE [OR REPLACE] [VARIABLE] name [, ...] [type] [{DEFAULT | =} expr]`
pub(super) fn declare_variable(p: &mut P<'_, '_>) -> Result<DeclareVariable> {
    p.expect(&["DECLARE"])?;
    let or_replace = p.eat(&["OR", "REPLACE"]);
    if !p.eat(&["VARIABLE"]) {
        p.eat(&["VAR"]);
    }
    let mut names = vec![p.ident()?];
    while p.p.consume_token(&Token::Comma) {
        names.push(p.ident()?);
    }
    let data_type = if p.peek_is(&["DEFAULT"])
        || matches!(
            p.p.peek_token().token,
            Token::Eq | Token::SemiColon | Token::EOF
        ) {
        None
    } else {
        let start = p.p.index();
        p.p.parse_data_type()?;
        let text = p.text_since(start);
        crate::types::parse_spark_type(&text)?;
        Some(text)
    };
    let default = if p.eat(&["DEFAULT"]) || p.p.consume_token(&Token::Eq) {
        Some(p.p.parse_expr()?)
    } else {
        None
    };
    if data_type.is_none() && default.is_none() {
        return Err(EngineError::syntax(format!(
            "DECLARE {} needs a type or a DEFAULT",
            names.join(", ")
        )));
    }
    Ok(DeclareVariable {
        names,
        or_replace,
        data_type,
        default,
    })
}

/// `EXECUTE IMMEDIATE sql [INTO var [, ...]] [USING expr [AS name] [, ...]]`
pub(super) fn execute_immediate(p: &mut P<'_, '_>) -> Result<ExecuteImmediate> {
    p.expect(&["EXECUTE", "IMMEDIATE"])?;
    let sql = p.p.parse_expr()?;
    let mut into = Vec::new();
    let mut using = Vec::new();
    loop {
        if p.eat(&["INTO"]) {
            into.push(variable_name(p)?);
            while p.p.consume_token(&Token::Comma) {
                into.push(variable_name(p)?);
            }
        } else if p.eat(&["USING"]) {
            loop {
                let value = p.p.parse_expr()?;
                let name = if p.eat(&["AS"]) {
                    Some(p.ident()?)
                } else {
                    None
                };
                using.push((value, name));
                if !p.p.consume_token(&Token::Comma) {
                    break;
                }
            }
        } else {
            break;
        }
    }
    Ok(ExecuteImmediate { sql, into, using })
}

/// `CALL name(args)`, arguments by position or `name => expr`.
pub(super) fn call(p: &mut P<'_, '_>) -> Result<Call> {
    p.expect(&["CALL"])?;
    // `CALL ASYNC p(...)`, not a procedure named `async`.
    let detached = p.peek_is(&["ASYNC"])
        && matches!(p.p.peek_nth_token(1).token, Token::Word(_))
        && p.eat(&["ASYNC"]);
    let procedure = p.name()?;
    p.lparen()?;
    let mut args = Vec::new();
    if !p.p.consume_token(&Token::RParen) {
        loop {
            let name = if matches!(p.p.peek_token().token, Token::Word(_))
                && p.p.peek_nth_token(1).token == Token::RArrow
            {
                let n = p.ident()?;
                p.p.next_token();
                Some(n)
            } else {
                None
            };
            args.push(CallArgument {
                name,
                value: p.p.parse_expr()?,
            });
            if !p.p.consume_token(&Token::Comma) {
                break;
            }
        }
        p.rparen()?;
    }
    Ok(Call {
        procedure,
        args,
        detached,
    })
}
