//! The one way a DataFusion `SessionState` is made. Sessions, view expansions, view checks and
//! policy functions all plan with the same functions (DataFusion's, the Postgres client
//! functions, Weir's) and the same planners, registered once per engine in the base state
//! ([`base_state`]); only what depends on who plans (catalog list, `current_user()`,
//! `is_member()`) and where (default catalog and schema) is added per state ([`state_for`]).

use std::sync::Arc;

use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::planner::ExprPlanner;
use datafusion::logical_expr::ScalarUDF;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::engine_state::EngineState;
use crate::identity::{Identity, ViewPath};
use crate::namespace::WeirCatalogList;
use crate::sql_dialect::SqlDialect;

/// The state every plan starts from, with every function and planner registered.
pub(crate) fn base_state(runtime: Arc<RuntimeEnv>) -> SessionState {
    let mut config = SessionConfig::new()
        .with_create_default_catalog_and_schema(false)
        .with_information_schema(false);
    // Names are case-insensitive; reading files by path is not a way around the catalog.
    config.options_mut().sql_parser.enable_ident_normalization = true;
    // Spark functions (datafusion-spark) raise errors as Databricks SQL's ANSI mode does.
    config.options_mut().execution.enable_ansi_mode = true;
    let base = SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(runtime)
        .with_default_features()
        // delta-rs's extension nodes (write metrics, merge) need its planner.
        .with_query_planner(deltalake::delta_datafusion::planner::DeltaPlanner::new())
        .with_relation_planners(vec![
            // Lateral views, generators, PIVOT and UNPIVOT.
            Arc::new(crate::planner::SparkRelations),
            // Last in line: refuses a versioned relation that was not opened before planning,
            // which DataFusion would otherwise read at its latest state.
            Arc::new(crate::planner::HistoricRelations::default()),
        ])
        .build();
    // datafusion-pg-catalog registers its functions on a context.
    let ctx = SessionContext::new_with_state(base);
    crate::pg_compat::install_pg_functions(&ctx);
    for f in weir_udfs::pg_client_functions() {
        ctx.register_udf(f.as_ref().clone());
    }
    register_spark_functions(&ctx);
    ctx.register_udf(weir_udfs::spark::type_of(crate::types::spark_type_name));
    ctx.register_udf(weir_udfs::spark::from_json(|text| {
        crate::types::parse_spark_type(text).map_err(|e| e.to_string())
    }));
    register_spark_aliases(&ctx);
    for f in weir_udfs::spark::additions() {
        if !ctx.udfs().contains(f.name()) {
            ctx.register_udf(f.as_ref().clone());
        }
    }
    // First: integer literals in arithmetic with INTs are INTs.
    let mut planners: Vec<Arc<dyn ExprPlanner>> = vec![Arc::new(crate::planner::IntegerLiterals)];
    planners.extend(ctx.state().expr_planners().iter().cloned());
    let mut state = SessionStateBuilder::new_from_existing(ctx.state())
        .with_expr_planners(planners)
        .build();
    // Last: after DataFusion's rules (type coercion among them).
    state.add_analyzer_rule(Arc::new(crate::planner::CheckedIntegerArithmetic::default()));
    state
}

/// Spark's functions (datafusion-spark) that no function registered before shares a name or
/// alias with: `if`, `regexp_extract`, `sha2`, `date_add`, ... come with Spark's semantics,
/// while a name DataFusion and the PostgreSQL clients already use (`concat`, `substr`, ...)
/// keeps its meaning until a session can choose Spark's.
fn register_spark_functions(ctx: &SessionContext) {
    let taken = |names: &std::collections::HashSet<String>, name: &str, aliases: &[String]| {
        names.contains(name) || aliases.iter().any(|a| names.contains(a))
    };
    let scalars = ctx.udfs();
    for f in datafusion_spark::all_default_scalar_functions() {
        if taken(&scalars, f.name(), f.aliases()) {
            continue;
        }
        match f.name() {
            // They take an INT of days or months; a literal is a BIGINT, a string may be a date.
            "date_add" | "date_sub" | "add_months" => {
                ctx.register_udf(weir_udfs::spark::CoercedArgs::date_days(f));
            }
            _ => ctx.register_udf(f.as_ref().clone()),
        }
    }
    let aggregates = ctx.udafs();
    for f in datafusion_spark::all_default_aggregate_functions() {
        if !taken(&aggregates, f.name(), f.aliases()) && !scalars.contains(f.name()) {
            ctx.register_udaf(f.as_ref().clone());
        }
    }
    let windows = ctx.udwfs();
    for f in datafusion_spark::all_default_window_functions() {
        if !taken(&windows, f.name(), f.aliases()) && !aggregates.contains(f.name()) {
            ctx.register_udwf(f.as_ref().clone());
        }
    }
}

