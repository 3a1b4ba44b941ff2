//! `system.ingest.load`: loads a partner's file drop — plain files, `.gz` files and members of
//! `.tar.gz` archives, read as streams — into the tables of a schema, each file routed to its
//! table by a file-name template, in four stages:
//!
//! 1. **list** the source's objects (skipping those a published run read whole);
//! 2. **read** them on blocking worker threads into staging files (Arrow IPC under the data
//!    directory), observing every column for type inference ([`stage`]);
//! 3. **check** each table: align the staged columns to the table by name and cast them
//!    (values that do not fit are quarantined), deduplicate, measure ([`plan`], [`checks`]);
//! 4. **publish** every table — or, when an error-severity check failed, none
//!    (write-audit-publish): create new tables, evolve columns, append / overwrite / merge
//!    through the one commit path, write the quarantine table, record the files loaded.
//!
//! The run is recorded in the metastore (`system.ingest.*`); its staging files are removed
//! when it ends.

mod checks;
mod infer;
mod plan;
mod request;
mod route;
pub(crate) mod source;
mod stage;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Int64Type};
use datafusion::common::Column;
use datafusion::logical_expr::{lit, Expr, LogicalPlan, LogicalPlanBuilder};
use datafusion::prelude::DataFrame;
use weir_catalog::{ingest_state, CopyFile, IngestRun, IngestTableResult, Privilege, TableEntry};

use crate::delta::commit::{MetastoreSync, WriteKind, WriteMetrics};
use crate::error::{EngineError, Result};
use crate::output::StatementOutput;
use crate::parser::CreateTable;
use crate::session::Session;
use checks::{CheckName, CheckOutcome};
use plan::{column, Alignment, INGESTED_AT_COLUMN, SOURCE_FILE_COLUMN};
use request::LoadMode;
pub(crate) use request::{Arguments, LoadRequest};
use stage::{ReadContext, ReadOutcome, TableRead};

/// The table quarantined rows go to, in the target schema.
pub(crate) const QUARANTINE_TABLE: &str = "_quarantine";

/// Read-stage workers at most.
const MAX_WORKERS: usize = 4;

/// Removes the run's staging directory however the run ends; stops its workers if the run is
/// dropped.
struct StagingGuard {
    dir: PathBuf,
    cancel: Arc<AtomicBool>,
}

