//! Spark's regular-expression functions DataFusion lacks: `regexp_extract(str, regexp[, idx])`,
//! `regexp_extract_all(str, regexp[, idx])` and `split(str, regexp[, limit])`.
//!
//! Patterns are Rust `regex` syntax, which covers the Java syntax analysts use (classes,
//! groups, quantifiers, anchors); look-around and back-references are refused with 2201B
//! rather than matched differently. Reference:
//! <https://spark.apache.org/docs/latest/api/sql/index.html#regexp_extract>.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Int64Array, ListBuilder, StringArray, StringBuilder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::{plan_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use regex::Regex;

use super::is_string;
use crate::FunctionError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Extract,
    ExtractAll,
    Split,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct RegexpFunction {
    kind: Kind,
    signature: Signature,
}

fn udf(kind: Kind) -> ScalarUDF {
    ScalarUDF::new_from_impl(RegexpFunction {
        kind,
        signature: Signature::user_defined(Volatility::Immutable),
    })
}

pub fn regexp_extract() -> ScalarUDF {
    udf(Kind::Extract)
}

pub fn regexp_extract_all() -> ScalarUDF {
    udf(Kind::ExtractAll)
}

pub fn split() -> ScalarUDF {
    udf(Kind::Split)
}

fn string_list() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
}

/// Compiled patterns of one batch, by text.
#[derive(Default)]
struct Patterns(HashMap<String, Regex>);

impl Patterns {
    fn get(&mut self, pattern: &str) -> Result<&Regex> {
        if !self.0.contains_key(pattern) {
            let re = Regex::new(pattern).map_err(|e| {
                FunctionError::new(
                    "2201B",
                    format!("invalid regular expression '{pattern}': {e}"),
                )
            })?;
            self.0.insert(pattern.to_string(), re);
        }
        Ok(&self.0[pattern])
    }
}

fn group_index(re: &Regex, idx: i64) -> Result<usize> {
    let groups = re.captures_len() as i64 - 1;
    if idx < 0 || idx > groups {
        return Err(FunctionError::new(
            "22023",
            format!("the regular expression has {groups} groups, but the group index is {idx}"),
        ));
    }
    Ok(idx as usize)
}

impl ScalarUDFImpl for RegexpFunction {
    fn name(&self) -> &str {
        match self.kind {
            Kind::Extract => "regexp_extract",
            Kind::ExtractAll => "regexp_extract_all",
            Kind::Split => "split",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        if !(2..=3).contains(&args.len()) {
            return plan_err!("{} takes 2 or 3 arguments, got {}", self.name(), args.len());
        }
        if !is_string(&args[0]) || !is_string(&args[1]) {
            return plan_err!(
                "{} takes a string and a pattern, not {} and {}",
                self.name(),
                args[0],
                args[1]
            );
        }
        let mut types = vec![DataType::Utf8, DataType::Utf8];
        if let Some(third) = args.get(2) {
            if !(third.is_integer() || third.is_null()) {
                return plan_err!(
                    "{}: the third argument is an integer, not {third}",
                    self.name()
                );
            }
            types.push(DataType::Int64);
        }
        Ok(types)
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(match self.kind {
            Kind::Extract => DataType::Utf8,
            Kind::ExtractAll | Kind::Split => string_list(),
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let text = cast(&arrays[0], &DataType::Utf8)?;
        let text: &StringArray = text.as_string::<i32>();
        let pattern = cast(&arrays[1], &DataType::Utf8)?;
        let pattern: &StringArray = pattern.as_string::<i32>();
        let default_third = match self.kind {
            Kind::Split => -1,
            _ => 1,
        };
        let third: ArrayRef = match arrays.get(2) {
            Some(a) => cast(a, &DataType::Int64)?,
            None => Arc::new(Int64Array::from(vec![default_third; rows])),
        };
        let third: &Int64Array = third.as_primitive();
        let mut patterns = Patterns::default();
        let result: ArrayRef = match self.kind {
            Kind::Extract => {
                let mut out = StringBuilder::new();
                for i in 0..rows {
                    if text.is_null(i) || pattern.is_null(i) || third.is_null(i) {
                        out.append_null();
                        continue;
                    }
                    let re = patterns.get(pattern.value(i))?;
                    let idx = group_index(re, third.value(i))?;
                    // No match, or a group that took no part: the empty string, as Spark.
                    let found = re
                        .captures(text.value(i))
                        .and_then(|c| c.get(idx).map(|m| m.as_str().to_string()))
                        .unwrap_or_default();
                    out.append_value(found);
                }
                Arc::new(out.finish())
            }
            Kind::ExtractAll | Kind::Split => {
                let mut out = ListBuilder::new(StringBuilder::new());
                for i in 0..rows {
                    if text.is_null(i) || pattern.is_null(i) || third.is_null(i) {
                        out.append_null();
                        continue;
                    }
                    let re = patterns.get(pattern.value(i))?;
                    let s = text.value(i);
                    if self.kind == Kind::ExtractAll {
                        let idx = group_index(re, third.value(i))?;
                        for c in re.captures_iter(s) {
                            out.values()
                                .append_value(c.get(idx).map(|m| m.as_str()).unwrap_or(""));
                        }
                    } else {
                        // limit > 0: at most `limit` parts, the last holding the rest;
                        // otherwise every part, trailing empty ones included.
                        let limit = third.value(i);
                        if limit > 0 {
                            for part in re.splitn(s, limit as usize) {
                                out.values().append_value(part);
                            }
                        } else {
                            for part in re.split(s) {
                                out.values().append_value(part);
                            }
                        }
                    }
                    out.append(true);
                }
                Arc::new(out.finish())
            }
        };
        super::answer(result, &args.args)
    }
}
