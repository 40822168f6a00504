//! The HTTP API under `/api/v1`: JSON for people's scripts and the CLI,
//! server-sent events for live readiness, and the OpenAPI document that
//! describes both. Every route but the OpenAPI document needs a token (or the console's
//! session).

use axum::routing::{delete, get, patch, post};
use axum::{middleware, Json, Router};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::web::AppState;

/// The largest request body the API reads; every body it takes is a few
/// hundred bytes of JSON.
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;

pub mod accounts;
pub mod auth;
pub mod databases;
pub mod error;
pub mod events;
pub mod extract;
pub mod requests;

#[derive(OpenApi)]
#[openapi(
    info(title = "pgfleet", description = "PostgreSQL databases, followers and forks for a team."),
    paths(
        databases::list, databases::show, databases::create, databases::promote, databases::retry, databases::destroy,
        databases::credentials, databases::protect, databases::extend, events::all, events::one,
        requests::list, requests::create, requests::show, requests::approve, requests::reject,
        accounts::me, accounts::users, accounts::invite, accounts::set_role, accounts::tokens,
        accounts::create_token, accounts::revoke_token, accounts::settings, accounts::put_settings, accounts::audit,
        crate::public::feed::summary_json, crate::public::feed::events
    ),
    components(schemas(app::model::Event, events::Snapshot)),
    modifiers(&TokenAuth)
)]
pub struct ApiDoc;

struct TokenAuth;

impl Modify for TokenAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub fn router(state: AppState) -> Router<AppState> {
    let protected = Router::new()
        .route("/databases", get(databases::list).post(databases::create))
        .route("/databases/{name}", get(databases::show).patch(databases::protect).delete(databases::destroy))
        .route("/databases/{name}/promote", post(databases::promote))
        .route("/databases/{name}/retry", post(databases::retry))
        .route("/databases/{name}/extend", post(databases::extend))
        .route("/databases/{name}/credentials", get(databases::credentials))
        .route("/databases/{name}/events", get(events::one))
        .route("/events", get(events::all))
        .route("/fork-requests", get(requests::list).post(requests::create))
        .route("/fork-requests/{id}", get(requests::show))
        .route("/fork-requests/{id}/approve", post(requests::approve))
        .route("/fork-requests/{id}/reject", post(requests::reject))
        .route("/me", get(accounts::me))
        .route("/users", get(accounts::users).post(accounts::invite))
        .route("/users/{name}", patch(accounts::set_role))
        .route("/tokens", get(accounts::tokens).post(accounts::create_token))
        .route("/tokens/{id}", delete(accounts::revoke_token))
        .route("/settings", get(accounts::settings).put(accounts::put_settings))
        .route("/audit", get(accounts::audit))
        .route_layer(middleware::from_fn_with_state(state, auth::authenticate));
    Router::new()
        .route("/openapi.json", get(|| async { Json(ApiDoc::openapi()) }))
        .merge(crate::public::api_router())
        .merge(protected)
        .fallback(|| async { error::Failure::new(app::model::ErrorCode::NotFound, "no such API route") })
        .method_not_allowed_fallback(|| async {
            error::Failure::new(app::model::ErrorCode::MethodNotAllowed, "this API route does not take that method")
        })
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT_BYTES))
}
