//! A schema diff between two databases (`GET /api/v1/databases/{a}/diff/{b}`,
//! `pgfleet diff`, the Schema diff card): the objects added, removed or
//! changed in `a` against `b`, grouped by schema, each with its SQL
//! definition on either side. Read from the catalogs by the server, for
//! "try the migration on a fork, then see exactly what it changed".

use serde::{Deserialize, Serialize};

/// What kind of object changed, in the order a diff lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    Extension,
    EnumType,
    Sequence,
    Table,
    Column,
    Constraint,
    Index,
    View,
    Function,
    Trigger,
}

impl ObjectKind {
    pub fn label(self) -> &'static str {
        match self {
            ObjectKind::Extension => "extension",
            ObjectKind::EnumType => "enum type",
            ObjectKind::Sequence => "sequence",
            ObjectKind::Table => "table",
            ObjectKind::Column => "column",
            ObjectKind::Constraint => "constraint",
            ObjectKind::Index => "index",
            ObjectKind::View => "view",
            ObjectKind::Function => "function",
            ObjectKind::Trigger => "trigger",
        }
    }
}

/// How an object differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// In `a`, not in `b`.
    Added,
    /// In `b`, not in `a`.
    Removed,
    /// In both, defined differently.
    Changed,
}

impl Change {
    /// `+`, `-` or `~`, as the CLI marks it.
    pub fn sign(self) -> char {
        match self {
            Change::Added => '+',
            Change::Removed => '-',
            Change::Changed => '~',
        }
    }
}

/// One object that differs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ObjectDiff {
    pub kind: ObjectKind,
    /// Its name in its schema: `users`, `users.email` (a column, a
    /// constraint, a trigger), `total(integer)` (a function).
    pub name: String,
    pub change: Change,
    /// Its definition in `b` (none when added).
    pub before: Option<String>,
    /// Its definition in `a` (none when removed).
    pub after: Option<String>,
}

/// The differences in one schema.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SchemaChanges {
    /// The schema (empty for extensions, which belong to the database).
    pub schema: String,
    pub objects: Vec<ObjectDiff>,
}

/// `a` against `b`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SchemaDiff {
    pub a: String,
    pub b: String,
    /// Empty when the two schemas are the same.
    pub schemas: Vec<SchemaChanges>,
}

impl SchemaDiff {
    /// How many objects differ.
    pub fn count(&self) -> usize {
        self.schemas.iter().map(|s| s.objects.len()).sum()
    }
}
