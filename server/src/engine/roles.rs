//! A database's additional roles (`heroku pg:credentials:create`,
//! `:rotate --name`, `:destroy`): listing, adding, new passwords and
//! removal, for a primary. Followers carry their source's roles (they are
//! its replicas), so they list and hand out URLs for those; a fork or a
//! promoted follower drops the copies it holds (see
//! [`Spec::inherited_tombstones`]).
//!
//! Each change is stored first, under the admission turn (role names and
//! the per-database limit are admission's), then applied by the backend
//! (`Provisioner::set_up_owner`, which converges the server's roles to the
//! spec). A change stored but not applied, because pgfleet died or the
//! server did not answer, is applied by the reconciler's next pass.

use app::model::{EventKind, Phase};
use app::roles::{NewRole, RoleUrl, RoleView};
use chrono::Utc;

use super::spec::{ExtraRole, Spec};
use super::{admission, secret, Engine, EngineError};

/// The database whose roles `spec`'s server carries: itself, or for a
/// follower the primary at the head of its chain.
pub fn carrier<'a>(specs: &'a [Spec], spec: &'a Spec) -> &'a Spec {
    let mut at = spec;
    // A chain is at most as long as the fleet; a loop in a broken store
    // ends there too.
    for _ in 0..specs.len() {
        match at.follows().and_then(|of| specs.iter().find(|s| s.name == of)) {
            Some(source) => at = source,
            None => break,
        }
    }
    at
}

impl Engine {
    /// The roles `name`'s server has (for a follower, its source's).
    pub async fn roles(&self, name: &str) -> Result<Vec<RoleView>, EngineError> {
        let specs = self.inner.store.specs().await?;
        let spec = specs.iter().find(|s| s.name == name).ok_or_else(|| EngineError::NotFound(name.to_string()))?;
        Ok(carrier(&specs, spec).live_roles().map(ExtraRole::view).collect())
    }

    /// The URL `role` connects to `name` with (a follower's address for a
    /// follower).
    pub async fn role_url(&self, name: &str, role: &str) -> Result<RoleUrl, EngineError> {
        let specs = self.inner.store.specs().await?;
        let spec = specs.iter().find(|s| s.name == name).ok_or_else(|| EngineError::NotFound(name.to_string()))?;
        let extra = carrier(&specs, spec)
            .live_roles()
            .find(|r| r.name == role)
            .ok_or_else(|| EngineError::NoSuchRole { name: name.to_string(), role: role.to_string() })?;
        self.url_as(spec, extra).await
    }

    /// Adds a role with a new password; answers its URL.
    pub async fn create_role(&self, name: &str, role: NewRole, by: Option<&str>) -> Result<RoleUrl, EngineError> {
        let admitted = self.admit().await?;
        let spec = self.changeable(name).await?;
        admission::check_new_role(&spec, &role)?;
        let now = Utc::now();
        let extra = ExtraRole {
            name: role.name.clone(),
            access: role.access,
            password: secret(),
            created_at: now,
            created_by: by.map(str::to_string),
            password_set_at: now,
            dropped: false,
        };
        let mut roles: Vec<ExtraRole> = spec.roles.iter().filter(|r| r.name != role.name).cloned().collect();
        roles.push(extra.clone());
        let spec = self.store_roles(spec, roles).await?;
        if let Err(e) = self.apply_roles(&spec).await {
            // Never left half-made: whatever the server got of it is
            // dropped (now, or by the reconciler).
            let roles = spec.roles.iter().map(|r| if r.name == role.name { r.tombstone() } else { r.clone() });
            let spec = self.store_roles(spec.clone(), roles.collect()).await?;
            if let Err(again) = self.apply_roles(&spec).await {
                tracing::warn!(db = name, role = %role.name, error = %again, "could not drop a role not made");
            }
            return Err(e);
        }
        drop(admitted);
        self.noted(name, format!("role {} ({}) was added", role.name, role.access.describe())).await?;
        self.url_as(&spec, &extra).await
    }

