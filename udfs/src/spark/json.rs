//! Spark's `to_json(expr)` and `from_json(json, schema)`, through arrow-json's encoder and
//! decoder (https://spark.apache.org/docs/latest/api/sql/index.html#to_json):
//! - `to_json` writes a struct, map or array as JSON text; NULL fields of a struct are left
//!   out (Spark's `ignoreNullFields`), NULL values of a map are written;
//! - `from_json` reads JSON text as the type its schema literal names (`'a INT, b STRING'`,
//!   `'STRUCT<...>'`, `'ARRAY<...>'`, `'MAP<STRING, ...>'`); fields the schema does not name
//!   are ignored. A row reads as Spark's PERMISSIVE mode reads it: text that is not a JSON
//!   object is a struct with every field NULL (NULL for other types), a field whose value does
//!   not fit its type is NULL and the other fields keep theirs.

use std::sync::Arc;

use datafusion::arrow::array::{
    new_null_array, Array, ArrayRef, AsArray, StringBuilder, StructArray,
};
use datafusion::arrow::compute::{cast, concat};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields, Schema};
use datafusion::arrow::json::writer::{make_encoder, EncoderOptions};
use datafusion::arrow::json::ReaderBuilder;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

use crate::FunctionError;

/// Each value of `array` as JSON text (NULL stays NULL); NULL fields and map values are
/// written as `null` when `explicit_nulls`, else left out.
pub fn json_text(array: &ArrayRef, explicit_nulls: bool) -> Result<ArrayRef> {
    let field: FieldRef = Arc::new(Field::new("value", array.data_type().clone(), true));
    let options = EncoderOptions::default().with_explicit_nulls(explicit_nulls);
    let mut encoder = make_encoder(&field, array.as_ref(), &options)?;
    let mut out = StringBuilder::with_capacity(array.len(), array.len() * 16);
    let mut buffer = Vec::new();
    for i in 0..array.len() {
        if encoder.is_null(i) {
            out.append_null();
            continue;
        }
        buffer.clear();
        encoder.encode(i, &mut buffer);
        match std::str::from_utf8(&buffer) {
            Ok(text) => out.append_value(text),
            Err(e) => return Err(FunctionError::new("22021", format!("to_json: {e}"))),
        }
    }
    Ok(Arc::new(out.finish()))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct ToJson {
    signature: Signature,
}

pub fn to_json() -> ScalarUDF {
    ScalarUDF::new_from_impl(ToJson {
        signature: Signature::any(1, Volatility::Immutable),
    })
}

impl ScalarUDFImpl for ToJson {
    fn name(&self) -> &str {
        "to_json"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        // Spark leaves out a struct's NULL fields but writes a map's NULL values.
        let explicit_nulls = matches!(arrays[0].data_type(), DataType::Map(..));
        super::answer(json_text(&arrays[0], explicit_nulls)?, &args.args)
    }
}

/// Reads a Spark type name (`'a INT, b STRING'` or `'ARRAY<INT>'`) as an Arrow type.
pub type TypeReader = fn(&str) -> std::result::Result<DataType, String>;

#[derive(Debug)]
struct FromJson {
    read_type: TypeReader,
    signature: Signature,
}

impl PartialEq for FromJson {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::fn_addr_eq(self.read_type, other.read_type)
    }
}
impl Eq for FromJson {}
impl std::hash::Hash for FromJson {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        "from_json".hash(state);
    }
}

pub fn from_json(read_type: TypeReader) -> ScalarUDF {
    ScalarUDF::new_from_impl(FromJson {
        read_type,
        signature: Signature::string(2, Volatility::Immutable),
    })
}

impl FromJson {
    fn schema(&self, text: &str) -> Result<DataType> {
        // A column list (`a INT, b STRING`) is a struct's fields.
        (self.read_type)(text)
            .or_else(|first| (self.read_type)(&format!("STRUCT<{text}>")).map_err(|_| first))
            .map_err(|e| {
                FunctionError::new("22023", format!("from_json: invalid schema '{text}': {e}"))
            })
    }
}

impl ScalarUDFImpl for FromJson {
    fn name(&self) -> &str {
        "from_json"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Err(FunctionError::new(
            "XX000",
            "from_json's type comes from its schema argument".into(),
        ))
    }
    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let schema = match args.scalar_arguments.get(1) {
            Some(Some(
                ScalarValue::Utf8(Some(s))
                | ScalarValue::LargeUtf8(Some(s))
                | ScalarValue::Utf8View(Some(s)),
            )) => s.clone(),
            _ => {
                return Err(FunctionError::new(
                    "42804",
                    "from_json's schema must be a string literal, e.g. 'a INT, b STRING'".into(),
                ))
            }
        };
        Ok(Arc::new(Field::new(
            self.name(),
            self.schema(&schema)?,
            true,
        )))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let text = cast(&arrays[0], &DataType::Utf8)?;
        let target = args.return_field.data_type().clone();
        super::answer(read_json(text.as_string::<i32>(), &target)?, &args.args)
    }
}

