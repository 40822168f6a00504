//! `/api/v1/fork-requests`: ask for a fork, follow one's requests, and (for
//! admins) approve or reject them.

use app::accounts::{ForkRequestView, NewForkRequest};
use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};

use super::error::{rejection, ErrorBody, Failure};
use super::extract::ApiPath;
use crate::access::Actor;
use crate::web::AppState;

#[utoipa::path(get, path = "/api/v1/fork-requests", tag = "fork requests",
    responses((status = 200, body = Vec<ForkRequestView>, description = "the caller's (an admin's: all), newest first")),
    security(("token" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
) -> Result<Json<Vec<ForkRequestView>>, Failure> {
    Ok(Json(state.fleet.fork_requests(&actor).await?))
}

#[utoipa::path(post, path = "/api/v1/fork-requests", tag = "fork requests", request_body = NewForkRequest,
    responses((status = 201, body = ForkRequestView, description = "pending, or approved at once by an open policy"),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("token" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    body: Result<Json<NewForkRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<ForkRequestView>), Failure> {
    let Json(body) = body.map_err(rejection)?;
    Ok((StatusCode::CREATED, Json(state.fleet.request_fork(&actor, body).await?)))
}

#[utoipa::path(get, path = "/api/v1/fork-requests/{id}", tag = "fork requests", params(("id" = i64, Path)),
    responses((status = 200, body = ForkRequestView), (status = 404, body = ErrorBody)), security(("token" = [])))]
pub async fn show(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ForkRequestView>, Failure> {
    Ok(Json(state.fleet.fork_request(&actor, id).await?))
}

/// An admin's decision.
#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    /// Required to reject.
    pub reason: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/fork-requests/{id}/approve", tag = "fork requests", params(("id" = i64, Path)),
    request_body = DecisionBody,
    responses((status = 200, body = ForkRequestView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("token" = [])))]
pub async fn approve(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<i64>,
    body: Option<Json<DecisionBody>>,
) -> Result<Json<ForkRequestView>, Failure> {
    let reason = body.and_then(|Json(b)| b.reason);
    Ok(Json(state.fleet.decide(&actor, id, true, reason).await?))
}

#[utoipa::path(post, path = "/api/v1/fork-requests/{id}/reject", tag = "fork requests", params(("id" = i64, Path)),
    request_body = DecisionBody,
    responses((status = 200, body = ForkRequestView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("token" = [])))]
pub async fn reject(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(id): ApiPath<i64>,
    body: Result<Json<DecisionBody>, JsonRejection>,
) -> Result<Json<ForkRequestView>, Failure> {
    let Json(body) = body.map_err(rejection)?;
    Ok(Json(state.fleet.decide(&actor, id, false, body.reason).await?))
}
