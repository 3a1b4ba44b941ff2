//! Governance statements: users, groups, GRANT / REVOKE / SHOW GRANTS, ownership, SQL functions
//! (Databricks / Unity Catalog syntax, plus PostgreSQL column grants).

use datafusion::sql::sqlparser::tokenizer::Token;
use weir_catalog::{FunctionParam, MemberKind, Privilege};

use super::{word_of, Name, Statement, P};
use crate::error::{EngineError, Result};

/// What a GRANT, REVOKE, SHOW GRANTS or OWNER TO names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantTarget {
    Metastore,
    Catalog(String),
    Schema(Name),
    /// A table or a view.
    Table(Name),
    Function(Name),
    Procedure(Name),
    ExternalLocation(String),
}

#[derive(Debug, Clone)]
pub enum GovernanceStatement {
    CreateUser {
        name: String,
        password: Option<String>,
        if_not_exists: bool,
    },
    AlterUserPassword {
        name: String,
        password: String,
    },
    DropUser {
        name: String,
        if_exists: bool,
    },
    CreateGroup {
        name: String,
        if_not_exists: bool,
    },
    AlterGroup {
        group: String,
        add: bool,
        kind: MemberKind,
        member: String,
    },
    DropGroup {
        name: String,
        if_exists: bool,
    },
    ShowUsers,
    ShowGroups,
    /// GRANT, or REVOKE with `revoke`. `columns` makes it a column grant (SELECT only).
    Grant {
        revoke: bool,
        privileges: Vec<Privilege>,
        columns: Vec<String>,
        on: GrantTarget,
        principal: String,
    },
    ShowGrants {
        principal: Option<String>,
        on: Option<GrantTarget>,
    },
    SetOwner {
        on: GrantTarget,
        owner: String,
    },
    CreateFunction {
        name: Name,
        or_replace: bool,
        if_not_exists: bool,
        params: Vec<FunctionParam>,
        returns: String,
        body: String,
        comment: Option<String>,
    },
    DropFunction {
        name: Name,
        if_exists: bool,
    },
}

impl GovernanceStatement {
    pub fn kind(&self) -> crate::statement_kind::StatementKind {
        use crate::statement_kind::StatementKind as K;
        match self {
            GovernanceStatement::CreateUser { .. } => K::CreateUser,
            GovernanceStatement::AlterUserPassword { .. } => K::AlterUser,
            GovernanceStatement::DropUser { .. } => K::DropUser,
            GovernanceStatement::CreateGroup { .. } => K::CreateGroup,
            GovernanceStatement::AlterGroup { .. } => K::AlterGroup,
            GovernanceStatement::DropGroup { .. } => K::DropGroup,
            GovernanceStatement::Grant { revoke: false, .. } => K::Grant,
            GovernanceStatement::Grant { revoke: true, .. } => K::Revoke,
            GovernanceStatement::SetOwner { .. } => K::SetOwner,
            GovernanceStatement::CreateFunction { .. } => K::CreateFunction,
            GovernanceStatement::DropFunction { .. } => K::DropFunction,
            GovernanceStatement::ShowUsers
            | GovernanceStatement::ShowGroups
            | GovernanceStatement::ShowGrants { .. } => K::Show,
        }
    }

    /// Whether the statement carries a password (its text must not be kept anywhere).
    pub fn has_secret(&self) -> bool {
        matches!(
            self,
            GovernanceStatement::CreateUser {
                password: Some(_),
                ..
            } | GovernanceStatement::AlterUserPassword { .. }
        )
    }
}

fn gov(s: GovernanceStatement) -> Option<Statement> {
    Some(Statement::Governance(Box::new(s)))
}

