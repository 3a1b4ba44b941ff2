//! The read stage: workers on blocking threads take source objects one at a time, route each
//! unit by its name, parse it (CSV with a header, or JSON lines) into text columns and append
//! its rows to staging files — Arrow IPC files under the run's staging directory, one open per
//! worker and table, holding every column the table's units had so far (a unit bringing a new
//! column closes the file and opens a wider one, so a worker keeps one batch in memory per
//! table however much the columns drift) — while observing each column's values for type
//! inference.
//! Records that cannot be parsed (a wrong number of fields, a line that is not a JSON object,
//! bytes that are not UTF-8) go to the worker's quarantine file. Nothing is published here.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fs::File;
use std::io::{BufRead, BufWriter, Read};
use std::path::{Path as FsPath, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arrow::array::{ArrayRef, Int64Builder, RecordBatch, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::ipc::writer::FileWriter;
use object_store::ObjectStore;
use weir_catalog::CopyFile;

use super::infer::Candidates;
use super::route::FilePattern;
use super::source::{for_each_unit, open_blocking, SourceObject, Unit};
use crate::error::{EngineError, Result};

/// Rows per staged batch.
const BATCH_ROWS: usize = 2048;

/// Internal staging columns: where each row came from.
pub(crate) const OBJECT_COLUMN: &str = "__weir_object";
pub(crate) const MEMBER_COLUMN: &str = "__weir_member";
pub(crate) const LINE_COLUMN: &str = "__weir_line";
/// The record as read: its fields joined by the delimiter (the line, for JSON).
pub(crate) const RAW_COLUMN: &str = "__weir_raw";

/// A unit's columns as staged: sorted by name, with where each comes from in the unit's own
/// order, and (cached) where each column of the table's open staging file takes its value.
struct Layout {
    sorted: Vec<String>,
    from: Vec<usize>,
    /// For the staging file with this generation: per staged column, the unit's value index.
    placed: Option<(u64, Vec<Option<usize>>)>,
}

impl Layout {
    fn of(columns: &[String]) -> Layout {
        let mut from: Vec<usize> = (0..columns.len()).collect();
        from.sort_by(|a, b| columns[*a].cmp(&columns[*b]));
        Layout {
            sorted: from.iter().map(|i| columns[*i].clone()).collect(),
            from,
            placed: None,
        }
    }

    /// Where each of `staged` (sorted) takes its value from in the unit's values.
    fn place(&self, staged: &[String]) -> Vec<Option<usize>> {
        staged
            .iter()
            .map(|c| self.sorted.binary_search(c).ok().map(|k| self.from[k]))
            .collect()
    }
}

/// The file formats a load parses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Csv,
    Json,
    /// Read whole objects only: Parquet needs random access, so a member of an archive is not
    /// read (the run fails rather than skip it).
    Parquet,
}

impl Format {
    /// The format a unit's name says (after `.gz`), if any.
    pub(crate) fn of_name(name: &str) -> Option<Format> {
        let lower = name.to_ascii_lowercase();
        let lower = lower.strip_suffix(".gz").unwrap_or(&lower);
        let ext = lower.rsplit('.').next().unwrap_or_default();
        match ext {
            "csv" | "txt" => Some(Format::Csv),
            "json" | "jsonl" | "ndjson" => Some(Format::Json),
            "parquet" => Some(Format::Parquet),
            _ => None,
        }
    }
}

/// What every worker of a run shares.
pub(crate) struct ReadContext {
    pub store: Arc<dyn ObjectStore>,
    pub handle: tokio::runtime::Handle,
    pub pattern: FilePattern,
    /// The format given, or `None` to go by each unit's extension.
    pub format: Option<Format>,
    pub header: bool,
    pub delimiter: u8,
    /// The units each existing table has loaded (by table name), skipped unless `force`.
    pub loaded: HashMap<String, HashSet<CopyFile>>,
    pub force: bool,
    /// The run's staging directory.
    pub dir: PathBuf,
    pub cancel: Arc<AtomicBool>,
    pub progress: Arc<Progress>,
    /// Column names a file's own columns must not take (metadata columns).
    pub reserved: HashSet<String>,
}

/// Counters the run reports progress from.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    pub objects: AtomicU64,
    pub rows: AtomicU64,
}

