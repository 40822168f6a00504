//! Response headers that keep pgfleet's pages where they belong: only the
//! embed routes may be framed (by the configured ancestors, default any),
//! every other page forbids it; public responses are readable from any
//! origin and never set cookies.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use crate::web::AppState;

/// Whether `path` is one of the widgets made to sit in an iframe.
pub fn is_embed(path: &str) -> bool {
    path == "/embed" || path.starts_with("/embed/")
}

/// On every response of the app: who may frame it.
pub async fn frame_policy(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let embed = is_embed(request.uri().path());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if embed {
        let policy = format!("frame-ancestors {}", state.embed_ancestors);
        if let Ok(v) = HeaderValue::from_str(&policy) {
            headers.insert(header::CONTENT_SECURITY_POLICY, v);
        }
    } else {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("frame-ancestors 'none'"));
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    response
}

/// On the public routes: any origin may read them, and no cookie is set.
pub async fn public_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.remove(header::SET_COOKIE);
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}
