//! SQL functions Weir adds to DataFusion.
//!
//! Session functions (`current_catalog()`, `current_schema()`, `current_database()`) read the
//! session's configuration at execution time, so they follow `USE CATALOG` / `USE SCHEMA`.
//! `current_user()` / `session_user()` are bound to the authenticated user when a session starts;
//! `is_member()` asks the metastore when it runs. SQL functions (`CREATE FUNCTION`) are
//! [`SqlFunction`]s.

use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

mod membership;
mod pg;
pub mod spark;
mod sql_function;
pub use membership::{membership_functions, Membership};
pub use pg::pg_client_functions;
pub use sql_function::SqlFunction;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum SessionValue {
    Catalog,
    Schema,
}

/// A zero-argument function returning a value of the running session.
#[derive(Debug, PartialEq, Eq, Hash)]
struct SessionFunction {
    name: &'static str,
    aliases: Vec<String>,
    value: SessionValue,
    signature: Signature,
}

impl ScalarUDFImpl for SessionFunction {
    fn name(&self) -> &str {
        self.name
    }
    fn aliases(&self) -> &[String] {
        &self.aliases
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let opts = &args.config_options.catalog;
        let v = match self.value {
            SessionValue::Catalog => opts.default_catalog.clone(),
            SessionValue::Schema => opts.default_schema.clone(),
        };
        Ok(ColumnarValue::Scalar(ScalarValue::Utf8(Some(v))))
    }
}

/// A zero-argument function returning a constant fixed for the session.
#[derive(Debug, PartialEq, Eq, Hash)]
struct ConstantFunction {
    name: &'static str,
    aliases: Vec<String>,
    value: String,
    signature: Signature,
}

impl ScalarUDFImpl for ConstantFunction {
    fn name(&self) -> &str {
        self.name
    }
    fn aliases(&self) -> &[String] {
        &self.aliases
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        Ok(ColumnarValue::Scalar(ScalarValue::Utf8(Some(
            self.value.clone(),
        ))))
    }
}

fn session_fn(name: &'static str, aliases: &[&str], value: SessionValue) -> ScalarUDF {
    ScalarUDF::new_from_impl(SessionFunction {
        name,
        aliases: aliases.iter().map(|s| s.to_string()).collect(),
        value,
        // Volatile: never constant-folded at planning time, always read from the running session.
        signature: Signature::exact(vec![], Volatility::Volatile),
    })
}

fn constant_fn(name: &'static str, aliases: &[&str], value: &str) -> ScalarUDF {
    ScalarUDF::new_from_impl(ConstantFunction {
        name,
        aliases: aliases.iter().map(|s| s.to_string()).collect(),
        value: value.to_string(),
        signature: Signature::exact(vec![], Volatility::Stable),
    })
}

/// Whether the function named `name` (as a plan names it, whatever alias was written) answers
/// for the user who runs the statement, so that a view calling it shows each reader other rows
/// or values (a "dynamic view").
pub fn answers_for_reader(name: &str) -> bool {
    matches!(
        name,
        "current_user" | "session_user" | "is_member" | "is_account_group_member"
    )
}

/// The session functions of `user`, registered on every session state the engine builds.
pub fn session_functions(user: &str, server_version: &str) -> Vec<Arc<ScalarUDF>> {
    vec![
        Arc::new(session_fn("current_catalog", &[], SessionValue::Catalog)),
        // A Postgres database is a Weir catalog.
        Arc::new(session_fn("current_database", &[], SessionValue::Catalog)),
        Arc::new(session_fn("current_schema", &[], SessionValue::Schema)),
        Arc::new(constant_fn("current_user", &["user", "current_role"], user)),
        Arc::new(constant_fn("session_user", &[], user)),
        Arc::new(constant_fn("version", &[], server_version)),
    ]
}

/// An error a function raises on its input, with the SQLSTATE Databricks SQL gives it
/// (`22003` for an index out of range, `22012` for division by zero, ...). The engine reports
/// it with that SQLSTATE.
#[derive(Debug, Clone)]
pub struct FunctionError {
    pub sqlstate: &'static str,
    pub message: String,
}

impl FunctionError {
    /// A DataFusion error carrying this one.
    pub fn new(sqlstate: &'static str, message: String) -> datafusion::error::DataFusionError {
        datafusion::error::DataFusionError::External(Box::new(FunctionError { sqlstate, message }))
    }
}

impl std::fmt::Display for FunctionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FunctionError {}
