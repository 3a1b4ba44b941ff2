//! `COPY INTO`: loads the files of a location (local or S3) into a Delta table, as one
//! commit through the table write path.
//!
//! - Files are listed under the location (recursively; names starting with `_` or `.` are
//!   skipped), or named (`FILES`), or matched by a glob over their relative names (`PATTERN`).
//!   `.gz` files are read through gzip.
//! - Columns are matched to the table's by name, case-insensitively, file by file: CSV files
//!   are grouped by their header, so files whose columns drift or are reordered load right.
//!   Columns of the table a file lacks are NULL; a column the table lacks is an error unless
//!   `mergeSchema` adds it. Values are cast to the table's types; one that does not fit
//!   fails the whole COPY and nothing is written.
//! - Idempotent: the table remembers the files it loaded (path, size, modification time); a
//!   rerun loads only new or changed files unless `force`.
//! - Governance: MODIFY on the table; reading a storage location is for admins.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::datasource::file_format::csv::CsvFormat;
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::datasource::file_format::json::JsonFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::datasource::provider_as_source;
use datafusion::logical_expr::{cast, col, lit, Expr, LogicalPlan, LogicalPlanBuilder};
use object_store::{ObjectMeta, ObjectStore};
use url::Url;
use weir_catalog::{CopyFile, TableEntry};

use crate::delta::operation::WriteKind;
use crate::error::{EngineError, Result};
use crate::output::StatementOutput;
use crate::parser::{CopyFormat, CopyInto};
use crate::session::Session;

/// The options COPY INTO understands, checked.
#[derive(Debug, Clone)]
struct Options {
    header: bool,
    delimiter: u8,
    quote: u8,
    escape: Option<u8>,
    infer_schema: bool,
    force: bool,
    merge_schema: bool,
}

fn option_error(message: String) -> EngineError {
    EngineError::Coded {
        sqlstate: "22023",
        message,
    }
}

fn flag(key: &str, value: &str) -> Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(option_error(format!(
            "option '{key}' is 'true' or 'false', not '{value}'"
        ))),
    }
}

fn one_byte(key: &str, value: &str) -> Result<u8> {
    match value.as_bytes() {
        [b] => Ok(*b),
        _ if value == "\\t" => Ok(b'\t'),
        _ => Err(option_error(format!(
            "option '{key}' is one character, not '{value}'"
        ))),
    }
}

impl Options {
    fn of(copy: &CopyInto) -> Result<Self> {
        let mut o = Options {
            header: false,
            delimiter: b',',
            quote: b'"',
            escape: None,
            infer_schema: false,
            force: false,
            merge_schema: false,
        };
        for (key, value) in &copy.format_options {
            match (copy.format, key.to_ascii_lowercase().as_str()) {
                (CopyFormat::Csv, "header") => o.header = flag(key, value)?,
                (CopyFormat::Csv, "delimiter" | "sep") => o.delimiter = one_byte(key, value)?,
                (CopyFormat::Csv, "quote") => o.quote = one_byte(key, value)?,
                (CopyFormat::Csv, "escape") => o.escape = Some(one_byte(key, value)?),
                (CopyFormat::Csv | CopyFormat::Json, "inferschema") => {
                    o.infer_schema = flag(key, value)?
                }
                (format, _) => {
                    return Err(option_error(format!(
                        "format option '{key}' is not known for {format:?} (CSV: header, \
                         delimiter, sep, quote, escape, inferSchema; JSON: inferSchema)"
                    )))
                }
            }
        }
        for (key, value) in &copy.copy_options {
            match key.to_ascii_lowercase().as_str() {
                "force" => o.force = flag(key, value)?,
                "mergeschema" => o.merge_schema = flag(key, value)?,
                _ => {
                    return Err(option_error(format!(
                        "copy option '{key}' is not known (force, mergeSchema)"
                    )))
                }
            }
        }
        Ok(o)
    }
}

/// A file to load, with the name it has under the location.
#[derive(Debug, Clone)]
struct SourceFile {
    meta: ObjectMeta,
    url: Url,
    /// Its name relative to the location.
    relative: String,
}

