//! The one commit path: every Delta write of the engine (INSERT, CREATE TABLE [AS SELECT],
//! UPDATE, DELETE, MERGE, OPTIMIZE, VACUUM, RESTORE, schema and property changes, bulk ingest)
//! is a [`DeltaWrite`]. It stamps the commit with who ran which statement, and when the write is
//! finished it keeps the table cache and the metastore in step with the new Delta state and
//! tells the engine's observers what was committed.
//!
//! A write is two calls around the delta-rs operation, so each operation keeps its own builder:
//! ```ignore
//! let write = self.begin_write(&entry, WriteKind::Delete).await?;
//! let (table, metrics) = write.table()?.delete().with_commit_properties(write.properties()).await?;
//! write.finish(table, WriteMetrics::deleted(metrics.num_deleted_rows), MetastoreSync::Data)?;
//! ```

use std::sync::Arc;

use deltalake::kernel::transaction::CommitProperties;
use deltalake::DeltaTable;
use weir_catalog::TableEntry;

pub use super::operation::{WriteKind, WriteMetrics};
use crate::engine_state::EngineState;
use crate::error::Result;
use crate::observe::{CommitEvent, StatementInfo};
use crate::session::Session;

/// What of the metastore's record of a table follows the new Delta state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetastoreSync {
    /// Only data changed.
    Data,
    /// The columns may have changed (schema evolution, RESTORE).
    Columns,
    /// The `delta.*` properties changed (constraints, TBLPROPERTIES).
    Properties,
    /// Columns and properties may both have changed (RESTORE brings back an older version's
    /// metadata whole).
    Full,
    /// The table is new: the caller has recorded it in the metastore
    /// ([`DeltaWrite::registered`]).
    NewTable,
}

/// A Delta write in progress: the table as it was, and the commit metadata to write with.
#[must_use = "a write must be finished so the cache, metastore and observers follow it"]
pub(crate) struct DeltaWrite<'s> {
    state: &'s Arc<EngineState>,
    statement: Arc<StatementInfo>,
    /// The metastore entry written to; `None` while the table is being created.
    entry: Option<TableEntry>,
    /// The table's full name, for observers.
    name: String,
    kind: WriteKind,
    base: Option<DeltaTable>,
}

impl Session {
    /// Starts a write to an existing table: loads its latest committed state.
    pub(crate) async fn begin_write(
        &self,
        entry: &TableEntry,
        kind: WriteKind,
    ) -> Result<DeltaWrite<'_>> {
        let base = self.state.latest_table(entry).await?;
        Ok(DeltaWrite {
            state: &self.state,
            statement: self.statement_info(),
            entry: Some(entry.clone()),
            name: entry.full_name(),
            kind,
            base: Some(base),
        })
    }

    /// Starts the write that creates (or replaces) table `name` (`catalog.schema.table`).
    pub(crate) fn begin_create(&self, name: String, kind: WriteKind) -> DeltaWrite<'_> {
        DeltaWrite {
            state: &self.state,
            statement: self.statement_info(),
            entry: None,
            name,
            kind,
            base: None,
        }
    }
}

