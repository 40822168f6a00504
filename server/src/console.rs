//! The control plane as the console sees it: the server's implementation of
//! [`app::backend::ConsoleBackend`].

use app::backend::ConsoleBackend;
use app::model::{ApiError, DatabaseView, NewDatabase};

use crate::engine::{CreateRequest, Engine};

/// Answers the console's server functions through the engine.
pub struct Console {
    engine: Engine,
}

impl Console {
    pub fn new(engine: Engine) -> Self {
        Console { engine }
    }
}

#[async_trait::async_trait]
impl ConsoleBackend for Console {
    async fn list_databases(&self) -> Result<Vec<DatabaseView>, ApiError> {
        self.engine.list().await.map_err(ApiError::from)
    }

    async fn create_database(&self, request: NewDatabase) -> Result<DatabaseView, ApiError> {
        let blank = |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        self.engine
            .create(CreateRequest {
                name: blank(request.name),
                plan: blank(request.plan),
                follow: blank(request.follow),
                fork: blank(request.fork),
                idempotency_key: None,
            })
            .await
            .map_err(ApiError::from)
    }

    async fn promote_database(&self, name: String) -> Result<DatabaseView, ApiError> {
        self.engine.promote(&name).await.map_err(ApiError::from)
    }

    async fn destroy_database(&self, name: String, take_followers: bool) -> Result<(), ApiError> {
        self.engine.destroy(&name, take_followers).await.map_err(ApiError::from)
    }

    async fn credentials(&self, name: String) -> Result<String, ApiError> {
        self.engine.credentials(&name).await.map_err(ApiError::from)
    }
}
