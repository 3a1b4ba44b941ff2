//! Delta tables: reading them (`scan`), their schema as the metastore records it (`schema`),
//! what a write is (`operation`) and the one commit path every write takes (`commit`).

pub(crate) mod commit;
pub(crate) mod operation;
pub(crate) mod scan;
pub(crate) mod schema;
