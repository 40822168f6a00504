//! Fork requests: who asked to fork which database, why, for how long, and
//! where the request is in its life.

use app::accounts::{ForkRequestView, RequestState};
use chrono::Utc;
use sqlx::Row;

use super::{optional_time, parse_time, Store, StoreError};

impl Store {
    pub async fn add_fork_request(
        &self,
        requester: &str,
        name: &str,
        reason: &str,
        ttl_seconds: i64,
        req: &app::accounts::NewForkRequest,
    ) -> Result<ForkRequestView, StoreError> {
        let point =
            req.at.map(|t| serde_json::to_string(&app::model::ForkPoint::Time(t)).expect("fork points serialise"));
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO fork_requests (requester, source, name, reason, ttl_seconds, state, created_at, \
             fork_point_json, unmasked) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8) RETURNING id",
        )
        .bind(requester)
        .bind(&req.source)
        .bind(name)
        .bind(reason)
        .bind(ttl_seconds)
        .bind(Utc::now().to_rfc3339())
        .bind(point)
        .bind(req.unmasked)
        .fetch_one(self.pool())
        .await?;
        self.fork_request(id).await?.ok_or_else(|| StoreError::Corrupt(format!("fork request {id} vanished")))
    }

    pub async fn fork_request(&self, id: i64) -> Result<Option<ForkRequestView>, StoreError> {
        let row = sqlx::query("SELECT * FROM fork_requests WHERE id = $1").bind(id).fetch_optional(self.pool()).await?;
        row.as_ref().map(request_from_row).transpose()
    }

    /// Every request (newest first), or `requester`'s only.
    pub async fn fork_requests(&self, requester: Option<&str>) -> Result<Vec<ForkRequestView>, StoreError> {
        let rows = match requester {
            Some(r) => {
                sqlx::query("SELECT * FROM fork_requests WHERE requester = $1 ORDER BY id DESC")
                    .bind(r)
                    .fetch_all(self.pool())
                    .await?
            }
            None => sqlx::query("SELECT * FROM fork_requests ORDER BY id DESC").fetch_all(self.pool()).await?,
        };
        rows.iter().map(request_from_row).collect()
    }

    /// An admin's decision.
    pub async fn decide_fork_request(
        &self,
        id: i64,
        state: RequestState,
        by: &str,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE fork_requests SET state = $1, decided_by = $2, decision_reason = $3, decided_at = $4 WHERE id = $5",
        )
        .bind(state.as_str())
        .bind(by)
        .bind(reason)
        .bind(Utc::now().to_rfc3339())
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Moves a request along; `message` says why when it failed.
    pub async fn set_request_state(
        &self,
        id: i64,
        state: RequestState,
        message: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE fork_requests SET state = $1, message = coalesce($2, message) WHERE id = $3")
            .bind(state.as_str())
            .bind(message)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}

fn request_from_row(row: &sqlx::any::AnyRow) -> Result<ForkRequestView, StoreError> {
    let id: i64 = row.try_get("id")?;
    let what = format!("fork request {id}");
    let state: String = row.try_get("state")?;
    let created_at: String = row.try_get("created_at")?;
    Ok(ForkRequestView {
        id,
        requester: row.try_get("requester")?,
        source: row.try_get("source")?,
        name: row.try_get("name")?,
        reason: row.try_get("reason")?,
        ttl_seconds: row.try_get("ttl_seconds")?,
        state: RequestState::parse(&state).ok_or_else(|| StoreError::Corrupt(format!("{what}: state {state:?}")))?,
        decided_by: row.try_get("decided_by")?,
        decision_reason: row.try_get("decision_reason")?,
        message: row.try_get("message")?,
        created_at: parse_time(&what, "created_at", &created_at)?,
        decided_at: optional_time(row, &what, "decided_at")?,
        unmasked: super::flag(row, "unmasked")?,
        at: match row.try_get::<Option<String>, _>("fork_point_json")? {
            None => None,
            Some(text) => match serde_json::from_str(&text) {
                Ok(app::model::ForkPoint::Time(t)) => Some(t),
                Ok(app::model::ForkPoint::Lsn(_)) | Err(_) => {
                    return Err(StoreError::Corrupt(format!("{what}: fork point {text:?}")))
                }
            },
        },
    })
}
