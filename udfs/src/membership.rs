//! `is_member('g')` / `is_account_group_member('g')`: whether the session's user belongs to a
//! group, directly or through nested groups. Membership is looked up when the function runs, so a
//! change made with ALTER GROUP applies to the next statement.

use std::sync::Arc;

use datafusion::arrow::array::{Array, BooleanArray, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// Answers group membership for a user; implemented over the metastore by the engine.
pub trait Membership: Send + Sync + std::fmt::Debug {
    fn is_member(&self, user: &str, group: &str) -> Result<bool>;
}

#[derive(Debug)]
struct IsMember {
    name: &'static str,
    user: String,
    membership: Arc<dyn Membership>,
    signature: Signature,
}

impl PartialEq for IsMember {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.user == other.user
    }
}

impl Eq for IsMember {}

impl std::hash::Hash for IsMember {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.user.hash(state);
    }
}

impl ScalarUDFImpl for IsMember {
    fn name(&self) -> &str {
        self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let Some(arg) = args.args.into_iter().next() else {
            return datafusion::common::exec_err!("{} takes a group name", self.name);
        };
        match arg {
            ColumnarValue::Scalar(s) => {
                let group = match s {
                    ScalarValue::Utf8(g) | ScalarValue::LargeUtf8(g) | ScalarValue::Utf8View(g) => {
                        g
                    }
                    ScalarValue::Null => None,
                    other => Some(other.to_string()),
                };
                let v = match group {
                    Some(g) => Some(self.membership.is_member(&self.user, &g)?),
                    None => None,
                };
                Ok(ColumnarValue::Scalar(ScalarValue::Boolean(v)))
            }
            ColumnarValue::Array(a) => {
                let a = cast(&a, &DataType::Utf8)?;
                let groups = a.as_any().downcast_ref::<StringArray>().ok_or_else(|| {
                    datafusion::error::DataFusionError::Internal("group names".into())
                })?;
                let mut out = Vec::with_capacity(groups.len());
                for g in groups.iter() {
                    out.push(match g {
                        Some(g) => Some(self.membership.is_member(&self.user, g)?),
                        None => None,
                    });
                }
                Ok(ColumnarValue::Array(Arc::new(BooleanArray::from(out))))
            }
        }
    }
}

/// `is_member` and `is_account_group_member` for `user`.
pub fn membership_functions(user: &str, membership: Arc<dyn Membership>) -> Vec<Arc<ScalarUDF>> {
    ["is_member", "is_account_group_member"]
        .into_iter()
        .map(|name| {
            Arc::new(ScalarUDF::new_from_impl(IsMember {
                name,
                user: user.to_string(),
                membership: membership.clone(),
                signature: Signature::exact(vec![DataType::Utf8], Volatility::Volatile),
            }))
        })
        .collect()
}
