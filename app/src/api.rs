//! Server functions the console calls. Each one forwards to the
//! [`ConsoleBackend`](crate::backend::ConsoleBackend) in context, through
//! [`ConsoleClient`](crate::client::ConsoleClient), which adds the CSRF
//! token.

use leptos::prelude::*;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};

use crate::accounts::{
    AuditEntry, ForkRequestView, Invitation, Me, NewForkRequest, NewToken, Settings, TokenView, UserRole, UserView,
};
use crate::client::ConsoleClient;
use crate::codec::{JsonAnswer, JsonText};
use crate::model::{AccessSettings, ApiError, DatabaseView, ErrorCode, NewDatabase};

impl FromServerFnError for ApiError {
    type Encoder = JsonText;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        ApiError::new(ErrorCode::Unavailable, format!("the server could not be reached: {value}"))
    }
}

/// The signed-in user, or `None`.
#[server(endpoint = "me", client = ConsoleClient, output = JsonAnswer)]
pub async fn current_user() -> Result<Option<Me>, ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.me().await }.await)
}

#[server(endpoint = "sign_in", client = ConsoleClient, output = JsonAnswer)]
pub async fn sign_in(name: String, password: String) -> Result<(), ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.sign_in(name, password).await }.await)
}

#[server(endpoint = "sign_out", client = ConsoleClient, output = JsonAnswer)]
pub async fn sign_out() -> Result<(), ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.sign_out().await }.await)
}

#[server(endpoint = "change_password", client = ConsoleClient, output = JsonAnswer)]
pub async fn change_password(current: String, new: String, repeat: String) -> Result<(), ApiError> {
    crate::backend::answer(
        async {
            if new != repeat {
                return Err(ApiError::new(ErrorCode::BadRequest, "the two new passwords differ"));
            }
            crate::backend::backend()?.change_password(current, new).await
        }
        .await,
    )
}

/// Every database, for the databases page.
#[server(endpoint = "list_databases", client = ConsoleClient, output = JsonAnswer)]
pub async fn list_databases() -> Result<Vec<DatabaseView>, ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.list_databases().await }.await)
}

/// Creates a database, a follower or a fork.
#[server(endpoint = "create_database", client = ConsoleClient, output = JsonAnswer)]
pub async fn create_database(request: NewDatabase) -> Result<DatabaseView, ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.create_database(request).await }.await)
}

#[server(endpoint = "database_metrics", client = ConsoleClient, output = JsonAnswer)]
pub async fn database_metrics(
    name: String,
    query: crate::metrics::MetricsQuery,
) -> Result<crate::metrics::Metrics, ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.metrics(name, query).await }.await)
}

#[server(endpoint = "database_backups", client = ConsoleClient, output = JsonAnswer)]
pub async fn database_backups(name: String) -> Result<Vec<crate::model::Backup>, ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.backups(name).await }.await)
}

#[server(endpoint = "capture_backup", client = ConsoleClient, output = JsonAnswer)]
pub async fn capture_backup(name: String) -> Result<DatabaseView, ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.capture_backup(name).await }.await)
}

#[server(endpoint = "database_sessions", client = ConsoleClient, output = JsonAnswer)]
pub async fn database_sessions(name: String) -> Result<Vec<crate::insights::Session>, ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.sessions(name).await }.await)
}

#[server(endpoint = "database_locks", client = ConsoleClient, output = JsonAnswer)]
pub async fn database_locks(name: String) -> Result<Vec<crate::insights::Blocking>, ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.blocking(name).await }.await)
}

#[server(endpoint = "database_statements", client = ConsoleClient, output = JsonAnswer)]
pub async fn database_statements(
    name: String,
    query: crate::insights::StatementsQuery,
) -> Result<crate::insights::Statements, ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.statements(name, query).await }.await)
}

#[server(endpoint = "end_session", client = ConsoleClient, output = JsonAnswer)]
pub async fn end_session(name: String, pid: i64, terminate: bool) -> Result<crate::insights::Ended, ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.end_session(name, pid, terminate).await }.await)
}

