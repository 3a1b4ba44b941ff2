//! A function whose arguments are cast to fixed types first, as Spark's implicit casts do
//! (`date_add(d, 1)`: the literal is a BIGINT, the function takes an INT; `date_add('2024-01-31',
//! 1)`: the string is a DATE).

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{plan_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
};

/// The kinds of value an argument may be given as, and the type it is cast to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Arg {
    /// A date, a timestamp or a string, cast to DATE.
    Date,
    /// Any integer, cast to INT.
    Int,
}

impl Arg {
    fn target(&self) -> DataType {
        match self {
            Arg::Date => DataType::Date32,
            Arg::Int => DataType::Int32,
        }
    }

    fn accepts(&self, t: &DataType) -> bool {
        match self {
            Arg::Date => super::is_datetime(t),
            Arg::Int => t.is_null() || t.is_integer(),
        }
    }
}

#[derive(Debug)]
pub struct CoercedArgs {
    inner: Arc<ScalarUDF>,
    args: Vec<Arg>,
    signature: Signature,
    aliases: Vec<String>,
}

impl PartialEq for CoercedArgs {
    fn eq(&self, other: &Self) -> bool {
        self.inner == other.inner && self.args == other.args
    }
}
impl Eq for CoercedArgs {}
impl std::hash::Hash for CoercedArgs {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.inner.name().hash(state);
        self.args.hash(state);
    }
}

impl CoercedArgs {
    pub fn wrap(inner: Arc<ScalarUDF>, args: Vec<Arg>) -> ScalarUDF {
        let volatility = inner.signature().volatility;
        ScalarUDF::new_from_impl(CoercedArgs {
            aliases: inner.aliases().to_vec(),
            inner,
            args,
            signature: Signature::user_defined(volatility),
        })
    }

    /// `date_add` / `date_sub` style: (date, days).
    pub fn date_days(inner: Arc<ScalarUDF>) -> ScalarUDF {
        Self::wrap(inner, vec![Arg::Date, Arg::Int])
    }
}

impl ScalarUDFImpl for CoercedArgs {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn aliases(&self) -> &[String] {
        &self.aliases
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        if types.len() != self.args.len() {
            return plan_err!(
                "{} takes {} arguments, got {}",
                self.name(),
                self.args.len(),
                types.len()
            );
        }
        self.args
            .iter()
            .zip(types)
            .map(|(arg, t)| {
                if arg.accepts(t) {
                    Ok(arg.target())
                } else {
                    plan_err!(
                        "{} cannot take {t} where it expects {}",
                        self.name(),
                        arg.target()
                    )
                }
            })
            .collect()
    }
    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        self.inner.return_type(args)
    }
    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        self.inner.return_field_from_args(args)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        self.inner.invoke_with_args(args)
    }
    /// The wrapped function may plan itself as another expression (`add_months`).
    fn simplify(
        &self,
        args: Vec<datafusion::logical_expr::Expr>,
        info: &datafusion::logical_expr::simplify::SimplifyContext,
    ) -> Result<datafusion::logical_expr::simplify::ExprSimplifyResult> {
        self.inner.simplify(args, info)
    }
}
