//! Idempotency keys (`idempotency_keys`): per caller, with the fingerprint
//! of the request they answered and that first answer, kept for
//! [`KEY_RETENTION`] whether or not the database still exists.

use app::model::DatabaseView;
use chrono::{DateTime, Duration, Utc};
use sqlx::Row;

use super::{Store, StoreError};

/// How long a key is remembered.
pub const KEY_RETENTION: Duration = Duration::hours(24);

/// What a key answered the first time.
#[derive(Clone, Debug)]
pub struct Remembered {
    /// Empty for keys from before fingerprints were kept.
    pub fingerprint: String,
    pub database: String,
    /// The database as it was answered (absent for keys from before).
    pub response: Option<DatabaseView>,
}

impl Store {
    pub async fn idempotency_key(&self, caller: &str, key: &str) -> Result<Option<Remembered>, StoreError> {
        let cutoff = (Utc::now() - KEY_RETENTION).to_rfc3339();
        let row = sqlx::query(
            "SELECT fingerprint, database, response FROM idempotency_keys \
             WHERE caller = $1 AND key = $2 AND created_at >= $3",
        )
        .bind(caller)
        .bind(key)
        .bind(cutoff)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let response: String = row.try_get("response")?;
        Ok(Some(Remembered {
            fingerprint: row.try_get("fingerprint")?,
            database: row.try_get("database")?,
            response: serde_json::from_str(&response).ok(),
        }))
    }

    /// Remembers what `key` answered; replaces an expired entry.
    pub async fn remember_idempotency_key(
        &self,
        caller: &str,
        key: &str,
        fingerprint: &str,
        view: &DatabaseView,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let response = serde_json::to_string(view).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "INSERT INTO idempotency_keys (caller, key, fingerprint, database, response, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (caller, key) DO UPDATE SET fingerprint = excluded.fingerprint, \
             database = excluded.database, response = excluded.response, created_at = excluded.created_at",
        )
        .bind(caller)
        .bind(key)
        .bind(fingerprint)
        .bind(&view.name)
        .bind(response)
        .bind(at.to_rfc3339())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn prune_idempotency_keys(&self) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind((Utc::now() - KEY_RETENTION).to_rfc3339())
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