impl SourceFile {
    fn record(&self) -> CopyFile {
        CopyFile {
            path: self.url.to_string(),
            size: self.meta.size as i64,
            modified_ms: self.meta.last_modified.timestamp_millis(),
        }
    }

    fn compression(&self) -> FileCompressionType {
        if self.meta.location.as_ref().ends_with(".gz") {
            FileCompressionType::GZIP
        } else {
            FileCompressionType::UNCOMPRESSED
        }
    }
}

impl Session {
    pub(crate) async fn copy_into(&mut self, copy: CopyInto) -> Result<StatementOutput> {
        let (c, s, t) = self.qualify_table(&copy.table)?;
        let entry = self.lookup_table(&c, &s, &t)?;
        self.require_writable(&entry, None)?;
        let options = Options::of(&copy)?;
        let location = self.state.storage.resolve_location(&copy.source)?;
        let (store, store_url, prefix) = self.source_store(&location)?;
        // One COPY INTO of a table at a time: another's pending files are not a crash's.
        let lock = self.state.load_lock(&entry.id);
        let _one_at_a_time = lock.lock().await;
        let files = list_files(&store, &store_url, &prefix, &copy).await?;

        self.settle_pending_copies(&entry).await?;
        let loaded: HashSet<CopyFile> = self
            .state
            .metastore
            .copied_files(&entry.id)?
            .into_iter()
            .collect();
        let (to_load, skipped): (Vec<SourceFile>, Vec<SourceFile>) = files
            .into_iter()
            .partition(|f| options.force || !loaded.contains(&f.record()));
        let mut rows = 0;
        let records: Vec<CopyFile> = to_load.iter().map(SourceFile::record).collect();
        // Empty files hold no rows (and no header to read).
        let readable: Vec<SourceFile> = to_load
            .iter()
            .filter(|f| f.meta.size > 0)
            .cloned()
            .collect();
        if !readable.is_empty() {
            // Lineage: the table is written from the location.
            if let Some(statement) = &self.statement {
                self.state
                    .observers
                    .read_paths(statement, &[location.to_string()]);
            }
            let (plan, new_columns) = self
                .copy_plan(&entry, &store, &readable, &copy, &options)
                .await?;
            if !new_columns.is_empty() {
                // New columns change the table's definition: its owner's (or MANAGE holder's).
                self.access()?
                    .require_manage(&crate::access::table_securable(&entry))?;
            }
            let statement_id = self
                .statement
                .as_ref()
                .map(|s| s.id.to_string())
                .unwrap_or_default();
            let m = self.state.metastore.clone();
            m.add_pending_copy_files(&entry.id, &statement_id, &records, now_ms())?;
            let mode = crate::exec::insert::WriteMode {
                overwrite: false,
                add_columns: !new_columns.is_empty(),
                ..Default::default()
            };
            let written = self
                .write_rows(&entry, plan, WriteKind::CopyInto, mode)
                .await;
            if written.is_ok() {
                m.settle_copy_files(&entry.id, &statement_id, true)?;
            } else {
                // The commit may have landed even so (a timeout after the write): the log says.
                self.settle_pending_copies(&entry).await?;
            }
            rows = written?;
        } else if !records.is_empty() {
            // Only empty files: recorded as loaded, nothing to commit.
            let statement_id = uuid::Uuid::new_v4().to_string();
            let m = &self.state.metastore;
            m.add_pending_copy_files(&entry.id, &statement_id, &records, now_ms())?;
            m.settle_copy_files(&entry.id, &statement_id, true)?;
        }
        summary(rows, to_load.len(), skipped.len())
    }

