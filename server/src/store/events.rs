//! The event log (`events`): every published event, so a client that
//! reconnects with `Last-Event-ID` gets what it missed.

use app::model::Event;

use super::{Store, StoreError};

/// How many events are kept; older ones are pruned.
pub const KEEP_EVENTS: i64 = 10_000;

impl Store {
    /// Stores `event` and returns it with its id.
    pub async fn append_event(&self, mut event: Event) -> Result<Event, StoreError> {
        let mut tx = self.pool().begin().await?;
        let id: i64 = sqlx::query_scalar("INSERT INTO events (database, payload, at) VALUES (?, '', ?) RETURNING id")
            .bind(&event.database)
            .bind(event.at.to_rfc3339())
            .fetch_one(&mut *tx)
            .await?;
        event.id = id;
        let payload = serde_json::to_string(&event).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query("UPDATE events SET payload = ? WHERE id = ?").bind(payload).bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(event)
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
        let payloads: Vec<String> = sqlx::query_scalar("SELECT payload FROM events WHERE id > ? ORDER BY id")
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

    pub async fn prune_events(&self) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM events WHERE id <= (SELECT max(id) FROM events) - ?")
            .bind(KEEP_EVENTS)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
