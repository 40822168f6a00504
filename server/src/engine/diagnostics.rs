//! The diagnostics a person asks of one database (`pg:ps`, `pg:locks`,
//! `pg:kill`, `pg:outliers`, sizes, `pg:diagnose`): the engine finds the database, checks that
//! it runs, and has the backend connect; what is read is
//! [`crate::insights`]' business, and who may see it is the access layer's.

use app::diagnose::{Diagnosis, Sizes};
use app::insights::{Blocking, Ended, Session, StatementOrder, Statements};
use app::model::{Phase, Role};
use sqlx::postgres::PgConnection;

use super::{Engine, EngineError};
use crate::insights::diagnose::{self, Known};
use crate::insights::{activity, sizes, statements, InsightError};

impl Engine {
    /// A connection into `name`, which must be available.
    pub(super) async fn diagnostic_connection(&self, name: &str) -> Result<PgConnection, EngineError> {
        let spec = self.spec(name).await?;
        let phase = self.inner.store.phase_of(name).await?.unwrap_or(Phase::Provisioning);
        if phase != Phase::Available {
            return Err(EngineError::Busy { name: name.to_string(), phase });
        }
        self.inner.provisioner.connect(&spec).await.map_err(|e| insight(name, e.into()))
    }

    pub async fn sessions(&self, name: &str, with_text: bool) -> Result<Vec<Session>, EngineError> {
        let mut conn = self.diagnostic_connection(name).await?;
        activity::sessions(&mut conn, with_text).await.map_err(|e| insight(name, e))
    }

    pub async fn blocking(&self, name: &str, with_text: bool) -> Result<Vec<Blocking>, EngineError> {
        let mut conn = self.diagnostic_connection(name).await?;
        activity::blocking(&mut conn, with_text).await.map_err(|e| insight(name, e))
    }

    /// Cancels `pid`'s query, or with `terminate` ends its session.
    pub async fn end_session(&self, name: &str, pid: i32, terminate: bool) -> Result<Ended, EngineError> {
        let mut conn = self.diagnostic_connection(name).await?;
        let signalled = activity::end(&mut conn, pid, terminate).await.map_err(|e| insight(name, e))?;
        let how = if terminate { "terminate" } else { "cancel" };
        tracing::info!(db = name, pid, how, signalled, "session ended");
        Ok(Ended { pid, how: how.into(), signalled })
    }

    pub async fn statements(&self, name: &str, order: StatementOrder, limit: i64) -> Result<Statements, EngineError> {
        let mut conn = self.diagnostic_connection(name).await?;
        statements::top(&mut conn, order, limit).await.map_err(|e| insight(name, e))
    }

    pub async fn reset_statements(&self, name: &str) -> Result<(), EngineError> {
        let mut conn = self.diagnostic_connection(name).await?;
        statements::reset(&mut conn).await.map_err(|e| insight(name, e))
    }
}

impl Engine {
    pub async fn sizes(&self, name: &str, limit: i64) -> Result<Sizes, EngineError> {
        let mut conn = self.diagnostic_connection(name).await?;
        sizes::read(&mut conn, limit).await.map_err(|e| insight(name, e))
    }

    /// Every health check, judged from what the database shows now and
    /// what pgfleet knows of it (lag, archiving).
    pub async fn diagnose(&self, name: &str) -> Result<Diagnosis, EngineError> {
        let mut conn = self.diagnostic_connection(name).await?;
        let seen = diagnose::observe(&mut conn).await.map_err(|e| insight(name, e))?;
        let view = self.get(name).await?;
        let known = Known { follower: view.role == Role::Follower, lag: view.lag, archiving: view.archiving };
        Ok(Diagnosis::new(chrono::Utc::now(), diagnose::judge(&seen, &known)))
    }
}

fn insight(name: &str, error: InsightError) -> EngineError {
    EngineError::Insight { name: name.to_string(), error }
}
