//! Weir's SQL front end: Databricks / Unity Catalog statements that DataFusion does not know
//! (catalogs, Delta DDL, SHOW / DESCRIBE, tags, comments) are parsed here; every other statement
//! is handed to sqlparser and planned by DataFusion.

use datafusion::sql::sqlparser::ast;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::Token;
use datafusion_pg_catalog::sql::PostgresCompatibilityParser;

use crate::error::{EngineError, Result};
use crate::statement_kind::StatementKind;
use crate::types::parse_spark_type;

mod complexity;
mod copy_into;
mod dialect;
mod external_location;
mod generators;
mod governance;
mod group_by;
mod interval;
mod output_names;
mod procedure;
mod rebalance;
mod schedule;
mod script;
mod spark_functions;
mod spark_syntax;

use crate::sql_dialect::SqlDialect;
pub use complexity::{MAX_OPERATOR_CHAIN, MAX_STATEMENT_DEPTH};
pub use copy_into::{CopyFormat, CopyInto};
pub use dialect::WeirDialect;
pub use external_location::ExternalLocationStatement;
pub use generators::{generator_name, LATERAL_VIEW_RELATION};
pub use governance::{
    has_password_literal, redact_literals, redact_secrets, GovernanceStatement, GrantTarget,
};
pub use output_names::{DUPLICATE_ALIAS_SEPARATOR, DUPLICATE_NAME_PREFIX};
pub use procedure::{parse_procedure_body, CreateProcedure};
pub use schedule::{AlterSchedule, CreateSchedule};
pub use script::{
    Call, CallArgument, Compound, ConditionValue, DeclareVariable, ExecuteImmediate, Handler,
    HandlerKind, ScriptStatement, SetValue, SetVariables, Signal, VariableName,
};

/// A (possibly qualified) object name, already normalized: Unity Catalog names are
/// case-insensitive and stored in lower case.
pub type Name = Vec<String>;

/// The column name a MERGE clause's `UPDATE SET *` is written as: the tokens become
/// `SET "*" = "*"`, which sqlparser parses, and the MERGE executor expands to every column.
pub const ALL_COLUMNS: &str = "*";

/// Which earlier state of a Delta table a statement names, as written: a version, or an
/// expression that evaluates to a timestamp (in the session's time zone).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AsOfSpec {
    Version(u64),
    Timestamp(ast::Expr),
}

impl std::fmt::Display for AsOfSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AsOfSpec::Version(v) => write!(f, "VERSION AS OF {v}"),
            AsOfSpec::Timestamp(e) => write!(f, "TIMESTAMP AS OF {e}"),
        }
    }
}

/// Databricks' `t@v3`: a table name with a version suffix, split into the name and version.
pub fn split_version_suffix(name: &str) -> Option<(&str, u64)> {
    let (base, spec) = name.rsplit_once('@')?;
    let digits = spec.strip_prefix(['v', 'V'])?;
    if base.is_empty() || digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((base, digits.parse().ok()?))
}

#[derive(Debug, Clone)]
pub struct ColumnDef {
    pub name: String,
    /// The Spark type name as written, validated by [`parse_spark_type`].
    pub data_type: String,
    pub nullable: bool,
    pub comment: Option<String>,
}

/// `CREATE CATALOG [IF NOT EXISTS] name [MANAGED LOCATION 'uri'] [COMMENT '...']`
#[derive(Debug, Clone)]
pub struct CreateCatalog {
    pub name: String,
    pub if_not_exists: bool,
    pub managed_location: Option<String>,
    pub comment: Option<String>,
}

/// `DROP CATALOG [IF EXISTS] name [CASCADE]`
#[derive(Debug, Clone)]
pub struct DropCatalog {
    pub name: String,
    pub if_exists: bool,
    pub cascade: bool,
}

/// `CREATE SCHEMA [IF NOT EXISTS] [catalog.]name [MANAGED LOCATION 'uri'] [COMMENT '...']`
#[derive(Debug, Clone)]
pub struct CreateSchema {
    pub name: Name,
    pub if_not_exists: bool,
    pub managed_location: Option<String>,
    pub comment: Option<String>,
}

/// `DROP SCHEMA [IF EXISTS] [catalog.]name [CASCADE]`
#[derive(Debug, Clone)]
pub struct DropSchema {
    pub name: Name,
    pub if_exists: bool,
    pub cascade: bool,
}

/// `CREATE [OR REPLACE] VIEW [IF NOT EXISTS] name [COMMENT '...'] AS query`
#[derive(Debug, Clone)]
pub struct CreateView {
    pub name: Name,
    pub or_replace: bool,
    pub if_not_exists: bool,
    pub comment: Option<String>,
    pub query: Box<ast::Query>,
    /// The query's text as written (after the tokenizer's rewrites), stored as the view's
    /// definition.
    pub text: String,
}

/// `DROP TABLE | VIEW [IF EXISTS] name`
#[derive(Debug, Clone)]
pub struct DropTable {
    pub name: Name,
    pub if_exists: bool,
    /// Whether the statement says VIEW.
    pub view: bool,
}

/// `CREATE [OR REPLACE] TABLE [IF NOT EXISTS] name (columns) ... [AS query]`
#[derive(Debug, Clone)]
pub struct CreateTable {
    pub name: Name,
    pub or_replace: bool,
    pub if_not_exists: bool,
    pub columns: Vec<ColumnDef>,
    pub partitioned_by: Vec<String>,
    pub location: Option<String>,
    pub comment: Option<String>,
    pub properties: Vec<(String, String)>,
    pub as_query: Option<Box<ast::Query>>,
}

#[derive(Debug, Clone)]
pub enum TagTarget {
    Catalog(Name),
    Schema(Name),
    Table(Name),
    Column(Name, String),
}

#[derive(Debug, Clone)]
pub enum AlterTableOp {
    AddColumns(Vec<ColumnDef>),
    RenameTo(Name),
    SetProperties(Vec<(String, String)>),
    UnsetProperties(Vec<String>),
    ColumnComment {
        column: String,
        comment: Option<String>,
    },
    OwnerTo(String),
    /// `ADD CONSTRAINT name CHECK (expr)`; the expression as SQL text (Delta stores it so).
    AddCheck {
        name: String,
        expr: String,
    },
    DropConstraint {
        name: String,
        if_exists: bool,
    },
    /// `ALTER COLUMN col SET MASK f [USING COLUMNS (...)]`
    SetMask {
        column: String,
        function: Name,
        using: Vec<String>,
    },
    DropMask {
        column: String,
    },
    /// `SET ROW FILTER f ON (cols)`
    SetRowFilter {
        function: Name,
        columns: Vec<String>,
    },
    DropRowFilter,
}

#[derive(Debug, Clone)]
pub enum TransactionVerb {
    Begin,
    Commit,
    Rollback,
    /// SAVEPOINT, RELEASE [SAVEPOINT] and ROLLBACK TO [SAVEPOINT]: accepted inside a block;
    /// like the block itself they change nothing, as every statement commits on its own.
    Savepoint,
    Release,
    RollbackTo,
}

#[derive(Debug, Clone)]
pub enum Statement {
    /// Planned and executed by DataFusion (queries, INSERT, EXPLAIN, ...).
    Standard(Box<ast::Statement>),
    CreateCatalog(CreateCatalog),
    DropCatalog(DropCatalog),
    CreateSchema(CreateSchema),
    DropSchema(DropSchema),
    UseCatalog(String),
    UseSchema(Name),
    CreateTable(Box<CreateTable>),
    CreateView(CreateView),
    DropTable(DropTable),
    AlterTable {
        name: Name,
        op: AlterTableOp,
    },
    CommentOn {
        target: TagTarget,
        comment: Option<String>,
    },
    SetTags {
        target: TagTarget,
        tags: Vec<(String, String)>,
    },
    UnsetTags {
        target: TagTarget,
        keys: Vec<String>,
    },
    ShowCatalogs {
        like: Option<String>,
    },
    ShowSchemas {
        catalog: Option<String>,
        like: Option<String>,
    },
    ShowTables {
        schema: Option<Name>,
        like: Option<String>,
    },
    ShowColumns {
        table: Name,
    },
    Describe {
        table: Name,
        extended: bool,
    },
    DescribeDetail {
        table: Name,
    },
    /// `MERGE [WITH SCHEMA EVOLUTION] INTO target USING source ON ... WHEN ...`
    Merge {
        merge: Box<ast::Merge>,
        schema_evolution: bool,
    },
    /// `SHOW TBLPROPERTIES t [(key)]`
    ShowTblProperties {
        table: Name,
        key: Option<String>,
    },
    /// `DESCRIBE HISTORY t [LIMIT n]`
    DescribeHistory {
        table: Name,
        limit: Option<usize>,
    },
    /// `OPTIMIZE t [WHERE partition_predicate] [ZORDER BY (cols)]`
    Optimize {
        table: Name,
        predicate: Option<ast::Expr>,
        zorder: Vec<String>,
    },
    /// `VACUUM t [RETAIN n HOURS] [DRY RUN]`
    Vacuum {
        table: Name,
        retain_hours: Option<f64>,
        dry_run: bool,
    },
    /// `RESTORE [TABLE] t [TO] VERSION AS OF n | TIMESTAMP AS OF expr`, or `RESTORE t@vN`
    Restore {
        table: Name,
        as_of: AsOfSpec,
    },
    DescribeCatalog {
        name: String,
    },
    DescribeSchema {
        name: Name,
    },
    SetVariable {
        name: String,
        value: String,
    },
    ShowVariable {
        name: String,
    },
    Transaction(TransactionVerb),
    /// `DECLARE name CURSOR [WITH[OUT] HOLD] FOR query`
    DeclareCursor {
        name: String,
        query: Box<ast::Query>,
        /// WITH HOLD: survives the end of the transaction block.
        hold: bool,
    },
    /// `FETCH [NEXT | FORWARD [n | ALL] | n | ALL] [FROM | IN] name`; `None` is ALL.
    Fetch {
        name: String,
        count: Option<u64>,
    },
    /// `CLOSE name | ALL`; `None` is ALL.
    CloseCursor {
        name: Option<String>,
    },
    /// `DEALLOCATE [PREPARE] name | ALL`; `None` is ALL. Prepared statements belong to the
    /// protocol front that made them: the engine reports which to drop.
    Deallocate {
        name: Option<String>,
    },
    /// Users, groups, grants, ownership and SQL functions.
    Governance(Box<GovernanceStatement>),
    /// SQL scripting: a `BEGIN ... END` block, a session variable's DECLARE or SET,
    /// EXECUTE IMMEDIATE.
    Script(Box<ScriptStatement>),
    /// `CALL procedure(args)`
    Call(Box<Call>),
    /// `DROP TEMPORARY VARIABLE [IF EXISTS] name`
    DropVariable {
        name: String,
        if_exists: bool,
    },
    CreateProcedure(Box<CreateProcedure>),
    DropProcedure {
        name: Name,
        if_exists: bool,
    },
    DescribeProcedure {
        name: Name,
    },
    /// `SHOW PROCEDURES [IN c.s] [LIKE 'pattern']`
    ShowProcedures {
        schema: Option<Name>,
        like: Option<String>,
    },
    CreateSchedule(Box<CreateSchedule>),
    /// `COPY INTO table FROM 'location' FILEFORMAT = ...`
    CopyInto(Box<CopyInto>),
    AlterSchedule {
        name: Name,
        action: AlterSchedule,
    },
    DropSchedule {
        name: Name,
        if_exists: bool,
    },
    DescribeSchedule {
        name: Name,
    },
    /// `SHOW SCHEDULES [IN c.s] [LIKE 'pattern']`
    ShowSchedules {
        schema: Option<Name>,
        like: Option<String>,
    },
    /// `CREATE / ALTER / DROP / DESCRIBE EXTERNAL LOCATION`, `SHOW EXTERNAL LOCATIONS`.
    ExternalLocation(Box<ExternalLocationStatement>),
}

