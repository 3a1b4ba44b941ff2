//! Arrow record batches built row by row: the result sets of Weir's own statements (SHOW,
//! DESCRIBE, OPTIMIZE, MERGE, ...), of information_schema and of system tables.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMillisecondArray};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::catalog::TableProvider;
use datafusion::datasource::MemTable;

use crate::error::{EngineError, Result};

/// One column of a result being built row by row.
pub enum Col {
    Str(String, bool, Vec<Option<String>>),
    Int(String, Vec<Option<i64>>),
    Time(String, Vec<Option<i64>>),
    /// Days since 1970-01-01.
    Date(String, Vec<Option<i32>>),
    Bool(String, Vec<Option<bool>>),
    Float(String, Vec<Option<f64>>),
}

impl Col {
    pub fn str(name: &str) -> Self {
        Col::Str(name.to_string(), true, vec![])
    }
    pub fn str_not_null(name: &str) -> Self {
        Col::Str(name.to_string(), false, vec![])
    }
    pub fn int(name: &str) -> Self {
        Col::Int(name.to_string(), vec![])
    }
    pub fn time(name: &str) -> Self {
        Col::Time(name.to_string(), vec![])
    }
    pub fn date(name: &str) -> Self {
        Col::Date(name.to_string(), vec![])
    }
    pub fn bool(name: &str) -> Self {
        Col::Bool(name.to_string(), vec![])
    }
    pub fn float(name: &str) -> Self {
        Col::Float(name.to_string(), vec![])
    }
    pub fn push_float(&mut self, v: Option<f64>) {
        if let Col::Float(_, vals) = self {
            vals.push(v);
        }
    }
    pub fn push_bool(&mut self, v: Option<bool>) {
        if let Col::Bool(_, vals) = self {
            vals.push(v);
        }
    }
    pub fn push_str(&mut self, v: Option<impl Into<String>>) {
        if let Col::Str(_, _, vals) = self {
            vals.push(v.map(Into::into));
        }
    }
    /// The UTC date of a Unix-milliseconds instant.
    pub fn push_date_of_ms(&mut self, ms: Option<i64>) {
        if let Col::Date(_, vals) = self {
            vals.push(ms.map(|ms| ms.div_euclid(24 * 60 * 60 * 1000) as i32));
        }
    }
    pub fn push_int(&mut self, v: Option<i64>) {
        if let Col::Int(_, vals) | Col::Time(_, vals) = self {
            vals.push(v);
        }
    }
}

/// Builds a record batch from columns filled in lock-step.
pub fn batch(cols: Vec<Col>) -> Result<RecordBatch> {
    let mut fields = Vec::with_capacity(cols.len());
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(cols.len());
    for c in cols {
        match c {
            Col::Str(n, nullable, v) => {
                fields.push(Field::new(n, DataType::Utf8, nullable));
                arrays.push(Arc::new(StringArray::from(v)));
            }
            Col::Int(n, v) => {
                fields.push(Field::new(n, DataType::Int64, true));
                arrays.push(Arc::new(Int64Array::from(v)));
            }
            Col::Bool(n, v) => {
                fields.push(Field::new(n, DataType::Boolean, true));
                arrays.push(Arc::new(arrow::array::BooleanArray::from(v)));
            }
            Col::Float(n, v) => {
                fields.push(Field::new(n, DataType::Float64, true));
                arrays.push(Arc::new(arrow::array::Float64Array::from(v)));
            }
            Col::Date(n, v) => {
                fields.push(Field::new(n, DataType::Date32, true));
                arrays.push(Arc::new(arrow::array::Date32Array::from(v)));
            }
            Col::Time(n, v) => {
                fields.push(Field::new(
                    n,
                    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
                    true,
                ));
                arrays.push(Arc::new(
                    TimestampMillisecondArray::from(v).with_timezone("UTC"),
                ));
            }
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
        .map_err(|e| EngineError::Internal(format!("building result: {e}")))
}

/// Columns built row by row, as the result set of a statement (OPTIMIZE, RESTORE, MERGE ...).
pub fn rows_output(cols: Vec<Col>) -> Result<crate::output::StatementOutput> {
    let result = batch(cols)?;
    let schema = result.schema();
    Ok(crate::output::StatementOutput::Rows(Box::pin(
        datafusion::physical_plan::memory::MemoryStream::try_new(vec![result], schema, None)?,
    )))
}

pub fn mem_table(batch: RecordBatch) -> Result<Arc<dyn TableProvider>> {
    Ok(Arc::new(MemTable::try_new(
        batch.schema(),
        vec![vec![batch]],
    )?))
}
