//! The one way a DataFusion `SessionState` is made. Sessions, view expansions, view checks and
//! policy functions all plan with the same functions (DataFusion's, the Postgres client
//! functions, Weir's) and the same planners, registered once per engine in the base state
//! ([`base_state`]); only what depends on who plans (catalog list, `current_user()`,
//! `is_member()`) and where (default catalog and schema) is added per state ([`state_for`]).

use std::sync::Arc;

use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use datafusion::execution::FunctionRegistry;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::engine_state::EngineState;
use crate::identity::{Identity, ViewPath};
use crate::namespace::WeirCatalogList;

/// The state every plan starts from, with every function and planner registered.
pub(crate) fn base_state(runtime: Arc<RuntimeEnv>) -> SessionState {
    let mut config = SessionConfig::new()
        .with_create_default_catalog_and_schema(false)
        .with_information_schema(false);
    // Names are case-insensitive; reading files by path is not a way around the catalog.
    config.options_mut().sql_parser.enable_ident_normalization = true;
    let base = SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(runtime)
        .with_default_features()
        // delta-rs's extension nodes (write metrics, merge) need its planner.
        .with_query_planner(deltalake::delta_datafusion::planner::DeltaPlanner::new())
        // Last in line: refuses a versioned relation that was not opened before planning,
        // which DataFusion would otherwise read at its latest state.
        .with_relation_planners(vec![Arc::new(crate::planner::HistoricRelations::default())])
        .build();
    // datafusion-pg-catalog registers its functions on a context.
    let ctx = SessionContext::new_with_state(base);
    crate::pg_compat::install_pg_functions(&ctx);
    for f in weir_udfs::pg_client_functions() {
        ctx.register_udf(f.as_ref().clone());
    }
    register_spark_functions(&ctx);
    ctx.state()
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
        if !taken(&scalars, f.name(), f.aliases()) {
            ctx.register_udf(f.as_ref().clone());
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

/// A state planning for `identity` in `catalog.schema`, inside the expansion of `views`.
pub(crate) fn state_for(
    engine: &Arc<EngineState>,
    catalog: &str,
    schema: &str,
    views: ViewPath,
    identity: Arc<Identity>,
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
    let mut state = SessionStateBuilder::new_from_existing(base.clone())
        .with_session_id(uuid::Uuid::new_v4().to_string())
        .with_config(config)
        .with_catalog_list(Arc::new(WeirCatalogList {
            state: engine.clone(),
            views,
            identity,
        }))
        .build();
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
