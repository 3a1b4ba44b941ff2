//! `information_schema` of each catalog, served from the metastore (never from Delta logs), in
//! the shapes Databricks documents.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMillisecondArray};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use async_trait::async_trait;
use datafusion::catalog::{SchemaProvider, TableProvider};
use datafusion::datasource::MemTable;
use datafusion::error::{DataFusionError, Result as DfResult};
use weir_catalog::TableKind;

use crate::error::{EngineError, Result};
use crate::namespace::EngineState;

pub const TABLES: &[&str] = &[
    "catalogs",
    "schemata",
    "tables",
    "columns",
    "views",
    "catalog_tags",
    "schema_tags",
    "table_tags",
    "column_tags",
];

#[derive(Debug)]
pub struct InformationSchema {
    pub state: Arc<EngineState>,
    pub catalog: String,
}

/// One column of a result being built row by row.
pub enum Col {
    Str(String, bool, Vec<Option<String>>),
    Int(String, Vec<Option<i64>>),
    Time(String, Vec<Option<i64>>),
    Bool(String, Vec<Option<bool>>),
}

impl Col {
    pub fn str(name: &str) -> Self {
        Col::Str(name.to_string(), true, vec![])
    }
    pub fn str_not_null(name: &str) -> Self {
        Col::Str(name.to_string(), false, vec![])
    }
    pub fn int(name: &str) -> Self {
        Col::Int(name.to_string(), vec![])
    }
    pub fn time(name: &str) -> Self {
        Col::Time(name.to_string(), vec![])
    }
    pub fn bool(name: &str) -> Self {
        Col::Bool(name.to_string(), vec![])
    }
    pub fn push_bool(&mut self, v: Option<bool>) {
        if let Col::Bool(_, vals) = self {
            vals.push(v);
        }
    }
    pub fn push_str(&mut self, v: Option<impl Into<String>>) {
        if let Col::Str(_, _, vals) = self {
            vals.push(v.map(Into::into));
        }
    }
    pub fn push_int(&mut self, v: Option<i64>) {
        if let Col::Int(_, vals) | Col::Time(_, vals) = self {
            vals.push(v);
        }
    }
}

