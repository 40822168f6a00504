//! The guard rails admins set, as key/value rows with defaults for any
//! key never set.

use app::accounts::Settings;

use super::{Store, StoreError};

impl Store {
    pub async fn settings(&self) -> Result<Settings, StoreError> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT key, value FROM settings").fetch_all(self.pool()).await?;
        let mut settings = Settings::default();
        for (key, value) in rows {
            let number: i64 = value.parse().map_err(|_| StoreError::Corrupt(format!("setting {key} = {value:?}")))?;
            match key.as_str() {
                "fork_ttl_default_seconds" => settings.fork_ttl_default_seconds = number,
                "fork_ttl_max_seconds" => settings.fork_ttl_max_seconds = number,
                "member_fork_quota" => settings.member_fork_quota = number,
                _ => tracing::warn!(%key, "ignoring an unknown setting"),
            }
        }
        Ok(settings)
    }

    pub async fn put_settings(&self, settings: &Settings) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        for (key, value) in [
            ("fork_ttl_default_seconds", settings.fork_ttl_default_seconds),
            ("fork_ttl_max_seconds", settings.fork_ttl_max_seconds),
            ("member_fork_quota", settings.member_fork_quota),
        ] {
            sqlx::query(
                "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            )
            .bind(key)
            .bind(value.to_string())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
