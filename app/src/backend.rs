//! The seam between the console and the control plane.
//!
//! Server functions run inside the server process but must not name its
//! types, or the WASM build would have to compile them. The server puts an
//! implementation of [`ConsoleBackend`] into Leptos context; server functions
//! take it from there.

use std::sync::Arc;

use crate::model::{ApiError, DatabaseView, NewDatabase};

/// What the console asks of the control plane.
#[async_trait::async_trait]
pub trait ConsoleBackend: Send + Sync + 'static {
    /// Every database, ordered by name.
    async fn list_databases(&self) -> Result<Vec<DatabaseView>, ApiError>;
    /// A new database, follower (`follow`) or fork (`fork`).
    async fn create_database(&self, request: NewDatabase) -> Result<DatabaseView, ApiError>;
    async fn promote_database(&self, name: String) -> Result<DatabaseView, ApiError>;
    async fn destroy_database(&self, name: String, take_followers: bool) -> Result<(), ApiError>;
    /// The connection URL.
    async fn credentials(&self, name: String) -> Result<String, ApiError>;
}

/// The form in which the backend travels through Leptos context.
pub type SharedBackend = Arc<dyn ConsoleBackend>;

/// The backend the server provided for this request.
pub fn backend() -> Result<SharedBackend, ApiError> {
    leptos::prelude::use_context::<SharedBackend>()
        .ok_or_else(|| ApiError::new(crate::model::ErrorCode::Unavailable, "the control plane is not running"))
}