    /// The object store holding `location` (rooted at its bucket, or the local file system),
    /// made known to DataFusion's runtime; with the store's URL and the location's prefix.
    pub(crate) fn source_store(
        &self,
        location: &Url,
    ) -> Result<(Arc<dyn ObjectStore>, Url, object_store::path::Path)> {
        use deltalake::logstore::{object_store_factories, StorageConfig as DeltaStorage};
        // The one gate to files: admins, or READ FILES on an external location holding them.
        self.access()?
            .require_read_files(&crate::storage::location_key(location)?)?;
        let scheme = Url::parse(&format!("{}://", location.scheme()))
            .map_err(|e| EngineError::invalid(format!("invalid location {location}: {e}")))?;
        let config = DeltaStorage::parse_options(self.state.storage.options.clone())?;
        let factories = object_store_factories();
        let factory = factories.get(&scheme).ok_or_else(|| {
            EngineError::invalid(format!(
                "no object store for '{}' locations",
                location.scheme()
            ))
        })?;
        let (store, _) = factory.value().parse_url_opts(location, &config)?;
        // The location's path as the store names keys (decoded: `my%20drop` is `my drop`).
        let prefix = object_store::path::Path::from_url_path(location.path())
            .map_err(|e| EngineError::invalid(format!("invalid location {location}: {e}")))?;
        let store_url = Url::parse(&format!(
            "{}://{}",
            location.scheme(),
            location.host_str().unwrap_or("")
        ))
        .map_err(|e| EngineError::invalid(format!("invalid location {location}: {e}")))?;
        let key = datafusion::execution::object_store::ObjectStoreUrl::parse(store_url.as_str())?;
        if self.state.runtime.object_store(&key).is_err() {
            self.state
                .runtime
                .register_object_store(&store_url, store.clone());
        }
        Ok((store, store_url, prefix))
    }

    /// Confirms or forgets the files of COPY INTOs a crash interrupted between their record and
    /// their confirmation: a statement whose commit is in the table's log loaded them.
    pub(crate) async fn settle_pending_copies(&self, entry: &TableEntry) -> Result<()> {
        let pending = self.state.metastore.pending_copy_statements(&entry.id)?;
        if pending.is_empty() {
            return Ok(());
        }
        let table = self.state.latest_table(entry).await?;
        let mut committed = HashSet::new();
        let mut history = table.history(None);
        use futures::StreamExt;
        while let Some(commit) = history.next().await {
            if let Some(id) = commit?.info.get("weirStatementId").and_then(|v| v.as_str()) {
                committed.insert(id.to_string());
            }
        }
        for statement in pending {
            let done = committed.contains(&statement);
            self.state
                .metastore
                .settle_copy_files(&entry.id, &statement, done)?;
        }
        Ok(())
    }