#[server(endpoint = "reset_statements", client = ConsoleClient, output = JsonAnswer)]
pub async fn reset_statements(name: String) -> Result<(), ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.reset_statements(name).await }.await)
}

#[server(endpoint = "rotate_credentials", client = ConsoleClient, output = JsonAnswer)]
pub async fn rotate_credentials(name: String, keep_sessions: bool) -> Result<crate::model::Rotated, ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.rotate_credentials(name, keep_sessions).await }.await)
}

#[server(endpoint = "schema_diff", client = ConsoleClient, output = JsonAnswer)]
pub async fn schema_diff(name: String, other: Option<String>) -> Result<crate::schema_diff::SchemaDiff, ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.schema_diff(name, other).await }.await)
}

#[server(endpoint = "masking_rules", client = ConsoleClient, output = JsonAnswer)]
pub async fn masking_rules(name: String) -> Result<crate::masking::MaskingView, ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.masking(name).await }.await)
}

/// `rules` is the JSON of [`crate::masking::MaskRules`]: a form field
/// carries it whole (its methods are tagged, which form encoding cannot
/// say).
#[server(endpoint = "save_masking", client = ConsoleClient, output = JsonAnswer)]
pub async fn save_masking(name: String, rules: String) -> Result<crate::masking::MaskingView, ApiError> {
    let rules: crate::masking::MaskRules = serde_json::from_str(&rules).map_err(|e| {
        ApiError::new(crate::model::ErrorCode::BadRequest, format!("the rules are not {{\"rules\": [...]}}: {e}"))
    })?;
    crate::backend::answer(async { crate::backend::backend()?.save_masking(name, rules).await }.await)
}

#[server(endpoint = "masking_preview", client = ConsoleClient, output = JsonAnswer)]
pub async fn masking_preview(name: String) -> Result<crate::masking::MaskPreview, ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.masking_preview(name).await }.await)
}

#[server(endpoint = "database_roles", client = ConsoleClient, output = JsonAnswer)]
pub async fn database_roles(name: String) -> Result<Vec<crate::roles::RoleView>, ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.roles(name).await }.await)
}

#[server(endpoint = "create_role", client = ConsoleClient, output = JsonAnswer)]
pub async fn create_role(name: String, role: crate::roles::NewRole) -> Result<crate::roles::RoleUrl, ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.create_role(name, role).await }.await)
}

#[server(endpoint = "role_url", client = ConsoleClient, output = JsonAnswer)]
pub async fn role_url(name: String, role: String) -> Result<crate::roles::RoleUrl, ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.role_url(name, role).await }.await)
}

#[server(endpoint = "rotate_role", client = ConsoleClient, output = JsonAnswer)]
pub async fn rotate_role(name: String, role: String) -> Result<crate::roles::RoleUrl, ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.rotate_role(name, role).await }.await)
}

#[server(endpoint = "drop_role", client = ConsoleClient, output = JsonAnswer)]
pub async fn drop_role(name: String, role: String) -> Result<(), ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.drop_role(name, role).await }.await)
}

#[server(endpoint = "database_diagnose", client = ConsoleClient, output = JsonAnswer)]
pub async fn database_diagnose(name: String) -> Result<crate::diagnose::Diagnosis, ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.diagnose(name).await }.await)
}

#[server(endpoint = "database_sizes", client = ConsoleClient, output = JsonAnswer)]
pub async fn database_sizes(name: String) -> Result<crate::diagnose::Sizes, ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.sizes(name).await }.await)
}

#[server(endpoint = "reset_database", client = ConsoleClient, output = JsonAnswer)]
pub async fn reset_database(name: String) -> Result<DatabaseView, ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.reset_database(name).await }.await)
}

#[server(endpoint = "retry_database", client = ConsoleClient, output = JsonAnswer)]
pub async fn retry_database(name: String) -> Result<DatabaseView, ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.retry_database(name).await }.await)
}

#[server(endpoint = "promote_database", client = ConsoleClient, output = JsonAnswer)]
pub async fn promote_database(name: String) -> Result<DatabaseView, ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.promote_database(name).await }.await)
}

