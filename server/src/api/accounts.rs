//! `/api/v1` routes about people: who am I, users, tokens, settings and the
//! audit log.

use app::accounts::{AuditEntry, Invitation, Me, NewToken, Settings, TokenView, UserRole, UserView};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};

use super::error::{rejection, ErrorBody, Failure};
use super::extract::ApiPath;
use crate::access::Actor;
use crate::web::AppState;

#[utoipa::path(get, path = "/api/v1/me", tag = "accounts",
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)), security(("token" = [])))]
pub async fn me(State(state): State<AppState>, Extension(actor): Extension<Actor>) -> Json<Me> {
    Json(state.fleet.me(&actor))
}

#[utoipa::path(get, path = "/api/v1/users", tag = "accounts",
    responses((status = 200, body = Vec<UserView>), (status = 403, body = ErrorBody)), security(("token" = [])))]
pub async fn users(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
) -> Result<Json<Vec<UserView>>, Failure> {
    Ok(Json(state.fleet.users(&actor).await?))
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserBody {
    pub name: String,
    pub role: UserRole,
}

#[utoipa::path(post, path = "/api/v1/users", tag = "accounts", request_body = UserBody,
    responses((status = 201, body = Invitation, description = "the user, with a one-time password"),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("token" = [])))]
pub async fn invite(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    body: Result<Json<UserBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Invitation>), Failure> {
    let Json(body) = body.map_err(rejection)?;
    Ok((StatusCode::CREATED, Json(state.fleet.invite(&actor, &body.name, body.role).await?)))
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    pub role: UserRole,
}

#[utoipa::path(patch, path = "/api/v1/users/{name}", tag = "accounts", request_body = RoleBody,
    params(("name" = String, Path)),
    responses((status = 200, body = UserView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("token" = [])))]
pub async fn set_role(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(name): ApiPath<String>,
    body: Result<Json<RoleBody>, JsonRejection>,
) -> Result<Json<UserView>, Failure> {
    let Json(body) = body.map_err(rejection)?;
    Ok(Json(state.fleet.set_role(&actor, &name, body.role).await?))
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "accounts",
    responses((status = 200, body = Vec<TokenView>, description = "the caller's tokens (an admin's: everyone's)")),
    security(("token" = [])))]
pub async fn tokens(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
) -> Result<Json<Vec<TokenView>>, Failure> {
    Ok(Json(state.fleet.tokens(&actor).await?))
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    pub name: String,
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "accounts", request_body = TokenBody,
    responses((status = 201, body = NewToken, description = "the token, shown this once")),
    security(("token" = [])))]
pub async fn create_token(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    body: Result<Json<TokenBody>, JsonRejection>,
) -> Result<(StatusCode, Json<NewToken>), Failure> {
    let Json(body) = body.map_err(rejection)?;
    Ok((StatusCode::CREATED, Json(state.fleet.create_token(&actor, &body.name).await?)))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "accounts", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("token" = [])))]
pub async fn revoke_token(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, Failure> {
    state.fleet.revoke_token(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/settings", tag = "accounts",
    responses((status = 200, body = Settings)), security(("token" = [])))]
pub async fn settings(State(state): State<AppState>) -> Result<Json<Settings>, Failure> {
    Ok(Json(state.fleet.settings().await?))
}

#[utoipa::path(put, path = "/api/v1/settings", tag = "accounts", request_body = Settings,
    responses((status = 200, body = Settings), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("token" = [])))]
pub async fn put_settings(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    body: Result<Json<Settings>, JsonRejection>,
) -> Result<Json<Settings>, Failure> {
    let Json(body) = body.map_err(rejection)?;
    Ok(Json(state.fleet.put_settings(&actor, body).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    /// Only entries about this database.
    pub database: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "accounts", params(AuditQuery),
    responses((status = 200, body = Vec<AuditEntry>, description = "newest first, at most 500"),
        (status = 403, body = ErrorBody)),
    security(("token" = [])))]
pub async fn audit(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Query(query): Query<AuditQuery>,
) -> Result<Json<Vec<AuditEntry>>, Failure> {
    Ok(Json(state.fleet.audit_log(&actor, query.database.as_deref()).await?))
}
