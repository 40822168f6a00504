//! The lease keeper: an idempotent loop on a timer that makes approved requests' forks, follows each open request to the
//! state of its fork, and destroys databases whose time to live is over.
//!
//! Everything it needs is in the store, so it picks up after a restart at
//! whatever point pgfleet stopped.

use std::time::Duration;

use app::accounts::RequestState;
use app::model::EventKind;
use chrono::Utc;

use super::Fleet;
use crate::engine::spec::Desired;

/// The actor the audit log names for what pgfleet does on its own.
pub const SYSTEM_ACTOR: &str = "pgfleet";

impl Fleet {
    /// Runs the keeper under the engine's supervisor, every `every`.
    pub fn spawn_lease_keeper(&self, every: Duration) {
        let fleet = self.clone();
        let gate = self.engine.leadership().gate();
        self.engine.supervisor().spawn_gated("lease-keeper", gate, move |mut stop| {
            let fleet = fleet.clone();
            async move {
                loop {
                    fleet.keep_leases().await;
                    tokio::select! {
                        _ = tokio::time::sleep(every) => {}
                        _ = stop.wait_for(|s| *s) => return,
                    }
                }
            }
        });
    }

    /// One pass: expire first, so a fork at its end is `expired` and not
    /// merely `destroyed`.
    pub async fn keep_leases(&self) {
        self.expire_due().await;
        self.advance_requests().await;
    }

    async fn expire_due(&self) {
        let specs = match self.store.specs().await {
            Ok(specs) => specs,
            Err(e) => return tracing::error!(error = %e, "lease keeper cannot read specs"),
        };
        let now = Utc::now();
        for spec in specs {
            let Some(at) = spec.expires_at else { continue };
            if at > now || spec.desired != Desired::Running {
                continue;
            }
            let message =
                format!("{} reached the end of its time to live ({})", spec.name, at.format("%Y-%m-%d %H:%M:%S UTC"));
            if let Err(e) = self.engine.recorder().note(&spec.name, EventKind::Expired, message.clone()).await {
                tracing::error!(error = %e, db = %spec.name, "could not record an expiry");
            }
            let outcome = match self.engine.destroy(&spec.name, true).await {
                Ok(()) => "ok",
                Err(e) => {
                    tracing::error!(error = %e, db = %spec.name, "could not destroy an expired database");
                    "failed"
                }
            };
            self.audit(SYSTEM_ACTOR, "database.expire", Some(&spec.name), None, outcome, Some(message)).await;
            if let Ok(requests) = self.store.fork_requests(None).await {
                for request in requests.iter().filter(|r| r.name == spec.name && r.state.is_open()) {
                    self.move_request(request, RequestState::Expired, None).await;
                }
            }
        }
    }

    async fn advance_requests(&self) {
        let requests = match self.store.fork_requests(None).await {
            Ok(requests) => requests,
            Err(e) => return tracing::error!(error = %e, "lease keeper cannot read fork requests"),
        };
        for request in requests {
            match request.state {
                RequestState::Approved => self.start_fork(&request).await,
                RequestState::Provisioning | RequestState::Available => {
                    let phase = match self.store.phase_of(&request.name).await {
                        Ok(phase) => phase,
                        Err(e) => {
                            tracing::error!(error = %e, "lease keeper cannot read a phase");
                            continue;
                        }
                    };
                    let message = match phase {
                        Some(app::model::Phase::Failed) => {
                            self.engine.get(&request.name).await.ok().and_then(|v| v.message)
                        }
                        _ => None,
                    };
                    if let Some(next) = Self::request_state_for(phase) {
                        if next != request.state {
                            self.move_request(&request, next, message.as_deref()).await;
                        }
                    }
                }
                RequestState::Pending
                | RequestState::Rejected
                | RequestState::Expired
                | RequestState::Failed
                | RequestState::Destroyed => {}
            }
        }
    }
}