impl Drop for StagingGuard {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One table of the run, from its plan to its outcome.
struct TableLoad {
    name: String,
    full_name: String,
    existing: Option<TableEntry>,
    read: TableRead,
    /// The table's columns after the load, with their types.
    columns: Vec<(String, DataType)>,
    /// Columns the load adds (or, without evolution, drops).
    new_columns: Vec<String>,
    /// Existing columns the load widens (name, type before, type after): the files hold
    /// numbers the column's type cannot, and a widening changes no stored value.
    widened: Vec<(String, DataType, DataType)>,
    aligned: LogicalPlan,
    keys: Vec<String>,
    rows_good: u64,
    rows_bad: u64,
    /// Rows after deduplication, once known (the write tells, or a count).
    rows_out: Option<u64>,
    null_ratios: BTreeMap<String, f64>,
    checks: Vec<CheckOutcome>,
    seconds_check: f64,
    seconds_publish: f64,
    rows_written: u64,
    published: bool,
    /// The publish added `new_columns` to the table.
    evolved: bool,
}

impl TableLoad {
    fn rows_read(&self) -> u64 {
        self.read.rows + self.read.malformed
    }
    fn rows_quarantined(&self) -> u64 {
        self.rows_bad + self.read.malformed
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn parse_type(data_type: &str) -> Result<DataType> {
    crate::types::parse_spark_type(data_type)
}

impl Session {
    /// `CALL system.ingest.load(...)`.
    pub(crate) async fn ingest_load(&mut self, request: LoadRequest) -> Result<StatementOutput> {
        let access = self.access()?;
        let (c, s) = (request.catalog.clone(), request.schema.clone());
        let m = self.state.metastore.clone();
        if m.get_catalog(&c)?.is_none() {
            return Err(crate::system_tables::catalog::missing_catalog(&c));
        }
        if m.get_schema(&c, &s)?.is_none() {
            return Err(EngineError::UndefinedSchema(format!(
                "schema '{c}.{s}' does not exist"
            )));
        }
        access.require_use(&c, Some(&s))?;
        if request.mode == LoadMode::Merge && !request.deduplicate {
            return Err(source::option_error(
                "mode 'merge' needs deduplicate => true: one source row per key".into(),
            ));
        }
        let spec = source::SourceSpec::parse(&request.source)?;
        let location = self.state.storage.resolve_location(&spec.location)?;
        let (store, store_url, prefix) = self.source_store(&location)?;

        // One run per target schema at a time: another's files are not yet recorded.
        let lock = self
            .state
            .load_lock(&format!("ingest:{}", request.target()));
        let _one_at_a_time = lock.lock().await;

        let run_id = self
            .job_run
            .or(self.statement.as_ref().map(|s| s.id))
            .unwrap_or_else(uuid::Uuid::new_v4)
            .to_string();
        let started = chrono::Utc::now();
        let mut run = IngestRun {
            run_id: run_id.clone(),
            user: self.user.clone(),
            source: request.source.clone(),
            pattern: request.pattern_text.clone(),
            target_schema: request.target(),
            mode: request.mode.as_str().to_string(),
            state: ingest_state::RUNNING.to_string(),
            started_at_ms: started.timestamp_millis(),
            ..IngestRun::default()
        };
        m.start_ingest_run(&run)?;
        let dir = self.state.staging_dir.join(&run_id);
        let cancel = Arc::new(AtomicBool::new(false));
        let _staging = StagingGuard {
            dir: dir.clone(),
            cancel: cancel.clone(),
        };
        let outcome = self
            .run_load(
                &request,
                &mut run,
                LoadInputs {
                    store,
                    store_url,
                    prefix,
                    glob: spec.glob,
                    location: location.to_string(),
                    dir,
                    cancel,
                    started_us: started.timestamp_micros(),
                },
            )
            .await;
        run.ended_at_ms = Some(now_ms());
        match outcome {
            Ok(done) => {
                let records: Vec<IngestTableResult> = done
                    .tables
                    .iter()
                    .map(|t| table_record(&run_id, t, done.read_seconds))
                    .collect();
                let check_records: Vec<_> = done
                    .checks
                    .iter()
                    .chain(done.tables.iter().flat_map(|t| t.checks.iter()))
                    .map(|c| c.record(&run_id))
                    .collect();
                m.finish_ingest_run(&run, &records, &check_records, &done.sources_done)?;
                summary(&run_id, &done.tables, &done.checks, done.read_seconds)
            }
            Err(e) => {
                run.state = ingest_state::FAILED.to_string();
                run.error = Some(e.to_string());
                m.finish_ingest_run(&run, &[], &[], &[])?;
                Err(e)
            }
        }
    }
}

/// What the stages share.
struct LoadInputs {
    store: Arc<dyn object_store::ObjectStore>,
    store_url: url::Url,
    prefix: object_store::path::Path,
    glob: Option<glob::Pattern>,
    location: String,
    dir: PathBuf,
    cancel: Arc<AtomicBool>,
    started_us: i64,
}

/// What a run that ran its course did.
struct LoadOutcome {
    tables: Vec<TableLoad>,
    /// Checks of the whole run.
    checks: Vec<CheckOutcome>,
    /// The source objects it read whole, when it published, with the ids of the tables each fed.
    sources_done: Vec<(weir_catalog::IngestSource, Vec<String>)>,
    read_seconds: f64,
}

impl Session {
    async fn run_load(
        &mut self,
        request: &LoadRequest,
        run: &mut IngestRun,
        inputs: LoadInputs,
    ) -> Result<LoadOutcome> {
        let m = self.state.metastore.clone();
        let (c, s) = (request.catalog.as_str(), request.schema.as_str());
        let prefix = "system.ingest.load";

        // 1. List.
        let listed = source::list_objects(
            &inputs.store,
            &inputs.store_url,
            &inputs.prefix,
            inputs.glob.as_ref(),
        )
        .await?;
        run.files_listed = listed.len() as i64;
        // Objects a published run read whole, while every table they fed is still there (a
        // dropped and re-created table loads them again).
        let table_ids: HashSet<String> = m.list_tables(c, s)?.into_iter().map(|t| t.id).collect();
        let done: HashSet<weir_catalog::IngestSource> = if request.force {
            HashSet::new()
        } else {
            m.ingested_sources(&request.target())?
                .into_iter()
                .filter(|(_, fed)| fed.iter().all(|id| table_ids.contains(id)))
                .map(|(source, _)| source)
                .collect()
        };
        let mut queue = VecDeque::new();
        for object in listed {
            if done.contains(&object.record()) {
                run.files_skipped += 1;
            } else if !object.packing.is_archive()
                && (request.pattern.route(object.name()).is_none()
                    || (request.format.is_none()
                        && stage::Format::of_name(object.name()).is_none()))
            {
                run.files_unmatched += 1;
            } else {
                queue.push_back(object);
            }
        }
        self.notice(format!(
            "{prefix}: listed {} files ({} already loaded, {} unmatched)",
            run.files_listed, run.files_skipped, run.files_unmatched
        ));

        // Units each existing table loaded before (crash leftovers settled first).
        let mut loaded = HashMap::new();
        for entry in m.list_tables(c, s)? {
            if entry.kind == weir_catalog::TableKind::View {
                continue;
            }
            self.settle_pending_copies(&entry).await?;
            let files: HashSet<CopyFile> = m.copied_files(&entry.id)?.into_iter().collect();
            if !files.is_empty() {
                loaded.insert(entry.name.clone(), files);
            }
        }

        // 2. Read.
        let read_start = Instant::now();
        std::fs::create_dir_all(&inputs.dir).map_err(|e| {
            EngineError::Storage(format!("staging directory {}: {e}", inputs.dir.display()))
        })?;
        let total = queue.len();
        let mut reserved: HashSet<String> = request.pattern.columns().map(str::to_string).collect();
        reserved.insert(SOURCE_FILE_COLUMN.to_string());
        reserved.insert(INGESTED_AT_COLUMN.to_string());
        let progress = Arc::new(stage::Progress::default());
        let ctx = Arc::new(ReadContext {
            store: inputs.store.clone(),
            handle: tokio::runtime::Handle::current(),
            pattern: request.pattern.clone(),
            format: request.format,
            header: request.header,
            delimiter: request.delimiter,
            loaded,
            force: request.force,
            dir: inputs.dir.clone(),
            cancel: inputs.cancel.clone(),
            progress: progress.clone(),
            reserved,
        });
        let workers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .clamp(1, MAX_WORKERS)
            .min(total.max(1));
        let queue = Arc::new(Mutex::new(queue));
        let mut handles = Vec::with_capacity(workers);
        for worker in 0..workers {
            let (ctx, queue) = (ctx.clone(), queue.clone());
            handles.push(tokio::task::spawn_blocking(move || {
                stage::read_worker(&ctx, worker, &queue)
            }));
        }
        let mut joined = futures::future::try_join_all(handles);
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(2));
        tick.tick().await;
        let results = loop {
            tokio::select! {
                r = &mut joined => break r,
                _ = tick.tick() => self.notice(format!(
                    "{prefix}: read {} of {total} files, {} rows",
                    progress.objects.load(Ordering::Relaxed),
                    progress.rows.load(Ordering::Relaxed)
                )),
                _ = self.interrupted() => {
                    inputs.cancel.store(true, Ordering::Relaxed);
                    let _ = (&mut joined).await;
                    return Err(self.interruption());
                }
            }
        }
        .map_err(|e| EngineError::Internal(format!("a read worker stopped: {e}")))?;
        let mut read = ReadOutcome::default();
        for r in results {
            read.merge(r?);
        }
        let read_seconds = read_start.elapsed().as_secs_f64();
        run.files_read = read.tables.values().map(|t| t.units.len() as i64).sum();
        self.notice(format!(
            "{prefix}: read {} of {total} files, {} rows",
            progress.objects.load(Ordering::Relaxed),
            progress.rows.load(Ordering::Relaxed)
        ));
        if !read.objects_read.is_empty() {
            // Lineage: the tables are written from the location.
            if let Some(statement) = &self.statement {
                self.state
                    .observers
                    .read_paths(statement, &[inputs.location.clone()]);
            }
        }

        // 3. Check.
        let mut run_checks = Vec::new();
        if let Some(expected) = request.expected_files {
            let files = run.files_read;
            let passed = files >= expected;
            run_checks.push(CheckOutcome {
                table: None,
                check: CheckName::ExpectedFiles,
                severity: request.severity(CheckName::ExpectedFiles),
                passed,
                observed: Some(files.to_string()),
                threshold: Some(expected.to_string()),
                message: (!passed).then(|| format!("{files} new files, {expected} expected")),
            });
        }
        let mut tables = Vec::new();
        let staged = std::mem::take(&mut read.staged);
        for (name, table_read) in std::mem::take(&mut read.tables) {
            let started = Instant::now();
            let files: Vec<&stage::StagedFile> =
                staged.iter().filter(|f| f.table == name).collect();
            let mut load = self
                .plan_table(request, &name, table_read, &files, inputs.started_us)
                .await?;
            load.checks = self.table_checks(request, &load)?;
            load.seconds_check = started.elapsed().as_secs_f64();
            tables.push(load);
        }
        let blocked = run_checks.iter().any(CheckOutcome::blocks)
            || tables
                .iter()
                .any(|t| t.checks.iter().any(CheckOutcome::blocks));
        run.rows_read = tables.iter().map(|t| t.rows_read() as i64).sum();
        run.rows_quarantined = tables.iter().map(|t| t.rows_quarantined() as i64).sum();
        if blocked {
            run.state = ingest_state::NOT_PUBLISHED.to_string();
            for t in &mut tables {
                self.count_output(request, t).await?;
            }
            for c in run_checks
                .iter()
                .chain(tables.iter().flat_map(|t| t.checks.iter()))
                .filter(|c| c.blocks())
            {
                self.notice(format!("{prefix}: not published: {}", c.describe()));
            }
            return Ok(LoadOutcome {
                tables,
                checks: run_checks,
                sources_done: Vec::new(),
                read_seconds,
            });
        }

        // 4. Publish: every table's rights are checked before the first write.
        for t in &tables {
            self.check_publish_rights(request, t)?;
        }
        if tables.iter().any(|t| t.rows_quarantined() > 0) {
            let quarantine = m.get_table(c, s, QUARANTINE_TABLE)?;
            match &quarantine {
                Some(q) => self.require_writable(q, None)?,
                None => self
                    .access()?
                    .require_create(c, s, Privilege::CreateTable)?,
            }
        }
        let statement_id = self
            .statement
            .as_ref()
            .map(|s| s.id.to_string())
            .unwrap_or_else(|| run.run_id.clone());
        for t in &mut tables {
            let started = Instant::now();
            self.check_interrupted()?;
            self.publish_table(
                request,
                t,
                &read.quarantine,
                &run.run_id,
                &statement_id,
                inputs.started_us,
            )
            .await?;
            t.seconds_publish = started.elapsed().as_secs_f64();
            self.notice(format!(
                "{prefix}: published {} ({} rows)",
                t.full_name, t.rows_written
            ));
        }
        run.rows_written = tables.iter().map(|t| t.rows_written as i64).sum();
        run.state = ingest_state::PUBLISHED.to_string();
        let mut ids: HashMap<String, String> = HashMap::new();
        for t in m.list_tables(c, s)? {
            ids.insert(t.name, t.id);
        }
        let sources_done = read
            .objects_read
            .iter()
            .map(|(o, fed)| {
                let fed_ids = fed.iter().filter_map(|t| ids.get(t).cloned()).collect();
                (o.record(), fed_ids)
            })
            .collect();
        Ok(LoadOutcome {
            tables,
            checks: run_checks,
            sources_done,
            read_seconds,
        })
    }

    /// The table's columns after the load, its aligned rows and their measures.
    async fn plan_table(
        &mut self,
        request: &LoadRequest,
        name: &str,
        read: TableRead,
        files: &[&stage::StagedFile],
        started_us: i64,
    ) -> Result<TableLoad> {
        let (c, s) = (request.catalog.as_str(), request.schema.as_str());
        let full_name = format!("{c}.{s}.{name}");
        let existing = self.state.metastore.get_table(c, s, name)?;
        if let Some(e) = &existing {
            if e.kind == weir_catalog::TableKind::View {
                return Err(EngineError::WrongObjectType(format!(
                    "files route to '{full_name}', which is a view"
                )));
            }
        }
        let placeholders: Vec<String> = request.pattern.columns().map(str::to_string).collect();
        let mut metadata: Vec<(String, DataType)> =
            vec![(SOURCE_FILE_COLUMN.to_string(), DataType::Utf8)];
        metadata.extend(placeholders.iter().map(|p| (p.clone(), DataType::Utf8)));
        metadata.push((INGESTED_AT_COLUMN.to_string(), plan::timestamp_type()));
        // The files' columns, in the order the earliest files have them.
        let mut headers: Vec<(&String, &Vec<String>)> = read
            .headers
            .iter()
            .map(|(h, (_, first))| (first, h))
            .collect();
        headers.sort();
        let mut file_columns: Vec<String> = Vec::new();
        for (_, header) in &headers {
            for col in header.iter() {
                if !file_columns.contains(col) {
                    file_columns.push(col.clone());
                }
            }
        }
        let inferred = |col: &str| {
            read.candidates
                .get(col)
                .map(|k| k.data_type())
                .unwrap_or(DataType::Utf8)
        };
        let mut columns: Vec<(String, DataType)> = Vec::new();
        let mut new_columns = Vec::new();
        let mut widened = Vec::new();
        match &existing {
            Some(e) => {
                for column in &e.columns {
                    columns.push((column.name.clone(), parse_type(&column.data_type)?));
                }
                let has = |n: &str| e.columns.iter().any(|c| c.name.eq_ignore_ascii_case(n));
                for col in &file_columns {
                    if !has(col) {
                        new_columns.push((col.clone(), inferred(col)));
                    }
                }
                for (n, t) in &metadata {
                    if !has(n) {
                        new_columns.push((n.clone(), t.clone()));
                    }
                }
                // Columns match by name whatever their case.
                for (n, _) in columns.iter_mut() {
                    if let Some(f) = file_columns.iter().find(|f| f.eq_ignore_ascii_case(n)) {
                        *n = f.clone();
                    }
                }
                if request.add_columns {
                    for (n, t) in columns.iter_mut() {
                        let wider = read.candidates.get(n.as_str()).and_then(|k| k.widening(t));
                        if let Some(w) = wider {
                            widened.push((n.clone(), t.clone(), w.clone()));
                            *t = w;
                        }
                    }
                    columns.extend(new_columns.iter().cloned());
                }
            }
            None => {
                for col in &file_columns {
                    columns.push((col.clone(), inferred(col)));
                }
                columns.extend(metadata.iter().cloned());
            }
        }
        let keys = request.primary_keys.get(name).cloned().unwrap_or_default();
        for k in keys.iter().chain(request.order_by.iter()) {
            if !columns.iter().any(|(n, _)| n == k) {
                return Err(EngineError::UndefinedColumn(format!(
                    "column '{k}' (a key or order_by) is not a column of '{full_name}'"
                )));
            }
        }
        if request.mode == LoadMode::Merge && keys.is_empty() {
            return Err(source::option_error(format!(
                "mode 'merge' needs primary_keys for table '{name}'"
            )));
        }
        let aligned = plan::aligned_plan(
            files,
            &Alignment {
                columns: &columns,
                placeholders: &placeholders,
                ingested_at_us: started_us,
            },
        )?;

        // Measures: rows, bad rows, NULLs per column among the good rows.
        use datafusion::functions_aggregate::expr_fn::{count, sum};
        let good = |e: Expr| {
            datafusion::logical_expr::when(!column(plan::BAD_COLUMN), e)
                .end()
                .unwrap_or_else(|_| lit(datafusion::common::ScalarValue::Null))
        };
        let data_columns: Vec<&String> = columns
            .iter()
            .map(|(n, _)| n)
            .filter(|n| !metadata.iter().any(|(m, _)| m == *n))
            .collect();
        let mut aggregates = vec![
            count(lit(1)).alias("rows"),
            sum(datafusion::logical_expr::cast(
                column(plan::BAD_COLUMN),
                DataType::Int64,
            ))
            .alias("bad"),
        ];
        for (i, n) in data_columns.iter().enumerate() {
            aggregates.push(count(good(column(n))).alias(format!("c{i}")));
        }
        let stats = DataFrame::new(self.ctx.state(), aligned.clone())
            .aggregate(vec![], aggregates)?
            .collect()
            .await?;
        let value = |i: usize| -> u64 {
            stats
                .first()
                .filter(|b| b.num_rows() > 0)
                .and_then(|b| {
                    let a = b.column(i);
                    let a = arrow::compute::cast(a, &DataType::Int64).ok()?;
                    let a = a.as_primitive::<Int64Type>();
                    (!a.is_null(0)).then(|| a.value(0) as u64)
                })
                .unwrap_or(0)
        };
        let rows = value(0);
        let rows_bad = value(1);
        let rows_good = rows - rows_bad.min(rows);
        let mut null_ratios = BTreeMap::new();
        for (i, n) in data_columns.iter().enumerate() {
            let present = value(2 + i);
            let ratio = if rows_good == 0 {
                0.0
            } else {
                (rows_good - present.min(rows_good)) as f64 / rows_good as f64
            };
            null_ratios.insert((*n).clone(), ratio);
        }
        let rows_out = (!request.deduplicate).then_some(rows_good);
        Ok(TableLoad {
            name: name.to_string(),
            full_name,
            existing,
            read,
            columns,
            new_columns: new_columns.into_iter().map(|(n, _)| n).collect(),
            widened,
            aligned,
            keys,
            rows_good,
            rows_bad,
            rows_out,
            null_ratios,
            checks: Vec::new(),
            seconds_check: 0.0,
            seconds_publish: 0.0,
            rows_written: 0,
            published: false,
            evolved: false,
        })
    }

    /// The checks of one table.
    fn table_checks(&self, request: &LoadRequest, t: &TableLoad) -> Result<Vec<CheckOutcome>> {
        let mut out = Vec::new();
        let table = Some(t.full_name.clone());
        if let Some(max) = request.max_null_ratio {
            let over: Vec<String> = t
                .null_ratios
                .iter()
                .filter(|(_, r)| **r > max)
                .map(|(c, r)| format!("{c} {r:.2}"))
                .collect();
            let worst = t.null_ratios.values().cloned().fold(0.0, f64::max);
            out.push(CheckOutcome {
                table: table.clone(),
                check: CheckName::NullRatio,
                severity: request.severity(CheckName::NullRatio),
                passed: over.is_empty(),
                observed: Some(format!("{worst:.4}")),
                threshold: Some(max.to_string()),
                message: (!over.is_empty())
                    .then(|| format!("NULL share above {max}: {}", over.join(", "))),
            });
        }
        // Header mismatch: against the table as it stood (a new table: every file column).
        let expected: Vec<String> = match &t.existing {
            Some(e) => e
                .columns
                .iter()
                .map(|c| c.name.to_lowercase())
                .filter(|n| !is_metadata(n, request))
                .collect(),
            None => t
                .columns
                .iter()
                .map(|(n, _)| n.clone())
                .filter(|n| !is_metadata(n, request))
                .collect(),
        };
        let mut lacking: BTreeMap<String, u64> = BTreeMap::new();
        let mut extra: BTreeMap<String, u64> = BTreeMap::new();
        for (header, (files, _)) in &t.read.headers {
            for e in &expected {
                if !header.contains(e) {
                    *lacking.entry(e.clone()).or_default() += files;
                }
            }
            for h in header {
                if !expected.contains(h) {
                    *extra.entry(h.clone()).or_default() += files;
                }
            }
        }
        let mut parts = Vec::new();
        if !lacking.is_empty() {
            parts.push(format!(
                "files lack columns: {}",
                lacking
                    .iter()
                    .map(|(c, n)| format!("{c} ({n} files)"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !extra.is_empty() {
            let what = if t.existing.is_none() {
                "columns not in every file"
            } else if request.add_columns {
                "new columns added"
            } else {
                "new columns dropped"
            };
            parts.push(format!(
                "{what}: {}",
                extra
                    .iter()
                    .map(|(c, n)| format!("{c} ({n} files)"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        out.push(CheckOutcome {
            table: table.clone(),
            check: CheckName::HeaderMismatch,
            severity: request.severity(CheckName::HeaderMismatch),
            passed: parts.is_empty(),
            observed: Some(format!("{} column lists", t.read.headers.len())),
            threshold: None,
            message: (!parts.is_empty()).then(|| parts.join("; ")),
        });
        let quarantined = t.rows_quarantined();
        out.push(CheckOutcome {
            table: table.clone(),
            check: CheckName::TypeValidation,
            severity: request.severity(CheckName::TypeValidation),
            passed: quarantined == 0,
            observed: Some(quarantined.to_string()),
            threshold: Some("0".into()),
            message: {
                let mut parts = Vec::new();
                if quarantined > 0 {
                    parts.push(format!(
                        "{quarantined} rows quarantined ({} not parsed, {} with values not \
                         fitting their column)",
                        t.read.malformed, t.rows_bad
                    ));
                }
                if !t.widened.is_empty() {
                    parts.push(format!(
                        "columns widened: {}",
                        t.widened
                            .iter()
                            .map(|(n, from, to)| format!(
                                "{n} {} to {}",
                                crate::types::spark_type_name(from).to_uppercase(),
                                crate::types::spark_type_name(to).to_uppercase()
                            ))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                (!parts.is_empty()).then(|| parts.join("; "))
            },
        });
        if let Some(max) = request.max_row_change {
            let previous = self
                .state
                .metastore
                .last_published_rows_read(&t.full_name)?;
            let rows = t.rows_read();
            let (passed, observed, message) = match previous {
                None | Some(0) => (true, "no previous run".to_string(), None),
                Some(p) => {
                    let change = (rows as f64 / p as f64 - 1.0).abs();
                    let passed = change <= max;
                    (
                        passed,
                        format!("{change:.4}"),
                        (!passed)
                            .then(|| format!("{rows} rows read, {p} in the last published run")),
                    )
                }
            };
            out.push(CheckOutcome {
                table,
                check: CheckName::RowCountChange,
                severity: request.severity(CheckName::RowCountChange),
                passed,
                observed: Some(observed),
                threshold: Some(max.to_string()),
                message,
            });
        }
        Ok(out)
    }

    /// The rights publishing `t` needs: MODIFY on an existing table (and MANAGE to add
    /// columns to it), CREATE TABLE on the schema for a new one.
    fn check_publish_rights(&self, request: &LoadRequest, t: &TableLoad) -> Result<()> {
        match &t.existing {
            Some(e) => {
                self.require_writable(e, None)?;
                if request.add_columns && !(t.new_columns.is_empty() && t.widened.is_empty()) {
                    self.access()?
                        .require_manage(&crate::access::table_securable(e))?;
                }
                Ok(())
            }
            None => self.access()?.require_create(
                &request.catalog,
                &request.schema,
                Privilege::CreateTable,
            ),
        }
    }

    /// Publishes one table: created if new, its quarantined rows written, its rows appended,
    /// overwritten or merged (one commit), the files it loaded recorded.
    async fn publish_table(
        &mut self,
        request: &LoadRequest,
        t: &mut TableLoad,
        parse_quarantine: &[PathBuf],
        run_id: &str,
        statement_id: &str,
        started_us: i64,
    ) -> Result<()> {
        let (c, s) = (request.catalog.clone(), request.schema.clone());
        if t.rows_quarantined() > 0 {
            let rows = plan::quarantine_rows(
                t.aligned.clone(),
                parse_quarantine,
                run_id,
                &t.full_name,
                started_us,
            )?;
            let entry = self
                .table_for_load(&c, &s, QUARANTINE_TABLE, &plan::quarantine_columns(), None)
                .await?;
            self.write_rows(&entry, rows, WriteKind::IngestLoad, Default::default())
                .await?;
        }
        let output = plan::good_rows(
            t.aligned.clone(),
            &t.columns,
            request.deduplicate,
            &t.keys,
            request.order_by.as_deref(),
        )?;
        if request.mode == LoadMode::Merge {
            // A merge's counts do not tell how many rows it was given.
            self.count_output(request, t).await?;
        }
        let created = t.existing.is_none();
        let entry = match &t.existing {
            Some(e) => e.clone(),
            None => {
                self.table_for_load(
                    &c,
                    &s,
                    &t.name,
                    &t.columns,
                    Some(format!(
                        "Loaded by system.ingest.load from {}",
                        request.source
                    )),
                )
                .await?
            }
        };
        let lock = self.state.load_lock(&entry.id);
        let _one_at_a_time = lock.lock().await;
        let m = self.state.metastore.clone();
        // Widening rewrites the table in a commit of its own, before the files are recorded
        // as pending: a crash after it leaves them unloaded (a rerun loads them into the
        // widened table), never recorded without their rows. An overwrite widens in its write.
        let retyped: Vec<(String, DataType)> = t
            .widened
            .iter()
            .map(|(n, _, to)| (n.clone(), to.clone()))
            .collect();
        let entry = if retyped.is_empty() || request.mode == LoadMode::Overwrite {
            entry
        } else {
            self.widen_columns(&entry, &retyped, WriteKind::IngestLoad)
                .await?;
            m.get_table(&c, &s, &t.name)?.ok_or_else(|| {
                EngineError::Internal(format!("table {} vanished while widened", t.full_name))
            })?
        };
        for (n, from, to) in &t.widened {
            self.notice(format!(
                "system.ingest.load: {}: column {n} widened from {} to {}",
                t.full_name,
                crate::types::spark_type_name(from).to_uppercase(),
                crate::types::spark_type_name(to).to_uppercase()
            ));
        }
        m.add_pending_copy_files(&entry.id, statement_id, &t.read.units, now_ms())?;
        let evolve = !created && request.add_columns && !t.new_columns.is_empty();
        let written = match request.mode {
            LoadMode::Append | LoadMode::Overwrite => {
                let overwrite = request.mode == LoadMode::Overwrite;
                let mode = crate::exec::insert::WriteMode {
                    overwrite,
                    add_columns: evolve,
                    replace_schema: overwrite && !retyped.is_empty(),
                };
                self.write_rows(&entry, output, WriteKind::IngestLoad, mode)
                    .await
            }
            LoadMode::Merge => {
                self.merge_load(
                    &entry,
                    output,
                    &t.columns,
                    &t.keys,
                    request.order_by.as_deref(),
                    evolve,
                )
                .await
            }
        };
        if written.is_ok() {
            m.settle_copy_files(&entry.id, statement_id, true)?;
        } else {
            // The commit may have landed even so (a timeout after the write): the log says.
            self.settle_pending_copies(&entry).await?;
        }
        t.rows_written = written?;
        if t.rows_out.is_none() {
            // Appended or overwritten: every row given was written.
            t.rows_out = Some(t.rows_written);
        }
        t.published = true;
        t.evolved = evolve;
        Ok(())
    }

    /// Counts the rows `t` gives after deduplication, if not known yet.
    async fn count_output(&self, request: &LoadRequest, t: &mut TableLoad) -> Result<()> {
        if t.rows_out.is_none() {
            let output = plan::good_rows(
                t.aligned.clone(),
                &t.columns,
                request.deduplicate,
                &t.keys,
                request.order_by.as_deref(),
            )?;
            t.rows_out = Some(DataFrame::new(self.ctx.state(), output).count().await? as u64);
        }
        Ok(())
    }

    /// The table `c.s.name`, created empty with `columns` when missing.
    async fn table_for_load(
        &mut self,
        c: &str,
        s: &str,
        name: &str,
        columns: &[(String, DataType)],
        comment: Option<String>,
    ) -> Result<TableEntry> {
        if let Some(e) = self.state.metastore.get_table(c, s, name)? {
            return Ok(e);
        }
        let exprs: Vec<Expr> = columns
            .iter()
            .map(|(n, t)| {
                datafusion::logical_expr::cast(
                    lit(datafusion::common::ScalarValue::Null),
                    t.clone(),
                )
                .alias(n)
            })
            .collect();
        let empty = LogicalPlanBuilder::empty(false).project(exprs)?.build()?;
        let ct = CreateTable {
            name: vec![c.to_string(), s.to_string(), name.to_string()],
            or_replace: false,
            if_not_exists: false,
            columns: Vec::new(),
            partitioned_by: Vec::new(),
            location: None,
            comment,
            properties: Vec::new(),
            as_query: None,
        };
        self.create_table_from(ct, Some(empty), WriteKind::IngestLoad)
            .await?;
        self.state
            .metastore
            .get_table(c, s, name)?
            .ok_or_else(|| EngineError::Internal(format!("table {c}.{s}.{name} was not created")))
    }

    /// Upserts `rows` on `keys`: a matched row is replaced (when `order_by` is given, only by
    /// a row not older than it), an unmatched one inserted. Returns rows inserted or updated.
    async fn merge_load(
        &mut self,
        entry: &TableEntry,
        rows: LogicalPlan,
        columns: &[(String, DataType)],
        keys: &[String],
        order_by: Option<&str>,
        evolve: bool,
    ) -> Result<u64> {
        let source_col = |n: &str| {
            Expr::Column(Column::new(
                Some(datafusion::common::TableReference::bare("source")),
                n,
            ))
        };
        let target_col = |n: &str| {
            Expr::Column(Column::new(
                Some(datafusion::common::TableReference::bare("target")),
                n,
            ))
        };
        let on = keys
            .iter()
            .map(|k| target_col(k).eq(source_col(k)))
            .reduce(Expr::and)
            .ok_or_else(|| EngineError::Internal("merge without keys".into()))?;
        let source = DataFrame::new(self.ctx.state(), rows);
        let write = self.begin_write(entry, WriteKind::IngestLoad).await?;
        let newer = order_by.map(|o| {
            target_col(o)
                .is_null()
                .or(source_col(o).gt_eq(target_col(o)))
        });
        let names: Vec<String> = columns.iter().map(|(n, _)| n.clone()).collect();
        let builder = write
            .table()?
            .merge(source, on)
            .with_source_alias("source")
            .with_target_alias("target")
            .with_merge_schema(evolve)
            .with_session_state(Arc::new(self.ctx.state()))
            .with_commit_properties(write.properties())
            .when_matched_update(|mut u| {
                if let Some(p) = &newer {
                    u = u.predicate(p.clone());
                }
                for n in &names {
                    u = u.update(n.as_str(), source_col(n));
                }
                u
            })?
            .when_not_matched_insert(|mut i| {
                for n in &names {
                    i = i.set(n.as_str(), source_col(n));
                }
                i
            })?;
        let (table, metrics) = builder
            .await
            .map_err(|e| Self::constraint_error(entry, e.into()))?;
        let written = WriteMetrics {
            rows_written: Some(metrics.num_target_rows_inserted as u64),
            rows_updated: Some(metrics.num_target_rows_updated as u64),
            rows_deleted: Some(metrics.num_target_rows_deleted as u64),
            files_added: Some(metrics.num_target_files_added as u64),
            files_removed: Some(metrics.num_target_files_removed as u64),
        };
        write.finish(
            table,
            written,
            if evolve {
                MetastoreSync::Columns
            } else {
                MetastoreSync::Data
            },
        )?;
        Ok((metrics.num_target_rows_inserted + metrics.num_target_rows_updated) as u64)
    }
}

fn is_metadata(name: &str, request: &LoadRequest) -> bool {
    name == SOURCE_FILE_COLUMN
        || name == INGESTED_AT_COLUMN
        || request.pattern.columns().any(|c| c == name)
}

fn status(t: &TableLoad) -> &'static str {
    if t.published {
        ingest_state::PUBLISHED
    } else {
        ingest_state::NOT_PUBLISHED
    }
}

fn table_record(run_id: &str, t: &TableLoad, seconds_read: f64) -> IngestTableResult {
    IngestTableResult {
        run_id: run_id.to_string(),
        table_name: t.full_name.clone(),
        status: status(t).to_string(),
        files: t.read.units.len() as i64,
        rows_read: t.rows_read() as i64,
        rows_written: t.rows_written as i64,
        rows_quarantined: t.rows_quarantined() as i64,
        rows_deduplicated: t
            .rows_good
            .saturating_sub(t.rows_out.unwrap_or(t.rows_good)) as i64,
        columns_added: added(t),
        null_ratios: serde_json::to_string(&t.null_ratios).unwrap_or_else(|_| "{}".into()),
        seconds_read,
        seconds_check: t.seconds_check,
        seconds_publish: t.seconds_publish,
    }
}

/// The columns the load added to the table, if any.
fn added(t: &TableLoad) -> Option<String> {
    t.evolved.then(|| t.new_columns.join(","))
}

/// The CALL's result: one row per table.
fn summary(
    run_id: &str,
    tables: &[TableLoad],
    run_checks: &[CheckOutcome],
    seconds_read: f64,
) -> Result<StatementOutput> {
    use crate::batches::Col;
    let mut cols = vec![
        Col::str_not_null("run_id"),
        Col::str_not_null("table_name"),
        Col::str_not_null("status"),
        Col::int("files"),
        Col::int("rows_read"),
        Col::int("rows_written"),
        Col::int("rows_quarantined"),
        Col::int("rows_deduplicated"),
        Col::str("columns_added"),
        Col::int("checks_failed"),
        Col::str("messages"),
        Col::float("seconds_read"),
        Col::float("seconds_check"),
        Col::float("seconds_publish"),
    ];
    for t in tables {
        let r = table_record(run_id, t, seconds_read);
        let failed: Vec<&CheckOutcome> = run_checks
            .iter()
            .chain(t.checks.iter())
            .filter(|c| !c.passed)
            .collect();
        cols[0].push_str(Some(r.run_id));
        cols[1].push_str(Some(r.table_name));
        cols[2].push_str(Some(r.status));
        cols[3].push_int(Some(r.files));
        cols[4].push_int(Some(r.rows_read));
        cols[5].push_int(Some(r.rows_written));
        cols[6].push_int(Some(r.rows_quarantined));
        cols[7].push_int(Some(r.rows_deduplicated));
        cols[8].push_str(r.columns_added);
        cols[9].push_int(Some(failed.len() as i64));
        cols[10].push_str((!failed.is_empty()).then(|| {
            failed
                .iter()
                .map(|c| c.describe())
                .collect::<Vec<_>>()
                .join("; ")
        }));
        cols[11].push_float(Some(r.seconds_read));
        cols[12].push_float(Some(r.seconds_check));
        cols[13].push_float(Some(r.seconds_publish));
    }
    crate::batches::rows_output(cols)
}
