//! Fork requests: a member's fork of a database whose policy is
//! `approval` waits for an admin. Requests of `open` databases (and an
//! admin's) are approved on the spot, so every self-service fork has one
//! record of who asked, why and for how long.
//!
//! pending → approved | rejected; approved → provisioning (the fork is
//! asked of the engine, idempotently, so a restart in between is safe) →
//! available → expired. The [`leases`](super::leases) keeper moves
//! requests along after approval.

use app::accounts::{ForkRequestView, NewForkRequest, RequestState, UserRole};
use app::limits;
use app::model::{ApiError, ErrorCode, EventKind, Phase};
use app::policy::{check, fork_needs_approval, Action};
use chrono::Utc;

use super::{store_error, Actor, Fleet};
use crate::engine::admission::{IdempotencyKey, SYSTEM_CALLER};
use crate::engine::{CreateRequest, EngineError};

/// The longest reason kept.
const MAX_REASON: usize = 500;

impl Fleet {
    pub async fn request_fork(&self, actor: &Actor, req: NewForkRequest) -> Result<ForkRequestView, ApiError> {
        let source = req.source.clone();
        let result = self.open_request(actor, req).await;
        let detail = result.as_ref().ok().map(|r| {
            let unmasked = if r.unmasked { format!(", unmasked, because: {}", r.reason) } else { String::new() };
            format!("request {} for {}{unmasked}", r.id, r.name)
        });
        let result = self.audited(actor, "request.create", Some(&source), detail, result).await;
        let request = result?;
        if request.state == RequestState::Approved {
            self.start_fork(&request).await;
        }
        self.fork_request(actor, request.id).await
    }

