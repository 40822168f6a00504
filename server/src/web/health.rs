//! `GET /healthz`: liveness and the state of the metadata store, without
//! authentication so load balancers and scripts can ask.

use app::model::Health;
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
    let health = Health {
        status: if status == StatusCode::OK { "ok".into() } else { "degraded".into() },
        version: env!("CARGO_PKG_VERSION").to_string(),
        uptime_seconds: state.started.elapsed().as_secs(),
        metadata_store: store,
    };
    (status, Json(health))
}
