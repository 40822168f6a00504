//! `GET /api/v1/status.json` and `GET /api/v1/status/events`: the public
//! summary, and a stream that sends it again (`event: status`) whenever
//! what strangers can see changes.
//!
//! One task ([`spawn`]) computes summaries for every public stream: after
//! events on the bus it recomputes (at most every [`SETTLE`]) and publishes
//! only when what strangers see changed, so private databases' events never
//! show and many viewers cost one query, not one each.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use app::status::StatusSummary;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::Stream;
use tokio::sync::{broadcast, mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;

use super::summary::summary;
use crate::store::Store;
use crate::web::AppState;

/// How long the feed lets a burst of events (lag, sizes) settle before it
/// recomputes.
pub const SETTLE: Duration = Duration::from_millis(200);

/// The latest public summary, as the JSON every stream sends.
pub struct Published {
    pub json: String,
}

/// What every public stream watches.
pub type Feed = watch::Receiver<Option<Arc<Published>>>;

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
    let mut summaries = state.public_feed.clone();
    let mut shutdown = state.shutdown.clone();
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        loop {
            let current = summaries.borrow_and_update().clone();
            if let Some(published) = current {
                if tx.send(Ok(SseEvent::default().event("status").data(published.json.clone()))).await.is_err() {
                    return;
                }
            }
            tokio::select! {
                _ = shutdown.wait_for(|s| *s) => return,
                changed = summaries.changed() => if changed.is_err() { return },
            }
        }
    });
    Sse::new(ReceiverStream::new(rx)).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)).text("keep-alive"))
}

/// Starts the one loop that computes summaries for all public streams,
/// under the engine's supervisor.
pub fn spawn(store: Store, engine: &crate::engine::Engine) -> Feed {
    let (tx, rx) = watch::channel(None);
    let tx = Arc::new(tx);
    let subscribe = engine.clone();
    engine.supervisor().spawn("public-status-feed", move |mut stop| {
        let (store, tx) = (store.clone(), tx.clone());
        // Subscribed before the first summary, so no change falls between.
        let bus = subscribe.subscribe();
        async move {
            tokio::select! {
                _ = publish(store, bus, tx) => {}
                _ = stop.wait_for(|s| *s) => {}
            }
        }
    });
    rx
}

async fn publish(
    store: Store,
    mut bus: broadcast::Receiver<app::model::Event>,
    tx: Arc<watch::Sender<Option<Arc<Published>>>>,
) {
    let mut last = String::new();
    loop {
        match summary(&store).await {
            Ok(s) => {
                let seen = visible(&s);
                if seen != last {
                    last = seen;
                    let json = serde_json::to_string(&s).unwrap_or_default();
                    tx.send_replace(Some(Arc::new(Published { json })));
                }
            }
            Err(e) => tracing::error!(error = %e, "public status feed: store failed"),
        }
        match bus.recv().await {
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
            Err(broadcast::error::RecvError::Closed) => return,
        }
        tokio::time::sleep(SETTLE).await;
        while let Ok(_) | Err(broadcast::error::TryRecvError::Lagged(_)) = bus.try_recv() {}
    }
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
