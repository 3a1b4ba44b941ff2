//! `sum` whose BIGINT total raises 22003 when it leaves BIGINT's range, as Databricks SQL's
//! ANSI mode does (and PostgreSQL, whose `sum(bigint)` is NUMERIC, never answers a wrapped
//! total). DataFusion's `sum` wraps. Every other type is DataFusion's own; the BIGINT
//! accumulators are DataFusion's grouped one with a checked addition, a plain one for windows
//! and ungrouped sums, and one over the distinct values for `sum(DISTINCT ...)`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, BooleanArray};
use datafusion::arrow::datatypes::{DataType, FieldRef, Int64Type};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::AggregateOrderSensitivity;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Documentation, EmitTo, GroupsAccumulator,
    ReversedUDAF, SetMonotonicity, Signature,
};
use datafusion_functions_aggregate_common::aggregate::groups_accumulator::prim_op::PrimitiveGroupsAccumulator;

use crate::FunctionError;

fn overflow() -> datafusion::error::DataFusionError {
    FunctionError::new("22003", "sum is out of range for type BIGINT".into())
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct CheckedSum {
    inner: AggregateUDF,
}

/// DataFusion's `sum` (`inner`) with checked BIGINT totals.
pub fn checked_sum(inner: &AggregateUDF) -> AggregateUDF {
    AggregateUDF::new_from_impl(CheckedSum {
        inner: inner.clone(),
    })
}

fn is_checked(args: &AccumulatorArgs) -> bool {
    !args.is_distinct && args.return_field.data_type() == &DataType::Int64
}

fn is_checked_distinct(args: &AccumulatorArgs) -> bool {
    args.is_distinct && args.return_field.data_type() == &DataType::Int64
}

impl AggregateUDFImpl for CheckedSum {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }
    fn signature(&self) -> &Signature {
        self.inner.signature()
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.coerce_types(arg_types)
    }
    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.return_type(arg_types)
    }
    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        if is_checked(&args) {
            Ok(Box::new(CheckedSumAccumulator::default()))
        } else if is_checked_distinct(&args) {
            Ok(Box::new(CheckedDistinctSum::default()))
        } else {
            self.inner.accumulator(args)
        }
    }
    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        self.inner.state_fields(args)
    }
    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        self.inner.groups_accumulator_supported(args)
    }
    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        if !is_checked(&args) {
            return self.inner.create_groups_accumulator(args);
        }
        let overflowed = Arc::new(AtomicBool::new(false));
        let flag = overflowed.clone();
        let sums =
            PrimitiveGroupsAccumulator::<Int64Type, _>::new(&DataType::Int64, move |x, y| match x
                .checked_add(y)
            {
                Some(sum) => *x = sum,
                None => flag.store(true, Ordering::Relaxed),
            });
        Ok(Box::new(CheckedGroups { sums, overflowed }))
    }
    fn create_sliding_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        if is_checked(&args) {
            Ok(Box::new(CheckedSumAccumulator::default()))
        } else {
            self.inner.create_sliding_accumulator(args)
        }
    }
    fn reverse_expr(&self) -> ReversedUDAF {
        self.inner.inner().reverse_expr()
    }
    fn order_sensitivity(&self) -> AggregateOrderSensitivity {
        self.inner.inner().order_sensitivity()
    }
    fn is_nullable(&self) -> bool {
        self.inner.is_nullable()
    }
    fn default_value(&self, data_type: &DataType) -> Result<ScalarValue> {
        self.inner.default_value(data_type)
    }
    fn set_monotonicity(&self, data_type: &DataType) -> SetMonotonicity {
        self.inner.inner().set_monotonicity(data_type)
    }
    fn documentation(&self) -> Option<&Documentation> {
        self.inner.documentation()
    }
}

/// DataFusion's grouped sums, failing once an addition overflowed.
struct CheckedGroups<F>
where
    F: Fn(&mut i64, i64) + Send + Sync + 'static,
{
    sums: PrimitiveGroupsAccumulator<Int64Type, F>,
    overflowed: Arc<AtomicBool>,
}

