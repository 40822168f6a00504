//! `GET /healthz`: liveness, the state of the metadata store, every
//! supervised loop and any unreadable store row, without
//! authentication so load balancers and scripts can ask.

use app::model::{Health, LoopState, UnreadableRow};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use super::AppState;

pub async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let (status, store) = match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok".to_string()),
        Err(e) => {
            tracing::error!(error = %e, "health check: metadata store failed");
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable".to_string())
        }
    };
    let loops = state.engine.supervisor().health();
    let unreadable_rows: Vec<UnreadableRow> =
        state.store.unreadable().into_iter().map(|(row, reason)| UnreadableRow { row, reason }).collect();
    let healthy = status == StatusCode::OK
        && unreadable_rows.is_empty()
        && loops.iter().all(|l| matches!(l.state, LoopState::Running | LoopState::Standby));
    let health = Health {
        status: if healthy { "ok".into() } else { "degraded".into() },
        version: env!("CARGO_PKG_VERSION").to_string(),
        uptime_seconds: state.started.elapsed().as_secs(),
        metadata_store: store,
        leader: state.engine.leadership().is_leader(),
        loops,
        unreadable_rows,
    };
    (status, Json(health))
}
