//! Extractors whose rejections are the API's JSON error, so a malformed
//! path never answers with axum's plain-text message (bodies go through
//! [`super::error::rejection`]).

use app::model::ErrorCode;
use axum::extract::rejection::PathRejection;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::Failure;

/// A path parameter; one that does not parse is a 404 (nothing lives at a
/// path that cannot name anything), with the reason.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(ApiPath(value)),
            Err(e) => Err(path_rejection(e)),
        }
    }
}

fn path_rejection(e: PathRejection) -> Failure {
    let code = if e.status().is_server_error() { ErrorCode::Internal } else { ErrorCode::NotFound };
    Failure::new(code, format!("nothing is at this path: {}", e.body_text()))
}
