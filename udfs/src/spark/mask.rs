//! Spark's `mask(str[, upperChar[, lowerChar[, digitChar[, otherChar]]]])`: upper-case letters
//! become `X`, lower-case `x`, digits `n`, other characters stay; each replacement may be
//! given, NULL keeps that class as it is
//! (https://spark.apache.org/docs/latest/api/sql/index.html#mask).

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, StringArray, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};

use crate::FunctionError;

#[derive(Debug, PartialEq, Eq, Hash)]
struct Mask {
    signature: Signature,
}

pub fn mask() -> ScalarUDF {
    ScalarUDF::new_from_impl(Mask {
        signature: Signature::one_of(
            (1..=5).map(TypeSignature::String).collect(),
            Volatility::Immutable,
        ),
    })
}

/// The replacement of one character class in row `row`: `None` keeps the class.
fn replacement(
    arg: Option<&StringArray>,
    row: usize,
    default: Option<char>,
) -> Result<Option<char>> {
    let Some(arg) = arg else {
        return Ok(default);
    };
    if arg.is_null(row) {
        return Ok(None);
    }
    let text = arg.value(row);
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Ok(Some(c)),
        _ => Err(FunctionError::new(
            "22023",
            format!("mask takes one character per replacement, found '{text}'"),
        )),
    }
}

impl ScalarUDFImpl for Mask {
    fn name(&self) -> &str {
        "mask"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?
            .iter()
            .map(|a| cast(a, &DataType::Utf8))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let strings: Vec<&StringArray> = arrays.iter().map(|a| a.as_string::<i32>()).collect();
        let input = strings[0];
        let mut out = StringBuilder::with_capacity(input.len(), input.value_data().len());
        for row in 0..input.len() {
            if input.is_null(row) {
                out.append_null();
                continue;
            }
            let upper = replacement(strings.get(1).copied(), row, Some('X'))?;
            let lower = replacement(strings.get(2).copied(), row, Some('x'))?;
            let digit = replacement(strings.get(3).copied(), row, Some('n'))?;
            let other = replacement(strings.get(4).copied(), row, None)?;
            let masked: String = input
                .value(row)
                .chars()
                .map(|c| {
                    let by = if c.is_uppercase() {
                        upper
                    } else if c.is_lowercase() {
                        lower
                    } else if c.is_ascii_digit() {
                        digit
                    } else {
                        other
                    };
                    by.unwrap_or(c)
                })
                .collect();
            out.append_value(masked);
        }
        super::answer(Arc::new(out.finish()), &args.args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::Field;
    use datafusion::common::ScalarValue;
    use datafusion::config::ConfigOptions;

    fn call(args: Vec<Option<&str>>) -> Option<String> {
        let args: Vec<ColumnarValue> = args
            .into_iter()
            .map(|a| ColumnarValue::Scalar(ScalarValue::Utf8(a.map(str::to_string))))
            .collect();
        let arg_fields = args
            .iter()
            .map(|_| Arc::new(Field::new("a", DataType::Utf8, true)))
            .collect();
        let out = mask()
            .invoke_with_args(ScalarFunctionArgs {
                args,
                arg_fields,
                number_rows: 1,
                return_field: Arc::new(Field::new("mask", DataType::Utf8, true)),
                config_options: Arc::new(ConfigOptions::default()),
            })
            .unwrap();
        match out {
            ColumnarValue::Scalar(ScalarValue::Utf8(v)) => v,
            other => panic!("unexpected {other:?}"),
        }
    }

    // The examples of Spark's reference.
    #[test]
    fn spark_examples() {
        assert_eq!(
            call(vec![Some("abcd-EFGH-8765-4321")]).as_deref(),
            Some("xxxx-XXXX-nnnn-nnnn")
        );
        assert_eq!(
            call(vec![Some("abcd-EFGH-8765-4321"), Some("Q")]).as_deref(),
            Some("xxxx-QQQQ-nnnn-nnnn")
        );
        assert_eq!(
            call(vec![
                Some("AbCD123-@$#"),
                Some("Q"),
                Some("q"),
                Some("d"),
                Some("o")
            ])
            .as_deref(),
            Some("QqQQdddoooo")
        );
        assert_eq!(
            call(vec![
                Some("AbCD123-@$#"),
                None,
                Some("q"),
                Some("d"),
                Some("o")
            ])
            .as_deref(),
            Some("AqCDdddoooo")
        );
        assert_eq!(
            call(vec![Some("AbCD123-@$#"), None, None, None, None]).as_deref(),
            Some("AbCD123-@$#")
        );
        assert_eq!(call(vec![None]), None);
    }
}