/// Parses a governance statement at the parser's position, or returns None consuming nothing.
pub(super) fn parse(p: &mut P<'_, '_>) -> Result<Option<Statement>> {
    let w = |i: usize| p.peek_word(i).unwrap_or_default();
    let (a, b) = (w(0), w(1));
    let or_replace = p.peek_is(&["CREATE", "OR", "REPLACE", "FUNCTION"]);
    Ok(match (a.as_str(), b.as_str()) {
        ("CREATE", "USER") => {
            p.expect(&["CREATE", "USER"])?;
            let if_not_exists = p.if_not_exists();
            let name = principal(p)?;
            let password = if p.eat(&["PASSWORD"]) {
                Some(secret(p)?)
            } else {
                None
            };
            gov(GovernanceStatement::CreateUser {
                name,
                password,
                if_not_exists,
            })
        }
        ("ALTER", "USER") => {
            p.expect(&["ALTER", "USER"])?;
            let name = principal(p)?;
            p.eat(&["WITH"]);
            p.expect(&["PASSWORD"])?;
            gov(GovernanceStatement::AlterUserPassword {
                name,
                password: secret(p)?,
            })
        }
        ("DROP", "USER") => {
            p.expect(&["DROP", "USER"])?;
            let if_exists = p.if_exists();
            gov(GovernanceStatement::DropUser {
                if_exists,
                name: principal(p)?,
            })
        }
        ("CREATE", "GROUP") => {
            p.expect(&["CREATE", "GROUP"])?;
            let if_not_exists = p.if_not_exists();
            gov(GovernanceStatement::CreateGroup {
                if_not_exists,
                name: principal(p)?,
            })
        }
        ("ALTER", "GROUP") => {
            p.expect(&["ALTER", "GROUP"])?;
            let group = principal(p)?;
            let add = if p.eat(&["ADD"]) {
                true
            } else {
                p.expect(&["DROP"])?;
                false
            };
            let kind = if p.eat(&["USER"]) {
                MemberKind::User
            } else {
                p.expect(&["GROUP"])?;
                MemberKind::Group
            };
            gov(GovernanceStatement::AlterGroup {
                group,
                add,
                kind,
                member: principal(p)?,
            })
        }
        ("DROP", "GROUP") => {
            p.expect(&["DROP", "GROUP"])?;
            let if_exists = p.if_exists();
            gov(GovernanceStatement::DropGroup {
                if_exists,
                name: principal(p)?,
            })
        }
        ("SHOW", "USERS") => {
            p.expect(&["SHOW", "USERS"])?;
            gov(GovernanceStatement::ShowUsers)
        }
        ("SHOW", "GROUPS") => {
            p.expect(&["SHOW", "GROUPS"])?;
            gov(GovernanceStatement::ShowGroups)
        }
        ("SHOW", "GRANTS") | ("SHOW", "GRANT") => {
            p.p.next_token();
            p.p.next_token();
            let principal = if p.peek_is(&["ON"]) || at_end(p) {
                None
            } else {
                p.eat(&["TO"]);
                Some(principal(p)?)
            };
            let on = if p.eat(&["ON"]) {
                Some(target(p)?.0)
            } else {
                None
            };
            gov(GovernanceStatement::ShowGrants { principal, on })
        }
        ("GRANT", _) | ("REVOKE", _) => {
            let revoke = a == "REVOKE";
            p.p.next_token();
            let (privileges, columns) = privileges(p)?;
            p.expect(&["ON"])?;
            let (on, column) = target(p)?;
            let columns = match column {
                Some(c) if columns.is_empty() => vec![c],
                Some(_) => {
                    return Err(EngineError::syntax(
                        "name columns either in parentheses or with ON COLUMN, not both",
                    ))
                }
                None => columns,
            };
            if !columns.is_empty() && privileges != [Privilege::Select] {
                return Err(EngineError::syntax(
                    "column grants are for SELECT only: GRANT SELECT (col, ...) ON TABLE t TO p",
                ));
            }
            if revoke {
                p.expect(&["FROM"])?;
            } else {
                p.expect(&["TO"])?;
            }
            gov(GovernanceStatement::Grant {
                revoke,
                privileges,
                columns,
                on,
                principal: principal(p)?,
            })
        }
        ("ALTER", "FUNCTION") | ("ALTER", "PROCEDURE") => {
            p.p.next_token();
            p.p.next_token();
            let name = p.name()?;
            p.expect(&["OWNER", "TO"])?;
            gov(GovernanceStatement::SetOwner {
                on: if b == "FUNCTION" {
                    GrantTarget::Function(name)
                } else {
                    GrantTarget::Procedure(name)
                },
                owner: principal(p)?,
            })
        }
        ("CREATE", "FUNCTION") | ("CREATE", "OR") if b == "FUNCTION" || or_replace => {
            p.p.next_token();
            if or_replace {
                p.expect(&["OR", "REPLACE"])?;
            }
            p.expect(&["FUNCTION"])?;
            create_function(p, or_replace)?
        }
        ("DROP", "FUNCTION") => {
            p.expect(&["DROP", "FUNCTION"])?;
            let if_exists = p.if_exists();
            gov(GovernanceStatement::DropFunction {
                if_exists,
                name: p.name()?,
            })
        }
        _ => None,
    })
}

