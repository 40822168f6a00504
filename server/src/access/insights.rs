//! Diagnostics as people ask for them: anyone signed in reads sessions,
//! locks, normalised statements, sizes and health checks, but only those [`app::policy`] lets see
//! query text get it (the others get statements with their quoted literals
//! hidden, since utility statements are kept as written); ending a session and resetting statistics are the
//! owner's or an admin's, and audited.

use app::diagnose::{Diagnosis, Sizes, SIZES_LIMIT};
use app::insights::{Blocking, Ended, Session, Statements, StatementsQuery};
use app::model::ApiError;
use app::policy::{allows, check, Action};

use super::{Actor, Fleet};

impl Fleet {
    async fn sees_query_text(&self, actor: &Actor, name: &str) -> Result<bool, ApiError> {
        check(actor.role(), actor.name(), Action::Read)?;
        let db = self.engine.get(name).await?;
        Ok(allows(actor.role(), actor.name(), Action::SeeQueryText(&db)))
    }

    pub async fn sessions(&self, actor: &Actor, name: &str) -> Result<Vec<Session>, ApiError> {
        let text = self.sees_query_text(actor, name).await?;
        Ok(self.engine.sessions(name, text).await?)
    }

    pub async fn blocking(&self, actor: &Actor, name: &str) -> Result<Vec<Blocking>, ApiError> {
        let text = self.sees_query_text(actor, name).await?;
        Ok(self.engine.blocking(name, text).await?)
    }

    pub async fn statements(&self, actor: &Actor, name: &str, query: &StatementsQuery) -> Result<Statements, ApiError> {
        let limit = query.limit()?;
        let text = self.sees_query_text(actor, name).await?;
        let mut found = self.engine.statements(name, query.order.unwrap_or_default(), limit).await?;
        if !text {
            for s in &mut found.statements {
                s.query = app::insights::redact_literals(&s.query);
            }
        }
        Ok(found)
    }

    /// Sizes and health checks carry no query text: anyone signed in.
    pub async fn sizes(&self, actor: &Actor, name: &str) -> Result<Sizes, ApiError> {
        check(actor.role(), actor.name(), Action::Read)?;
        Ok(self.engine.sizes(name, SIZES_LIMIT).await?)
    }

    /// `a`'s schema against `b`'s (its source's by default). A schema is
    /// not data: anyone signed in may compare.
    pub async fn schema_diff(
        &self,
        actor: &Actor,
        a: &str,
        b: Option<&str>,
    ) -> Result<app::schema_diff::SchemaDiff, ApiError> {
        check(actor.role(), actor.name(), Action::Read)?;
        Ok(self.engine.schema_diff(a, b).await?)
    }

    pub async fn diagnose(&self, actor: &Actor, name: &str) -> Result<Diagnosis, ApiError> {
        check(actor.role(), actor.name(), Action::Read)?;
        Ok(self.engine.diagnose(name).await?)
    }

    /// Cancels `pid`'s query, or with `terminate` ends its session.
    pub async fn end_session(&self, actor: &Actor, name: &str, pid: i64, terminate: bool) -> Result<Ended, ApiError> {
        let action = if terminate { "session.terminate" } else { "session.cancel" };
        let result = async {
            let db = self.engine.get(name).await?;
            check(actor.role(), actor.name(), Action::EndSession(&db))?;
            let pid = app::insights::pid(pid)?;
            Ok(self.engine.end_session(name, pid, terminate).await?)
        }
        .await;
        self.audited(actor, action, Some(name), Some(format!("pid {pid}")), result).await
    }

    pub async fn reset_statements(&self, actor: &Actor, name: &str) -> Result<(), ApiError> {
        let result = async {
            let db = self.engine.get(name).await?;
            check(actor.role(), actor.name(), Action::ResetStatements(&db))?;
            Ok(self.engine.reset_statements(name).await?)
        }
        .await;
        self.audited(actor, "statements.reset", Some(name), None, result).await
    }
}
