//! API tokens: stored as SHA-256 hashes, never in clear.

use chrono::Utc;
use sha2::{Digest, Sha256};

use super::{Store, StoreError};

/// The hex SHA-256 of a token.
pub fn hash_token(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

impl Store {
    pub async fn token_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM api_tokens").fetch_one(self.pool()).await?)
    }

    pub async fn add_token(&self, name: &str, token: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO api_tokens (name, sha256, created_at) VALUES (?, ?, ?)")
            .bind(name)
            .bind(hash_token(token))
            .bind(Utc::now().to_rfc3339())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The name of the live token `token` is, if any.
    pub async fn check_token(&self, token: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT name FROM api_tokens WHERE sha256 = ? AND revoked_at IS NULL")
            .bind(hash_token(token))
            .fetch_optional(self.pool())
            .await?)
    }
}
