//! Rotating a database's credentials (`heroku pg:credentials:rotate`): its
//! owner role gets a new password; the followers that carry its roles get
//! the same one (they replicate it, and hand out its URL); forks have
//! passwords of their own and are untouched.
//!
//! The store is written first, since it is what pgfleet hands out and
//! what a restart re-applies; then the backend applies it
//! (`Provisioner::set_up_owner`, idempotent). Should pgfleet die between
//! the two, the reconciler applies every primary's owner set-up once after
//! it starts, so the store and the server agree again.

use app::model::{EventKind, Rotated};

use super::{secret, Engine, EngineError};
use crate::insights::activity;

impl Engine {
    /// A new owner password for `name`; with `keep_sessions` false, the
    /// owner's open sessions (on it and its followers) are ended, as the
    /// old password no longer opens new ones.
    pub async fn rotate_credentials(&self, name: &str, keep_sessions: bool) -> Result<Rotated, EngineError> {
        // The turn keeps two rotations, on one server or two, from storing
        // one password and applying the other.
        let admitted = self.admit().await?;
        let spec = self.changeable(name).await?;
        let carriers = self.role_carriers(name).await?;
        let password = secret();
        self.inner.store.set_owner_password(&carriers, &password).await?;
        let spec = super::spec::Spec { pg_password: password, ..spec };
        self.inner
            .provisioner
            .set_up_owner(&spec)
            .await
            .map_err(|e| EngineError::Backend(format!("{name}'s new password is stored but not yet applied: {e}")))?;
        drop(admitted);
        let mut ended_sessions = 0;
        if !keep_sessions {
            for carrier in &carriers {
                match self.end_sessions_of(carrier, Some(&spec.pg_user)).await {
                    Ok(n) => ended_sessions += n,
                    Err(e) => tracing::warn!(db = %carrier, error = %e, "could not end the owner's sessions"),
                }
            }
        }
        let url = self.credentials(name).await?;
        let followers: Vec<String> = carriers[1..].to_vec();
        tracing::info!(db = name, ended_sessions, followers = followers.len(), "credentials rotated");
        for carrier in &carriers {
            let message = match carrier == name {
                true => "its owner's password was rotated".to_string(),
                false => format!("its source {name}'s owner password was rotated; its URL changed too"),
            };
            self.inner.recorder.note(carrier, EventKind::CredentialsRotated, message).await?;
        }
        Ok(Rotated { url, ended_sessions, followers, at: chrono::Utc::now() })
    }

    /// `name` and the followers that carry its roles (followers of
    /// followers too), `name` first.
    pub(super) async fn role_carriers(&self, name: &str) -> Result<Vec<String>, EngineError> {
        let specs = self.inner.store.specs().await?;
        let mut carriers = vec![name.to_string()];
        let mut i = 0;
        while i < carriers.len() {
            let of = carriers[i].clone();
            carriers.extend(specs.iter().filter(|s| s.follows() == Some(of.as_str())).map(|s| s.name.clone()));
            i += 1;
        }
        Ok(carriers)
    }

    /// Ends every client session on `name`'s server (only `role`'s, given
    /// one); how many.
    pub(super) async fn end_sessions_of(&self, name: &str, role: Option<&str>) -> Result<u64, EngineError> {
        let spec = self.spec(name).await?;
        let mut conn = self.inner.provisioner.connect(&spec).await.map_err(|e| EngineError::Backend(e.to_string()))?;
        activity::end_sessions(&mut conn, role)
            .await
            .map_err(|e| EngineError::Insight { name: name.to_string(), error: e })
    }
}
