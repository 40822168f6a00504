//! The diagnostics a person asks of one database (`pg:ps`, `pg:locks`,
//! `pg:kill`, `pg:outliers`): the engine finds the database, checks that
//! it runs, and has the backend connect; what is read is
//! [`crate::insights`]' business, and who may see it is the access layer's.

use app::insights::{Blocking, Ended, Session, StatementOrder, Statements};
use app::model::Phase;
use sqlx::postgres::PgConnection;

use super::{Engine, EngineError};
use crate::insights::{activity, statements, InsightError};

impl Engine {
    /// A connection into `name`, which must be available.
    async fn diagnostic_connection(&self, name: &str) -> Result<PgConnection, EngineError> {
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

fn insight(name: &str, error: InsightError) -> EngineError {
    EngineError::Insight { name: name.to_string(), error }
}
