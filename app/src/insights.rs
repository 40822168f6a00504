//! Diagnostics on the wire: what is running on a database (`pg:ps`), who
//! waits on whom (`pg:locks`), which statements cost the most
//! (`pg:outliers`), and the answer to ending a session (`pg:kill`). The
//! server reads them from the database's own statistics
//! (`server/src/insights/`); the API, the console and the CLI show them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{ApiError, ErrorCode};

/// One client session on the server (pgfleet's own are left out).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Session {
    pub pid: i32,
    pub user: Option<String>,
    pub database: Option<String>,
    pub application: String,
    /// The client's address; absent for a unix socket.
    pub client: Option<String>,
    /// `active`, `idle`, `idle in transaction`, …
    pub state: Option<String>,
    /// What it waits for, e.g. `Lock: transactionid`.
    pub wait_event: Option<String>,
    /// Since its current (or last) query started.
    pub query_start: Option<DateTime<Utc>>,
    /// Seconds its current query (or, idle in a transaction, the
    /// transaction) has run.
    pub duration_seconds: Option<f64>,
    /// The query's text; absent for those who may not see it (viewers).
    pub query: Option<String>,
    /// The sessions it waits on.
    pub blocked_by: Vec<i32>,
}

/// A session that waits for a lock another holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Blocking {
    pub blocked_pid: i32,
    pub blocked_user: Option<String>,
    pub blocked_query: Option<String>,
    /// How long it has waited, in seconds.
    pub waiting_seconds: f64,
    pub blocking_pid: i32,
    pub blocking_user: Option<String>,
    pub blocking_query: Option<String>,
    pub blocking_state: Option<String>,
    /// The locked relation, where the lock is on one.
    pub relation: Option<String>,
    /// The lock mode the blocked session asked for.
    pub mode: Option<String>,
}

/// How statements are ranked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StatementOrder {
    #[default]
    TotalTime,
    MeanTime,
    Calls,
}

impl StatementOrder {
    pub fn as_str(self) -> &'static str {
        match self {
            StatementOrder::TotalTime => "total_time",
            StatementOrder::MeanTime => "mean_time",
            StatementOrder::Calls => "calls",
        }
    }
}

/// `GET /api/v1/databases/{name}/statements?order=&limit=`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
pub struct StatementsQuery {
    pub order: Option<StatementOrder>,
    /// How many, 1 to [`MAX_STATEMENTS`] (default 20).
    pub limit: Option<i64>,
}

pub const MAX_STATEMENTS: i64 = 500;

impl StatementsQuery {
    pub fn limit(&self) -> Result<i64, ApiError> {
        crate::limits::in_range("limit", self.limit.unwrap_or(20), 1, MAX_STATEMENTS)
    }
}

/// One normalised statement's totals since its statistics were reset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Statement {
    pub query_id: i64,
    /// The text with its constants replaced by `$1`, `$2`, …
    pub query: String,
    pub user: Option<String>,
    pub calls: i64,
    pub total_ms: f64,
    pub mean_ms: f64,
    pub rows: i64,
    /// Its part of all statements' total time, 0 to 1.
    pub share: f64,
}

/// The statements that cost the most, or why there are none to show.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Statements {
    /// Whether `pg_stat_statements` is loaded; pgfleet asks for it at every
    /// start, so a server started before that loads it at its next restart.
    pub loaded: bool,
    /// Loaded but waiting for a restart, in words.
    pub note: Option<String>,
    pub order: StatementOrder,
    pub statements: Vec<Statement>,
}

/// What ending a session did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Ended {
    pub pid: i32,
    /// `cancel` (its query) or `terminate` (the session).
    pub how: String,
    /// Whether PostgreSQL signalled it (false: it had ended already).
    pub signalled: bool,
}

/// A session's pid as a route carries it, checked.
pub fn pid(value: i64) -> Result<i32, ApiError> {
    let pid = crate::limits::in_range("pid", value, 1, i32::MAX as i64)?;
    i32::try_from(pid).map_err(|_| ApiError::new(ErrorCode::Unprocessable, "pid is out of range"))
}

/// `text` with every quoted literal (`'…'`, `E'…'`, `$tag$…$tag$`) shown as
/// `'…'`. `pg_stat_statements` replaces constants by `$1` only in planned
/// statements; a utility statement (`ALTER ROLE … PASSWORD 'x'`) keeps its
/// text, so what viewers are shown goes through this.
pub fn redact_literals(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\'' => {
                i += 1;
                while i < chars.len() {
                    let escaped = chars[i] == '\\' && i + 1 < chars.len();
                    let doubled = chars[i] == '\'' && chars.get(i + 1) == Some(&'\'');
                    if escaped || doubled {
                        i += 2;
                    } else if chars[i] == '\'' {
                        i += 1;
                        break;
                    } else {
                        i += 1;
                    }
                }
                out.push_str("'…'");
            }
            '$' if dollar_tag(&chars[i..]).is_some() => {
                let tag = dollar_tag(&chars[i..]).unwrap_or_default();
                let len = tag.chars().count();
                i += len;
                loop {
                    if i >= chars.len() {
                        break;
                    }
                    if chars[i..].starts_with(&tag.chars().collect::<Vec<_>>()) {
                        i += len;
                        break;
                    }
                    i += 1;
                }
                out.push_str("'…'");
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// The opening `$tag$` at the start of `chars`, if it is one (`$1` is a
/// parameter, not a tag).
fn dollar_tag(chars: &[char]) -> Option<String> {
    let end = chars.iter().skip(1).position(|&c| c == '$')? + 1;
    let tag = &chars[1..end];
    let ok = tag.first().is_none_or(|c| c.is_alphabetic() || *c == '_')
        && tag.iter().all(|c| c.is_alphanumeric() || *c == '_');
    ok.then(|| chars[..=end].iter().collect())
}

#[cfg(test)]
mod tests {
    use super::redact_literals;

    #[test]
    fn literals_are_hidden_and_parameters_kept() {
        assert_eq!(redact_literals("ALTER ROLE a PASSWORD 'se''cr\\'et'"), "ALTER ROLE a PASSWORD '…'");
        assert_eq!(
            redact_literals("SELECT * FROM t WHERE a = $1 AND b = $2"),
            "SELECT * FROM t WHERE a = $1 AND b = $2"
        );
        assert_eq!(redact_literals("DO $$ BEGIN PERFORM 'x'; END $$"), "DO '…'");
        assert_eq!(redact_literals("DO $body$ x $$ y $body$;"), "DO '…';");
        assert_eq!(redact_literals("SELECT E'a\\'b', 'c'"), "SELECT E'…', '…'");
        assert_eq!(redact_literals("SELECT 'open"), "SELECT '…'");
        assert_eq!(redact_literals("SELECT $1::text, 'é'"), "SELECT $1::text, '…'");
    }
}