impl Statement {
    /// What kind of statement this is.
    pub fn kind(&self) -> StatementKind {
        use StatementKind as K;
        match self {
            Statement::Standard(s) => match s.as_ref() {
                ast::Statement::Insert(_) => K::Insert,
                ast::Statement::Update { .. } => K::Update,
                ast::Statement::Delete(_) => K::Delete,
                ast::Statement::Explain { .. } | ast::Statement::ExplainTable { .. } => K::Explain,
                _ => K::Query,
            },
            Statement::CreateCatalog(_) => K::CreateCatalog,
            Statement::DropCatalog(_) => K::DropCatalog,
            Statement::CreateSchema(_) => K::CreateSchema,
            Statement::DropSchema(_) => K::DropSchema,
            Statement::UseCatalog(_) | Statement::UseSchema(_) => K::Use,
            Statement::CreateTable(ct) if ct.as_query.is_some() => K::CreateTableAsSelect,
            Statement::CreateTable(_) => K::CreateTable,
            Statement::CreateView(_) => K::CreateView,
            Statement::DropTable(d) if d.view => K::DropView,
            Statement::DropTable(_) => K::DropTable,
            Statement::AlterTable { .. } => K::AlterTable,
            Statement::SetTags { .. } => K::SetTags,
            Statement::UnsetTags { .. } => K::UnsetTags,
            Statement::CommentOn { .. } => K::Comment,
            Statement::ShowCatalogs { .. }
            | Statement::ShowSchemas { .. }
            | Statement::ShowTables { .. }
            | Statement::ShowColumns { .. }
            | Statement::ShowTblProperties { .. }
            | Statement::ShowVariable { .. } => K::Show,
            Statement::Describe { .. }
            | Statement::DescribeDetail { .. }
            | Statement::DescribeCatalog { .. }
            | Statement::DescribeSchema { .. } => K::Describe,
            Statement::DescribeHistory { .. } => K::DescribeHistory,
            Statement::Merge { .. } => K::Merge,
            Statement::Optimize { .. } => K::Optimize,
            Statement::Vacuum { .. } => K::Vacuum,
            Statement::Restore { .. } => K::Restore,
            Statement::SetVariable { .. } => K::Set,
            Statement::Transaction(TransactionVerb::Begin) => K::Begin,
            Statement::Transaction(TransactionVerb::Commit) => K::Commit,
            Statement::Transaction(TransactionVerb::Rollback) => K::Rollback,
            Statement::Transaction(TransactionVerb::Savepoint) => K::Savepoint,
            Statement::Transaction(TransactionVerb::Release) => K::ReleaseSavepoint,
            Statement::Transaction(TransactionVerb::RollbackTo) => K::RollbackToSavepoint,
            Statement::DeclareCursor { .. } => K::DeclareCursor,
            Statement::Fetch { .. } => K::Fetch,
            Statement::CloseCursor { .. } => K::CloseCursor,
            Statement::Deallocate { .. } => K::Deallocate,
            Statement::Governance(g) => g.kind(),
            Statement::Script(s) => match s.as_ref() {
                ScriptStatement::Declare(_) => K::DeclareVariable,
                ScriptStatement::Set(_) => K::Set,
                ScriptStatement::ExecuteImmediate(_) => K::ExecuteImmediate,
                _ => K::Script,
            },
            Statement::Call(_) => K::Call,
            Statement::DropVariable { .. } => K::DropVariable,
            Statement::CreateProcedure(_) => K::CreateProcedure,
            Statement::DropProcedure { .. } => K::DropProcedure,
            Statement::DescribeProcedure { .. } => K::Describe,
            Statement::ShowProcedures { .. } => K::Show,
            Statement::CreateSchedule(_) => K::CreateSchedule,
            Statement::CopyInto(_) => K::CopyInto,
            Statement::AlterSchedule { .. } => K::AlterSchedule,
            Statement::DropSchedule { .. } => K::DropSchedule,
            Statement::DescribeSchedule { .. } => K::Describe,
            Statement::ShowSchedules { .. } => K::Show,
            Statement::ExternalLocation(s) => s.kind(),
        }
    }
}

impl Statement {
    /// Visits the SQL this statement carries for planning: a standard statement, a MERGE, a
    /// CREATE TABLE's query, a cursor's query, OPTIMIZE's predicate, CALL's arguments.
    pub fn visit_sql<V: ast::VisitorMut>(&mut self, visitor: &mut V) {
        use datafusion::sql::sqlparser::ast::VisitMut;
        match self {
            Statement::Standard(s) => {
                let _ = s.as_mut().visit(visitor);
            }
            Statement::Merge { merge, .. } => {
                let _ = merge.as_mut().visit(visitor);
            }
            Statement::CreateTable(ct) => {
                if let Some(q) = ct.as_query.as_mut() {
                    let _ = q.visit(visitor);
                }
            }
            Statement::DeclareCursor { query, .. } => {
                let _ = query.visit(visitor);
            }
            Statement::Optimize {
                predicate: Some(p), ..
            } => {
                let _ = p.visit(visitor);
            }
            Statement::Call(call) => {
                for arg in call.args.iter_mut() {
                    let _ = arg.value.visit(visitor);
                }
            }
            _ => {}
        }
    }
}

/// The query `SELECT * FROM from`: its shape comes from the parser, `from` goes in as given.
pub fn select_star_from(from: Vec<ast::TableWithJoins>) -> Result<ast::Query> {
    let mut query = parse_query("SELECT * FROM t")?;
    let ast::SetExpr::Select(select) = query.body.as_mut() else {
        return Err(EngineError::Internal(
            "SELECT * FROM t did not parse as a SELECT".into(),
        ));
    };
    select.from = from;
    Ok(query)
}

/// Parses the text of one query (a view's definition), as a statement's query is parsed.
pub fn parse_query(sql: &str) -> Result<ast::Query> {
    let mut statements = parse_sql(sql)?;
    match (statements.pop(), statements.is_empty()) {
        (Some(Statement::Standard(s)), true) => match *s {
            ast::Statement::Query(q) => Ok(*q),
            other => Err(EngineError::syntax(format!(
                "expected a query, found: {other}"
            ))),
        },
        _ => Err(EngineError::syntax(format!("expected one query: {sql}"))),
    }
}

/// A statement of a query string, with its own text as the client wrote it.
#[derive(Debug, Clone)]
pub struct ParsedStatement {
    pub statement: Statement,
    /// This statement's text: a query string of several statements gives each its own part.
    pub text: String,
}

/// Parses a query string of stored SQL (Databricks SQL) into statements.
pub fn parse_sql(sql: &str) -> Result<Vec<Statement>> {
    parse_sql_in(sql, SqlDialect::Databricks)
}

/// Parses a query string in `dialect` into statements.
pub fn parse_sql_in(sql: &str, dialect: SqlDialect) -> Result<Vec<Statement>> {
    Ok(parse_script_in(sql, dialect)?
        .into_iter()
        .map(|p| p.statement)
        .collect())
}

/// The tokens of `sql` as Weir's parser reads them: checked for depth, with Weir's token
/// rewrites applied.
fn tokens_of(sql: &str) -> Result<Vec<datafusion::sql::sqlparser::tokenizer::TokenWithSpan>> {
    let tokens =
        datafusion::sql::sqlparser::tokenizer::Tokenizer::new(&WeirDialect::DATABRICKS, sql)
            .tokenize_with_location()
            .map_err(|e| EngineError::syntax(e.to_string()))?;
    complexity::check_depth(&tokens, MAX_STATEMENT_DEPTH, MAX_OPERATOR_CHAIN)?;
    Ok(number_question_marks(merge_star_forms(
        strip_session_function_parens(spark_syntax::typed_number_literals(tokens)),
    )))
}

/// Parses a query string of stored SQL (Databricks SQL) into statements, each with its own
/// text.
pub fn parse_script(sql: &str) -> Result<Vec<ParsedStatement>> {
    parse_script_in(sql, SqlDialect::Databricks)
}

/// Parses a query string in `dialect` into statements, each with its own text.
pub fn parse_script_in(sql: &str, dialect: SqlDialect) -> Result<Vec<ParsedStatement>> {
    let dialect = WeirDialect::of(dialect);
    let tokens = datafusion::sql::sqlparser::tokenizer::Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .map_err(|e| EngineError::syntax(e.to_string()))?;
    // Before anything recursive sees the statement.
    complexity::check_depth(&tokens, MAX_STATEMENT_DEPTH, MAX_OPERATOR_CHAIN)?;
    // Statements datafusion-pg-catalog parsed are recorded with the whole text.
    let whole = |statements: Vec<ast::Statement>| {
        statements
            .into_iter()
            .map(|s| {
                Ok(ParsedStatement {
                    statement: Statement::Standard(Box::new(compat_standard(s)?)),
                    text: sql.to_string(),
                })
            })
            .collect::<Result<Vec<_>>>()
    };
    if sql.contains("pg_") {
        if let Some(replaced) = replaced_client_query(sql) {
            return whole(replaced);
        }
    }
    match parse_statements(tokens, sql, dialect) {
        Ok(statements) => Ok(statements),
        // Postgres-only syntax in a client's catalog query (`OPERATOR(pg_catalog.~)`, ...).
        Err(e) if sql.contains("pg_") => match pg_compat().parse(sql) {
            Ok(statements) => whole(statements),
            Err(_) => Err(e),
        },
        Err(e) => Err(e),
    }
}

/// The text of `sql` from the first of `tokens` the tokenizer located (tokens Weir made itself
/// have no location) up to `end` (the `;` after the statement), or to the end of `sql`.
fn text_of(
    sql: &str,
    tokens: &[datafusion::sql::sqlparser::tokenizer::TokenWithSpan],
    end: Option<&datafusion::sql::sqlparser::tokenizer::TokenWithSpan>,
) -> String {
    use datafusion::sql::sqlparser::tokenizer::{Location, Span};
    // Locations count lines and characters from 1.
    let offset = |at: Location| -> Option<usize> {
        let line_start = if at.line <= 1 {
            0
        } else {
            sql.match_indices('\n').nth(at.line as usize - 2)?.0 + 1
        };
        let line = &sql[line_start..];
        let column = (at.column as usize).checked_sub(1)?;
        Some(
            line_start
                + line
                    .char_indices()
                    .nth(column)
                    .map(|(i, _)| i)
                    .unwrap_or(line.len()),
        )
    };
    let from = tokens
        .iter()
        .find(|t| t.span != Span::empty())
        .and_then(|t| offset(t.span.start))
        .unwrap_or(0);
    let to = end
        .filter(|t| t.token == Token::SemiColon && t.span != Span::empty())
        .and_then(|t| offset(t.span.start))
        .unwrap_or(sql.len());
    sql.get(from..to).unwrap_or(sql).trim().to_string()
}

/// datafusion-pg-catalog's parser: its rewrites make client catalog queries plannable.
fn pg_compat() -> &'static PostgresCompatibilityParser {
    static PARSER: std::sync::LazyLock<PostgresCompatibilityParser> =
        std::sync::LazyLock::new(PostgresCompatibilityParser::new);
    &PARSER
}

