//! Parameters bound to a prepared statement through DoPut: one Arrow row per execution, matched
//! to the statement's `$n` placeholders by position.

use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use datafusion::common::{ParamValues, ScalarValue};
use tonic::Status;

/// The parameters of row `row` of `batch`, cast to the types the planner inferred for them (a
/// Python `int` arrives as int64 where the column may be int32).
pub fn row_params(
    batch: &RecordBatch,
    row: usize,
    types: &[Option<DataType>],
) -> Result<ParamValues, Status> {
    if batch.num_columns() != types.len() {
        return Err(Status::invalid_argument(format!(
            "the statement has {} parameter(s) but {} value(s) were bound",
            types.len(),
            batch.num_columns()
        )));
    }
    let mut values = Vec::with_capacity(types.len());
    for (i, column) in batch.columns().iter().enumerate() {
        let value =
            ScalarValue::try_from_array(column, row).map_err(super::status::from_datafusion)?;
        let value = match &types[i] {
            Some(t) if value.data_type() != *t => value.cast_to(t).map_err(|e| {
                Status::invalid_argument(format!("parameter ${} cannot be used as {t}: {e}", i + 1))
            })?,
            _ => value,
        };
        values.push(value.into());
    }
    Ok(ParamValues::List(values))
}
