//! A Delta table's schema as the metastore records it: its columns, with their comments.

use std::collections::HashMap;

use arrow::datatypes::Field;
use deltalake::kernel::engine::arrow_conversion::TryIntoArrow;
use deltalake::DeltaTable;
use weir_catalog::ColumnEntry;

use crate::error::{EngineError, Result};
use crate::types::spark_type_name;

/// Column name -> comment, for the columns that have one.
pub(crate) fn column_comments<'a>(
    columns: impl IntoIterator<Item = (&'a str, Option<&'a String>)>,
) -> HashMap<String, String> {
    columns
        .into_iter()
        .filter_map(|(name, comment)| comment.map(|c| (name.to_string(), c.clone())))
        .collect()
}

/// Metastore columns from a Delta table's schema, keeping declared comments.
pub(crate) fn columns_of(
    table: &DeltaTable,
    comments: &HashMap<String, String>,
) -> Result<Vec<ColumnEntry>> {
    let schema = table.snapshot()?.schema();
    let mut out = Vec::new();
    for f in schema.fields() {
        let arrow_field: Field = f
            .try_into_arrow()
            .map_err(|e| EngineError::Internal(format!("converting Delta schema: {e}")))?;
        let comment = comments.get(f.name()).cloned().or_else(|| {
            f.metadata().get("comment").and_then(|v| match v {
                deltalake::kernel::MetadataValue::String(s) => Some(s.clone()),
                _ => None,
            })
        });
        out.push(ColumnEntry {
            name: f.name().to_string(),
            data_type: spark_type_name(arrow_field.data_type()),
            nullable: f.is_nullable(),
            comment,
        });
    }
    Ok(out)
}
