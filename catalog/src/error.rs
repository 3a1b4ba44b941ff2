//! Metastore errors.

use thiserror::Error;

/// What went wrong in the metastore. Variants map one-to-one onto SQLSTATE classes in the engine.
#[derive(Debug, Error)]
pub enum MetastoreError {
    #[error("{kind} '{name}' does not exist")]
    NotFound { kind: &'static str, name: String },
    #[error("{kind} '{name}' already exists")]
    AlreadyExists { kind: &'static str, name: String },
    #[error("{kind} '{name}' is not empty: {detail}")]
    NotEmpty {
        kind: &'static str,
        name: String,
        detail: String,
    },
    #[error("invalid {what}: {detail}")]
    Invalid { what: &'static str, detail: String },
    #[error("metastore storage error: {0}")]
    Storage(#[from] rusqlite::Error),
    #[error("metastore record is corrupt: {0}")]
    Corrupt(String),
}

pub type Result<T, E = MetastoreError> = std::result::Result<T, E>;

impl MetastoreError {
    pub fn not_found(kind: &'static str, name: impl Into<String>) -> Self {
        Self::NotFound {
            kind,
            name: name.into(),
        }
    }
    pub fn already_exists(kind: &'static str, name: impl Into<String>) -> Self {
        Self::AlreadyExists {
            kind,
            name: name.into(),
        }
    }
}
