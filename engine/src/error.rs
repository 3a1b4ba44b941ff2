//! Engine errors and their SQLSTATE codes. Both fronts map these the same way: pgwire sends the
//! SQLSTATE, Flight SQL maps the class onto a gRPC status.

use datafusion::error::DataFusionError;
use deltalake::DeltaTableError;
use weir_catalog::MetastoreError;

#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
    #[error("syntax error: {0}")]
    Syntax(String),
    #[error("{0}")]
    UndefinedTable(String),
    #[error("{0}")]
    UndefinedColumn(String),
    /// A column the planner could not find (42703), by name: a script's statement may mean a
    /// variable of that name.
    #[error("{message}")]
    ColumnNotFound {
        qualifier: Option<String>,
        name: String,
        message: String,
    },
    /// An error a script raised itself (`SIGNAL`), with the SQLSTATE it chose.
    #[error("{message}")]
    Raised { sqlstate: String, message: String },
    #[error("{0}")]
    UndefinedCatalog(String),
    #[error("{0}")]
    UndefinedSchema(String),
    #[error("{message}")]
    Duplicate {
        sqlstate: &'static str,
        message: String,
    },
    #[error("{0}")]
    DependentObjects(String),
    #[error("{0}")]
    NotNullViolation(String),
    #[error("{0}")]
    DataException(String),
    #[error("{0}")]
    InvalidParameter(String),
    #[error("{0}")]
    NotSupported(String),
    #[error("{0}")]
    WrongObjectType(String),
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    InvalidPassword(String),
    #[error("{0}")]
    WriteConflict(String),
    #[error("canceling statement due to user request")]
    Canceled,
    #[error("{0}")]
    InvalidCursor(String),
    #[error("{0}")]
    Recursion(String),
    /// A statement nested deeper than the engine will recurse (54001, statement_too_complex).
    #[error("{0}")]
    StatementTooComplex(String),
    /// An error of the caller's input with a specific SQLSTATE.
    #[error("{message}")]
    Coded {
        sqlstate: &'static str,
        message: String,
    },
    #[error("{0}")]
    Storage(String),
    #[error("{0}")]
    Internal(String),
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

/// The coarse class of an error, for fronts that do not speak SQLSTATE (gRPC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    InvalidArgument,
    NotFound,
    AlreadyExists,
    PermissionDenied,
    Unauthenticated,
    Aborted,
    Cancelled,
    Unimplemented,
    Internal,
}

impl EngineError {
    pub fn sqlstate(&self) -> &str {
        match self {
            EngineError::ColumnNotFound { .. } => "42703",
            EngineError::Raised { sqlstate, .. } => sqlstate,
            EngineError::Syntax(_) => "42601",
            EngineError::UndefinedTable(_) => "42P01",
            EngineError::UndefinedColumn(_) => "42703",
            EngineError::UndefinedCatalog(_) => "3D000",
            EngineError::UndefinedSchema(_) => "3F000",
            EngineError::Duplicate { sqlstate, .. } => sqlstate,
            EngineError::DependentObjects(_) => "2BP01",
            EngineError::NotNullViolation(_) => "23502",
            EngineError::DataException(_) => "22000",
            EngineError::InvalidParameter(_) => "22023",
            EngineError::NotSupported(_) => "0A000",
            EngineError::WrongObjectType(_) => "42809",
            EngineError::PermissionDenied(_) => "42501",
            EngineError::InvalidPassword(_) => "28P01",
            EngineError::WriteConflict(_) => "40001",
            EngineError::Canceled => "57014",
            EngineError::InvalidCursor(_) => "34000",
            EngineError::Recursion(_) => "42P17",
            EngineError::StatementTooComplex(_) => "54001",
            EngineError::Coded { sqlstate, .. } => sqlstate,
            EngineError::Storage(_) => "58030",
            EngineError::Internal(_) => "XX000",
        }
    }

