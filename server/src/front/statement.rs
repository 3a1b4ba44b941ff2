//! A statement prepared for a protocol's statement store (pgwire's for Parse, the Flight
//! session's for CreatePreparedStatement): the engine's prepared statement and what Describe
//! reports of it, computed once when it is prepared.

use arrow::datatypes::{DataType, SchemaRef};
use weir_engine::{EngineError, Prepared, Session};

#[derive(Debug, Clone)]
pub struct DescribedStatement {
    pub prepared: Prepared,
    /// The type of `$n` at index `n - 1`; `None` where the plan leaves it open.
    pub param_types: Vec<Option<DataType>>,
    /// The result's schema; `None` for a statement that returns no rows.
    pub result: Option<SchemaRef>,
}

impl DescribedStatement {
    /// Parses, plans and describes `sql`; `None` for an empty statement.
    pub async fn prepare(session: &mut Session, sql: &str) -> Result<Option<Self>, EngineError> {
        match session.prepare(sql).await? {
            Some(prepared) => Self::describe(session, prepared).await.map(Some),
            None => Ok(None),
        }
    }

    /// Describes a statement the engine prepared.
    pub async fn describe(session: &Session, prepared: Prepared) -> Result<Self, EngineError> {
        let (param_types, result) = session.describe(&prepared).await?;
        Ok(DescribedStatement {
            prepared,
            param_types,
            result,
        })
    }
}
