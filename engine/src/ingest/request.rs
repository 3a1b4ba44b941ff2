//! The arguments of `system.ingest.load`, checked: every bad value is refused (22023) before
//! anything is read.

use std::collections::BTreeMap;

use datafusion::common::ScalarValue;

use super::checks::{CheckName, Severity};
use super::route::FilePattern;
use super::source::option_error;
use super::stage::Format;
use crate::error::Result;

/// How the loaded rows meet a table's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoadMode {
    Append,
    Overwrite,
    Merge,
}

impl LoadMode {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            LoadMode::Append => "append",
            LoadMode::Overwrite => "overwrite",
            LoadMode::Merge => "merge",
        }
    }
}

/// A checked call.
#[derive(Debug)]
pub(crate) struct LoadRequest {
    pub source: String,
    pub pattern_text: String,
    pub pattern: FilePattern,
    pub catalog: String,
    pub schema: String,
    pub format: Option<Format>,
    pub mode: LoadMode,
    /// Each table's key columns.
    pub primary_keys: BTreeMap<String, Vec<String>>,
    pub order_by: Option<String>,
    pub add_columns: bool,
    pub expected_files: Option<i64>,
    pub max_null_ratio: Option<f64>,
    pub max_row_change: Option<f64>,
    pub severity: BTreeMap<CheckName, Severity>,
    pub header: bool,
    pub delimiter: u8,
    pub deduplicate: bool,
    pub force: bool,
    pub run_async: bool,
}