impl DeltaWrite<'_> {
    /// The table's latest committed state, to build the operation on (a write that creates
    /// its table has none).
    pub fn table(&self) -> Result<DeltaTable> {
        self.base.clone().ok_or_else(|| {
            crate::error::EngineError::Internal(format!(
                "the write creating {} has no existing table to build on",
                self.name
            ))
        })
    }

    /// The commit metadata: who ran which statement, for the Delta log's commitInfo.
    pub fn properties(&self) -> CommitProperties {
        let s = &self.statement;
        // The run (script, procedure call, background run) the statement is a step of.
        let run = s
            .run
            .as_ref()
            .map(|r| ("weirRunId".to_string(), r.id.to_string().into()));
        CommitProperties::default().with_metadata(run.into_iter().chain([
            ("userName".to_string(), s.user.clone().into()),
            ("weirSessionId".to_string(), s.session_id.to_string().into()),
            ("weirStatementId".to_string(), s.id.to_string().into()),
            (
                "weirOperation".to_string(),
                self.kind.operation().to_string().into(),
            ),
            (
                // For audit: what was run (cut at 8 KiB; passwords are redacted before).
                "weirStatement".to_string(),
                truncate(&s.text, 8192).to_string().into(),
            ),
            (
                "weirVersion".to_string(),
                env!("CARGO_PKG_VERSION").to_string().into(),
            ),
        ]))
    }

    /// The metastore entry of the table this write created, once recorded.
    pub fn registered(mut self, entry: TableEntry) -> Self {
        self.entry = Some(entry);
        self
    }

    /// Records the committed table: the cache holds it, the metastore follows it as `sync`
    /// says, and the observers hear of the commit (not of a write that committed nothing).
    /// Returns the metastore entry as it now stands (`None` for a new table).
    pub fn finish(
        self,
        table: DeltaTable,
        metrics: WriteMetrics,
        sync: MetastoreSync,
    ) -> Result<Option<TableEntry>> {
        let before = self.base.as_ref().and_then(|t| t.version());
        let after = table.version();
        let mut entry = self.entry;
        if let Some(entry) = entry.as_mut() {
            match sync {
                MetastoreSync::Data | MetastoreSync::NewTable => {}
                MetastoreSync::Columns | MetastoreSync::Properties | MetastoreSync::Full => {
                    if sync != MetastoreSync::Properties {
                        if let Some(updated) = self.state.follow_schema(entry, &table) {
                            entry.columns = updated;
                        }
                    }
                    if sync != MetastoreSync::Columns {
                        entry.properties.retain(|k, _| !k.starts_with("delta."));
                        for (k, v) in table.snapshot()?.metadata().configuration() {
                            entry.properties.insert(k.clone(), v.clone());
                        }
                        self.state.metastore.update_table(entry)?;
                    }
                }
            }
            self.state.tables.put(&entry.id, table);
        }
        if after.is_some() && after != before {
            self.state.observers.committed(&CommitEvent {
                statement: &self.statement,
                table: &self.name,
                kind: self.kind,
                version: after.unwrap_or_default(),
                metrics: &metrics,
            });
        }
        Ok(entry)
    }
}

