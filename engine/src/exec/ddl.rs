//! Namespace and table DDL: every change is made in Delta first (when data is involved) and
//! then recorded in the metastore in one SQLite transaction.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow::datatypes::{Field, Schema};
use datafusion::logical_expr::LogicalPlan;
use deltalake::kernel::engine::arrow_conversion::TryIntoKernel;
use deltalake::kernel::{StructField, StructType};
use deltalake::operations::create::CreateBuilder;
use deltalake::operations::write::WriteBuilder;
use deltalake::protocol::SaveMode;
use deltalake::DeltaTable;
use url::Url;
use weir_catalog::{ColumnEntry, Privilege, Securable, TableEntry, TableKind, DEFAULT_SCHEMA};

use crate::delta::commit::{MetastoreSync, WriteKind, WriteMetrics};
use crate::delta::schema::{column_comments, columns_of};
use crate::error::{EngineError, Result};
use crate::output::StatementOutput;
use crate::parser::{AlterTableOp, ColumnDef, CreateTable, Statement, TagTarget};
use crate::session::Session;
use crate::storage::StorageConfig;
use crate::types::{parse_spark_type, spark_type_name};

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn is_delta_property(key: &str) -> bool {
    key.starts_with("delta.")
}

fn kernel_fields(cols: &[ColumnDef]) -> Result<Vec<StructField>> {
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
    pub(crate) async fn execute_ddl(&mut self, stmt: Statement) -> Result<StatementOutput> {
        let kind = stmt.kind();
        let m = self.state.metastore.clone();
        let user = self.user.clone();
        let done = |rows: Option<u64>| Ok(StatementOutput::Command { kind, rows });
        match stmt {
            Statement::CreateCatalog {
                name,
                if_not_exists,
                managed_location,
                comment,
            } => {
                if name == crate::system_tables::catalog::SYSTEM_CATALOG {
                    return Err(EngineError::Coded {
                        sqlstate: "42939",
                        message: format!("'{name}' is the built-in system catalog's name"),
                    });
                }
                let access = self.access()?;
                access.require(&Securable::Metastore, Privilege::CreateCatalog)?;
                let loc = self.resolve_managed_location(&access, managed_location)?;
                m.create_catalog(
                    &name,
                    comment.as_deref(),
                    loc.as_ref().map(Url::as_str),
                    &user,
                    if_not_exists,
                )?;
                done(None)
            }
            Statement::DropCatalog {
                name,
                if_exists,
                cascade,
            } => {
                if name == crate::system_tables::catalog::SYSTEM_CATALOG {
                    return Err(crate::system_tables::catalog::missing_catalog(&name));
                }
                if m.get_catalog(&name)?.is_none() && if_exists {
                    return done(None);
                }
                if m.get_catalog(&name)?.is_some() {
                    self.access()?
                        .require_manage(&Securable::Catalog(name.clone()))?;
                }
                if name == self.current_catalog() {
                    return Err(EngineError::invalid(format!(
                        "cannot drop the current catalog '{name}'; USE another catalog first"
                    )));
                }
                let tables = m.drop_catalog(&name, cascade)?;
                self.remove_managed_data(&tables).await;
                done(None)
            }
            Statement::CreateSchema {
                name,
                if_not_exists,
                managed_location,
                comment,
            } => {
                let (c, s) = self.qualify_schema(&name)?;
                if m.get_catalog(&c)?.is_none() {
                    return Err(crate::system_tables::catalog::missing_catalog(&c));
                }
                let access = self.access()?;
                access.require_use(&c, None)?;
                access.require(&Securable::Catalog(c.clone()), Privilege::CreateSchema)?;
                let loc = self.resolve_managed_location(&access, managed_location)?;
                m.create_schema(
                    &c,
                    &s,
                    comment.as_deref(),
                    loc.as_ref().map(Url::as_str),
                    &user,
                    if_not_exists,
                )?;
                done(None)
            }
            Statement::DropSchema {
                name,
                if_exists,
                cascade,
            } => {
                let (c, s) = self.qualify_schema(&name)?;
                if c == crate::system_tables::catalog::SYSTEM_CATALOG {
                    return Err(crate::system_tables::catalog::missing_catalog(&c));
                }
                if m.get_schema(&c, &s)?.is_none() && if_exists {
                    return done(None);
                }
                if m.get_schema(&c, &s)?.is_some() {
                    self.access()?
                        .require_manage(&Securable::Schema(c.clone(), s.clone()))?;
                }
                let tables = m.drop_schema(&c, &s, cascade)?;
                self.remove_managed_data(&tables).await;
                if c == self.current_catalog() && s == self.current_schema() {
                    self.set_current(&c, DEFAULT_SCHEMA);
                }
                done(None)
            }
            Statement::UseCatalog(c) => {
                if m.get_catalog(&c)?.is_none() {
                    return Err(crate::system_tables::catalog::missing_catalog(&c));
                }
                self.access()?.require_use(&c, None)?;
                self.set_current(&c, DEFAULT_SCHEMA);
                done(None)
            }
            Statement::UseSchema(name) => {
                let (c, s) = self.qualify_schema(&name)?;
                if m.get_catalog(&c)?.is_none() {
                    return Err(crate::system_tables::catalog::missing_catalog(&c));
                }
                if m.get_schema(&c, &s)?.is_none() {
                    return Err(EngineError::UndefinedSchema(format!(
                        "schema '{c}.{s}' does not exist"
                    )));
                }
                self.access()?.require_use(&c, Some(&s))?;
                self.set_current(&c, &s);
                done(None)
            }
            Statement::CreateTable(ct) => {
                let rows = self.create_table(*ct).await?;
                done(rows)
            }
            Statement::CreateView {
                name,
                or_replace,
                if_not_exists,
                comment,
                query,
                text,
            } => {
                let (c, s, t) = self.qualify_table(&name)?;
                let access = self.access()?;
                access.require_create(&c, &s, Privilege::CreateTable)?;
                if let Some(existing) = m.get_table(&c, &s, &t)? {
                    if if_not_exists {
                        return done(None);
                    }
                    if or_replace {
                        access.require_manage(&crate::access::table_securable(&existing))?;
                    }
                    if !or_replace {
                        return Err(EngineError::Duplicate {
                            sqlstate: "42P07",
                            message: format!("'{c}.{s}.{t}' already exists"),
                        });
                    }
                    if existing.kind != TableKind::View {
                        return Err(EngineError::WrongObjectType(format!(
                            "'{c}.{s}.{t}' is a table, not a view"
                        )));
                    }
                }
                let sql = text;
                // Plan now, as the view's readers will: a view that does not plan is rejected.
                let plan = crate::planner::plan_query(
                    &crate::session::new_session_state(&self.state, &c, &s, self.identity.clone()),
                    (*query).clone(),
                )
                .await?;
                if references_table(&plan, &c, &s, &t) {
                    return Err(EngineError::invalid(format!(
                        "view '{c}.{s}.{t}' cannot reference itself"
                    )));
                }
                let columns = plan
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| ColumnEntry {
                        name: f.name().clone(),
                        data_type: spark_type_name(f.data_type()),
                        nullable: f.is_nullable(),
                        comment: None,
                    })
                    .collect();
                let now = now_ms();
                m.create_table(
                    &TableEntry {
                        id: uuid::Uuid::new_v4().to_string(),
                        catalog: c,
                        schema: s,
                        name: t,
                        kind: TableKind::View,
                        location: None,
                        columns,
                        partition_columns: vec![],
                        properties: BTreeMap::new(),
                        comment,
                        view_definition: Some(sql),
                        owner: user,
                        created_at_ms: now,
                        updated_at_ms: now,
                    },
                    or_replace,
                )?;
                done(None)
            }
            Statement::DropTable {
                name,
                if_exists,
                view,
            } => {
                let (c, s, t) = self.qualify_table(&name)?;
                let entry = match self.lookup_table(&c, &s, &t) {
                    Ok(e) => e,
                    Err(EngineError::UndefinedTable(_)) if if_exists => return done(None),
                    Err(e) => return Err(e),
                };
                self.access()?
                    .require_manage(&crate::access::table_securable(&entry))?;
                if view != (entry.kind == TableKind::View) {
                    return Err(EngineError::WrongObjectType(format!(
                        "'{}' is a {}; use DROP {}",
                        entry.full_name(),
                        if view { "table" } else { "view" },
                        if view { "TABLE" } else { "VIEW" }
                    )));
                }
                let entry = m.drop_table(&c, &s, &t)?;
                self.remove_managed_data(std::slice::from_ref(&entry)).await;
                done(None)
            }
            Statement::AlterTable { name, op } => {
                self.alter_table(&name, op).await?;
                done(None)
            }
            Statement::CommentOn { target, comment } => {
                if !matches!(target, TagTarget::Column(..)) {
                    let (on, _) = self.tag_securable(&target)?;
                    self.access()?.require_manage(&on)?;
                }
                match target {
                    TagTarget::Catalog(n) => {
                        m.set_catalog_comment(&n.join("."), comment.as_deref())?
                    }
                    TagTarget::Schema(n) => {
                        let (c, s) = self.qualify_schema(&n)?;
                        m.set_schema_comment(&c, &s, comment.as_deref())?
                    }
                    TagTarget::Table(n) => {
                        let (c, s, t) = self.qualify_table(&n)?;
                        let mut e = self.lookup_table(&c, &s, &t)?;
                        e.comment = comment;
                        m.update_table(&e)?;
                    }
                    TagTarget::Column(n, col) => {
                        self.alter_table(
                            &n,
                            AlterTableOp::ColumnComment {
                                column: col,
                                comment,
                            },
                        )
                        .await?
                    }
                }
                done(None)
            }
            Statement::SetTags { target, tags } => {
                let (on, col) = self.tag_securable(&target)?;
                self.access()?.require_manage(&on)?;
                m.set_tags(&on, col.as_deref(), &tags)?;
                done(None)
            }
            Statement::UnsetTags { target, keys } => {
                let (on, col) = self.tag_securable(&target)?;
                self.access()?.require_manage(&on)?;
                m.unset_tags(&on, col.as_deref(), &keys)?;
                done(None)
            }
            other => Err(EngineError::Internal(format!(
                "statement {other:?} reached DDL dispatch"
            ))),
        }
    }

    fn tag_securable(&self, target: &TagTarget) -> Result<(Securable, Option<String>)> {
        let m = &self.state.metastore;
        Ok(match target {
            TagTarget::Catalog(n) => {
                let c = n.join(".");
                if m.get_catalog(&c)?.is_none() {
                    return Err(crate::system_tables::catalog::missing_catalog(&c));
                }
                (Securable::Catalog(c), None)
            }
            TagTarget::Schema(n) => {
                let (c, s) = self.qualify_schema(n)?;
                if m.get_schema(&c, &s)?.is_none() {
                    return Err(EngineError::UndefinedSchema(format!(
                        "schema '{c}.{s}' does not exist"
                    )));
                }
                (Securable::Schema(c, s), None)
            }
            TagTarget::Table(n) => {
                let (c, s, t) = self.qualify_table(n)?;
                self.lookup_table(&c, &s, &t)?;
                (Securable::Table(c, s, t), None)
            }
            TagTarget::Column(n, col) => {
                let (c, s, t) = self.qualify_table(n)?;
                let e = self.lookup_table(&c, &s, &t)?;
                if !e.columns.iter().any(|x| &x.name == col) {
                    return Err(EngineError::UndefinedColumn(format!(
                        "column '{col}' does not exist in '{}'",
                        e.full_name()
                    )));
                }
                (Securable::Table(c, s, t), Some(col.clone()))
            }
        })
    }

    /// Deletes the data of managed tables that were dropped. A failure here leaves orphaned
    /// files, never a dangling metastore entry, so it is logged rather than returned.
    async fn remove_managed_data(&self, tables: &[TableEntry]) {
        for t in tables {
            self.state.tables.evict(&t.id);
        }
        for t in tables.iter().filter(|t| t.kind == TableKind::Managed) {
            if let Some(loc) = &t.location {
                let result = match self.state.storage.resolve_location(loc) {
                    Ok(url) => self.state.storage.delete_tree(&url).await,
                    Err(e) => Err(e),
                };
                if let Err(e) = result {
                    tracing::warn!(table = %t.full_name(), location = %loc, "could not remove managed data: {e}");
                }
            }
        }
    }

    fn managed_location(&self, c: &str, s: &str, t: &str) -> Result<Url> {
        let m = &self.state.metastore;
        let schema = m.get_schema(c, s)?.ok_or_else(|| {
            EngineError::UndefinedSchema(format!("schema '{c}.{s}' does not exist"))
        })?;
        let catalog = m
            .get_catalog(c)?
            .ok_or_else(|| crate::system_tables::catalog::missing_catalog(&c))?;
        // The directory name keeps only safe characters of the table name: a name such as
        // `?x` or `/x` must never change where the URL points.
        let readable: String = t
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .take(64)
            .collect();
        let leaf = format!("{readable}-{}", uuid::Uuid::new_v4().simple());
        let root = if let Some(l) = schema.managed_location {
            Url::parse(&l).map_err(|e| EngineError::Internal(e.to_string()))?
        } else if let Some(l) = catalog.managed_location {
            StorageConfig::child(
                &Url::parse(&l).map_err(|e| EngineError::Internal(e.to_string()))?,
                s,
            )?
        } else {
            StorageConfig::child(&StorageConfig::child(&self.state.storage.warehouse, c)?, s)?
        };
        StorageConfig::child(&root, &leaf)
    }

    /// A `MANAGED LOCATION` of CREATE CATALOG / SCHEMA, resolved: an admin's to set.
    fn resolve_managed_location(
        &self,
        access: &crate::access::Access,
        location: Option<String>,
    ) -> Result<Option<Url>> {
        if location.is_some() {
            access.require_admin("set a MANAGED LOCATION")?;
        }
        location
            .map(|l| self.state.storage.resolve_location(&l))
            .transpose()
    }

    async fn create_table(&mut self, ct: CreateTable) -> Result<Option<u64>> {
        let source = match &ct.as_query {
            Some(query) => {
                Some(crate::planner::plan_query(&self.ctx.state(), (**query).clone()).await?)
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

    async fn alter_table(&mut self, name: &[String], op: AlterTableOp) -> Result<()> {
        let (c, s, t) = self.qualify_table(name)?;
        let mut entry = self.lookup_table(&c, &s, &t)?;
        let m = self.state.metastore.clone();
        let is_view = entry.kind == TableKind::View;
        // Changing a table is its owner's (or a MANAGE holder's) business.
        let access = self.access()?;
        access.require_use(&c, Some(&s))?;
        access.require_manage(&crate::access::table_securable(&entry))?;
        match op {
            AlterTableOp::SetMask {
                column,
                function,
                using,
            } => self.set_policy(&access, &entry, Some(&column), Some((&function, &using)))?,
            AlterTableOp::DropMask { column } => {
                self.set_policy(&access, &entry, Some(&column), None)?
            }
            AlterTableOp::SetRowFilter { function, columns } => {
                self.set_policy(&access, &entry, None, Some((&function, &columns)))?
            }
            AlterTableOp::DropRowFilter => self.set_policy(&access, &entry, None, None)?,
            AlterTableOp::RenameTo(to) => {
                let (c2, s2, t2) = self.qualify_table(&to)?;
                access.require_create(&c2, &s2, Privilege::CreateTable)?;
                if c2 != c {
                    return Err(EngineError::invalid(
                        "ALTER TABLE ... RENAME TO cannot move a table to another catalog",
                    ));
                }
                m.rename_table(&entry, &s2, &t2)?;
            }
            AlterTableOp::AddCheck { name, expr } => {
                let write = self.begin_write(&entry, WriteKind::AddConstraint).await?;
                let table = write
                    .table()?
                    .add_constraint()
                    .with_constraint(name.clone(), expr.as_str())
                    .with_session_state(Arc::new(self.ctx.state()))
                    .with_commit_properties(write.properties())
                    .await
                    .map_err(|e| match EngineError::from(e) {
                        // Existing rows that fail the check: the constraint is not added.
                        EngineError::NotNullViolation(m) | EngineError::DataException(m) => {
                            EngineError::Coded {
                                sqlstate: "23514",
                                message: format!(
                                    "check constraint \"{name}\" of table '{}' is violated by some row: {m}",
                                    entry.full_name()
                                ),
                            }
                        }
                        other => other,
                    })?;
                write.finish(table, WriteMetrics::default(), MetastoreSync::Properties)?;
            }
            AlterTableOp::DropConstraint { name, if_exists } => {
                let write = self.begin_write(&entry, WriteKind::DropConstraint).await?;
                let table = write
                    .table()?
                    .drop_constraints()
                    .with_constraint(name.clone())
                    .with_raise_if_not_exists(!if_exists)
                    .with_commit_properties(write.properties())
                    .await
                    .map_err(|e| match EngineError::from(e) {
                        EngineError::Storage(_) | EngineError::Internal(_) if !if_exists => {
                            EngineError::Coded {
                                sqlstate: "42704",
                                message: format!(
                                    "constraint \"{name}\" of table '{}' does not exist",
                                    entry.full_name()
                                ),
                            }
                        }
                        other => other,
                    })?;
                write.finish(table, WriteMetrics::default(), MetastoreSync::Properties)?;
            }
            AlterTableOp::OwnerTo(owner) => {
                if !m.principal_exists(&owner)? {
                    return Err(EngineError::Coded {
                        sqlstate: "42704",
                        message: format!("principal '{owner}' does not exist"),
                    });
                }
                access.require_may_give_to(&owner)?;
                entry.owner = owner;
                m.update_table(&entry)?;
            }
            AlterTableOp::ColumnComment { column, comment } => {
                let col = entry
                    .columns
                    .iter_mut()
                    .find(|x| x.name == column)
                    .ok_or_else(|| {
                        EngineError::UndefinedColumn(format!(
                            "column '{column}' does not exist in '{c}.{s}.{t}'"
                        ))
                    })?;
                col.comment = comment;
                m.update_table(&entry)?;
            }
            _ if is_view => {
                return Err(EngineError::WrongObjectType(format!(
                    "'{c}.{s}.{t}' is a view"
                )))
            }
            AlterTableOp::AddColumns(cols) => {
                for col in &cols {
                    if entry.columns.iter().any(|x| x.name == col.name) {
                        return Err(EngineError::Duplicate {
                            sqlstate: "42701",
                            message: format!("column '{}' already exists", col.name),
                        });
                    }
                    if !col.nullable {
                        return Err(EngineError::invalid(format!("added column '{}' must be nullable: existing rows have no value for it", col.name)));
                    }
                }
                let write = self.begin_write(&entry, WriteKind::AddColumns).await?;
                let table = write
                    .table()?
                    .add_columns()
                    .with_fields(kernel_fields(&cols)?)
                    .with_commit_properties(write.properties())
                    .await?;
                let comments = column_comments(
                    entry
                        .columns
                        .iter()
                        .map(|c| (c.name.as_str(), c.comment.as_ref()))
                        .chain(cols.iter().map(|c| (c.name.as_str(), c.comment.as_ref()))),
                );
                entry.columns = columns_of(&table, &comments)?;
                m.update_table(&entry)?;
                write.finish(table, WriteMetrics::default(), MetastoreSync::Data)?;
            }
            AlterTableOp::SetProperties(props) => {
                let (delta_props, user_props): (Vec<_>, Vec<_>) =
                    props.into_iter().partition(|(k, _)| is_delta_property(k));
                if !delta_props.is_empty() {
                    let write = self.begin_write(&entry, WriteKind::SetProperties).await?;
                    let table = write
                        .table()?
                        .set_tbl_properties()
                        .with_properties(delta_props.into_iter().collect())
                        .with_commit_properties(write.properties())
                        .await?;
                    if let Some(updated) =
                        write.finish(table, WriteMetrics::default(), MetastoreSync::Properties)?
                    {
                        entry = updated;
                    }
                }
                entry.properties.extend(user_props);
                m.update_table(&entry)?;
            }
            AlterTableOp::UnsetProperties(keys) => {
                return Err(EngineError::not_supported(format!(
                    "UNSET TBLPROPERTIES ({}) is not supported yet",
                    keys.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// A failed validation of written rows, named as the constraint kind the table has: delta-rs
    /// checks NOT NULL columns and CHECK constraints in one pass with one message.
    pub(crate) fn constraint_error(entry: &TableEntry, e: EngineError) -> EngineError {
        let checks: Vec<String> = entry
            .properties
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix("delta.constraints.")
                    .map(|n| format!("{n}: {v}"))
            })
            .collect();
        match e {
            EngineError::NotNullViolation(m) if !checks.is_empty() && m.contains("validation check") => {
                EngineError::Coded {
                    sqlstate: "23514",
                    message: format!(
                        "new rows for table '{}' violate its constraints (CHECK {}; or a NOT NULL column): {m}",
                        entry.full_name(),
                        checks.join(", ")
                    ),
                }
            }
            other => other,
        }
    }

    /// Appends (or overwrites with) the result of `input` as one Delta commit; returns rows written.
    pub(crate) async fn write_to_table(
        &mut self,
        entry: &TableEntry,
        input: LogicalPlan,
        kind: WriteKind,
    ) -> Result<u64> {
        if entry.kind == TableKind::View {
            return Err(EngineError::WrongObjectType(format!(
                "cannot write to view '{}'",
                entry.full_name()
            )));
        }
        let write = self.begin_write(entry, kind).await?;
        let table = write.table()?;
        let input = cast_to_table_schema(input, &table).await?;
        let snapshot = table.snapshot()?.snapshot().clone();
        let table = WriteBuilder::new(table.log_store(), Some(snapshot))
            .with_input_plan(input)
            .with_save_mode(if kind == WriteKind::InsertOverwrite {
                SaveMode::Overwrite
            } else {
                SaveMode::Append
            })
            .with_session_state(Arc::new(self.ctx.state()))
            .with_commit_properties(write.properties())
            .await
            .map_err(|e| Self::constraint_error(entry, e.into()))?;
        let rows = last_added_rows(&table).await;
        write.finish(table, WriteMetrics::written(rows), MetastoreSync::Data)?;
        Ok(rows)
    }
}

/// Casts each input column to the table's type. The planner casts INSERT sources, but a bound
/// parameter can arrive with its own type (a driver sending `timestamp` for a `TIMESTAMP` column
/// that Delta stores with a time zone), and Delta must not see a different schema.
async fn cast_to_table_schema(input: LogicalPlan, table: &DeltaTable) -> Result<LogicalPlan> {
    use datafusion::catalog::TableProvider;
    use datafusion::logical_expr::{cast, col, LogicalPlanBuilder};
    let target = crate::delta::scan::DeltaTableScan::try_new(table)
        .await?
        .schema();
    let source = input.schema().clone();
    if source.fields().len() != target.fields().len() {
        return Ok(input);
    }
    let exprs: Vec<_> = source
        .fields()
        .iter()
        .zip(target.fields())
        .map(|(s, t)| {
            let c = col(datafusion::common::Column::from_name(s.name()));
            if s.data_type() == t.data_type() {
                c.alias(t.name())
            } else {
                cast(c, t.data_type().clone()).alias(t.name())
            }
        })
        .collect();
    Ok(LogicalPlanBuilder::from(input).project(exprs)?.build()?)
}

/// Rows added by the table's latest commit, from its commitInfo metrics.
async fn last_added_rows(table: &DeltaTable) -> u64 {
    use futures::StreamExt;
    let mut history = table.history(Some(1));
    if let Some(Ok(info)) = history.next().await {
        if let Some(v) = info
            .info
            .get("operationMetrics")
            .and_then(|m| m.get("num_added_rows"))
        {
            return v
                .as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .unwrap_or(0);
        }
    }
    0
}

fn references_table(plan: &LogicalPlan, c: &str, s: &str, t: &str) -> bool {
    use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
    let mut found = false;
    let _ = plan.apply(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            let r = &scan.table_name;
            if r.table() == t
                && r.schema().is_none_or(|x| x == s)
                && r.catalog().is_none_or(|x| x == c)
            {
                found = true;
                return Ok(TreeNodeRecursion::Stop);
            }
        }
        Ok(TreeNodeRecursion::Continue)
    });
    found
}