    /// One plan reading every file, its columns the table's (by name), cast to their types;
    /// with `mergeSchema`, then the files' columns the table lacks (returned: the columns the
    /// write adds).
    async fn copy_plan(
        &self,
        entry: &TableEntry,
        store: &Arc<dyn ObjectStore>,
        files: &[SourceFile],
        copy: &CopyInto,
        options: &Options,
    ) -> Result<(LogicalPlan, Vec<Field>)> {
        let format = copy.format;
        let state = self.ctx.state();
        // Files read together: same compression and, for CSV with a header, the same header.
        let mut groups: BTreeMap<(String, Vec<String>), Vec<SourceFile>> = BTreeMap::new();
        for f in files {
            let header = if format == CopyFormat::Csv && options.header {
                let fmt = csv_format(options, f.compression()).with_schema_infer_max_rec(0);
                let schema = fmt
                    .infer_schema(&state, store, std::slice::from_ref(&f.meta))
                    .await?;
                schema.fields().iter().map(|f| f.name().clone()).collect()
            } else {
                Vec::new()
            };
            groups
                .entry((format!("{:?}", f.compression()), header))
                .or_default()
                .push(f.clone());
        }
        let select = copy.select.as_ref();
        // Each group's scan and columns first: the columns the table lacks are known only
        // once every group's are.
        let mut scans = Vec::new();
        for ((_, header), group) in groups {
            let compression = group[0].compression();
            let format_impl: Arc<dyn FileFormat> = match format {
                CopyFormat::Csv => Arc::new(csv_format(options, compression)),
                CopyFormat::Json => {
                    // Every record's keys count: a key first seen late is a column too.
                    Arc::new(
                        JsonFormat::default()
                            .with_file_compression_type(compression)
                            .with_schema_infer_max_rec(usize::MAX),
                    )
                }
                CopyFormat::Parquet => Arc::new(ParquetFormat::default()),
            };
            let metas: Vec<ObjectMeta> = group.iter().map(|f| f.meta.clone()).collect();
            let schema: SchemaRef = match format {
                // A SELECT over headerless files names their columns `_c0`, `_c1`, ... as
                // Spark does: as many as the files have, as text.
                CopyFormat::Csv if !options.header && select.is_some() => {
                    let inferred = format_impl.infer_schema(&state, store, &metas).await?;
                    let text: SchemaRef = Arc::new(Schema::new(
                        (0..inferred.fields().len())
                            .map(|i| Field::new(format!("_c{i}"), DataType::Utf8, true))
                            .collect::<Vec<_>>(),
                    ));
                    if options.infer_schema {
                        Arc::new(Schema::new(
                            inferred
                                .fields()
                                .iter()
                                .enumerate()
                                .map(|(i, f)| f.as_ref().clone().with_name(format!("_c{i}")))
                                .collect::<Vec<_>>(),
                        ))
                    } else {
                        text
                    }
                }
                CopyFormat::Csv if !options.infer_schema => {
                    let names: Vec<String> = if options.header {
                        header.clone()
                    } else {
                        entry.columns.iter().map(|c| c.name.clone()).collect()
                    };
                    Arc::new(Schema::new(
                        names
                            .iter()
                            .map(|n| Field::new(n, DataType::Utf8, true))
                            .collect::<Vec<_>>(),
                    ))
                }
                _ => format_impl.infer_schema(&state, store, &metas).await?,
            };
            let schema = if format == CopyFormat::Csv && !options.header && select.is_none() {
                positional_names(schema, entry)?
            } else {
                schema
            };
            let schema = if format == CopyFormat::Csv && options.infer_schema && select.is_none() {
                text_for_table_columns(schema, entry)
            } else {
                schema
            };
            check_duplicate_columns(&schema)?;
            let listing = ListingOptions::new(format_impl).with_file_extension("");
            let urls = group
                .iter()
                .map(|f| ListingTableUrl::parse(f.url.as_str()))
                .collect::<datafusion::error::Result<Vec<_>>>()?;
            let config = ListingTableConfig::new_with_multi_paths(urls)
                .with_listing_options(listing)
                .with_schema(schema.clone());
            let table = ListingTable::try_new(config)?;
            let scan =
                LogicalPlanBuilder::scan("copy_source", provider_as_source(Arc::new(table)), None)?
                    .build()?;
            scans.push(match &select {
                Some(items) => self.select_over(scan, items)?,
                None => scan,
            });
        }
        let new_columns = new_columns(&scans, entry, options)?;
        let mut plan: Option<LogicalPlanBuilder> = None;
        for scan in scans {
            let aligned = align_to_table(scan, entry, &new_columns)?;
            plan = Some(match plan {
                None => LogicalPlanBuilder::from(aligned),
                Some(p) => p.union(aligned)?,
            });
        }
        match plan {
            Some(p) => Ok((p.build()?, new_columns)),
            None => Err(EngineError::Internal("COPY INTO planned no files".into())),
        }
    }
}

impl Session {
    /// `SELECT items` over one group's scan, its columns named as the files name them,
    /// lowercased (so that unquoted names in the SELECT find them).
    fn select_over(
        &self,
        scan: LogicalPlan,
        items: &[datafusion::sql::sqlparser::ast::SelectItem],
    ) -> Result<LogicalPlan> {
        use datafusion::sql::sqlparser::ast::{ExprWithAlias, SelectItem};
        let lowered: Vec<Expr> = scan
            .schema()
            .fields()
            .iter()
            .map(|f| {
                col(datafusion::common::Column::from_name(f.name())).alias(f.name().to_lowercase())
            })
            .collect();
        let scan = LogicalPlanBuilder::from(scan).project(lowered)?.build()?;
        let schema = scan.schema().clone();
        let state = self.ctx.state();
        let plan = |expr: &datafusion::sql::sqlparser::ast::Expr| -> Result<Expr> {
            Ok(state.create_logical_expr_from_sql_expr(
                ExprWithAlias {
                    expr: expr.clone(),
                    alias: None,
                },
                &schema,
            )?)
        };
        let mut exprs = Vec::new();
        for item in items {
            match item {
                SelectItem::UnnamedExpr(e) => exprs.push(plan(e)?),
                SelectItem::ExprWithAlias { expr, alias } => {
                    let name = if alias.quote_style.is_some() {
                        alias.value.clone()
                    } else {
                        alias.value.to_lowercase()
                    };
                    exprs.push(plan(expr)?.alias(name));
                }
                SelectItem::Wildcard(_) => {
                    exprs.extend(
                        schema
                            .fields()
                            .iter()
                            .map(|f| col(datafusion::common::Column::from_name(f.name()))),
                    );
                }
                other => {
                    return Err(EngineError::not_supported(format!(
                        "COPY INTO ... FROM (SELECT {other} ...): select columns, expressions or *"
                    )))
                }
            }
        }
        Ok(LogicalPlanBuilder::from(scan).project(exprs)?.build()?)
    }
}

