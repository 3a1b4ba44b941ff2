use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq)]
pub struct CatalogEntry {
    pub name: String,
    pub comment: Option<String>,
    /// Root for managed tables of this catalog; `None` means the server's warehouse.
    pub managed_location: Option<String>,
    pub owner: String,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SchemaEntry {
    pub catalog: String,
    pub name: String,
    pub comment: Option<String>,
    /// Root for managed tables of this schema; `None` inherits the catalog's.
    pub managed_location: Option<String>,
    pub owner: String,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    /// Data lives under a managed location and is removed with the table.
    Managed,
    /// Data lives at a user-given location and outlives the table.
    External,
    View,
}

impl TableKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            TableKind::Managed => "MANAGED",
            TableKind::External => "EXTERNAL",
            TableKind::View => "VIEW",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "MANAGED" => Some(TableKind::Managed),
            "EXTERNAL" => Some(TableKind::External),
            "VIEW" => Some(TableKind::View),
            _ => None,
        }
    }
}

/// A column as the metastore lists it. `data_type` is the Spark SQL type name
/// (`bigint`, `decimal(10,2)`, `array<string>`), which is what Databricks users read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnEntry {
    pub name: String,
    pub data_type: String,
    pub nullable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TableEntry {
    pub id: String,
    pub catalog: String,
    pub schema: String,
    pub name: String,
    pub kind: TableKind,
    /// Table root URI (`file:///...` or `s3://...`); `None` for views.
    pub location: Option<String>,
    pub columns: Vec<ColumnEntry>,
    pub partition_columns: Vec<String>,
    pub properties: BTreeMap<String, String>,
    pub comment: Option<String>,
    /// SQL text of a view.
    pub view_definition: Option<String>,
    pub owner: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

impl TableEntry {
    pub fn full_name(&self) -> String {
        format!("{}.{}.{}", self.catalog, self.schema, self.name)
    }
}

/// Something tags and comments can be attached to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Securable {
    Catalog(String),
    Schema(String, String),
    Table(String, String, String),
}

impl Securable {
    pub fn kind(&self) -> &'static str {
        match self {
            Securable::Catalog(_) => "CATALOG",
            Securable::Schema(..) => "SCHEMA",
            Securable::Table(..) => "TABLE",
        }
    }

    pub fn full_name(&self) -> String {
        match self {
            Securable::Catalog(c) => c.clone(),
            Securable::Schema(c, s) => format!("{c}.{s}"),
            Securable::Table(c, s, t) => format!("{c}.{s}.{t}"),
        }
    }

    fn parts(&self) -> (&str, &str, &str) {
        match self {
            Securable::Catalog(c) => (c, "", ""),
            Securable::Schema(c, s) => (c, s, ""),
            Securable::Table(c, s, t) => (c, s, t),
        }
    }

    pub(crate) fn key(&self) -> (&str, &str, &str) {
        self.parts()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagEntry {
    pub catalog: String,
    /// Empty for catalog tags.
    pub schema: String,
    /// Empty for catalog and schema tags.
    pub table: String,
    /// Empty unless the tag is on a column.
    pub column: String,
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone)]
pub struct UserEntry {
    pub name: String,
    pub secret: crate::ScramSecret,
    pub created_at_ms: i64,
}
