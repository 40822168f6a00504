//! The control plane as the console sees it: the server's implementation of
//! [`app::backend::ConsoleBackend`].

use app::backend::ConsoleBackend;
use app::model::{ApiError, DatabaseView};

use crate::engine::Engine;

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
}
