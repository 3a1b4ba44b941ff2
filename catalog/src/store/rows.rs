//! Metastore rows as model types.

use rusqlite::Row;

use std::collections::BTreeMap;

use super::from_json;
use crate::error::{MetastoreError, Result};
use crate::model::*;

pub(super) fn catalog_from_row(r: &Row<'_>) -> rusqlite::Result<CatalogEntry> {
    Ok(CatalogEntry {
        name: r.get(0)?,
        comment: r.get(1)?,
        managed_location: r.get(2)?,
        owner: r.get(3)?,
        created_at_ms: r.get(4)?,
    })
}

pub(super) fn schema_from_row(r: &Row<'_>) -> rusqlite::Result<SchemaEntry> {
    Ok(SchemaEntry {
        catalog: r.get(0)?,
        name: r.get(1)?,
        comment: r.get(2)?,
        managed_location: r.get(3)?,
        owner: r.get(4)?,
        created_at_ms: r.get(5)?,
    })
}

pub(super) const TABLE_COLUMNS: &str =
    "id, catalog, schema, name, kind, location, columns, partition_columns,
    properties, comment, view_definition, owner, created_at_ms, updated_at_ms";

type RawTable = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    i64,
    i64,
);

pub(super) fn raw_table(r: &Row<'_>) -> rusqlite::Result<RawTable> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
        r.get(11)?,
        r.get(12)?,
        r.get(13)?,
    ))
}

pub(super) fn table_from_raw(raw: RawTable) -> Result<TableEntry> {
    let (
        id,
        catalog,
        schema,
        name,
        kind,
        location,
        columns,
        partition_columns,
        properties,
        comment,
        view_definition,
        owner,
        created_at_ms,
        updated_at_ms,
    ) = raw;
    Ok(TableEntry {
        kind: TableKind::parse(&kind)
            .ok_or_else(|| MetastoreError::Corrupt(format!("unknown table kind {kind}")))?,
        columns: from_json(&columns)?,
        partition_columns: from_json(&partition_columns)?,
        properties: from_json::<BTreeMap<String, String>>(&properties)?,
        id,
        catalog,
        schema,
        name,
        location,
        comment,
        view_definition,
        owner,
        created_at_ms,
        updated_at_ms,
    })
}
