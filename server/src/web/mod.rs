//! The HTTP app: the console (SSR + hydration + static files) and its
//! server functions behind the session gate, the API, and `/healthz`.

use std::sync::Arc;
use std::time::Instant;

use app::backend::SharedBackend;
use axum::extract::FromRef;
use axum::http::{header, HeaderValue};
use axum::routing::get;
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::access::Fleet;
use crate::config::Config;
use crate::console::Console;
use crate::engine::Engine;
use crate::store::Store;

pub mod assets;
pub mod client;
pub mod fallback;
pub mod health;
pub mod session;

/// What every handler can reach.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    /// The built console's hashed file names.
    pub assets: Arc<assets::Assets>,
    pub store: Store,
    pub engine: Engine,
    /// The engine behind accounts, rules and the audit log.
    pub fleet: Fleet,
    pub backend: SharedBackend,
    pub started: Instant,
    /// The public status summary, kept current by one task.
    pub public_feed: crate::public::feed::Feed,
    /// Who may frame `/embed…` (CSP `frame-ancestors`).
    pub embed_ancestors: std::sync::Arc<str>,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Arc<client::TrustedProxies>,
    /// Becomes true when the server shuts down, so endless streams end.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
}

impl AppState {
    pub fn new(
        config: &Config,
        store: Store,
        fleet: Fleet,
        public_feed: crate::public::feed::Feed,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Self {
        let engine = fleet.engine().clone();
        let mut leptos_options = LeptosOptions::builder()
            .output_name("pgfleet")
            .site_root(config.site_root.to_string_lossy().into_owned())
            .site_pkg_dir("pkg")
            .site_addr(config.listen)
            .build();
        if let Some(hashes) = assets::Assets::hash_file(&config.site_root) {
            leptos_options.hash_files = true;
            leptos_options.hash_file = hashes.to_string_lossy().into_owned().into();
        }
        let backend: SharedBackend = Arc::new(Console::new(fleet.clone()));
        AppState {
            leptos_options,
            assets: Arc::new(assets::Assets::load(&config.site_root)),
            store,
            engine,
            fleet,
            backend,
            started: Instant::now(),
            embed_ancestors: config.embed_ancestors.clone().into(),
            trusted_proxies: Arc::new(config.trusted_proxies.clone()),
            public_feed,
            shutdown,
        }
    }
}

/// The whole router, ready to serve.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(app::App);
    let backend = state.backend.clone();
    let options = state.leptos_options.clone();
    let stylesheet = state.assets.stylesheet().to_string();
    // The console's pages, server functions and stream, all behind the
    // session gate. The stream is the API's feed, same-origin and with the
    // session cookie (browsers' EventSource cannot send a bearer token).
    let console = Router::new()
        .route("/console/events", get(crate::api::events::all))
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(backend.clone()),
            move || app::shell(options.clone(), stylesheet.clone()),
        )
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), session::gate));
    Router::new()
        .route("/healthz", get(health::healthz))
        .nest("/api/v1", crate::api::router(state.clone()))
        .merge(crate::public::router())
        .merge(console)
        .fallback(fallback::fallback)
        // Pages and API answers are revalidated; the static files set their own.
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-cache")))
        // Brotli or gzip, as the client accepts, for what is made per request
        // (event streams and the precompressed files are left as they are).
        .layer(CompressionLayer::new().br(true).gzip(true))
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::public::framing::frame_policy))
        .layer(axum::middleware::from_fn_with_state(state.trusted_proxies.clone(), client::resolve))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}
