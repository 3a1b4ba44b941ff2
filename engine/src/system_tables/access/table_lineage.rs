//! `system.access.table_lineage`: one row per table or view a statement read, with the table or
//! view it wrote (none for a read), in Databricks' shape. Admins read it, and whoever is
//! granted SELECT on it; those see the rows whose tables they may see.

use crate::batches::Col;
use crate::error::Result;
use crate::system_tables::{Reader, SystemTable};
use weir_catalog::Page;

#[derive(Debug)]
pub(crate) struct TableLineage;

/// `catalog.schema.table` split into its parts (a name of another shape keeps it whole).
pub(super) fn parts(full: &str) -> [Option<String>; 3] {
    match full.splitn(3, '.').collect::<Vec<_>>().as_slice() {
        [c, s, t] => [
            Some(c.to_string()),
            Some(s.to_string()),
            Some(t.to_string()),
        ],
        _ => [None, None, Some(full.to_string())],
    }
}

/// The six columns naming a lineage edge's source, then the six naming its target.
pub(super) fn side_columns() -> Vec<Col> {
    let mut cols = vec![];
    for side in ["source", "target"] {
        cols.push(Col::str(&format!("{side}_table_full_name")));
        cols.push(Col::str(&format!("{side}_table_catalog")));
        cols.push(Col::str(&format!("{side}_table_schema")));
        cols.push(Col::str(&format!("{side}_table_name")));
        cols.push(Col::str(&format!("{side}_path")));
        cols.push(Col::str(&format!("{side}_type")));
    }
    cols
}

/// Source types named by a path rather than a table name.
const PATH_TYPES: &[&str] = &[crate::lineage::PATH, crate::lineage::CLIENT];

/// Fills the six columns of one side from `cols[base..]`: `side` is a name (a path, for the
/// path types) and its type.
pub(super) fn push_side(cols: &mut [Col], base: usize, side: Option<(String, String)>) {
    let (name, kind) = match side {
        Some((n, k)) => (Some(n), Some(k)),
        None => (None, None),
    };
    let (name, path) = match (&kind, name) {
        (Some(k), Some(n)) if PATH_TYPES.contains(&k.as_str()) => (None, Some(n)),
        (_, name) => (name, None),
    };
    let [c, s, t] = name.as_deref().map(parts).unwrap_or_default();
    cols[base].push_str(name);
    cols[base + 1].push_str(c);
    cols[base + 2].push_str(s);
    cols[base + 3].push_str(t);
    cols[base + 4].push_str(path);
    cols[base + 5].push_str(kind);
}

/// The columns after an edge's own: what ran the statement and when.
pub(super) fn run_columns() -> [Col; 7] {
    [
        Col::str("entity_type"),
        Col::str("entity_id"),
        Col::str("entity_run_id"),
        Col::str_not_null("created_by"),
        Col::time("event_time"),
        Col::date("event_date"),
        Col::str_not_null("statement_id"),
    ]
}

/// Fills the columns of [`run_columns`] from `cols[base..]`.
pub(super) fn push_run(
    cols: &mut [Col],
    base: usize,
    entity: Option<weir_catalog::RunEntity>,
    created_by: String,
    event_time_ms: i64,
    statement_id: String,
) {
    cols[base].push_str(entity.as_ref().map(|e| e.entity_type.clone()));
    cols[base + 1].push_str(entity.as_ref().map(|e| e.entity_id.clone()));
    cols[base + 2].push_str(entity.map(|e| e.run_id));
    cols[base + 3].push_str(Some(created_by));
    cols[base + 4].push_int(Some(event_time_ms));
    cols[base + 5].push_date_of_ms(Some(event_time_ms));
    cols[base + 6].push_str(Some(statement_id));
}

impl SystemTable for TableLineage {
    fn name(&self) -> &'static str {
        "table_lineage"
    }

    fn columns(&self) -> Vec<Col> {
        let mut cols = side_columns();
        cols.extend(run_columns());
        cols
    }

    fn fill(&self, reader: &Reader<'_>, cols: &mut [Col]) -> Result<()> {
        self.fill_page(reader, cols, Page::default()).map(|_| ())
    }

    fn fill_page(&self, reader: &Reader<'_>, cols: &mut [Col], page: Page) -> Result<Option<Page>> {
        super::require_select(reader.access, self.name())?;
        let visible = super::Visibility::new(reader.access, reader.metastore);
        let paged = reader
            .audit
            .lineage_page(reader.time.from, reader.time.until, page)?;
        for e in paged.items {
            let source_visible = e.source.1 == crate::lineage::CLIENT || visible.table(&e.source.0);
            if !source_visible || e.target.as_ref().is_some_and(|t| !visible.table(&t.0)) {
                continue;
            }
            push_side(cols, 0, Some(e.source));
            push_side(cols, 6, e.target);
            push_run(
                cols,
                12,
                e.entity,
                e.created_by,
                e.event_time_ms,
                e.statement_id,
            );
        }
        Ok(paged.next)
    }
}
