//! Server functions the console calls. Each one forwards to the
//! [`ConsoleBackend`](crate::backend::ConsoleBackend) in context.

use leptos::prelude::*;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};

use crate::model::{ApiError, DatabaseView, ErrorCode};

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
