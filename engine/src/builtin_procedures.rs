//! The built-in procedures of the `system` catalog, which Weir implements itself. Each is
//! described here (schema, name, parameters, result columns, who may call it), so that it is
//! listed (SHOW PROCEDURES, information_schema), described (DESCRIBE PROCEDURE), bound and
//! granted like a stored procedure; the CALL executor runs it by its [`Builtin`] kind.

use weir_catalog::{ParameterMode, ProcedureEntry, ProcedureParam};

use crate::system_tables::names::SYSTEM_CATALOG;

/// Which built-in procedure: what the CALL executor matches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    /// `system.jobs.cancel(run_id)`
    CancelRun,
    /// `system.ingest.load(source, pattern, target_schema, ...)`
    IngestLoad,
}

/// The type of a result column of a built-in procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultType {
    /// STRING, never NULL.
    Text,
    /// STRING or NULL.
    NullableText,
    /// BIGINT.
    Int,
    /// DOUBLE.
    Double,
}

/// A parameter of a built-in procedure (all are IN).
#[derive(Debug)]
pub struct BuiltinParam {
    pub name: &'static str,
    pub data_type: &'static str,
    pub default: Option<&'static str>,
    pub comment: &'static str,
}

/// A built-in procedure's signature.
#[derive(Debug)]
pub struct BuiltinProcedure {
    pub kind: Builtin,
    pub schema: &'static str,
    pub name: &'static str,
    pub comment: &'static str,
    pub params: &'static [BuiltinParam],
    /// The columns of its result rows.
    pub result: &'static [(&'static str, ResultType)],
    /// Every user may call it (it checks itself what the caller may do); otherwise admins and
    /// those granted EXECUTE (with USE CATALOG system and USE SCHEMA) may.
    pub public: bool,
}

/// Every built-in procedure.
pub static BUILTINS: &[BuiltinProcedure] = &[
    BuiltinProcedure {
        kind: Builtin::CancelRun,
        schema: "jobs",
        name: "cancel",
        comment: "Stops a background run; its user or an admin may.",
        params: &[BuiltinParam {
            name: "run_id",
            data_type: "STRING",
            default: None,
            comment: "the run to stop (system.jobs.runs.run_id)",
        }],
        result: &[("run_id", ResultType::Text), ("state", ResultType::Text)],
        public: true,
    },
    BuiltinProcedure {
        kind: Builtin::IngestLoad,
        schema: "ingest",
        name: "load",
        comment: "Loads the files under a location (plain, .gz, or members of .tar.gz \
                  archives) into tables of a schema, routed by a file-name template, with \
                  quality checks; publishes every table or none.",
        params: INGEST_LOAD_PARAMS,
        result: &[
            ("run_id", ResultType::Text),
            ("table_name", ResultType::Text),
            ("status", ResultType::Text),
            ("files", ResultType::Int),
            ("rows_read", ResultType::Int),
            ("rows_written", ResultType::Int),
            ("rows_quarantined", ResultType::Int),
            ("rows_deduplicated", ResultType::Int),
            ("columns_added", ResultType::NullableText),
            ("checks_failed", ResultType::Int),
            ("messages", ResultType::NullableText),
            ("seconds_read", ResultType::Double),
            ("seconds_check", ResultType::Double),
            ("seconds_publish", ResultType::Double),
        ],
        public: false,
    },
];

const fn param(
    name: &'static str,
    data_type: &'static str,
    default: Option<&'static str>,
    comment: &'static str,
) -> BuiltinParam {
    BuiltinParam {
        name,
        data_type,
        default,
        comment,
    }
}

