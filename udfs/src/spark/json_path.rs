//! Spark's `get_json_object(json, path)`: the value at a JSONPath in a JSON text, as text.
//! Paths: `$`, `.name`, `['name']`, `[n]`, `[*]` (every element, answered as a JSON array).
//! A string value comes without its quotes, objects and arrays as compact JSON, a JSON null
//! or a missing value as NULL; JSON that does not parse and paths that do not parse give NULL,
//! as Spark answers. Objects keep their keys' order (serde_json's `preserve_order`). Reference:
//! <https://spark.apache.org/docs/latest/api/sql/index.html#get_json_object>.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{plan_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use serde_json::Value;

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
    Every,
}

/// The steps of a path, or `None` when it does not parse.
fn parse_path(path: &str) -> Option<Vec<Step>> {
    let rest = path.strip_prefix('$')?;
    let chars: Vec<char> = rest.chars().collect();
    let mut steps = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '.' => {
                let start = i + 1;
                let mut end = start;
                while end < chars.len() && chars[end] != '.' && chars[end] != '[' {
                    end += 1;
                }
                let key: String = chars[start..end].iter().collect();
                if key.is_empty() {
                    return None;
                }
                steps.push(if key == "*" {
                    Step::Every
                } else {
                    Step::Key(key)
                });
                i = end;
            }
            '[' => {
                let close = chars[i..].iter().position(|c| *c == ']')? + i;
                let inner: String = chars[i + 1..close].iter().collect();
                let inner = inner.trim();
                if inner == "*" {
                    steps.push(Step::Every);
                } else if let Some(q) = inner.strip_prefix('\'').and_then(|s| s.strip_suffix('\''))
                {
                    steps.push(Step::Key(q.to_string()));
                } else {
                    steps.push(Step::Index(inner.parse().ok()?));
                }
                i = close + 1;
            }
            _ => return None,
        }
    }
    Some(steps)
}

/// The values `steps` reach from `value`; `many` when a wildcard was crossed.
fn select<'a>(value: &'a Value, steps: &[Step], out: &mut Vec<&'a Value>, many: &mut bool) {
    let Some((step, rest)) = steps.split_first() else {
        out.push(value);
        return;
    };
    match (step, value) {
        (Step::Key(k), Value::Object(map)) => {
            if let Some(v) = map.get(k) {
                select(v, rest, out, many);
            }
        }
        (Step::Key(k), Value::Array(items)) if *many => {
            // After a wildcard, a key applies to each element.
            for item in items {
                if let Value::Object(map) = item {
                    if let Some(v) = map.get(k) {
                        select(v, rest, out, many);
                    }
                }
            }
        }
        (Step::Index(n), Value::Array(items)) => {
            if let Some(v) = items.get(*n) {
                select(v, rest, out, many);
            }
        }
        (Step::Every, Value::Array(items)) => {
            *many = true;
            for item in items {
                select(item, rest, out, many);
            }
        }
        _ => {}
    }
}

fn as_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// The answer of `get_json_object(json, path)`.
fn get_json_object_value(json: &str, path: &[Step]) -> Option<String> {
    let value: Value = serde_json::from_str(json).ok()?;
    let mut found = Vec::new();
    let mut many = false;
    select(&value, path, &mut found, &mut many);
    if many {
        match found.len() {
            0 => None,
            1 => as_text(found[0]),
            _ => Some(Value::Array(found.into_iter().cloned().collect()).to_string()),
        }
    } else {
        found.first().and_then(|v| as_text(v))
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct GetJsonObject {
    signature: Signature,
}

pub fn get_json_object() -> ScalarUDF {
    ScalarUDF::new_from_impl(GetJsonObject {
        signature: Signature::user_defined(Volatility::Immutable),
    })
}

impl ScalarUDFImpl for GetJsonObject {
    fn name(&self) -> &str {
        "get_json_object"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [a, b] if super::is_string(a) && super::is_string(b) => {
                Ok(vec![DataType::Utf8, DataType::Utf8])
            }
            _ => plan_err!("get_json_object takes (json STRING, path STRING)"),
        }
    }
    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let json = cast(&arrays[0], &DataType::Utf8)?;
        let json: &StringArray = json.as_string::<i32>();
        let path = cast(&arrays[1], &DataType::Utf8)?;
        let path: &StringArray = path.as_string::<i32>();
        let mut paths: HashMap<String, Option<Vec<Step>>> = HashMap::new();
        let mut out = StringBuilder::new();
        for i in 0..json.len() {
            if json.is_null(i) || path.is_null(i) {
                out.append_null();
                continue;
            }
            let steps = paths
                .entry(path.value(i).to_string())
                .or_insert_with_key(|p| parse_path(p.trim()));
            match steps
                .as_ref()
                .and_then(|s| get_json_object_value(json.value(i), s))
            {
                Some(v) => out.append_value(v),
                None => out.append_null(),
            }
        }
        let result: ArrayRef = Arc::new(out.finish());
        super::answer(result, &args.args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(json: &str, path: &str) -> Option<String> {
        get_json_object_value(json, &parse_path(path)?)
    }

    #[test]
    fn answers_as_spark() {
        // Spark's reference example.
        assert_eq!(get(r#"{"a":"b"}"#, "$.a").as_deref(), Some("b"));
        let doc = r#"{"store":{"fruit":[{"weight":8,"type":"apple"},{"weight":9,"type":"pear"}],"owner":"amy","open":true,"none":null}}"#;
        assert_eq!(get(doc, "$.store.owner").as_deref(), Some("amy"));
        assert_eq!(get(doc, "$.store.open").as_deref(), Some("true"));
        assert_eq!(get(doc, "$.store.none"), None);
        assert_eq!(get(doc, "$.store.fruit[1].type").as_deref(), Some("pear"));
        assert_eq!(get(doc, "$['store']['owner']").as_deref(), Some("amy"));
        assert_eq!(
            get(doc, "$.store.fruit[*].weight").as_deref(),
            Some("[8,9]")
        );
        assert_eq!(
            get(doc, "$.store.fruit[0]").as_deref(),
            Some(r#"{"weight":8,"type":"apple"}"#)
        );
        assert_eq!(get(doc, "$.store.missing"), None);
        assert_eq!(get("not json", "$.a"), None);
        assert_eq!(get(doc, "store.owner"), None);
    }
}
