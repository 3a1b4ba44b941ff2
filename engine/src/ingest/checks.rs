//! The quality checks of a load, each with a severity: an error-severity check that fails
//! keeps the whole run from publishing (write-audit-publish); a warning is reported only.
//!
//! | check              | default | fails when                                                   |
//! |--------------------|---------|--------------------------------------------------------------|
//! | `expected_files`   | error   | the run read fewer new files than `expected_files`           |
//! | `null_ratio`       | warning | a column's share of NULLs is above `max_null_ratio`          |
//! | `header_mismatch`  | warning | a file lacks columns of the table or has columns it lacks    |
//! | `type_validation`  | warning | rows were quarantined (unparseable, or a value not fitting)  |
//! | `row_count_change` | warning | rows read differ from the last published run's by more than `max_row_change` |

/// A check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum CheckName {
    ExpectedFiles,
    NullRatio,
    HeaderMismatch,
    TypeValidation,
    RowCountChange,
}

impl CheckName {
    pub(crate) const ALL: [CheckName; 5] = [
        CheckName::ExpectedFiles,
        CheckName::NullRatio,
        CheckName::HeaderMismatch,
        CheckName::TypeValidation,
        CheckName::RowCountChange,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CheckName::ExpectedFiles => "expected_files",
            CheckName::NullRatio => "null_ratio",
            CheckName::HeaderMismatch => "header_mismatch",
            CheckName::TypeValidation => "type_validation",
            CheckName::RowCountChange => "row_count_change",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<CheckName> {
        let t = text.trim().to_lowercase();
        CheckName::ALL.into_iter().find(|c| c.as_str() == t)
    }

    pub(crate) fn default_severity(self) -> Severity {
        match self {
            CheckName::ExpectedFiles => Severity::Error,
            _ => Severity::Warning,
        }
    }
}

/// What a failed check does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Severity {
    /// Nothing is published.
    Error,
    /// Reported only.
    Warning,
}

impl Severity {
    pub(crate) fn parse(text: &str) -> Option<Severity> {
        match text.trim().to_lowercase().as_str() {
            "error" => Some(Severity::Error),
            "warning" | "warn" => Some(Severity::Warning),
            _ => None,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One check's outcome.
#[derive(Debug, Clone)]
pub(crate) struct CheckOutcome {
    /// The table checked (`catalog.schema.table`); `None` for the whole run.
    pub table: Option<String>,
    pub check: CheckName,
    pub severity: Severity,
    pub passed: bool,
    pub observed: Option<String>,
    pub threshold: Option<String>,
    pub message: Option<String>,
}

impl CheckOutcome {
    /// Blocks publishing.
    pub(crate) fn blocks(&self) -> bool {
        !self.passed && self.severity == Severity::Error
    }

    /// `check (severity): message`, for a failed check.
    pub(crate) fn describe(&self) -> String {
        format!(
            "{} ({}): {}",
            self.check.as_str(),
            self.severity.as_str(),
            self.message.as_deref().unwrap_or("failed")
        )
    }

    pub(crate) fn record(&self, run_id: &str) -> weir_catalog::IngestCheck {
        weir_catalog::IngestCheck {
            run_id: run_id.to_string(),
            table_name: self.table.clone(),
            check_name: self.check.as_str().to_string(),
            severity: self.severity.as_str().to_string(),
            passed: self.passed,
            observed: self.observed.clone(),
            threshold: self.threshold.clone(),
            message: self.message.clone(),
        }
    }
}