    pub fn class(&self) -> ErrorClass {
        match self {
            EngineError::Syntax(_)
            | EngineError::UndefinedColumn(_)
            | EngineError::ColumnNotFound { .. }
            | EngineError::Raised { .. }
            | EngineError::NotNullViolation(_)
            | EngineError::DataException(_)
            | EngineError::InvalidParameter(_)
            | EngineError::WrongObjectType(_)
            | EngineError::DependentObjects(_)
            | EngineError::Recursion(_)
            | EngineError::StatementTooComplex(_)
            | EngineError::Coded { .. } => ErrorClass::InvalidArgument,
            EngineError::UndefinedTable(_)
            | EngineError::UndefinedCatalog(_)
            | EngineError::UndefinedSchema(_)
            | EngineError::InvalidCursor(_) => ErrorClass::NotFound,
            EngineError::Duplicate { .. } => ErrorClass::AlreadyExists,
            EngineError::PermissionDenied(_) => ErrorClass::PermissionDenied,
            EngineError::InvalidPassword(_) => ErrorClass::Unauthenticated,
            EngineError::WriteConflict(_) => ErrorClass::Aborted,
            EngineError::Canceled => ErrorClass::Cancelled,
            EngineError::NotSupported(_) => ErrorClass::Unimplemented,
            EngineError::Storage(_) | EngineError::Internal(_) => ErrorClass::Internal,
        }
    }

    pub fn syntax(msg: impl Into<String>) -> Self {
        EngineError::Syntax(msg.into())
    }
    pub fn not_supported(msg: impl Into<String>) -> Self {
        EngineError::NotSupported(msg.into())
    }
    pub fn invalid(msg: impl Into<String>) -> Self {
        EngineError::InvalidParameter(msg.into())
    }
}

impl From<MetastoreError> for EngineError {
    fn from(e: MetastoreError) -> Self {
        let msg = e.to_string();
        match e {
            MetastoreError::NotFound {
                kind: "catalog", ..
            } => EngineError::UndefinedCatalog(msg),
            MetastoreError::NotFound { kind: "schema", .. } => EngineError::UndefinedSchema(msg),
            MetastoreError::NotFound { kind: "table", .. } => EngineError::UndefinedTable(msg),
            MetastoreError::NotFound { .. } => EngineError::InvalidParameter(msg),
            MetastoreError::AlreadyExists { kind, .. } => EngineError::Duplicate {
                sqlstate: match kind {
                    "catalog" => "42P04",
                    "schema" => "42P06",
                    "user" | "external location" => "42710",
                    "procedure" => "42723",
                    _ => "42P07",
                },
                message: msg,
            },
            MetastoreError::NotEmpty { .. } => EngineError::DependentObjects(msg),
            MetastoreError::Invalid { .. } => EngineError::InvalidParameter(msg),
            MetastoreError::Storage(_) | MetastoreError::Corrupt(_) => EngineError::Internal(msg),
        }
    }
}

impl From<sqlparser_error::ParserError> for EngineError {
    fn from(e: sqlparser_error::ParserError) -> Self {
        if matches!(e, sqlparser_error::ParserError::RecursionLimitExceeded) {
            return EngineError::StatementTooComplex(
                "statement too complex: brackets or subqueries nest too deep".into(),
            );
        }
        EngineError::Syntax(
            e.to_string()
                .trim_start_matches("sql parser error: ")
                .to_string(),
        )
    }
}

mod sqlparser_error {
    pub use datafusion::sql::sqlparser::parser::ParserError;
}

impl From<DataFusionError> for EngineError {
    fn from(e: DataFusionError) -> Self {
        classify_datafusion(e)
    }
}