/// Each text of `texts` read as `target`.
fn read_json(texts: &datafusion::arrow::array::StringArray, target: &DataType) -> Result<ArrayRef> {
    let schema = Arc::new(Schema::new(vec![Field::new("v", target.clone(), true)]));
    let is_struct = matches!(target, DataType::Struct(_));
    // One record per row: a row's text goes in only if it is one JSON value.
    let mut document = String::with_capacity(texts.len() * 32);
    for i in 0..texts.len() {
        document.push_str(&record(texts, i, is_struct));
        document.push('\n');
    }
    if let Ok(column) = decode(&schema, &document, texts.len()) {
        return Ok(column);
    }
    // Some row does not fit the schema: each row on its own.
    let mut rows = Vec::with_capacity(texts.len());
    for i in 0..texts.len() {
        let row = match decode(&schema, &record(texts, i, is_struct), 1) {
            Ok(row) => row,
            Err(_) => match (target, texts.is_valid(i)) {
                (DataType::Struct(fields), true) => field_by_field(fields, texts.value(i))?,
                _ => unreadable(&schema, target)?,
            },
        };
        rows.push(row);
    }
    let rows: Vec<&dyn Array> = rows.iter().map(|r| r.as_ref()).collect();
    if rows.is_empty() {
        return Ok(new_null_array(target, 0));
    }
    Ok(concat(&rows)?)
}

/// The record of row `i`: `{"v": text}`; for text that is not one JSON value a struct of
/// NULLs (`{"v": {}}`) or NULL; `{}` (NULL) for NULL.
fn record(texts: &datafusion::arrow::array::StringArray, i: usize, is_struct: bool) -> String {
    if texts.is_null(i) {
        return "{}".into();
    }
    let text = texts.value(i);
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(_) => format!("{{\"v\":{text}}}"),
        Err(_) if is_struct => "{\"v\":{}}".into(),
        Err(_) => "{}".into(),
    }
}

/// A JSON object read field by field: a field whose value does not fit its type is NULL, the
/// others keep their values (Spark's PERMISSIVE mode).
fn field_by_field(fields: &Fields, text: &str) -> Result<ArrayRef> {
    let object = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(object)) => object,
        _ => return unreadable_struct(fields),
    };
    let mut columns = Vec::with_capacity(fields.len());
    for field in fields.iter() {
        let one = Fields::from(vec![field.as_ref().clone()]);
        let schema = Arc::new(Schema::new(vec![Field::new(
            "v",
            DataType::Struct(one),
            true,
        )]));
        let value = object
            .get(field.name())
            .cloned()
            .unwrap_or(serde_json::Value::Null);
        let document = serde_json::json!({ "v": { field.name().as_str(): value } }).to_string();
        let column = match decode(&schema, &document, 1) {
            Ok(row) => row.as_struct().column(0).clone(),
            Err(_) => new_null_array(field.data_type(), 1),
        };
        columns.push(column);
    }
    Ok(Arc::new(StructArray::try_new(
        fields.clone(),
        columns,
        None,
    )?))
}

/// A struct of NULLs.
fn unreadable_struct(fields: &Fields) -> Result<ArrayRef> {
    let columns = fields
        .iter()
        .map(|f| new_null_array(f.data_type(), 1))
        .collect();
    Ok(Arc::new(StructArray::try_new(
        fields.clone(),
        columns,
        None,
    )?))
}

/// A row that cannot be read: a struct of NULLs, or NULL.
fn unreadable(schema: &Arc<Schema>, target: &DataType) -> Result<ArrayRef> {
    if matches!(target, DataType::Struct(_)) {
        if let Ok(row) = decode(schema, "{\"v\":{}}", 1) {
            return Ok(row);
        }
    }
    Ok(new_null_array(target, 1))
}

fn decode(schema: &Arc<Schema>, document: &str, rows: usize) -> Result<ArrayRef> {
    let mut decoder = ReaderBuilder::new(schema.clone())
        .with_batch_size(rows.max(1))
        .build_decoder()?;
    decoder.decode(document.as_bytes())?;
    let batch = decoder.flush()?;
    match batch {
        Some(batch) if batch.num_rows() == rows => Ok(batch.column(0).clone()),
        _ => Err(FunctionError::new(
            "22032",
            "from_json: the text did not read as one value per row".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::StringArray;
    use datafusion::arrow::datatypes::Fields;

    fn strings(values: &[Option<&str>]) -> StringArray {
        StringArray::from(values.to_vec())
    }

    #[test]
    fn reads_structs_and_tolerates_bad_rows() {
        let target = DataType::Struct(Fields::from(vec![
            Field::new("a", DataType::Int32, true),
            Field::new("b", DataType::Utf8, true),
        ]));
        let texts = strings(&[
            Some(r#"{"a": 1, "b": "x", "extra": true}"#),
            Some("not json"),
            None,
            Some(r#"{"a": "one", "b": "kept"}"#),
            Some(r#"1}, {"v": 2"#),
        ]);
        let out = read_json(&texts, &target).unwrap();
        let out = out.as_struct();
        assert_eq!(out.len(), 5);
        let a = out
            .column(0)
            .as_primitive::<datafusion::arrow::datatypes::Int32Type>();
        assert_eq!(a.value(0), 1);
        assert!(out.is_valid(1) && a.is_null(1));
        assert!(out.is_null(2));
        assert!(out.is_valid(3) && a.is_null(3));
        let b = out.column(1).as_string::<i32>();
        assert_eq!(b.value(3), "kept");
        assert!(out.is_valid(4) && a.is_null(4));
    }

    #[test]
    fn writes_structs_without_null_fields() {
        let target = DataType::Struct(Fields::from(vec![
            Field::new("a", DataType::Int32, true),
            Field::new("b", DataType::Utf8, true),
        ]));
        let texts = strings(&[Some(r#"{"a": 1}"#), Some(r#"{"a": 2, "b": "q\"r"}"#)]);
        let parsed = read_json(&texts, &target).unwrap();
        let json = json_text(&parsed, false).unwrap();
        let json = json.as_string::<i32>();
        assert_eq!(json.value(0), r#"{"a":1}"#);
        assert_eq!(json.value(1), r#"{"a":2,"b":"q\"r"}"#);
    }
}
