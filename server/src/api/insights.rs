//! `/api/v1/databases/{name}/…` diagnostics: sessions (`pg:ps`) and ending
//! them (`pg:kill`), locks (`pg:locks`), statements (`pg:outliers`),
//! sizes and health checks (`pg:diagnose`).

use app::diagnose::{Diagnosis, Sizes};
use app::insights::{Blocking, Ended, Session, Statements, StatementsQuery};
use app::model::ErrorCode;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};

use super::error::{ErrorBody, Failure};
use super::extract::ApiPath;
use crate::access::Actor;
use crate::web::AppState;

#[utoipa::path(get, path = "/api/v1/databases/{name}/sessions", tag = "insights",
    params(("name" = String, Path)),
    responses((status = 200, body = Vec<Session>,
            description = "its client sessions, longest-running first; `query` is absent for viewers"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "it is not available"),
        (status = 401, body = ErrorBody)),
    security(("token" = [])))]
pub async fn sessions(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<Vec<Session>>, Failure> {
    Ok(Json(state.fleet.sessions(&actor, &name).await?))
}

#[utoipa::path(get, path = "/api/v1/databases/{name}/locks", tag = "insights",
    params(("name" = String, Path)),
    responses((status = 200, body = Vec<Blocking>, description = "every session waiting on another's lock, with that one"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "it is not available"),
        (status = 401, body = ErrorBody)),
    security(("token" = [])))]
pub async fn locks(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<Vec<Blocking>>, Failure> {
    Ok(Json(state.fleet.blocking(&actor, &name).await?))
}

#[utoipa::path(post, path = "/api/v1/databases/{name}/sessions/{pid}/cancel", tag = "insights",
    params(("name" = String, Path), ("pid" = i64, Path)),
    responses((status = 200, body = Ended, description = "its query was cancelled (audited)"),
        (status = 404, body = ErrorBody, description = "no such database or session"),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody, description = "pgfleet's own session, or a pid out of range"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("token" = [])))]
pub async fn cancel(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath((name, pid)): ApiPath<(String, i64)>,
) -> Result<Json<Ended>, Failure> {
    Ok(Json(state.fleet.end_session(&actor, &name, pid, false).await?))
}

#[utoipa::path(post, path = "/api/v1/databases/{name}/sessions/{pid}/terminate", tag = "insights",
    params(("name" = String, Path), ("pid" = i64, Path)),
    responses((status = 200, body = Ended, description = "its session was ended (audited)"),
        (status = 404, body = ErrorBody, description = "no such database or session"),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody, description = "pgfleet's own session, or a pid out of range"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("token" = [])))]
pub async fn terminate(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath((name, pid)): ApiPath<(String, i64)>,
) -> Result<Json<Ended>, Failure> {
    Ok(Json(state.fleet.end_session(&actor, &name, pid, true).await?))
}

#[utoipa::path(get, path = "/api/v1/databases/{name}/statements", tag = "insights",
    params(("name" = String, Path), StatementsQuery),
    responses((status = 200, body = Statements,
            description = "its costliest normalised statements from pg_stat_statements, or why there are none yet"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "it is not available"),
        (status = 422, body = ErrorBody, description = "limit out of range"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("token" = [])))]
pub async fn statements(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(name): ApiPath<String>,
    query: Result<Query<StatementsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Statements>, Failure> {
    let Query(query) = query.map_err(|e| Failure::new(ErrorCode::BadRequest, e.body_text()))?;
    Ok(Json(state.fleet.statements(&actor, &name, &query).await?))
}

#[utoipa::path(post, path = "/api/v1/databases/{name}/statements/reset", tag = "insights",
    params(("name" = String, Path)),
    responses((status = 204, description = "its statements' totals start again from zero (audited)"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "it is not available, or pg_stat_statements is not loaded yet"),
        (status = 401, body = ErrorBody)),
    security(("token" = [])))]
pub async fn reset_statements(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(name): ApiPath<String>,
) -> Result<StatusCode, Failure> {
    state.fleet.reset_statements(&actor, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/databases/{name}/sizes", tag = "insights",
    params(("name" = String, Path)),
    responses((status = 200, body = Sizes,
            description = "its 50 largest tables and indexes, with unused and duplicate indexes, dead rows and scans"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "it is not available, or a table is locked"),
        (status = 401, body = ErrorBody)),
    security(("token" = [])))]
pub async fn sizes(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<Sizes>, Failure> {
    Ok(Json(state.fleet.sizes(&actor, &name).await?))
}

#[utoipa::path(get, path = "/api/v1/databases/{name}/diff", tag = "insights",
    params(("name" = String, Path)),
    responses((status = 200, body = app::schema_diff::SchemaDiff,
            description = "what differs in its schema against the database it was forked from"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "it or its source is not available"),
        (status = 422, body = ErrorBody, description = "it was not forked or followed from another"),
        (status = 401, body = ErrorBody)),
    security(("token" = [])))]
pub async fn diff_with_source(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<app::schema_diff::SchemaDiff>, Failure> {
    Ok(Json(state.fleet.schema_diff(&actor, &name, None).await?))
}

#[utoipa::path(get, path = "/api/v1/databases/{name}/diff/{other}", tag = "insights",
    params(("name" = String, Path), ("other" = String, Path, description = "the database compared against")),
    responses((status = 200, body = app::schema_diff::SchemaDiff,
            description = "what differs in its schema against the other's: added (only in it), removed (only in \
                           the other), changed (defined differently), grouped by schema"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "one of the two is not available"),
        (status = 401, body = ErrorBody)),
    security(("token" = [])))]
pub async fn diff(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath((name, other)): ApiPath<(String, String)>,
) -> Result<Json<app::schema_diff::SchemaDiff>, Failure> {
    Ok(Json(state.fleet.schema_diff(&actor, &name, Some(&other)).await?))
}

#[utoipa::path(get, path = "/api/v1/databases/{name}/diagnose", tag = "insights",
    params(("name" = String, Path)),
    responses((status = 200, body = Diagnosis,
            description = "every health check, green, yellow, red or skipped, with the number behind it and what to do"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "it is not available, or a table is locked"),
        (status = 401, body = ErrorBody)),
    security(("token" = [])))]
pub async fn diagnose(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<Diagnosis>, Failure> {
    Ok(Json(state.fleet.diagnose(&actor, &name).await?))
}
