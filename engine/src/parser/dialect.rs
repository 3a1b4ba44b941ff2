//! Weir's SQL dialect: sqlparser's `GenericDialect`, plus Databricks' table versioning
//! (`t VERSION AS OF 3`, `t TIMESTAMP AS OF expr`), which the generic dialect does not parse,
//! Spark's `a DIV b`, and, for Databricks SQL, Spark's backslash escapes in string literals
//! and lambda functions.
//!
//! sqlparser decides some grammar by the dialect's type (`dialect_of!(self is GenericDialect)`),
//! so this dialect reports `GenericDialect`'s type id and answers every question the generic
//! dialect answers itself the same way. When sqlparser is upgraded, the list below is checked
//! against `src/dialect/generic.rs` of the new version (the unit test parses the constructs
//! that depend on it).

use std::any::TypeId;

use datafusion::sql::sqlparser::dialect::{Dialect, GenericDialect};

/// `GenericDialect` with `supports_table_versioning`, Spark's `DIV` operator, and, for
/// Databricks SQL, Spark's backslash escapes in string literals.
#[derive(Debug, Clone, Copy)]
pub struct WeirDialect {
    /// A backslash in a string literal escapes the next character (`'\\d'` is `\d`, `'\n'` a
    /// newline; `\%` and `\_` stay as written for LIKE), as Spark reads literals.
    pub backslash_escapes: bool,
    /// Spark's lambda functions (`x -> x + 1`, `(x, i) -> ...`) as arguments of higher-order
    /// functions; in PostgreSQL `->` reads a JSON field.
    pub lambda_functions: bool,
}

impl WeirDialect {
    /// Databricks SQL: the dialect of sessions by default and of every stored statement.
    pub const DATABRICKS: WeirDialect = WeirDialect {
        backslash_escapes: true,
        lambda_functions: true,
    };
    /// PostgreSQL's literals (`standard_conforming_strings`: a backslash is a backslash).
    pub const POSTGRESQL: WeirDialect = WeirDialect {
        backslash_escapes: false,
        lambda_functions: false,
    };

    pub fn of(dialect: crate::sql_dialect::SqlDialect) -> WeirDialect {
        WeirDialect {
            backslash_escapes: dialect.backslash_escapes(),
            lambda_functions: dialect == crate::sql_dialect::SqlDialect::Databricks,
        }
    }
}

/// Forwards the questions `GenericDialect` answers itself.
macro_rules! as_generic {
    ($($name:ident,)*) => {
        $(fn $name(&self) -> bool {
            GenericDialect.$name()
        })*
    };
}

impl Dialect for WeirDialect {
    fn dialect(&self) -> TypeId {
        TypeId::of::<GenericDialect>()
    }

    fn supports_table_versioning(&self) -> bool {
        true
    }

    fn supports_string_literal_backslash_escape(&self) -> bool {
        self.backslash_escapes
    }

    fn supports_lambda_functions(&self) -> bool {
        self.lambda_functions
    }

    /// `\%` and `\_` keep their backslash: they are LIKE's escapes, as in Spark.
    fn ignores_wildcard_escapes(&self) -> bool {
        true
    }

    /// Spark's integral division `a DIV b`, at the precedence of `/` (left-associative).
    fn parse_infix(
        &self,
        parser: &mut datafusion::sql::sqlparser::parser::Parser,
        expr: &datafusion::sql::sqlparser::ast::Expr,
        precedence: u8,
    ) -> Option<
        Result<
            datafusion::sql::sqlparser::ast::Expr,
            datafusion::sql::sqlparser::parser::ParserError,
        >,
    > {
        use datafusion::sql::sqlparser::ast::{BinaryOperator, Expr};
        use datafusion::sql::sqlparser::keywords::Keyword;
        if !parser.parse_keyword(Keyword::DIV) {
            return None;
        }
        Some(
            parser
                .parse_subexpr(precedence)
                .map(|right| Expr::BinaryOp {
                    left: Box::new(expr.clone()),
                    op: BinaryOperator::MyIntegerDivide,
                    right: Box::new(right),
                }),
        )
    }

    /// `DO` (reserved in PostgreSQL) is never an alias without AS: a scripting loop's query
    /// ends before it (`FOR SELECT ... FROM t DO`).
    fn is_table_alias(
        &self,
        kw: &datafusion::sql::sqlparser::keywords::Keyword,
        parser: &mut datafusion::sql::sqlparser::parser::Parser,
    ) -> bool {
        *kw != datafusion::sql::sqlparser::keywords::Keyword::DO
            && GenericDialect.is_table_alias(kw, parser)
    }

