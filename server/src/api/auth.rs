//! Who is calling the API: a bearer token (each belongs to a user), or the
//! console's session cookie, which on a state-changing method must come
//! with its CSRF token in `X-CSRF-Token`. The caller becomes an
//! [`Actor`] in the request's extensions.

use app::model::ErrorCode;
use axum::extract::{Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::Failure;
use crate::access::accounts::SessionError;
use crate::access::Actor;
use crate::web::session::{client_address, cookie, CSRF_HEADER, SESSION_COOKIE};
use crate::web::AppState;

pub async fn authenticate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let address = client_address(request.extensions());
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string());
    let principal = if let Some(token) = bearer {
        match state.fleet.token_principal(&token).await {
            Ok(Some(p)) => p,
            Ok(None) => return unauthorized("the API token is not valid (revoked or never issued)"),
            Err(e) => {
                tracing::error!(error = %e, "token check failed");
                return Failure::new(ErrorCode::Unavailable, "the metadata store is not answering").into_response();
            }
        }
    } else if let Some(secret) = cookie(request.headers(), SESSION_COOKIE) {
        match state.fleet.session(&secret).await {
            Ok((principal, csrf)) => {
                let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
                let sent = request.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok());
                if !safe && sent != Some(csrf.as_str()) {
                    return Failure::new(
                        ErrorCode::Forbidden,
                        "a state-changing request needs the X-CSRF-Token header",
                    )
                    .into_response();
                }
                // The console's gate holds the same rule for server functions:
                // a session on a one-time password only chooses a new one.
                if principal.must_change_password && !(request.uri().path().ends_with("/me") && safe) {
                    return Failure::new(
                        ErrorCode::Forbidden,
                        "choose a new password first: open the console, which asks for one",
                    )
                    .into_response();
                }
                principal
            }
            Err(SessionError::Store(e)) => {
                tracing::error!(error = %e, "session check failed");
                return Failure::new(ErrorCode::Unavailable, "the metadata store is not answering").into_response();
            }
            Err(why @ (SessionError::Expired | SessionError::Unknown)) => return unauthorized(&why.to_string()),
        }
    } else {
        return unauthorized("this needs an API token: Authorization: Bearer <token>");
    };
    request.extensions_mut().insert(Actor { principal, address });
    next.run(request).await
}

fn unauthorized(message: &str) -> Response {
    Failure::new(ErrorCode::Unauthorized, message).into_response()
}
