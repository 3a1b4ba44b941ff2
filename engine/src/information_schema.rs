//! `information_schema` of each catalog, served from the metastore (never from Delta logs), in
//! the shapes Databricks documents.

use std::sync::Arc;

use arrow::array::RecordBatch;
use async_trait::async_trait;
use datafusion::catalog::{SchemaProvider, TableProvider};
use datafusion::error::{DataFusionError, Result as DfResult};
use std::collections::{BTreeMap, BTreeSet};

use weir_catalog::{Securable, TableEntry, TableKind};

use crate::access::Access;
use crate::batches::{batch, mem_table, Col};

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
    "catalog_privileges",
    "schema_privileges",
    "table_privileges",
    "column_privileges",
    "routines",
    "column_masks",
    "row_filters",
];

#[derive(Debug)]
pub struct InformationSchema {
    pub state: Arc<EngineState>,
    pub catalog: String,
    /// Whose view of the metastore this is: rows are filtered to what that principal may see.
    pub rights: String,
}

impl InformationSchema {
    fn build(&self, name: &str) -> Result<Option<RecordBatch>> {
        let m = &self.state.metastore;
        let c = &self.catalog;
        let access = Access::load(m, &self.rights)?;
        Ok(Some(match name {
            "catalogs" => {
                let (mut n, mut o, mut cm, mut cr) = (
                    Col::str_not_null("catalog_name"),
                    Col::str("catalog_owner"),
                    Col::str("comment"),
                    Col::time("created"),
                );
                for e in access.catalogs()? {
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
                for e in access.schemas(c)? {
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
                for t in access.tables(c, None)? {
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
                for t in access.tables(c, None)? {
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
                for t in access
                    .tables(c, None)?
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
                let level = match name {
                    "catalog_tags" => 0,
                    "schema_tags" => 1,
                    "table_tags" => 2,
                    _ => 3,
                };
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
                let visible_schemas: BTreeSet<String> =
                    access.schemas(c)?.into_iter().map(|s| s.name).collect();
                let visible_tables: BTreeMap<(String, String), TableEntry> = access
                    .tables(c, None)?
                    .into_iter()
                    .map(|t| ((t.schema.clone(), t.name.clone()), t))
                    .collect();
                let catalog_visible = access.catalog_visible(c)?;
                for t in m.list_tags(c)? {
                    let shown = if !t.table.is_empty() {
                        visible_tables
                            .get(&(t.schema.clone(), t.table.clone()))
                            .is_some_and(|e| {
                                t.column.is_empty()
                                    || e.columns.iter().any(|col| col.name == t.column)
                            })
                    } else if !t.schema.is_empty() {
                        visible_schemas.contains(&t.schema)
                    } else {
                        catalog_visible
                    };
                    if !shown {
                        continue;
                    }
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
            "catalog_privileges" | "schema_privileges" | "table_privileges"
            | "column_privileges" => privileges_batch(&access, c, name)?,
            "routines" => {
                let mut cols = vec![
                    Col::str_not_null("specific_catalog"),
                    Col::str_not_null("specific_schema"),
                    Col::str_not_null("specific_name"),
                    Col::str_not_null("routine_catalog"),
                    Col::str_not_null("routine_schema"),
                    Col::str_not_null("routine_name"),
                    Col::str("routine_type"),
                    Col::str("data_type"),
                    Col::str("routine_body"),
                    Col::str("routine_definition"),
                    Col::str("parameters"),
                    Col::str("sql_data_access"),
                    Col::str("is_deterministic"),
                    Col::str("routine_owner"),
                    Col::str("comment"),
                    Col::time("created"),
                ];
                for f in access.functions(c)? {
                    let params = f
                        .params
                        .iter()
                        .map(|p| format!("{} {}", p.name, p.data_type))
                        .collect::<Vec<_>>()
                        .join(", ");
                    let vals = [
                        &f.catalog, &f.schema, &f.name, &f.catalog, &f.schema, &f.name,
                    ];
                    for (col, v) in cols.iter_mut().zip(vals) {
                        col.push_str(Some(v.clone()));
                    }
                    cols[6].push_str(Some("FUNCTION"));
                    cols[7].push_str(Some(f.return_type.to_uppercase()));
                    cols[8].push_str(Some("SQL"));
                    cols[9].push_str(Some(f.body.clone()));
                    cols[10].push_str(Some(params));
                    cols[11].push_str(Some("CONTAINS SQL"));
                    cols[12].push_str(Some("NO"));
                    cols[13].push_str(Some(f.owner.clone()));
                    cols[14].push_str(f.comment.clone());
                    cols[15].push_int(Some(f.created_at_ms));
                }
                batch(cols)?
            }
            "column_masks" | "row_filters" => {
                let masks = name == "column_masks";
                let mut cols = vec![
                    Col::str_not_null("table_catalog"),
                    Col::str_not_null("table_schema"),
                    Col::str_not_null("table_name"),
                ];
                if masks {
                    cols.push(Col::str_not_null("column_name"));
                    cols.push(Col::str_not_null("mask_catalog"));
                    cols.push(Col::str_not_null("mask_schema"));
                    cols.push(Col::str_not_null("mask_name"));
                    cols.push(Col::str("using_columns"));
                } else {
                    cols.push(Col::str_not_null("filter_catalog"));
                    cols.push(Col::str_not_null("filter_schema"));
                    cols.push(Col::str_not_null("filter_name"));
                    cols.push(Col::str("target_columns"));
                }
                let visible: BTreeMap<(String, String), TableEntry> = access
                    .tables(c, None)?
                    .into_iter()
                    .map(|t| ((t.schema.clone(), t.name.clone()), t))
                    .collect();
                for p in m.list_policies(c)? {
                    if p.column.is_some() != masks {
                        continue;
                    }
                    let Some(t) = visible.get(&(p.schema.clone(), p.table.clone())) else {
                        continue;
                    };
                    if let Some(col) = &p.column {
                        if !t.columns.iter().any(|tc| &tc.name == col) {
                            continue;
                        }
                    }
                    let mut f = p.function.splitn(3, '.').map(str::to_string);
                    let mut vals = vec![p.catalog.clone(), p.schema.clone(), p.table.clone()];
                    vals.extend(p.column.clone());
                    vals.extend([
                        f.next().unwrap_or_default(),
                        f.next().unwrap_or_default(),
                        f.next().unwrap_or_default(),
                        p.using_columns.join(","),
                    ]);
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

/// `catalog_privileges`, `schema_privileges`, `table_privileges`, `column_privileges`: the grants
/// on objects of `catalog` the caller may see (its own, and those on objects it owns or manages).
fn privileges_batch(access: &Access, catalog: &str, name: &str) -> Result<RecordBatch> {
    let level = match name {
        "catalog_privileges" => 0,
        "schema_privileges" => 1,
        "table_privileges" => 2,
        _ => 3,
    };
    let mut cols = vec![Col::str_not_null("grantor"), Col::str_not_null("grantee")];
    let names: &[&str] = match level {
        0 => &["catalog_name"],
        1 => &["catalog_name", "schema_name"],
        2 => &["table_catalog", "table_schema", "table_name"],
        _ => &["table_catalog", "table_schema", "table_name", "column_name"],
    };
    cols.extend(names.iter().map(|n| Col::str_not_null(n)));
    cols.push(Col::str_not_null("privilege_type"));
    cols.push(Col::str_not_null("is_grantable"));
    cols.push(Col::str("inherited_from"));
    for g in access.all_grants()? {
        let (parts, col) = match (&g.on, &g.column, level) {
            (Securable::Catalog(gc), None, 0) if gc == catalog => (vec![gc.clone()], None),
            (Securable::Schema(gc, gs), None, 1) if gc == catalog => {
                (vec![gc.clone(), gs.clone()], None)
            }
            (Securable::Table(gc, gs, gt), None, 2) if gc == catalog => {
                (vec![gc.clone(), gs.clone(), gt.clone()], None)
            }
            (Securable::Table(gc, gs, gt), Some(column), 3) if gc == catalog => (
                vec![gc.clone(), gs.clone(), gt.clone()],
                Some(column.clone()),
            ),
            _ => continue,
        };
        if !access.grant_visible(&g)? {
            continue;
        }
        let mut vals = vec![g.grantor.clone(), g.principal.clone()];
        vals.extend(parts);
        vals.extend(col);
        vals.push(g.privilege.as_str().to_string());
        vals.push("NO".to_string());
        for (c, v) in cols.iter_mut().zip(vals) {
            c.push_str(Some(v));
        }
        let n = cols.len();
        cols[n - 1].push_str(Some("NONE".to_string()));
    }
    batch(cols)
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
