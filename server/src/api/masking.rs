//! `/api/v1/databases/{name}/masking`: a database's masking rules (what
//! its forks must not carry), their preview, and saving a new version.

use app::masking::{MaskPreview, MaskRules, MaskingView};
use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::{Extension, Json};

use super::error::{rejection, ErrorBody, Failure};
use super::extract::ApiPath;
use crate::access::Actor;
use crate::web::AppState;

#[utoipa::path(get, path = "/api/v1/databases/{name}/masking", tag = "masking", params(("name" = String, Path)),
    responses((status = 200, body = MaskingView,
        description = "its rules in force with their versions, the columns they leave uncovered and columns that \
                       look personal (viewers get fixed values and sql expressions withheld)"),
        (status = 404, body = ErrorBody)),
    security(("token" = [])))]
pub async fn show(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<MaskingView>, Failure> {
    Ok(Json(state.fleet.masking(&actor, &name).await?))
}

#[utoipa::path(put, path = "/api/v1/databases/{name}/masking", tag = "masking", params(("name" = String, Path)),
    request_body = MaskRules,
    responses((status = 200, body = MaskingView, description = "saved as its next version (audited)"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "it is not available, so its schema cannot be checked"),
        (status = 422, body = ErrorBody,
            description = "a rule names a table or column it does not have, does not fit the column's type, or \
                           its SQL fails; or it is a follower"),
        (status = 403, body = ErrorBody), (status = 400, body = ErrorBody)),
    security(("token" = [])))]
pub async fn put(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(name): ApiPath<String>,
    body: Result<Json<MaskRules>, JsonRejection>,
) -> Result<Json<MaskingView>, Failure> {
    let Json(body) = body.map_err(rejection)?;
    Ok(Json(state.fleet.set_masking(&actor, &name, body).await?))
}

#[utoipa::path(get, path = "/api/v1/databases/{name}/masking/preview", tag = "masking",
    params(("name" = String, Path)),
    responses((status = 200, body = MaskPreview,
        description = "up to 5 rows of each masked table as its rules would leave them, computed without writing"),
        (status = 404, body = ErrorBody), (status = 403, body = ErrorBody, description = "viewers"),
        (status = 409, body = ErrorBody, description = "it is not available")),
    security(("token" = [])))]
pub async fn preview(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<MaskPreview>, Failure> {
    Ok(Json(state.fleet.masking_preview(&actor, &name).await?))
}
