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
    /// The columns of the one result row (strings).
    pub result: &'static [&'static str],
    /// Every user may call it (it checks itself what the caller may do); otherwise admins and
    /// those granted EXECUTE (with USE CATALOG system and USE SCHEMA) may.
    pub public: bool,
}

/// Every built-in procedure.
pub static BUILTINS: &[BuiltinProcedure] = &[BuiltinProcedure {
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
    result: &["run_id", "state"],
    public: true,
}];

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
        std::sync::Arc::new(arrow::datatypes::Schema::new(
            self.result
                .iter()
                .map(|c| arrow::datatypes::Field::new(*c, arrow::datatypes::DataType::Utf8, false))
                .collect::<Vec<_>>(),
        ))
    }
}