/// Some client catalog queries (psql `\d`, pgcli, DBeaver) cannot be planned by DataFusion
/// and are replaced wholesale by datafusion-pg-catalog with equivalents. When `sql` is one of
/// them, its replacement: what that parser makes of the text differs from the plain parse.
fn replaced_client_query(sql: &str) -> Option<Vec<ast::Statement>> {
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    let replaced = pg_compat().parse(sql).ok()?;
    let plain: Vec<_> = Parser::parse_sql(&PostgreSqlDialect {}, sql)
        .ok()?
        .into_iter()
        .map(|s| pg_compat().rewrite(s))
        .collect();
    (replaced != plain).then_some(replaced)
}

/// datafusion-pg-catalog's statement rewrites, in its parser's order, but for
/// `RemoveSubqueryFromProjection`: that one turns a correlated scalar subquery in a SELECT
/// list into NULL and adds `LIMIT 1` to an uncorrelated one, so that client catalog queries
/// plan — and silently changes the answer of any other query (a per-row count came back NULL).
/// It runs on statements over `pg_catalog` only (`compat_rewrite`).
fn compat_rules() -> &'static [Box<dyn datafusion_pg_catalog::sql::rules::SqlStatementRewriteRule>]
{
    use datafusion_pg_catalog::sql::rules::*;
    static RULES: std::sync::LazyLock<Vec<Box<dyn SqlStatementRewriteRule>>> =
        std::sync::LazyLock::new(|| {
            vec![
                Box::new(AliasDuplicatedProjectionRewrite),
                Box::new(ResolveUnqualifiedIdentifier),
                Box::new(RewriteArrayAnyAllOperation),
                Box::new(PrependUnqualifiedPgTableName),
                Box::new(StripCallableQualifier),
                Box::new(FixArrayLiteral),
                Box::new(CurrentUserVariableToSessionUserFunctionCall),
                Box::new(StripCollate),
                Box::new(RewritePgCatalogOperator),
                Box::new(RewriteRegCastToSubquery::new()),
                Box::new(FixVersionColumnName),
            ]
        });
    &RULES
}

/// datafusion-pg-catalog's rewrites of a statement Weir parsed (see `compat_rules`).
fn compat_rewrite(mut stmt: ast::Statement) -> ast::Statement {
    use datafusion_pg_catalog::sql::rules::{
        RemoveSubqueryFromProjection, SqlStatementRewriteRule,
    };
    for rule in compat_rules() {
        stmt = rule.rewrite(stmt);
    }
    if stmt.to_string().contains("pg_catalog.") {
        stmt = RemoveSubqueryFromProjection.rewrite(stmt);
    }
    stmt
}

/// A standard statement as Weir parsed it: long chains balanced first (the rewrites below
/// recurse), then datafusion-pg-catalog's rewrites and Weir's own.
fn own_standard(mut stmt: ast::Statement) -> Result<ast::Statement> {
    rebalance::rebalance_statement(&mut stmt);
    finish_standard(compat_rewrite(stmt))
}

/// A standard statement datafusion-pg-catalog parsed (and rewrote).
fn compat_standard(mut stmt: ast::Statement) -> Result<ast::Statement> {
    rebalance::rebalance_statement(&mut stmt);
    finish_standard(stmt)
}

/// Weir's rewrites of every standard statement.
fn finish_standard(mut stmt: ast::Statement) -> Result<ast::Statement> {
    group_by::rewrite_group_by_modifiers(&mut stmt)?;
    spark_syntax::rewrite_spark_expressions(&mut stmt);
    interval::rewrite_interval_ranges(&mut stmt)?;
    generators::rewrite_generators(&mut stmt)?;
    spark_functions::rewrite_spark_functions(&mut stmt);
    rewrite_like_escapes(&mut stmt);
    rewrite_array_subqueries(&mut stmt);
    if stmt.to_string().contains("pg_catalog.") {
        aggregate_catalog_scalar_subqueries(&mut stmt);
    }
    output_names::mark_duplicate_names(&mut stmt);
    Ok(stmt)
}

fn parse_statements(
    tokens: Vec<datafusion::sql::sqlparser::tokenizer::TokenWithSpan>,
    sql: &str,
    dialect: WeirDialect,
) -> Result<Vec<ParsedStatement>> {
    let tokens = number_question_marks(merge_star_forms(strip_session_function_parens(
        spark_syntax::lateral_view_clause_keywords(interval::multi_unit_intervals(
            spark_syntax::exists_calls(spark_syntax::typed_number_literals(tokens)),
        )),
    )));
    let mut parser = Parser::new(&dialect).with_tokens_with_locations(tokens.clone());
    let mut out = Vec::new();
    loop {
        while parser.consume_token(&Token::SemiColon) {}
        if parser.peek_token().token == Token::EOF {
            break;
        }
        let start = parser.index();
        let stmt = match parse_weir_statement(&mut parser)? {
            Some(mut s) => {
                rebalance_embedded(&mut s);
                s
            }
            None => Statement::Standard(Box::new(own_standard(parser.parse_statement()?)?)),
        };
        let end = parser.index().min(tokens.len());
        let terminator = (end..tokens.len())
            .map(|i| &tokens[i])
            .find(|t| !matches!(t.token, Token::Whitespace(_)));
        out.push(ParsedStatement {
            statement: stmt,
            text: text_of(sql, &tokens[start.min(end)..end], terminator),
        });
        let next = parser.peek_token();
        if next.token != Token::EOF && next.token != Token::SemiColon {
            return Err(EngineError::syntax(format!(
                "expected end of statement, found: {}",
                next.token
            )));
        }
    }
    Ok(out)
}

/// Rebalances the long chains of the SQL a Weir statement carries (see `rebalance`).
fn rebalance_embedded(statement: &mut Statement) {
    use datafusion::sql::sqlparser::ast::VisitMut;
    match statement {
        Statement::CreateTable(ct) => {
            if let Some(q) = ct.as_query.as_mut() {
                rebalance::rebalance_query(q);
            }
        }
        Statement::CreateView(CreateView { query, .. })
        | Statement::DeclareCursor { query, .. } => rebalance::rebalance_query(query),
        Statement::Merge { merge, .. } => {
            let _ = merge.as_mut().visit(&mut rebalance::Rebalancer);
        }
        Statement::Optimize {
            predicate: Some(p), ..
        } => rebalance::rebalance_expr(p),
        _ => {}
    }
}