/// The files' columns the table lacks (by name, case-insensitively), in the order the files
/// have them, each with its type (text where the files disagree). Without `mergeSchema`, one
/// is an error.
fn new_columns(scans: &[LogicalPlan], entry: &TableEntry, options: &Options) -> Result<Vec<Field>> {
    let mut out: Vec<Field> = Vec::new();
    for scan in scans {
        for f in scan.schema().fields() {
            if entry
                .columns
                .iter()
                .any(|c| c.name.eq_ignore_ascii_case(f.name()))
            {
                continue;
            }
            if !options.merge_schema {
                return Err(EngineError::UndefinedColumn(format!(
                    "column '{}' of the files does not exist in table {} (COPY_OPTIONS \
                     ('mergeSchema' = 'true') adds new columns)",
                    f.name(),
                    entry.full_name()
                )));
            }
            match out
                .iter_mut()
                .find(|o| o.name().eq_ignore_ascii_case(f.name()))
            {
                Some(o) if o.data_type() != f.data_type() => {
                    *o = Field::new(o.name(), DataType::Utf8, true);
                }
                Some(_) => {}
                None => out.push(Field::new(f.name(), f.data_type().clone(), true)),
            }
        }
    }
    Ok(out)
}

/// A group's columns as the table's, matched by name (case-insensitively): missing ones NULL,
/// every one cast to the table's type; then `new_columns` (NULL where the group lacks one).
fn align_to_table(
    source: LogicalPlan,
    entry: &TableEntry,
    new_columns: &[Field],
) -> Result<LogicalPlan> {
    let fields: Vec<Field> = source
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    let value_of = |name: &str| match fields.iter().find(|f| f.name().eq_ignore_ascii_case(name)) {
        Some(f) => col(datafusion::common::Column::from_name(f.name())),
        None => lit(datafusion::common::ScalarValue::Null),
    };
    let mut exprs: Vec<Expr> = Vec::with_capacity(entry.columns.len() + new_columns.len());
    for column in &entry.columns {
        let data_type = crate::types::parse_spark_type(&column.data_type)?;
        exprs.push(cast(value_of(&column.name), data_type).alias(&column.name));
    }
    for f in new_columns {
        exprs.push(cast(value_of(f.name()), f.data_type().clone()).alias(f.name()));
    }
    Ok(LogicalPlanBuilder::from(source).project(exprs)?.build()?)
}

/// CSV as the options say; an empty field is NULL (Spark's default `nullValue`).
fn csv_format(options: &Options, compression: FileCompressionType) -> CsvFormat {
    CsvFormat::default()
        .with_has_header(options.header)
        .with_delimiter(options.delimiter)
        .with_quote(options.quote)
        .with_escape(options.escape)
        .with_null_regex(Some("^$".to_string()))
        .with_file_compression_type(compression)
}

