//! `/badge/{name}.svg`: a shields-style badge (`amber | available`,
//! `amber | 2 s behind`); `/badge/{name}.json`: the same in the shields.io
//! endpoint format, for shields' own renderer.

use app::status::badge_words;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::{escape, summary};
use crate::web::AppState;

/// Badges are cheap to refetch but need not be exact to the second.
const CACHE: &str = "public, max-age=30";

/// The shields.io endpoint schema.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ShieldsEndpoint {
    pub schema_version: u8,
    pub label: String,
    pub message: String,
    pub color: String,
}

pub async fn badge(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let (name, svg) = match (file.strip_suffix(".svg"), file.strip_suffix(".json")) {
        (Some(name), _) => (name, true),
        (None, Some(name)) => (name, false),
        (None, None) => return not_found(),
    };
    let component = match summary::one(&state.store, name).await {
        Ok(Some(c)) => c,
        Ok(None) => return not_found(),
        Err(e) => {
            tracing::error!(error = %e, "badge: store failed");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let (message, color) = badge_words(component.phase, component.lag_seconds);
    let cache = [(header::CACHE_CONTROL, CACHE)];
    if svg {
        let body = render_svg(&component.name, &message, color);
        (cache, [(header::CONTENT_TYPE, "image/svg+xml; charset=utf-8")], body).into_response()
    } else {
        let body = ShieldsEndpoint { schema_version: 1, label: component.name, message, color: color.into() };
        (cache, Json(body)).into_response()
    }
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, [(header::CACHE_CONTROL, "no-store")], "no such public database").into_response()
}

/// Shields' colour names as hex.
fn hex(color: &str) -> &'static str {
    match color {
        "brightgreen" => "#4c1",
        "yellow" => "#dfb317",
        "red" => "#e05d44",
        "blue" => "#007ec6",
        _ => "#9f9f9f",
    }
}

/// Widths estimated from Verdana 11px, as shields' flat style does.
fn text_width(text: &str) -> usize {
    text.chars().map(|c| if c.is_ascii_uppercase() || c == 'm' || c == 'w' { 9 } else { 7 }).sum::<usize>() + 10
}

pub fn render_svg(label: &str, message: &str, color: &str) -> String {
    let (lw, mw) = (text_width(label), text_width(message));
    let total = lw + mw;
    let (label, message, fill) = (escape(label), escape(message), hex(color));
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" aria-label="{label}: {message}"><title>{label}: {message}</title><linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient><clipPath id="r"><rect width="{total}" height="20" rx="3" fill="#fff"/></clipPath><g clip-path="url(#r)"><rect width="{lw}" height="20" fill="#555"/><rect x="{lw}" width="{mw}" height="20" fill="{fill}"/><rect width="{total}" height="20" fill="url(#s)"/></g><g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11"><text x="{lx}" y="14">{label}</text><text x="{mx}" y="14">{message}</text></g></svg>"##,
        lx = lw / 2,
        mx = lw + mw / 2,
    )
}
