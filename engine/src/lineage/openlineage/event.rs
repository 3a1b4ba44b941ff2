//! OpenLineage RunEvents (spec 2-0-2) of one statement: START when it begins, COMPLETE, FAIL or
//! ABORT when it ends, with its inputs and outputs, their schemas, the column lineage of each
//! output, and the rows written.
//!
//! A Delta table is named by its location, as every OpenLineage producer names files
//! (`s3://bucket` + key, `file` + path), and by `catalog.schema.table` in a symlink under the
//! configured namespace; a view, which has no location, by its name alone.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Map, Value};
use weir_catalog::{Metastore, TableEntry};

use crate::observe::{StatementInfo, StatementOutcome, StatementTrace};

const SPEC: &str = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent";
const FACETS: &str = "https://openlineage.io/spec/facets";

/// Who emits the events.
pub(crate) fn producer() -> String {
    format!(
        "https://github.com/weir-lakehouse/weir/tree/v{}",
        env!("CARGO_PKG_VERSION")
    )
}

/// A facet: its fields, with the producer and the schema (`version/Name.json#/$defs/Name`).
fn facet(schema: &str, fields: Value) -> Value {
    let mut facet = match fields {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    facet.insert("_producer".into(), Value::String(producer()));
    let name = schema
        .rsplit('/')
        .next()
        .and_then(|f| f.strip_suffix(".json"))
        .unwrap_or(schema);
    facet.insert(
        "_schemaURL".into(),
        Value::String(format!("{FACETS}/{schema}#/$defs/{name}")),
    );
    Value::Object(facet)
}

fn event_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The job a statement runs as: the same statement text is the same job (a pipeline step run
/// every day is one job with a run a day), named by what kind of statement it is.
pub(crate) fn job_name(statement: &StatementInfo) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(statement.text.trim().as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let kind = statement.kind.map_or("statement", |k| k.name());
    format!("{kind}.{hex}")
}

/// Names datasets, looking each table up once per event.
struct Datasets<'a> {
    namespace: &'a str,
    metastore: &'a Metastore,
    entries: HashMap<String, Option<TableEntry>>,
}

/// `(namespace, name)` of data at `location`, per OpenLineage's naming of files and objects.
fn location_name(location: &str) -> Option<(String, String)> {
    let url = url::Url::parse(location).ok()?;
    match url.scheme() {
        "file" => Some((
            "file".to_string(),
            url.path().trim_end_matches('/').to_string(),
        )),
        scheme => {
            let host = url.host_str()?;
            let key = url.path().trim_matches('/').to_string();
            Some((format!("{scheme}://{host}"), key))
        }
    }
}

impl<'a> Datasets<'a> {
    fn entry(&mut self, full_name: &str) -> Option<&TableEntry> {
        if !self.entries.contains_key(full_name) {
            let parts: Vec<&str> = full_name.splitn(3, '.').collect();
            let entry = match parts.as_slice() {
                [c, s, t] => self.metastore.get_table(c, s, t).ok().flatten(),
                _ => None,
            };
            self.entries.insert(full_name.to_string(), entry);
        }
        self.entries.get(full_name).and_then(Option::as_ref)
    }

    /// `(namespace, name)` of a table or view.
    fn name(&mut self, full_name: &str) -> (String, String) {
        let location = self.entry(full_name).and_then(|e| e.location.clone());
        location
            .as_deref()
            .and_then(location_name)
            .unwrap_or_else(|| (self.namespace.to_string(), full_name.to_string()))
    }

    /// A dataset: its names and its schema facet.
    fn dataset(&mut self, full_name: &str, is_view: bool) -> Map<String, Value> {
        let (namespace, name) = self.name(full_name);
        let mut facets = Map::new();
        if let Some(entry) = self.entry(full_name) {
            let fields: Vec<Value> = entry
                .columns
                .iter()
                .map(|c| json!({"name": c.name, "type": c.data_type}))
                .collect();
            facets.insert(
                "schema".into(),
                facet("1-2-0/SchemaDatasetFacet.json", json!({ "fields": fields })),
            );
        }
        if name != full_name {
            facets.insert(
                "symlinks".into(),
                facet(
                    "1-0-1/SymlinksDatasetFacet.json",
                    json!({"identifiers": [{
                        "namespace": self.namespace,
                        "name": full_name,
                        "type": if is_view { "VIEW" } else { "TABLE" },
                    }]}),
                ),
            );
        }
        let mut d = Map::new();
        d.insert("namespace".into(), Value::String(namespace));
        d.insert("name".into(), Value::String(name));
        d.insert("facets".into(), Value::Object(facets));
        d
    }
}

/// The job name of a run's parent: the procedure it calls, or the script.
fn parent_job_name(run: &crate::observe::RunInfo) -> String {
    match run.entity_type {
        "SCRIPT" => format!("script.{}", run.entity_id),
        _ => format!("procedure.{}", run.entity_id),
    }
}

/// The parts every event of a run has.
fn run_event(
    event_type: &str,
    time_ms: i64,
    statement: &StatementInfo,
    namespace: &str,
    run_facets: Map<String, Value>,
) -> Map<String, Value> {
    let mut e = Map::new();
    e.insert("eventType".into(), json!(event_type));
    e.insert("eventTime".into(), json!(event_time(time_ms)));
    e.insert("producer".into(), json!(producer()));
    e.insert("schemaURL".into(), json!(SPEC));
    let mut run_facets = run_facets;
    if let Some(run) = &statement.run {
        // The script, procedure call or background run this statement is a step of.
        run_facets.insert(
            "parent".into(),
            facet(
                "1-2-0/ParentRunFacet.json",
                json!({
                    "run": {"runId": run.id.to_string()},
                    "job": {"namespace": namespace, "name": parent_job_name(run)},
                }),
            ),
        );
    }
    e.insert(
        "run".into(),
        json!({"runId": statement.id.to_string(), "facets": run_facets}),
    );
    e.insert(
        "job".into(),
        json!({
            "namespace": namespace,
            "name": job_name(statement),
            "facets": {
                "sql": facet("1-1-0/SQLJobFacet.json", json!({"query": statement.text})),
                "jobType": facet("2-0-4/JobTypeJobFacet.json", json!({
                    "processingType": "BATCH",
                    "integration": "WEIR",
                    "jobType": "QUERY",
                })),
            },
        }),
    );
    e
}

/// The START event of a statement.
pub(crate) fn start(statement: &StatementInfo, namespace: &str) -> Value {
    let mut run_facets = Map::new();
    run_facets.insert(
        "processing_engine".into(),
        facet(
            "1-1-1/ProcessingEngineRunFacet.json",
            json!({
                "name": "Weir",
                "version": env!("CARGO_PKG_VERSION"),
                "openlineageAdapterVersion": env!("CARGO_PKG_VERSION"),
            }),
        ),
    );
    let mut e = run_event(
        "START",
        statement.started_at_ms,
        statement,
        namespace,
        run_facets,
    );
    e.insert("inputs".into(), json!([]));
    e.insert("outputs".into(), json!([]));
    Value::Object(e)
}

/// The event ending a statement: COMPLETE, FAIL or ABORT, with what it read and wrote.
pub(crate) fn end(
    statement: &StatementInfo,
    outcome: &StatementOutcome,
    trace: &StatementTrace,
    namespace: &str,
    metastore: &Metastore,
    now_ms: i64,
) -> Value {
    let mut run_facets = Map::new();
    let event_type = match outcome {
        StatementOutcome::Succeeded { .. } => "COMPLETE",
        StatementOutcome::Failed { sqlstate, message } => {
            run_facets.insert(
                "errorMessage".into(),
                facet(
                    "1-0-1/ErrorMessageRunFacet.json",
                    json!({
                        "message": format!("{sqlstate}: {message}"),
                        "programmingLanguage": "SQL",
                    }),
                ),
            );
            "FAIL"
        }
        StatementOutcome::Abandoned => "ABORT",
    };
    let mut datasets = Datasets {
        namespace,
        metastore,
        entries: HashMap::new(),
    };
    let mut inputs: Vec<Value> = trace
        .reads
        .iter()
        .map(|r| Value::Object(datasets.dataset(&r.name, r.is_view)))
        .collect();
    // Storage locations files were read from (COPY INTO), named by the OpenLineage naming
    // rules for files and object stores.
    inputs.extend(trace.paths.iter().filter_map(|p| {
        location_name(p).map(|(namespace, name)| json!({"namespace": namespace, "name": name}))
    }));
    let mut outputs = vec![];
    for write in &trace.writes {
        let mut d = datasets.dataset(&write.name, write.is_view);
        let lineage = column_lineage(trace, &write.name, &mut datasets);
        if let (Some(lineage), Some(Value::Object(facets))) = (lineage, d.get_mut("facets")) {
            facets.insert("columnLineage".into(), lineage);
        }
        if let Some(rows) = write.rows_written {
            d.insert(
                "outputFacets".into(),
                json!({"outputStatistics": facet(
                    "1-0-2/OutputStatisticsOutputDatasetFacet.json",
                    json!({"rowCount": rows}),
                )}),
            );
        }
        outputs.push(Value::Object(d));
    }
    let mut e = run_event(event_type, now_ms, statement, namespace, run_facets);
    e.insert("inputs".into(), Value::Array(inputs));
    e.insert("outputs".into(), Value::Array(outputs));
    Value::Object(e)
}

/// The column-lineage facet of the write to `target`: each target column's input columns, with
/// their transformations. Only columns of tables and views the statement read are named.
fn column_lineage(
    trace: &StatementTrace,
    target: &str,
    datasets: &mut Datasets<'_>,
) -> Option<Value> {
    // target column -> (input dataset, column) -> transformations
    let mut fields: BTreeMap<String, BTreeMap<(String, String, String), Vec<Value>>> =
        BTreeMap::new();
    for lineage in trace.columns_of(target) {
        for column in &lineage.columns {
            for input in &column.inputs {
                let source = &input.source;
                if !trace.reads.iter().any(|r| r.name == source.table) {
                    continue;
                }
                let (namespace, name) = datasets.name(&source.table);
                fields
                    .entry(column.name.clone())
                    .or_default()
                    .entry((namespace, name, source.column.clone()))
                    .or_default()
                    .push(json!({
                        "type": input.subtype.kind(),
                        "subtype": input.subtype.as_str(),
                        "masking": source.masked,
                    }));
            }
        }
    }
    if fields.is_empty() {
        return None;
    }
    let fields: Map<String, Value> = fields
        .into_iter()
        .map(|(column, inputs)| {
            let input_fields: Vec<Value> = inputs
                .into_iter()
                .map(|((namespace, name, field), transformations)| {
                    json!({
                        "namespace": namespace,
                        "name": name,
                        "field": field,
                        "transformations": transformations,
                    })
                })
                .collect();
            (column, json!({ "inputFields": input_fields }))
        })
        .collect();
    Some(facet(
        "1-2-0/ColumnLineageDatasetFacet.json",
        json!({ "fields": fields }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_named_as_openlineage_names_files_and_objects() {
        assert_eq!(
            location_name("s3://lake/warehouse/main/t"),
            Some(("s3://lake".into(), "warehouse/main/t".into()))
        );
        assert_eq!(
            location_name("file:///data/warehouse/t/"),
            Some(("file".into(), "/data/warehouse/t".into()))
        );
        assert_eq!(location_name("not a url"), None);
    }

    #[test]
    fn facets_name_their_schema() {
        let f = facet("1-1-0/SQLJobFacet.json", json!({"query": "SELECT 1"}));
        assert_eq!(
            f["_schemaURL"],
            "https://openlineage.io/spec/facets/1-1-0/SQLJobFacet.json#/$defs/SQLJobFacet"
        );
        assert_eq!(f["query"], "SELECT 1");
    }
}
