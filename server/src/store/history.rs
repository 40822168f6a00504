//! Every phase each database went through, with when: what uptime over the
//! last day and week is computed from. Appended by the recorder with each
//! transition; kept for eight days.

use app::model::Phase;
use chrono::{DateTime, Duration, Utc};

use super::{parse_time, Store, StoreError};

/// How long phase history is kept.
pub const KEEP_DAYS: i64 = 8;

/// Appends one change, inside whatever transaction `executor` is.
pub(super) async fn append<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    name: &str,
    phase: Phase,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO phase_history (name, phase, at) VALUES ($1, $2, $3)")
        .bind(name)
        .bind(phase.as_str())
        .bind(Utc::now().to_rfc3339())
        .execute(executor)
        .await?;
    Ok(())
}

impl Store {
    pub async fn record_phase(&self, name: &str, phase: Phase) -> Result<(), StoreError> {
        append(self.pool(), name, phase).await
    }

    /// `name`'s phase changes at or after `since`, oldest first, preceded by
    /// the last change before it (the phase the window starts in).
    pub async fn phase_history(
        &self,
        name: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, Phase)>, StoreError> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT at, phase FROM phase_history WHERE name = $1 ORDER BY id")
                .bind(name)
                .fetch_all(self.pool())
                .await?;
        let mut changes = Vec::with_capacity(rows.len());
        for (at, phase) in rows {
            let at = parse_time(name, "phase_history.at", &at)?;
            let phase =
                Phase::parse(&phase).ok_or_else(|| StoreError::Corrupt(format!("{name}: history phase {phase:?}")))?;
            changes.push((at, phase));
        }
        let first_in_window = changes.iter().position(|(at, _)| *at >= since).unwrap_or(changes.len());
        Ok(changes.split_off(first_in_window.saturating_sub(1)))
    }

    /// Whether `name` was ever available (so someone may hold its URL).
    pub async fn ever_available(&self, name: &str) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM phase_history WHERE name = $1 AND phase = 'available'")
            .bind(name)
            .fetch_one(self.pool())
            .await?;
        Ok(n > 0)
    }

    /// Drops history older than [`KEEP_DAYS`] (but each database's latest
    /// change, which says what it has been since) and that of databases
    /// that are gone.
    pub async fn prune_phase_history(&self) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM phase_history WHERE name NOT IN (SELECT name FROM databases) \
             OR (at < $1 AND id NOT IN (SELECT max(id) FROM phase_history GROUP BY name))",
        )
        .bind((Utc::now() - Duration::days(KEEP_DAYS)).to_rfc3339())
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
