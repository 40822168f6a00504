//! `GET /api/v1/status.json` and `GET /api/v1/status/events`: the public
//! summary, and a stream that sends it again (`event: status`) whenever
//! what strangers can see changes. Events about private databases never
//! reach it: a summary is sent only when it differs from the last one.

use std::convert::Infallible;
use std::time::Duration;

use app::status::StatusSummary;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::Stream;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use super::summary::summary;
use crate::web::AppState;

#[utoipa::path(get, path = "/api/v1/status.json", tag = "public status",
    responses((status = 200, body = StatusSummary, description = "public databases only; CORS for any origin")))]
pub async fn summary_json(State(state): State<AppState>) -> Response {
    match summary(&state.store).await {
        Ok(s) => ([(axum::http::header::CACHE_CONTROL, "no-cache")], Json(s)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "status summary failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

#[utoipa::path(get, path = "/api/v1/status/events", tag = "public status",
    responses((status = 200, content_type = "text/event-stream",
        description = "`status` (a StatusSummary) now and whenever what it shows changes; CORS for any origin")))]
pub async fn events(State(state): State<AppState>) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let (tx, rx) = mpsc::channel(16);
    let bus = state.engine.subscribe();
    tokio::spawn(feed(state, bus, tx));
    Sse::new(ReceiverStream::new(rx)).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)).text("keep-alive"))
}

/// The parts of a summary strangers see change (not its timestamps).
fn visible(s: &StatusSummary) -> String {
    let mut s = s.clone();
    s.page.updated_at = chrono::DateTime::UNIX_EPOCH;
    for c in &mut s.components {
        c.updated_at = chrono::DateTime::UNIX_EPOCH;
        c.lag_seconds = c.lag_seconds.map(f64::round);
        c.uptime_24h = c.uptime_24h.map(|u| (u * 1000.0).round());
        c.uptime_7d = c.uptime_7d.map(|u| (u * 1000.0).round());
    }
    serde_json::to_string(&s).unwrap_or_default()
}

async fn feed(
    state: AppState,
    mut bus: broadcast::Receiver<app::model::Event>,
    tx: mpsc::Sender<Result<SseEvent, Infallible>>,
) {
    let mut shutdown = state.shutdown.clone();
    let mut last = String::new();
    loop {
        match summary(&state.store).await {
            Ok(s) => {
                let seen = visible(&s);
                if seen != last {
                    last = seen;
                    let data = serde_json::to_string(&s).unwrap_or_default();
                    if tx.send(Ok(SseEvent::default().event("status").data(data))).await.is_err() {
                        return;
                    }
                }
            }
            Err(e) => tracing::error!(error = %e, "public status feed: store failed"),
        }
        tokio::select! {
            _ = shutdown.wait_for(|s| *s) => return,
            received = bus.recv() => match received {
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            },
        }
    }
}
