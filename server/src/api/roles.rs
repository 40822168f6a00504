//! `/api/v1/databases/{name}/roles`: a database's additional roles
//! (`heroku pg:credentials:create`, `:rotate --name`, `:destroy`, `:url`).

use app::roles::{NewRole, RoleUrl, RoleView};
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};

use super::databases::RotateQuery;
use super::error::{rejection, ErrorBody, Failure};
use super::extract::ApiPath;
use crate::access::Actor;
use crate::web::AppState;

#[utoipa::path(get, path = "/api/v1/databases/{name}/roles", tag = "roles", params(("name" = String, Path)),
    responses((status = 200, body = Vec<RoleView>,
        description = "its additional roles, without passwords (a follower's are its source's)"),
        (status = 404, body = ErrorBody)),
    security(("token" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<Vec<RoleView>>, Failure> {
    Ok(Json(state.fleet.roles(&actor, &name).await?))
}

#[utoipa::path(post, path = "/api/v1/databases/{name}/roles", tag = "roles", params(("name" = String, Path)),
    request_body = NewRole,
    responses((status = 201, body = RoleUrl, description = "made, with its password in the URL (audited)"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "the name is taken, or it is not available"),
        (status = 422, body = ErrorBody, description = "a bad name, too many roles, or a follower"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("token" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(name): ApiPath<String>,
    body: Result<Json<NewRole>, JsonRejection>,
) -> Result<(StatusCode, Json<RoleUrl>), Failure> {
    let Json(body) = body.map_err(rejection)?;
    Ok((StatusCode::CREATED, Json(state.fleet.create_role(&actor, &name, body).await?)))
}

#[utoipa::path(get, path = "/api/v1/databases/{name}/roles/{role}/credentials", tag = "roles",
    params(("name" = String, Path), ("role" = String, Path)),
    responses((status = 200, body = RoleUrl, description = "its URL (audited)"),
        (status = 404, body = ErrorBody, description = "no such database or role")),
    security(("token" = [])))]
pub async fn credentials(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath((name, role)): ApiPath<(String, String)>,
) -> Result<Json<RoleUrl>, Failure> {
    Ok(Json(state.fleet.role_url(&actor, &name, &role).await?))
}

#[utoipa::path(post, path = "/api/v1/databases/{name}/roles/{role}/rotate", tag = "roles",
    params(("name" = String, Path), ("role" = String, Path), RotateQuery),
    responses((status = 200, body = RoleUrl, description = "a new password, applied (audited); the old one no longer opens sessions"),
        (status = 404, body = ErrorBody, description = "no such database or role"),
        (status = 409, body = ErrorBody, description = "it is not available"),
        (status = 422, body = ErrorBody, description = "a follower (its source's roles are changed)"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("token" = [])))]
pub async fn rotate(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath((name, role)): ApiPath<(String, String)>,
    query: Result<Query<RotateQuery>, QueryRejection>,
) -> Result<Json<RoleUrl>, Failure> {
    let Query(query) = query.map_err(|e| Failure::new(app::model::ErrorCode::BadRequest, e.body_text()))?;
    Ok(Json(state.fleet.rotate_role(&actor, &name, &role, query.keep_sessions).await?))
}

#[utoipa::path(delete, path = "/api/v1/databases/{name}/roles/{role}", tag = "roles",
    params(("name" = String, Path), ("role" = String, Path)),
    responses((status = 204, description = "dropped, its sessions ended (audited); forks made before drop it too"),
        (status = 404, body = ErrorBody, description = "no such database or role"),
        (status = 409, body = ErrorBody, description = "it is not available"),
        (status = 422, body = ErrorBody, description = "a follower")),
    security(("token" = [])))]
pub async fn destroy(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath((name, role)): ApiPath<(String, String)>,
) -> Result<StatusCode, Failure> {
    state.fleet.drop_role(&actor, &name, &role).await?;
    Ok(StatusCode::NO_CONTENT)
}
