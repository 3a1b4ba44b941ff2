//! Engine errors as gRPC statuses: the class picks the code, the message is the SQL message, and
//! the SQLSTATE travels in the `x-sqlstate` metadata for clients that want it.

use tonic::metadata::MetadataValue;
use tonic::{Code, Status};
use weir_engine::{EngineError, ErrorClass};

pub fn to_status(e: EngineError) -> Status {
    let code = match e.class() {
        ErrorClass::InvalidArgument => Code::InvalidArgument,
        ErrorClass::NotFound => Code::NotFound,
        ErrorClass::AlreadyExists => Code::AlreadyExists,
        ErrorClass::PermissionDenied => Code::PermissionDenied,
        ErrorClass::Unauthenticated => Code::Unauthenticated,
        ErrorClass::Aborted => Code::Aborted,
        ErrorClass::Cancelled => Code::Cancelled,
        ErrorClass::Unimplemented => Code::Unimplemented,
        ErrorClass::Internal => Code::Internal,
    };
    let mut status = Status::new(code, e.to_string());
    // A SQLSTATE is five ASCII letters or digits (a script's own included).
    if let Ok(state) = MetadataValue::try_from(e.sqlstate()) {
        status.metadata_mut().insert("x-sqlstate", state);
    }
    status
}

pub fn from_datafusion(e: datafusion::error::DataFusionError) -> Status {
    to_status(EngineError::from(e))
}

pub fn from_arrow(e: arrow::error::ArrowError) -> Status {
    to_status(EngineError::from(datafusion::error::DataFusionError::from(
        e,
    )))
}
