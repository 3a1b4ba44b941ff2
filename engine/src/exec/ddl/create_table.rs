//! `CREATE [OR REPLACE] TABLE [IF NOT EXISTS] ... [AS query]`: the Delta table is created (with
//! the query's rows, in the same commit) and then recorded in the metastore.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow::datatypes::{Field, Schema};
use datafusion::logical_expr::LogicalPlan;
use deltalake::kernel::engine::arrow_conversion::TryIntoKernel;
use deltalake::kernel::{StructField, StructType};
use deltalake::operations::create::CreateBuilder;
use deltalake::operations::write::WriteBuilder;
use deltalake::protocol::SaveMode;
use weir_catalog::{Privilege, TableEntry, TableKind};

use super::{is_delta_property, now_ms};
use crate::delta::commit::{MetastoreSync, WriteKind, WriteMetrics};
use crate::delta::schema::{column_comments, columns_of};
use crate::error::{EngineError, Result};
use crate::exec::insert::last_added_rows;
use crate::parser::{ColumnDef, CreateTable};
use crate::session::Session;
use crate::types::parse_spark_type;

pub(crate) fn kernel_fields(cols: &[ColumnDef]) -> Result<Vec<StructField>> {
    let fields: Vec<Field> = cols
        .iter()
        .map(|c| {
            Ok(Field::new(
                &c.name,
                parse_spark_type(&c.data_type)?,
                c.nullable,
            ))
        })
        .collect::<Result<_>>()?;
    let st: StructType = (&Schema::new(fields))
        .try_into_kernel()
        .map_err(|e| EngineError::invalid(format!("unsupported column type: {e}")))?;
    Ok(st
        .fields()
        .cloned()
        .zip(cols)
        .map(|(f, c)| match &c.comment {
            Some(comment) => f.with_metadata([("comment".to_string(), comment.clone())]),
            None => f,
        })
        .collect())
}

impl Session {
    /// Creates the table; returns the rows written by `AS query`.
    pub(crate) async fn create_table(&mut self, ct: CreateTable) -> Result<Option<u64>> {
        let source = match &ct.as_query {
            Some(query) => {
                let plan = crate::planner::plan_query(&self.ctx.state(), (**query).clone()).await?;
                self.note_reads(&plan, &self.current_catalog(), &self.current_schema());
                Some(plan)
            }
            None => None,
        };
        self.create_table_from(ct, source, WriteKind::CreateTableAsSelect)
            .await
    }