/// `OWNER TO principal` after `ALTER CATALOG name` / `ALTER SCHEMA name`.
pub(super) fn owner_to(p: &mut P<'_, '_>, on: GrantTarget) -> Result<Option<Statement>> {
    if p.eat(&["OWNER", "TO"]) {
        Ok(gov(GovernanceStatement::SetOwner {
            on,
            owner: principal(p)?,
        }))
    } else {
        Ok(None)
    }
}

fn at_end(p: &P<'_, '_>) -> bool {
    matches!(p.p.peek_token().token, Token::EOF | Token::SemiColon)
}

/// A user or group name: an identifier, quoted with `"` or backquotes for names with spaces
/// (`` `account users` ``). Names are case-insensitive.
pub(super) fn principal(p: &mut P<'_, '_>) -> Result<String> {
    match p.p.peek_token().token {
        Token::SingleQuotedString(s) => {
            p.p.next_token();
            Ok(s.to_lowercase())
        }
        _ => p.ident(),
    }
}

fn secret(p: &mut P<'_, '_>) -> Result<String> {
    match p.p.next_token().token {
        Token::SingleQuotedString(s) => Ok(s),
        // Never echo what was there: it may be a password written without quotes.
        _ => Err(EngineError::syntax(
            "PASSWORD must be followed by a quoted string",
        )),
    }
}

