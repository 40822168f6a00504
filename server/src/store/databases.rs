//! Reading databases (spec joined with status) out of the store.

use app::model::{DatabaseView, Phase, Role};
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Store, StoreError};

const VIEW_QUERY: &str = "SELECT d.name, d.plan, d.origin, d.source, d.created_at, s.phase, s.message, \
                          s.following, s.progress_json, s.lag_json, s.info_json, s.copy_json, s.restore_window_json, s.archiving_json, s.followed_until, d.fork_point_json, d.owner, d.protected, d.fork_policy, \
                          d.expires_at, d.public, src.protected AS source_protected, \
                          src.fork_policy AS source_fork_policy, d.unmasked_reason, s.mask_state, s.mask_version, \
                          (SELECT m.rules_count FROM masking_rules m WHERE m.name = COALESCE(s.following, d.name) \
                          ORDER BY m.version DESC LIMIT 1) AS masking_rules \
                          FROM databases d LEFT JOIN database_status s ON s.name = d.name \
                          LEFT JOIN databases src ON src.name = s.following";

impl Store {
    /// One database with its last observed state. Called for every
    /// published event, so it reads that database's row and its followers'
    /// names only.
    pub async fn view(&self, name: &str) -> Result<Option<DatabaseView>, StoreError> {
        let Some(row) =
            sqlx::query(&format!("{VIEW_QUERY} WHERE d.name = $1")).bind(name).fetch_optional(self.pool()).await?
        else {
            return Ok(None);
        };
        let mut view = self.readable("view", &row, view_from_row(&row)).unwrap_or_else(|e| unreadable_view(&row, &e));
        view.followers = sqlx::query_scalar("SELECT name FROM database_status WHERE following = $1 ORDER BY name")
            .bind(name)
            .fetch_all(self.pool())
            .await?;
        Ok(Some(view))
    }

    /// Every database with its last observed state, ordered by name.
    pub async fn list_views(&self) -> Result<Vec<DatabaseView>, StoreError> {
        let rows = sqlx::query(&format!("{VIEW_QUERY} ORDER BY d.name")).fetch_all(self.pool()).await?;
        let mut views = Vec::with_capacity(rows.len());
        for row in &rows {
            views.push(self.readable("view", row, view_from_row(row)).unwrap_or_else(|e| unreadable_view(row, &e)));
        }
        let names: Vec<(String, Option<String>)> =
            views.iter().map(|v| (v.name.clone(), v.following.clone())).collect();
        for view in &mut views {
            view.followers =
                names.iter().filter(|(_, f)| f.as_deref() == Some(&view.name)).map(|(n, _)| n.clone()).collect();
        }
        Ok(views)
    }
}

fn view_from_row(row: &sqlx::any::AnyRow) -> Result<DatabaseView, StoreError> {
    let name: String = row.try_get("name")?;
    let origin: String = row.try_get("origin")?;
    let source: Option<String> = row.try_get("source")?;
    let created_at: String = row.try_get("created_at")?;
    let phase: Option<String> = row.try_get("phase")?;
    let phase = match phase {
        None => Phase::Provisioning,
        Some(p) => Phase::parse(&p).ok_or_else(|| StoreError::Corrupt(format!("{name}: unknown phase {p:?}")))?,
    };
    let following: Option<String> = row.try_get("following")?;
    let role = if following.is_some() { Role::Follower } else { Role::Primary };
    let followed = match (origin.as_str(), &following, &source, super::optional_time(row, &name, "followed_until")?) {
        ("follow", None, Some(src), Some(until)) => Some(app::model::Followed { source: src.clone(), until }),
        _ => None,
    };
    let forked_from = if origin == "fork" { source } else { None };
    Ok(DatabaseView {
        plan: row.try_get("plan")?,
        role,
        following,
        followers: Vec::new(),
        forked_from,
        phase,
        message: row.try_get("message")?,
        progress: json_column(row, &name, "progress_json")?,
        lag: json_column(row, &name, "lag_json")?,
        info: json_column(row, &name, "info_json")?,
        copy: json_column(row, &name, "copy_json")?,
        fork_point: json_column(row, &name, "fork_point_json")?,
        restore_window: json_column(row, &name, "restore_window_json")?,
        archiving: json_column(row, &name, "archiving_json")?,
        followed,
        owner: row.try_get("owner")?,
        public: super::flag(row, "public")?,
        // A follower carries its source's data and owner password, so it
        // is at least as protected as its source while it follows.
        protected: super::flag(row, "protected")? || super::optional_flag(row, "source_protected")?.unwrap_or(false),
        fork_policy: match row.try_get::<Option<String>, _>("source_fork_policy")?.as_deref() {
            Some("approval") => app::model::ForkPolicy::Approval,
            Some("masked") => app::model::ForkPolicy::Masked,
            _ => super::fork_policy_column(row, &name)?,
        },
        // A follower's forks are masked by its source's rules.
        masking_rules: u32::try_from(row.try_get::<Option<i64>, _>("masking_rules")?.unwrap_or(0)).unwrap_or(u32::MAX),
        masking: match (
            row.try_get::<Option<String>, _>("unmasked_reason")?,
            row.try_get::<Option<String>, _>("mask_state")?.as_deref(),
            row.try_get::<Option<i64>, _>("mask_version")?,
        ) {
            (Some(reason), _, _) => Some(app::masking::ForkMasking::Unmasked { reason }),
            (None, Some("done"), Some(version)) => Some(app::masking::ForkMasking::Masked { version }),
            _ => None,
        },
        expires_at: super::optional_time(row, &name, "expires_at")?,
        created_at: DateTime::parse_from_rfc3339(&created_at)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| StoreError::Corrupt(format!("{name}.created_at: {e}")))?,
        name,
    })
}

/// What lists show for a row that cannot be read: its name, `failed`, and
/// why, so the rest of the fleet is listed and the broken one is visible.
fn unreadable_view(row: &sqlx::any::AnyRow, e: &StoreError) -> DatabaseView {
    let name: String = row.try_get("name").unwrap_or_else(|_| "?".into());
    DatabaseView {
        name,
        plan: "unknown".into(),
        role: Role::Primary,
        following: None,
        followers: Vec::new(),
        forked_from: None,
        phase: Phase::Failed,
        message: Some(format!("pgfleet cannot read this database's record in its metadata store: {e}")),
        progress: None,
        lag: None,
        info: None,
        created_at: DateTime::<Utc>::UNIX_EPOCH,
        owner: None,
        protected: true,
        fork_policy: app::model::ForkPolicy::Approval,
        expires_at: None,
        public: false,
        copy: None,
        fork_point: None,
        restore_window: None,
        archiving: None,
        followed: None,
        masking_rules: 0,
        masking: None,
    }
}

fn json_column<T: serde::de::DeserializeOwned>(
    row: &sqlx::any::AnyRow,
    name: &str,
    column: &str,
) -> Result<Option<T>, StoreError> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|t| serde_json::from_str(&t).map_err(|e| StoreError::Corrupt(format!("{name}.{column}: {e}")))).transpose()
}