/// A headerless CSV's columns are the table's, in order.
/// CSV columns the table has are read as text and cast to the table's types from what the file
/// says: an inferred type would change values before that cast (`01234` read as the number
/// 1234 lands in a STRING column as `1234`). Inferred types serve the columns the table lacks.
fn text_for_table_columns(schema: SchemaRef, entry: &TableEntry) -> SchemaRef {
    let in_table = |n: &str| entry.columns.iter().any(|c| c.name.eq_ignore_ascii_case(n));
    Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| {
                if in_table(f.name()) {
                    Field::new(f.name(), DataType::Utf8, true)
                } else {
                    f.as_ref().clone()
                }
            })
            .collect::<Vec<_>>(),
    ))
}

fn positional_names(schema: SchemaRef, entry: &TableEntry) -> Result<SchemaRef> {
    if schema.fields().len() > entry.columns.len() {
        return Err(EngineError::UndefinedColumn(format!(
            "the files have {} columns and table {} has {}",
            schema.fields().len(),
            entry.full_name(),
            entry.columns.len()
        )));
    }
    Ok(Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .zip(&entry.columns)
            .map(|(f, c)| f.as_ref().clone().with_name(&c.name))
            .collect::<Vec<_>>(),
    )))
}

fn check_duplicate_columns(schema: &Schema) -> Result<()> {
    let mut seen = HashSet::new();
    for f in schema.fields() {
        if !seen.insert(f.name().to_ascii_lowercase()) {
            return Err(EngineError::Coded {
                sqlstate: "42711",
                message: format!("the files have column '{}' twice", f.name()),
            });
        }
    }
    Ok(())
}

/// The files COPY INTO reads under `prefix`: named ones, ones matching the pattern, or all.
async fn list_files(
    store: &Arc<dyn ObjectStore>,
    store_url: &Url,
    prefix: &object_store::path::Path,
    copy: &CopyInto,
) -> Result<Vec<SourceFile>> {
    let pattern = copy
        .pattern
        .as_deref()
        .map(|p| {
            glob::Pattern::new(p).map_err(|e| option_error(format!("invalid PATTERN '{p}': {e}")))
        })
        .transpose()?;
    let named = |relative: &str| {
        copy.files
            .iter()
            .any(|f| f.trim_start_matches('/') == relative)
    };
    let glob = if copy.files.is_empty() {
        pattern.as_ref()
    } else {
        None
    };
    let mut out = Vec::new();
    for object in crate::ingest::source::list_objects(store, store_url, prefix, glob).await? {
        if !copy.files.is_empty() && !named(&object.relative) {
            continue;
        }
        let url = Url::parse(&object.url)
            .map_err(|e| EngineError::invalid(format!("file {}: {e}", object.url)))?;
        out.push(SourceFile {
            meta: object.meta,
            url,
            relative: object.relative,
        });
    }
    if let Some(missing) = copy
        .files
        .iter()
        .find(|f| !out.iter().any(|s| s.relative == f.trim_start_matches('/')))
    {
        return Err(EngineError::Coded {
            sqlstate: "58P01",
            message: format!("file '{missing}' does not exist under {}", copy.source),
        });
    }
    Ok(out)
}

/// The columns of COPY INTO's result row (Databricks' columns, plus the files loaded and
/// skipped).
fn summary_columns() -> Vec<crate::batches::Col> {
    use crate::batches::Col;
    vec![
        Col::int("num_affected_rows"),
        Col::int("num_inserted_rows"),
        Col::int("num_loaded_files"),
        Col::int("num_skipped_files"),
    ]
}

/// The schema of COPY INTO's result, known before it runs.
pub(crate) fn summary_schema() -> Result<SchemaRef> {
    Ok(crate::batches::batch(summary_columns())?.schema())
}

/// COPY INTO's result row.
fn summary(rows: u64, loaded: usize, skipped: usize) -> Result<StatementOutput> {
    let mut cols = summary_columns();
    cols[0].push_int(Some(rows as i64));
    cols[1].push_int(Some(rows as i64));
    cols[2].push_int(Some(loaded as i64));
    cols[3].push_int(Some(skipped as i64));
    match crate::batches::rows_output(cols)? {
        StatementOutput::Rows(stream) => Ok(StatementOutput::Summary {
            stream,
            kind: crate::statement_kind::StatementKind::CopyInto,
            affected: rows,
        }),
        other => Ok(other),
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
