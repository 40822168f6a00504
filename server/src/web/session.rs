//! Console sessions over HTTP: the cookies, and the gate in front of every
//! console route.
//!
//! Signing in sets two cookies. `pgfleet_session` is HttpOnly, SameSite=Lax
//! (and Secure behind TLS) and names the session. `pgfleet_csrf` is
//! readable by the console's script, which sends it back in
//! `X-CSRF-Token` with every server-function call; the gate compares it
//! with the token stored for the session (a cross-site page can make the
//! browser send cookies, but cannot read them to set the header).

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;

use app::model::{ApiError, ErrorCode};

use crate::access::accounts::SessionError;
use crate::access::Actor;
use crate::web::AppState;

pub const SESSION_COOKIE: &str = "pgfleet_session";
pub const CSRF_COOKIE: &str = "pgfleet_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Server functions a signed-out browser may call.
const OPEN_FUNCTIONS: &[&str] = &["/api/sign_in", "/api/me"];
/// Server functions someone who must first choose a password may call.
const PASSWORD_CHANGE_FUNCTIONS: &[&str] = &["/api/me", "/api/change_password", "/api/sign_out"];

/// The value of cookie `name`, if the request carries it.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|c| {
        let (k, v) = c.trim().split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

/// Whether the browser reached pgfleet over TLS (directly or through a
/// proxy that says so).
pub fn over_tls(headers: &HeaderMap) -> bool {
    headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https")
}

/// The `Set-Cookie` values that start a session.
pub fn session_cookies(secret: &str, csrf: &str, tls: bool, max_age_seconds: i64) -> [String; 2] {
    let secure = if tls { "; Secure" } else { "" };
    [
        format!("{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_seconds}{secure}"),
        format!("{CSRF_COOKIE}={csrf}; Path=/; SameSite=Strict; Max-Age={max_age_seconds}{secure}"),
    ]
}

/// The `Set-Cookie` values that end one.
pub fn cleared_cookies() -> [String; 2] {
    [
        format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
        format!("{CSRF_COOKIE}=; Path=/; SameSite=Strict; Max-Age=0"),
    ]
}

/// The client's address (see [`super::client`]), for the audit log and the
/// sign-in limiter.
pub fn client_address(extensions: &axum::http::Extensions) -> Option<String> {
    match extensions.get::<super::client::ClientAddress>() {
        Some(client) => Some(client.0.to_string()),
        None => extensions.get::<ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip().to_string()),
    }
}

/// In front of every console route: resolves the session into an
/// [`Actor`], refuses server-function calls without the CSRF token, and
/// sends signed-out browsers to the sign-in page.
pub async fn gate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let is_function = path.starts_with("/api/");
    let session = match cookie(request.headers(), SESSION_COOKIE) {
        Some(secret) => state.fleet.session(&secret).await,
        None => Err(SessionError::Unknown),
    };
    match session {
        Ok((principal, csrf)) => {
            if is_function {
                let sent = request.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok());
                if sent != Some(csrf.as_str()) {
                    return refuse(
                        ErrorCode::Forbidden,
                        "this request did not come from the console (its CSRF token is missing or wrong); reload \
                         the page",
                    );
                }
                if principal.must_change_password && !PASSWORD_CHANGE_FUNCTIONS.contains(&path.as_str()) {
                    return refuse(ErrorCode::Forbidden, "choose a new password first");
                }
            }
            let address = client_address(request.extensions());
            request.extensions_mut().insert(Actor { principal, address });
            next.run(request).await
        }
        Err(SessionError::Store(e)) => {
            tracing::error!(error = %e, "session check failed");
            refuse(ErrorCode::Unavailable, "the metadata store is not answering")
        }
        Err(why @ (SessionError::Expired | SessionError::Unknown)) => {
            if OPEN_FUNCTIONS.contains(&path.as_str()) || path == "/sign-in" {
                if is_function && !same_origin(request.headers()) {
                    return refuse(ErrorCode::Forbidden, "sign in from pgfleet's own sign-in page");
                }
                return next.run(request).await;
            }
            if is_function || path == "/console/events" {
                return refuse(ErrorCode::Unauthorized, why.to_string());
            }
            let next_path = request.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
            let mut response = Redirect::to(&format!("/sign-in?next={}", urlencode(next_path))).into_response();
            if matches!(why, SessionError::Expired) {
                for value in cleared_cookies() {
                    if let Ok(v) = HeaderValue::from_str(&value) {
                        response.headers_mut().append(header::SET_COOKIE, v);
                    }
                }
            }
            response
        }
    }
}

/// A server-function error in the shape the console decodes ([`ApiError`]).
fn refuse(code: ErrorCode, message: impl Into<String>) -> Response {
    let status = StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(ApiError::new(code, message))).into_response()
}

/// A request without `Origin` (not a browser's cross-site POST) or with
/// one matching `Host`.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return true };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    origin.split_once("://").map(|(_, rest)| rest) == Some(host)
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
