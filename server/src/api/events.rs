//! Server-sent events: a snapshot, then every change as it happens.
//!
//! Each subscriber gets its own task and a small buffer. A subscriber that
//! reads too slowly falls behind on the bus (never holding up the engine or
//! others) and is sent a fresh snapshot. `Last-Event-ID` replays missed
//! events from the store's event log, or a snapshot when they are gone.

use std::convert::Infallible;
use std::time::Duration;

use app::model::{DatabaseView, Event};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures::Stream;
use serde::Serialize;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use super::error::Failure;
use super::extract::ApiPath;
use crate::web::AppState;

/// The first message of a stream (and after a resync).
#[derive(Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Snapshot {
    pub databases: Vec<DatabaseView>,
}

#[utoipa::path(get, path = "/api/v1/events", tag = "events",
    responses((status = 200, content_type = "text/event-stream",
        description = "`snapshot` (a Snapshot), then one event per change named by its kind (an Event)")),
    security(("token" = [])))]
pub async fn all(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    stream(state, None, last_event_id(&headers))
}

#[utoipa::path(get, path = "/api/v1/databases/{name}/events", tag = "events",
    params(("name" = String, Path)),
    responses((status = 200, content_type = "text/event-stream"), (status = 404, body = super::error::ErrorBody)),
    security(("token" = [])))]
pub async fn one(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, Failure> {
    state.engine.get(&name).await?;
    Ok(stream(state, Some(name), last_event_id(&headers)))
}

fn last_event_id(headers: &HeaderMap) -> Option<i64> {
    headers.get("last-event-id")?.to_str().ok()?.trim().parse().ok()
}

fn stream(
    state: AppState,
    only: Option<String>,
    resume_after: Option<i64>,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let (tx, rx) = mpsc::channel(64);
    // Subscribe before reading state, so nothing falls between the two.
    let bus = state.engine.subscribe();
    tokio::spawn(feed(state, only, resume_after, bus, tx));
    Sse::new(ReceiverStream::new(rx)).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)).text("keep-alive"))
}

async fn feed(
    state: AppState,
    only: Option<String>,
    resume_after: Option<i64>,
    mut bus: broadcast::Receiver<Event>,
    tx: mpsc::Sender<Result<SseEvent, Infallible>>,
) {
    let mut shutdown = state.shutdown.clone();
    let stopped = async move {
        let _ = shutdown.wait_for(|s| *s).await;
    };
    tokio::pin!(stopped);
    let wanted = |e: &Event| only.as_deref().is_none_or(|n| n == e.database);
    let mut sent_up_to = match resume_after {
        Some(id) => match state.store.events_after(id).await {
            Ok(Some(missed)) => {
                let mut last = id;
                for event in missed.into_iter().filter(|e| wanted(e)) {
                    last = event.id;
                    if tx.send(Ok(to_sse(&event))).await.is_err() {
                        return;
                    }
                }
                last.max(id)
            }
            _ => match snapshot(&state, only.as_deref(), &tx).await {
                Some(id) => id,
                None => return,
            },
        },
        None => match snapshot(&state, only.as_deref(), &tx).await {
            Some(id) => id,
            None => return,
        },
    };
    loop {
        tokio::select! {
            _ = &mut stopped => return,
            received = bus.recv() => match received {
                Ok(event) => {
                    if event.id <= sent_up_to || !wanted(&event) {
                        continue;
                    }
                    sent_up_to = event.id;
                    if tx.send(Ok(to_sse(&event))).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    match snapshot(&state, only.as_deref(), &tx).await {
                        Some(id) => sent_up_to = id,
                        None => return,
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }
}

/// Sends a snapshot; returns the event id it is current up to.
async fn snapshot(
    state: &AppState,
    only: Option<&str>,
    tx: &mpsc::Sender<Result<SseEvent, Infallible>>,
) -> Option<i64> {
    let id = state.store.last_event_id().await.ok()?;
    let mut databases = state.engine.list().await.ok()?;
    if let Some(name) = only {
        databases.retain(|d| d.name == name);
    }
    let data = serde_json::to_string(&Snapshot { databases }).ok()?;
    tx.send(Ok(SseEvent::default().event("snapshot").id(id.to_string()).data(data))).await.ok()?;
    Some(id)
}

fn to_sse(event: &Event) -> SseEvent {
    SseEvent::default()
        .event(event.kind.as_str())
        .id(event.id.to_string())
        .data(serde_json::to_string(event).unwrap_or_default())
}
