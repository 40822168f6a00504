//! Reset from the source (Neon's "reset from parent"): a fork is made
//! again from its source, now or as of a moment in the source's restore
//! window, keeping its name, port, owner role and passwords, so every
//! connection string stays valid.
//!
//! The request is decided under the admission turn and only asks: the
//! spec's reset generation goes up (with the moment and, as for a new
//! fork, the source's roles to drop), open sessions are ended (each client
//! reads PostgreSQL's "terminating connection due to administrator
//! command") and the database shows `provisioning`. The reconciler sees
//! data made for an older generation as stale and makes it again
//! (`reconciler::provision`), which a restart of pgfleet resumes.

use app::model::{DatabaseView, EventKind, ForkPoint, Phase};
use chrono::Utc;

use super::spec::{Desired, ExtraRole, Origin, Spec};
use super::{admission, followers_of, roles, Engine, EngineError};

impl Engine {
    /// Asks for fork `name` to be made again from its source as of
    /// `point` (`None`: now).
    pub async fn reset(&self, name: &str, point: Option<ForkPoint>) -> Result<DatabaseView, EngineError> {
        let admitted = self.admit().await?;
        let spec = self.spec(name).await?;
        if spec.desired == Desired::Deleted {
            return Err(EngineError::SourceDeleting(name.to_string()));
        }
        if spec.origin != Origin::Fork {
            return Err(EngineError::NotAFork(name.to_string()));
        }
        match self.phase(name).await? {
            Phase::Available | Phase::Failed => {}
            phase @ (Phase::Provisioning
            | Phase::Masking
            | Phase::CatchingUp
            | Phase::Promoting
            | Phase::Restarting
            | Phase::Deleting) => return Err(EngineError::Busy { name: name.to_string(), phase }),
        }
        let specs = admitted.specs().await?;
        let followers: Vec<&str> = followers_of(&specs, name).map(|s| s.name.as_str()).collect();
        if !followers.is_empty() {
            return Err(EngineError::FollowedReset { name: name.to_string(), followers: followers.join(", ") });
        }
        let source_name = spec.source.clone().ok_or_else(|| EngineError::NotAFork(name.to_string()))?;
        let source = self.usable_source(&source_name, "reset from").await?;
        if let Some(point) = &point {
            let window = self
                .inner
                .provisioner
                .restore_window(&source)
                .await
                .map_err(|e| EngineError::Backend(format!("cannot read {source_name}'s backups: {e}")))?;
            admission::check_fork_point(&source_name, point, window.as_ref(), Utc::now())?;
        }
        let roles = roles_after_reset(&spec, roles::carrier(&specs, &source));
        self.inner.store.request_reset(name, point.as_ref(), &roles).await?;
        drop(admitted);
        match self.end_sessions_of(name, None).await {
            Ok(ended) => tracing::info!(db = name, ended, "sessions ended for a reset"),
            Err(e) => tracing::info!(db = name, error = %e, "no sessions ended for a reset"),
        }
        let when = point.as_ref().map(|p| format!(" as of {}", p.describe())).unwrap_or_default();
        self.inner
            .recorder
            .note(name, EventKind::Changed, format!("a reset from {source_name}{when} was asked for"))
            .await?;
        self.inner
            .recorder
            .transition(name, Phase::Provisioning, Some(format!("resetting from {source_name}{when}")))
            .await?;
        self.wake().await;
        self.get(name).await
    }
}

/// The roles a reset fork should have: its own, and tombstones for its
/// source's, whose copies come with the new data (a role of its own of
/// the same name keeps its password).
fn roles_after_reset(fork: &Spec, source: &Spec) -> Vec<ExtraRole> {
    let mut roles: Vec<ExtraRole> = fork.live_roles().cloned().collect();
    let inherited = Spec::inherited_tombstones(source);
    roles.extend(inherited.into_iter().filter(|t| !fork.live_roles().any(|r| r.name == t.name)));
    roles
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::roles::RoleAccess;

    fn role(name: &str, dropped: bool) -> ExtraRole {
        ExtraRole {
            name: name.into(),
            access: RoleAccess::ReadOnly,
            password: if dropped { String::new() } else { format!("{name}-pw") },
            created_at: Utc::now(),
            created_by: None,
            password_set_at: Utc::now(),
            dropped,
        }
    }

    #[test]
    fn a_reset_fork_keeps_its_roles_and_drops_its_sources() {
        let mut source = Spec::example("prod", "mini", Origin::Empty, None);
        source.roles = vec![role("analyst", false), role("etl", false), role("gone", true)];
        let mut fork = Spec::example("trial", "mini", Origin::Fork, Some("prod"));
        fork.roles = vec![role("etl", false), role("old", true)];
        let roles = roles_after_reset(&fork, &source);
        let seen: Vec<(&str, bool)> = roles.iter().map(|r| (r.name.as_str(), r.dropped)).collect();
        assert_eq!(seen, [("etl", false), ("analyst", true), ("gone", true)]);
        assert_eq!(roles[0].password, "etl-pw", "its own role keeps its password");
    }
}
