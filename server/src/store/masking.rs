//! Masking rules as saved (`masking_rules`): every version of a database's
//! rules, with who saved it and when; the newest is in force. The rows go
//! with the database.

use app::masking::{MaskRule, MaskingVersion};
use chrono::{DateTime, Utc};

use super::{parse_time, Store, StoreError};

/// The rules in force for a database.
#[derive(Clone, Debug, PartialEq)]
pub struct SavedRules {
    pub version: i64,
    pub rules: Vec<MaskRule>,
    /// Keys its hashes; kept from the first version on.
    pub salt: String,
    pub at: DateTime<Utc>,
    pub by: Option<String>,
}

impl Store {
    /// The newest version of `name`'s rules, if any was saved.
    pub async fn masking_rules(&self, name: &str) -> Result<Option<SavedRules>, StoreError> {
        let row: Option<(i64, String, String, String, Option<String>)> = sqlx::query_as(
            "SELECT version, rules_json, salt, created_at, created_by FROM masking_rules \
             WHERE name = $1 ORDER BY version DESC LIMIT 1",
        )
        .bind(name)
        .fetch_optional(self.pool())
        .await?;
        let Some((version, rules, salt, at, by)) = row else { return Ok(None) };
        let rules = serde_json::from_str(&rules)
            .map_err(|e| StoreError::Corrupt(format!("{name}: masking rules version {version}: {e}")))?;
        Ok(Some(SavedRules { version, rules, salt, at: parse_time(name, "masking_rules.created_at", &at)?, by }))
    }

    /// `name`'s saved versions, newest first (at most `limit`).
    pub async fn masking_versions(&self, name: &str, limit: i64) -> Result<Vec<MaskingVersion>, StoreError> {
        let rows: Vec<(i64, i64, String, Option<String>)> = sqlx::query_as(
            "SELECT version, rules_count, created_at, created_by FROM masking_rules \
             WHERE name = $1 ORDER BY version DESC LIMIT $2",
        )
        .bind(name)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|(version, rules, at, by)| {
                Ok(MaskingVersion {
                    version,
                    at: parse_time(name, "masking_rules.created_at", &at)?,
                    by,
                    rules: usize::try_from(rules).unwrap_or(0),
                })
            })
            .collect()
    }

    /// Saves `rules` as `name`'s next version and answers its number. The
    /// salt of the first version stays; `salt` is used only for the first.
    /// The caller holds the admission turn, so versions never race.
    pub async fn save_masking_rules(
        &self,
        name: &str,
        rules: &[MaskRule],
        by: Option<&str>,
        salt: &str,
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin_read_then_write().await?;
        let last: Option<(i64, String)> =
            sqlx::query_as("SELECT version, salt FROM masking_rules WHERE name = $1 ORDER BY version DESC LIMIT 1")
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?;
        let (version, salt) = match last {
            Some((v, s)) => (v + 1, s),
            None => (1, salt.to_string()),
        };
        let count = i64::try_from(rules.len()).unwrap_or(i64::MAX);
        sqlx::query(
            "INSERT INTO masking_rules (name, version, rules_json, rules_count, salt, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(name)
        .bind(version)
        .bind(serde_json::to_string(rules).expect("rules serialise"))
        .bind(count)
        .bind(salt)
        .bind(Utc::now().to_rfc3339())
        .bind(by)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(version)
    }
}
