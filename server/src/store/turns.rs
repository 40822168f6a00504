//! The store-wide turn at admission. Several pgfleet servers on one
//! PostgreSQL store take requests at once, and each server's own admission
//! mutex only orders its own; names and ports must still be decided one
//! request at a time across all of them, or two servers read the same
//! free port and one insert fails. Servers starting at once on an empty
//! store make the first admin in the same turn.
//!
//! The turn is a session-level advisory lock on a connection of its own
//! that is closed, not pooled, when the turn ends: PostgreSQL releases the
//! lock with the session however the turn ends (returned, panicked, the
//! server killed). A SQLite store belongs to one server, whose mutex is
//! enough.

use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::Any;

use super::{Store, StoreError, StoreLocation};

/// The advisory lock key: "pgfleet" and a byte of its own.
const ADMISSION_LOCK: i64 = 0x7067_666c_6565_7403;
/// How long a request waits for another server's turn to end.
const WAIT_AT_MOST: Duration = Duration::from_secs(30);

/// Held while a request is admitted; dropping it lets the next one in.
pub struct StoreTurn {
    /// Never used again, only kept; the mutex makes the turn `Sync` (a
    /// connection is not), so admission can be borrowed across awaits.
    _session: std::sync::Mutex<PoolConnection<Any>>,
}

impl Store {
    /// Waits for the store-wide turn (`None`: this store needs none).
    pub async fn admission_turn(&self) -> Result<Option<StoreTurn>, StoreError> {
        if let StoreLocation::Sqlite(_) = self.location {
            return Ok(None);
        }
        let mut session = self.pool.acquire().await?;
        session.close_on_drop();
        let lock = sqlx::query("SELECT pg_advisory_lock($1)::text").bind(ADMISSION_LOCK).execute(&mut *session);
        match tokio::time::timeout(WAIT_AT_MOST, lock).await {
            Ok(locked) => locked?,
            // The session closes with `session`, and the wait with it.
            Err(_) => return Err(StoreError::Busy("another pgfleet server has been admitting a request for 30 s")),
        };
        Ok(Some(StoreTurn { _session: std::sync::Mutex::new(session) }))
    }
}
