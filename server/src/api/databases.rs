//! `/api/v1/databases`: list, show, create (follow, fork), promote,
//! destroy, credentials.

use app::model::{AccessSettings, DatabaseView, ErrorCode, ForkPolicy, NewDatabase};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Extension;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::error::{rejection, ErrorBody, Failure};
use super::extract::ApiPath;
use crate::access::Actor;
use crate::engine::admission::IdempotencyKey;
use crate::engine::CreateRequest;
use crate::web::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct DestroyQuery {
    /// Also destroy the database's followers (otherwise refused with 409).
    #[serde(default)]
    pub take_followers: bool,
}

/// `POST /api/v1/databases/{name}/credentials/rotate?keep_sessions=`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RotateQuery {
    /// Leave the owner's open sessions running (they were opened with the
    /// old password; by default they are ended).
    #[serde(default)]
    pub keep_sessions: bool,
}

/// The connection URL of a database.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Credentials {
    pub url: String,
}

#[utoipa::path(get, path = "/api/v1/databases", tag = "databases",
    responses((status = 200, body = Vec<DatabaseView>), (status = 401, body = ErrorBody)),
    security(("token" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
) -> Result<Json<Vec<DatabaseView>>, Failure> {
    Ok(Json(state.fleet.list(&actor).await?))
}

#[utoipa::path(get, path = "/api/v1/databases/{name}", tag = "databases",
    params(("name" = String, Path)),
    responses((status = 200, body = DatabaseView), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("token" = [])))]
pub async fn show(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<DatabaseView>, Failure> {
    Ok(Json(state.fleet.get(&actor, &name).await?))
}

#[utoipa::path(post, path = "/api/v1/databases", tag = "databases",
    request_body = NewDatabase,
    params(("Idempotency-Key" = Option<String>, Header, description = "the same key twice makes one database")),
    responses(
        (status = 202, body = DatabaseView, description = "accepted; it is provisioning"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("token" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    headers: HeaderMap,
    body: Result<Json<NewDatabase>, JsonRejection>,
) -> Result<(StatusCode, Json<DatabaseView>), Failure> {
    let Json(body) = body.map_err(rejection)?;
    let idempotency_key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .filter(|k| !k.is_empty() && k.len() <= 200)
                .ok_or_else(|| Failure::new(ErrorCode::BadRequest, "Idempotency-Key must be 1-200 visible characters"))?
                .to_string(),
        ),
    };
    let mut request = CreateRequest::new(body).map_err(app::model::ApiError::from)?;
    request.idempotency = idempotency_key.map(|key| IdempotencyKey { caller: actor.name().to_string(), key });
    let view = state.fleet.create(&actor, request).await?;
    Ok((StatusCode::ACCEPTED, Json(view)))
}

#[utoipa::path(post, path = "/api/v1/databases/{name}/promote", tag = "databases",
    params(("name" = String, Path)),
    responses((status = 202, body = DatabaseView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("token" = [])))]
pub async fn promote(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(name): ApiPath<String>,
) -> Result<(StatusCode, Json<DatabaseView>), Failure> {
    Ok((StatusCode::ACCEPTED, Json(state.fleet.promote(&actor, &name).await?)))
}

#[utoipa::path(post, path = "/api/v1/databases/{name}/retry", tag = "databases",
    params(("name" = String, Path)),
    responses((status = 202, body = DatabaseView, description = "it is provisioning again"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "it is not failed"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("token" = [])))]
pub async fn retry(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(name): ApiPath<String>,
) -> Result<(StatusCode, Json<DatabaseView>), Failure> {
    Ok((StatusCode::ACCEPTED, Json(state.fleet.retry(&actor, &name).await?)))
}

#[utoipa::path(get, path = "/api/v1/databases/{name}/metrics", tag = "databases",
    params(("name" = String, Path), app::metrics::MetricsQuery),
    responses((status = 200, body = app::metrics::Metrics,
            description = "its measurements since `since` (default: the last 15 minutes) in steps of `step` seconds (default 10), each point the largest value in its step"),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody, description = "the window or step is out of range"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("token" = [])))]
pub async fn metrics(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(name): ApiPath<String>,
    query: Result<Query<app::metrics::MetricsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<app::metrics::Metrics>, Failure> {
    let Query(query) = query.map_err(|e| Failure::new(ErrorCode::BadRequest, e.body_text()))?;
    Ok(Json(state.fleet.metrics(&actor, &name, &query).await?))
}

#[utoipa::path(get, path = "/api/v1/databases/{name}/backups", tag = "databases",
    params(("name" = String, Path)),
    responses((status = 200, body = Vec<app::model::Backup>, description = "its backups and snapshots, oldest first"),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody, description = "it is a follower"),
        (status = 401, body = ErrorBody)),
    security(("token" = [])))]
