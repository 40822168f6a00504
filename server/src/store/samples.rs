//! Measurements kept over time: what the charts draw across page loads
//! and the metrics API serves. The recorder appends them (the metrics loop
//! every 10 s, lag when it moves); the reconciler's sweep thins what is
//! older than [`FULL_RESOLUTION`] to the samples of the first
//! [`THINNED_SLOT_MS`] of every [`THINNED_EVERY_MS`] (about one sample in
//! thirty), and drops what is older than [`app::metrics::KEEP_DAYS`].

use app::metrics::{Metric, Sample, Window};
use chrono::{DateTime, Duration, Utc};

use super::{Store, StoreError};

/// How long every sample is kept.
pub const FULL_RESOLUTION: Duration = Duration::days(1);
/// Older samples are thinned to those in the first [`THINNED_SLOT_MS`] of
/// every five minutes: wider than the 10 s sampling, so a slot seldom
/// misses a sample and holds at most two.
pub const THINNED_EVERY_MS: i64 = 5 * 60 * 1000;
pub const THINNED_SLOT_MS: i64 = 15 * 1000;

impl Store {
    pub async fn append_sample(&self, name: &str, sample: &Sample) -> Result<(), StoreError> {
        let values: serde_json::Map<String, serde_json::Value> =
            sample.values.iter().map(|(m, v)| (m.as_str().to_string(), serde_json::json!(v))).collect();
        sqlx::query("INSERT INTO samples (name, at, values_json) VALUES ($1, $2, $3)")
            .bind(name)
            .bind(sample.at.timestamp_millis())
            .bind(serde_json::Value::Object(values).to_string())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// `name`'s samples in `window`, oldest first. Values of metrics this
    /// build does not know (written by a newer one) are left out.
    pub async fn samples(&self, name: &str, window: &Window) -> Result<Vec<Sample>, StoreError> {
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT at, values_json FROM samples WHERE name = $1 AND at >= $2 AND at <= $3 ORDER BY at")
                .bind(name)
                .bind(window.since.timestamp_millis())
                .bind(window.until.timestamp_millis())
                .fetch_all(self.pool())
                .await?;
        rows.into_iter()
            .map(|(at, json)| {
                let at = DateTime::from_timestamp_millis(at)
                    .ok_or_else(|| StoreError::Corrupt(format!("{name}: sample time {at}")))?;
                let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&json)
                    .map_err(|e| StoreError::Corrupt(format!("{name}: sample at {at}: {e}")))?;
                let values = Metric::ALL
                    .into_iter()
                    .filter_map(|m| object.get(m.as_str()).and_then(|v| v.as_f64()).map(|v| (m, v)))
                    .collect();
                Ok(Sample { at, values })
            })
            .collect()
    }

    /// Thins samples past [`FULL_RESOLUTION`] and drops those older than
    /// they are kept.
    pub async fn prune_samples(&self) -> Result<(), StoreError> {
        self.prune_samples_at(Utc::now()).await
    }

    pub async fn prune_samples_at(&self, now: DateTime<Utc>) -> Result<(), StoreError> {
        let oldest = now - Duration::days(app::metrics::KEEP_DAYS);
        sqlx::query("DELETE FROM samples WHERE at < $1").bind(oldest.timestamp_millis()).execute(self.pool()).await?;
        sqlx::query("DELETE FROM samples WHERE at < $1 AND at % $2 >= $3")
            .bind((now - FULL_RESOLUTION).timestamp_millis())
            .bind(THINNED_EVERY_MS)
            .bind(THINNED_SLOT_MS)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