impl<F> CheckedGroups<F>
where
    F: Fn(&mut i64, i64) + Send + Sync + 'static,
{
    fn checked(&self) -> Result<()> {
        if self.overflowed.load(Ordering::Relaxed) {
            Err(overflow())
        } else {
            Ok(())
        }
    }
}

impl<F> GroupsAccumulator for CheckedGroups<F>
where
    F: Fn(&mut i64, i64) + Send + Sync + 'static,
{
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.sums
            .update_batch(values, group_indices, opt_filter, total_num_groups)?;
        self.checked()
    }
    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.sums
            .merge_batch(values, group_indices, total_num_groups)?;
        self.checked()
    }
    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        self.checked()?;
        self.sums.evaluate(emit_to)
    }
    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        self.checked()?;
        self.sums.state(emit_to)
    }
    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        self.sums.convert_to_state(values, opt_filter)
    }
    fn size(&self) -> usize {
        self.sums.size()
    }
}

/// One checked BIGINT sum (ungrouped, or a window frame: values leave it again).
#[derive(Debug, Default)]
struct CheckedSumAccumulator {
    sum: i64,
    count: u64,
}

impl CheckedSumAccumulator {
    fn add_all(&mut self, values: &ArrayRef, sign: i64) -> Result<()> {
        let values = values.as_primitive::<Int64Type>();
        for v in values.iter().flatten() {
            let next = if sign > 0 {
                self.sum.checked_add(v)
            } else {
                self.sum.checked_sub(v)
            };
            self.sum = next.ok_or_else(overflow)?;
            if sign > 0 {
                self.count += 1;
            } else {
                self.count = self.count.saturating_sub(1);
            }
        }
        Ok(())
    }
}

impl Accumulator for CheckedSumAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.add_all(&values[0], 1)
    }
    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.add_all(&values[0], -1)
    }
    fn supports_retract_batch(&self) -> bool {
        true
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.add_all(&states[0], 1)
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.evaluate()?])
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Int64((self.count > 0).then_some(self.sum)))
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self)
    }
}

/// `sum(DISTINCT ...)` of BIGINTs: the distinct values, added up checked at the end.
#[derive(Debug, Default)]
struct CheckedDistinctSum {
    values: std::collections::HashSet<i64>,
}

impl Accumulator for CheckedDistinctSum {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.values
            .extend(values[0].as_primitive::<Int64Type>().iter().flatten());
        Ok(())
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        for list in states[0].as_list::<i32>().iter().flatten() {
            self.values
                .extend(list.as_primitive::<Int64Type>().iter().flatten());
        }
        Ok(())
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let values: Vec<ScalarValue> = self
            .values
            .iter()
            .map(|v| ScalarValue::Int64(Some(*v)))
            .collect();
        Ok(vec![ScalarValue::List(ScalarValue::new_list_nullable(
            &values,
            &DataType::Int64,
        ))])
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        if self.values.is_empty() {
            return Ok(ScalarValue::Int64(None));
        }
        let mut sum: i64 = 0;
        for v in &self.values {
            sum = sum.checked_add(*v).ok_or_else(overflow)?;
        }
        Ok(ScalarValue::Int64(Some(sum)))
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.values.capacity() * std::mem::size_of::<i64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int64Array;

    #[test]
    fn overflow_is_an_error_and_retract_undoes() {
        let mut acc = CheckedSumAccumulator::default();
        let values: ArrayRef = Arc::new(Int64Array::from(vec![Some(i64::MAX), None]));
        acc.update_batch(&[values]).unwrap();
        let one: ArrayRef = Arc::new(Int64Array::from(vec![1]));
        let err = acc.update_batch(&[one.clone()]).unwrap_err();
        assert!(err.to_string().contains("out of range"));
        let mut acc = CheckedSumAccumulator::default();
        acc.update_batch(&[one.clone()]).unwrap();
        acc.retract_batch(&[one]).unwrap();
        assert_eq!(acc.evaluate().unwrap(), ScalarValue::Int64(None));
    }
}