/// Destroys `name` once `confirm` repeats it.
#[server(endpoint = "destroy_database", client = ConsoleClient, output = JsonAnswer)]
pub async fn destroy_database(name: String, confirm: String, take_followers: bool) -> Result<(), ApiError> {
    crate::backend::answer(
        async {
            if confirm != name {
                return Err(ApiError::new(ErrorCode::BadRequest, format!("type {name} to confirm")));
            }
            crate::backend::backend()?.destroy_database(name, take_followers).await
        }
        .await,
    )
}

#[server(endpoint = "database_credentials", client = ConsoleClient, output = JsonAnswer)]
pub async fn database_credentials(name: String) -> Result<String, ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.credentials(name).await }.await)
}

#[server(endpoint = "set_access", client = ConsoleClient, output = JsonAnswer)]
pub async fn set_access(name: String, access: AccessSettings) -> Result<DatabaseView, ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.set_access(name, access).await }.await)
}

#[server(endpoint = "extend_database", client = ConsoleClient, output = JsonAnswer)]
pub async fn extend_database(name: String, hours: i64) -> Result<DatabaseView, ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.extend(name, hours.saturating_mul(3600)).await }.await)
}

#[server(endpoint = "request_fork", client = ConsoleClient, output = JsonAnswer)]
pub async fn request_fork(request: NewForkRequest) -> Result<ForkRequestView, ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.request_fork(request).await }.await)
}

/// How many fork requests wait (an admin's: all pending; others': their
/// own). The nav asks on every page, so it reads a number, not the list.
#[server(endpoint = "pending_fork_requests", client = ConsoleClient, output = JsonAnswer)]
pub async fn pending_fork_requests() -> Result<u32, ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.pending_fork_requests().await }.await)
}

#[server(endpoint = "list_fork_requests", client = ConsoleClient, output = JsonAnswer)]
pub async fn list_fork_requests() -> Result<Vec<ForkRequestView>, ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.fork_requests().await }.await)
}

#[server(endpoint = "decide_fork_request", client = ConsoleClient, output = JsonAnswer)]
pub async fn decide_fork_request(id: i64, approve: bool, reason: Option<String>) -> Result<ForkRequestView, ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.decide(id, approve, reason).await }.await)
}

#[server(endpoint = "list_users", client = ConsoleClient, output = JsonAnswer)]
pub async fn list_users() -> Result<Vec<UserView>, ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.users().await }.await)
}

#[server(endpoint = "invite_user", client = ConsoleClient, output = JsonAnswer)]
pub async fn invite_user(name: String, role: UserRole) -> Result<Invitation, ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.invite(name, role).await }.await)
}

#[server(endpoint = "set_user_role", client = ConsoleClient, output = JsonAnswer)]
pub async fn set_user_role(name: String, role: UserRole) -> Result<UserView, ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.set_role(name, role).await }.await)
}

#[server(endpoint = "list_tokens", client = ConsoleClient, output = JsonAnswer)]
pub async fn list_tokens() -> Result<Vec<TokenView>, ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.tokens().await }.await)
}

#[server(endpoint = "create_token", client = ConsoleClient, output = JsonAnswer)]
pub async fn create_token(name: String) -> Result<NewToken, ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.create_token(name).await }.await)
}

#[server(endpoint = "revoke_token", client = ConsoleClient, output = JsonAnswer)]
pub async fn revoke_token(id: i64) -> Result<(), ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.revoke_token(id).await }.await)
}

#[server(endpoint = "audit_log", client = ConsoleClient, output = JsonAnswer)]
pub async fn audit_log() -> Result<Vec<AuditEntry>, ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.audit().await }.await)
}

#[server(endpoint = "get_settings", client = ConsoleClient, output = JsonAnswer)]
pub async fn get_settings() -> Result<Settings, ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.settings().await }.await)
}

#[server(endpoint = "put_settings", client = ConsoleClient, output = JsonAnswer)]
pub async fn put_settings(settings: Settings) -> Result<Settings, ApiError> {
    crate::backend::answer(async { crate::backend::backend()?.put_settings(settings).await }.await)
}