/// A staged file: its table, and the columns its rows have (as the file named them).
#[derive(Debug, Clone)]
pub(crate) struct StagedFile {
    pub table: String,
    pub columns: Vec<String>,
    pub path: PathBuf,
}

/// What was read for one table.
#[derive(Debug, Default)]
pub(crate) struct TableRead {
    /// Units read.
    pub units: Vec<CopyFile>,
    pub rows: u64,
    /// Rows quarantined while parsing.
    pub malformed: u64,
    pub candidates: HashMap<String, Candidates>,
    /// Each column list the table's files had: how many files, and the first file's name.
    pub headers: BTreeMap<Vec<String>, (u64, String)>,
}

impl TableRead {
    fn merge(&mut self, other: TableRead) {
        self.units.extend(other.units);
        self.rows += other.rows;
        self.malformed += other.malformed;
        for (c, k) in other.candidates {
            self.candidates.entry(c).or_default().merge(k);
        }
        for (h, (n, first)) in other.headers {
            let e = self.headers.entry(h).or_insert((0, first.clone()));
            e.0 += n;
            if first < e.1 {
                e.1 = first;
            }
        }
    }
}

/// What the read stage produced.
#[derive(Debug, Default)]
pub(crate) struct ReadOutcome {
    pub tables: BTreeMap<String, TableRead>,
    pub staged: Vec<StagedFile>,
    /// Quarantine files: rows that could not be parsed.
    pub quarantine: Vec<PathBuf>,
    /// The objects read whole, each with the tables its units went to.
    pub objects_read: Vec<(SourceObject, std::collections::BTreeSet<String>)>,
    pub units_unmatched: u64,
    pub units_skipped: u64,
}

impl ReadOutcome {
    pub(crate) fn merge(&mut self, other: ReadOutcome) {
        for (t, r) in other.tables {
            self.tables.entry(t).or_default().merge(r);
        }
        self.staged.extend(other.staged);
        self.quarantine.extend(other.quarantine);
        self.objects_read.extend(other.objects_read);
        self.units_unmatched += other.units_unmatched;
        self.units_skipped += other.units_skipped;
    }
}

/// The schema of quarantine files (and of the rows the quarantine table gets from them).
pub(crate) fn quarantine_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("table_name", DataType::Utf8, false),
        Field::new("source_file", DataType::Utf8, false),
        Field::new("archive_member", DataType::Utf8, true),
        Field::new("line_number", DataType::Int64, true),
        Field::new("raw_line", DataType::Utf8, true),
        Field::new("reason", DataType::Utf8, false),
    ]))
}

/// One staging file being written.
struct StageWriter {
    /// Its columns, sorted by name.
    columns: Vec<String>,
    /// Tells this file from the ones the worker opened before for the table.
    generation: u64,
    path: PathBuf,
    writer: FileWriter<BufWriter<File>>,
    schema: SchemaRef,
    values: Vec<StringBuilder>,
    object: StringBuilder,
    member: StringBuilder,
    line: Int64Builder,
    raw: StringBuilder,
    placeholders: Vec<StringBuilder>,
    rows: usize,
}

/// The schema of a staging file: the file's own columns (text), where each row came from
/// (object, archive member, line), then the template's placeholder columns.
pub(crate) fn staged_schema(columns: &[String], placeholders: &[String]) -> SchemaRef {
    let mut fields: Vec<Field> = columns
        .iter()
        .map(|c| Field::new(c, DataType::Utf8, true))
        .collect();
    fields.push(Field::new(OBJECT_COLUMN, DataType::Utf8, false));
    fields.push(Field::new(MEMBER_COLUMN, DataType::Utf8, true));
    fields.push(Field::new(LINE_COLUMN, DataType::Int64, false));
    fields.push(Field::new(RAW_COLUMN, DataType::Utf8, false));
    fields.extend(
        placeholders
            .iter()
            .map(|p| Field::new(p, DataType::Utf8, true)),
    );
    Arc::new(Schema::new(fields))
}