/// `SELECT`, `USE CATALOG`, `ALL PRIVILEGES`, ... with an optional column list after SELECT.
fn privileges(p: &mut P<'_, '_>) -> Result<(Vec<Privilege>, Vec<String>)> {
    let mut out = Vec::new();
    let mut columns = Vec::new();
    loop {
        let mut words = Vec::new();
        while let Some(w) = word_of(&p.p.peek_token().token) {
            if w == "ON" {
                break;
            }
            words.push(w);
            p.p.next_token();
        }
        let text = words.join(" ");
        let privilege = Privilege::parse(&text).ok_or_else(|| {
            EngineError::syntax(format!(
                "unknown privilege '{text}'; expected one of {}",
                Privilege::ALL
                    .iter()
                    .map(|p| p.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        out.push(privilege);
        if p.p.peek_token().token == Token::LParen {
            columns = p.ident_list()?;
        }
        if !p.p.consume_token(&Token::Comma) {
            break;
        }
    }
    Ok((out, columns))
}

/// The securable of a GRANT (and, for `COLUMN c.s.t.col`, the column).
fn target(p: &mut P<'_, '_>) -> Result<(GrantTarget, Option<String>)> {
    Ok(if p.eat(&["METASTORE"]) {
        (GrantTarget::Metastore, None)
    } else if p.eat(&["CATALOG"]) {
        (GrantTarget::Catalog(p.ident()?), None)
    } else if p.eat(&["SCHEMA"]) || p.eat(&["DATABASE"]) {
        (GrantTarget::Schema(p.name()?), None)
    } else if p.eat(&["FUNCTION"]) {
        (GrantTarget::Function(p.name()?), None)
    } else if p.eat(&["PROCEDURE"]) {
        (GrantTarget::Procedure(p.name()?), None)
    } else if p.eat(&["EXTERNAL", "LOCATION"]) {
        (GrantTarget::ExternalLocation(p.ident()?), None)
    } else if p.eat(&["COLUMN"]) {
        let mut name = p.name()?;
        if name.len() < 2 {
            return Err(EngineError::syntax("ON COLUMN needs table.column"));
        }
        let column = name.pop();
        (GrantTarget::Table(name), column)
    } else {
        if !p.eat(&["TABLE"]) {
            p.eat(&["VIEW"]);
        }
        (GrantTarget::Table(p.name()?), None)
    })
}

/// `[IF NOT EXISTS] name ( [param type, ...] ) RETURNS type [characteristics] RETURN expr`
fn create_function(p: &mut P<'_, '_>, or_replace: bool) -> Result<Option<Statement>> {
    let if_not_exists = p.if_not_exists();
    let name = p.name()?;
    p.lparen()?;
    let mut params = Vec::new();
    if !p.p.consume_token(&Token::RParen) {
        loop {
            let c = p.column_def()?;
            params.push(FunctionParam {
                name: c.name,
                data_type: c.data_type,
            });
            if !p.p.consume_token(&Token::Comma) {
                break;
            }
        }
        p.rparen()?;
    }
    p.expect(&["RETURNS"])?;
    let mut type_text = String::new();
    loop {
        let t = p.p.peek_token().token;
        let stop = match word_of(&t).as_deref() {
            Some(
                "RETURN" | "COMMENT" | "LANGUAGE" | "DETERMINISTIC" | "NOT" | "CONTAINS" | "READS"
                | "SQL",
            ) => !type_text.is_empty(),
            _ => matches!(t, Token::EOF | Token::SemiColon),
        };
        if stop {
            break;
        }
        type_text.push_str(&t.to_string());
        p.p.next_token();
    }
    let returns = crate::types::spark_type_name(&crate::types::parse_spark_type(&type_text)?);
    let mut comment = None;
    loop {
        if p.eat(&["COMMENT"]) {
            comment = Some(p.string()?);
        } else if p.eat(&["LANGUAGE", "SQL"])
            || p.eat(&["NOT", "DETERMINISTIC"])
            || p.eat(&["DETERMINISTIC"])
            || p.eat(&["CONTAINS", "SQL"])
            || p.eat(&["READS", "SQL", "DATA"])
        {
        } else {
            break;
        }
    }
    p.expect(&["RETURN"])?;
    let body = p.p.parse_expr()?;
    if has_subquery(&body) {
        // Function bodies are compiled per query into expressions over their arguments.
        return Err(EngineError::not_supported(
            "a SQL function body cannot contain a subquery",
        ));
    }
    let body = body.to_string();
    Ok(gov(GovernanceStatement::CreateFunction {
        name,
        or_replace,
        if_not_exists,
        params,
        returns,
        body,
        comment,
    }))
}

fn has_subquery(expr: &datafusion::sql::sqlparser::ast::Expr) -> bool {
    use datafusion::sql::sqlparser::ast::{visit_expressions, Expr};
    use std::ops::ControlFlow;
    visit_expressions(expr, |e| match e {
        Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

/// The statement text with password literals replaced, for anything that keeps statement text.
pub fn redact_secrets(sql: &str) -> String {
    use datafusion::sql::sqlparser::dialect::GenericDialect;
    use datafusion::sql::sqlparser::tokenizer::Tokenizer;
    let Ok(tokens) = Tokenizer::new(&GenericDialect {}, sql).tokenize() else {
        // Untokenizable text may hide a password anywhere.
        return "<statement not recorded: it could not be tokenized>".to_string();
    };
    let mut out = String::with_capacity(sql.len());
    let mut after_password = false;
    for t in tokens {
        match &t {
            Token::SingleQuotedString(_) if after_password => {
                out.push_str("'***'");
                after_password = false;
                continue;
            }
            Token::Whitespace(_) => {}
            other => after_password = word_of(other).as_deref() == Some("PASSWORD"),
        }
        out.push_str(&t.to_string());
    }
    out
}

/// Whether `sql` holds a password literal (`PASSWORD '...'`) anywhere, nested statements
/// included: text that would be changed by [`redact_secrets`].
pub fn has_password_literal(sql: &str) -> bool {
    has_password_literal_within(sql, 0)
}

/// [`has_password_literal`], looking into string literals (statement text for EXECUTE
/// IMMEDIATE) down to a few levels.
fn has_password_literal_within(sql: &str, depth: usize) -> bool {
    use datafusion::sql::sqlparser::dialect::GenericDialect;
    use datafusion::sql::sqlparser::tokenizer::Tokenizer;
    let Ok(tokens) = Tokenizer::new(&GenericDialect {}, sql).tokenize() else {
        // Untokenizable text may hide a password anywhere.
        return sql.to_ascii_uppercase().contains("PASSWORD");
    };
    let mut after_password = false;
    for t in &tokens {
        match t {
            Token::SingleQuotedString(_) if after_password => return true,
            Token::SingleQuotedString(_) | Token::DollarQuotedString(_)
                if depth >= 4 && inner_text(t).to_ascii_uppercase().contains("PASSWORD") =>
            {
                // Too deep to look into: a literal naming a password is taken as holding one.
                return true;
            }
            Token::SingleQuotedString(_) | Token::DollarQuotedString(_)
                if depth < 4 && has_password_literal_within(&inner_text(t), depth + 1) =>
            {
                return true;
            }
            Token::Whitespace(_) => {}
            other => after_password = word_of(other).as_deref() == Some("PASSWORD"),
        }
    }
    false
}

/// The text inside a string literal token.
fn inner_text(t: &Token) -> String {
    match t {
        Token::SingleQuotedString(s) => s.clone(),
        Token::DollarQuotedString(d) => d.value.clone(),
        _ => String::new(),
    }
}

/// `sql` with every string literal replaced by `'***'`: the record of a statement that carries
/// other statements as text (a script's EXECUTE IMMEDIATE, a procedure's body), where a
/// password may sit anywhere inside a literal.
pub fn redact_literals(sql: &str) -> String {
    use datafusion::sql::sqlparser::dialect::GenericDialect;
    use datafusion::sql::sqlparser::tokenizer::Tokenizer;
    let Ok(tokens) = Tokenizer::new(&GenericDialect {}, sql).tokenize() else {
        return "<statement not recorded: it could not be tokenized>".to_string();
    };
    tokens
        .iter()
        .map(|t| match t {
            Token::SingleQuotedString(_)
            | Token::DoubleQuotedString(_)
            | Token::DollarQuotedString(_)
            | Token::EscapedStringLiteral(_)
            | Token::NationalStringLiteral(_) => "'***'".to_string(),
            other => other.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::parse_sql;

    #[test]
    fn password_literals_are_found_without_false_alarms() {
        assert!(has_password_literal(
            "BEGIN ALTER USER ed PASSWORD 'x'; END"
        ));
        assert!(!has_password_literal(
            "BEGIN SELECT 'it''s' || ' ''ok'''; END"
        ));
        assert!(!has_password_literal("SELECT 'PASSWORD'"));
        // Inside a statement held as text.
        assert!(has_password_literal(
            "BEGIN EXECUTE IMMEDIATE 'ALTER USER ed PASSWORD ''x'''; END"
        ));
    }

    #[test]
    fn literals_are_redacted_in_scripts() {
        let sql = "BEGIN EXECUTE IMMEDIATE 'ALTER USER bob PASSWORD ''s3cret'''; END";
        assert_eq!(redact_literals(sql), "BEGIN EXECUTE IMMEDIATE '***'; END");
    }

    fn gov_one(sql: &str) -> GovernanceStatement {
        match parse_sql(sql).expect(sql).remove(0) {
            Statement::Governance(g) => *g,
            other => panic!("{sql}: {other:?}"),
        }
    }

    #[test]
    fn grants_in_both_column_forms() {
        let GovernanceStatement::Grant {
            privileges,
            columns,
            on,
            principal,
            revoke,
        } = gov_one("GRANT SELECT (id, Name) ON TABLE main.hr.emp TO `data scientists`")
        else {
            panic!()
        };
        assert!(!revoke);
        assert_eq!(privileges, vec![Privilege::Select]);
        assert_eq!(columns, vec!["id", "name"]);
        assert_eq!(
            on,
            GrantTarget::Table(vec!["main".into(), "hr".into(), "emp".into()])
        );
        assert_eq!(principal, "data scientists");
        let GovernanceStatement::Grant { columns, on, .. } =
            gov_one("GRANT SELECT ON COLUMN main.hr.emp.hotel_id TO analysts")
        else {
            panic!()
        };
        assert_eq!(columns, vec!["hotel_id"]);
        assert_eq!(
            on,
            GrantTarget::Table(vec!["main".into(), "hr".into(), "emp".into()])
        );
        let GovernanceStatement::Grant {
            privileges, revoke, ..
        } = gov_one("REVOKE USE CATALOG, ALL PRIVILEGES ON CATALOG main FROM bob")
        else {
            panic!()
        };
        assert!(revoke);
        assert_eq!(
            privileges,
            vec![Privilege::UseCatalog, Privilege::AllPrivileges]
        );
        assert!(parse_sql("GRANT MODIFY (a) ON TABLE t TO x").is_err());
    }

    #[test]
    fn functions_and_principals() {
        let GovernanceStatement::CreateFunction {
            name,
            params,
            returns,
            body,
            or_replace,
            ..
        } = gov_one(
            "CREATE OR REPLACE FUNCTION main.hr.mask_ssn(ssn STRING) RETURNS STRING \
             RETURN CASE WHEN is_member('hr') THEN ssn ELSE '***' END",
        )
        else {
            panic!()
        };
        assert!(or_replace);
        assert_eq!(name.len(), 3);
        assert_eq!(params[0].data_type, "string");
        assert_eq!(returns, "string");
        assert!(body.starts_with("CASE WHEN is_member('hr')"));
        assert!(matches!(
            gov_one("ALTER GROUP analysts ADD GROUP eu_analysts"),
            GovernanceStatement::AlterGroup {
                add: true,
                kind: MemberKind::Group,
                ..
            }
        ));
        assert!(gov_one("CREATE USER bob PASSWORD 'x'").has_secret());
    }

    #[test]
    fn passwords_are_redacted() {
        let r = redact_secrets("CREATE USER bob PASSWORD 's3cr''et'; ALTER USER bob PASSWORD 'n'");
        assert!(!r.contains("s3cr") && !r.contains("'n'"), "{r}");
        assert!(r.contains("PASSWORD '***'"));
    }
}
