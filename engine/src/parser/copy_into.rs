//! `COPY INTO` (Databricks syntax): load files into a Delta table.
//!
//! ```sql
//! COPY INTO c.s.t FROM { 'location' | (SELECT expr [AS name], ... FROM 'location') }
//!   FILEFORMAT = CSV | JSON | PARQUET
//!   [FILES = ('name', ...) | PATTERN = 'glob']
//!   [FORMAT_OPTIONS ('header' = 'true', 'delimiter' = ',', 'inferSchema' = 'true', ...)]
//!   [COPY_OPTIONS ('force' = 'true', 'mergeSchema' = 'true')]
//! ```

use datafusion::sql::sqlparser::ast::SelectItem;
use datafusion::sql::sqlparser::tokenizer::Token;

use super::{Name, P};
use crate::error::{EngineError, Result};

/// The format of the files a COPY INTO reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyFormat {
    Csv,
    /// Newline-delimited JSON.
    Json,
    Parquet,
}

/// `COPY INTO`, as written.
#[derive(Debug, Clone)]
pub struct CopyInto {
    pub table: Name,
    /// A directory or prefix: a local path, `file://` or `s3://` URL.
    pub source: String,
    /// `FROM (SELECT ... FROM 'location')`: what to take of the files' columns (matched to
    /// the table's by name, as the files' own columns are without it).
    pub select: Option<Vec<SelectItem>>,
    pub format: CopyFormat,
    /// File names relative to the source (`FILES = (...)`).
    pub files: Vec<String>,
    /// A glob over file names relative to the source (`PATTERN = '...'`).
    pub pattern: Option<String>,
    pub format_options: Vec<(String, String)>,
    pub copy_options: Vec<(String, String)>,
}

/// Parses `COPY INTO ...` at the parser's position, or returns `None` consuming nothing.
pub(super) fn parse(p: &mut P<'_, '_>) -> Result<Option<CopyInto>> {
    if !p.eat(&["COPY", "INTO"]) {
        return Ok(None);
    }
    let table = p.name()?;
    p.expect(&["FROM"])?;
    let (source, select) = if p.p.peek_token().token == Token::LParen {
        p.lparen()?;
        p.expect(&["SELECT"])?;
        let items =
            p.p.parse_comma_separated(|parser| parser.parse_select_item())?;
        p.expect(&["FROM"])?;
        if !matches!(p.p.peek_token().token, Token::SingleQuotedString(_)) {
            return Err(EngineError::syntax(
                "COPY INTO ... FROM (SELECT ... FROM 'location'): the SELECT reads a location, \
                 written as a string",
            ));
        }
        let source = p.string()?;
        p.rparen()?;
        (source, Some(items))
    } else {
        (p.string()?, None)
    };
    p.expect(&["FILEFORMAT"])?;
    p.p.expect_token(&Token::Eq)?;
    let format = match p.ident()?.to_ascii_uppercase().as_str() {
        "CSV" => CopyFormat::Csv,
        "JSON" => CopyFormat::Json,
        "PARQUET" => CopyFormat::Parquet,
        other => {
            return Err(EngineError::not_supported(format!(
                "FILEFORMAT = {other} is not supported: use CSV, JSON or PARQUET"
            )))
        }
    };
    let mut copy = CopyInto {
        table,
        source,
        select,
        format,
        files: Vec::new(),
        pattern: None,
        format_options: Vec::new(),
        copy_options: Vec::new(),
    };
    loop {
        if p.eat(&["FILES"]) {
            p.p.expect_token(&Token::Eq)?;
            p.lparen()?;
            loop {
                copy.files.push(p.string()?);
                if !p.p.consume_token(&Token::Comma) {
                    break;
                }
            }
            p.rparen()?;
        } else if p.eat(&["PATTERN"]) {
            p.p.expect_token(&Token::Eq)?;
            copy.pattern = Some(p.string()?);
        } else if p.eat(&["FORMAT_OPTIONS"]) {
            copy.format_options = p.key_values()?;
        } else if p.eat(&["COPY_OPTIONS"]) {
            copy.copy_options = p.key_values()?;
        } else {
            break;
        }
    }
    if !copy.files.is_empty() && copy.pattern.is_some() {
        return Err(EngineError::syntax(
            "COPY INTO takes FILES or PATTERN, not both",
        ));
    }
    Ok(Some(copy))
}

#[cfg(test)]
mod tests {
    use crate::parser::{parse_sql, Statement};

    #[test]
    fn copy_into_keeps_its_clauses() {
        let s = parse_sql(
            "COPY INTO bronze.events FROM '/data/drop' FILEFORMAT = CSV PATTERN = '*.csv.gz' \
             FORMAT_OPTIONS ('header' = 'true', 'delimiter' = ';') COPY_OPTIONS ('force' = 'true')",
        )
        .expect("parses")
        .remove(0);
        let Statement::CopyInto(c) = s else {
            panic!("not COPY INTO: {s:?}")
        };
        assert_eq!(c.table, vec!["bronze".to_string(), "events".to_string()]);
        assert_eq!(
            (c.source.as_str(), c.pattern.as_deref()),
            ("/data/drop", Some("*.csv.gz"))
        );
        assert_eq!(c.format_options.len(), 2);
        assert_eq!(c.copy_options, vec![("force".into(), "true".into())]);
        assert!(parse_sql("COPY INTO t FROM '/x' FILEFORMAT = AVRO").is_err());
        let s = parse_sql(
            "COPY INTO t FROM (SELECT id, CAST(p AS DOUBLE) AS price, * FROM 's3://b/d') \
             FILEFORMAT = CSV",
        )
        .expect("parses")
        .remove(0);
        let Statement::CopyInto(c) = s else {
            panic!("not COPY INTO: {s:?}")
        };
        assert_eq!(
            (c.source.as_str(), c.select.map(|items| items.len())),
            ("s3://b/d", Some(3))
        );
        assert!(parse_sql("COPY INTO t FROM (SELECT id FROM u) FILEFORMAT = CSV").is_err());
        assert!(
            parse_sql("COPY INTO t FROM '/x' FILEFORMAT = CSV FILES = ('a') PATTERN = '*'")
                .is_err()
        );
    }
}