/// The arguments by parameter name, as the CALL bound and evaluated them.
pub(crate) struct Arguments(pub Vec<(&'static str, ScalarValue)>);

impl Arguments {
    fn get(&self, name: &str) -> &ScalarValue {
        static NULL: ScalarValue = ScalarValue::Null;
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
            .unwrap_or(&NULL)
    }

    fn text(&self, name: &str) -> Result<Option<String>> {
        match self.get(name) {
            ScalarValue::Utf8(v) | ScalarValue::LargeUtf8(v) | ScalarValue::Utf8View(v) => {
                Ok(v.clone())
            }
            ScalarValue::Null => Ok(None),
            other => Err(option_error(format!(
                "{name} must be a string, not {other}"
            ))),
        }
    }

    fn required(&self, name: &str) -> Result<String> {
        self.text(name)?
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| option_error(format!("{name} must be given")))
    }

    fn flag(&self, name: &str, default: bool) -> Result<bool> {
        match self.get(name) {
            ScalarValue::Boolean(Some(b)) => Ok(*b),
            ScalarValue::Boolean(None) | ScalarValue::Null => Ok(default),
            other => Err(option_error(format!(
                "{name} must be true or false, not {other}"
            ))),
        }
    }

    fn int(&self, name: &str) -> Result<Option<i64>> {
        let v = self.get(name);
        if v.is_null() {
            return Ok(None);
        }
        match v.cast_to(&arrow::datatypes::DataType::Int64) {
            Ok(ScalarValue::Int64(v)) => Ok(v),
            _ => Err(option_error(format!(
                "{name} must be a whole number, not {v}"
            ))),
        }
    }

    fn ratio(&self, name: &str) -> Result<Option<f64>> {
        let v = self.get(name);
        if v.is_null() {
            return Ok(None);
        }
        match v.cast_to(&arrow::datatypes::DataType::Float64) {
            Ok(ScalarValue::Float64(Some(f))) if f >= 0.0 && f.is_finite() => Ok(Some(f)),
            _ => Err(option_error(format!(
                "{name} must be a number of 0 or more, not {v}"
            ))),
        }
    }

    /// A `MAP<STRING, STRING>` argument's entries (keys lowercased).
    fn map(&self, name: &str) -> Result<Vec<(String, String)>> {
        use arrow::array::{Array, AsArray};
        match self.get(name) {
            ScalarValue::Null => Ok(Vec::new()),
            ScalarValue::Map(m) => {
                if m.is_empty() || m.is_null(0) {
                    return Ok(Vec::new());
                }
                let entries = m.value(0);
                let cast = |a: &arrow::array::ArrayRef| {
                    arrow::compute::cast(a, &arrow::datatypes::DataType::Utf8)
                        .map_err(|e| option_error(format!("{name}: {e}")))
                };
                let keys = cast(entries.column(0))?;
                let values = cast(entries.column(1))?;
                let (keys, values) = (keys.as_string::<i32>(), values.as_string::<i32>());
                let mut out = Vec::with_capacity(keys.len());
                for i in 0..keys.len() {
                    if values.is_null(i) {
                        return Err(option_error(format!(
                            "{name}: the value for '{}' is NULL",
                            keys.value(i)
                        )));
                    }
                    out.push((
                        keys.value(i).trim().to_lowercase(),
                        values.value(i).to_string(),
                    ));
                }
                Ok(out)
            }
            other => Err(option_error(format!(
                "{name} must be a map(key, value, ...), not {other}"
            ))),
        }
    }
}

/// A column name as the load names columns: trimmed, lowercased.
fn column_name(text: &str) -> String {
    text.trim().to_lowercase()
}

impl LoadRequest {
    pub(crate) fn of(args: &Arguments) -> Result<LoadRequest> {
        let source = args.required("source")?;
        let pattern_text = args.required("pattern")?;
        let pattern = FilePattern::parse(&pattern_text)?;
        let target = args.required("target_schema")?;
        let parts: Vec<&str> = target.split('.').map(str::trim).collect();
        let [catalog, schema] = parts.as_slice() else {
            return Err(option_error(format!(
                "target_schema must be 'catalog.schema', not '{target}'"
            )));
        };
        if catalog.is_empty() || schema.is_empty() {
            return Err(option_error(format!(
                "target_schema must be 'catalog.schema', not '{target}'"
            )));
        }
        let format = match args.text("format")?.map(|f| f.trim().to_lowercase()) {
            None => None,
            Some(f) if f == "csv" => Some(Format::Csv),
            Some(f) if f == "json" => Some(Format::Json),
            Some(f) if f == "parquet" => Some(Format::Parquet),
            Some(f) => {
                return Err(option_error(format!(
                    "format must be 'csv', 'json' or 'parquet', not '{f}'"
                )))
            }
        };
        let mode = match args
            .text("mode")?
            .map(|m| m.trim().to_lowercase())
            .as_deref()
        {
            None | Some("append") => LoadMode::Append,
            Some("overwrite") => LoadMode::Overwrite,
            Some("merge") => LoadMode::Merge,
            Some(other) => {
                return Err(option_error(format!(
                    "mode must be 'append', 'overwrite' or 'merge', not '{other}'"
                )))
            }
        };
        let mut primary_keys = BTreeMap::new();
        for (table, columns) in args.map("primary_keys")? {
            let cols: Vec<String> = columns
                .split(',')
                .map(column_name)
                .filter(|c| !c.is_empty())
                .collect();
            if cols.is_empty() {
                return Err(option_error(format!(
                    "primary_keys: table '{table}' names no column"
                )));
            }
            primary_keys.insert(table, cols);
        }
        let add_columns = match args
            .text("schema_evolution")?
            .map(|m| m.trim().to_lowercase())
            .as_deref()
        {
            None | Some("add_columns") => true,
            Some("none") => false,
            Some(other) => {
                return Err(option_error(format!(
                    "schema_evolution must be 'add_columns' or 'none', not '{other}'"
                )))
            }
        };
        let mut severity = BTreeMap::new();
        for (check, level) in args.map("severity")? {
            let name = CheckName::parse(&check).ok_or_else(|| {
                option_error(format!(
                    "severity: '{check}' is not a check ({})",
                    CheckName::ALL
                        .iter()
                        .map(|c| c.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
            let level = Severity::parse(&level).ok_or_else(|| {
                option_error(format!(
                    "severity of {check} must be 'error' or 'warning', not '{level}'"
                ))
            })?;
            severity.insert(name, level);
        }
        let delimiter = match args.text("delimiter")?.as_deref() {
            None => b',',
            Some("\\t") | Some("\t") => b'\t',
            Some(d) if d.len() == 1 && d.is_ascii() => d.as_bytes()[0],
            Some(d) => {
                return Err(option_error(format!(
                    "delimiter must be one character, not '{d}'"
                )))
            }
        };
        let max_null_ratio = args.ratio("max_null_ratio")?;
        if max_null_ratio.is_some_and(|r| r > 1.0) {
            return Err(option_error(
                "max_null_ratio must be between 0 and 1".to_string(),
            ));
        }
        let expected_files = args.int("expected_files")?;
        if expected_files.is_some_and(|n| n < 0) {
            return Err(option_error("expected_files must be 0 or more".to_string()));
        }
        Ok(LoadRequest {
            source,
            pattern_text,
            pattern,
            catalog: catalog.to_lowercase(),
            schema: schema.to_lowercase(),
            format,
            mode,
            primary_keys,
            order_by: args.text("order_by")?.map(|o| column_name(&o)),
            add_columns,
            expected_files,
            max_null_ratio,
            max_row_change: args.ratio("max_row_change")?,
            severity,
            header: args.flag("header", true)?,
            delimiter,
            deduplicate: args.flag("deduplicate", true)?,
            force: args.flag("force", false)?,
            run_async: args.flag("async", false)?,
        })
    }

    /// `catalog.schema`
    pub(crate) fn target(&self) -> String {
        format!("{}.{}", self.catalog, self.schema)
    }

    pub(crate) fn severity(&self, check: CheckName) -> Severity {
        self.severity
            .get(&check)
            .copied()
            .unwrap_or_else(|| check.default_severity())
    }
}
