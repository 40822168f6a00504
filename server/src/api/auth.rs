//! Bearer-token authentication for the API. On first start pgfleet makes
//! an admin token, keeps only its hash, and writes the token to
//! `<home>/admin-token` (mode 0600) for the CLI on this host.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use app::model::ErrorCode;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::distr::{Alphanumeric, SampleString};

use super::error::Failure;
use crate::store::{Store, StoreError};
use crate::web::AppState;

pub const ADMIN_TOKEN_FILE: &str = "admin-token";

/// Creates the first admin token unless one exists.
pub async fn ensure_admin_token(store: &Store, home: &Path) -> Result<(), StoreError> {
    if store.token_count().await? > 0 {
        return Ok(());
    }
    let token = format!("pgf_{}", Alphanumeric.sample_string(&mut rand::rng(), 40));
    let path = home.join(ADMIN_TOKEN_FILE);
    let write = || -> std::io::Result<()> {
        std::fs::write(&path, format!("{token}\n"))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
    };
    write().map_err(|source| StoreError::Home { path: path.clone(), source })?;
    store.add_token("admin", &token).await?;
    tracing::info!(path = %path.display(), "created the admin API token");
    Ok(())
}

/// Lets a request through only with a live bearer token.
pub async fn require_token(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let header = request.headers().get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let Some(token) = header.and_then(|h| h.strip_prefix("Bearer ")).map(str::trim) else {
        return Failure::new(ErrorCode::Unauthorized, "this needs an API token: Authorization: Bearer <token>")
            .into_response();
    };
    match state.store.check_token(token).await {
        Ok(Some(_)) => next.run(request).await,
        Ok(None) => Failure::new(ErrorCode::Unauthorized, "the API token is not valid").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "token check failed");
            Failure::new(ErrorCode::Unavailable, "the metadata store is not answering").into_response()
        }
    }
}
