//! Who is asking and what they may do: accounts, sessions, tokens, the
//! rules of [`app::policy`], fork requests with their time to live, and the
//! audit log.
//!
//! [`Fleet`] is the control plane as people reach it. The API and the
//! console both call it with an [`Actor`]; it checks the rules, asks the
//! [`Engine`](crate::engine::Engine), and writes one audit entry per
//! action. The engine itself knows nothing of people.

use std::sync::Arc;

use app::accounts::{AuditEntry, UserRole};
use app::model::{ApiError, ErrorCode};

use crate::engine::{Engine, EngineError};
use crate::store::{Store, StoreError};

pub mod accounts;
pub mod databases;
pub mod insights;
pub mod leases;
pub mod limiter;
pub mod masking;
pub mod passwords;
pub mod requests;
pub mod roles;

/// A signed-in user.
#[derive(Clone, Debug, PartialEq)]
pub struct Principal {
    pub id: i64,
    pub name: String,
    pub role: UserRole,
    pub must_change_password: bool,
}

/// A user and where their request came from, as the audit log records it.
#[derive(Clone, Debug)]
pub struct Actor {
    pub principal: Principal,
    pub address: Option<String>,
}

impl Actor {
    pub fn name(&self) -> &str {
        &self.principal.name
    }

    pub fn role(&self) -> UserRole {
        self.principal.role
    }
}

/// The control plane, seen from the people using it; cheap to clone.
#[derive(Clone)]
pub struct Fleet {
    engine: Engine,
    store: Store,
    limiter: Arc<limiter::Limiter>,
}

impl Fleet {
    pub fn new(engine: Engine) -> Fleet {
        Fleet { store: engine.store().clone(), engine, limiter: Arc::new(limiter::Limiter::default()) }
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Records one action and passes its result through.
    async fn audited<T>(
        &self,
        actor: &Actor,
        action: &str,
        database: Option<&str>,
        detail: Option<String>,
        result: Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let (outcome, detail) = match &result {
            Ok(_) => ("ok", detail),
            Err(e) if matches!(e.code, ErrorCode::Forbidden | ErrorCode::Unauthorized) => {
                ("denied", Some(e.message.clone()))
            }
            Err(e) => ("failed", Some(e.message.clone())),
        };
        self.audit(actor.name(), action, database, actor.address.clone(), outcome, detail).await;
        result
    }

    /// Appends to the audit log; a store failure is logged, not returned,
    /// so the action's own result reaches the user.
    async fn audit(
        &self,
        actor: &str,
        action: &str,
        database: Option<&str>,
        address: Option<String>,
        outcome: &str,
        detail: Option<String>,
    ) {
        let entry = AuditEntry {
            id: 0,
            at: chrono::Utc::now(),
            actor: actor.to_string(),
            action: action.to_string(),
            database: database.map(str::to_string),
            address,
            outcome: outcome.to_string(),
            detail,
        };
        tracing::info!(actor, action, database, outcome, "audit");
        if let Err(e) = self.store.append_audit(&entry).await {
            tracing::error!(error = %e, action, "could not write the audit log");
        }
    }
}

/// The public form of a store failure.
pub(crate) fn store_error(e: StoreError) -> ApiError {
    EngineError::Store(e).into()
}

pub(crate) fn forbidden(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::Forbidden, message)
}