    /// A new password for `role`; its open sessions end unless kept.
    pub async fn rotate_role(&self, name: &str, role: &str, keep_sessions: bool) -> Result<RoleUrl, EngineError> {
        let admitted = self.admit().await?;
        let spec = self.changeable(name).await?;
        let password = secret();
        let mut found = None;
        let roles = spec
            .roles
            .iter()
            .map(|r| match r.name == role && !r.dropped {
                true => {
                    let rotated = ExtraRole { password: password.clone(), password_set_at: Utc::now(), ..r.clone() };
                    found = Some(rotated.clone());
                    rotated
                }
                false => r.clone(),
            })
            .collect();
        let extra = found.ok_or_else(|| EngineError::NoSuchRole { name: name.to_string(), role: role.to_string() })?;
        let spec = self.store_roles(spec, roles).await?;
        self.apply_roles(&spec).await.map_err(|e| {
            EngineError::Backend(format!(
                "{role}'s new password is stored; pgfleet applies it when {name} answers: {e}"
            ))
        })?;
        drop(admitted);
        if !keep_sessions {
            self.end_role_sessions(name, role).await;
        }
        self.noted(name, format!("role {role}'s password was rotated")).await?;
        self.url_as(&spec, &extra).await
    }

    /// Removes `role` from the database and every copy that carries it;
    /// its sessions end.
    pub async fn drop_role(&self, name: &str, role: &str) -> Result<(), EngineError> {
        let admitted = self.admit().await?;
        let spec = self.changeable(name).await?;
        if !spec.live_roles().any(|r| r.name == role) {
            return Err(EngineError::NoSuchRole { name: name.to_string(), role: role.to_string() });
        }
        let roles = spec.roles.iter().map(|r| if r.name == role { r.tombstone() } else { r.clone() }).collect();
        let spec = self.store_roles(spec, roles).await?;
        self.apply_roles(&spec).await.map_err(|e| {
            EngineError::Backend(format!("{role} is removed from pgfleet; pgfleet drops it when {name} answers: {e}"))
        })?;
        drop(admitted);
        self.noted(name, format!("role {role} was removed")).await
    }

    /// `name`'s spec if its credentials (owner password, roles) can be
    /// changed now: a primary that is available.
    pub(super) async fn changeable(&self, name: &str) -> Result<Spec, EngineError> {
        let spec = self.spec(name).await?;
        if let Some(source) = spec.follows() {
            return Err(EngineError::FollowerCredentials { name: name.to_string(), of: source.to_string() });
        }
        let phase = self.inner.store.phase_of(name).await?.unwrap_or(Phase::Provisioning);
        if phase != Phase::Available {
            return Err(EngineError::Busy { name: name.to_string(), phase });
        }
        Ok(spec)
    }

    async fn store_roles(&self, spec: Spec, roles: Vec<ExtraRole>) -> Result<Spec, EngineError> {
        self.inner.store.set_roles(&spec.name, &roles).await?;
        Ok(Spec { roles, ..spec })
    }

    async fn apply_roles(&self, spec: &Spec) -> Result<(), EngineError> {
        self.inner.provisioner.set_up_owner(spec).await.map_err(|e| EngineError::Backend(e.to_string()))
    }

    async fn url_as(&self, spec: &Spec, role: &ExtraRole) -> Result<RoleUrl, EngineError> {
        let as_role = Spec { pg_user: role.name.clone(), pg_password: role.password.clone(), ..spec.clone() };
        let url = self
            .inner
            .provisioner
            .connection_url(&as_role)
            .await
            .map_err(|e| EngineError::Backend(format!("cannot read {}'s connection details: {e}", spec.name)))?;
        Ok(RoleUrl { name: role.name.clone(), access: role.access, url })
    }

    /// Ends `role`'s sessions on `name` and the followers carrying it; a
    /// server that cannot be reached is left (the old password no longer
    /// opens new sessions anyway).
    async fn end_role_sessions(&self, name: &str, role: &str) {
        for carrier in self.role_carriers(name).await.unwrap_or_else(|_| vec![name.to_string()]) {
            if let Err(e) = self.end_sessions_of(&carrier, Some(role)).await {
                tracing::warn!(db = %carrier, role, error = %e, "could not end the role's sessions");
            }
        }
    }

    async fn noted(&self, name: &str, message: String) -> Result<(), EngineError> {
        Ok(self.inner.recorder.note(name, EventKind::Roles, message).await?)
    }
}