impl StageWriter {
    fn create(
        path: PathBuf,
        generation: u64,
        columns: Vec<String>,
        placeholders: &[String],
    ) -> Result<Self> {
        let schema = staged_schema(&columns, placeholders);
        let file = File::create(&path).map_err(|e| staging_error(&path, e))?;
        let writer = FileWriter::try_new(BufWriter::with_capacity(256 * 1024, file), &schema)?;
        Ok(StageWriter {
            values: columns.iter().map(|_| StringBuilder::new()).collect(),
            columns,
            generation,
            path,
            writer,
            schema,
            object: StringBuilder::new(),
            member: StringBuilder::new(),
            line: Int64Builder::new(),
            raw: StringBuilder::new(),
            placeholders: placeholders.iter().map(|_| StringBuilder::new()).collect(),
            rows: 0,
        })
    }

    fn flush(&mut self) -> Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        let mut arrays: Vec<ArrayRef> = self
            .values
            .iter_mut()
            .map(|b| Arc::new(b.finish()) as ArrayRef)
            .collect();
        arrays.push(Arc::new(self.object.finish()));
        arrays.push(Arc::new(self.member.finish()));
        arrays.push(Arc::new(self.line.finish()));
        arrays.push(Arc::new(self.raw.finish()));
        arrays.extend(
            self.placeholders
                .iter_mut()
                .map(|b| Arc::new(b.finish()) as ArrayRef),
        );
        let batch = RecordBatch::try_new(self.schema.clone(), arrays)?;
        self.writer.write(&batch)?;
        self.rows = 0;
        Ok(())
    }

    /// Writes the rows left and closes the file; returns it as staged for `table`.
    fn close(mut self, table: String) -> Result<StagedFile> {
        self.flush()?;
        self.writer.finish()?;
        Ok(StagedFile {
            table,
            columns: self.columns,
            path: self.path,
        })
    }
}

/// The worker's quarantine file.
struct QuarantineWriter {
    path: PathBuf,
    writer: Option<FileWriter<BufWriter<File>>>,
    cols: [StringBuilder; 5],
    line: Int64Builder,
    rows: usize,
}

impl QuarantineWriter {
    fn push(
        &mut self,
        table: &str,
        object: &str,
        member: Option<&str>,
        line: Option<i64>,
        raw: Option<&str>,
        reason: &str,
    ) -> Result<()> {
        self.cols[0].append_value(table);
        self.cols[1].append_value(object);
        self.cols[2].append_option(member);
        self.line.append_option(line);
        self.cols[3].append_option(raw);
        self.cols[4].append_value(reason);
        self.rows += 1;
        if self.rows >= BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        if self.writer.is_none() {
            let file = File::create(&self.path).map_err(|e| staging_error(&self.path, e))?;
            self.writer = Some(FileWriter::try_new(
                BufWriter::new(file),
                &quarantine_schema(),
            )?);
        }
        let [t, o, m, raw, reason] = &mut self.cols;
        let batch = RecordBatch::try_new(
            quarantine_schema(),
            vec![
                Arc::new(t.finish()),
                Arc::new(o.finish()),
                Arc::new(m.finish()),
                Arc::new(self.line.finish()),
                Arc::new(raw.finish()),
                Arc::new(reason.finish()),
            ],
        )?;
        if let Some(w) = self.writer.as_mut() {
            w.write(&batch)?;
        }
        self.rows = 0;
        Ok(())
    }
}

fn staging_error(path: &FsPath, e: std::io::Error) -> EngineError {
    EngineError::Storage(format!("staging file {}: {e}", path.display()))
}

/// One worker: reads objects from `queue` until it is empty (or the run is cancelled).
pub(crate) fn read_worker(
    ctx: &ReadContext,
    worker: usize,
    queue: &Mutex<VecDeque<SourceObject>>,
) -> Result<ReadOutcome> {
    let mut w = Worker {
        ctx,
        worker,
        writers: HashMap::new(),
        opened: 0,
        quarantine: QuarantineWriter {
            path: ctx.dir.join(format!("quarantine-{worker}.arrow")),
            writer: None,
            cols: Default::default(),
            line: Int64Builder::new(),
            rows: 0,
        },
        out: ReadOutcome::default(),
    };
    loop {
        if ctx.cancel.load(Ordering::Relaxed) {
            return Err(EngineError::Canceled);
        }
        let next = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
        let Some(object) = next else { break };
        let mut fed = std::collections::BTreeSet::new();
        if object.packing == super::source::Packing::Plain
            && ctx.format.or_else(|| Format::of_name(object.name())) == Some(Format::Parquet)
        {
            // Parquet is read from the store by ranges, not as a stream.
            if let Some(table) = w.parquet_object(&object)? {
                fed.insert(table);
            }
            ctx.progress.objects.fetch_add(1, Ordering::Relaxed);
            w.out.objects_read.push((object, fed));
            continue;
        }
        let bytes = open_blocking(&ctx.store, &object, &ctx.handle)?;
        for_each_unit(&object, bytes, |unit| {
            if let Some(table) = w.unit(&object, unit)? {
                fed.insert(table);
            }
            Ok(())
        })?;
        ctx.progress.objects.fetch_add(1, Ordering::Relaxed);
        w.out.objects_read.push((object, fed));
    }
    w.finish()
}

