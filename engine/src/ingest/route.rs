//! File-name templates: `'{table}_{date}_{batch}.csv'` routes each file to a table and turns
//! its other placeholders into columns (`{date}` → `_source_date`, `{batch}` → `_batch_id`,
//! `{x}` → `_x`).
//!
//! A template is matched against a file's base name (an archive member's own base name) with
//! a trailing `.gz` removed. `{table}` matches as much as it can; `{date}` matches eight digits
//! with optional dashes (`2026-12-01`, `20261201`); other placeholders match one or more
//! characters other than `/`, as few as they can.

use regex::Regex;

use crate::error::{EngineError, Result};

/// A checked template.
#[derive(Debug, Clone)]
pub(crate) struct FilePattern {
    regex: Regex,
    /// The placeholders other than `{table}`, in order, with the column each becomes.
    columns: Vec<(String, String)>,
    /// Which capture group (0-based, in template order) is `{table}`.
    table_group: usize,
}

/// Where a file goes: its table (lowercased) and the values of the other placeholders, in
/// [`FilePattern::columns`] order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Route {
    pub table: String,
    pub values: Vec<String>,
}

fn pattern_error(message: String) -> EngineError {
    EngineError::Coded {
        sqlstate: "22023",
        message,
    }
}

/// The column a placeholder becomes.
fn column_of(placeholder: &str) -> String {
    match placeholder {
        "date" => "_source_date".to_string(),
        "batch" => "_batch_id".to_string(),
        other => format!("_{other}"),
    }
}

impl FilePattern {
    pub(crate) fn parse(template: &str) -> Result<Self> {
        let mut regex = String::from("^");
        let mut columns = Vec::new();
        let mut has_table = false;
        let mut table_group = 0;
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            if rest[..open].contains('}') {
                return Err(pattern_error(format!(
                    "pattern '{template}' has a '}}' without its '{{'"
                )));
            }
            regex.push_str(&regex::escape(&rest[..open]));
            let after = &rest[open + 1..];
            let close = after.find('}').ok_or_else(|| {
                pattern_error(format!("pattern '{template}' has a '{{' without its '}}'"))
            })?;
            let name = after[..close].trim().to_ascii_lowercase();
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(pattern_error(format!(
                    "pattern '{template}': placeholder '{{{name}}}' must be a name of letters, \
                     digits and '_'"
                )));
            }
            if name == "table" {
                if has_table {
                    return Err(pattern_error(format!(
                        "pattern '{template}' names {{table}} twice"
                    )));
                }
                has_table = true;
                table_group = columns.len();
                regex.push_str("(.+)");
            } else {
                let column = column_of(&name);
                if columns.iter().any(|(_, c)| c == &column) {
                    return Err(pattern_error(format!(
                        "pattern '{template}' names {{{name}}} twice"
                    )));
                }
                regex.push_str(if name == "date" {
                    r"(\d{4}-?\d{2}-?\d{2})"
                } else {
                    "([^/]+?)"
                });
                columns.push((name, column));
            }
            rest = &after[close + 1..];
        }
        if rest.contains('}') {
            return Err(pattern_error(format!(
                "pattern '{template}' has a '}}' without its '{{'"
            )));
        }
        regex.push_str(&regex::escape(rest));
        regex.push('$');
        if !has_table {
            return Err(pattern_error(format!(
                "pattern '{template}' must name the target table with {{table}}"
            )));
        }
        let regex = Regex::new(&regex)
            .map_err(|e| pattern_error(format!("pattern '{template}' is not usable: {e}")))?;
        Ok(FilePattern {
            regex,
            columns,
            table_group,
        })
    }

    /// The columns the placeholders other than `{table}` become.
    pub(crate) fn columns(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|(_, c)| c.as_str())
    }

    /// Where the file named `name` (a path or base name) goes, if the template matches it.
    pub(crate) fn route(&self, name: &str) -> Option<Route> {
        let base = name.rsplit('/').next().unwrap_or(name);
        let base = base.strip_suffix(".gz").unwrap_or(base);
        let captures = self.regex.captures(base)?;
        let mut values: Vec<String> = captures
            .iter()
            .skip(1)
            .flatten()
            .map(|m| m.as_str().to_string())
            .collect();
        if values.len() != self.columns.len() + 1 {
            return None;
        }
        let table = values.remove(self.table_group).to_ascii_lowercase();
        // A table name is a plain identifier: letters, digits and '_'.
        if table.is_empty() || !table.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return None;
        }
        Some(Route { table, values })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_by_table_and_keeps_placeholders() {
        let p = FilePattern::parse("{table}_{date}_{batch}.csv").expect("pattern");
        assert_eq!(
            p.columns().collect::<Vec<_>>(),
            vec!["_source_date", "_batch_id"]
        );
        assert_eq!(
            p.route("drop/Room_Rates_2026-12-01_0007.csv.gz"),
            Some(Route {
                table: "room_rates".into(),
                values: vec!["2026-12-01".into(), "0007".into()],
            })
        );
        assert_eq!(
            p.route("orders_20261201_b_1.csv"),
            Some(Route {
                table: "orders".into(),
                values: vec!["20261201".into(), "b_1".into()],
            })
        );
        assert_eq!(p.route("README.txt"), None);
        assert_eq!(p.route("orders_2026-12-01_1.json"), None);
        let q = FilePattern::parse("{batch}-{table}.json").expect("pattern");
        assert_eq!(
            q.route("7-events.json"),
            Some(Route {
                table: "events".into(),
                values: vec!["7".into()],
            })
        );
    }

    #[test]
    fn bad_templates_are_refused() {
        for t in [
            "{date}.csv",
            "{table}_{table}.csv",
            "{table.csv",
            "{ta ble}.csv",
            "}{table}",
        ] {
            assert!(FilePattern::parse(t).is_err(), "{t}");
        }
        // Regex characters in the literal parts are literal.
        let p = FilePattern::parse("{table}(1).csv").expect("pattern");
        assert_eq!(p.route("a(1).csv").map(|r| r.table), Some("a".into()));
        assert_eq!(p.route("a1.csv"), None);
    }
}
