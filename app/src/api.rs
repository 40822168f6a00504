//! Server functions the console calls. Each one forwards to the
//! [`ConsoleBackend`](crate::backend::ConsoleBackend) in context.

use leptos::prelude::*;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};

use crate::model::{ApiError, DatabaseView, ErrorCode, NewDatabase};

impl FromServerFnError for ApiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        ApiError::new(ErrorCode::Unavailable, format!("the server could not be reached: {value}"))
    }
}

/// Every database, for the databases page.
#[server(endpoint = "list_databases")]
pub async fn list_databases() -> Result<Vec<DatabaseView>, ApiError> {
    crate::backend::backend()?.list_databases().await
}

/// Creates a database, a follower or a fork.
#[server(endpoint = "create_database")]
pub async fn create_database(request: NewDatabase) -> Result<DatabaseView, ApiError> {
    crate::backend::backend()?.create_database(request).await
}

#[server(endpoint = "promote_database")]
pub async fn promote_database(name: String) -> Result<DatabaseView, ApiError> {
    crate::backend::backend()?.promote_database(name).await
}

/// Destroys `name` once `confirm` repeats it.
#[server(endpoint = "destroy_database")]
pub async fn destroy_database(name: String, confirm: String, take_followers: bool) -> Result<(), ApiError> {
    if confirm != name {
        return Err(ApiError::new(ErrorCode::BadRequest, format!("type {name} to confirm")));
    }
    crate::backend::backend()?.destroy_database(name, take_followers).await
}

#[server(endpoint = "database_credentials")]
pub async fn database_credentials(name: String) -> Result<String, ApiError> {
    crate::backend::backend()?.credentials(name).await
}
