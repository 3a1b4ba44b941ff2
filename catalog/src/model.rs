//! The metastore's records: catalogs, schemas, tables, columns, principals, grants, functions,
//! policies and tags, as the engine reads and writes them.

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

/// Something privileges, tags and comments can be attached to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Securable {
    Metastore,
    Catalog(String),
    Schema(String, String),
    /// A table or a view.
    Table(String, String, String),
    Function(String, String, String),
    Procedure(String, String, String),
    /// A named storage URL (`CREATE EXTERNAL LOCATION`); outside the catalog tree.
    ExternalLocation(String),
}

impl Securable {
    pub fn kind(&self) -> &'static str {
        match self {
            Securable::Metastore => "METASTORE",
            Securable::Catalog(_) => "CATALOG",
            Securable::Schema(..) => "SCHEMA",
            Securable::Table(..) => "TABLE",
            Securable::Function(..) => "FUNCTION",
            Securable::Procedure(..) => "PROCEDURE",
            Securable::ExternalLocation(_) => "EXTERNAL LOCATION",
        }
    }

    pub fn full_name(&self) -> String {
        match self {
            Securable::Metastore => "metastore".to_string(),
            Securable::Catalog(c) => c.clone(),
            Securable::Schema(c, s) => format!("{c}.{s}"),
            Securable::Table(c, s, t)
            | Securable::Function(c, s, t)
            | Securable::Procedure(c, s, t) => format!("{c}.{s}.{t}"),
            Securable::ExternalLocation(n) => n.clone(),
        }
    }

    fn parts(&self) -> (&str, &str, &str) {
        match self {
            Securable::Metastore => ("", "", ""),
            Securable::Catalog(c) => (c, "", ""),
            Securable::Schema(c, s) => (c, s, ""),
            Securable::Table(c, s, t)
            | Securable::Function(c, s, t)
            | Securable::Procedure(c, s, t) => (c, s, t),
            Securable::ExternalLocation(n) => ("", "", n),
        }
    }

    pub(crate) fn key(&self) -> (&str, &str, &str) {
        self.parts()
    }

    pub(crate) fn from_key(kind: &str, c: String, s: String, n: String) -> Option<Self> {
        Some(match kind {
            "METASTORE" => Securable::Metastore,
            "CATALOG" => Securable::Catalog(c),
            "SCHEMA" => Securable::Schema(c, s),
            "TABLE" => Securable::Table(c, s, n),
            "FUNCTION" => Securable::Function(c, s, n),
            "PROCEDURE" => Securable::Procedure(c, s, n),
            "EXTERNAL LOCATION" => Securable::ExternalLocation(n),
            _ => return None,
        })
    }

    /// The securables above this one, nearest first (a table's schema, catalog, metastore).
    /// An external location has none: only grants on it count.
    pub fn ancestors(&self) -> Vec<Securable> {
        match self {
            Securable::Metastore | Securable::ExternalLocation(_) => vec![],
            Securable::Catalog(_) => vec![Securable::Metastore],
            Securable::Schema(c, _) => vec![Securable::Catalog(c.clone()), Securable::Metastore],
            Securable::Table(c, s, _)
            | Securable::Function(c, s, _)
            | Securable::Procedure(c, s, _) => vec![
                Securable::Schema(c.clone(), s.clone()),
                Securable::Catalog(c.clone()),
                Securable::Metastore,
            ],
        }
    }
}

/// Unity Catalog privileges. `AllPrivileges` is stored as granted and expanded when checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Privilege {
    CreateCatalog,
    UseCatalog,
    CreateSchema,
    Browse,
    UseSchema,
    CreateTable,
    CreateFunction,
    Select,
    Modify,
    Execute,
    Manage,
    /// Reading the files under an external location (COPY INTO, system.ingest.load).
    ReadFiles,
    AllPrivileges,
}

