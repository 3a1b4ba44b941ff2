//! Which SQL a session speaks where Databricks SQL and PostgreSQL answer differently.
//!
//! Weir speaks Databricks SQL: string literals take backslash escapes (`'\\d+'` is `\d+`),
//! NULLs sort first ascending and last descending, `arr[0]` is an array's first element,
//! `substr(s, -3)` counts from the end, `concat` with a NULL is NULL, and date patterns are
//! Spark's (`yyyy-MM-dd`). A session may `SET weir.dialect = 'postgresql'` to run its own
//! statements with PostgreSQL's answers instead. Stored SQL (views, functions, procedures,
//! schedules) is always Databricks SQL, so that its meaning never depends on who reads it: a
//! PostgreSQL session cannot create it.

use crate::error::{EngineError, Result};

/// The session setting naming the dialect.
pub const DIALECT_SETTING: &str = "weir.dialect";

/// The SQL dialect of a session's statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SqlDialect {
    /// Databricks SQL (Spark's semantics), the default and the dialect of stored SQL.
    #[default]
    Databricks,
    /// PostgreSQL's answers where the two differ.
    Postgresql,
}

impl SqlDialect {
    /// The dialect a `SET weir.dialect = value` names.
    pub fn parse(value: &str) -> Result<SqlDialect> {
        match value
            .trim()
            .trim_matches('\'')
            .to_ascii_lowercase()
            .as_str()
        {
            "databricks" | "spark" => Ok(SqlDialect::Databricks),
            "postgresql" | "postgres" => Ok(SqlDialect::Postgresql),
            _ => Err(EngineError::invalid(format!(
                "invalid value for parameter \"{DIALECT_SETTING}\": \"{value}\" \
                 (expected 'databricks' or 'postgresql')"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SqlDialect::Databricks => "databricks",
            SqlDialect::Postgresql => "postgresql",
        }
    }

    /// Whether a backslash escapes in an ordinary string literal: PostgreSQL's
    /// `standard_conforming_strings` is the opposite.
    pub fn backslash_escapes(self) -> bool {
        self == SqlDialect::Databricks
    }

    /// DataFusion's `sql_parser.default_null_ordering` for the dialect: Spark's NULLs are the
    /// smallest values, PostgreSQL's the largest.
    pub(crate) fn null_ordering(self) -> &'static str {
        match self {
            SqlDialect::Databricks => "nulls_min",
            SqlDialect::Postgresql => "nulls_max",
        }
    }

    /// Refuses creating stored SQL outside Databricks SQL (see the module comment).
    pub(crate) fn require_stored_sql(self, what: &str) -> Result<()> {
        match self {
            SqlDialect::Databricks => Ok(()),
            SqlDialect::Postgresql => Err(EngineError::not_supported(format!(
                "{what} is stored as Databricks SQL; run SET {DIALECT_SETTING} = 'databricks' \
                 first (this session uses PostgreSQL's semantics)"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_setting_values() {
        assert_eq!(
            SqlDialect::parse("'PostgreSQL'").unwrap(),
            SqlDialect::Postgresql
        );
        assert_eq!(
            SqlDialect::parse("databricks").unwrap(),
            SqlDialect::Databricks
        );
        assert!(SqlDialect::parse("mysql").is_err());
    }
}