/// Spark's names of functions DataFusion has under another name, with the same answers.
fn register_spark_aliases(ctx: &SessionContext) {
    let state = ctx.state();
    for (name, aliases) in [
        ("starts_with", &["startswith"][..]),
        ("ends_with", &["endswith"]),
        ("lower", &["lcase"]),
        ("upper", &["ucase"]),
        ("character_length", &["len"]),
    ] {
        match state.scalar_functions().get(name) {
            Some(f) => ctx.register_udf(f.as_ref().clone().with_aliases(aliases.iter().copied())),
            None => tracing::error!("DataFusion has no function {name}"),
        }
    }
    for (name, aliases) in [
        ("approx_distinct", &["approx_count_distinct"][..]),
        ("var", &["variance"]),
        ("stddev", &["std"]),
        ("bool_and", &["every"]),
    ] {
        match state.aggregate_functions().get(name) {
            Some(f) => ctx.register_udaf(f.as_ref().clone().with_aliases(aliases.iter().copied())),
            None => tracing::error!("DataFusion has no aggregate function {name}"),
        }
    }
    // Spark's higher-order functions: DataFusion's, under Spark's names (`exists` is read as
    // `array_any_match` by the parser, `forall` rewritten to it).
    for (name, aliases) in [
        ("array_transform", &["list_transform", "transform"][..]),
        ("array_filter", &["list_filter", "filter"]),
    ] {
        match state.higher_order_functions().get(name) {
            Some(f) => ctx.register_higher_order_function(Arc::new(
                f.as_ref().clone().with_aliases(aliases.iter().copied()),
            )),
            None => tracing::error!("DataFusion has no higher-order function {name}"),
        }
    }
    ctx.register_udaf(weir_udfs::spark::percentile_approx().as_ref().clone());
    // Integer overflow is 22003, never a wrapped answer or an internal error.
    match state.aggregate_functions().get("sum") {
        Some(f) => ctx.register_udaf(weir_udfs::spark::checked_sum(f)),
        None => tracing::error!("DataFusion has no aggregate function sum"),
    }
    match state.scalar_functions().get("abs") {
        Some(f) => ctx.register_udf(weir_udfs::spark::checked_abs(f)),
        None => tracing::error!("DataFusion has no function abs"),
    }
    // A half away from zero of the number as written (`round(1.005, 2)` is 1.01, as in
    // Databricks SQL and PostgreSQL's numeric; DataFusion's rounds the binary value to 1.0).
    ctx.register_udf(weir_udfs::spark::round());
    // `sequence(start, stop[, step])`: DataFusion's `generate_series` with Spark's default step.
    match state.scalar_functions().get("generate_series") {
        Some(f) => ctx.register_udf(weir_udfs::spark::sequence(f)),
        None => tracing::error!("DataFusion has no function generate_series"),
    }
    // `unix_timestamp(expr[, pattern])`: DataFusion's `to_unixtime` with Spark's patterns.
    match state.scalar_functions().get("to_unixtime") {
        Some(f) => ctx.register_udf(weir_udfs::spark::SparkPatterns::named(
            "unix_timestamp",
            f.clone(),
        )),
        None => tracing::error!("DataFusion has no function to_unixtime"),
    }
}