/// `text` cut at `max` bytes, on a character boundary.
fn truncate(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    //! Every write kind goes through the one commit path: exactly one commit event, carrying
    //! the text of the statement that made it, and one end-of-statement event.

    use std::sync::{Arc, Mutex};

    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use arrow::record_batch::RecordBatch;
    use datafusion::physical_plan::stream::RecordBatchStreamAdapter;

    use super::WriteKind;
    use crate::observe::{
        ClientInfo, CommitEvent, EngineObserver, StatementInfo, StatementOutcome,
    };
    use crate::{Engine, EngineConfig, IngestMode, IngestTarget};

    #[derive(Debug, Clone, PartialEq)]
    enum Event {
        Started {
            id: uuid::Uuid,
        },
        Finished {
            id: uuid::Uuid,
            ok: bool,
            outcome: StatementOutcome,
        },
        Committed {
            statement_id: uuid::Uuid,
            text: String,
            table: String,
            kind: WriteKind,
        },
    }

    #[derive(Default)]
    struct Recorder(Mutex<Vec<Event>>);

    impl Recorder {
        fn take(&self) -> Vec<Event> {
            std::mem::take(&mut *self.0.lock().unwrap())
        }

        /// How the statements since the last call ended.
        fn outcomes(&self) -> Vec<StatementOutcome> {
            self.take()
                .into_iter()
                .filter_map(|e| match e {
                    Event::Finished { outcome, .. } => Some(outcome),
                    _ => None,
                })
                .collect()
        }
    }

    impl EngineObserver for Recorder {
        fn statement_started(&self, s: &StatementInfo) {
            self.0.lock().unwrap().push(Event::Started { id: s.id });
        }
        fn statement_finished(
            &self,
            s: &StatementInfo,
            outcome: &StatementOutcome,
            _trace: &crate::observe::StatementTrace,
        ) {
            self.0.lock().unwrap().push(Event::Finished {
                id: s.id,
                ok: matches!(outcome, StatementOutcome::Succeeded { .. }),
                outcome: outcome.clone(),
            });
        }
        fn committed(&self, c: &CommitEvent<'_>) {
            self.0.lock().unwrap().push(Event::Committed {
                statement_id: c.statement.id,
                text: c.statement.text.clone(),
                table: c.table.to_string(),
                kind: c.kind,
            });
        }
    }

    /// The events of one statement: started, one commit of `kind` to `table` recorded with
    /// `text`, finished successfully.
    fn assert_one_commit(events: Vec<Event>, text: &str, table: &str, kind: WriteKind) {
        let [Event::Started { id }, Event::Committed {
            statement_id,
            text: recorded,
            table: written,
            kind: committed,
        }, Event::Finished {
            id: finished, ok, ..
        }] = events.as_slice()
        else {
            panic!("{text}: expected start, one commit, end; got {events:?}");
        };
        assert_eq!(
            (
                statement_id,
                finished,
                recorded.as_str(),
                written.as_str(),
                *committed,
                *ok
            ),
            (id, id, text, table, kind, true),
            "{text}"
        );
    }

    #[tokio::test]
    async fn every_write_kind_commits_once_through_the_commit_path() {
        let dir = tempfile::tempdir().unwrap();
        let (engine, _) = Engine::open(&EngineConfig {
            data_dir: dir.path().to_path_buf(),
            warehouse: None,
            storage_options: Default::default(),
            admin_password: Some("pw".into()),
            audit_retention_days: None,
            audit: true,
            openlineage: None,
        })
        .unwrap();
        let recorder = Arc::new(Recorder::default());
        engine.add_observer(recorder.clone());
        let mut session = engine
            .new_session("admin", None, ClientInfo::internal())
            .unwrap();
        let t = "main.default.t";
        let writes: Vec<(&str, &str, WriteKind)> = vec![
            (
                "CREATE TABLE t (id BIGINT, v STRING)",
                t,
                WriteKind::CreateTable,
            ),
            (
                "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')",
                t,
                WriteKind::Insert,
            ),
            ("INSERT INTO t VALUES (4, 'd')", t, WriteKind::Insert),
            ("UPDATE t SET v = 'x' WHERE id = 1", t, WriteKind::Update),
            ("DELETE FROM t WHERE id = 2", t, WriteKind::Delete),
            (
                "DELETE FROM t WHERE EXISTS (SELECT 1 FROM t AS o WHERE o.id = t.id + 1)",
                t,
                WriteKind::Delete,
            ),
            (
                "MERGE INTO t USING (VALUES (1, 'm'), (9, 'n')) AS s(id, v) ON t.id = s.id \
                 WHEN MATCHED THEN UPDATE SET v = s.v WHEN NOT MATCHED THEN INSERT *",
                t,
                WriteKind::Merge,
            ),
            (
                "CREATE TABLE c AS SELECT * FROM t",
                "main.default.c",
                WriteKind::CreateTableAsSelect,
            ),
            (
                "INSERT OVERWRITE c SELECT * FROM t",
                "main.default.c",
                WriteKind::InsertOverwrite,
            ),
            (
                "ALTER TABLE t ADD COLUMNS (w INT)",
                t,
                WriteKind::AddColumns,
            ),
            (
                "ALTER TABLE t ADD CONSTRAINT pos CHECK (id > 0)",
                t,
                WriteKind::AddConstraint,
            ),
            (
                "ALTER TABLE t DROP CONSTRAINT pos",
                t,
                WriteKind::DropConstraint,
            ),
            (
                "ALTER TABLE t SET TBLPROPERTIES ('delta.appendOnly' = 'false')",
                t,
                WriteKind::SetProperties,
            ),
            ("OPTIMIZE t", t, WriteKind::Optimize),
            ("RESTORE TABLE t TO VERSION AS OF 2", t, WriteKind::Restore),
        ];
        for (sql, table, kind) in writes {
            let (_, error) = session.execute_sql(sql).await;
            assert!(error.is_none(), "{sql}: {error:?}");
            assert_one_commit(recorder.take(), sql, table, kind);
        }

        // Several statements in one request: each is recorded with its own text.
        let (_, error) = session
            .execute_sql("INSERT INTO t VALUES (7, 'g');\n  DELETE FROM t WHERE id = 7 ;")
            .await;
        assert!(error.is_none(), "{error:?}");
        let mut events = recorder.take();
        let second = events.split_off(3);
        assert_one_commit(
            events,
            "INSERT INTO t VALUES (7, 'g')",
            t,
            WriteKind::Insert,
        );
        assert_one_commit(second, "DELETE FROM t WHERE id = 7", t, WriteKind::Delete);

        let (_, error) = session
            .execute_sql("SET spark.databricks.delta.retentionDurationCheck.enabled = false")
            .await;
        assert!(error.is_none(), "{error:?}");
        let events = recorder.take();
        assert_eq!(events.len(), 2, "SET commits nothing: {events:?}");
        let sql = "VACUUM t RETAIN 0 HOURS";
        let (_, error) = session.execute_sql(sql).await;
        assert!(error.is_none(), "{sql}: {error:?}");
        assert_one_commit(recorder.take(), sql, t, WriteKind::Vacuum);

        // A bulk ingest is a statement of its own, recorded with its own description.
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("v", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(vec![20, 21])),
                Arc::new(StringArray::from(vec!["p", "q"])),
            ],
        )
        .unwrap();
        let stream = Box::pin(RecordBatchStreamAdapter::new(
            schema,
            futures::stream::iter(vec![Ok(batch)]),
        ));
        let target = IngestTarget {
            catalog: None,
            schema: None,
            table: "c".into(),
        };
        let rows = session
            .ingest(&target, IngestMode::Append, stream)
            .await
            .unwrap();
        assert_eq!(rows, 2);
        assert_one_commit(
            recorder.take(),
            "INGEST INTO c MODE Append",
            "main.default.c",
            WriteKind::Ingest,
        );

        // A failing statement ends with its error and commits nothing; a read commits nothing.
        let (_, error) = session
            .execute_sql("INSERT INTO t VALUES ('not a number', 1)")
            .await;
        assert!(error.is_some());
        let events = recorder.take();
        assert!(
            matches!(
                events.as_slice(),
                [Event::Started { .. }, Event::Finished { ok: false, .. }]
            ),
            "{events:?}"
        );
        // A query ends when its result has been read, with the rows it returned; a result
        // dropped unread ends it as abandoned.
        let (mut outputs, error) = session.execute_sql("SELECT id FROM t WHERE id < 5").await;
        assert!(error.is_none(), "{error:?}");
        assert!(
            matches!(recorder.take().as_slice(), [Event::Started { .. }]),
            "not ended before its rows are read"
        );
        let Some(crate::output::StatementOutput::Rows(stream)) = outputs.pop() else {
            panic!("a result set")
        };
        let batches = datafusion::physical_plan::common::collect(stream)
            .await
            .unwrap();
        let returned: usize = batches.iter().map(|b| b.num_rows()).sum();
        assert_eq!(
            recorder.outcomes(),
            vec![StatementOutcome::Succeeded {
                rows: Some(returned as u64)
            }]
        );
        let (outputs, error) = session.execute_sql("SELECT count(*) FROM t").await;
        assert!(error.is_none());
        drop(outputs);
        assert_eq!(recorder.outcomes(), vec![StatementOutcome::Abandoned]);
    }
}
