//! The control plane as the console sees it: the server's implementation of
//! [`app::backend::ConsoleBackend`]. Who is asking comes from the request
//! being answered: the session gate put an [`Actor`] in its extensions.

use app::accounts::{
    AuditEntry, ForkRequestView, Invitation, Me, NewForkRequest, NewToken, Settings, TokenView, UserRole, UserView,
};
use app::backend::ConsoleBackend;
use app::model::{AccessSettings, ApiError, DatabaseView, ErrorCode, NewDatabase};
use axum::http::header::SET_COOKIE;
use axum::http::request::Parts;
use axum::http::HeaderValue;
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;

use crate::access::accounts::SESSION_HOURS;
use crate::access::{Actor, Fleet};
use crate::engine::CreateRequest;
use crate::web::session::{cleared_cookies, client_address, cookie, over_tls, session_cookies, SESSION_COOKIE};

/// Answers the console's server functions through the [`Fleet`].
pub struct Console {
    fleet: Fleet,
}

impl Console {
    pub fn new(fleet: Fleet) -> Self {
        Console { fleet }
    }
}

fn parts() -> Result<Parts, ApiError> {
    use_context::<Parts>().ok_or_else(|| ApiError::new(ErrorCode::Internal, "no request to answer"))
}

/// The signed-in user of the request being answered.
fn actor() -> Result<Actor, ApiError> {
    parts()?
        .extensions
        .get::<Actor>()
        .cloned()
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "you are not signed in"))
}

fn set_cookies(values: [String; 2]) {
    if let Some(response) = use_context::<ResponseOptions>() {
        for value in values {
            if let Ok(v) = HeaderValue::from_str(&value) {
                response.append_header(SET_COOKIE, v);
            }
        }
    }
}