/// Spark's versions of functions whose DataFusion namesakes answer otherwise, for
/// Databricks SQL: `concat` (NULL with a NULL argument), `substring`/`substr` (a negative
/// start counts from the end), `ceil`/`floor` (BIGINT), `element_at` (1-based arrays; a map's value), and the
/// functions taking datetime patterns, which read Spark's patterns.
fn databricks_functions(base: &SessionState) -> Vec<Arc<ScalarUDF>> {
    use datafusion_spark::function::{math, string};
    // `ceil`/`floor` of a DOUBLE are BIGINT in Spark (DataFusion keeps DOUBLE).
    let mut functions = vec![
        string::concat(),
        string::substring(),
        math::ceil(),
        math::floor(),
    ];
    functions.extend(weir_udfs::spark::databricks_replacements());
    for name in ["to_char", "to_date", "to_timestamp", "to_unixtime"] {
        match base.scalar_functions().get(name) {
            Some(f) => functions.push(Arc::new(weir_udfs::spark::SparkPatterns::wrap(f.clone()))),
            None => tracing::error!("DataFusion has no function {name}"),
        }
    }
    functions
}

/// Gives `state` the semantics of `dialect` where Databricks SQL and PostgreSQL differ
/// (see `sql_dialect`): NULL ordering, functions, and how `[]` indexes arrays.
fn apply_dialect(
    builder: SessionStateBuilder,
    base: &SessionState,
    dialect: SqlDialect,
) -> SessionStateBuilder {
    let mut builder = builder;
    if let Some(config) = builder.config().as_mut() {
        config.options_mut().sql_parser.default_null_ordering = dialect.null_ordering().to_string();
    }
    if dialect == SqlDialect::Databricks {
        let mut planners: Vec<Arc<dyn ExprPlanner>> =
            vec![Arc::new(crate::planner::DatabricksExprs::default())];
        planners.extend(base.expr_planners().iter().cloned());
        builder = builder.with_expr_planners(planners);
        if let Some(functions) = builder.scalar_functions().as_mut() {
            functions.extend(databricks_functions(base));
        }
    }
    builder
}

/// A state planning for `identity` in `catalog.schema`, inside the expansion of `views`, with
/// the semantics of `dialect`.
pub(crate) fn state_for(
    engine: &Arc<EngineState>,
    catalog: &str,
    schema: &str,
    views: ViewPath,
    identity: Arc<Identity>,
    dialect: SqlDialect,
) -> SessionState {
    let user = identity.user.clone();
    let identity_rights = identity.rights.clone();
    let base = &engine.base_state;
    let mut config = base.config().clone();
    let options = config.options_mut();
    options.catalog.default_catalog = catalog.to_string();
    options.catalog.default_schema = schema.to_string();
    // A view plans with the settings of the session that reads it (its time zone).
    if let Some(execution) = identity.execution() {
        options.execution = execution;
    }
    let builder = SessionStateBuilder::new_from_existing(base.clone())
        .with_session_id(uuid::Uuid::new_v4().to_string())
        .with_config(config)
        .with_catalog_list(Arc::new(WeirCatalogList {
            state: engine.clone(),
            views,
            identity,
        }));
    let mut state = apply_dialect(builder, base, dialect).build();
    // `current_user()` and `is_member()` answer for the user running the statement, in
    // view and policy plans too.
    // `system.access.lineage_upstream(...)` and `..._downstream(...)`, read with the rights
    // the plan is made with.
    let lineage = crate::planner::LineageFunctions {
        log: engine.audit.clone(),
        metastore: engine.metastore.clone(),
        rights: identity_rights,
    };
    if let Err(e) = state.register_relation_planner(Arc::new(lineage)) {
        tracing::error!("registering the lineage functions: {e}");
    }
    let membership = Arc::new(crate::access::MetastoreMembership(engine.metastore.clone()));
    for f in weir_udfs::session_functions(&user, &crate::server_version())
        .into_iter()
        .chain(weir_udfs::membership_functions(&user, membership))
    {
        if let Err(e) = state.register_udf(f) {
            tracing::error!("registering session function: {e}");
        }
    }
    state
}
