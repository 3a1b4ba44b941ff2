//! SHOW and DESCRIBE: planned as ordinary plans over `information_schema` (or built from the
//! metastore), so they stream, describe and prepare like any SELECT on both fronts.

use arrow::datatypes::SchemaRef;
use datafusion::common::{Column, TableReference};
use datafusion::dataframe::DataFrame;
use datafusion::functions::expr_fn::regexp_like;
use datafusion::logical_expr::{lit, Expr, LogicalPlan};
use weir_catalog::TableKind;

use crate::batches::{batch, mem_table, Col};
use crate::error::{EngineError, Result};
use crate::parser::{ExternalLocationStatement, Statement};
use crate::session::Session;
use crate::system_tables::catalog::SYSTEM_CATALOG;
use crate::system_tables::listed::Listed;

/// A Databricks `LIKE` pattern (`*` any characters, `|` alternatives, case-insensitive) as a
/// predicate on `column`.
fn like_predicate(column: &str, pattern: Option<&str>) -> Expr {
    match pattern {
        None => lit(true),
        Some(p) => {
            let alternatives: Vec<String> = p
                .split('|')
                .map(|alt| {
                    alt.trim()
                        .chars()
                        .map(|ch| match ch {
                            '*' => ".*".to_string(),
                            c if c.is_alphanumeric() || c == '_' => c.to_string(),
                            c if c.is_ascii() => format!("\\{c}"),
                            c => c.to_string(),
                        })
                        .collect::<String>()
                })
                .collect();
            regexp_like(
                column_named(column),
                lit(format!("^({})$", alternatives.join("|"))),
                Some(lit("i")),
            )
        }
    }
}

/// Whether `name` matches a Databricks `LIKE` pattern (see [`like_predicate`]).
fn like_matches(pattern: Option<&str>, name: &str) -> bool {
    let Some(p) = pattern else {
        return true;
    };
    p.split('|').any(|alt| {
        let alt = alt.trim().to_lowercase();
        let name = name.to_lowercase();
        let parts: Vec<&str> = alt.split('*').collect();
        let mut rest = name.as_str();
        for (i, part) in parts.iter().enumerate() {
            if i == 0 {
                match rest.strip_prefix(part) {
                    Some(r) => rest = r,
                    None => return false,
                }
            } else if i == parts.len() - 1 {
                return rest.ends_with(part);
            } else {
                match rest.find(part) {
                    Some(at) => rest = &rest[at + part.len()..],
                    None => return false,
                }
            }
        }
        rest.is_empty()
    })
}

/// A column by its exact name.
fn column_named(name: &str) -> Expr {
    Expr::Column(Column::from_name(name))
}

impl Session {
    /// A view of `catalog`'s `information_schema`, as the session's user may read it.
    async fn information_schema(&self, catalog: &str, view: &str) -> Result<DataFrame> {
        let name = TableReference::full(
            catalog,
            crate::system_tables::information_schema::SCHEMA,
            view,
        );
        Ok(self.ctx.table(name).await?)
    }

