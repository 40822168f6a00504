//! `pg:diagnose` on the wire: a database's health checks, each green,
//! yellow or red with the number behind it and what to do, and the sizes
//! they are partly judged from (largest tables and indexes, unused and
//! duplicate indexes, estimated bloat, sequential scans). The server
//! observes and judges (`server/src/insights/diagnose.rs`); the API, the
//! console's Diagnose card and `pgfleet diagnose` show it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How a check came out, worst last.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Does not apply here (a primary has no lag), or too little to judge.
    Skipped,
    Green,
    Yellow,
    Red,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Skipped => "skipped",
            Status::Green => "green",
            Status::Yellow => "yellow",
            Status::Red => "red",
        }
    }
}

/// The checks, in the order they are shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Check {
    Connections,
    LongQueries,
    IdleInTransaction,
    CacheHit,
    Blocked,
    Bloat,
    UnusedIndexes,
    FollowerLag,
    Archiving,
    ReplicationSlots,
    Wraparound,
}

impl Check {
    pub fn title(self) -> &'static str {
        match self {
            Check::Connections => "Connections",
            Check::LongQueries => "Long-running queries",
            Check::IdleInTransaction => "Idle in transaction",
            Check::CacheHit => "Cache hit ratio",
            Check::Blocked => "Blocked queries",
            Check::Bloat => "Table bloat",
            Check::UnusedIndexes => "Unused indexes",
            Check::FollowerLag => "Follower lag",
            Check::Archiving => "WAL archiving",
            Check::ReplicationSlots => "Replication slots",
            Check::Wraparound => "Transaction ID wraparound",
        }
    }
}

/// One check's outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Finding {
    pub check: Check,
    pub status: Status,
    /// The number behind it, in words: `"14 of 20 (70%)"`.
    pub value: String,
    /// What to do; absent when green or skipped.
    pub advice: Option<String>,
}

/// Every check on one database at one moment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Diagnosis {
    pub at: DateTime<Utc>,
    /// The worst of the findings.
    pub overall: Status,
    pub findings: Vec<Finding>,
}

impl Diagnosis {
    pub fn new(at: DateTime<Utc>, findings: Vec<Finding>) -> Diagnosis {
        let overall = findings.iter().map(|f| f.status).max().unwrap_or(Status::Green).max(Status::Green);
        Diagnosis { at, overall, findings }
    }

    pub fn finding(&self, check: Check) -> Option<&Finding> {
        self.findings.iter().find(|f| f.check == check)
    }
}

/// A table (or materialised view) and what it takes on disk.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TableSize {
    /// `schema.table`.
    pub name: String,
    pub total_bytes: i64,
    /// The heap (with its free-space and visibility maps).
    pub table_bytes: i64,
    pub index_bytes: i64,
    pub toast_bytes: i64,
    pub live_rows: i64,
    pub dead_rows: i64,
    /// The heap's bytes held by dead rows, estimated from the share of
    /// rows that are dead (what `VACUUM` would make reusable).
    pub bloat_bytes: i64,
    pub seq_scans: i64,
    pub index_scans: i64,
}

/// An index and whether it earns its keep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct IndexSize {
    /// `schema.index`.
    pub name: String,
    pub table: String,
    pub bytes: i64,
    /// Scans since the statistics were last reset.
    pub scans: i64,
    /// Never scanned, and neither unique nor a primary key (those enforce
    /// something even when never read).
    pub unused: bool,
    /// Another index on the same columns, opclasses, expressions and
    /// predicate.
    pub duplicate_of: Option<String>,
    pub definition: String,
}

impl IndexSize {
    /// What is worth saying of it: `duplicate of …`, `unused`, or nothing.
    pub fn note(&self) -> String {
        match (&self.duplicate_of, self.unused) {
            (Some(other), _) => format!("duplicate of {other}"),
            (None, true) => "unused".into(),
            (None, false) => String::new(),
        }
    }
}

/// `GET /api/v1/databases/{name}/sizes`: the largest first.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Sizes {
    pub tables: Vec<TableSize>,
    pub indexes: Vec<IndexSize>,
}

/// How many tables and indexes a sizes answer lists.
pub const SIZES_LIMIT: i64 = 50;