fn blank(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

#[async_trait::async_trait]
impl ConsoleBackend for Console {
    async fn me(&self) -> Result<Option<Me>, ApiError> {
        Ok(parts()?.extensions.get::<Actor>().map(|a| self.fleet.me(a)))
    }

    async fn sign_in(&self, name: String, password: String) -> Result<(), ApiError> {
        let parts = parts()?;
        let address = client_address(&parts.extensions);
        let session = self.fleet.sign_in(name.trim(), &password, address).await?;
        set_cookies(session_cookies(&session.secret, &session.csrf, over_tls(&parts.headers), SESSION_HOURS * 3600));
        Ok(())
    }

    async fn sign_out(&self) -> Result<(), ApiError> {
        let parts = parts()?;
        let actor = actor()?;
        if let Some(secret) = cookie(&parts.headers, SESSION_COOKIE) {
            self.fleet.sign_out(&actor, &secret).await?;
        }
        set_cookies(cleared_cookies());
        Ok(())
    }

    async fn change_password(&self, current: String, new: String) -> Result<(), ApiError> {
        self.fleet.change_password(&actor()?, &current, &new).await
    }

    async fn list_databases(&self) -> Result<Vec<DatabaseView>, ApiError> {
        self.fleet.list(&actor()?).await
    }

    async fn create_database(&self, request: NewDatabase) -> Result<DatabaseView, ApiError> {
        let request = CreateRequest::new(NewDatabase {
            name: blank(request.name),
            plan: blank(request.plan),
            follow: blank(request.follow),
            fork: blank(request.fork),
            ..request
        })?;
        self.fleet.create(&actor()?, request).await
    }

    async fn metrics(
        &self,
        name: String,
        query: app::metrics::MetricsQuery,
    ) -> Result<app::metrics::Metrics, ApiError> {
        self.fleet.metrics(&actor()?, &name, &query).await
    }

    async fn backups(&self, name: String) -> Result<Vec<app::model::Backup>, ApiError> {
        self.fleet.backups(&actor()?, &name).await
    }

    async fn capture_backup(&self, name: String) -> Result<DatabaseView, ApiError> {
        self.fleet.capture_backup(&actor()?, &name).await
    }

    async fn sessions(&self, name: String) -> Result<Vec<app::insights::Session>, ApiError> {
        self.fleet.sessions(&actor()?, &name).await
    }

    async fn blocking(&self, name: String) -> Result<Vec<app::insights::Blocking>, ApiError> {
        self.fleet.blocking(&actor()?, &name).await
    }

    async fn statements(
        &self,
        name: String,
        query: app::insights::StatementsQuery,
    ) -> Result<app::insights::Statements, ApiError> {
        self.fleet.statements(&actor()?, &name, &query).await
    }

    async fn end_session(&self, name: String, pid: i64, terminate: bool) -> Result<app::insights::Ended, ApiError> {
        self.fleet.end_session(&actor()?, &name, pid, terminate).await
    }

    async fn reset_statements(&self, name: String) -> Result<(), ApiError> {
        self.fleet.reset_statements(&actor()?, &name).await
    }

    async fn rotate_credentials(&self, name: String, keep_sessions: bool) -> Result<app::model::Rotated, ApiError> {
        self.fleet.rotate_credentials(&actor()?, &name, keep_sessions).await
    }

    async fn schema_diff(&self, name: String, other: Option<String>) -> Result<app::schema_diff::SchemaDiff, ApiError> {
        self.fleet.schema_diff(&actor()?, &name, other.as_deref()).await
    }

    async fn masking(&self, name: String) -> Result<app::masking::MaskingView, ApiError> {
        self.fleet.masking(&actor()?, &name).await
    }

    async fn save_masking(
        &self,
        name: String,
        rules: app::masking::MaskRules,
    ) -> Result<app::masking::MaskingView, ApiError> {
        self.fleet.set_masking(&actor()?, &name, rules).await
    }

    async fn masking_preview(&self, name: String) -> Result<app::masking::MaskPreview, ApiError> {
        self.fleet.masking_preview(&actor()?, &name).await
    }

    async fn roles(&self, name: String) -> Result<Vec<app::roles::RoleView>, ApiError> {
        self.fleet.roles(&actor()?, &name).await
    }

    async fn create_role(&self, name: String, role: app::roles::NewRole) -> Result<app::roles::RoleUrl, ApiError> {
        self.fleet.create_role(&actor()?, &name, role).await
    }

    async fn role_url(&self, name: String, role: String) -> Result<app::roles::RoleUrl, ApiError> {
        self.fleet.role_url(&actor()?, &name, &role).await
    }

    async fn rotate_role(&self, name: String, role: String) -> Result<app::roles::RoleUrl, ApiError> {
        self.fleet.rotate_role(&actor()?, &name, &role, false).await
    }

    async fn drop_role(&self, name: String, role: String) -> Result<(), ApiError> {
        self.fleet.drop_role(&actor()?, &name, &role).await
    }

    async fn diagnose(&self, name: String) -> Result<app::diagnose::Diagnosis, ApiError> {
        self.fleet.diagnose(&actor()?, &name).await
    }

    async fn sizes(&self, name: String) -> Result<app::diagnose::Sizes, ApiError> {
        self.fleet.sizes(&actor()?, &name).await
    }

    async fn promote_database(&self, name: String) -> Result<DatabaseView, ApiError> {
        self.fleet.promote(&actor()?, &name).await
    }

    async fn reset_database(&self, name: String) -> Result<DatabaseView, ApiError> {
        self.fleet.reset(&actor()?, &name, None).await
    }

    async fn retry_database(&self, name: String) -> Result<DatabaseView, ApiError> {
        self.fleet.retry(&actor()?, &name).await
    }

    async fn destroy_database(&self, name: String, take_followers: bool) -> Result<(), ApiError> {
        self.fleet.destroy(&actor()?, &name, take_followers).await
    }

    async fn credentials(&self, name: String) -> Result<String, ApiError> {
        self.fleet.credentials(&actor()?, &name).await
    }

    async fn set_access(&self, name: String, access: AccessSettings) -> Result<DatabaseView, ApiError> {
        self.fleet.set_access(&actor()?, &name, access).await
    }

    async fn extend(&self, name: String, seconds: i64) -> Result<DatabaseView, ApiError> {
        self.fleet.extend(&actor()?, &name, seconds).await
    }

    async fn request_fork(&self, request: NewForkRequest) -> Result<ForkRequestView, ApiError> {
        self.fleet.request_fork(&actor()?, request).await
    }

    async fn fork_requests(&self) -> Result<Vec<ForkRequestView>, ApiError> {
        self.fleet.fork_requests(&actor()?).await
    }

    async fn pending_fork_requests(&self) -> Result<u32, ApiError> {
        let requests = self.fleet.fork_requests(&actor()?).await?;
        let pending = requests.iter().filter(|r| r.state == app::accounts::RequestState::Pending).count();
        Ok(u32::try_from(pending).unwrap_or(u32::MAX))
    }

    async fn decide(&self, id: i64, approve: bool, reason: Option<String>) -> Result<ForkRequestView, ApiError> {
        self.fleet.decide(&actor()?, id, approve, reason).await
    }

    async fn users(&self) -> Result<Vec<UserView>, ApiError> {
        self.fleet.users(&actor()?).await
    }

    async fn invite(&self, name: String, role: UserRole) -> Result<Invitation, ApiError> {
        self.fleet.invite(&actor()?, name.trim(), role).await
    }

    async fn set_role(&self, name: String, role: UserRole) -> Result<UserView, ApiError> {
        self.fleet.set_role(&actor()?, &name, role).await
    }

    async fn tokens(&self) -> Result<Vec<TokenView>, ApiError> {
        self.fleet.tokens(&actor()?).await
    }

    async fn create_token(&self, name: String) -> Result<NewToken, ApiError> {
        self.fleet.create_token(&actor()?, &name).await
    }

    async fn revoke_token(&self, id: i64) -> Result<(), ApiError> {
        self.fleet.revoke_token(&actor()?, id).await
    }

    async fn audit(&self) -> Result<Vec<AuditEntry>, ApiError> {
        self.fleet.audit_log(&actor()?, None).await
    }

    async fn settings(&self) -> Result<Settings, ApiError> {
        actor()?;
        self.fleet.settings().await
    }

    async fn put_settings(&self, settings: Settings) -> Result<Settings, ApiError> {
        self.fleet.put_settings(&actor()?, settings).await
    }
}
