//! What strangers may know: the public databases, each as a
//! [`StatusComponent`], with uptime from the phase history.

use app::model::{DatabaseView, Phase};
use app::status::{ComponentStatus, StatusComponent, StatusIndicator, StatusPage, StatusSummary};
use chrono::{Duration, Utc};

use super::uptime::{first_available, last_day, uptime};
use crate::store::{Store, StoreError};

/// Every public database, by name.
pub async fn summary(store: &Store) -> Result<StatusSummary, StoreError> {
    let mut components = Vec::new();
    for view in store.list_views().await?.into_iter().filter(|v| v.public) {
        components.push(component(store, &view).await?);
    }
    let updated_at = components.iter().map(|c| c.updated_at).max().unwrap_or_else(Utc::now);
    Ok(StatusSummary {
        page: StatusPage { name: "pgfleet".into(), updated_at },
        status: StatusIndicator::of(&components),
        components,
    })
}

/// One public database, or `None` when there is no public one by that name.
pub async fn one(store: &Store, name: &str) -> Result<Option<StatusComponent>, StoreError> {
    match store.view(name).await? {
        Some(view) if view.public => Ok(Some(component(store, &view).await?)),
        _ => Ok(None),
    }
}

async fn component(store: &Store, view: &DatabaseView) -> Result<StatusComponent, StoreError> {
    let now = Utc::now();
    let history = store.phase_history(&view.name, now - Duration::days(7)).await?;
    // History of an earlier database of the same name does not count.
    let history: Vec<(chrono::DateTime<Utc>, Phase)> =
        history.into_iter().filter(|(at, _)| *at >= view.created_at - Duration::seconds(1)).collect();
    let lag_seconds = view.lag.as_ref().map(|l| l.seconds);
    let updated_at = history.last().map(|(at, _)| *at).unwrap_or(view.created_at);
    Ok(StatusComponent {
        name: view.name.clone(),
        status: ComponentStatus::of(view.phase, lag_seconds),
        phase: view.phase,
        role: view.role,
        lag_seconds,
        uptime_24h: uptime(&history, Duration::hours(24), now),
        uptime_7d: uptime(&history, Duration::days(7), now),
        available_since: first_available(&history),
        last_24h: last_day(&history, now),
        updated_at,
    })
}
