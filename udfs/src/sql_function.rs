//! SQL functions defined with `CREATE FUNCTION f(x T, ...) RETURNS R RETURN expr`: the body is
//! compiled once per query into a physical expression over the parameters and evaluated on the
//! argument arrays of each batch.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::RecordBatchOptions;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::physical_expr::PhysicalExpr;

#[derive(Debug)]
pub struct SqlFunction {
    name: String,
    params: SchemaRef,
    return_type: DataType,
    /// The body as SQL text: what tells two compiled functions apart.
    body_sql: String,
    body: Arc<dyn PhysicalExpr>,
    signature: Signature,
}

impl SqlFunction {
    /// `params` are the parameters in order (their names are what the body refers to); `body`
    /// must have been compiled against exactly that schema.
    pub fn new(
        name: &str,
        params: SchemaRef,
        return_type: DataType,
        body_sql: &str,
        body: Arc<dyn PhysicalExpr>,
    ) -> Self {
        let types = params
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        SqlFunction {
            name: name.to_string(),
            params,
            return_type,
            body_sql: body_sql.to_string(),
            body,
            // Volatile: the body may read the session (current_user(), is_member()).
            signature: Signature::exact(types, Volatility::Volatile),
        }
    }

    /// The schema a body is compiled against: one nullable column per parameter.
    pub fn parameter_schema(params: &[(String, DataType)]) -> SchemaRef {
        Arc::new(Schema::new(
            params
                .iter()
                .map(|(n, t)| Field::new(n, t.clone(), true))
                .collect::<Vec<_>>(),
        ))
    }
}

impl PartialEq for SqlFunction {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && self.params == other.params
            && self.return_type == other.return_type
            && self.body_sql == other.body_sql
    }
}

impl Eq for SqlFunction {}

impl Hash for SqlFunction {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.body_sql.hash(state);
    }
}

impl ScalarUDFImpl for SqlFunction {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(self.return_type.clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        if args.args.len() != self.params.fields().len() {
            return exec_err!(
                "function {} takes {} arguments, got {}",
                self.name,
                self.params.fields().len(),
                args.args.len()
            );
        }
        let mut columns = Vec::with_capacity(args.args.len());
        for (arg, field) in args.args.into_iter().zip(self.params.fields()) {
            let array = arg.into_array(rows)?;
            columns.push(if array.data_type() == field.data_type() {
                array
            } else {
                cast(&array, field.data_type())?
            });
        }
        let batch = RecordBatch::try_new_with_options(
            self.params.clone(),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )?;
        let out = self.body.evaluate(&batch)?.into_array(rows)?;
        let out = if out.data_type() == &self.return_type {
            out
        } else {
            cast(&out, &self.return_type)?
        };
        Ok(ColumnarValue::Array(out))
    }
}