    fn is_column_alias(
        &self,
        kw: &datafusion::sql::sqlparser::keywords::Keyword,
        parser: &mut datafusion::sql::sqlparser::parser::Parser,
    ) -> bool {
        *kw != datafusion::sql::sqlparser::keywords::Keyword::DO
            && GenericDialect.is_column_alias(kw, parser)
    }

    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        GenericDialect.is_delimited_identifier_start(ch)
    }

    fn is_identifier_start(&self, ch: char) -> bool {
        GenericDialect.is_identifier_start(ch)
    }

    fn is_identifier_part(&self, ch: char) -> bool {
        GenericDialect.is_identifier_part(ch)
    }

    as_generic! {
        supports_unicode_string_literal,
        supports_partition_by_after_order_by,
        supports_array_join_syntax,
        supports_group_by_expr,
        supports_group_by_with_modifier,
        supports_left_associative_joins_without_parens,
        supports_connect_by,
        supports_match_recognize,
        supports_pipe_operator,
        supports_start_transaction_modifier,
        supports_window_function_null_treatment_arg,
        supports_dictionary_syntax,
        supports_window_clause_named_window_reference,
        supports_parenthesized_set_variables,
        supports_select_wildcard_except,
        support_map_literal_syntax,
        allow_extract_custom,
        allow_extract_single_quotes,
        supports_extract_comma_syntax,
        supports_create_view_comment_syntax,
        supports_parens_around_table_factor,
        supports_values_as_table_factor,
        supports_create_index_with_clause,
        supports_explain_with_utility_options,
        supports_limit_comma,
        supports_update_order_by,
        supports_from_first_select,
        supports_projection_trailing_commas,
        supports_asc_desc_in_column_definition,
        supports_try_convert,
        supports_bitwise_shift_operators,
        supports_comment_on,
        supports_load_extension,
        supports_named_fn_args_with_assignment_operator,
        supports_struct_literal,
        supports_empty_projections,
        supports_nested_comments,
        supports_multiline_comment_hints,
        supports_user_host_grantee,
        supports_string_escape_constant,
        supports_array_typedef_with_brackets,
        supports_match_against,
        supports_set_names,
        supports_comma_separated_set_assignments,
        supports_filter_during_aggregation,
        supports_select_wildcard_exclude,
        supports_data_type_signed_suffix,
        supports_interval_options,
        supports_quote_delimited_string,
        supports_select_wildcard_replace,
        supports_select_wildcard_ilike,
        supports_select_wildcard_rename,
        supports_optimize_table,
        supports_install,
        supports_detach,
        supports_prewhere,
        supports_with_fill,
        supports_limit_by,
        supports_interpolate,
        supports_settings,
        supports_select_format,
        supports_comment_optimizer_hint,
        supports_constraint_keyword_without_name,
        supports_key_column_option,
        supports_comma_separated_trim,
        supports_cte_without_as,
        supports_select_item_multi_column_alias,
        supports_xml_expressions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::sqlparser::ast::{SetExpr, Statement, TableFactor, TableVersion};
    use datafusion::sql::sqlparser::parser::Parser;

    fn parse(sql: &str) -> Statement {
        let mut statements = Parser::parse_sql(&WeirDialect::DATABRICKS, sql).expect("parses");
        assert_eq!(statements.len(), 1);
        statements.remove(0)
    }

    #[test]
    fn parses_what_the_generic_dialect_parses() {
        for sql in [
            "SELECT * EXCEPT (a) FROM t",
            "SELECT a FROM t GROUP BY ALL",
            "SELECT {'a': 1}",
            "SELECT a, FROM t",
            "SELECT * FROM t LIMIT 1, 2",
            "SELECT x FROM t WHERE a >> 2 = 1",
            "SELECT count(*) FILTER (WHERE a > 1) FROM t",
            "SELECT * FROM t@v3",
        ] {
            let generic = Parser::parse_sql(&GenericDialect, sql).expect("generic parses");
            let weir = Parser::parse_sql(&WeirDialect::POSTGRESQL, sql).expect("weir parses");
            assert_eq!(generic, weir, "{sql}");
        }
    }

    #[test]
    fn escapes_backslashes_in_databricks_sql_only() {
        let literal = |dialect: &WeirDialect| {
            let mut s = Parser::parse_sql(dialect, r"SELECT 'a\\d\'s\t\%'").expect("parses");
            let Statement::Query(q) = s.remove(0) else {
                panic!("a query")
            };
            q.body.to_string()
        };
        assert_eq!(literal(&WeirDialect::DATABRICKS), "SELECT 'a\\d''s\t\\%'");
        assert!(Parser::parse_sql(&WeirDialect::POSTGRESQL, r"SELECT 'a\\d\'s'").is_err());
        let plain = Parser::parse_sql(&WeirDialect::POSTGRESQL, r"SELECT 'a\\d'").expect("parses");
        assert_eq!(plain[0].to_string(), r"SELECT 'a\\d'");
    }

    #[test]
    fn parses_div_at_the_precedence_of_division() {
        use datafusion::sql::sqlparser::ast::{BinaryOperator, Expr, SelectItem};
        let Statement::Query(q) = parse("SELECT 1 + 7 DIV 2 * 3") else {
            panic!("a query")
        };
        let SetExpr::Select(select) = q.body.as_ref() else {
            panic!("a select")
        };
        let SelectItem::UnnamedExpr(Expr::BinaryOp { op, right, .. }) = &select.projection[0]
        else {
            panic!("a binary operation")
        };
        assert_eq!(*op, BinaryOperator::Plus);
        let Expr::BinaryOp { op, left, .. } = right.as_ref() else {
            panic!("a product")
        };
        assert_eq!(*op, BinaryOperator::Multiply);
        assert!(matches!(
            left.as_ref(),
            Expr::BinaryOp {
                op: BinaryOperator::MyIntegerDivide,
                ..
            }
        ));
    }

    #[test]
    fn parses_table_versions() {
        let Statement::Query(q) = parse("SELECT * FROM t VERSION AS OF 3 AS x") else {
            panic!("a query")
        };
        let SetExpr::Select(select) = q.body.as_ref() else {
            panic!("a select")
        };
        let TableFactor::Table { version, alias, .. } = &select.from[0].relation else {
            panic!("a table")
        };
        assert!(matches!(version, Some(TableVersion::VersionAsOf(_))));
        assert_eq!(alias.as_ref().map(|a| a.name.value.as_str()), Some("x"));
        let sql = "SELECT * FROM t TIMESTAMP AS OF current_timestamp() - INTERVAL 1 DAY";
        assert_eq!(parse(sql).to_string(), sql);
    }
}