    /// Creates (or replaces) a table; with `source`, its rows are written in the same Delta
    /// commit that creates the table (CTAS, Flight bulk ingest).
    pub(crate) async fn create_table_from(
        &mut self,
        ct: CreateTable,
        source: Option<LogicalPlan>,
        write_kind: WriteKind,
    ) -> Result<Option<u64>> {
        let (c, s, t) = self.qualify_table(&ct.name)?;
        let m = self.state.metastore.clone();
        if m.get_catalog(&c)?.is_none() {
            return Err(crate::system_tables::catalog::missing_catalog(&c));
        }
        if m.get_schema(&c, &s)?.is_none() {
            return Err(EngineError::UndefinedSchema(format!(
                "schema '{c}.{s}' does not exist"
            )));
        }
        let existing = m.get_table(&c, &s, &t)?;
        let access = self.access()?;
        access.require_create(&c, &s, Privilege::CreateTable)?;
        if ct.location.is_some() {
            // A path is a way around the catalog: it can point at another table's data.
            access.require_admin("create tables at an explicit LOCATION")?;
        }
        if let Some(e) = &existing {
            if ct.if_not_exists {
                return Ok(None);
            }
            if ct.or_replace {
                access.require_manage(&crate::access::table_securable(e))?;
            }
            if !ct.or_replace {
                return Err(EngineError::Duplicate {
                    sqlstate: "42P07",
                    message: format!("table '{c}.{s}.{t}' already exists"),
                });
            }
            if e.kind == TableKind::View {
                return Err(EngineError::WrongObjectType(format!(
                    "'{c}.{s}.{t}' is a view; DROP VIEW first"
                )));
            }
        }
        for p in &ct.partitioned_by {
            if source.is_none() && !ct.columns.iter().any(|col| &col.name == p) {
                return Err(EngineError::UndefinedColumn(format!(
                    "partition column '{p}' is not a column of the table"
                )));
            }
        }
        let storage = self.state.storage.clone();
        // Where the data goes, and whether a Delta table is already there.
        let (kind, url) = match (&ct.location, &existing) {
            (Some(loc), _) => (TableKind::External, storage.resolve_location(loc)?),
            (None, Some(e)) if ct.or_replace => (
                e.kind,
                storage.resolve_location(e.location.as_deref().unwrap_or_default())?,
            ),
            (None, _) => (TableKind::Managed, self.managed_location(&c, &s, &t)?),
        };
        let exists_at_url = storage.table_exists(&url).await?;
        let comments = column_comments(
            ct.columns
                .iter()
                .map(|c| (c.name.as_str(), c.comment.as_ref())),
        );
        // `delta.*` properties configure the Delta table; other keys are user metadata kept in
        // the metastore only (the Delta protocol rejects unknown keys).
        let properties: HashMap<String, Option<String>> = ct
            .properties
            .iter()
            .filter(|(k, _)| is_delta_property(k))
            .map(|(k, v)| (k.clone(), Some(v.clone())))
            .collect();
        let user_properties: BTreeMap<String, String> = ct
            .properties
            .iter()
            .filter(|(k, _)| !is_delta_property(k))
            .cloned()
            .collect();
        let mut rows = None;
        // Registering a Delta table that is already at the LOCATION commits nothing.
        let mut write = None;

        let table = if let Some(plan) = source {
            // CTAS: table creation and data are one Delta commit.
            let mode = if exists_at_url {
                if !ct.or_replace {
                    return Err(EngineError::Duplicate {
                        sqlstate: "42P07",
                        message: format!("a Delta table already exists at '{url}'"),
                    });
                }
                SaveMode::Overwrite
            } else {
                SaveMode::ErrorIfExists
            };
            let targets: Vec<String> = plan
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect();
            self.note_written_columns(
                &format!("{c}.{s}.{t}"),
                &plan,
                &targets,
                &self.current_catalog(),
                &self.current_schema(),
            );
            let handle = storage.uninitialized_table(&url)?;
            let log_store = handle.log_store();
            let snapshot = if exists_at_url {
                Some(
                    storage
                        .open_table(&url)
                        .await?
                        .snapshot()?
                        .snapshot()
                        .clone(),
                )
            } else {
                None
            };
            let mut builder = WriteBuilder::new(log_store, snapshot)
                .with_input_plan(plan)
                .with_save_mode(mode);
            if mode == SaveMode::Overwrite {
                // CREATE OR REPLACE ... AS SELECT: the new query defines the schema.
                builder =
                    builder.with_schema_mode(deltalake::operations::write::SchemaMode::Overwrite);
            }
            let mut builder = builder
                .with_session_state(Arc::new(self.ctx.state()))
                .with_partition_columns(ct.partitioned_by.clone())
                .with_configuration(properties)
                .with_table_name(&t);
            let creating = self.begin_create(format!("{c}.{s}.{t}"), write_kind);
            builder = builder.with_commit_properties(creating.properties());
            write = Some(creating);
            if let Some(cm) = &ct.comment {
                builder = builder.with_description(cm);
            }
            let table = builder.await?;
            rows = Some(last_added_rows(&table).await);
            table
        } else if exists_at_url && !ct.or_replace {
            // Registering an existing Delta table: its schema comes from its log.
            let table = storage.open_table(&url).await?;
            if !ct.columns.is_empty() {
                let log_cols = columns_of(&table, &HashMap::new())?;
                let names: Vec<&str> = log_cols.iter().map(|c| c.name.as_str()).collect();
                let declared: Vec<&str> = ct.columns.iter().map(|c| c.name.as_str()).collect();
                if names != declared {
                    return Err(EngineError::invalid(format!(
                        "the declared columns ({}) do not match the Delta table at '{url}' ({})",
                        declared.join(", "),
                        names.join(", ")
                    )));
                }
            }
            table
        } else {
            if ct.columns.is_empty() {
                return Err(EngineError::syntax("CREATE TABLE needs a column list, AS SELECT, or a LOCATION holding a Delta table"));
            }
            let handle = storage.uninitialized_table(&url)?;
            let mut builder = CreateBuilder::new()
                .with_log_store(handle.log_store())
                .with_columns(kernel_fields(&ct.columns)?)
                .with_partition_columns(ct.partitioned_by.clone())
                .with_configuration(properties)
                .with_table_name(&t)
                .with_save_mode(if exists_at_url {
                    SaveMode::Overwrite
                } else {
                    SaveMode::ErrorIfExists
                });
            let creating = self.begin_create(
                format!("{c}.{s}.{t}"),
                if write_kind == WriteKind::CreateTableAsSelect {
                    WriteKind::CreateTable
                } else {
                    write_kind
                },
            );
            builder = builder.with_commit_properties(creating.properties());
            write = Some(creating);
            if let Some(cm) = &ct.comment {
                builder = builder.with_comment(cm);
            }
            builder.await?
        };

        let now = now_ms();
        let entry = TableEntry {
            id: existing
                .as_ref()
                .map(|e| e.id.clone())
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            catalog: c,
            schema: s,
            name: t,
            kind,
            location: Some(url.to_string()),
            columns: columns_of(&table, &comments)?,
            partition_columns: table.snapshot()?.metadata().partition_columns().to_vec(),
            properties: table
                .snapshot()?
                .metadata()
                .configuration()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .chain(user_properties)
                .collect(),
            comment: ct.comment.or_else(|| {
                table
                    .snapshot()
                    .ok()
                    .and_then(|s| s.metadata().description().map(str::to_string))
            }),
            view_definition: None,
            owner: existing
                .as_ref()
                .map(|e| e.owner.clone())
                .unwrap_or_else(|| self.user.clone()),
            created_at_ms: existing.as_ref().map(|e| e.created_at_ms).unwrap_or(now),
            updated_at_ms: now,
        };
        if let Err(e) = self.state.metastore.create_table(&entry, ct.or_replace) {
            // Do not leave an unreachable managed table behind.
            if kind == TableKind::Managed && existing.is_none() {
                let _ = storage.delete_tree(&url).await;
            }
            return Err(e.into());
        }
        match write {
            Some(write) => {
                let metrics = WriteMetrics {
                    rows_written: rows,
                    ..WriteMetrics::default()
                };
                write
                    .registered(entry)
                    .finish(table, metrics, MetastoreSync::NewTable)?;
            }
            None => self.state.tables.put(&entry.id, table),
        }
        Ok(rows)
    }
}
