//! The API's one error type on the wire: `{"error": {"code", "message"}}`
//! with the status its code implies.

use app::model::{ApiError, ErrorCode};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::engine::EngineError;

/// The body of every error answer.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ApiError,
}

/// Wraps [`ApiError`] so handlers can `?` into a response.
pub struct Failure(pub ApiError);

impl Failure {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Failure(ApiError::new(code, message))
    }
}

impl From<EngineError> for Failure {
    fn from(e: EngineError) -> Self {
        Failure(e.into())
    }
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Failure(e)
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(ErrorBody { error: self.0 })).into_response()
    }
}

/// Turns axum's own rejections (bad JSON, wrong content type) into our shape.
/// A body past the limit is a 413, one without a JSON content type a 415,
/// one that does not fit the schema a 422, anything else a 400.
pub fn rejection(e: axum::extract::rejection::JsonRejection) -> Failure {
    let code = match e.status() {
        StatusCode::UNPROCESSABLE_ENTITY => ErrorCode::Unprocessable,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
        _ => ErrorCode::BadRequest,
    };
    let message = match code {
        ErrorCode::PayloadTooLarge => {
            format!("the body is larger than the {} KiB the API takes", super::BODY_LIMIT_BYTES / 1024)
        }
        _ => e.body_text(),
    };
    Failure::new(code, message)
}
