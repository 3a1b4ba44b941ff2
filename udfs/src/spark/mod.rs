//! Spark SQL functions no library provides (or provides with other semantics), written to
//! Spark's documented behaviour, and adapters that give DataFusion's functions Spark's
//! argument conventions. `datafusion-spark` supplies the rest; the engine decides which set a
//! session's dialect uses.

use std::sync::Arc;

use datafusion::logical_expr::ScalarUDF;

mod coerced;
pub mod datetime_pattern;
mod element;
mod integral_divide;
mod regexp_replace;
mod type_of;

pub use coerced::CoercedArgs;
pub use datetime_pattern::SparkPatterns;
pub use element::subscript;
pub use type_of::{type_of, TypeNamer};

/// Functions Weir adds under names no DataFusion or PostgreSQL-client function uses:
/// the same in every dialect.
pub fn additions() -> Vec<Arc<ScalarUDF>> {
    vec![
        Arc::new(element::get()),
        Arc::new(element::try_element_at()),
        Arc::new(integral_divide::div()),
    ]
}

/// Weir's functions that replace a DataFusion function of the same name in Databricks SQL
/// (`element_at` is DataFusion's alias of `map_extract`, which answers a list;
/// `regexp_replace` replaces every match).
pub fn databricks_replacements() -> Vec<Arc<ScalarUDF>> {
    vec![
        Arc::new(element::element_at()),
        Arc::new(regexp_replace::regexp_replace()),
    ]
}
