//! Spark's datetime patterns (`yyyy-MM-dd HH:mm:ss`, the letters of Java's
//! `DateTimeFormatter` as Spark documents them) for DataFusion's chrono-based functions:
//! [`to_chrono`] translates a pattern, and [`SparkPatterns`] wraps a function (`date_format`,
//! `to_date`, `to_timestamp`, `unix_timestamp`) so that its pattern arguments are Spark's.
//!
//! Reference: <https://spark.apache.org/docs/latest/sql-ref-datetime-pattern.html>.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray};
use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
};

use crate::FunctionError;

/// The chrono format string for a Spark datetime pattern; an unknown or unsupported letter is
/// an error (22007), never passed on as text.
pub fn to_chrono(pattern: &str) -> Result<String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // Quoted text; '' is a quote.
            if chars.get(i + 1) == Some(&'\'') {
                out.push('\'');
                i += 2;
                continue;
            }
            i += 1;
            loop {
                match chars.get(i) {
                    None => {
                        return Err(FunctionError::new(
                            "22007",
                            format!("unterminated quoted text in datetime pattern '{pattern}'"),
                        ))
                    }
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        out.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some('%') => {
                        out.push_str("%%");
                        i += 1;
                    }
                    Some(&ch) => {
                        out.push(ch);
                        i += 1;
                    }
                }
            }
            continue;
        }
        if !c.is_ascii_alphabetic() {
            if c == '%' {
                out.push_str("%%");
            } else {
                out.push(c);
            }
            i += 1;
            continue;
        }
        let mut n = 1;
        while chars.get(i + n) == Some(&c) {
            n += 1;
        }
        let unsupported = || {
            FunctionError::new(
                "22007",
                format!(
                    "datetime pattern '{pattern}': '{}' is not a supported pattern",
                    c.to_string().repeat(n)
                ),
            )
        };
        let spec = match (c, n) {
            ('y' | 'u', 2) => "%y".to_string(),
            ('y' | 'u', _) => "%Y".to_string(),
            ('M' | 'L', 1) => "%-m".to_string(),
            ('M' | 'L', 2) => "%m".to_string(),
            ('M' | 'L', 3) => "%b".to_string(),
            ('M' | 'L', 4) => "%B".to_string(),
            ('d', 1) => "%-d".to_string(),
            ('d', 2) => "%d".to_string(),
            ('D', 1) => "%-j".to_string(),
            ('D', 3) => "%j".to_string(),
            ('H', 1) => "%-H".to_string(),
            ('H', 2) => "%H".to_string(),
            ('h', 1) => "%-I".to_string(),
            ('h', 2) => "%I".to_string(),
            ('m', 1) => "%-M".to_string(),
            ('m', 2) => "%M".to_string(),
            ('s', 1) => "%-S".to_string(),
            ('s', 2) => "%S".to_string(),
            ('S', 1..=9) => format!("%{n}f"),
            ('a', 1) => "%p".to_string(),
            ('E', 1..=3) => "%a".to_string(),
            ('E', 4) => "%A".to_string(),
            ('Z', 1..=3) | ('x', 2) => "%z".to_string(),
            ('X' | 'x', 3) | ('Z', 5) => "%:z".to_string(),
            ('z', 1..=3) => "%Z".to_string(),
            _ => return Err(unsupported()),
        };
        out.push_str(&spec);
        i += n;
    }
    Ok(out)
}

/// A function whose arguments after the first are Spark datetime patterns, translated before
/// the wrapped function (which reads chrono formats) runs.
#[derive(Debug)]
pub struct SparkPatterns {
    inner: Arc<ScalarUDF>,
    name: String,
    aliases: Vec<String>,
}

impl PartialEq for SparkPatterns {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.inner == other.inner
    }
}
impl Eq for SparkPatterns {}
impl std::hash::Hash for SparkPatterns {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl SparkPatterns {
    /// `inner` under its own names, reading Spark's patterns.
    pub fn wrap(inner: Arc<ScalarUDF>) -> ScalarUDF {
        ScalarUDF::new_from_impl(SparkPatterns {
            name: inner.name().to_string(),
            aliases: inner.aliases().to_vec(),
            inner,
        })
    }

    /// `inner` as the function `name` (Spark's name for it), reading Spark's patterns.
    pub fn named(name: &str, inner: Arc<ScalarUDF>) -> ScalarUDF {
        ScalarUDF::new_from_impl(SparkPatterns {
            name: name.to_string(),
            aliases: vec![],
            inner,
        })
    }
}

fn translate(value: &ColumnarValue) -> Result<ColumnarValue> {
    Ok(match value {
        ColumnarValue::Scalar(
            ScalarValue::Utf8(Some(p))
            | ScalarValue::LargeUtf8(Some(p))
            | ScalarValue::Utf8View(Some(p)),
        ) => ColumnarValue::Scalar(ScalarValue::Utf8(Some(to_chrono(p)?))),
        ColumnarValue::Array(a)
            if matches!(
                a.data_type(),
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            ) =>
        {
            let strings = datafusion::arrow::compute::cast(a, &DataType::Utf8)?;
            let strings = strings.as_string::<i32>();
            let translated: StringArray = strings
                .iter()
                .map(|p| p.map(to_chrono).transpose())
                .collect::<Result<_>>()?;
            let translated: ArrayRef = Arc::new(translated);
            ColumnarValue::Array(datafusion::arrow::compute::cast(
                &translated,
                a.data_type(),
            )?)
        }
        other => other.clone(),
    })
}

impl ScalarUDFImpl for SparkPatterns {
    fn name(&self) -> &str {
        &self.name
    }
    fn aliases(&self) -> &[String] {
        &self.aliases
    }
    fn signature(&self) -> &Signature {
        self.inner.signature()
    }
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.coerce_types(args)
    }
    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        self.inner.return_type(args)
    }
    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        self.inner.return_field_from_args(args)
    }
    fn invoke_with_args(&self, mut args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        for value in args.args.iter_mut().skip(1) {
            *value = translate(value)?;
        }
        self.inner.invoke_with_args(args)
    }
}

#[cfg(test)]
mod tests {
    use super::to_chrono;

    #[test]
    fn translates_spark_patterns() {
        assert_eq!(to_chrono("yyyy/MM/dd").unwrap(), "%Y/%m/%d");
        assert_eq!(
            to_chrono("dd/MM/yyyy HH:mm:ss").unwrap(),
            "%d/%m/%Y %H:%M:%S"
        );
        assert_eq!(
            to_chrono("yyyy-MM-dd'T'HH:mm:ss.SSS").unwrap(),
            "%Y-%m-%dT%H:%M:%S.%3f"
        );
        assert_eq!(to_chrono("MMM d, yyyy h a").unwrap(), "%b %-d, %Y %-I %p");
        assert_eq!(
            to_chrono("EEEE 'o''clock' 100%").unwrap(),
            "%A o'clock 100%%"
        );
        assert!(to_chrono("yyyy-ww").is_err());
        assert!(to_chrono("'open").is_err());
    }
}