impl From<DeltaTableError> for EngineError {
    fn from(e: DeltaTableError) -> Self {
        match e {
            DeltaTableError::Transaction { source } => {
                use deltalake::kernel::transaction::TransactionError as T;
                match source {
                    T::CommitConflict(c) => EngineError::WriteConflict(format!(
                        "could not commit because of a concurrent write: {c}"
                    )),
                    T::VersionAlreadyExists(v) => EngineError::WriteConflict(format!(
                        "could not commit: version {v} was written concurrently"
                    )),
                    T::MaxCommitAttempts(n) => EngineError::WriteConflict(format!(
                        "could not commit after {n} attempts because of concurrent writes"
                    )),
                    other => EngineError::Storage(format!("Delta commit failed: {other}")),
                }
            }
            DeltaTableError::VersionAlreadyExists(v) => EngineError::WriteConflict(format!(
                "concurrent write conflict: version {v} already exists"
            )),
            DeltaTableError::InvalidData { message } => {
                EngineError::DataException(format!("data violates table constraints: {message}"))
            }
            DeltaTableError::Arrow { source } => EngineError::from(source),
            DeltaTableError::NotATable(m) => {
                EngineError::InvalidParameter(format!("not a Delta table: {m}"))
            }
            DeltaTableError::ObjectStore { source } => {
                EngineError::Storage(format!("object store error: {source}"))
            }
            other => classify_message(format!("Delta error: {other}")),
        }
    }
}

/// delta-rs flattens the DataFusion errors of its operations into `Generic(text)` (its
/// `From<DataFusionError> for DeltaTableError`), its own `InvalidData` from row validation
/// included, so for those the kind survives only in the text.
fn classify_message(msg: String) -> EngineError {
    if msg.contains("non-nullable")
        || msg.contains("Non-nullable")
        || msg.contains("rows failed validation check")
    {
        EngineError::NotNullViolation(msg)
    } else if msg.contains("Cast error")
        || msg.contains("Can't cast")
        || msg.contains("Divide by zero")
    {
        EngineError::DataException(msg)
    } else if msg.contains("Error parsing property") || msg.contains("Invalid table property") {
        EngineError::InvalidParameter(msg)
    } else {
        EngineError::Storage(msg)
    }
}

/// Arrow's errors by kind. Arrow has no kind for a null in a non-nullable column: that one is
/// known by its message.
impl From<arrow::error::ArrowError> for EngineError {
    fn from(e: arrow::error::ArrowError) -> Self {
        use arrow::error::ArrowError as A;
        let msg = e.to_string();
        match e {
            A::DivideByZero => EngineError::Coded {
                sqlstate: "22012",
                message: msg,
            },
            A::ArithmeticOverflow(_) => EngineError::Coded {
                sqlstate: "22003",
                message: msg,
            },
            A::CastError(_) | A::ParseError(_) => EngineError::DataException(msg),
            A::InvalidArgumentError(m) if m.contains("non-nullable") => {
                EngineError::NotNullViolation(format!(
                    "null value violates not-null constraint: {msg}"
                ))
            }
            A::ExternalError(inner) => match inner.downcast::<EngineError>() {
                Ok(engine) => *engine,
                Err(other) => EngineError::Internal(other.to_string()),
            },
            _ => EngineError::Internal(msg),
        }
    }
}

