//! Accounts: a name, a role and an argon2 password hash per person.

use app::accounts::{UserRole, UserView};
use chrono::Utc;
use sqlx::Row;

use super::{parse_time, Store, StoreError};

/// A user as the server needs them (the hash never leaves the server).
#[derive(Clone, Debug)]
pub struct UserRow {
    pub id: i64,
    pub view: UserView,
    pub password_hash: String,
}

impl Store {
    pub async fn user_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(self.pool()).await?)
    }

    /// Adds a user; fails with a unique violation when the name is taken.
    pub async fn add_user(&self, name: &str, role: UserRole, password_hash: &str) -> Result<UserRow, StoreError> {
        sqlx::query(
            "INSERT INTO users (name, role, password_hash, must_change_password, created_at) VALUES ($1, $2, $3, TRUE, $4)",
        )
        .bind(name)
        .bind(role.as_str())
        .bind(password_hash)
        .bind(Utc::now().to_rfc3339())
        .execute(self.pool())
        .await?;
        self.user(name).await?.ok_or_else(|| StoreError::Corrupt(format!("user {name} vanished")))
    }

    pub async fn user(&self, name: &str) -> Result<Option<UserRow>, StoreError> {
        let row = sqlx::query("SELECT * FROM users WHERE name = $1").bind(name).fetch_optional(self.pool()).await?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub async fn user_by_id(&self, id: i64) -> Result<Option<UserRow>, StoreError> {
        let row = sqlx::query("SELECT * FROM users WHERE id = $1").bind(id).fetch_optional(self.pool()).await?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub async fn users(&self) -> Result<Vec<UserView>, StoreError> {
        let rows = sqlx::query("SELECT * FROM users ORDER BY name").fetch_all(self.pool()).await?;
        rows.iter().map(|r| user_from_row(r).map(|u| u.view)).collect()
    }

    pub async fn admin_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM users WHERE role = 'admin'").fetch_one(self.pool()).await?)
    }

    pub async fn set_role(&self, name: &str, role: UserRole) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET role = $1 WHERE name = $2")
            .bind(role.as_str())
            .bind(name)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// A new password; `one_time` makes its owner choose another at sign-in.
    pub async fn set_password(&self, name: &str, password_hash: &str, one_time: bool) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET password_hash = $1, must_change_password = $2 WHERE name = $3")
            .bind(password_hash)
            .bind(one_time)
            .bind(name)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}

fn user_from_row(row: &sqlx::any::AnyRow) -> Result<UserRow, StoreError> {
    let name: String = row.try_get("name")?;
    let role: String = row.try_get("role")?;
    let created_at: String = row.try_get("created_at")?;
    Ok(UserRow {
        id: row.try_get("id")?,
        password_hash: row.try_get("password_hash")?,
        view: UserView {
            role: UserRole::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("user {name}: role {role:?}")))?,
            must_change_password: super::flag(row, "must_change_password")?,
            created_at: parse_time(&name, "created_at", &created_at)?,
            name,
        },
    })
}