struct Worker<'c> {
    ctx: &'c ReadContext,
    worker: usize,
    /// The open staging file of each table.
    writers: HashMap<String, StageWriter>,
    /// Staging files opened so far.
    opened: u64,
    quarantine: QuarantineWriter,
    out: ReadOutcome,
}

/// A unit's header names as columns: trimmed, lowercased, `_cN` for an empty one, a suffix for
/// a repeated one or one that a metadata column has.
fn column_names(raw: &[String], reserved: &HashSet<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for (i, name) in raw.iter().enumerate() {
        let mut n = name.trim().trim_start_matches('\u{feff}').to_lowercase();
        if n.is_empty() {
            n = format!("_c{i}");
        }
        if reserved.contains(&n) || n.starts_with("__weir_") {
            n = format!("{n}_data");
        }
        let base = n.clone();
        let mut k = 2;
        while out.contains(&n) {
            n = format!("{base}_{k}");
            k += 1;
        }
        out.push(n);
    }
    out
}

impl Worker<'_> {
    /// Reads one unit; returns the table it goes to, if it matched the template.
    fn unit(&mut self, object: &SourceObject, unit: &mut Unit<'_>) -> Result<Option<String>> {
        let name = unit.name(object).to_string();
        let Some(route) = self.ctx.pattern.route(&name) else {
            self.out.units_unmatched += 1;
            return Ok(None);
        };
        let Some(format) = self.ctx.format.or_else(|| Format::of_name(&name)) else {
            self.out.units_unmatched += 1;
            return Ok(None);
        };
        let record = CopyFile {
            path: match &unit.member {
                Some(m) => format!("{}!/{m}", object.url),
                None => object.url.clone(),
            },
            size: unit.size,
            modified_ms: object.meta.last_modified.timestamp_millis(),
        };
        if self.already_loaded(&route.table, &record) {
            self.out.units_skipped += 1;
            return Ok(Some(route.table));
        }
        let table = route.table.clone();
        let source = UnitSource {
            object: object.url.clone(),
            member: unit.member.clone(),
            placeholders: route.values.clone(),
        };
        let mut read = TableRead::default();
        let columns = match format {
            Format::Csv => self.csv(&table, &source, &mut *unit.reader, &mut read)?,
            Format::Json => self.json(&table, &source, &mut *unit.reader, &mut read)?,
            Format::Parquet => {
                return Err(EngineError::not_supported(format!(
                    "{} is a Parquet file inside an archive or a .gz file; Parquet files are \
                     read whole (store them as plain files)",
                    source.describe()
                )))
            }
        };
        Ok(Some(self.unit_read(table, columns, record, read)))
    }

    /// The unit was loaded into `table` before (and `force` is off).
    fn already_loaded(&self, table: &str, record: &CopyFile) -> bool {
        !self.ctx.force
            && self
                .ctx
                .loaded
                .get(table)
                .is_some_and(|l| l.contains(record))
    }

    /// Adds a unit read for `table` to the outcome; returns the table.
    fn unit_read(
        &mut self,
        table: String,
        columns: Vec<String>,
        record: CopyFile,
        mut read: TableRead,
    ) -> String {
        read.headers.insert(columns, (1, record.path.clone()));
        read.units.push(record);
        self.out
            .tables
            .entry(table.clone())
            .or_default()
            .merge(read);
        table
    }

    /// Reads a plain Parquet object: its values as text (as the other formats have them), so
    /// that types are inferred and checked alike. Returns the table it goes to, if any.
    // parquet 59 deprecates its object-store reader in favour of hand-written `AsyncFileReader`s;
    // it is still the one the crate ships, and what DataFusion 55 itself builds on.
    #[allow(deprecated)]
    fn parquet_object(&mut self, object: &SourceObject) -> Result<Option<String>> {
        use datafusion::parquet::arrow::async_reader::{
            ParquetObjectReader, ParquetRecordBatchStreamBuilder,
        };
        use futures::StreamExt;
        let name = object.name().to_string();
        let Some(route) = self.ctx.pattern.route(&name) else {
            self.out.units_unmatched += 1;
            return Ok(None);
        };
        let record = CopyFile {
            path: object.url.clone(),
            size: object.meta.size as i64,
            modified_ms: object.meta.last_modified.timestamp_millis(),
        };
        let table = route.table.clone();
        if self.already_loaded(&table, &record) {
            self.out.units_skipped += 1;
            return Ok(Some(table));
        }
        let source = UnitSource {
            object: object.url.clone(),
            member: None,
            placeholders: route.values.clone(),
        };
        let parquet_error = |e: datafusion::parquet::errors::ParquetError| EngineError::Coded {
            sqlstate: "22000",
            message: format!("reading {}: {e}", object.url),
        };
        let reader = ParquetObjectReader::new(self.ctx.store.clone(), object.meta.location.clone())
            .with_file_size(object.meta.size);
        let handle = self.ctx.handle.clone();
        let builder = handle
            .block_on(ParquetRecordBatchStreamBuilder::new(reader))
            .map_err(parquet_error)?;
        let names: Vec<String> = builder
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let columns = column_names(&names, &self.ctx.reserved);
        let mut layout = Layout::of(&columns);
        let mut stream = builder
            .with_batch_size(BATCH_ROWS)
            .build()
            .map_err(parquet_error)?;
        let mut read = TableRead::default();
        let mut line = 0i64;
        let options = arrow::util::display::FormatOptions::default();
        while let Some(batch) = handle.block_on(stream.next()) {
            let batch = batch.map_err(parquet_error)?;
            let formatters = batch
                .columns()
                .iter()
                .map(|c| arrow::util::display::ArrayFormatter::try_new(c.as_ref(), &options))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            for row in 0..batch.num_rows() {
                line += 1;
                let texts: Vec<Option<String>> = batch
                    .columns()
                    .iter()
                    .zip(&formatters)
                    .map(|(c, f)| {
                        (!arrow::array::Array::is_null(c.as_ref(), row))
                            .then(|| f.value(row).to_string())
                            .filter(|t| !t.is_empty())
                    })
                    .collect();
                let values: Vec<Option<&str>> = texts.iter().map(|t| t.as_deref()).collect();
                let raw = values
                    .iter()
                    .map(|v| v.unwrap_or(""))
                    .collect::<Vec<_>>()
                    .join(",");
                self.push_row(&table, &mut layout, &source, line, &values, &raw, &mut read)?;
            }
        }
        Ok(Some(self.unit_read(table, columns, record, read)))
    }

    /// The open staging file for `table`, holding at least `columns` (sorted): when the open
    /// one lacks any, it is closed and one with both column lists is opened.
    fn writer(&mut self, table: &str, columns: &[String]) -> Result<&mut StageWriter> {
        let lacking = self
            .writers
            .get(table)
            .map(|w| columns.iter().any(|c| w.columns.binary_search(c).is_err()));
        if lacking != Some(false) {
            let mut all: Vec<String> = columns.to_vec();
            if let Some(open) = self.writers.remove(table) {
                self.ctx
                    .progress
                    .rows
                    .fetch_add(open.rows as u64, Ordering::Relaxed);
                all.extend(open.columns.iter().cloned());
                all.sort();
                all.dedup();
                self.out.staged.push(open.close(table.to_string())?);
            }
            self.opened += 1;
            let path = self.ctx.dir.join(format!(
                "stage-{}-{}-{}.arrow",
                self.worker, table, self.opened
            ));
            let placeholders: Vec<String> =
                self.ctx.pattern.columns().map(str::to_string).collect();
            let w = StageWriter::create(path, self.opened, all, &placeholders)?;
            self.writers.insert(table.to_string(), w);
        }
        self.writers
            .get_mut(table)
            .ok_or_else(|| EngineError::Internal("staging writer vanished".into()))
    }

    /// Appends one row: `values` in the unit's column order (`None` for NULL), each staged in
    /// its column of the table's open staging file (NULL in the columns the unit lacks).
    #[allow(clippy::too_many_arguments)]
    fn push_row(
        &mut self,
        table: &str,
        layout: &mut Layout,
        source: &UnitSource,
        line: i64,
        values: &[Option<&str>],
        raw: &str,
        read: &mut TableRead,
    ) -> Result<()> {
        for (c, i) in layout.sorted.iter().zip(&layout.from) {
            if let Some(v) = values[*i] {
                match read.candidates.get_mut(c) {
                    Some(k) => k.observe(v),
                    None => {
                        let mut k = Candidates::default();
                        k.observe(v);
                        read.candidates.insert(c.clone(), k);
                    }
                }
            }
        }
        read.rows += 1;
        let current = self.writers.get(table).map(|w| w.generation);
        if !matches!(&layout.placed, Some((g, _)) if Some(*g) == current) {
            let w = self.writer(table, &layout.sorted)?;
            layout.placed = Some((w.generation, layout.place(&w.columns)));
        }
        let (Some((_, placed)), Some(w)) = (&layout.placed, self.writers.get_mut(table)) else {
            return Err(EngineError::Internal("staging writer vanished".into()));
        };
        for (b, i) in w.values.iter_mut().zip(placed) {
            b.append_option(i.and_then(|i| values[i]));
        }
        w.object.append_value(&source.object);
        w.member.append_option(source.member.as_deref());
        w.line.append_value(line);
        w.raw.append_value(raw);
        for (b, v) in w.placeholders.iter_mut().zip(&source.placeholders) {
            b.append_value(v);
        }
        w.rows += 1;
        if w.rows >= BATCH_ROWS {
            w.flush()?;
            self.ctx
                .progress
                .rows
                .fetch_add(BATCH_ROWS as u64, Ordering::Relaxed);
            if self.ctx.cancel.load(Ordering::Relaxed) {
                return Err(EngineError::Canceled);
            }
        }
        Ok(())
    }

    fn csv(
        &mut self,
        table: &str,
        source: &UnitSource,
        reader: &mut dyn Read,
        read: &mut TableRead,
    ) -> Result<Vec<String>> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(self.ctx.delimiter)
            .from_reader(reader);
        let mut record = csv::ByteRecord::new();
        let mut columns: Option<Vec<String>> = None;
        let mut layout: Option<Layout> = None;
        let delimiter = (self.ctx.delimiter as char).to_string();
        loop {
            let more = rdr
                .read_byte_record(&mut record)
                .map_err(|e| EngineError::Coded {
                    sqlstate: "22000",
                    message: format!("reading {}: {e}", source.describe()),
                })?;
            if !more {
                break;
            }
            let line = record.position().map(|p| p.line() as i64).unwrap_or(0);
            if columns.is_none() {
                let names: Vec<String> = if self.ctx.header {
                    record
                        .iter()
                        .map(|f| String::from_utf8_lossy(f).into_owned())
                        .collect()
                } else {
                    (0..record.len()).map(|i| format!("_c{i}")).collect()
                };
                let cols = column_names(&names, &self.ctx.reserved);
                layout = Some(Layout::of(&cols));
                columns = Some(cols);
                if self.ctx.header {
                    continue;
                }
                // No header: this record is data.
            }
            if let Some(layout) = &mut layout {
                self.csv_row(table, layout, source, line, &record, &delimiter, read)?;
            }
        }
        Ok(columns.unwrap_or_default())
    }

    #[allow(clippy::too_many_arguments)]
    fn csv_row(
        &mut self,
        table: &str,
        layout: &mut Layout,
        source: &UnitSource,
        line: i64,
        record: &csv::ByteRecord,
        delimiter: &str,
        read: &mut TableRead,
    ) -> Result<()> {
        let raw = || {
            record
                .iter()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect::<Vec<_>>()
                .join(delimiter)
        };
        let expected = layout.sorted.len();
        if record.len() != expected {
            read.malformed += 1;
            return self.quarantine.push(
                table,
                &source.object,
                source.member.as_deref(),
                Some(line),
                Some(&raw()),
                &format!("expected {expected} fields, found {}", record.len()),
            );
        }
        let mut values: Vec<Option<&str>> = Vec::with_capacity(expected);
        for field in record.iter() {
            if field.is_empty() {
                values.push(None);
                continue;
            }
            match std::str::from_utf8(field) {
                Ok(v) => values.push(Some(v)),
                Err(_) => {
                    read.malformed += 1;
                    return self.quarantine.push(
                        table,
                        &source.object,
                        source.member.as_deref(),
                        Some(line),
                        Some(&raw()),
                        "the record is not valid UTF-8",
                    );
                }
            }
        }
        let raw = raw();
        self.push_row(table, layout, source, line, &values, &raw, read)
    }

    fn json(
        &mut self,
        table: &str,
        source: &UnitSource,
        reader: &mut dyn Read,
        read: &mut TableRead,
    ) -> Result<Vec<String>> {
        let reader = std::io::BufReader::new(reader);
        let mut all_columns: Vec<String> = Vec::new();
        for (i, line) in reader.split(b'\n').enumerate() {
            let line = line.map_err(|e| EngineError::Coded {
                sqlstate: "22000",
                message: format!("reading {}: {e}", source.describe()),
            })?;
            let number = i as i64 + 1;
            let text = String::from_utf8_lossy(&line);
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            let object = match serde_json::from_str::<serde_json::Value>(text) {
                Ok(serde_json::Value::Object(o)) => o,
                Ok(_) => {
                    read.malformed += 1;
                    self.quarantine.push(
                        table,
                        &source.object,
                        source.member.as_deref(),
                        Some(number),
                        Some(text),
                        "the line is not a JSON object",
                    )?;
                    continue;
                }
                Err(e) => {
                    read.malformed += 1;
                    self.quarantine.push(
                        table,
                        &source.object,
                        source.member.as_deref(),
                        Some(number),
                        Some(text),
                        &format!("the line is not JSON: {e}"),
                    )?;
                    continue;
                }
            };
            let keys: Vec<String> = object.keys().cloned().collect();
            let mut columns = column_names(&keys, &self.ctx.reserved);
            let mut pairs: Vec<(String, Option<String>)> = columns
                .drain(..)
                .zip(object.values())
                .map(|(c, v)| {
                    let text = match v {
                        serde_json::Value::Null => None,
                        serde_json::Value::String(s) if s.is_empty() => None,
                        serde_json::Value::String(s) => Some(s.clone()),
                        other => Some(other.to_string()),
                    };
                    (c, text)
                })
                .collect();
            // One column order per key set, whatever order the line wrote them in.
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            let columns: Vec<String> = pairs.iter().map(|(c, _)| c.clone()).collect();
            for c in &columns {
                if !all_columns.contains(c) {
                    all_columns.push(c.clone());
                }
            }
            let values: Vec<Option<&str>> = pairs.iter().map(|(_, v)| v.as_deref()).collect();
            let mut layout = Layout::of(&columns);
            self.push_row(table, &mut layout, source, number, &values, text, read)?;
        }
        all_columns.sort();
        Ok(all_columns)
    }

    fn finish(mut self) -> Result<ReadOutcome> {
        let mut rows_left = 0;
        for (table, w) in self.writers.drain() {
            rows_left += w.rows as u64;
            self.out.staged.push(w.close(table)?);
        }
        self.ctx
            .progress
            .rows
            .fetch_add(rows_left, Ordering::Relaxed);
        self.quarantine.flush()?;
        if let Some(mut w) = self.quarantine.writer.take() {
            w.finish()?;
            self.out.quarantine.push(self.quarantine.path.clone());
        }
        Ok(self.out)
    }
}

/// Where a unit's rows come from.
struct UnitSource {
    object: String,
    member: Option<String>,
    placeholders: Vec<String>,
}

impl UnitSource {
    fn describe(&self) -> String {
        match &self.member {
            Some(m) => format!("{} (member {m})", self.object),
            None => self.object.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_become_column_names() {
        let reserved: HashSet<String> = ["_source_file".to_string()].into();
        let raw: Vec<String> = ["\u{feff}Id", " Name ", "", "name", "_source_file"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            column_names(&raw, &reserved),
            vec!["id", "name", "_c2", "name_2", "_source_file_data"]
        );
    }

    #[test]
    fn formats_follow_the_extension() {
        assert_eq!(Format::of_name("a.CSV.gz"), Some(Format::Csv));
        assert_eq!(Format::of_name("a.ndjson"), Some(Format::Json));
        assert_eq!(Format::of_name("a.parquet"), Some(Format::Parquet));
        assert_eq!(Format::of_name("a.avro"), None);
    }
}
