//! The API's client, used by the CLI (and the tests): JSON calls and a
//! reconnecting reader of the event stream.

use std::time::Duration;

use app::model::{ApiError, DatabaseView, ErrorCode};
use futures::StreamExt;
use serde::de::DeserializeOwned;

use crate::api::databases::Credentials;
use crate::api::error::ErrorBody;

pub mod sse;

pub use sse::{SseMessage, SseParser};

/// Why a call failed, in words for the person at the terminal.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach pgfleet at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("{0}")]
    Api(ApiError),
    #[error("unexpected answer from pgfleet: {0}")]
    Protocol(String),
}

impl ClientError {
    /// Whether trying again later may work (connection trouble).
    pub fn is_transient(&self) -> bool {
        matches!(self, ClientError::Unreachable { .. })
            || matches!(self, ClientError::Api(e) if e.code == ErrorCode::Unavailable)
    }
}

#[derive(Clone)]
pub struct Client {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl Client {
    pub fn new(base: impl Into<String>, token: Option<String>) -> Self {
        Client { base: base.into().trim_end_matches('/').to_string(), token, http: reqwest::Client::new() }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        req
    }

    async fn send<T: DeserializeOwned>(&self, req: reqwest::RequestBuilder) -> Result<T, ClientError> {
        let response = req.send().await.map_err(|e| self.unreachable(e))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| self.unreachable(e))?;
        if status.is_success() {
            let body = if body.is_empty() { &b"null"[..] } else { &body[..] };
            return serde_json::from_slice(body).map_err(|e| ClientError::Protocol(e.to_string()));
        }
        match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(b) => Err(ClientError::Api(b.error)),
            Err(_) => Err(ClientError::Protocol(format!("HTTP {status}"))),
        }
    }

    fn unreachable(&self, e: reqwest::Error) -> ClientError {
        ClientError::Unreachable { url: self.base.clone(), reason: e.to_string() }
    }

    pub async fn list(&self) -> Result<Vec<DatabaseView>, ClientError> {
        self.send(self.request(reqwest::Method::GET, "/api/v1/databases")).await
    }

    pub async fn get(&self, name: &str) -> Result<DatabaseView, ClientError> {
        self.send(self.request(reqwest::Method::GET, &format!("/api/v1/databases/{name}"))).await
    }

    pub async fn create(&self, body: &app::model::NewDatabase) -> Result<DatabaseView, ClientError> {
        self.send(self.request(reqwest::Method::POST, "/api/v1/databases").json(body)).await
    }

    pub async fn promote(&self, name: &str) -> Result<DatabaseView, ClientError> {
        self.send(self.request(reqwest::Method::POST, &format!("/api/v1/databases/{name}/promote"))).await
    }

    pub async fn backups(&self, name: &str) -> Result<Vec<app::model::Backup>, ClientError> {
        self.send(self.request(reqwest::Method::GET, &format!("/api/v1/databases/{name}/backups"))).await
    }

    pub async fn capture_backup(&self, name: &str) -> Result<DatabaseView, ClientError> {
        self.send(self.request(reqwest::Method::POST, &format!("/api/v1/databases/{name}/backups"))).await
    }

    pub async fn sessions(&self, name: &str) -> Result<Vec<app::insights::Session>, ClientError> {
        self.send(self.request(reqwest::Method::GET, &format!("/api/v1/databases/{name}/sessions"))).await
    }

    pub async fn locks(&self, name: &str) -> Result<Vec<app::insights::Blocking>, ClientError> {
        self.send(self.request(reqwest::Method::GET, &format!("/api/v1/databases/{name}/locks"))).await
    }

    /// Cancels `pid`'s query, or with `terminate` ends its session.
    pub async fn end_session(
        &self,
        name: &str,
        pid: i64,
        terminate: bool,
    ) -> Result<app::insights::Ended, ClientError> {
        let how = if terminate { "terminate" } else { "cancel" };
        self.send(self.request(reqwest::Method::POST, &format!("/api/v1/databases/{name}/sessions/{pid}/{how}"))).await
    }

    pub async fn statements(
        &self,
        name: &str,
        order: app::insights::StatementOrder,
        limit: i64,
    ) -> Result<app::insights::Statements, ClientError> {
        let path = format!("/api/v1/databases/{name}/statements?order={}&limit={limit}", order.as_str());
        self.send(self.request(reqwest::Method::GET, &path)).await
    }

    pub async fn rotate_credentials(
        &self,
        name: &str,
        keep_sessions: bool,
    ) -> Result<app::model::Rotated, ClientError> {
        let path = format!("/api/v1/databases/{name}/credentials/rotate?keep_sessions={keep_sessions}");
        self.send(self.request(reqwest::Method::POST, &path)).await
    }

    pub async fn roles(&self, name: &str) -> Result<Vec<app::roles::RoleView>, ClientError> {
        self.send(self.request(reqwest::Method::GET, &format!("/api/v1/databases/{name}/roles"))).await
    }

    pub async fn create_role(
        &self,
        name: &str,
        role: &app::roles::NewRole,
    ) -> Result<app::roles::RoleUrl, ClientError> {
        self.send(self.request(reqwest::Method::POST, &format!("/api/v1/databases/{name}/roles")).json(role)).await
    }

    pub async fn role_url(&self, name: &str, role: &str) -> Result<app::roles::RoleUrl, ClientError> {
        let path = format!("/api/v1/databases/{name}/roles/{role}/credentials");
        self.send(self.request(reqwest::Method::GET, &path)).await
    }

    pub async fn rotate_role(
        &self,
        name: &str,
        role: &str,
        keep_sessions: bool,
    ) -> Result<app::roles::RoleUrl, ClientError> {
        let path = format!("/api/v1/databases/{name}/roles/{role}/rotate?keep_sessions={keep_sessions}");
        self.send(self.request(reqwest::Method::POST, &path)).await
    }

    pub async fn drop_role(&self, name: &str, role: &str) -> Result<(), ClientError> {
        let path = format!("/api/v1/databases/{name}/roles/{role}");
        self.send::<Option<()>>(self.request(reqwest::Method::DELETE, &path)).await.map(|_| ())
    }

    pub async fn sizes(&self, name: &str) -> Result<app::diagnose::Sizes, ClientError> {
        self.send(self.request(reqwest::Method::GET, &format!("/api/v1/databases/{name}/sizes"))).await
    }

    /// `name`'s schema against `other`'s (its source's without one).
    pub async fn schema_diff(
        &self,
        name: &str,
        other: Option<&str>,
    ) -> Result<app::schema_diff::SchemaDiff, ClientError> {
        let path = match other {
            Some(other) => format!("/api/v1/databases/{name}/diff/{other}"),
            None => format!("/api/v1/databases/{name}/diff"),
        };
        self.send(self.request(reqwest::Method::GET, &path)).await
    }

    pub async fn diagnose(&self, name: &str) -> Result<app::diagnose::Diagnosis, ClientError> {
        self.send(self.request(reqwest::Method::GET, &format!("/api/v1/databases/{name}/diagnose"))).await
    }

    pub async fn retry(&self, name: &str) -> Result<DatabaseView, ClientError> {
        self.send(self.request(reqwest::Method::POST, &format!("/api/v1/databases/{name}/retry"))).await
    }

    pub async fn reset(&self, name: &str, request: &app::model::ResetRequest) -> Result<DatabaseView, ClientError> {
        self.send(self.request(reqwest::Method::POST, &format!("/api/v1/databases/{name}/reset")).json(request)).await
    }

    pub async fn masking(&self, name: &str) -> Result<app::masking::MaskingView, ClientError> {
        self.send(self.request(reqwest::Method::GET, &format!("/api/v1/databases/{name}/masking"))).await
    }

    pub async fn set_masking(
        &self,
        name: &str,
        rules: &app::masking::MaskRules,
    ) -> Result<app::masking::MaskingView, ClientError> {
        self.send(self.request(reqwest::Method::PUT, &format!("/api/v1/databases/{name}/masking")).json(rules)).await
    }

    pub async fn masking_preview(&self, name: &str) -> Result<app::masking::MaskPreview, ClientError> {
        self.send(self.request(reqwest::Method::GET, &format!("/api/v1/databases/{name}/masking/preview"))).await
    }

    pub async fn destroy(&self, name: &str, take_followers: bool) -> Result<(), ClientError> {
        let path = format!("/api/v1/databases/{name}?take_followers={take_followers}");
        self.send::<Option<()>>(self.request(reqwest::Method::DELETE, &path)).await.map(|_| ())
    }

    pub async fn credentials(&self, name: &str) -> Result<String, ClientError> {
        let c: Credentials =
            self.send(self.request(reqwest::Method::GET, &format!("/api/v1/databases/{name}/credentials"))).await?;
        Ok(c.url)
    }

    /// Opens the event stream (all databases) and hands each event to
    /// `on_event` until it returns `false`. Reconnects with `Last-Event-ID`
    /// through dropped connections.
    pub async fn follow_events(
        &self,
        mut on_event: impl FnMut(SseMessage) -> bool,
        mut on_reconnect: impl FnMut(&ClientError),
    ) -> Result<(), ClientError> {
        let mut last_id: Option<String> = None;
        let mut backoff = Duration::from_millis(200);
        loop {
            let mut req = self.request(reqwest::Method::GET, "/api/v1/events").header("accept", "text/event-stream");
            if let Some(id) = &last_id {
                req = req.header("last-event-id", id);
            }
            let response = match req.send().await {
                Ok(r) if r.status().is_success() => r,
                Ok(r) => {
                    let status = r.status();
                    let text = r.text().await.unwrap_or_default();
                    return Err(match serde_json::from_str::<ErrorBody>(&text) {
                        Ok(b) => ClientError::Api(b.error),
                        Err(_) => ClientError::Protocol(format!("HTTP {status}")),
                    });
                }
                Err(e) => {
                    let err = self.unreachable(e);
                    on_reconnect(&err);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            };
            backoff = Duration::from_millis(200);
            let mut parser = SseParser::default();
            let mut body = response.bytes_stream();
            loop {
                match body.next().await {
                    Some(Ok(chunk)) => {
                        for message in parser.push(&chunk) {
                            if message.id.is_some() {
                                last_id = message.id.clone();
                            }
                            if !on_event(message) {
                                return Ok(());
                            }
                        }
                    }
                    Some(Err(e)) => {
                        on_reconnect(&self.unreachable(e));
                        break;
                    }
                    None => {
                        on_reconnect(&ClientError::Unreachable {
                            url: self.base.clone(),
                            reason: "the event stream ended".into(),
                        });
                        break;
                    }
                }
            }
        }
    }
}
