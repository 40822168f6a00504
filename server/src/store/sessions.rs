//! Console sessions: the cookie's hash, its user, its CSRF token and when
//! it ends.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::tokens::hash_token;
use super::{parse_time, Store, StoreError};

#[derive(Clone, Debug)]
pub struct SessionRow {
    pub user_id: i64,
    pub csrf: String,
    pub expires_at: DateTime<Utc>,
}

impl Store {
    pub async fn add_session(
        &self,
        secret: &str,
        user_id: i64,
        csrf: &str,
        address: Option<&str>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (sha256, user_id, csrf, address, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(hash_token(secret))
        .bind(user_id)
        .bind(csrf)
        .bind(address)
        .bind(Utc::now().to_rfc3339())
        .bind(expires_at.to_rfc3339())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The session a cookie names, expired or not (the caller tells the
    /// user which).
    pub async fn session(&self, secret: &str) -> Result<Option<SessionRow>, StoreError> {
        let Some(row) = sqlx::query("SELECT user_id, csrf, expires_at FROM sessions WHERE sha256 = $1")
            .bind(hash_token(secret))
            .fetch_optional(self.pool())
            .await?
        else {
            return Ok(None);
        };
        let expires_at: String = row.try_get("expires_at")?;
        Ok(Some(SessionRow {
            user_id: row.try_get("user_id")?,
            csrf: row.try_get("csrf")?,
            expires_at: parse_time("session", "expires_at", &expires_at)?,
        }))
    }

    pub async fn end_session(&self, secret: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE sha256 = $1").bind(hash_token(secret)).execute(self.pool()).await?;
        Ok(())
    }

    /// Ends every session of a user (their password or role changed).
    pub async fn end_sessions_of(&self, user_id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(self.pool()).await?;
        Ok(())
    }

    /// Moves a session's end, for tests of expiry.
    pub async fn set_session_expiry(&self, secret: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET expires_at = $1 WHERE sha256 = $2")
            .bind(at.to_rfc3339())
            .bind(hash_token(secret))
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
