//! Who a plan is made for: the user running the statement and whose rights resolve tables
//! (the user, or inside a view its owner), and the views being expanded on the way.

use std::sync::{Arc, Mutex};

/// Ids of the views being expanded, outermost first: a view met again is a cycle.
pub type ViewPath = Arc<Vec<String>>;

/// Who a plan is made for: `user` runs the statement (`current_user()` answers it); `rights` is
/// whose privileges resolve tables — the user, or inside a view, the view's owner.
#[derive(Debug)]
pub struct Identity {
    pub user: String,
    pub rights: String,
    /// Columns hidden from `rights` in the tables resolved so far, so that naming one is reported
    /// as a permission error rather than an unknown column.
    hidden: Mutex<Vec<(String, Vec<String>)>>,
    /// The metastore tables and views resolved for this identity's plans in the current
    /// statement: what it names, and how many of them were reported. (The tables inside a view
    /// are resolved for the view's own identity.)
    resolved: Mutex<(Vec<crate::observe::TableRead>, usize)>,
    /// The plans of the views resolved in the current statement, by full name: what DataFusion
    /// puts in place of each view's scan, so that lineage can tell a view from a CTE of the
    /// same name.
    view_plans: Mutex<Vec<(String, datafusion::logical_expr::LogicalPlan)>>,
    /// The execution settings of the session `user` runs (its time zone, say), which the
    /// views it reads plan with. `None`: the engine's defaults.
    execution: Mutex<Option<datafusion::config::ExecutionOptions>>,
}

impl Identity {
    pub fn new(user: &str, rights: &str) -> Arc<Self> {
        Arc::new(Identity {
            user: user.to_string(),
            rights: rights.to_string(),
            hidden: Mutex::default(),
            resolved: Mutex::default(),
            view_plans: Mutex::default(),
            execution: Mutex::default(),
        })
    }

    /// The identity a view is planned with: the same user and session settings, the view
    /// owner's rights.
    pub fn for_view(&self, owner: &str) -> Arc<Self> {
        let view = Identity::new(&self.user, owner);
        view.set_execution(self.execution());
        view
    }

    pub fn execution(&self) -> Option<datafusion::config::ExecutionOptions> {
        self.execution
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Records the session's execution settings after it changed them.
    pub fn set_execution(&self, execution: Option<datafusion::config::ExecutionOptions>) {
        *self.execution.lock().unwrap_or_else(|p| p.into_inner()) = execution;
    }

    pub(crate) fn note_hidden(&self, table: String, columns: Vec<String>) {
        if !columns.is_empty() {
            self.hidden
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((table, columns));
        }
    }

    /// The table that hides `column` from this identity, if one was resolved.
    pub fn hiding_table(&self, column: &str) -> Option<String> {
        self.hidden
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(|(_, cols)| cols.iter().any(|c| c.eq_ignore_ascii_case(column)))
            .map(|(t, _)| t.clone())
    }

    /// Records a table or view the planner resolved by name.
    pub(crate) fn note_resolved(&self, read: crate::observe::TableRead) {
        let mut resolved = self.resolved.lock().unwrap_or_else(|p| p.into_inner());
        if !resolved.0[resolved.1..].contains(&read) {
            resolved.0.push(read);
        }
    }

    /// The tables and views resolved since the last call.
    pub(crate) fn take_resolved(&self) -> Vec<crate::observe::TableRead> {
        let mut resolved = self.resolved.lock().unwrap_or_else(|p| p.into_inner());
        let new = resolved.0[resolved.1..].to_vec();
        resolved.1 = resolved.0.len();
        new
    }

    /// Records the plan of view `name` (`catalog.schema.view`), resolved to be inlined.
    pub(crate) fn note_view_plan(&self, name: String, plan: datafusion::logical_expr::LogicalPlan) {
        let mut plans = self.view_plans.lock().unwrap_or_else(|p| p.into_inner());
        if !plans.iter().any(|(n, p)| *n == name && *p == plan) {
            plans.push((name, plan));
        }
    }

    /// The views resolved in the current statement, with the plans they were inlined as.
    pub(crate) fn resolved_views(&self) -> Vec<(String, datafusion::logical_expr::LogicalPlan)> {
        self.view_plans
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Forgets what was resolved: a new statement begins.
    pub(crate) fn forget_resolved(&self) {
        *self.resolved.lock().unwrap_or_else(|p| p.into_inner()) = Default::default();
        self.view_plans
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    pub fn forget_hidden(&self) {
        self.hidden
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}
