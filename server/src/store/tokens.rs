//! API tokens: stored as SHA-256 hashes, never in clear, each belonging to
//! a user.

use app::accounts::TokenView;
use chrono::Utc;
use sqlx::Row;

use super::{optional_time, Store, StoreError};

/// The hex SHA-256 of a token.
pub fn hash_token(token: &str) -> String {
    crate::digest::sha256_hex(token.as_bytes())
}

const TOKEN_QUERY: &str = "SELECT t.id, t.name, u.name AS owner, t.created_at, t.last_used_at, t.revoked_at \
                           FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id";

impl Store {
    pub async fn token_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM api_tokens").fetch_one(self.pool()).await?)
    }

    pub async fn add_token(&self, name: &str, token: &str, user_id: Option<i64>) -> Result<TokenView, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO api_tokens (name, sha256, created_at, user_id) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(name)
        .bind(hash_token(token))
        .bind(Utc::now().to_rfc3339())
        .bind(user_id)
        .fetch_one(self.pool())
        .await?;
        self.token(id).await?.ok_or_else(|| StoreError::Corrupt(format!("token {id} vanished")))
    }

    /// Gives tokens made before accounts existed to `user_id`.
    pub async fn adopt_orphan_tokens(&self, user_id: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query("UPDATE api_tokens SET user_id = $1 WHERE user_id IS NULL")
            .bind(user_id)
            .execute(self.pool())
            .await?
            .rows_affected())
    }

    /// The user id a live token belongs to; notes its use.
    pub async fn check_token(&self, token: &str) -> Result<Option<i64>, StoreError> {
        let hash = hash_token(token);
        let user: Option<Option<i64>> =
            sqlx::query_scalar("SELECT user_id FROM api_tokens WHERE sha256 = $1 AND revoked_at IS NULL")
                .bind(&hash)
                .fetch_optional(self.pool())
                .await?;
        if user.is_some() {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE sha256 = $2")
                .bind(Utc::now().to_rfc3339())
                .bind(&hash)
                .execute(self.pool())
                .await?;
        }
        Ok(user.flatten())
    }

    pub async fn token(&self, id: i64) -> Result<Option<TokenView>, StoreError> {
        let row = sqlx::query(&format!("{TOKEN_QUERY} WHERE t.id = $1")).bind(id).fetch_optional(self.pool()).await?;
        row.as_ref().map(token_from_row).transpose()
    }

    /// Every token, or `owner`'s only.
    pub async fn tokens(&self, owner: Option<&str>) -> Result<Vec<TokenView>, StoreError> {
        let rows = match owner {
            Some(owner) => {
                sqlx::query(&format!("{TOKEN_QUERY} WHERE u.name = $1 ORDER BY t.id"))
                    .bind(owner)
                    .fetch_all(self.pool())
                    .await?
            }
            None => sqlx::query(&format!("{TOKEN_QUERY} ORDER BY t.id")).fetch_all(self.pool()).await?,
        };
        rows.iter().map(token_from_row).collect()
    }

    pub async fn revoke_token(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(Utc::now().to_rfc3339())
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}

fn token_from_row(row: &sqlx::any::AnyRow) -> Result<TokenView, StoreError> {
    let id: i64 = row.try_get("id")?;
    let what = format!("token {id}");
    let at = |column: &str| optional_time(row, &what, column);
    Ok(TokenView {
        id,
        name: row.try_get("name")?,
        owner: row.try_get("owner")?,
        created_at: at("created_at")?.ok_or_else(|| StoreError::Corrupt(format!("token {id}: no created_at")))?,
        last_used_at: at("last_used_at")?,
        revoked_at: at("revoked_at")?,
    })
}
