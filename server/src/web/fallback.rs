//! What answers a path no route has: a file of the built console (the
//! WASM, its script and stylesheet, the public assets) if there is one,
//! precompressed and with its cache policy (`assets`),
//! the favicon under the names browsers ask for, and otherwise a 404 page
//! (never the console rendered for a route it does not have, which used
//! to come back as a 503).

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use tower::ServiceExt;

use super::assets::Assets;
use super::AppState;

/// The console's icon, built into the binary so it is there even before
/// the site is built.
const FAVICON_SVG: &[u8] = include_bytes!("../../../public/favicon.svg");

pub async fn fallback(State(state): State<AppState>, request: Request) -> Response {
    let path = request.uri().path();
    if path == "/favicon.ico" || path == "/favicon.svg" {
        return (
            [(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "public, max-age=86400")],
            FAVICON_SVG,
        )
            .into_response();
    }
    let path = path.to_string();
    let root = state.leptos_options.site_root.to_string();
    let files = tower_http::services::ServeDir::new(root).precompressed_br().precompressed_gzip();
    match files.oneshot(request).await {
        Ok(response) if response.status() != StatusCode::NOT_FOUND => {
            let mut response = response.into_response();
            super::assets::set_file_headers(&path, &mut response);
            response
        }
        _ => not_found(&state.assets),
    }
}

fn not_found(assets: &Assets) -> Response {
    let page = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Not found · pgfleet</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <link rel=\"stylesheet\" href=\"{}\"><link rel=\"icon\" href=\"/favicon.svg\">\
         </head><body><main class=\"page\"><h1>Not found</h1>\
         <p class=\"notice\">This page does not exist.</p><p><a href=\"/\">Back to the databases</a></p>\
         </main></body></html>",
        assets.stylesheet()
    );
    (StatusCode::NOT_FOUND, [(header::CACHE_CONTROL, "no-cache")], Html(page)).into_response()
}
