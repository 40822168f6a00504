//! The audit log: append-only, one row per action a person (or pgfleet on
//! its own) took, with its outcome.

use app::accounts::AuditEntry;
use chrono::Utc;
use sqlx::Row;

use super::{parse_time, Store, StoreError};

impl Store {
    pub async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO audit_log (at, actor, action, database, address, outcome, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(Utc::now().to_rfc3339())
        .bind(&entry.actor)
        .bind(&entry.action)
        .bind(&entry.database)
        .bind(&entry.address)
        .bind(&entry.outcome)
        .bind(&entry.detail)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The newest `limit` entries, newest first, optionally about one database.
    pub async fn audit(&self, limit: i64, database: Option<&str>) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = match database {
            Some(db) => {
                sqlx::query("SELECT * FROM audit_log WHERE database = $1 ORDER BY id DESC LIMIT $2")
                    .bind(db)
                    .bind(limit)
                    .fetch_all(self.pool())
                    .await?
            }
            None => {
                sqlx::query("SELECT * FROM audit_log ORDER BY id DESC LIMIT $1")
                    .bind(limit)
                    .fetch_all(self.pool())
                    .await?
            }
        };
        rows.iter()
            .map(|row| {
                let id: i64 = row.try_get("id")?;
                let at: String = row.try_get("at")?;
                Ok(AuditEntry {
                    id,
                    at: parse_time(&format!("audit {id}"), "at", &at)?,
                    actor: row.try_get("actor")?,
                    action: row.try_get("action")?,
                    database: row.try_get("database")?,
                    address: row.try_get("address")?,
                    outcome: row.try_get("outcome")?,
                    detail: row.try_get("detail")?,
                })
            })
            .collect()
    }
}
