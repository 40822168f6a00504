//! A database's additional roles as people manage them: anyone signed in
//! lists their names, revealing a role's URL follows the credential rule,
//! and adding, rotating or removing one is its owner's or an admin's. All
//! but listing is audited.

use app::model::ApiError;
use app::policy::{check, Action};
use app::roles::{NewRole, RoleUrl, RoleView};

use super::{Actor, Fleet};

impl Fleet {
    pub async fn roles(&self, actor: &Actor, name: &str) -> Result<Vec<RoleView>, ApiError> {
        check(actor.role(), actor.name(), Action::Read)?;
        Ok(self.engine.roles(name).await?)
    }

    pub async fn role_url(&self, actor: &Actor, name: &str, role: &str) -> Result<RoleUrl, ApiError> {
        let result = async {
            let db = self.engine.get(name).await?;
            check(actor.role(), actor.name(), Action::RevealCredentials(&db))?;
            Ok(self.engine.role_url(name, role).await?)
        }
        .await;
        self.audited(actor, "role.reveal", Some(name), Some(format!("role {role}")), result).await
    }

    pub async fn create_role(&self, actor: &Actor, name: &str, role: NewRole) -> Result<RoleUrl, ApiError> {
        let detail = format!("role {} ({})", role.name, role.access.describe());
        let result = async {
            let db = self.engine.get(name).await?;
            check(actor.role(), actor.name(), Action::ManageCredentials(&db))?;
            Ok(self.engine.create_role(name, role, Some(actor.name())).await?)
        }
        .await;
        self.audited(actor, "role.create", Some(name), Some(detail), result).await
    }

    pub async fn rotate_role(
        &self,
        actor: &Actor,
        name: &str,
        role: &str,
        keep_sessions: bool,
    ) -> Result<RoleUrl, ApiError> {
        let result = async {
            let db = self.engine.get(name).await?;
            check(actor.role(), actor.name(), Action::ManageCredentials(&db))?;
            Ok(self.engine.rotate_role(name, role, keep_sessions).await?)
        }
        .await;
        let kept = if keep_sessions { ", sessions kept" } else { "" };
        self.audited(actor, "role.rotate", Some(name), Some(format!("role {role}{kept}")), result).await
    }

    pub async fn drop_role(&self, actor: &Actor, name: &str, role: &str) -> Result<(), ApiError> {
        let result = async {
            let db = self.engine.get(name).await?;
            check(actor.role(), actor.name(), Action::ManageCredentials(&db))?;
            Ok(self.engine.drop_role(name, role).await?)
        }
        .await;
        self.audited(actor, "role.destroy", Some(name), Some(format!("role {role}")), result).await
    }
}