    /// The plan of a row-returning Weir statement, or None for commands.
    pub(crate) async fn plan_rows(&self, stmt: &Statement) -> Result<Option<LogicalPlan>> {
        let m = &self.state.metastore;
        Ok(Some(match stmt {
            Statement::ShowCatalogs { like } => {
                let cat = self.current_catalog();
                self.information_schema(&cat, "catalogs")
                    .await?
                    .filter(like_predicate("catalog_name", like.as_deref()))?
                    .select(vec![column_named("catalog_name").alias("catalog")])?
                    .sort(vec![column_named("catalog").sort(true, false)])?
                    .into_unoptimized_plan()
            }
            Statement::ShowSchemas { catalog, like } => {
                let cat = catalog.clone().unwrap_or_else(|| self.current_catalog());
                let exists = if cat == SYSTEM_CATALOG {
                    Listed(&self.access()?).sees_system()?
                } else {
                    m.get_catalog(&cat)?.is_some()
                };
                if !exists {
                    return Err(EngineError::UndefinedCatalog(format!(
                        "catalog '{cat}' does not exist"
                    )));
                }
                // `system.information_schema` describes every catalog.
                self.information_schema(&cat, "schemata")
                    .await?
                    .filter(column_named("catalog_name").eq(lit(cat.as_str())))?
                    .filter(like_predicate("schema_name", like.as_deref()))?
                    .select(vec![column_named("schema_name").alias("databaseName")])?
                    .sort(vec![column_named("databaseName").sort(true, false)])?
                    .into_unoptimized_plan()
            }
            Statement::ShowTables { schema, like } => {
                let (c, s) = match schema {
                    Some(n) => self.qualify_schema(n)?,
                    None => (self.current_catalog(), self.current_schema()),
                };
                let exists = if c == SYSTEM_CATALOG {
                    Listed(&self.access()?).has_schema(&c, &s)?
                } else {
                    m.get_schema(&c, &s)?.is_some()
                };
                if !exists {
                    return Err(EngineError::UndefinedSchema(format!(
                        "schema '{c}.{s}' does not exist"
                    )));
                }
                self.information_schema(&c, "tables")
                    .await?
                    .filter(
                        column_named("table_catalog")
                            .eq(lit(c.as_str()))
                            .and(column_named("table_schema").eq(lit(s))),
                    )?
                    .filter(like_predicate("table_name", like.as_deref()))?
                    .select(vec![
                        column_named("table_schema").alias("database"),
                        column_named("table_name").alias("tableName"),
                        lit(false).alias("isTemporary"),
                    ])?
                    .sort(vec![column_named("tableName").sort(true, false)])?
                    .into_unoptimized_plan()
            }
            Statement::ShowColumns { table }
            | Statement::Describe {
                table,
                extended: false,
            } => {
                let (c, s, t) = self.qualify_table(table)?;
                self.visible_table(&c, &s, &t)?;
                let mut projection = vec![column_named("column_name").alias("col_name")];
                if !matches!(stmt, Statement::ShowColumns { .. }) {
                    projection.push(column_named("full_data_type").alias("data_type"));
                    projection.push(column_named("comment"));
                }
                self.information_schema(&c, "columns")
                    .await?
                    .filter(
                        column_named("table_catalog")
                            .eq(lit(c.as_str()))
                            .and(column_named("table_schema").eq(lit(s)))
                            .and(column_named("table_name").eq(lit(t))),
                    )?
                    .sort(vec![column_named("ordinal_position").sort(true, false)])?
                    .select(projection)?
                    .into_unoptimized_plan()
            }
            Statement::Describe {
                table,
                extended: true,
            } => {
                let (c, s, t) = self.qualify_table(table)?;
                let e = self.visible_table(&c, &s, &t)?;
                let (mut name, mut ty, mut comment) = (
                    Col::str_not_null("col_name"),
                    Col::str("data_type"),
                    Col::str("comment"),
                );
                let mut row = |a: &str, b: Option<String>, cm: Option<String>| {
                    name.push_str(Some(a));
                    ty.push_str(b);
                    comment.push_str(cm);
                };
                for col in &e.columns {
                    row(&col.name, Some(col.data_type.clone()), col.comment.clone());
                }
                if !e.partition_columns.is_empty() {
                    row("", Some(String::new()), None);
                    row("# Partition Information", None, None);
                    row(
                        "# col_name",
                        Some("data_type".into()),
                        Some("comment".into()),
                    );
                    for p in &e.partition_columns {
                        let col = e.columns.iter().find(|x| &x.name == p);
                        row(
                            p,
                            col.map(|c| c.data_type.clone()),
                            col.and_then(|c| c.comment.clone()),
                        );
                    }
                }
                row("", Some(String::new()), None);
                row("# Detailed Table Information", None, None);
                row("Catalog", Some(e.catalog.clone()), None);
                row("Database", Some(e.schema.clone()), None);
                row("Table", Some(e.name.clone()), None);
                row("Created Time", Some(fmt_ms(e.created_at_ms)), None);
                row("Owner", Some(e.owner.clone()), None);
                row("Type", Some(e.kind.as_str().into()), None);
                row("Comment", e.comment.clone(), None);
                if e.kind == TableKind::View {
                    row("View Text", e.view_definition.clone(), None);
                } else {
                    row("Location", e.location.clone(), None);
                    row("Provider", Some("delta".into()), None);
                    let props: Vec<String> = e
                        .properties
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect();
                    row(
                        "Table Properties",
                        Some(format!("[{}]", props.join(","))),
                        None,
                    );
                }
                mem_plan(batch(vec![name, ty, comment])?)?
            }
            Statement::ShowTblProperties { table, key } => {
                let (c, s, t) = self.qualify_table(table)?;
                let e = self.visible_table(&c, &s, &t)?;
                let (mut k, mut v) = (Col::str_not_null("key"), Col::str("value"));
                for (name, value) in &e.properties {
                    if key.as_ref().is_none_or(|wanted| wanted == name) {
                        k.push_str(Some(name.clone()));
                        v.push_str(Some(value.clone()));
                    }
                }
                mem_plan(batch(vec![k, v])?)?
            }
            Statement::DescribeHistory { table, limit } => self.history_plan(table, *limit).await?,
            Statement::DescribeDetail { table } => {
                let (c, s, t) = self.qualify_table(table)?;
                let e = self.visible_table(&c, &s, &t)?;
                let delta = self.state.latest_table(&e).await?;
                let snap = delta.snapshot()?;
                let files: Vec<_> = snap.log_data().iter().collect();
                let size: i64 = files.iter().map(|f| f.size()).sum();
                let protocol = snap.protocol();
                let mut cols = vec![
                    Col::str("format"),
                    Col::str("id"),
                    Col::str("name"),
                    Col::str("description"),
                    Col::str("location"),
                    Col::time("createdAt"),
                    Col::time("lastModified"),
                    Col::str("partitionColumns"),
                    Col::int("numFiles"),
                    Col::int("sizeInBytes"),
                    Col::str("properties"),
                    Col::int("minReaderVersion"),
                    Col::int("minWriterVersion"),
                    Col::str("tableFeatures"),
                ];
                let last_modified = snap
                    .version_timestamp(snap.version())
                    .unwrap_or(e.updated_at_ms);
                let features: Vec<String> = protocol
                    .writer_features()
                    .map(|f| f.iter().map(|x| x.to_string()).collect())
                    .unwrap_or_default();
                cols[0].push_str(Some("delta"));
                cols[1].push_str(Some(snap.metadata().id().to_string()));
                cols[2].push_str(Some(e.full_name()));
                cols[3].push_str(e.comment.clone());
                cols[4].push_str(e.location.clone());
                cols[5].push_int(Some(
                    snap.metadata().created_time().unwrap_or(e.created_at_ms),
                ));
                cols[6].push_int(Some(last_modified));
                cols[7].push_str(Some(
                    serde_json::to_string(&e.partition_columns).unwrap_or_default(),
                ));
                cols[8].push_int(Some(files.len() as i64));
                cols[9].push_int(Some(size));
                cols[10].push_str(Some(
                    serde_json::to_string(&e.properties).unwrap_or_default(),
                ));
                cols[11].push_int(Some(protocol.min_reader_version() as i64));
                cols[12].push_int(Some(protocol.min_writer_version() as i64));
                cols[13].push_str(Some(serde_json::to_string(&features).unwrap_or_default()));
                mem_plan(batch(cols)?)?
            }
            Statement::DescribeCatalog { name } => {
                let e = m.get_catalog(name)?.ok_or_else(|| {
                    EngineError::UndefinedCatalog(format!("catalog '{name}' does not exist"))
                })?;
                if !self.access()?.catalog_visible(name)? {
                    return Err(crate::access::denied(
                        &self.user,
                        weir_catalog::Privilege::Browse,
                        &weir_catalog::Securable::Catalog(name.clone()),
                    ));
                }
                info_rows(vec![
                    ("Catalog Name", Some(e.name)),
                    ("Comment", e.comment),
                    ("Owner", Some(e.owner)),
                    ("Managed Location", e.managed_location),
                    ("Created Time", Some(fmt_ms(e.created_at_ms))),
                ])?
            }
            Statement::DescribeSchema { name } => {
                let (c, s) = self.qualify_schema(name)?;
                let e = m.get_schema(&c, &s)?.ok_or_else(|| {
                    EngineError::UndefinedSchema(format!("schema '{c}.{s}' does not exist"))
                })?;
                if !self.access()?.schema_visible(&c, &s)? {
                    return Err(crate::access::denied(
                        &self.user,
                        weir_catalog::Privilege::UseSchema,
                        &weir_catalog::Securable::Schema(c.clone(), s.clone()),
                    ));
                }
                info_rows(vec![
                    ("Catalog Name", Some(e.catalog)),
                    ("Namespace Name", Some(e.name)),
                    ("Comment", e.comment),
                    ("Owner", Some(e.owner)),
                    ("Managed Location", e.managed_location),
                    ("Created Time", Some(fmt_ms(e.created_at_ms))),
                ])?
            }
            Statement::ShowProcedures { schema, like } => {
                let (c, s) = match schema {
                    Some(n) => self.qualify_schema(n)?,
                    None => (self.current_catalog(), self.current_schema()),
                };
                let access = self.access()?;
                let (mut cat, mut sch, mut name) = (
                    Col::str_not_null("catalog"),
                    Col::str_not_null("namespace"),
                    Col::str_not_null("procedure_name"),
                );
                for p in access.procedures(&c)? {
                    if p.schema != s || !like_matches(like.as_deref(), &p.name) {
                        continue;
                    }
                    cat.push_str(Some(p.catalog));
                    sch.push_str(Some(p.schema));
                    name.push_str(Some(p.name));
                }
                mem_plan(batch(vec![cat, sch, name])?)?
            }
            Statement::DescribeProcedure { name } => {
                let p = self.visible_procedure(name)?;
                let params = p
                    .params
                    .iter()
                    .map(|q| {
                        let mut text = format!("{} {} {}", q.mode.as_str(), q.name, q.data_type);
                        if let Some(d) = &q.default {
                            text.push_str(&format!(" DEFAULT {d}"));
                        }
                        if let Some(c) = &q.comment {
                            text.push_str(&format!(" COMMENT '{}'", c.replace('\'', "''")));
                        }
                        text
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                info_rows(vec![
                    ("Procedure", Some(p.full_name())),
                    ("Parameters", Some(params)),
                    ("Language", Some("SQL".into())),
                    (
                        "SQL Security",
                        Some(if p.definer { "DEFINER" } else { "INVOKER" }.into()),
                    ),
                    ("Comment", p.comment.clone()),
                    ("Owner", Some(p.owner.clone())),
                    ("Created Time", Some(fmt_ms(p.created_at_ms))),
                    ("Body", Some(p.body.clone())),
                ])?
            }
            Statement::ShowSchedules { schema, like } => {
                let (c, s) = match schema {
                    Some(n) => self.qualify_schema(n)?,
                    None => (self.current_catalog(), self.current_schema()),
                };
                let mut cols = vec![
                    Col::str_not_null("catalog"),
                    Col::str_not_null("namespace"),
                    Col::str_not_null("schedule_name"),
                    Col::str_not_null("procedure_name"),
                    Col::str_not_null("cron"),
                    Col::str_not_null("time_zone"),
                    Col::bool("enabled"),
                    Col::str_not_null("owner"),
                ];
                for sc in m.schedules()? {
                    if sc.catalog != c
                        || sc.schema != s
                        || !like_matches(like.as_deref(), &sc.name)
                        || !self.may_manage_schedule(&sc)?
                    {
                        continue;
                    }
                    cols[0].push_str(Some(sc.catalog));
                    cols[1].push_str(Some(sc.schema));
                    cols[2].push_str(Some(sc.name));
                    cols[3].push_str(Some(sc.procedure));
                    cols[4].push_str(Some(sc.cron));
                    cols[5].push_str(Some(sc.time_zone));
                    cols[6].push_bool(Some(sc.enabled));
                    cols[7].push_str(Some(sc.owner));
                }
                mem_plan(batch(cols)?)?
            }
            Statement::ExternalLocation(s) => match s.as_ref() {
                ExternalLocationStatement::Show { like } => {
                    let mut cols = vec![
                        Col::str_not_null("name"),
                        Col::str_not_null("url"),
                        Col::str("comment"),
                    ];
                    for l in m.list_external_locations()? {
                        if !like_matches(like.as_deref(), &l.name)
                            || !self.access()?.location_visible(&l.name)?
                        {
                            continue;
                        }
                        cols[0].push_str(Some(l.name));
                        cols[1].push_str(Some(l.url));
                        cols[2].push_str(l.comment);
                    }
                    mem_plan(batch(cols)?)?
                }
                ExternalLocationStatement::Describe { name } => {
                    let l = self.visible_location(name)?;
                    let mut cols = vec![
                        Col::str_not_null("name"),
                        Col::str_not_null("url"),
                        Col::str("comment"),
                        Col::str_not_null("owner"),
                        Col::time("created_at"),
                        Col::str_not_null("created_by"),
                        Col::time("updated_at"),
                    ];
                    cols[0].push_str(Some(l.name));
                    cols[1].push_str(Some(l.url));
                    cols[2].push_str(l.comment);
                    cols[3].push_str(Some(l.owner));
                    cols[4].push_int(Some(l.created_at_ms));
                    cols[5].push_str(Some(l.created_by));
                    cols[6].push_int(Some(l.updated_at_ms));
                    mem_plan(batch(cols)?)?
                }
                _ => return Ok(None),
            },
            Statement::DescribeSchedule { name } => {
                let sc = self.visible_schedule(name)?;
                info_rows(vec![
                    ("Schedule", Some(sc.full_name())),
                    ("Cron", Some(sc.cron.clone())),
                    ("Time Zone", Some(sc.time_zone.clone())),
                    ("Call", Some(sc.call.clone())),
                    ("Procedure", Some(sc.procedure.clone())),
                    ("Enabled", Some(sc.enabled.to_string())),
                    ("Next Fire Time", sc.next_fire_at_ms.map(fmt_ms)),
                    ("Last Fire Time", sc.last_fire_at_ms.map(fmt_ms)),
                    ("Last Run", sc.last_run_id.clone()),
                    ("Skipped Fires", Some(sc.skipped_fires.to_string())),
                    ("Comment", sc.comment.clone()),
                    ("Owner", Some(sc.owner.clone())),
                    ("Created Time", Some(fmt_ms(sc.created_at_ms))),
                ])?
            }
            Statement::ShowVariable { name } => {
                let value = match name.as_str() {
                    "search_path" => self.current_schema(),
                    "transaction_isolation" | "transaction isolation level" => {
                        "serializable".into()
                    }
                    "server_version" => crate::PG_SERVER_VERSION.into(),
                    "timezone" | "time zone" => {
                        self.variable("timezone").unwrap_or_else(|| "UTC".into())
                    }
                    crate::sql_dialect::DIALECT_SETTING => self.dialect().name().into(),
                    "standard_conforming_strings" => if self.dialect().backslash_escapes() {
                        "off"
                    } else {
                        "on"
                    }
                    .into(),
                    other => match self.variable(other) {
                        Some(v) => v,
                        None => match self
                            .ctx
                            .state()
                            .config()
                            .options()
                            .entries()
                            .into_iter()
                            .find(|e| e.key == other)
                        {
                            Some(e) => e.value.unwrap_or_default(),
                            None => {
                                return Err(EngineError::invalid(format!(
                                    "unrecognized configuration parameter \"{other}\""
                                )))
                            }
                        },
                    },
                };
                let mut col = Col::str(name);
                col.push_str(Some(value));
                mem_plan(batch(vec![col])?)?
            }
            _ => return Ok(None),
        }))
    }

    pub(crate) async fn result_schema(&self, stmt: &Statement) -> Result<Option<SchemaRef>> {
        match stmt {
            Statement::Restore { .. } => return Ok(Some(Session::restore_schema()?)),
            Statement::Merge { .. } => return Ok(Some(Session::merge_schema()?)),
            Statement::Optimize { .. } => return Ok(Some(Session::maintenance_schema(true)?)),
            Statement::Vacuum { .. } => return Ok(Some(Session::maintenance_schema(false)?)),
            Statement::Call(c) => return Ok(self.call_schema(c)),
            Statement::CopyInto(_) => return Ok(Some(crate::exec::copy_into::summary_schema()?)),
            _ => {}
        }
        let plan = match stmt {
            Statement::Governance(g) => self.governance_rows(g)?,
            other => self.plan_rows(other).await?,
        };
        Ok(plan.map(|p| std::sync::Arc::new(p.schema().as_arrow().clone())))
    }
}

fn info_rows(rows: Vec<(&str, Option<String>)>) -> Result<LogicalPlan> {
    let (mut k, mut v) = (Col::str_not_null("info_name"), Col::str("info_value"));
    for (a, b) in rows {
        k.push_str(Some(a));
        v.push_str(b);
    }
    mem_plan(batch(vec![k, v])?)
}

pub(crate) fn mem_plan(b: arrow::array::RecordBatch) -> Result<LogicalPlan> {
    use datafusion::datasource::provider_as_source;
    use datafusion::logical_expr::LogicalPlanBuilder;
    Ok(LogicalPlanBuilder::scan("result", provider_as_source(mem_table(b)?), None)?.build()?)
}

fn fmt_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.to_rfc3339())
        .unwrap_or_default()
}
