//! Delta tables: reading them (`scan`), their schema as the metastore records it (`schema`), and
//! the one commit path every write takes (`commit`).

pub(crate) mod commit;
pub(crate) mod scan;
pub(crate) mod schema;
