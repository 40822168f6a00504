//! The public status surfaces, for teams' own status pages and dashboards:
//! `/status` (a server-rendered page), `/embed` and `/embed/{name}`
//! (widgets for iframes), `/badge/{name}.svg|.json` (shields badges), and
//! `/api/v1/status.json` with its event stream.
//!
//! Only databases an admin made public appear; any other name answers 404,
//! exactly like a name that does not exist. Payloads carry names, phases,
//! roles, lag and uptime only. These routes sit outside the session gate,
//! read no cookies and set none. The pages are plain HTML with a few lines
//! of script rather than the console's WASM: a widget on someone else's page
//! should cost a few kilobytes, not the console.

use axum::routing::get;
use axum::Router;

use crate::web::AppState;

pub mod badge;
pub mod feed;
pub mod framing;
pub mod pages;
pub mod summary;
pub mod uptime;

/// `/status`, `/embed…` and `/badge/…`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/status", get(pages::status))
        .route("/status.js", get(pages::script))
        .route("/embed", get(pages::embed_all))
        .route("/embed/{name}", get(pages::embed_one))
        .route("/badge/{file}", get(badge::badge))
        .layer(axum::middleware::from_fn(framing::public_headers))
}

/// Text made safe inside HTML and SVG, attributes included.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The routes under `/api/v1` that need no token.
pub fn api_router() -> Router<AppState> {
    Router::new()
        .route("/status.json", get(feed::summary_json))
        .route("/status/events", get(feed::events))
        .layer(axum::middleware::from_fn(framing::public_headers))
}
