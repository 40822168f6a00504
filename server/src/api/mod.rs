//! The HTTP API under `/api/v1`: JSON for people's scripts and the CLI,
//! server-sent events for live readiness, and the OpenAPI document that
//! describes both. Every route but the OpenAPI document needs a token.

use axum::routing::{get, post};
use axum::{middleware, Json, Router};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::web::AppState;

pub mod auth;
pub mod databases;
pub mod error;
pub mod events;

#[derive(OpenApi)]
#[openapi(
    info(title = "pgfleet", description = "PostgreSQL databases, followers and forks for a team."),
    paths(
        databases::list, databases::show, databases::create, databases::promote, databases::destroy,
        databases::credentials, events::all, events::one
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
        .route("/databases/{name}", get(databases::show).delete(databases::destroy))
        .route("/databases/{name}/promote", post(databases::promote))
        .route("/databases/{name}/credentials", get(databases::credentials))
        .route("/databases/{name}/events", get(events::one))
        .route("/events", get(events::all))
        .route_layer(middleware::from_fn_with_state(state, auth::require_token));
    Router::new()
        .route("/openapi.json", get(|| async { Json(ApiDoc::openapi()) }))
        .merge(protected)
        .fallback(|| async { error::Failure::new(app::model::ErrorCode::NotFound, "no such API route") })
}