impl Privilege {
    pub const ALL: [Privilege; 13] = [
        Privilege::CreateCatalog,
        Privilege::UseCatalog,
        Privilege::CreateSchema,
        Privilege::Browse,
        Privilege::UseSchema,
        Privilege::CreateTable,
        Privilege::CreateFunction,
        Privilege::Select,
        Privilege::Modify,
        Privilege::Execute,
        Privilege::Manage,
        Privilege::ReadFiles,
        Privilege::AllPrivileges,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Privilege::CreateCatalog => "CREATE CATALOG",
            Privilege::UseCatalog => "USE CATALOG",
            Privilege::CreateSchema => "CREATE SCHEMA",
            Privilege::Browse => "BROWSE",
            Privilege::UseSchema => "USE SCHEMA",
            Privilege::CreateTable => "CREATE TABLE",
            Privilege::CreateFunction => "CREATE FUNCTION",
            Privilege::Select => "SELECT",
            Privilege::Modify => "MODIFY",
            Privilege::Execute => "EXECUTE",
            Privilege::Manage => "MANAGE",
            Privilege::ReadFiles => "READ FILES",
            Privilege::AllPrivileges => "ALL PRIVILEGES",
        }
    }

    /// Parses a privilege name as written in GRANT (`USE CATALOG`, `use_catalog`, `ALL`).
    pub fn parse(s: &str) -> Option<Self> {
        let norm = s
            .split(|c: char| c.is_whitespace() || c == '_')
            .filter(|w| !w.is_empty())
            .map(|w| w.to_ascii_uppercase())
            .collect::<Vec<_>>()
            .join(" ");
        if norm == "ALL" {
            return Some(Privilege::AllPrivileges);
        }
        Privilege::ALL.into_iter().find(|p| p.as_str() == norm)
    }

    /// The securable kinds this privilege can be granted on. Privileges of child objects may be
    /// granted on their parents, where they are inherited by every current and future child.
    pub fn applies_to(&self, kind: &str) -> bool {
        if kind == "EXTERNAL LOCATION" || *self == Privilege::ReadFiles {
            return kind == "EXTERNAL LOCATION"
                && matches!(
                    self,
                    Privilege::ReadFiles | Privilege::Manage | Privilege::AllPrivileges
                );
        }
        let depth = |k: &str| match k {
            "METASTORE" => 0,
            "CATALOG" => 1,
            "SCHEMA" => 2,
            _ => 3,
        };
        let (lowest, leaf_kinds): (usize, &[&str]) = match self {
            Privilege::CreateCatalog => (0, &[]),
            Privilege::UseCatalog | Privilege::CreateSchema | Privilege::Browse => (1, &[]),
            Privilege::UseSchema | Privilege::CreateTable | Privilege::CreateFunction => (2, &[]),
            Privilege::Select | Privilege::Modify => (3, &["TABLE"]),
            Privilege::Execute => (3, &["FUNCTION", "PROCEDURE"]),
            Privilege::Manage | Privilege::AllPrivileges => {
                (3, &["TABLE", "FUNCTION", "PROCEDURE"])
            }
            Privilege::ReadFiles => (0, &[]),
        };
        let d = depth(kind);
        match self {
            Privilege::CreateCatalog => d == 0,
            _ if d == 3 => leaf_kinds.contains(&kind),
            _ => d >= 1 && d <= lowest,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantEntry {
    pub on: Securable,
    /// Set for a column grant (`GRANT SELECT (col) ON TABLE t`).
    pub column: Option<String>,
    pub principal: String,
    pub privilege: Privilege,
    pub grantor: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionParam {
    pub name: String,
    /// Spark SQL type name.
    pub data_type: String,
}

/// A SQL function (`CREATE FUNCTION c.s.f(x STRING) RETURNS STRING RETURN expr`).
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionEntry {
    pub catalog: String,
    pub schema: String,
    pub name: String,
    pub params: Vec<FunctionParam>,
    pub return_type: String,
    /// The expression after RETURN, as SQL text.
    pub body: String,
    pub comment: Option<String>,
    pub owner: String,
    pub created_at_ms: i64,
}

impl FunctionEntry {
    pub fn full_name(&self) -> String {
        format!("{}.{}.{}", self.catalog, self.schema, self.name)
    }
}

/// How a procedure parameter passes its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ParameterMode {
    In,
    Out,
    InOut,
}

impl ParameterMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ParameterMode::In => "IN",
            ParameterMode::Out => "OUT",
            ParameterMode::InOut => "INOUT",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcedureParam {
    pub mode: ParameterMode,
    pub name: String,
    /// Spark SQL type name.
    pub data_type: String,
    /// The DEFAULT expression, as SQL text.
    pub default: Option<String>,
    pub comment: Option<String>,
}

/// A SQL procedure (`CREATE PROCEDURE c.s.p(...) ... AS BEGIN ... END`).
#[derive(Debug, Clone, PartialEq)]
pub struct ProcedureEntry {
    pub catalog: String,
    pub schema: String,
    pub name: String,
    pub params: Vec<ProcedureParam>,
    /// The body (`BEGIN ... END`), as SQL text.
    pub body: String,
    /// `SQL SECURITY DEFINER`: the body runs with the owner's privileges.
    pub definer: bool,
    pub comment: Option<String>,
    pub owner: String,
    pub created_at_ms: i64,
}

impl ProcedureEntry {
    pub fn full_name(&self) -> String {
        format!("{}.{}.{}", self.catalog, self.schema, self.name)
    }

    pub fn securable(&self) -> Securable {
        Securable::Procedure(self.catalog.clone(), self.schema.clone(), self.name.clone())
    }
}

/// A column mask (`column` set) or the row filter (`column` None) of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyEntry {
    pub catalog: String,
    pub schema: String,
    pub table: String,
    pub column: Option<String>,
    /// The function's full name, `c.s.f`.
    pub function: String,
    /// Columns passed to the function: for a mask, after the masked column; for a row filter,
    /// all of its arguments.
    pub using_columns: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberKind {
    User,
    Group,
}

impl MemberKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            MemberKind::User => "USER",
            MemberKind::Group => "GROUP",
        }
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
