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
pub mod insights;
pub mod masking;
pub mod requests;
pub mod roles;

#[derive(OpenApi)]
#[openapi(
    info(title = "pgfleet", description = "PostgreSQL databases, followers and forks for a team."),
    paths(
        databases::list, databases::show, databases::create, databases::promote, databases::retry, databases::reset, databases::destroy,
        databases::credentials, databases::rotate_credentials, roles::list, roles::create, roles::credentials,
        roles::rotate, roles::destroy, masking::show, masking::put, masking::preview, databases::protect, databases::extend, databases::backups, databases::capture_backup,
        databases::metrics, insights::sessions, insights::locks, insights::cancel, insights::terminate,
        insights::statements, insights::reset_statements, insights::sizes, insights::diff_with_source, insights::diff, insights::diagnose, events::all, events::one,
        requests::list, requests::create, requests::show, requests::approve, requests::reject,
        accounts::me, accounts::users, accounts::invite, accounts::set_role, accounts::tokens,
        accounts::create_token, accounts::revoke_token, accounts::settings, accounts::put_settings, accounts::audit,
        crate::public::feed::summary_json, crate::public::feed::events, openapi_json
    ),
    components(schemas(app::model::Event, events::Snapshot)),
    modifiers(&TokenAuth, &CommonResponses)
)]
pub struct ApiDoc;

#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "api",
    responses((status = 200, content_type = "application/json", description = "this document")))]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// Documents the answers every route of a kind can give, so the document
/// lists every status each route returns: a route behind a token may
/// answer 401, 403 (a one-time-password session, a role) and 503 (the
/// store); one that takes a body 400, 413, 415 and 422; one with a path
/// parameter 404. Answers a route documents itself are kept.
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build(),
                )
                .build()
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
                &mut item.head,
                &mut item.options,
            ];
            for operation in operations.into_iter().flatten() {
                let mut common: Vec<(&str, &str)> = Vec::new();
                if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
                    common.push(("401", "no valid token or session"));
                    common.push((
                        "403",
                        "the caller's role does not allow it, or a one-time password must be changed first",
                    ));
                    common.push(("503", "the metadata store is not answering"));
                }
                if operation.request_body.is_some() {
                    common.push(("400", "the body is not valid JSON"));
                    common.push(("413", "the body is larger than the API takes"));
                    common.push(("415", "the body is not sent as application/json"));
                    common.push(("422", "the body does not fit the schema, or a value is out of range"));
                }
                if path.contains('{') {
                    common.push(("404", "nothing has that name or id"));
                }
                for (status, description) in common {
                    operation
                        .responses
                        .responses
                        .entry(status.to_string())
                        .or_insert_with(|| error(description).into());
                }
            }
        }
    }
}

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
        .route("/databases/{name}/reset", post(databases::reset))
        .route("/databases/{name}/backups", get(databases::backups).post(databases::capture_backup))
        .route("/databases/{name}/metrics", get(databases::metrics))
        .route("/databases/{name}/sessions", get(insights::sessions))
        .route("/databases/{name}/sessions/{pid}/cancel", post(insights::cancel))
        .route("/databases/{name}/sessions/{pid}/terminate", post(insights::terminate))
        .route("/databases/{name}/locks", get(insights::locks))
        .route("/databases/{name}/statements", get(insights::statements))
        .route("/databases/{name}/statements/reset", post(insights::reset_statements))
        .route("/databases/{name}/sizes", get(insights::sizes))
        .route("/databases/{name}/diagnose", get(insights::diagnose))
        .route("/databases/{name}/diff", get(insights::diff_with_source))
        .route("/databases/{name}/diff/{other}", get(insights::diff))
        .route("/databases/{name}/extend", post(databases::extend))
        .route("/databases/{name}/credentials", get(databases::credentials))
        .route("/databases/{name}/credentials/rotate", post(databases::rotate_credentials))
        .route("/databases/{name}/roles", get(roles::list).post(roles::create))
        .route("/databases/{name}/roles/{role}", delete(roles::destroy))
        .route("/databases/{name}/roles/{role}/credentials", get(roles::credentials))
        .route("/databases/{name}/roles/{role}/rotate", post(roles::rotate))
        .route("/databases/{name}/masking", get(masking::show).put(masking::put))
        .route("/databases/{name}/masking/preview", get(masking::preview))
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
        .route("/openapi.json", get(openapi_json))
        .merge(crate::public::api_router())
        .merge(protected)
        .fallback(|| async { error::Failure::new(app::model::ErrorCode::NotFound, "no such API route") })
        .method_not_allowed_fallback(|| async {
            error::Failure::new(app::model::ErrorCode::MethodNotAllowed, "this API route does not take that method")
        })
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT_BYTES))
}
