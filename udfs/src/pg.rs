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
    // Every collation is visible: Weir has one namespace for them.
    let collation_visible = create_udf(
        "pg_collation_is_visible",
        vec![DataType::Int32],
        DataType::Boolean,
        Volatility::Stable,
        Arc::new(|_: &[ColumnarValue]| {
            Ok(ColumnarValue::Scalar(
                datafusion::common::ScalarValue::Boolean(Some(true)),
            ))
        }),
    );
    vec![
        Arc::new(to_regtype),
        Arc::new(serial_sequence),
        Arc::new(collation_visible),
        Arc::new(ScalarUDF::new_from_impl(JsonBuildObject::new())),
    ]
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

/// `json_build_object(k1, v1, k2, v2, ...)` as PostgreSQL: a JSON object text.
#[derive(Debug, PartialEq, Eq, Hash)]
struct JsonBuildObject {
    signature: datafusion::logical_expr::Signature,
}

impl JsonBuildObject {
    fn new() -> Self {
        JsonBuildObject {
            signature: datafusion::logical_expr::Signature::variadic_any(Volatility::Immutable),
        }
    }
}

impl datafusion::logical_expr::ScalarUDFImpl for JsonBuildObject {
    fn name(&self) -> &str {
        "json_build_object"
    }
    fn signature(&self) -> &datafusion::logical_expr::Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(
        &self,
        args: datafusion::logical_expr::ScalarFunctionArgs,
    ) -> Result<ColumnarValue> {
        use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
        if args.args.len() % 2 != 0 {
            return datafusion::common::plan_err!(
                "json_build_object() needs an even number of arguments"
            );
        }
        let rows = args.number_rows;
        let arrays: Vec<ArrayRef> = args
            .args
            .iter()
            .map(|a| a.to_array(rows))
            .collect::<Result<_>>()?;
        let opts = FormatOptions::default();
        let formatters = arrays
            .iter()
            .map(|a| ArrayFormatter::try_new(a.as_ref(), &opts))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let mut out = Vec::with_capacity(rows);
        for row in 0..rows {
            let mut obj = String::from("{");
            for pair in 0..arrays.len() / 2 {
                let (k, v) = (2 * pair, 2 * pair + 1);
                if pair > 0 {
                    obj.push_str(", ");
                }
                obj.push_str(&json_string(&formatters[k].value(row).to_string()));
                obj.push_str(" : ");
                let value = &arrays[v];
                if value.is_null(row) {
                    obj.push_str("null");
                } else if value.data_type().is_numeric() || *value.data_type() == DataType::Boolean
                {
                    obj.push_str(&formatters[v].value(row).to_string());
                } else {
                    obj.push_str(&json_string(&formatters[v].value(row).to_string()));
                }
            }
            obj.push('}');
            out.push(obj);
        }
        Ok(ColumnarValue::Array(Arc::new(StringArray::from(out))))
    }
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
