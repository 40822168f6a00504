//! The event log (`events`): every published event, so a client that
//! reconnects with `Last-Event-ID` gets what it missed.
//!
//! What happened (created, phase, restarted, deleted, changed, expired,
//! request) is kept for [`KEEP_HAPPENINGS`]; measurements (lag, info,
//! progress), which a snapshot brings up to date anyway, for
//! [`KEEP_MEASUREMENTS`] and at most [`MAX_MEASUREMENTS`] of them, so no
//! number of busy followers can push a phase change out of the log.

use app::model::{Event, EventKind};
use chrono::{Duration, Utc};

use super::{Dialect, Store, StoreError};

/// On PostgreSQL: the channel each appended event is announced on (its id
/// as the payload; see `engine::feed`).
pub const EVENTS: &str = "pgfleet_events";
/// On PostgreSQL: the channel that wakes the leader's loops.
pub const WAKE: &str = "pgfleet_wake";
/// Serialises appends on PostgreSQL, so ids commit in the order given and a
/// reader of "everything after id N" never skips one still committing.
const APPEND_LOCK: i64 = 0x7067_666c_6565_7402;

/// How long phase changes and other happenings are replayable.
pub const KEEP_HAPPENINGS: Duration = Duration::days(7);
/// How long measurements are replayable.
pub const KEEP_MEASUREMENTS: Duration = Duration::minutes(10);
/// The most measurements kept, whatever their age.
pub const MAX_MEASUREMENTS: i64 = 5_000;

/// Whether events of `kind` are measurements (kept briefly).
pub fn is_measurement(kind: EventKind) -> bool {
    match kind {
        EventKind::Lag | EventKind::Info | EventKind::Progress | EventKind::Metrics => true,
        EventKind::Created
        | EventKind::Phase
        | EventKind::Restarted
        | EventKind::Deleted
        | EventKind::Changed
        | EventKind::Expired
        | EventKind::Request
        | EventKind::Backup
        | EventKind::BackupFailed
        | EventKind::CredentialsRotated
        | EventKind::Roles => false,
    }
}

/// `('lag', …)`: the measurement kinds, for SQL.
fn measurement_kinds() -> String {
    let kinds: Vec<String> =
        EventKind::ALL.into_iter().filter(|k| is_measurement(*k)).map(|k| format!("'{}'", k.as_str())).collect();
    format!("({})", kinds.join(", "))
}

impl Store {
    /// Stores `event` and returns it with its id.
    pub async fn append_event(&self, mut event: Event) -> Result<Event, StoreError> {
        let mut tx = self.pool().begin().await?;
        let postgres = self.dialect() == Dialect::Postgres;
        if postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(APPEND_LOCK).execute(&mut *tx).await?;
        }
        let id: i64 =
            sqlx::query_scalar("INSERT INTO events (database, payload, at, kind) VALUES ($1, '', $2, $3) RETURNING id")
                .bind(&event.database)
                .bind(event.at.to_rfc3339())
                .bind(event.kind.as_str())
                .fetch_one(&mut *tx)
                .await?;
        event.id = id;
        let payload = serde_json::to_string(&event).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query("UPDATE events SET payload = $1 WHERE id = $2").bind(payload).bind(id).execute(&mut *tx).await?;
        if postgres {
            // Delivered at commit, to every server listening.
            sqlx::query("SELECT pg_notify($1, $2)").bind(EVENTS).bind(id.to_string()).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(event)
    }

    /// Tells the leading server that desired state changed (on SQLite
    /// there is one server, which wakes itself).
    pub async fn nudge(&self) -> Result<(), StoreError> {
        if self.dialect() == Dialect::Postgres {
            sqlx::query("SELECT pg_notify($1, '')").bind(WAKE).execute(self.pool()).await?;
        }
        Ok(())
    }

    /// Events after `id`, oldest first; `None` when `id` is older than what
    /// is kept (the caller then needs a fresh snapshot).
    pub async fn events_after(&self, id: i64) -> Result<Option<Vec<Event>>, StoreError> {
        let oldest: Option<i64> = sqlx::query_scalar("SELECT min(id) FROM events").fetch_one(self.pool()).await?;
        if let Some(oldest) = oldest {
            if id + 1 < oldest {
                return Ok(None);
            }
        }
        let payloads: Vec<String> = sqlx::query_scalar("SELECT payload FROM events WHERE id > $1 ORDER BY id")
            .bind(id)
            .fetch_all(self.pool())
            .await?;
        payloads
            .iter()
            .map(|p| serde_json::from_str(p).map_err(|e| StoreError::Corrupt(format!("event: {e}"))))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    pub async fn last_event_id(&self) -> Result<i64, StoreError> {
        let id: Option<i64> = sqlx::query_scalar("SELECT max(id) FROM events").fetch_one(self.pool()).await?;
        Ok(id.unwrap_or(0))
    }

    /// Drops what is older than its kind is kept (see the module docs).
    pub async fn prune_events(&self) -> Result<(), StoreError> {
        let now = Utc::now();
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM events WHERE at < $1")
            .bind((now - KEEP_HAPPENINGS).to_rfc3339())
            .execute(&mut *tx)
            .await?;
        let kinds = measurement_kinds();
        sqlx::query(&format!("DELETE FROM events WHERE kind IN {kinds} AND at < $1"))
            .bind((now - KEEP_MEASUREMENTS).to_rfc3339())
            .execute(&mut *tx)
            .await?;
        sqlx::query(&format!(
            "DELETE FROM events WHERE kind IN {kinds} AND id < (SELECT min(id) FROM \
             (SELECT id FROM events WHERE kind IN {kinds} ORDER BY id DESC LIMIT $1) AS recent)"
        ))
        .bind(MAX_MEASUREMENTS)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
