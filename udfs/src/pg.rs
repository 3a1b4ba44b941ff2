//! PostgreSQL catalog functions that drivers call while connecting or reflecting
//! (psycopg's type lookup, SQLAlchemy's inspector) and that datafusion-pg-catalog lacks.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, Int32Array, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{cast::as_string_array, Result};
use datafusion::logical_expr::{create_udf, ColumnarValue, ScalarUDF, Volatility};

/// OIDs of the built-in types Weir's results use (PostgreSQL's fixed catalog OIDs).
fn builtin_type_oid(name: &str) -> Option<i32> {
    let name = name
        .trim()
        .trim_start_matches("pg_catalog.")
        .to_ascii_lowercase();
    Some(match name.as_str() {
        "bool" | "boolean" => 16,
        "bytea" => 17,
        "char" => 18,
        "name" => 19,
        "int8" | "bigint" => 20,
        "int2" | "smallint" => 21,
        "int4" | "integer" | "int" => 23,
        "text" => 25,
        "oid" => 26,
        "json" => 114,
        "float4" | "real" => 700,
        "float8" | "double precision" => 701,
        "varchar" | "character varying" => 1043,
        "date" => 1082,
        "time" => 1083,
        "timestamp" | "timestamp without time zone" => 1114,
        "timestamptz" | "timestamp with time zone" => 1184,
        "interval" => 1186,
        "numeric" | "decimal" => 1700,
        "uuid" => 2950,
        "jsonb" => 3802,
        "bool[]" | "_bool" => 1000,
        "int2[]" | "_int2" => 1005,
        "int4[]" | "_int4" => 1007,
        "text[]" | "_text" => 1009,
        "varchar[]" | "_varchar" => 1015,
        "int8[]" | "_int8" => 1016,
        "float4[]" | "_float4" => 1021,
        "float8[]" | "_float8" => 1022,
        "numeric[]" | "_numeric" => 1231,
        _ => return None,
    })
}

fn map_strings(args: &[ColumnarValue], f: impl Fn(&str) -> Option<i32>) -> Result<ColumnarValue> {
    let arrays = ColumnarValue::values_to_arrays(args)?;
    let input = datafusion::arrow::compute::cast(&arrays[0], &DataType::Utf8)?;
    let strings: &StringArray = as_string_array(&input)?;
    let out: Int32Array = strings.iter().map(|s| s.and_then(&f)).collect();
    let out: ArrayRef = Arc::new(out);
    Ok(
        if args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_))) && out.len() == 1 {
            ColumnarValue::Scalar(datafusion::common::ScalarValue::try_from_array(&out, 0)?)
        } else {
            ColumnarValue::Array(out)
        },
    )
}

pub fn pg_client_functions() -> Vec<Arc<ScalarUDF>> {
    let to_regtype = create_udf(
        "to_regtype",
        vec![DataType::Utf8],
        DataType::Int32,
        Volatility::Stable,
        Arc::new(|args: &[ColumnarValue]| map_strings(args, builtin_type_oid)),
    );
    // Weir tables have no serial columns.
    let serial_sequence = create_udf(
        "pg_get_serial_sequence",
        vec![DataType::Utf8, DataType::Utf8],
        DataType::Utf8,
        Volatility::Stable,
        Arc::new(|_: &[ColumnarValue]| {
            Ok(ColumnarValue::Scalar(
                datafusion::common::ScalarValue::Utf8(None),
            ))
        }),
    );
    vec![Arc::new(to_regtype), Arc::new(serial_sequence)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_common_types() {
        assert_eq!(builtin_type_oid("pg_catalog.int8"), Some(20));
        assert_eq!(builtin_type_oid("TIMESTAMPTZ"), Some(1184));
        assert_eq!(builtin_type_oid("hstore"), None);
    }
}