/// Builds a record batch from columns filled in lock-step.
pub fn batch(cols: Vec<Col>) -> Result<RecordBatch> {
    let mut fields = Vec::with_capacity(cols.len());
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(cols.len());
    for c in cols {
        match c {
            Col::Str(n, nullable, v) => {
                fields.push(Field::new(n, DataType::Utf8, nullable));
                arrays.push(Arc::new(StringArray::from(v)));
            }
            Col::Int(n, v) => {
                fields.push(Field::new(n, DataType::Int64, true));
                arrays.push(Arc::new(Int64Array::from(v)));
            }
            Col::Bool(n, v) => {
                fields.push(Field::new(n, DataType::Boolean, true));
                arrays.push(Arc::new(arrow::array::BooleanArray::from(v)));
            }
            Col::Time(n, v) => {
                fields.push(Field::new(
                    n,
                    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
                    true,
                ));
                arrays.push(Arc::new(
                    TimestampMillisecondArray::from(v).with_timezone("UTC"),
                ));
            }
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
        .map_err(|e| EngineError::Internal(format!("building result: {e}")))
}

/// Columns built row by row, as the result set of a statement (OPTIMIZE, RESTORE, MERGE ...).
pub fn rows_output(cols: Vec<Col>) -> Result<crate::session::StatementOutput> {
    let result = batch(cols)?;
    let schema = result.schema();
    Ok(crate::session::StatementOutput::Rows(Box::pin(
        datafusion::physical_plan::memory::MemoryStream::try_new(vec![result], schema, None)?,
    )))
}

pub fn mem_table(batch: RecordBatch) -> Result<Arc<dyn TableProvider>> {
    Ok(Arc::new(MemTable::try_new(
        batch.schema(),
        vec![vec![batch]],
    )?))
}

impl InformationSchema {
    fn build(&self, name: &str) -> Result<Option<RecordBatch>> {
        let m = &self.state.metastore;
        let c = &self.catalog;
        Ok(Some(match name {
            "catalogs" => {
                let (mut n, mut o, mut cm, mut cr) = (
                    Col::str_not_null("catalog_name"),
                    Col::str("catalog_owner"),
                    Col::str("comment"),
                    Col::time("created"),
                );
                for e in m.list_catalogs()? {
                    n.push_str(Some(e.name));
                    o.push_str(Some(e.owner));
                    cm.push_str(e.comment);
                    cr.push_int(Some(e.created_at_ms));
                }
                batch(vec![n, o, cm, cr])?
            }
            "schemata" => {
                let (mut cn, mut n, mut o, mut cm, mut cr) = (
                    Col::str_not_null("catalog_name"),
                    Col::str_not_null("schema_name"),
                    Col::str("schema_owner"),
                    Col::str("comment"),
                    Col::time("created"),
                );
                for e in m.list_schemas(c)? {
                    cn.push_str(Some(e.catalog));
                    n.push_str(Some(e.name));
                    o.push_str(Some(e.owner));
                    cm.push_str(e.comment);
                    cr.push_int(Some(e.created_at_ms));
                }
                batch(vec![cn, n, o, cm, cr])?
            }
            "tables" => {
                let mut cols = vec![
                    Col::str_not_null("table_catalog"),
                    Col::str_not_null("table_schema"),
                    Col::str_not_null("table_name"),
                    Col::str_not_null("table_type"),
                    Col::str("is_insertable_into"),
                    Col::str("table_owner"),
                    Col::str("comment"),
                    Col::time("created"),
                    Col::time("last_altered"),
                    Col::str("data_source_format"),
                    Col::str("storage_path"),
                ];
                for t in m.list_tables_in_catalog(c)? {
                    let view = t.kind == TableKind::View;
                    cols[0].push_str(Some(t.catalog));
                    cols[1].push_str(Some(t.schema));
                    cols[2].push_str(Some(t.name));
                    cols[3].push_str(Some(t.kind.as_str()));
                    cols[4].push_str(Some(if view { "NO" } else { "YES" }));
                    cols[5].push_str(Some(t.owner));
                    cols[6].push_str(t.comment);
                    cols[7].push_int(Some(t.created_at_ms));
                    cols[8].push_int(Some(t.updated_at_ms));
                    cols[9].push_str((!view).then_some("DELTA"));
                    cols[10].push_str(t.location);
                }
                batch(cols)?
            }
            "columns" => {
                let mut cols = vec![
                    Col::str_not_null("table_catalog"),
                    Col::str_not_null("table_schema"),
                    Col::str_not_null("table_name"),
                    Col::str_not_null("column_name"),
                    Col::int("ordinal_position"),
                    Col::str("is_nullable"),
                    Col::str("data_type"),
                    Col::str("full_data_type"),
                    Col::str("comment"),
                    Col::int("partition_index"),
                ];
                for t in m.list_tables_in_catalog(c)? {
                    for (i, col) in t.columns.iter().enumerate() {
                        cols[0].push_str(Some(t.catalog.clone()));
                        cols[1].push_str(Some(t.schema.clone()));
                        cols[2].push_str(Some(t.name.clone()));
                        cols[3].push_str(Some(col.name.clone()));
                        cols[4].push_int(Some(i as i64));
                        cols[5].push_str(Some(if col.nullable { "YES" } else { "NO" }));
                        let base = col
                            .data_type
                            .split(['<', '('])
                            .next()
                            .unwrap_or_default()
                            .to_uppercase();
                        cols[6].push_str(Some(base));
                        cols[7].push_str(Some(col.data_type.clone()));
                        cols[8].push_str(col.comment.clone());
                        cols[9].push_int(
                            t.partition_columns
                                .iter()
                                .position(|p| p == &col.name)
                                .map(|p| p as i64),
                        );
                    }
                }
                batch(cols)?
            }
            "views" => {
                let mut cols = vec![
                    Col::str_not_null("table_catalog"),
                    Col::str_not_null("table_schema"),
                    Col::str_not_null("table_name"),
                    Col::str("view_definition"),
                ];
                for t in m
                    .list_tables_in_catalog(c)?
                    .into_iter()
                    .filter(|t| t.kind == TableKind::View)
                {
                    cols[0].push_str(Some(t.catalog));
                    cols[1].push_str(Some(t.schema));
                    cols[2].push_str(Some(t.name));
                    cols[3].push_str(t.view_definition);
                }
                batch(cols)?
            }
            "catalog_tags" | "schema_tags" | "table_tags" | "column_tags" => {
                let level = TABLES.iter().position(|t| *t == name).unwrap_or(5) - 5; // 0..=3
                let mut cols = vec![Col::str_not_null("catalog_name")];
                if level >= 1 {
                    cols.push(Col::str_not_null("schema_name"));
                }
                if level >= 2 {
                    cols.push(Col::str_not_null("table_name"));
                }
                if level >= 3 {
                    cols.push(Col::str_not_null("column_name"));
                }
                cols.push(Col::str_not_null("tag_name"));
                cols.push(Col::str("tag_value"));
                for t in m.list_tags(c)? {
                    let t_level = if !t.column.is_empty() {
                        3
                    } else if !t.table.is_empty() {
                        2
                    } else if !t.schema.is_empty() {
                        1
                    } else {
                        0
                    };
                    if t_level != level {
                        continue;
                    }
                    let mut vals = vec![t.catalog, t.schema, t.table, t.column];
                    vals.truncate(level + 1);
                    vals.push(t.key);
                    vals.push(t.value);
                    for (col, v) in cols.iter_mut().zip(vals) {
                        col.push_str(Some(v));
                    }
                }
                batch(cols)?
            }
            _ => return Ok(None),
        }))
    }
}

#[async_trait]
impl SchemaProvider for InformationSchema {
    fn table_names(&self) -> Vec<String> {
        TABLES.iter().map(|s| s.to_string()).collect()
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        let to_df = |e: EngineError| DataFusionError::External(Box::new(e));
        match self.build(&name.to_lowercase()).map_err(to_df)? {
            Some(b) => Ok(Some(mem_table(b).map_err(to_df)?)),
            None => Ok(None),
        }
    }

    fn table_exist(&self, name: &str) -> bool {
        TABLES.contains(&name.to_lowercase().as_str())
    }
}
