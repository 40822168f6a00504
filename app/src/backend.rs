//! The seam between the console and the control plane.
//!
//! Server functions run inside the server process but must not name its
//! types, or the WASM build would have to compile them. The server puts an
//! implementation of [`ConsoleBackend`] into Leptos context; server functions
//! take it from there. The implementation finds who is asking in the
//! request the server is answering.

use std::sync::Arc;

use crate::accounts::{
    AuditEntry, ForkRequestView, Invitation, Me, NewForkRequest, NewToken, Settings, TokenView, UserRole, UserView,
};
use crate::model::{AccessSettings, ApiError, DatabaseView, NewDatabase};

/// What the console asks of the control plane, on behalf of the user
/// signed in to the current request.
#[async_trait::async_trait]
pub trait ConsoleBackend: Send + Sync + 'static {
    /// The signed-in user, or `None` when nobody is.
    async fn me(&self) -> Result<Option<Me>, ApiError>;
    /// Opens a session (sets its cookies on the response).
    async fn sign_in(&self, name: String, password: String) -> Result<(), ApiError>;
    /// Ends the session (clears its cookies).
    async fn sign_out(&self) -> Result<(), ApiError>;
    async fn change_password(&self, current: String, new: String) -> Result<(), ApiError>;

    /// Every database, ordered by name.
    async fn list_databases(&self) -> Result<Vec<DatabaseView>, ApiError>;
    /// A new database, follower (`follow`) or fork (`fork`).
    async fn create_database(&self, request: NewDatabase) -> Result<DatabaseView, ApiError>;
    async fn promote_database(&self, name: String) -> Result<DatabaseView, ApiError>;
    async fn retry_database(&self, name: String) -> Result<DatabaseView, ApiError>;
    /// Makes a fork again from its source as it is now (audited).
    async fn reset_database(&self, name: String) -> Result<DatabaseView, ApiError>;
    async fn destroy_database(&self, name: String, take_followers: bool) -> Result<(), ApiError>;
    /// The connection URL (the reveal is audited).
    async fn credentials(&self, name: String) -> Result<String, ApiError>;
    async fn set_access(&self, name: String, access: AccessSettings) -> Result<DatabaseView, ApiError>;
    async fn extend(&self, name: String, seconds: i64) -> Result<DatabaseView, ApiError>;
    /// Measurements over time.
    async fn metrics(
        &self,
        name: String,
        query: crate::metrics::MetricsQuery,
    ) -> Result<crate::metrics::Metrics, ApiError>;
    /// A primary's backups and snapshots, oldest first.
    async fn backups(&self, name: String) -> Result<Vec<crate::model::Backup>, ApiError>;
    /// A full backup now.
    async fn capture_backup(&self, name: String) -> Result<DatabaseView, ApiError>;
    /// Its client sessions (`pg:ps`).
    async fn sessions(&self, name: String) -> Result<Vec<crate::insights::Session>, ApiError>;
    /// Who waits on whose lock (`pg:locks`).
    async fn blocking(&self, name: String) -> Result<Vec<crate::insights::Blocking>, ApiError>;
    /// The statements that cost the most (`pg:outliers`).
    async fn statements(
        &self,
        name: String,
        query: crate::insights::StatementsQuery,
    ) -> Result<crate::insights::Statements, ApiError>;
    /// Cancels a query, or with `terminate` ends its session (audited).
    async fn end_session(&self, name: String, pid: i64, terminate: bool) -> Result<crate::insights::Ended, ApiError>;
    /// Forgets the statements' totals (audited).
    async fn reset_statements(&self, name: String) -> Result<(), ApiError>;
    /// A new owner password; the owner's open sessions end unless kept
    /// (audited).
    async fn rotate_credentials(&self, name: String, keep_sessions: bool) -> Result<crate::model::Rotated, ApiError>;
    /// Its masking rules, what they leave uncovered, suggestions.
    async fn masking(&self, name: String) -> Result<crate::masking::MaskingView, ApiError>;
    /// Saves new masking rules (checked against its schema; audited).
    async fn save_masking(
        &self,
        name: String,
        rules: crate::masking::MaskRules,
    ) -> Result<crate::masking::MaskingView, ApiError>;
    /// Masked sample rows, computed without writing.
    async fn masking_preview(&self, name: String) -> Result<crate::masking::MaskPreview, ApiError>;
    /// Its additional roles (no passwords).
    async fn roles(&self, name: String) -> Result<Vec<crate::roles::RoleView>, ApiError>;
    /// Adds a role; answers its URL (audited).
    async fn create_role(&self, name: String, role: crate::roles::NewRole) -> Result<crate::roles::RoleUrl, ApiError>;
    /// A role's URL (the reveal is audited).
    async fn role_url(&self, name: String, role: String) -> Result<crate::roles::RoleUrl, ApiError>;
    /// A new password for a role; its sessions end (audited).
    async fn rotate_role(&self, name: String, role: String) -> Result<crate::roles::RoleUrl, ApiError>;
    /// Drops a role (audited).
    async fn drop_role(&self, name: String, role: String) -> Result<(), ApiError>;
    /// `name`'s schema against `other`'s (its source's without one).
    async fn schema_diff(
        &self,
        name: String,
        other: Option<String>,
    ) -> Result<crate::schema_diff::SchemaDiff, ApiError>;
    /// Every health check (`pg:diagnose`).
    async fn diagnose(&self, name: String) -> Result<crate::diagnose::Diagnosis, ApiError>;
    /// Its largest tables and indexes.
    async fn sizes(&self, name: String) -> Result<crate::diagnose::Sizes, ApiError>;

    async fn request_fork(&self, request: NewForkRequest) -> Result<ForkRequestView, ApiError>;
    async fn fork_requests(&self) -> Result<Vec<ForkRequestView>, ApiError>;
    /// How many of those are pending.
    async fn pending_fork_requests(&self) -> Result<u32, ApiError>;
    async fn decide(&self, id: i64, approve: bool, reason: Option<String>) -> Result<ForkRequestView, ApiError>;

    async fn users(&self) -> Result<Vec<UserView>, ApiError>;
    async fn invite(&self, name: String, role: UserRole) -> Result<Invitation, ApiError>;
    async fn set_role(&self, name: String, role: UserRole) -> Result<UserView, ApiError>;
    async fn tokens(&self) -> Result<Vec<TokenView>, ApiError>;
    async fn create_token(&self, name: String) -> Result<NewToken, ApiError>;
    async fn revoke_token(&self, id: i64) -> Result<(), ApiError>;
    async fn audit(&self) -> Result<Vec<AuditEntry>, ApiError>;
    async fn settings(&self) -> Result<Settings, ApiError>;
    async fn put_settings(&self, settings: Settings) -> Result<Settings, ApiError>;
}

/// The form in which the backend travels through Leptos context.
pub type SharedBackend = Arc<dyn ConsoleBackend>;

/// The backend the server provided for this request.
pub fn backend() -> Result<SharedBackend, ApiError> {
    leptos::prelude::use_context::<SharedBackend>()
        .ok_or_else(|| ApiError::new(crate::model::ErrorCode::Unavailable, "the control plane is not running"))
}

/// Passes a server function's result through, giving an error the HTTP
/// status its code implies (the console reads the message either way;
/// scripts and tests see the status).
pub fn answer<T>(result: Result<T, ApiError>) -> Result<T, ApiError> {
    if let Err(e) = &result {
        if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            let status = axum_status(e.code.http_status());
            response.set_status(status);
        }
    }
    result
}

fn axum_status(code: u16) -> http::StatusCode {
    http::StatusCode::from_u16(code).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR)
}
