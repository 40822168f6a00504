//! The control plane as the console sees it: the server's implementation of
//! [`app::backend::ConsoleBackend`].

use app::backend::ConsoleBackend;
use app::model::{ApiError, DatabaseView, ErrorCode};

use crate::store::Store;

/// Answers the console's server functions from the metadata store.
pub struct Console {
    store: Store,
}

impl Console {
    pub fn new(store: Store) -> Self {
        Console { store }
    }
}

#[async_trait::async_trait]
impl ConsoleBackend for Console {
    async fn list_databases(&self) -> Result<Vec<DatabaseView>, ApiError> {
        self.store.list_views().await.map_err(|e| {
            tracing::error!(error = %e, "listing databases failed");
            ApiError::new(ErrorCode::Unavailable, "the metadata store is not answering")
        })
    }
}
