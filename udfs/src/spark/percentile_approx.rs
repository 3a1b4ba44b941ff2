//! Spark's `percentile_approx(col, percentage[, accuracy])` (also `approx_percentile`): the
//! smallest value of `col` such that at least `percentage` of the values are less than or
//! equal to it — a value of the column, never an interpolation (DataFusion's
//! `approx_percentile_cont` interpolates: 2.5 where Spark answers 2). `percentage` may be an
//! array of fractions (an array of answers). Weir answers exactly, which is within any accuracy
//! Spark's `accuracy` asks for; the values of a group are held in memory to sort them.
//! Reference: <https://spark.apache.org/docs/latest/api/sql/index.html#percentile_approx>.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch, UInt64Array};
use datafusion::arrow::compute::{concat, filter, is_not_null, sort_to_indices, take};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Schema};
use datafusion::common::{plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, ColumnarValue, Signature, Volatility,
};
use datafusion::physical_expr::PhysicalExpr;

use crate::FunctionError;

#[derive(Debug, PartialEq, Eq, Hash)]
struct PercentileApprox {
    aliases: Vec<String>,
    signature: Signature,
}

pub fn percentile_approx() -> Arc<AggregateUDF> {
    Arc::new(AggregateUDF::new_from_impl(PercentileApprox {
        aliases: vec!["approx_percentile".to_string()],
        signature: Signature::user_defined(Volatility::Immutable),
    }))
}

fn orderable(t: &DataType) -> bool {
    t.is_numeric()
        || t.is_null()
        || matches!(
            t,
            DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _) | DataType::Interval(_)
        )
}

/// The fractions the second argument names: one, or a list.
fn fractions(expr: &Arc<dyn PhysicalExpr>) -> Result<(Vec<f64>, bool)> {
    let batch = RecordBatch::new_empty(Arc::new(Schema::empty()));
    let value = match expr.evaluate(&batch)? {
        ColumnarValue::Scalar(s) => s,
        ColumnarValue::Array(_) => {
            return plan_err!("percentile_approx: the percentage must be a constant")
        }
    };
    let invalid = |p: f64| {
        FunctionError::new(
            "22003",
            format!("percentile_approx: the percentage {p} is not between 0.0 and 1.0"),
        )
    };
    let check = |v: &ScalarValue| -> Result<f64> {
        match v.cast_to(&DataType::Float64)? {
            ScalarValue::Float64(Some(p)) if (0.0..=1.0).contains(&p) => Ok(p),
            ScalarValue::Float64(Some(p)) => Err(invalid(p)),
            _ => plan_err!("percentile_approx: the percentage cannot be NULL"),
        }
    };
    match &value {
        ScalarValue::List(list) => {
            let values = list.value(0);
            let mut out = Vec::with_capacity(values.len());
            for i in 0..values.len() {
                out.push(check(&ScalarValue::try_from_array(&values, i)?)?);
            }
            Ok((out, true))
        }
        other => Ok((vec![check(other)?], false)),
    }
}

impl AggregateUDFImpl for PercentileApprox {
    fn name(&self) -> &str {
        "percentile_approx"
    }
    fn aliases(&self) -> &[String] {
        &self.aliases
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        if !(2..=3).contains(&args.len()) {
            return plan_err!("percentile_approx takes (col, percentage[, accuracy])");
        }
        if !orderable(&args[0]) {
            return plan_err!(
                "percentile_approx takes a number, date or timestamp, not {}",
                args[0]
            );
        }
        let percentage = match &args[1] {
            DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(_, _) => {
                DataType::List(Arc::new(Field::new("item", DataType::Float64, true)))
            }
            t if t.is_numeric() => DataType::Float64,
            t => return plan_err!("percentile_approx: the percentage is a number, not {t}"),
        };
        let mut types = vec![args[0].clone(), percentage];
        if let Some(a) = args.get(2) {
            if !a.is_integer() {
                return plan_err!("percentile_approx: the accuracy is an integer, not {a}");
            }
            types.push(DataType::Int64);
        }
        Ok(types)
    }
    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(match &args[1] {
            DataType::List(_) => {
                DataType::List(Arc::new(Field::new("item", args[0].clone(), true)))
            }
            _ => args[0].clone(),
        })
    }
    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let value_type = args.input_fields[0].data_type().clone();
        Ok(vec![Arc::new(Field::new(
            format!("{}[values]", args.name),
            DataType::List(Arc::new(Field::new("item", value_type, true))),
            true,
        ))])
    }
    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let (fractions, many) = fractions(&args.exprs[1])?;
        if let Some(accuracy) = args.exprs.get(2) {
            let batch = RecordBatch::new_empty(Arc::new(Schema::empty()));
            if let ColumnarValue::Scalar(ScalarValue::Int64(Some(a))) = accuracy.evaluate(&batch)? {
                if a <= 0 {
                    return Err(FunctionError::new(
                        "22003",
                        format!("percentile_approx: the accuracy must be positive, not {a}"),
                    ));
                }
            }
        }
        Ok(Box::new(ValuesAccumulator {
            value_type: args.expr_fields[0].data_type().clone(),
            fractions,
            many,
            values: vec![],
        }))
    }
}

#[derive(Debug)]
struct ValuesAccumulator {
    value_type: DataType,
    fractions: Vec<f64>,
    many: bool,
    /// The non-NULL values seen, in batches.
    values: Vec<ArrayRef>,
}

impl ValuesAccumulator {
    fn all(&self) -> Result<ArrayRef> {
        if self.values.is_empty() {
            return Ok(datafusion::arrow::array::new_empty_array(&self.value_type));
        }
        let parts: Vec<&dyn Array> = self.values.iter().map(|a| a.as_ref()).collect();
        Ok(concat(&parts)?)
    }
}

impl Accumulator for ValuesAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let v = &values[0];
        let kept = filter(v, &is_not_null(v)?)?;
        if !kept.is_empty() {
            self.values.push(kept);
        }
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let lists = states[0].as_list::<i32>();
        for i in 0..lists.len() {
            if lists.is_valid(i) {
                let v = lists.value(i);
                if !v.is_empty() {
                    self.values.push(v);
                }
            }
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let all = self.all()?;
        self.values = vec![all.clone()];
        Ok(vec![ScalarValue::List(Arc::new(
            datafusion::common::utils::SingleRowListArrayBuilder::new(all)
                .with_nullable(true)
                .build_list_array(),
        ))])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let all = self.all()?;
        let n = all.len();
        let picks: Vec<Option<u64>> = self
            .fractions
            .iter()
            .map(|p| {
                (n > 0).then(|| {
                    let rank = ((p * n as f64).ceil() as usize).max(1);
                    (rank - 1) as u64
                })
            })
            .collect();
        let sorted = take(
            all.as_ref(),
            &sort_to_indices(all.as_ref(), None, None)?,
            None,
        )?;
        let chosen = take(sorted.as_ref(), &UInt64Array::from(picks), None)?;
        if self.many {
            Ok(ScalarValue::List(Arc::new(
                datafusion::common::utils::SingleRowListArrayBuilder::new(chosen)
                    .with_nullable(true)
                    .build_list_array(),
            )))
        } else {
            ScalarValue::try_from_array(&chosen, 0)
        }
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
            + self
                .values
                .iter()
                .map(|a| a.get_array_memory_size())
                .sum::<usize>()
    }
}