/// The parameters of `system.ingest.load`; their names are fixed for scripts to rely on.
static INGEST_LOAD_PARAMS: &[BuiltinParam] = &[
    param(
        "source",
        "STRING",
        None,
        "a directory or prefix (local or s3://), or a glob under one",
    ),
    param(
        "pattern",
        "STRING",
        None,
        "file-name template routing files to tables: '{table}_{date}_{batch}.csv'",
    ),
    param(
        "target_schema",
        "STRING",
        None,
        "'catalog.schema' whose tables are loaded (created on first sight)",
    ),
    param(
        "format",
        "STRING",
        Some("NULL"),
        "'csv' or 'json' (JSON lines); by default from each file's extension",
    ),
    param(
        "mode",
        "STRING",
        Some("'append'"),
        "'append', 'overwrite' or 'merge' (upsert on primary_keys)",
    ),
    param(
        "primary_keys",
        "MAP<STRING, STRING>",
        Some("NULL"),
        "map(table, 'col[,col]'): each table's key",
    ),
    param(
        "order_by",
        "STRING",
        Some("NULL"),
        "column deciding which row of one key wins: the greatest",
    ),
    param(
        "schema_evolution",
        "STRING",
        Some("'add_columns'"),
        "'add_columns' (new columns join the table) or 'none' (they are dropped)",
    ),
    param(
        "expected_files",
        "BIGINT",
        Some("NULL"),
        "fewer matched files fail check expected_files",
    ),
    param(
        "max_null_ratio",
        "DOUBLE",
        Some("NULL"),
        "a column with a larger share of NULLs fails check null_ratio",
    ),
    param(
        "max_row_change",
        "DOUBLE",
        Some("NULL"),
        "rows read differing more than this share from the last published run fail \
         check row_count_change",
    ),
    param(
        "severity",
        "MAP<STRING, STRING>",
        Some("NULL"),
        "map(check, 'error' | 'warning'): overrides each check's severity",
    ),
    param(
        "header",
        "BOOLEAN",
        Some("true"),
        "CSV files start with a header",
    ),
    param("delimiter", "STRING", Some("','"), "CSV field delimiter"),
    param(
        "deduplicate",
        "BOOLEAN",
        Some("true"),
        "keep one row per key (or one of equal rows) within the run",
    ),
    param(
        "force",
        "BOOLEAN",
        Some("false"),
        "load files again that were loaded before",
    ),
    param(
        "async",
        "BOOLEAN",
        Some("false"),
        "run in the background and return its run id at once",
    ),
];

/// The built-in procedure `catalog.schema.name`, if there is one.
pub fn find(catalog: &str, schema: &str, name: &str) -> Option<&'static BuiltinProcedure> {
    if catalog != SYSTEM_CATALOG {
        return None;
    }
    BUILTINS
        .iter()
        .find(|b| b.schema == schema && b.name == name)
}

impl BuiltinProcedure {
    /// The procedure as a stored one would be described.
    pub fn entry(&self) -> ProcedureEntry {
        ProcedureEntry {
            catalog: SYSTEM_CATALOG.to_string(),
            schema: self.schema.to_string(),
            name: self.name.to_string(),
            params: self
                .params
                .iter()
                .map(|p| ProcedureParam {
                    mode: ParameterMode::In,
                    name: p.name.to_string(),
                    data_type: p.data_type.to_string(),
                    default: p.default.map(str::to_string),
                    comment: Some(p.comment.to_string()),
                })
                .collect(),
            body: "-- built in".to_string(),
            definer: false,
            comment: Some(self.comment.to_string()),
            owner: "System user".to_string(),
            created_at_ms: 0,
        }
    }

    /// The schema of its result row.
    pub fn result_schema(&self) -> arrow::datatypes::SchemaRef {
        use arrow::datatypes::{DataType, Field};
        std::sync::Arc::new(arrow::datatypes::Schema::new(
            self.result
                .iter()
                .map(|(name, t)| match t {
                    ResultType::Text => Field::new(*name, DataType::Utf8, false),
                    ResultType::NullableText => Field::new(*name, DataType::Utf8, true),
                    ResultType::Int => Field::new(*name, DataType::Int64, true),
                    ResultType::Double => Field::new(*name, DataType::Float64, true),
                })
                .collect::<Vec<_>>(),
        ))
    }
}