    async fn open_request(&self, actor: &Actor, req: NewForkRequest) -> Result<ForkRequestView, ApiError> {
        let admitted = self.engine.admit().await?;
        let source = self.engine.get(&req.source).await.map_err(|_| {
            ApiError::new(ErrorCode::Unprocessable, format!("there is no database named {} to fork", req.source))
        })?;
        check(actor.role(), actor.name(), Action::Fork(&source))?;
        if req.unmasked && source.masking_rules == 0 {
            return Err(EngineError::NothingToUnmask(source.name.clone()).into());
        }
        let reason = req.reason.trim();
        if reason.is_empty() || reason.chars().count() > MAX_REASON {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                format!("say why you need the fork (1-{MAX_REASON} characters)"),
            ));
        }
        let settings = self.settings().await?;
        let ttl = req.ttl_seconds.unwrap_or(settings.fork_ttl_default_seconds);
        limits::lifetime("ttl_seconds", ttl)?;
        if actor.role() != UserRole::Admin && ttl > settings.fork_ttl_max_seconds {
            return Err(ApiError::new(
                ErrorCode::Unprocessable,
                format!("a fork may live from 1 second to {}", app::format::span(settings.fork_ttl_max_seconds)),
            ));
        }
        if let Some(at) = req.at {
            let spec = self.engine.store().spec(&source.name).await.map_err(store_error)?;
            let window = match spec {
                Some(spec) => self.engine.provisioner().restore_window(&spec).await.unwrap_or(None),
                None => None,
            };
            let point = app::model::ForkPoint::Time(at);
            crate::engine::admission::check_fork_point(&source.name, &point, window.as_ref(), Utc::now())?;
        }
        let specs = admitted.specs().await?;
        if actor.role() != UserRole::Admin {
            admitted.check_fork_quota(&specs, actor.name(), settings.member_fork_quota).await?;
        }
        let wanted = req.name.as_ref().map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
        let name = admitted.name(&specs, wanted.as_deref(), None).await?;
        let request = self.store.add_fork_request(actor.name(), &name, reason, ttl, &req).await.map_err(store_error)?;
        if !fork_needs_approval(actor.role(), &source, req.unmasked) {
            let by = match actor.role() {
                UserRole::Admin => actor.name().to_string(),
                UserRole::Member | UserRole::Viewer => "open fork policy".to_string(),
            };
            self.store.decide_fork_request(request.id, RequestState::Approved, &by, None).await.map_err(store_error)?;
        }
        self.publish_request(request.id, &name).await;
        self.store
            .fork_request(request.id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| ApiError::new(ErrorCode::Internal, "the request vanished"))
    }

    /// Admins see every request; others their own.
    pub async fn fork_requests(&self, actor: &Actor) -> Result<Vec<ForkRequestView>, ApiError> {
        let requester = match actor.role() {
            UserRole::Admin => None,
            UserRole::Member | UserRole::Viewer => Some(actor.name()),
        };
        self.store.fork_requests(requester).await.map_err(store_error)
    }

    /// One request, if the caller may see it (404 otherwise, so ids of
    /// others' requests say nothing).
    pub async fn fork_request(&self, actor: &Actor, id: i64) -> Result<ForkRequestView, ApiError> {
        let missing = || ApiError::new(ErrorCode::NotFound, format!("there is no fork request {id}"));
        let request = self.store.fork_request(id).await.map_err(store_error)?.ok_or_else(missing)?;
        if request.requester != actor.name() && actor.role() != UserRole::Admin {
            return Err(missing());
        }
        Ok(request)
    }

    /// An admin approves (the fork is made at once) or rejects (with a
    /// reason) a pending request.
    pub async fn decide(
        &self,
        actor: &Actor,
        id: i64,
        approve: bool,
        reason: Option<String>,
    ) -> Result<ForkRequestView, ApiError> {
        let reason = reason.map(|r| r.trim().to_string()).filter(|r| !r.is_empty());
        let result = async {
            check(actor.role(), actor.name(), Action::Administer)?;
            let request = self.fork_request(actor, id).await?;
            if request.state != RequestState::Pending {
                return Err(ApiError::new(
                    ErrorCode::Conflict,
                    format!("fork request {id} is already {}", request.state.as_str()),
                ));
            }
            if !approve && reason.is_none() {
                return Err(ApiError::new(ErrorCode::BadRequest, "say why the request is rejected"));
            }
            let state = if approve { RequestState::Approved } else { RequestState::Rejected };
            self.store.decide_fork_request(id, state, actor.name(), reason.as_deref()).await.map_err(store_error)?;
            self.publish_request(id, &request.name).await;
            Ok(request)
        }
        .await;
        let action = if approve { "request.approve" } else { "request.reject" };
        let source = result.as_ref().ok().map(|r| r.source.clone());
        let detail = match result.as_ref().ok().filter(|r| r.unmasked) {
            Some(r) => format!("request {id} for {}, unmasked, because: {}", r.name, r.reason),
            None => format!("request {id}"),
        };
        let request = self.audited(actor, action, source.as_deref(), Some(detail), result).await?;
        if approve {
            self.start_fork(&request).await;
        }
        self.fork_request(actor, request.id).await
    }

    /// Asks the engine for an approved request's fork. The idempotency key
    /// makes a second call (after a restart) find the first one's fork.
    pub(super) async fn start_fork(&self, request: &ForkRequestView) {
        let created = async {
            // The store may hold a request from before time to live was
            // range-checked: refuse it rather than overflow.
            let ttl = limits::lifetime("ttl_seconds", request.ttl_seconds)?;
            let expires_at = limits::later(Utc::now(), ttl)?;
            self.engine
                .create(CreateRequest {
                    name: Some(request.name.clone()),
                    fork: Some(request.source.clone()),
                    fork_point: request.at.map(app::model::ForkPoint::Time),
                    unmasked_reason: request.unmasked.then(|| request.reason.clone()),
                    owner: Some(request.requester.clone()),
                    expires_at: Some(expires_at),
                    idempotency: Some(IdempotencyKey {
                        caller: SYSTEM_CALLER.to_string(),
                        key: format!("fork-request-{}", request.id),
                    }),
                    for_request: Some(request.id),
                    ..Default::default()
                })
                .await
                .map_err(ApiError::from)
        }
        .await;
        match created {
            Ok(_) => self.move_request(request, RequestState::Provisioning, None).await,
            Err(e) => self.move_request(request, RequestState::Failed, Some(&e.message)).await,
        }
    }

    /// Moves a request to `state` and tells its watchers.
    pub(super) async fn move_request(&self, request: &ForkRequestView, state: RequestState, message: Option<&str>) {
        if let Err(e) = self.store.set_request_state(request.id, state, message).await {
            tracing::error!(error = %e, id = request.id, "could not move a fork request");
            return;
        }
        tracing::info!(id = request.id, fork = %request.name, to = state.as_str(), "fork request");
        self.publish_request(request.id, &request.name).await;
    }

    async fn publish_request(&self, id: i64, fork: &str) {
        let message = format!("fork request {id} changed");
        if let Err(e) = self.engine.recorder().note(fork, EventKind::Request, message).await {
            tracing::error!(error = %e, id, "could not publish a fork request change");
        }
    }

    /// Where an approved request's fork is, in request terms.
    pub(super) fn request_state_for(phase: Option<Phase>) -> Option<RequestState> {
        match phase {
            None => Some(RequestState::Destroyed),
            Some(Phase::Available) => Some(RequestState::Available),
            Some(Phase::Failed) => Some(RequestState::Failed),
            Some(Phase::Deleting) => Some(RequestState::Destroyed),
            Some(Phase::Provisioning | Phase::Masking | Phase::CatchingUp | Phase::Promoting | Phase::Restarting) => {
                None
            }
        }
    }
}
