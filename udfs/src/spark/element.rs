//! One element of an array, or a map's value for a key: Spark's `arr[i]` (0-based), `get`
//! (0-based, NULL out of range), `element_at` (1-based, negative counts from the end) and
//! `try_element_at` (as `element_at`, NULL instead of errors).
//!
//! Out of range, `arr[i]` and `element_at` raise errors as Databricks SQL does in ANSI mode
//! (`INVALID_ARRAY_INDEX`, SQLSTATE 22003); `element_at(arr, 0)` is always an error. A NULL
//! array or index gives NULL. On a map, `element_at(m, k)` and `m[k]` give the value for `k`
//! (NULL when absent).

use std::sync::Arc;

use crate::FunctionError;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Array, UInt64Array};
use datafusion::arrow::compute::{cast, take};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{exec_err, plan_err, DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

/// How an index is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Indexing {
    /// The index of the first element: 0 or 1.
    pub base: i64,
    /// A negative index counts from the end (`-1` is the last element).
    pub from_end: bool,
    /// Out of range is an error (else NULL).
    pub strict: bool,
}

/// `name(array_or_map, index_or_key)`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ElementAt {
    name: &'static str,
    indexing: Indexing,
    signature: Signature,
}

impl ElementAt {
    pub fn new(name: &'static str, indexing: Indexing) -> Self {
        ElementAt {
            name,
            indexing,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

/// `arr[i]` in Databricks SQL.
pub fn subscript() -> ScalarUDF {
    ScalarUDF::new_from_impl(ElementAt::new(
        "subscript",
        Indexing {
            base: 0,
            from_end: false,
            strict: true,
        },
    ))
}

pub fn get() -> ScalarUDF {
    ScalarUDF::new_from_impl(ElementAt::new(
        "get",
        Indexing {
            base: 0,
            from_end: false,
            strict: false,
        },
    ))
}

pub fn element_at() -> ScalarUDF {
    ScalarUDF::new_from_impl(ElementAt::new(
        "element_at",
        Indexing {
            base: 1,
            from_end: true,
            strict: true,
        },
    ))
}

pub fn try_element_at() -> ScalarUDF {
    ScalarUDF::new_from_impl(ElementAt::new(
        "try_element_at",
        Indexing {
            base: 1,
            from_end: true,
            strict: false,
        },
    ))
}

fn element_field(container: &DataType) -> Option<FieldRef> {
    match container {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            Some(f.clone())
        }
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(fields) if fields.len() == 2 => Some(fields[1].clone()),
            _ => None,
        },
        _ => None,
    }
}

impl ScalarUDFImpl for ElementAt {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let [container, index] = args else {
            return plan_err!("{} takes 2 arguments, got {}", self.name, args.len());
        };
        match container {
            DataType::List(_) | DataType::LargeList(_) | DataType::Null => {
                if index.is_integer() || index.is_null() {
                    Ok(vec![container.clone(), DataType::Int64])
                } else {
                    plan_err!("{} needs an integer index, not {index}", self.name)
                }
            }
            DataType::FixedSizeList(f, _) => Ok(vec![DataType::List(f.clone()), DataType::Int64]),
            DataType::Map(entries, _) if self.indexing.base == 1 || self.name == "subscript" => {
                let key = match entries.data_type() {
                    DataType::Struct(fields) if fields.len() == 2 => fields[0].data_type().clone(),
                    other => return plan_err!("unexpected map entries {other}"),
                };
                Ok(vec![container.clone(), key])
            }
            other => plan_err!(
                "{} takes an array{}, not {other}",
                self.name,
                if self.indexing.base == 1 {
                    " or a map"
                } else {
                    ""
                }
            ),
        }
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Err(DataFusionError::Internal(
            "return_field_from_args is used".into(),
        ))
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let container = args.arg_fields[0].data_type();
        let data_type = match container {
            DataType::Null => DataType::Null,
            other => match element_field(other) {
                Some(f) => f.data_type().clone(),
                None => return plan_err!("{} takes an array, not {other}", self.name),
            },
        };
        Ok(Arc::new(Field::new(self.name, data_type, true)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let return_type = args.return_field.data_type().clone();
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let (container, index) = (&arrays[0], &arrays[1]);
        let result = match container.data_type() {
            DataType::Null => Ok(datafusion::arrow::array::new_null_array(&return_type, rows)),
            DataType::List(_) => {
                let list = container.as_list::<i32>();
                let offsets: Vec<(i64, i64)> = (0..list.len())
                    .map(|r| {
                        let o = list.value_offsets();
                        (o[r] as i64, (o[r + 1] - o[r]) as i64)
                    })
                    .collect();
                self.pick(list.values(), list.nulls(), &offsets, index)
            }
            DataType::LargeList(_) => {
                let list = container.as_list::<i64>();
                let offsets: Vec<(i64, i64)> = (0..list.len())
                    .map(|r| {
                        let o = list.value_offsets();
                        (o[r], o[r + 1] - o[r])
                    })
                    .collect();
                self.pick(list.values(), list.nulls(), &offsets, index)
            }
            DataType::Map(_, _) => map_value(container, index),
            other => exec_err!("{} takes an array, not {other}", self.name),
        }?;
        super::answer(result, &args.args)
    }
}

impl ElementAt {
    /// Takes, per row, the element the index names from `values`, rows given as (start, len).
    fn pick(
        &self,
        values: &ArrayRef,
        nulls: Option<&datafusion::arrow::buffer::NullBuffer>,
        rows: &[(i64, i64)],
        index: &ArrayRef,
    ) -> Result<ArrayRef> {
        let index = cast(index, &DataType::Int64)?;
        let index: &Int64Array = index.as_primitive();
        let mut picks = Vec::with_capacity(rows.len());
        for (r, &(start, len)) in rows.iter().enumerate() {
            let row_null = nulls.map(|n| n.is_null(r)).unwrap_or(false);
            let i = index.len().checked_sub(1).map(|last| r.min(last));
            let i = match i {
                Some(i) if !row_null && index.is_valid(i) => index.value(i),
                _ => {
                    picks.push(None);
                    continue;
                }
            };
            if self.indexing.base == 1 && i == 0 {
                return Err(FunctionError::new(
                    "22003",
                    format!("{}: SQL array indices start at 1 (index 0)", self.name),
                ));
            }
            let position = if i < 0 && self.indexing.from_end {
                len + i
            } else {
                i - self.indexing.base
            };
            if (0..len).contains(&position) {
                picks.push(Some((start + position) as u64));
            } else if self.indexing.strict {
                return Err(FunctionError::new(
                    "22003",
                    format!(
                        "{}: the index {i} is out of bounds: the array has {len} elements \
                         (use try_element_at or get to get NULL instead)",
                        self.name
                    ),
                ));
            } else {
                picks.push(None);
            }
        }
        Ok(take(values.as_ref(), &UInt64Array::from(picks), None)?)
    }
}

/// The value of each row's map for its key (NULL when absent), through DataFusion's
/// `map_extract`, which answers a list of the matches.
fn map_value(map: &ArrayRef, key: &ArrayRef) -> Result<ArrayRef> {
    let extract = datafusion::functions_nested::map_extract::map_extract_udf();
    let fields = [
        Arc::new(Field::new("map", map.data_type().clone(), true)),
        Arc::new(Field::new("key", key.data_type().clone(), true)),
    ];
    let return_field = extract.return_field_from_args(ReturnFieldArgs {
        arg_fields: &fields,
        scalar_arguments: &[None, None],
    })?;
    let found = extract.invoke_with_args(ScalarFunctionArgs {
        args: vec![
            ColumnarValue::Array(map.clone()),
            ColumnarValue::Array(key.clone()),
        ],
        arg_fields: fields.to_vec(),
        number_rows: map.len(),
        return_field,
        config_options: Arc::default(),
    })?;
    let found = found.into_array(map.len())?;
    let first = ElementAt::new(
        "element_at",
        Indexing {
            base: 1,
            from_end: false,
            strict: false,
        },
    );
    let ones: ArrayRef = Arc::new(Int64Array::from(vec![1; map.len()]));
    match found.data_type() {
        DataType::List(_) => {
            let list = found.as_list::<i32>();
            let o = list.value_offsets();
            let rows: Vec<(i64, i64)> = (0..list.len())
                .map(|r| (o[r] as i64, (o[r + 1] - o[r]) as i64))
                .collect();
            first.pick(list.values(), list.nulls(), &rows, &ones)
        }
        other => exec_err!("map_extract answered {other}"),
    }
}