fn classify_datafusion(e: DataFusionError) -> EngineError {
    match e {
        // Several errors found at once (two unknown columns): the first is reported, as
        // PostgreSQL reports the first it meets.
        DataFusionError::Collection(errors) if !errors.is_empty() => {
            let mut errors = errors;
            classify_datafusion(errors.swap_remove(0))
        }
        DataFusionError::SQL(pe, _) => EngineError::from(*pe),
        DataFusionError::SchemaError(se, _) => {
            use datafusion::common::SchemaError as S;
            let msg = se.to_string();
            match *se {
                S::FieldNotFound { field, .. } => EngineError::ColumnNotFound {
                    qualifier: field.relation.as_ref().map(|r| r.table().to_string()),
                    name: field.name,
                    message: msg,
                },
                S::AmbiguousReference { .. } => EngineError::Coded {
                    sqlstate: "42702",
                    message: msg,
                },
                S::DuplicateQualifiedField { .. } | S::DuplicateUnqualifiedField { .. } => {
                    EngineError::Coded {
                        sqlstate: "42701",
                        message: msg,
                    }
                }
            }
        }
        DataFusionError::Plan(msg) => {
            if msg.contains("table")
                && (msg.contains("not found") || msg.contains("does not exist"))
            {
                EngineError::UndefinedTable(msg)
            } else if msg.contains("No field named") {
                EngineError::UndefinedColumn(msg)
            } else if msg.contains("Invalid function")
                || msg.contains("No function matches the given name and argument types")
            {
                EngineError::Coded {
                    sqlstate: "42883",
                    message: msg,
                }
            } else if msg.contains("Ambiguous reference") || msg.contains("ambiguous") {
                EngineError::Coded {
                    sqlstate: "42702",
                    message: msg,
                }
            } else if msg.contains("does not exist") {
                EngineError::InvalidParameter(msg)
            } else {
                EngineError::InvalidParameter(msg)
            }
        }
        DataFusionError::NotImplemented(msg) => EngineError::NotSupported(msg),
        DataFusionError::ArrowError(ae, _) => EngineError::from(*ae),
        DataFusionError::Execution(msg) => {
            if msg.contains("Scalar subquery returned more than one row") {
                // PostgreSQL's cardinality_violation.
                EngineError::Coded {
                    sqlstate: "21000",
                    message: msg,
                }
            } else if msg.contains("Non-nullable")
                || msg.contains("non-nullable")
                || msg.contains("Invalid batch column")
            {
                EngineError::NotNullViolation(msg)
            } else if msg.contains("Cast error")
                || msg.contains("Divide by zero")
                || msg.contains("Overflow")
                || msg.contains("overflow")
            {
                EngineError::DataException(msg)
            } else {
                EngineError::InvalidParameter(msg)
            }
        }
        DataFusionError::Context(ctx, inner) => {
            let inner = classify_datafusion(*inner);
            prefix(inner, &ctx)
        }
        DataFusionError::Diagnostic(_, inner) => classify_datafusion(*inner),
        DataFusionError::Shared(inner) => match std::sync::Arc::try_unwrap(inner) {
            Ok(e) => classify_datafusion(e),
            Err(shared) => match shared.as_ref() {
                DataFusionError::External(ext) => {
                    match (
                        ext.downcast_ref::<EngineError>(),
                        ext.downcast_ref::<weir_udfs::FunctionError>(),
                    ) {
                        (Some(e), _) => e.clone(),
                        (None, Some(f)) => EngineError::Coded {
                            sqlstate: f.sqlstate,
                            message: f.message.clone(),
                        },
                        (None, None) => EngineError::Internal(shared.to_string()),
                    }
                }
                other => EngineError::Internal(other.to_string()),
            },
        },
        DataFusionError::External(ext) => match ext.downcast::<EngineError>() {
            Ok(engine) => *engine,
            Err(ext) => match ext.downcast::<DeltaTableError>() {
                Ok(delta) => EngineError::from(*delta),
                Err(ext) => match ext.downcast::<weir_udfs::FunctionError>() {
                    Ok(f) => EngineError::Coded {
                        sqlstate: f.sqlstate,
                        message: f.message,
                    },
                    Err(ext) => EngineError::Internal(ext.to_string()),
                },
            },
        },
        DataFusionError::ResourcesExhausted(msg) => EngineError::Coded {
            sqlstate: "53200",
            message: format!("out of memory: {msg}"),
        },
        other => EngineError::Internal(other.to_string()),
    }
}

fn prefix(e: EngineError, ctx: &str) -> EngineError {
    match e {
        EngineError::DataException(m) => EngineError::DataException(format!("{ctx}: {m}")),
        EngineError::NotNullViolation(m) => EngineError::NotNullViolation(format!("{ctx}: {m}")),
        other => other,
    }
}