/// DataFusion's LIKE only knows the backslash escape; SQLAlchemy and others send
/// `LIKE $1 || '%' ESCAPE '/'`. Rewrite the pattern expression into the backslash form
/// (`e%` → `\%`, `e_` → `\_`, `ee` → `e`, `\` → `\\`), which also works for parameters.
fn rewrite_like_escapes(stmt: &mut ast::Statement) {
    use datafusion::sql::sqlparser::ast::{visit_expressions_mut, Expr, Value};
    let _ = visit_expressions_mut(stmt, |e| {
        if let Expr::Like {
            pattern,
            escape_char,
            ..
        }
        | Expr::ILike {
            pattern,
            escape_char,
            ..
        } = e
        {
            let esc = match escape_char.as_ref().map(|v| &v.value) {
                Some(Value::SingleQuotedString(s)) if s.chars().count() == 1 => s.chars().next(),
                _ => None,
            };
            if let Some(esc) = esc.filter(|c| *c != '\\') {
                let q = |s: String| s.replace('\'', "''");
                let e = q(esc.to_string());
                let ee = q(format!("{esc}{esc}"));
                let sql = format!(
                    "replace(replace(replace(replace(replace(({pattern}), '\\', '\\\\'), '{ee}', chr(1)), \
                     '{e}_', '\\_'), '{e}%', '\\%'), chr(1), '{e}')"
                );
                // The text is the display of the pattern: read back without escapes.
                if let Ok(new_pattern) = Parser::new(&WeirDialect::POSTGRESQL)
                    .try_with_sql(&sql)
                    .and_then(|mut p| p.parse_expr())
                {
                    **pattern = new_pattern;
                    *escape_char = None;
                }
            }
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

/// Parses one expression (a stored DEFAULT, say).
pub fn parse_expr(sql: &str) -> Result<ast::Expr> {
    let mut parser =
        Parser::new(&WeirDialect::DATABRICKS).with_tokens_with_locations(tokens_of(sql)?);
    let expr = parser.parse_expr()?;
    if parser.peek_token().token != Token::EOF {
        return Err(EngineError::syntax(format!(
            "expected one expression: {sql}"
        )));
    }
    Ok(expr)
}

/// An expression from the display of expressions Weir rewrites (no escapes: a displayed
/// literal holds its characters as they are).
fn parse_expr_text(sql: &str) -> Option<ast::Expr> {
    Parser::new(&WeirDialect::POSTGRESQL)
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_expr())
        .ok()
}

/// The single projected expression of a plain `SELECT e FROM ...` (no GROUP BY, no set
/// operation), with its alias.
fn single_projection(q: &mut ast::Query) -> Option<&mut ast::Select> {
    use datafusion::sql::sqlparser::ast::{GroupByExpr, SetExpr};
    let SetExpr::Select(select) = q.body.as_mut() else {
        return None;
    };
    let plain_group = matches!(&select.group_by, GroupByExpr::Expressions(v, _) if v.is_empty());
    if select.projection.len() != 1 || !plain_group || select.having.is_some() {
        return None;
    }
    Some(select)
}

/// Wraps the projected expression of a subquery in an aggregate (`array_agg(e)`, `max(e)`).
fn aggregate_projection(q: &mut ast::Query, aggregate: &str) -> bool {
    use datafusion::sql::sqlparser::ast::SelectItem;
    let Some(select) = single_projection(q) else {
        return false;
    };
    let (expr, alias) = match &select.projection[0] {
        SelectItem::UnnamedExpr(e) => (e.clone(), None),
        SelectItem::ExprWithAlias { expr, alias } => (expr.clone(), Some(alias.clone())),
        _ => return false,
    };
    let text = expr.to_string().to_ascii_lowercase();
    let already = [
        "count(",
        "max(",
        "min(",
        "sum(",
        "avg(",
        "array_agg(",
        "string_agg(",
        "bool_or(",
        "bool_and(",
    ]
    .iter()
    .any(|a| text.starts_with(a));
    if already {
        return false;
    }
    let Some(agg) = parse_expr_text(&format!("{aggregate}({expr})")) else {
        return false;
    };
    select.projection[0] = match alias {
        Some(alias) => SelectItem::ExprWithAlias { expr: agg, alias },
        None => SelectItem::UnnamedExpr(agg),
    };
    true
}

/// `ARRAY(SELECT e FROM ...)` (psql's `\d+`, PostgreSQL generally) becomes
/// `(SELECT array_agg(e) FROM ...)`, which DataFusion plans.
fn rewrite_array_subqueries(stmt: &mut ast::Statement) {
    use datafusion::sql::sqlparser::ast::{
        visit_expressions_mut, Expr, FunctionArg, FunctionArgExpr, FunctionArguments,
    };
    // `FROM [pg_catalog.]unnest(x) alias`: a table function in PostgreSQL, the UNNEST relation
    // in DataFusion.
    let _ = datafusion::sql::sqlparser::ast::VisitMut::visit(stmt, &mut UnnestRelations);
    let _ = visit_expressions_mut(stmt, |e| {
        if let Expr::Function(f) = e {
            if f.name.to_string().eq_ignore_ascii_case("array") {
                let subquery = match &f.args {
                    FunctionArguments::Subquery(q) => Some(q.clone()),
                    FunctionArguments::List(list) if list.args.len() == 1 => match &list.args[0] {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Subquery(q))) => {
                            Some(q.clone())
                        }
                        _ => None,
                    },
                    _ => None,
                };
                if let Some(mut q) = subquery {
                    // `ORDER BY` of the subquery would order rows before aggregation; ordering
                    // inside the array is not preserved.
                    q.order_by = None;
                    if aggregate_projection(&mut q, "array_agg") {
                        *e = Expr::Subquery(q);
                    }
                }
            }
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

struct UnnestRelations;

impl datafusion::sql::sqlparser::ast::VisitorMut for UnnestRelations {
    type Break = ();

    fn pre_visit_table_factor(
        &mut self,
        factor: &mut ast::TableFactor,
    ) -> std::ops::ControlFlow<()> {
        use datafusion::sql::sqlparser::ast::{FunctionArg, FunctionArgExpr, TableFactor};
        if let TableFactor::Table {
            name,
            args: Some(args),
            alias,
            ..
        } = factor
        {
            let n = name.to_string().to_ascii_lowercase();
            if n == "unnest" || n == "pg_catalog.unnest" {
                let exprs: Option<Vec<ast::Expr>> = args
                    .args
                    .iter()
                    .map(|a| match a {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e.clone()),
                        _ => None,
                    })
                    .collect();
                if let Some(array_exprs) = exprs {
                    // PostgreSQL's `unnest(a) x` names the column `x` too.
                    let mut alias = alias.take();
                    if let Some(a) = alias.as_mut() {
                        if a.columns.is_empty() && array_exprs.len() == 1 {
                            a.columns =
                                vec![ast::TableAliasColumnDef::from_name(a.name.value.clone())];
                        }
                    }
                    *factor = TableFactor::UNNEST {
                        alias,
                        array_exprs,
                        with_offset: false,
                        with_offset_alias: None,
                        with_ordinality: false,
                    };
                }
            }
        }
        std::ops::ControlFlow::Continue(())
    }
}

/// Client catalog queries (SQLAlchemy's reflection) use correlated scalar subqueries that return
/// at most one row by construction; DataFusion only plans them aggregated. Applied to
/// `pg_catalog` queries only, where the one-row guarantee holds.
fn aggregate_catalog_scalar_subqueries(stmt: &mut ast::Statement) {
    use datafusion::sql::sqlparser::ast::{visit_expressions_mut, Expr};
    let _ = visit_expressions_mut(stmt, |e| {
        // Weir has no sequences: pg_get_serial_sequence() is always NULL. Folding it keeps
        // catalog subqueries correlated by plain columns only.
        if let Expr::Function(f) = e {
            let name = f.name.to_string().to_ascii_lowercase();
            if name == "pg_get_serial_sequence" || name == "pg_catalog.pg_get_serial_sequence" {
                if let Some(null) = parse_expr_text("NULL") {
                    *e = null;
                }
                return std::ops::ControlFlow::<()>::Continue(());
            }
        }
        // col_description(oid, n) / obj_description(oid[, catalog]): read pg_description,
        // which Weir fills from the metastore's comments.
        if let Expr::Function(f) = e {
            let name = f.name.to_string().to_ascii_lowercase();
            let name = name.trim_start_matches("pg_catalog.");
            if name == "col_description" || name == "obj_description" {
                let args: Vec<String> = match &f.args {
                    ast::FunctionArguments::List(l) => {
                        l.args.iter().map(|a| a.to_string()).collect()
                    }
                    _ => vec![],
                };
                let sub = match (name, args.as_slice()) {
                    ("col_description", [oid, n]) => Some(format!("{oid} AND d.objsubid = {n}")),
                    ("obj_description", [oid, ..]) => Some(format!("{oid} AND d.objsubid = 0")),
                    _ => None,
                };
                if let Some(cond) = sub {
                    if let Some(q) = parse_expr_text(&format!(
                        "(SELECT max(d.description) FROM pg_catalog.pg_description d WHERE d.objoid = {cond})"
                    )) {
                        *e = q;
                    }
                }
                return std::ops::ControlFlow::<()>::Continue(());
            }
        }
        // datafusion-pg-catalog's pg_class has no `reloptions`; Weir's relations have none.
        if let Expr::CompoundIdentifier(parts) = e {
            if parts
                .last()
                .is_some_and(|p| p.value.eq_ignore_ascii_case("reloptions"))
            {
                if let Some(empty) = parse_expr_text("make_array()") {
                    *e = empty;
                }
                return std::ops::ControlFlow::<()>::Continue(());
            }
        }
        // `'pg_catalog.pg_class'::regclass` names a system catalog, which Weir's pg_class (only
        // user relations) does not list; use PostgreSQL's fixed OIDs. datafusion-pg-catalog has
        // already turned such casts into a pg_class lookup of `parse_ident('name')`.
        let regclass_name = match e {
            Expr::Subquery(q) => {
                let text = q.to_string();
                text.split_once("parse_ident('")
                    .and_then(|(_, rest)| rest.split_once('\''))
                    .map(|(name, _)| name.to_string())
            }
            Expr::Cast {
                expr, data_type, ..
            } if data_type.to_string().eq_ignore_ascii_case("regclass") => match expr.as_ref() {
                Expr::Value(v) => match &v.value {
                    ast::Value::SingleQuotedString(s) => Some(s.clone()),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        };
        if let Some(oid) = regclass_name.as_deref().and_then(system_catalog_oid) {
            if let Some(lit) = parse_expr_text(&oid.to_string()) {
                *e = lit;
            }
            return std::ops::ControlFlow::<()>::Continue(());
        }
        if let Expr::Subquery(q) = e {
            // `x = NULL` is never true, and Weir's relations have no storage options
            // (`reloptions` is always NULL): such subqueries yield no row, i.e. NULL.
            if where_has_null_equality(q) || unnests_reloptions(q) {
                if let Some(null) = parse_expr_text("NULL") {
                    *e = null;
                }
                return std::ops::ControlFlow::<()>::Continue(());
            }
            aggregate_projection(q, "max");
            // DataFusion cannot decorrelate a subquery filtered by a predicate on outer columns
            // only; evaluate such a predicate outside: (SELECT .. WHERE p AND q) becomes
            // CASE WHEN p THEN (SELECT .. WHERE q) END.
            if let Some(outer) = take_outer_only_conjuncts(q) {
                let sub = Expr::Subquery(q.clone());
                if let Some(case) = parse_expr_text(&format!("CASE WHEN {outer} THEN {sub} END")) {
                    *e = case;
                }
            }
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

/// PostgreSQL's fixed OIDs of the system catalogs clients name in `'...'::regclass`.
fn system_catalog_oid(name: &str) -> Option<i32> {
    let name = name.trim().to_ascii_lowercase();
    Some(match name.trim_start_matches("pg_catalog.") {
        "pg_type" => 1247,
        "pg_attribute" => 1249,
        "pg_proc" => 1255,
        "pg_class" => 1259,
        "pg_constraint" => 2606,
        "pg_namespace" => 2615,
        "pg_database" => 1262,
        "pg_description" => 2609,
        _ => return None,
    })
}

/// `(SELECT ... FROM unnest(x.reloptions) ...)`, as psql's `\d+` sends.
fn unnests_reloptions(q: &ast::Query) -> bool {
    use datafusion::sql::sqlparser::ast::{SetExpr, TableFactor};
    let SetExpr::Select(select) = q.body.as_ref() else {
        return false;
    };
    select.from.iter().any(|twj| match &twj.relation {
        TableFactor::UNNEST { array_exprs, .. } => array_exprs
            .iter()
            .any(|e| e.to_string().to_ascii_lowercase().ends_with("reloptions")),
        TableFactor::Table {
            name,
            args: Some(args),
            ..
        } => {
            name.to_string().to_ascii_lowercase().ends_with("unnest")
                && args
                    .args
                    .iter()
                    .any(|a| a.to_string().to_ascii_lowercase().ends_with("reloptions"))
        }
        _ => false,
    })
}

fn where_has_null_equality(q: &ast::Query) -> bool {
    use datafusion::sql::sqlparser::ast::{BinaryOperator, Expr, SetExpr, Value};
    fn is_null(e: &Expr) -> bool {
        match e {
            Expr::Value(v) => matches!(v.value, Value::Null),
            Expr::Cast { expr, .. } | Expr::Nested(expr) => is_null(expr),
            _ => false,
        }
    }
    fn any_conjunct(e: &Expr) -> bool {
        match e {
            Expr::BinaryOp {
                left,
                op: BinaryOperator::And,
                right,
            } => any_conjunct(left) || any_conjunct(right),
            Expr::BinaryOp {
                left,
                op: BinaryOperator::Eq,
                right,
            } => is_null(left) || is_null(right),
            _ => false,
        }
    }
    match q.body.as_ref() {
        SetExpr::Select(select) => select.selection.as_ref().is_some_and(any_conjunct),
        _ => false,
    }
}

/// Removes from a subquery's WHERE the conjuncts whose columns are all qualified by names the
/// subquery does not define (its outer query's), and returns them joined with AND.
fn take_outer_only_conjuncts(q: &mut ast::Query) -> Option<String> {
    use datafusion::sql::sqlparser::ast::{BinaryOperator, Expr, SetExpr, TableFactor};
    let SetExpr::Select(select) = q.body.as_mut() else {
        return None;
    };
    let mut inner: Vec<String> = Vec::new();
    for twj in &select.from {
        for factor in std::iter::once(&twj.relation).chain(twj.joins.iter().map(|j| &j.relation)) {
            if let TableFactor::Table { name, alias, .. } = factor {
                inner.push(name.to_string().to_ascii_lowercase());
                if let Some(last) = name.0.last() {
                    inner.push(last.to_string().to_ascii_lowercase());
                }
                if let Some(a) = alias {
                    inner.push(a.name.value.to_ascii_lowercase());
                }
            } else {
                return None;
            }
        }
    }
    let selection = select.selection.take()?;
    fn split(e: Expr, out: &mut Vec<Expr>) {
        match e {
            Expr::BinaryOp {
                left,
                op: BinaryOperator::And,
                right,
            } => {
                split(*left, out);
                split(*right, out);
            }
            other => out.push(other),
        }
    }
    let mut conjuncts = Vec::new();
    split(selection, &mut conjuncts);
    let is_outer_only = |c: &Expr| {
        let mut qualifiers = Vec::new();
        let mut unqualified = false;
        let _ = datafusion::sql::sqlparser::ast::visit_expressions(c, |x| {
            match x {
                Expr::CompoundIdentifier(parts) if parts.len() >= 2 => {
                    let q: Vec<String> = parts[..parts.len() - 1]
                        .iter()
                        .map(|p| p.value.to_ascii_lowercase())
                        .collect();
                    qualifiers.push(q.join("."));
                }
                Expr::Identifier(_)
                | Expr::Subquery(_)
                | Expr::Exists { .. }
                | Expr::InSubquery { .. } => unqualified = true,
                _ => {}
            }
            std::ops::ControlFlow::<()>::Continue(())
        });
        !unqualified
            && !qualifiers.is_empty()
            && qualifiers.iter().all(|q| {
                let last = q.rsplit('.').next().unwrap_or(q).to_string();
                !inner.contains(q) && !inner.contains(&last)
            })
    };
    let (outer, rest): (Vec<Expr>, Vec<Expr>) =
        conjuncts.into_iter().partition(|c| is_outer_only(c));
    let and = |v: Vec<Expr>| -> Option<Expr> {
        v.into_iter().reduce(|a, b| Expr::BinaryOp {
            left: Box::new(a),
            op: BinaryOperator::And,
            right: Box::new(b),
        })
    };
    select.selection = and(rest);
    Some(and(outer)?.to_string())
}

/// Databricks' `MERGE ... UPDATE SET *` and `INSERT *` become `UPDATE SET "*" = "*"` and
/// `INSERT ROW`, which sqlparser parses; the MERGE handler expands them to every column.
fn merge_star_forms(
    tokens: Vec<datafusion::sql::sqlparser::tokenizer::TokenWithSpan>,
) -> Vec<datafusion::sql::sqlparser::tokenizer::TokenWithSpan> {
    use datafusion::sql::sqlparser::tokenizer::TokenWithSpan;
    let is_word = |t: &Token, w: &str| matches!(t, Token::Word(x) if x.quote_style.is_none() && x.value.eq_ignore_ascii_case(w));
    // A MERGE anywhere: a statement of several, or of a script's block.
    if !tokens.iter().any(|t| is_word(&t.token, "MERGE")) {
        return tokens;
    }
    let mut out: Vec<TokenWithSpan> = Vec::with_capacity(tokens.len() + 4);
    for t in tokens {
        if t.token == Token::Mul {
            let previous: Vec<&Token> = out
                .iter()
                .rev()
                .filter(|x| !matches!(x.token, Token::Whitespace(_)))
                .take(2)
                .map(|x| &x.token)
                .collect();
            match previous.as_slice() {
                [p, ..] if is_word(p, "INSERT") => {
                    out.push(TokenWithSpan::wrap(Token::make_keyword("ROW")));
                    continue;
                }
                [p, q, ..] if is_word(p, "SET") && is_word(q, "UPDATE") => {
                    let star = || TokenWithSpan::wrap(Token::make_word(ALL_COLUMNS, Some('"')));
                    out.push(star());
                    out.push(TokenWithSpan::wrap(Token::Eq));
                    out.push(star());
                    continue;
                }
                _ => {}
            }
        }
        out.push(t);
    }
    out
}

/// ADBC, JDBC and ODBC clients write parameters as `?`; Weir plans `$1`, `$2`, ... Each `?` is
/// numbered in the order it appears, unless the text already uses numbered parameters.
fn number_question_marks(
    mut tokens: Vec<datafusion::sql::sqlparser::tokenizer::TokenWithSpan>,
) -> Vec<datafusion::sql::sqlparser::tokenizer::TokenWithSpan> {
    let is_mark = |t: &Token| matches!(t, Token::Placeholder(p) if p == "?");
    let numbered = tokens
        .iter()
        .any(|t| matches!(&t.token, Token::Placeholder(p) if p.starts_with('$')));
    if numbered || !tokens.iter().any(|t| is_mark(&t.token)) {
        return tokens;
    }
    let mut n = 0;
    for t in &mut tokens {
        if is_mark(&t.token) {
            n += 1;
            t.token = Token::Placeholder(format!("${n}"));
        }
    }
    tokens
}

/// `current_catalog()`, `current_schema()`, `current_user()`, `session_user()`: Databricks writes
/// them with parentheses, SQL (and sqlparser) without. Accept both by dropping empty parentheses.
fn strip_session_function_parens(
    tokens: Vec<datafusion::sql::sqlparser::tokenizer::TokenWithSpan>,
) -> Vec<datafusion::sql::sqlparser::tokenizer::TokenWithSpan> {
    const NAMES: &[&str] = &[
        "CURRENT_CATALOG",
        "CURRENT_SCHEMA",
        "CURRENT_USER",
        "SESSION_USER",
        "CURRENT_ROLE",
        "USER",
    ];
    let significant = |t: &Token| !matches!(t, Token::Whitespace(_));
    let mut out = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let is_fn = word_of(&tokens[i].token).is_some_and(|w| NAMES.contains(&w.as_str()));
        out.push(tokens[i].clone());
        if is_fn {
            let mut j = i + 1;
            while j < tokens.len() && !significant(&tokens[j].token) {
                j += 1;
            }
            if j < tokens.len() && tokens[j].token == Token::LParen {
                let mut k = j + 1;
                while k < tokens.len() && !significant(&tokens[k].token) {
                    k += 1;
                }
                if k < tokens.len() && tokens[k].token == Token::RParen {
                    i = k + 1;
                    continue;
                }
            }
        }
        i += 1;
    }
    out
}

/// Word-level helpers on top of sqlparser's parser: Weir's grammar uses words that are not all
/// sqlparser keywords, so it matches on the upper-cased word text.
/// A token as SQL text that reads back as the same token. sqlparser displays a literal or a
/// quoted identifier with its quotes but without escaping them (`'it''s'` becomes `'it's'`).
fn token_text(token: &Token) -> String {
    match token {
        // Stored text is read back as Databricks SQL, where a backslash escapes.
        Token::SingleQuotedString(s) => {
            format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
        }
        Token::DoubleQuotedString(s) => format!("\"{}\"", s.replace('"', "\"\"")),
        Token::Word(w) => match w.quote_style {
            Some(q) if q == '"' || q == '`' => {
                let doubled: String = [q, q].iter().collect();
                format!("{q}{}{q}", w.value.replace(q, &doubled))
            }
            _ => token.to_string(),
        },
        other => other.to_string(),
    }
}

struct P<'a, 'b> {
    p: &'a mut Parser<'b>,
}

fn word_of(t: &Token) -> Option<String> {
    match t {
        Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
        _ => None,
    }
}

impl P<'_, '_> {
    fn peek_word(&self, n: usize) -> Option<String> {
        word_of(&self.p.peek_nth_token(n).token)
    }

    fn peek_is(&self, words: &[&str]) -> bool {
        words
            .iter()
            .enumerate()
            .all(|(i, w)| self.peek_word(i).as_deref() == Some(*w))
    }

    fn eat(&mut self, words: &[&str]) -> bool {
        if self.peek_is(words) {
            for _ in words {
                self.p.next_token();
            }
            true
        } else {
            false
        }
    }

    fn expect(&mut self, words: &[&str]) -> Result<()> {
        if self.eat(words) {
            Ok(())
        } else {
            Err(EngineError::syntax(format!(
                "expected {}, found: {}",
                words.join(" "),
                self.p.peek_token().token
            )))
        }
    }

    fn ident(&mut self) -> Result<String> {
        let id = self.p.parse_identifier()?;
        Ok(id.value.to_lowercase())
    }

    fn name(&mut self) -> Result<Name> {
        let mut parts = vec![self.ident()?];
        while self.p.consume_token(&Token::Period) {
            parts.push(self.ident()?);
        }
        Ok(parts)
    }

    fn string(&mut self) -> Result<String> {
        Ok(self.p.parse_literal_string()?)
    }

    /// The text of the tokens from `start` to the parser's position, as the tokenizer read them.
    fn text_since(&self, start: usize) -> String {
        let mut end = self.p.index();
        while end > start && matches!(self.p.token_at(end - 1).token, Token::Whitespace(_)) {
            end -= 1;
        }
        let text: String = (start..end)
            .map(|i| token_text(&self.p.token_at(i).token))
            .collect();
        text.trim().to_string()
    }

    fn string_or_null(&mut self) -> Result<Option<String>> {
        if self.eat(&["NULL"]) {
            Ok(None)
        } else {
            Ok(Some(self.string()?))
        }
    }

    fn if_not_exists(&mut self) -> bool {
        self.eat(&["IF", "NOT", "EXISTS"])
    }

    fn if_exists(&mut self) -> bool {
        self.eat(&["IF", "EXISTS"])
    }

    fn cascade(&mut self) -> bool {
        if self.eat(&["CASCADE"]) {
            true
        } else {
            self.eat(&["RESTRICT"]);
            false
        }
    }

    fn like(&mut self) -> Result<Option<String>> {
        if self.eat(&["LIKE"]) {
            Ok(Some(self.string()?))
        } else if matches!(self.p.peek_token().token, Token::SingleQuotedString(_)) {
            // Databricks allows `SHOW TABLES 'pattern'`.
            Ok(Some(self.string()?))
        } else {
            Ok(None)
        }
    }

    fn lparen(&mut self) -> Result<()> {
        self.p.expect_token(&Token::LParen)?;
        Ok(())
    }

    fn rparen(&mut self) -> Result<()> {
        self.p.expect_token(&Token::RParen)?;
        Ok(())
    }

    /// A property key: a string literal or a dotted identifier (`delta.appendOnly`).
    fn property_key(&mut self) -> Result<String> {
        if matches!(self.p.peek_token().token, Token::SingleQuotedString(_)) {
            return self.string();
        }
        let mut parts = vec![self.p.parse_identifier()?.value];
        while self.p.consume_token(&Token::Period) {
            parts.push(self.p.parse_identifier()?.value);
        }
        Ok(parts.join("."))
    }

    fn property_value(&mut self) -> Result<String> {
        let t = self.p.next_token();
        match t.token {
            Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) => Ok(s),
            Token::Number(n, _) => Ok(n),
            Token::Word(w) => Ok(w.value),
            other => Err(EngineError::syntax(format!(
                "expected a property value, found: {other}"
            ))),
        }
    }

    fn key_values(&mut self) -> Result<Vec<(String, String)>> {
        self.lparen()?;
        let mut out = Vec::new();
        if self.p.consume_token(&Token::RParen) {
            return Ok(out);
        }
        loop {
            let k = self.property_key()?;
            self.p.expect_token(&Token::Eq)?;
            let v = self.property_value()?;
            out.push((k, v));
            if !self.p.consume_token(&Token::Comma) {
                break;
            }
        }
        self.rparen()?;
        Ok(out)
    }

    fn key_list(&mut self) -> Result<Vec<String>> {
        self.lparen()?;
        let mut out = vec![self.property_key()?];
        while self.p.consume_token(&Token::Comma) {
            out.push(self.property_key()?);
        }
        self.rparen()?;
        Ok(out)
    }

    fn ident_list(&mut self) -> Result<Vec<String>> {
        self.lparen()?;
        let mut out = vec![self.ident()?];
        while self.p.consume_token(&Token::Comma) {
            out.push(self.ident()?);
        }
        self.rparen()?;
        Ok(out)
    }

    /// `name type [NOT NULL] [COMMENT 'text']`, with the type given in Spark syntax.
    fn column_def(&mut self) -> Result<ColumnDef> {
        let name = self.ident()?;
        let mut depth = 0i32;
        let mut type_text = String::new();
        loop {
            let t = self.p.peek_token().token;
            let stop = match &t {
                Token::EOF | Token::SemiColon => true,
                Token::Comma | Token::RParen if depth == 0 => true,
                Token::Word(_) if depth == 0 && !type_text.is_empty() => matches!(
                    word_of(&t).as_deref(),
                    Some(
                        "NOT"
                            | "NULL"
                            | "COMMENT"
                            | "DEFAULT"
                            | "GENERATED"
                            | "PRIMARY"
                            | "CONSTRAINT"
                    )
                ),
                _ => false,
            };
            if stop {
                break;
            }
            match &t {
                Token::LParen | Token::Lt => depth += 1,
                Token::RParen | Token::Gt => depth -= 1,
                Token::ShiftRight => depth -= 2,
                _ => {}
            }
            type_text.push_str(&t.to_string());
            type_text.push(' ');
            self.p.next_token();
        }
        let data_type = type_text.trim().to_string();
        if data_type.is_empty() {
            return Err(EngineError::syntax(format!(
                "column '{name}' needs a data type"
            )));
        }
        parse_spark_type(&data_type)?;
        let mut nullable = true;
        let mut comment = None;
        loop {
            if self.eat(&["NOT", "NULL"]) {
                nullable = false;
            } else if self.eat(&["NULL"]) {
                nullable = true;
            } else if self.eat(&["COMMENT"]) {
                comment = Some(self.string()?);
            } else {
                break;
            }
        }
        Ok(ColumnDef {
            name,
            data_type: normalize_type_text(&data_type),
            nullable,
            comment,
        })
    }

    fn column_defs(&mut self) -> Result<Vec<ColumnDef>> {
        self.lparen()?;
        let mut cols = vec![self.column_def()?];
        while self.p.consume_token(&Token::Comma) {
            cols.push(self.column_def()?);
        }
        self.rparen()?;
        Ok(cols)
    }

    fn tag_target_after_alter(&mut self) -> Result<Option<TagTarget>> {
        Ok(Some(if self.eat(&["CATALOG"]) {
            TagTarget::Catalog(self.name()?)
        } else if self.eat(&["SCHEMA"]) || self.eat(&["DATABASE"]) {
            TagTarget::Schema(self.name()?)
        } else {
            return Ok(None);
        }))
    }

    fn tags_clause(&mut self, target: TagTarget) -> Result<Option<Statement>> {
        if self.eat(&["SET", "TAGS"]) {
            Ok(Some(Statement::SetTags {
                target,
                tags: self.key_values()?,
            }))
        } else if self.eat(&["UNSET", "TAGS"]) {
            Ok(Some(Statement::UnsetTags {
                target,
                keys: self.key_list()?,
            }))
        } else {
            Ok(None)
        }
    }
}

fn normalize_type_text(t: &str) -> String {
    // Token display inserted spaces; keep the type readable and canonical.
    let joined: String = t.split_whitespace().collect::<Vec<_>>().join("");
    crate::types::spark_type_name(
        &parse_spark_type(&joined).unwrap_or(arrow::datatypes::DataType::Null),
    )
}

/// Parses a Weir-specific statement at the parser's position, or returns `None` (consuming
/// nothing) when the statement is standard SQL.
fn parse_weir_statement(parser: &mut Parser<'_>) -> Result<Option<Statement>> {
    let mut p = P { p: parser };
    if script::at_compound(&p) {
        let mut leaf = parse_leaf;
        let compound = script::ScriptParser::new(&mut leaf).statement(&mut p)?;
        return Ok(Some(Statement::Script(Box::new(compound))));
    }
    let first = match p.peek_word(0) {
        Some(w) => w,
        None => return Ok(None),
    };
    match first.as_str() {
        "DECLARE" if !script::declares_cursor(&p) => {
            return Ok(Some(Statement::Script(Box::new(ScriptStatement::Declare(
                script::declare_variable(&mut p)?,
            )))))
        }
        "SET" if p.peek_is(&["SET", "VAR"]) || p.peek_is(&["SET", "VARIABLE"]) => {
            return Ok(Some(Statement::Script(Box::new(ScriptStatement::Set(
                script::set_variables(&mut p)?,
            )))))
        }
        "EXECUTE" if p.peek_is(&["EXECUTE", "IMMEDIATE"]) => {
            return Ok(Some(Statement::Script(Box::new(
                ScriptStatement::ExecuteImmediate(script::execute_immediate(&mut p)?),
            ))))
        }
        "CALL" => return Ok(Some(Statement::Call(Box::new(script::call(&mut p)?)))),
        "COPY" if p.peek_is(&["COPY", "INTO"]) => {
            if let Some(copy) = copy_into::parse(&mut p)? {
                return Ok(Some(Statement::CopyInto(Box::new(copy))));
            }
        }
        "DROP"
            if p.peek_is(&["DROP", "TEMPORARY", "VARIABLE"])
                || p.peek_is(&["DROP", "TEMPORARY", "VAR"])
                || p.peek_is(&["DROP", "VARIABLE"]) =>
        {
            p.p.next_token();
            p.eat(&["TEMPORARY"]);
            if !p.eat(&["VARIABLE"]) {
                p.eat(&["VAR"]);
            }
            let if_exists = p.if_exists();
            let mut name = p.name()?;
            if name.len() > 1
                && !matches!(
                    name[..name.len() - 1].join(".").as_str(),
                    "session" | "system.session"
                )
            {
                return Err(EngineError::syntax(format!(
                    "invalid session variable name {}",
                    name.join(".")
                )));
            }
            return Ok(Some(Statement::DropVariable {
                name: name.pop().unwrap_or_default(),
                if_exists,
            }));
        }
        _ => {}
    }
    if let Some(s) = procedure::parse(&mut p)? {
        return Ok(Some(s));
    }
    if let Some(s) = schedule::parse(&mut p)? {
        return Ok(Some(s));
    }
    if let Some(s) = external_location::parse(&mut p)? {
        return Ok(Some(s));
    }
    if let Some(s) = governance::parse(&mut p)? {
        return Ok(Some(s));
    }
    Ok(Some(match first.as_str() {
        "CREATE" => {
            let (or_replace, kind_at) = if p.peek_is(&["CREATE", "OR", "REPLACE"]) {
                (true, 3)
            } else {
                (false, 1)
            };
            let kind = p.peek_word(kind_at).unwrap_or_default();
            let kind = if kind == "EXTERNAL" || kind == "TEMPORARY" || kind == "TEMP" {
                return Err(EngineError::not_supported(format!(
                    "CREATE {kind} ... is not supported; use CREATE TABLE ... LOCATION 'uri' for an external Delta table"
                )));
            } else {
                kind
            };
            match kind.as_str() {
                "CATALOG" => {
                    p.expect(&["CREATE", "CATALOG"])?;
                    let if_not_exists = p.if_not_exists();
                    let name = p.ident()?;
                    let (managed_location, comment) = location_and_comment(&mut p)?;
                    Statement::CreateCatalog(CreateCatalog {
                        name,
                        if_not_exists,
                        managed_location,
                        comment,
                    })
                }
                "SCHEMA" | "DATABASE" => {
                    p.p.next_token();
                    p.p.next_token();
                    let if_not_exists = p.if_not_exists();
                    let name = p.name()?;
                    let (managed_location, comment) = location_and_comment(&mut p)?;
                    Statement::CreateSchema(CreateSchema {
                        name,
                        if_not_exists,
                        managed_location,
                        comment,
                    })
                }
                "TABLE" => Statement::CreateTable(Box::new(create_table(&mut p, or_replace)?)),
                "VIEW" => {
                    for _ in 0..=kind_at {
                        p.p.next_token();
                    }
                    let if_not_exists = p.if_not_exists();
                    let name = p.name()?;
                    let mut comment = None;
                    if p.eat(&["COMMENT"]) {
                        comment = Some(p.string()?);
                    }
                    p.expect(&["AS"])?;
                    let start = p.p.index();
                    let query = p.p.parse_query()?;
                    // The definition is kept as written: sqlparser's display of a query does
                    // not always parse again (an alias before `VERSION AS OF`).
                    let mut end = p.p.index();
                    while end > start && matches!(p.p.token_at(end - 1).token, Token::Whitespace(_))
                    {
                        end -= 1;
                    }
                    let text: String = (start..end)
                        .map(|i| token_text(&p.p.token_at(i).token))
                        .collect();
                    Statement::CreateView(CreateView {
                        name,
                        or_replace,
                        if_not_exists,
                        comment,
                        query,
                        text: text.trim().to_string(),
                    })
                }
                _ => return Ok(None),
            }
        }
        "DROP" => {
            let kind = p.peek_word(1).unwrap_or_default();
            match kind.as_str() {
                "CATALOG" => {
                    p.expect(&["DROP", "CATALOG"])?;
                    let if_exists = p.if_exists();
                    let name = p.ident()?;
                    Statement::DropCatalog(DropCatalog {
                        name,
                        if_exists,
                        cascade: p.cascade(),
                    })
                }
                "SCHEMA" | "DATABASE" => {
                    p.p.next_token();
                    p.p.next_token();
                    let if_exists = p.if_exists();
                    let name = p.name()?;
                    Statement::DropSchema(DropSchema {
                        name,
                        if_exists,
                        cascade: p.cascade(),
                    })
                }
                "TABLE" | "VIEW" => {
                    p.p.next_token();
                    p.p.next_token();
                    let if_exists = p.if_exists();
                    let name = p.name()?;
                    p.eat(&["PURGE"]);
                    Statement::DropTable(DropTable {
                        name,
                        if_exists,
                        view: kind == "VIEW",
                    })
                }
                _ => return Ok(None),
            }
        }
        "USE" => {
            p.expect(&["USE"])?;
            if p.eat(&["CATALOG"]) {
                Statement::UseCatalog(p.ident()?)
            } else {
                if !p.eat(&["SCHEMA"]) {
                    p.eat(&["DATABASE"]);
                }
                Statement::UseSchema(p.name()?)
            }
        }
        "SHOW" => {
            let what = p.peek_word(1).unwrap_or_default();
            match what.as_str() {
                "CATALOGS" => {
                    p.expect(&["SHOW", "CATALOGS"])?;
                    Statement::ShowCatalogs { like: p.like()? }
                }
                "SCHEMAS" | "DATABASES" => {
                    p.p.next_token();
                    p.p.next_token();
                    let catalog = if p.eat(&["IN"]) || p.eat(&["FROM"]) {
                        Some(p.ident()?)
                    } else {
                        None
                    };
                    Statement::ShowSchemas {
                        catalog,
                        like: p.like()?,
                    }
                }
                "TABLES" | "VIEWS" => {
                    p.p.next_token();
                    p.p.next_token();
                    let schema = if p.eat(&["IN"]) || p.eat(&["FROM"]) {
                        Some(p.name()?)
                    } else {
                        None
                    };
                    Statement::ShowTables {
                        schema,
                        like: p.like()?,
                    }
                }
                "TBLPROPERTIES" => {
                    p.expect(&["SHOW", "TBLPROPERTIES"])?;
                    let table = p.name()?;
                    let key = if p.p.peek_token().token == Token::LParen {
                        p.key_list()?.into_iter().next()
                    } else {
                        None
                    };
                    Statement::ShowTblProperties { table, key }
                }
                "COLUMNS" => {
                    p.expect(&["SHOW", "COLUMNS"])?;
                    if !p.eat(&["IN"]) {
                        p.expect(&["FROM"])?;
                    }
                    let mut table = p.name()?;
                    if p.eat(&["IN"]) || p.eat(&["FROM"]) {
                        let mut ns = p.name()?;
                        ns.append(&mut table);
                        table = ns;
                    }
                    Statement::ShowColumns { table }
                }
                _ if p.peek_is(&["SHOW", "TIME", "ZONE"]) => {
                    p.expect(&["SHOW", "TIME", "ZONE"])?;
                    Statement::ShowVariable {
                        name: "timezone".into(),
                    }
                }
                _ => {
                    p.expect(&["SHOW"])?;
                    // `SHOW name`, `SHOW a.b` and multi-word names (`SHOW TRANSACTION ISOLATION LEVEL`).
                    let mut name = String::new();
                    loop {
                        match p.p.peek_token().token {
                            Token::EOF | Token::SemiColon => break,
                            Token::Period => name.push('.'),
                            Token::Word(w) => {
                                if !name.is_empty() && !name.ends_with('.') {
                                    name.push(' ');
                                }
                                name.push_str(&w.value);
                            }
                            other => {
                                return Err(EngineError::syntax(format!(
                                    "unexpected {other} in SHOW"
                                )))
                            }
                        }
                        p.p.next_token();
                    }
                    Statement::ShowVariable {
                        name: name.to_lowercase(),
                    }
                }
            }
        }
        "MERGE" => {
            let token = p.p.next_token();
            let schema_evolution = p.eat(&["WITH", "SCHEMA", "EVOLUTION"]);
            let merge = p.p.parse_merge(token)?;
            Statement::Merge {
                merge: Box::new(merge),
                schema_evolution,
            }
        }
        "OPTIMIZE" => {
            p.p.next_token();
            let table = p.name()?;
            let predicate = if p.eat(&["WHERE"]) {
                Some(p.p.parse_expr()?)
            } else {
                None
            };
            let zorder = if p.eat(&["ZORDER", "BY"]) {
                if p.p.peek_token().token == Token::LParen {
                    p.ident_list()?
                } else {
                    vec![p.ident()?]
                }
            } else {
                vec![]
            };
            Statement::Optimize {
                table,
                predicate,
                zorder,
            }
        }
        "VACUUM" => {
            p.p.next_token();
            let table = p.name()?;
            let retain_hours = if p.eat(&["RETAIN"]) {
                let text = p.p.parse_number_value()?.value.to_string();
                let hours = text.parse::<f64>().map_err(|_| {
                    EngineError::syntax(format!("invalid number of hours '{text}'"))
                })?;
                p.expect(&["HOURS"])?;
                Some(hours)
            } else {
                None
            };
            let dry_run = p.eat(&["DRY", "RUN"]);
            Statement::Vacuum {
                table,
                retain_hours,
                dry_run,
            }
        }
        "RESTORE" => {
            p.p.next_token();
            p.eat(&["TABLE"]);
            let mut table = p.name()?;
            let suffixed = table
                .last()
                .and_then(|last| split_version_suffix(last))
                .map(|(base, version)| (base.to_string(), version));
            let as_of = match suffixed {
                Some((base, version)) => {
                    if let Some(last) = table.last_mut() {
                        *last = base;
                    }
                    AsOfSpec::Version(version)
                }
                None => {
                    p.eat(&["TO"]);
                    if p.eat(&["VERSION", "AS", "OF"]) {
                        AsOfSpec::Version(p.p.parse_literal_uint()?)
                    } else if p.eat(&["TIMESTAMP", "AS", "OF"]) {
                        AsOfSpec::Timestamp(p.p.parse_expr()?)
                    } else {
                        return Err(EngineError::syntax(
                            "expected RESTORE TABLE name TO VERSION AS OF n or TIMESTAMP AS OF 'timestamp'",
                        ));
                    }
                }
            };
            Statement::Restore { table, as_of }
        }
        "DESCRIBE" | "DESC" => {
            p.p.next_token();
            if p.eat(&["CATALOG"]) {
                p.eat(&["EXTENDED"]);
                Statement::DescribeCatalog { name: p.ident()? }
            } else if p.eat(&["SCHEMA"]) || p.eat(&["DATABASE"]) {
                p.eat(&["EXTENDED"]);
                Statement::DescribeSchema { name: p.name()? }
            } else if p.eat(&["DETAIL"]) {
                Statement::DescribeDetail { table: p.name()? }
            } else if p.eat(&["HISTORY"]) {
                let table = p.name()?;
                let limit = if p.eat(&["LIMIT"]) {
                    Some(p.p.parse_literal_uint()? as usize)
                } else {
                    None
                };
                Statement::DescribeHistory { table, limit }
            } else {
                p.eat(&["TABLE"]);
                let extended = p.eat(&["EXTENDED"]) || p.eat(&["FORMATTED"]);
                Statement::Describe {
                    table: p.name()?,
                    extended,
                }
            }
        }
        "ALTER" => {
            p.p.next_token();
            if let Some(target) = p.tag_target_after_alter()? {
                let owned = match &target {
                    TagTarget::Catalog(n) => GrantTarget::Catalog(n.join(".")),
                    other_target => match other_target {
                        TagTarget::Schema(n) => GrantTarget::Schema(n.clone()),
                        _ => GrantTarget::Metastore,
                    },
                };
                if let Some(s) = p.tags_clause(target.clone())? {
                    s
                } else if let Some(s) = governance::owner_to(&mut p, owned)? {
                    s
                } else {
                    return Err(EngineError::syntax(format!(
                        "expected SET TAGS or UNSET TAGS, found: {}",
                        p.p.peek_token().token
                    )));
                }
            } else if p.eat(&["TABLE"]) || p.eat(&["VIEW"]) {
                alter_table(&mut p)?
            } else {
                p.p.prev_token();
                return Ok(None);
            }
        }
        "COMMENT" if p.peek_is(&["COMMENT", "ON"]) => {
            p.expect(&["COMMENT", "ON"])?;
            let target = if p.eat(&["CATALOG"]) {
                TagTarget::Catalog(p.name()?)
            } else if p.eat(&["SCHEMA"]) || p.eat(&["DATABASE"]) {
                TagTarget::Schema(p.name()?)
            } else if p.eat(&["TABLE"]) || p.eat(&["VIEW"]) {
                TagTarget::Table(p.name()?)
            } else if p.eat(&["COLUMN"]) {
                let mut name = p.name()?;
                if name.len() < 2 {
                    return Err(EngineError::syntax("COMMENT ON COLUMN needs table.column"));
                }
                let col = name.pop().unwrap_or_default();
                TagTarget::Column(name, col)
            } else {
                return Err(EngineError::syntax(
                    "expected CATALOG, SCHEMA, TABLE or COLUMN after COMMENT ON",
                ));
            };
            p.expect(&["IS"])?;
            Statement::CommentOn {
                target,
                comment: p.string_or_null()?,
            }
        }
        "SET" => {
            p.p.next_token();
            p.eat(&["SESSION"]);
            p.eat(&["LOCAL"]);
            if p.eat(&["TIME", "ZONE"]) {
                return Ok(Some(Statement::SetVariable {
                    name: "timezone".into(),
                    value: p.property_value()?,
                }));
            }
            let name = p.property_key()?.to_lowercase();
            if !p.p.consume_token(&Token::Eq) {
                p.expect(&["TO"])?;
            }
            let mut values = vec![p.property_value()?];
            while p.p.consume_token(&Token::Comma) {
                values.push(p.property_value()?);
            }
            Statement::SetVariable {
                name,
                value: values.join(", "),
            }
        }
        "DECLARE" => {
            p.p.next_token();
            let name = p.ident()?;
            while !p.eat(&["CURSOR"]) {
                // BINARY, INSENSITIVE, [NO] SCROLL: result semantics Weir already has.
                if p.eat(&["BINARY"])
                    || p.eat(&["INSENSITIVE"])
                    || p.eat(&["NO", "SCROLL"])
                    || p.eat(&["SCROLL"])
                    || p.eat(&["ASENSITIVE"])
                {
                    continue;
                }
                return Err(EngineError::syntax(format!(
                    "expected CURSOR, found: {}",
                    p.p.peek_token().token
                )));
            }
            let hold = p.eat(&["WITH", "HOLD"]);
            if !hold {
                p.eat(&["WITHOUT", "HOLD"]);
            }
            p.expect(&["FOR"])?;
            Statement::DeclareCursor {
                name,
                query: p.p.parse_query()?,
                hold,
            }
        }
        "FETCH" => {
            p.p.next_token();
            let mut count = Some(1);
            if !p.eat(&["NEXT"]) {
                p.eat(&["FORWARD"]);
                if p.eat(&["ALL"]) {
                    count = None;
                } else if let Token::Number(n, _) = p.p.peek_token().token {
                    p.p.next_token();
                    count =
                        Some(n.parse().map_err(|_| {
                            EngineError::syntax(format!("invalid FETCH count {n}"))
                        })?);
                }
            }
            if !p.eat(&["FROM"]) {
                p.eat(&["IN"]);
            }
            Statement::Fetch {
                name: p.ident()?,
                count,
            }
        }
        "DEALLOCATE" => {
            p.p.next_token();
            p.eat(&["PREPARE"]);
            if p.eat(&["ALL"]) {
                Statement::Deallocate { name: None }
            } else {
                Statement::Deallocate {
                    name: Some(p.ident()?),
                }
            }
        }
        "CLOSE" => {
            p.p.next_token();
            if p.eat(&["ALL"]) {
                Statement::CloseCursor { name: None }
            } else {
                Statement::CloseCursor {
                    name: Some(p.ident()?),
                }
            }
        }
        "BEGIN" | "START" => {
            p.p.next_token();
            p.eat(&["TRANSACTION"]);
            p.eat(&["WORK"]);
            skip_to_end(&mut p);
            Statement::Transaction(TransactionVerb::Begin)
        }
        "COMMIT" | "END" => {
            p.p.next_token();
            skip_to_end(&mut p);
            Statement::Transaction(TransactionVerb::Commit)
        }
        "ROLLBACK" | "ABORT" => {
            p.p.next_token();
            p.eat(&["WORK"]);
            p.eat(&["TRANSACTION"]);
            let to_savepoint = p.peek_is(&["TO"]);
            skip_to_end(&mut p);
            Statement::Transaction(if to_savepoint {
                TransactionVerb::RollbackTo
            } else {
                TransactionVerb::Rollback
            })
        }
        "SAVEPOINT" => {
            skip_to_end(&mut p);
            Statement::Transaction(TransactionVerb::Savepoint)
        }
        "RELEASE" => {
            skip_to_end(&mut p);
            Statement::Transaction(TransactionVerb::Release)
        }
        _ => return Ok(None),
    }))
}

/// One statement that is not scripting's own, at the parser's position, with its text: a leaf
/// of a script, parsed as a client's statement is.
fn parse_leaf(p: &mut P<'_, '_>) -> Result<ParsedStatement> {
    let start = p.p.index();
    let statement = match parse_weir_statement(p.p)? {
        Some(mut s) => {
            rebalance_embedded(&mut s);
            s
        }
        None => Statement::Standard(Box::new(own_standard(p.p.parse_statement()?)?)),
    };
    Ok(ParsedStatement {
        statement,
        text: p.text_since(start),
    })
}

fn skip_to_end(p: &mut P<'_, '_>) {
    while !matches!(p.p.peek_token().token, Token::EOF | Token::SemiColon) {
        p.p.next_token();
    }
}

fn location_and_comment(p: &mut P<'_, '_>) -> Result<(Option<String>, Option<String>)> {
    let (mut location, mut comment) = (None, None);
    loop {
        if p.eat(&["MANAGED", "LOCATION"]) || p.eat(&["LOCATION"]) {
            location = Some(p.string()?);
        } else if p.eat(&["COMMENT"]) {
            comment = Some(p.string()?);
        } else if p.eat(&["WITH", "DBPROPERTIES"]) || p.eat(&["OPTIONS"]) {
            p.key_values()?;
        } else {
            return Ok((location, comment));
        }
    }
}

fn create_table(p: &mut P<'_, '_>, or_replace: bool) -> Result<CreateTable> {
    p.expect(&["CREATE"])?;
    if or_replace {
        p.expect(&["OR", "REPLACE"])?;
    }
    p.expect(&["TABLE"])?;
    let if_not_exists = p.if_not_exists();
    let name = p.name()?;
    let columns = if p.p.peek_token().token == Token::LParen {
        p.column_defs()?
    } else {
        vec![]
    };
    let mut ct = CreateTable {
        name,
        or_replace,
        if_not_exists,
        columns,
        partitioned_by: vec![],
        location: None,
        comment: None,
        properties: vec![],
        as_query: None,
    };
    loop {
        if p.eat(&["USING"]) {
            let format = p.ident()?;
            if format != "delta" {
                return Err(EngineError::not_supported(format!(
                    "table format '{format}' is not supported; every Weir table is a Delta table"
                )));
            }
        } else if p.eat(&["PARTITIONED", "BY"]) {
            ct.partitioned_by = p.ident_list()?;
        } else if p.eat(&["LOCATION"]) {
            ct.location = Some(p.string()?);
        } else if p.eat(&["COMMENT"]) {
            ct.comment = Some(p.string()?);
        } else if p.eat(&["TBLPROPERTIES"]) {
            ct.properties = p.key_values()?;
        } else if p.eat(&["AS"]) {
            ct.as_query = Some(p.p.parse_query()?);
            break;
        } else {
            break;
        }
    }
    if ct.as_query.is_some() && !ct.columns.is_empty() {
        return Err(EngineError::syntax(
            "CREATE TABLE ... AS SELECT takes its columns from the query; drop the column list",
        ));
    }
    Ok(ct)
}

fn alter_table(p: &mut P<'_, '_>) -> Result<Statement> {
    let name = p.name()?;
    if let Some(s) = p.tags_clause(TagTarget::Table(name.clone()))? {
        return Ok(s);
    }
    let op = if p.eat(&["ADD", "COLUMNS"]) || p.eat(&["ADD", "COLUMN"]) {
        if p.p.peek_token().token == Token::LParen {
            AlterTableOp::AddColumns(p.column_defs()?)
        } else {
            AlterTableOp::AddColumns(vec![p.column_def()?])
        }
    } else if p.eat(&["RENAME", "TO"]) {
        AlterTableOp::RenameTo(p.name()?)
    } else if p.eat(&["SET", "TBLPROPERTIES"]) {
        AlterTableOp::SetProperties(p.key_values()?)
    } else if p.eat(&["UNSET", "TBLPROPERTIES"]) {
        p.if_exists();
        AlterTableOp::UnsetProperties(p.key_list()?)
    } else if p.eat(&["OWNER", "TO"]) {
        AlterTableOp::OwnerTo(p.ident()?)
    } else if p.eat(&["SET", "ROW", "FILTER"]) {
        let function = p.name()?;
        p.expect(&["ON"])?;
        let columns = if p.p.peek_token().token == Token::LParen {
            p.lparen()?;
            let mut cols = Vec::new();
            if !p.p.consume_token(&Token::RParen) {
                cols.push(p.ident()?);
                while p.p.consume_token(&Token::Comma) {
                    cols.push(p.ident()?);
                }
                p.rparen()?;
            }
            cols
        } else {
            vec![]
        };
        AlterTableOp::SetRowFilter { function, columns }
    } else if p.eat(&["DROP", "ROW", "FILTER"]) {
        AlterTableOp::DropRowFilter
    } else if p.eat(&["ADD", "CONSTRAINT"]) {
        let name = p.ident()?;
        p.expect(&["CHECK"])?;
        let expr = p.p.parse_expr()?;
        AlterTableOp::AddCheck {
            name,
            expr: expr.to_string(),
        }
    } else if p.eat(&["DROP", "CONSTRAINT"]) {
        let if_exists = p.if_exists();
        AlterTableOp::DropConstraint {
            name: p.ident()?,
            if_exists,
        }
    } else if p.eat(&["ALTER", "COLUMN"])
        || p.eat(&["CHANGE", "COLUMN"])
        || p.eat(&["ALTER"])
        || p.eat(&["CHANGE"])
    {
        let column = p.ident()?;
        if let Some(s) = p.tags_clause(TagTarget::Column(name.clone(), column.clone()))? {
            return Ok(s);
        }
        if p.eat(&["SET", "MASK"]) {
            let function = p.name()?;
            let using = if p.eat(&["USING", "COLUMNS"]) {
                p.ident_list()?
            } else {
                vec![]
            };
            return Ok(Statement::AlterTable {
                name,
                op: AlterTableOp::SetMask {
                    column,
                    function,
                    using,
                },
            });
        }
        if p.eat(&["DROP", "MASK"]) {
            return Ok(Statement::AlterTable {
                name,
                op: AlterTableOp::DropMask { column },
            });
        }
        p.expect(&["COMMENT"])?;
        AlterTableOp::ColumnComment {
            column,
            comment: p.string_or_null()?,
        }
    } else {
        return Err(EngineError::not_supported(format!(
            "unsupported ALTER TABLE clause at: {}",
            p.p.peek_token().token
        )));
    };
    Ok(Statement::AlterTable { name, op })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(sql: &str) -> Statement {
        let mut v = parse_sql(sql).unwrap();
        assert_eq!(v.len(), 1, "{sql}");
        v.remove(0)
    }

    #[test]
    fn create_table_full() {
        let Statement::CreateTable(ct) = one(
            "CREATE OR REPLACE TABLE IF NOT EXISTS Main.Sales.Orders (id BIGINT NOT NULL COMMENT 'pk', \
             tags ARRAY<STRING>, amount DECIMAL(10, 2), s STRUCT<a: INT, b: MAP<STRING, ARRAY<INT>>>) \
             USING DELTA PARTITIONED BY (amount) LOCATION 's3://b/p' COMMENT 'orders' \
             TBLPROPERTIES ('delta.appendOnly' = 'true', delta.x = 1)",
        ) else {
            panic!()
        };
        assert_eq!(ct.name, vec!["main", "sales", "orders"]);
        assert_eq!(ct.columns.len(), 4);
        assert!(!ct.columns[0].nullable);
        assert_eq!(ct.columns[1].data_type, "array<string>");
        assert_eq!(
            ct.columns[3].data_type,
            "struct<a:int,b:map<string,array<int>>>"
        );
        assert_eq!(ct.partitioned_by, vec!["amount"]);
        assert_eq!(ct.properties[1], ("delta.x".to_string(), "1".to_string()));
    }

    #[test]
    fn time_travel_clauses_stay_in_the_statement() {
        // (As written, as sqlparser displays it: the alias first.)
        for (sql, shown) in [
            (
                "SELECT * FROM c.s.orders VERSION AS OF 3 o JOIN t TIMESTAMP AS OF '2025-03-18' ON true",
                "SELECT * FROM c.s.orders o VERSION AS OF 3 JOIN t TIMESTAMP AS OF '2025-03-18' ON true",
            ),
            (
                "SELECT * FROM t TIMESTAMP AS OF current_timestamp() - INTERVAL 1 DAY x WHERE a = 1",
                "SELECT * FROM t x TIMESTAMP AS OF current_timestamp() - INTERVAL 1 DAY WHERE a = 1",
            ),
            (
                "SELECT * FROM table_changes('c.s.t', 2, 5)",
                "SELECT * FROM table_changes('c.s.t', 2, 5)",
            ),
        ] {
            let Statement::Standard(s) = one(sql) else {
                panic!("{sql} is a query")
            };
            assert_eq!(s.to_string(), shown);
        }
        let Statement::CreateView(CreateView { text, .. }) =
            one("CREATE VIEW v AS SELECT *  FROM t VERSION AS OF 3 x -- old\n")
        else {
            panic!()
        };
        assert_eq!(text, "SELECT *  FROM t VERSION AS OF 3 x");
        let Statement::Restore { table, as_of } = one("RESTORE TABLE t TO VERSION AS OF 2") else {
            panic!()
        };
        assert_eq!(
            (table, as_of),
            (vec!["t".to_string()], AsOfSpec::Version(2))
        );
        let Statement::Restore { table, as_of } = one("RESTORE t@v4") else {
            panic!()
        };
        assert_eq!(
            (table, as_of),
            (vec!["t".to_string()], AsOfSpec::Version(4))
        );
        let Statement::Restore { as_of, .. } = one("RESTORE t TO TIMESTAMP AS OF '2025-03-18'")
        else {
            panic!()
        };
        assert_eq!(as_of.to_string(), "TIMESTAMP AS OF '2025-03-18'");
        assert_eq!(split_version_suffix("t@v12"), Some(("t", 12)));
        assert_eq!(split_version_suffix("t@x"), None);
        assert_eq!(split_version_suffix("@v1"), None);
        assert_eq!(split_version_suffix("t"), None);
    }

    #[test]
    fn each_statement_keeps_its_own_text() {
        let texts: Vec<String> = parse_script(
            "SELECT 1;  INSERT INTO t VALUES ('a;b', ?)\n;\n-- next\nCREATE CATALOG \"ü\" COMMENT 'é';;",
        )
        .unwrap()
        .into_iter()
        .map(|p| p.text)
        .collect();
        assert_eq!(
            texts,
            [
                "SELECT 1",
                "INSERT INTO t VALUES ('a;b', ?)",
                "-- next\nCREATE CATALOG \"ü\" COMMENT 'é'"
            ]
        );
    }

    #[test]
    fn question_marks_become_numbered_parameters() {
        let Statement::Standard(s) = one("SELECT ? + 1, 'a?' FROM t WHERE x = ? AND y IN (?)")
        else {
            panic!()
        };
        assert_eq!(
            s.to_string(),
            "SELECT $1 + 1, 'a?' FROM t WHERE x = $2 AND y IN ($3)"
        );
        let Statement::Standard(s) = one("SELECT $2, $1") else {
            panic!()
        };
        assert_eq!(s.to_string(), "SELECT $2, $1");
    }

    #[test]
    fn standard_and_weir_mix() {
        let v = parse_sql("USE main.default; SELECT 1; SHOW TABLES IN main.default LIKE 'a*'; ")
            .unwrap();
        assert_eq!(v.len(), 3);
        assert!(matches!(v[1], Statement::Standard(_)));
    }

    #[test]
    fn catalog_subqueries_are_made_plannable() {
        let mut stmts = datafusion::sql::sqlparser::parser::Parser::parse_sql(
            &WeirDialect::POSTGRESQL,
            "SELECT a.attname, CASE WHEN a.attidentity != '' THEN (SELECT json_build_object('x', s.seqstart) \
             FROM pg_catalog.pg_sequence s WHERE a.attidentity != '' AND s.seqrelid = \
             CAST(pg_catalog.pg_get_serial_sequence('t', a.attname) AS OID)) END, \
             (SELECT t.typname FROM pg_catalog.pg_type t WHERE a.atthasdef AND t.oid = a.atttypid) \
             FROM pg_catalog.pg_attribute a",
        )
        .unwrap();
        aggregate_catalog_scalar_subqueries(&mut stmts[0]);
        let v = vec![Statement::Standard(Box::new(stmts.remove(0)))];
        let Statement::Standard(s) = &v[0] else {
            panic!()
        };
        let sql = s.to_string();
        // The sequence subquery can never match (seqrelid = NULL) and becomes NULL ...
        assert!(!sql.contains("pg_sequence"), "{sql}");
        // ... and the outer-only predicate moves out of the pg_type subquery, which is aggregated.
        assert!(
            sql.contains("CASE WHEN a.atthasdef THEN (SELECT max(t.typname)"),
            "{sql}"
        );
        assert!(sql.contains("WHERE t.oid = a.atttypid)"), "{sql}");
    }

    #[test]
    fn errors_are_syntax_errors() {
        let e = parse_sql("CREATE TABLE t (a nosuchtype)").unwrap_err();
        assert_eq!(e.sqlstate(), "42601");
        let e = parse_sql("SELEC 1").unwrap_err();
        assert_eq!(e.sqlstate(), "42601");
    }
}