pub async fn backups(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<Vec<app::model::Backup>>, Failure> {
    Ok(Json(state.fleet.backups(&actor, &name).await?))
}

#[utoipa::path(post, path = "/api/v1/databases/{name}/backups", tag = "databases",
    params(("name" = String, Path)),
    responses((status = 202, body = DatabaseView, description = "a full backup will be taken now; its progress streams"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "it is not available"),
        (status = 422, body = ErrorBody, description = "it is a follower"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("token" = [])))]
pub async fn capture_backup(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(name): ApiPath<String>,
) -> Result<(StatusCode, Json<DatabaseView>), Failure> {
    Ok((StatusCode::ACCEPTED, Json(state.fleet.capture_backup(&actor, &name).await?)))
}

#[utoipa::path(delete, path = "/api/v1/databases/{name}", tag = "databases",
    params(("name" = String, Path), DestroyQuery),
    responses((status = 202, description = "deletion started"), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("token" = [])))]
pub async fn destroy(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(name): ApiPath<String>,
    query: Result<Query<DestroyQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<StatusCode, Failure> {
    let Query(query) = query.map_err(|e| Failure::new(ErrorCode::BadRequest, e.body_text()))?;
    state.fleet.destroy(&actor, &name, query.take_followers).await?;
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(get, path = "/api/v1/databases/{name}/credentials", tag = "databases",
    params(("name" = String, Path)),
    responses((status = 200, body = Credentials), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("token" = [])))]
pub async fn credentials(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<Credentials>, Failure> {
    Ok(Json(Credentials { url: state.fleet.credentials(&actor, &name).await? }))
}

#[utoipa::path(post, path = "/api/v1/databases/{name}/credentials/rotate", tag = "databases",
    params(("name" = String, Path), RotateQuery),
    responses((status = 200, body = app::model::Rotated,
            description = "a new owner password, applied (audited); the old one no longer opens sessions"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "it is not available"),
        (status = 422, body = ErrorBody, description = "a follower (its source's credentials are rotated)"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("token" = [])))]
pub async fn rotate_credentials(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(name): ApiPath<String>,
    query: Result<Query<RotateQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<app::model::Rotated>, Failure> {
    let Query(query) = query.map_err(|e| Failure::new(ErrorCode::BadRequest, e.body_text()))?;
    Ok(Json(state.fleet.rotate_credentials(&actor, &name, query.keep_sessions).await?))
}

#[utoipa::path(post, path = "/api/v1/databases/{name}/reset", tag = "databases",
    params(("name" = String, Path)),
    request_body(content = app::model::ResetRequest, description = "optional: as of a moment (an empty body: now)"),
    responses((status = 202, body = DatabaseView,
            description = "provisioning: made again from its source, keeping its name, port and passwords (audited)"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "it is busy, or has followers"),
        (status = 422, body = ErrorBody, description = "not a fork, a moment outside the source's window, or a bad body"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("token" = [])))]
pub async fn reset(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(name): ApiPath<String>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<DatabaseView>), Failure> {
    let request: app::model::ResetRequest = if body.iter().all(u8::is_ascii_whitespace) {
        Default::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| Failure::new(ErrorCode::Unprocessable, format!("the body is not a reset request: {e}")))?
    };
    let point = request.fork_point().map_err(|e| Failure::new(ErrorCode::Unprocessable, e))?;
    Ok((StatusCode::ACCEPTED, Json(state.fleet.reset(&actor, &name, point).await?)))
}

/// What `PATCH /api/v1/databases/{name}` changes (admins only); absent
/// fields keep their value.
#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessBody {
    pub protected: Option<bool>,
    pub fork_policy: Option<ForkPolicy>,
    /// Shown on `/status`, embeds and badges.
    pub public: Option<bool>,
}

#[utoipa::path(patch, path = "/api/v1/databases/{name}", tag = "databases",
    params(("name" = String, Path)), request_body = AccessBody,
    responses((status = 200, body = DatabaseView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("token" = [])))]
pub async fn protect(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(name): ApiPath<String>,
    body: Result<Json<AccessBody>, JsonRejection>,
) -> Result<Json<DatabaseView>, Failure> {
    let Json(body) = body.map_err(rejection)?;
    let current = state.fleet.get(&actor, &name).await?;
    let access = AccessSettings {
        protected: body.protected.unwrap_or(current.protected),
        fork_policy: body.fork_policy.unwrap_or(current.fork_policy),
        public: body.public.unwrap_or(current.public),
    };
    Ok(Json(state.fleet.set_access(&actor, &name, access).await?))
}

/// `POST /api/v1/databases/{name}/extend`.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendBody {
    /// How much longer it should live.
    pub seconds: i64,
}

#[utoipa::path(post, path = "/api/v1/databases/{name}/extend", tag = "databases",
    params(("name" = String, Path)), request_body = ExtendBody,
    responses((status = 200, body = DatabaseView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("token" = [])))]
pub async fn extend(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(name): ApiPath<String>,
    body: Result<Json<ExtendBody>, JsonRejection>,
) -> Result<Json<DatabaseView>, Failure> {
    let Json(body) = body.map_err(rejection)?;
    Ok(Json(state.fleet.extend(&actor, &name, body.seconds).await?))
}
