//! Desired state rows (`databases`): written by requests, read by the
//! reconciler.

use app::model::AccessSettings;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Store, StoreError};
use crate::engine::spec::{Desired, ExtraRole, Origin, Spec};

const COLUMNS: &str = "name, plan, origin, source, port, pg_user, pg_password, pg_database, \
                       replication_password, desired, take_followers, promote, created_at, owner, protected, \
                       fork_policy, expires_at, public, fork_point_json, backup_wanted_at, roles_json, reset_generation, \
                       unmasked_reason";

impl Store {
    /// Inserts a new spec with its first status (`provisioning`) in one
    /// transaction. Fails with a unique violation on a taken name or port.
    pub async fn insert_spec(&self, spec: &Spec) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO databases (name, plan, origin, source, port, pg_user, pg_password, pg_database, \
             replication_password, desired, take_followers, promote, created_at, owner, \
             protected, fork_policy, expires_at, fork_point_json, roles_json, unmasked_reason) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
        )
        .bind(&spec.name)
        .bind(&spec.plan)
        .bind(spec.origin.as_str())
        .bind(&spec.source)
        .bind(spec.port as i64)
        .bind(&spec.pg_user)
        .bind(&spec.pg_password)
        .bind(&spec.pg_database)
        .bind(&spec.replication_password)
        .bind(spec.desired.as_str())
        .bind(spec.take_followers)
        .bind(spec.promote)
        .bind(spec.created_at.to_rfc3339())
        .bind(&spec.owner)
        .bind(spec.protected)
        .bind(spec.fork_policy.as_str())
        .bind(spec.expires_at.map(|t| t.to_rfc3339()))
        .bind(spec.fork_point.as_ref().map(|p| serde_json::to_string(p).expect("fork points serialise")))
        .bind(roles_json(&spec.roles))
        .bind(&spec.unmasked_reason)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO database_status (name, phase, following, updated_at) VALUES ($1, 'provisioning', $2, $3)",
        )
        .bind(&spec.name)
        .bind(spec.follows())
        .bind(Utc::now().to_rfc3339())
        .execute(&mut *tx)
        .await?;
        super::history::append(&mut *tx, &spec.name, app::model::Phase::Provisioning).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn spec(&self, name: &str) -> Result<Option<Spec>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM databases WHERE name = $1"))
            .bind(name)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(|row| self.readable("spec", row, spec_from_row(row))).transpose()
    }

    /// Every spec that can be read. A row that cannot is left out (and
    /// reported through [`Store::unreadable`]), so one broken row never
    /// stops the reconciler or a list for every other database.
    pub async fn specs(&self) -> Result<Vec<Spec>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM databases ORDER BY created_at, name"))
            .fetch_all(self.pool())
            .await?;
        Ok(rows.iter().filter_map(|row| self.readable("spec", row, spec_from_row(row)).ok()).collect())
    }

    pub async fn used_ports(&self) -> Result<Vec<u16>, StoreError> {
        let ports: Vec<i64> = sqlx::query_scalar("SELECT port FROM databases").fetch_all(self.pool()).await?;
        Ok(ports.into_iter().map(|p| p as u16).collect())
    }

    /// Marks databases for deletion (one request may take followers too).
    pub async fn request_deletion(&self, names: &[String], take_followers: bool) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        for name in names {
            sqlx::query("UPDATE databases SET desired = 'deleted', take_followers = $1 WHERE name = $2")
                .bind(take_followers)
                .bind(name)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Asks for `name` to be promoted with passwords of its own (so it
    /// no longer opens its source), the access rules it had while
    /// following, which become its own, and its source's roles to drop.
    pub async fn request_promotion(
        &self,
        name: &str,
        pg_password: &str,
        replication_password: &str,
        access: AccessSettings,
        roles: &[ExtraRole],
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE databases SET promote = TRUE, pg_password = $1, replication_password = $2, protected = $3, \
             fork_policy = $4, roles_json = $5 WHERE name = $6",
        )
        .bind(pg_password)
        .bind(replication_password)
        .bind(access.protected)
        .bind(access.fork_policy.as_str())
        .bind(roles_json(roles))
        .bind(name)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Sets who may do what with it.
    pub async fn set_access(&self, name: &str, access: AccessSettings) -> Result<(), StoreError> {
        sqlx::query("UPDATE databases SET protected = $1, fork_policy = $2, public = $3 WHERE name = $4")
            .bind(access.protected)
            .bind(access.fork_policy.as_str())
            .bind(access.public)
            .bind(name)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Gives the owner role of `names` (a database and the followers that
    /// carry its roles) a new password, all at once.
    pub async fn set_owner_password(&self, names: &[String], password: &str) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        for name in names {
            sqlx::query("UPDATE databases SET pg_password = $1 WHERE name = $2")
                .bind(password)
                .bind(name)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Asks for fork `name` to be made again from its source as of `point`
    /// (`None`: now), with `roles` (its own and its source's to drop).
    pub async fn request_reset(
        &self,
        name: &str,
        point: Option<&app::model::ForkPoint>,
        roles: &[ExtraRole],
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE databases SET fork_point_json = $1, roles_json = $2, reset_generation = reset_generation + 1 \
             WHERE name = $3",
        )
        .bind(point.map(|p| serde_json::to_string(p).expect("fork points serialise")))
        .bind(roles_json(roles))
        .bind(name)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Sets `name`'s additional roles (all of them, dropped ones included).
    pub async fn set_roles(&self, name: &str, roles: &[ExtraRole]) -> Result<(), StoreError> {
        sqlx::query("UPDATE databases SET roles_json = $1 WHERE name = $2")
            .bind(roles_json(roles))
            .bind(name)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Moves a database that never served anyone to another port.
    pub async fn set_port(&self, name: &str, port: u16) -> Result<(), StoreError> {
        sqlx::query("UPDATE databases SET port = $1 WHERE name = $2")
            .bind(port as i64)
            .bind(name)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn set_expiry(&self, name: &str, at: Option<DateTime<Utc>>) -> Result<(), StoreError> {
        sqlx::query("UPDATE databases SET expires_at = $1 WHERE name = $2")
            .bind(at.map(|t| t.to_rfc3339()))
            .bind(name)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Asks for a backup newer than `at`.
    pub async fn want_backup(&self, name: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query("UPDATE databases SET backup_wanted_at = $1 WHERE name = $2")
            .bind(at.to_rfc3339())
            .bind(name)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Forgets a database whose files are gone (its status goes with it).
    pub async fn delete_spec(&self, name: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM databases WHERE name = $1").bind(name).execute(self.pool()).await?;
        Ok(())
    }
}

fn roles_json(roles: &[ExtraRole]) -> Option<String> {
    (!roles.is_empty()).then(|| serde_json::to_string(roles).expect("roles serialise"))
}

fn spec_from_row(row: &sqlx::any::AnyRow) -> Result<Spec, StoreError> {
    let name: String = row.try_get("name")?;
    let origin: String = row.try_get("origin")?;
    let desired: String = row.try_get("desired")?;
    let created_at: String = row.try_get("created_at")?;
    let port: i64 = row.try_get("port")?;
    Ok(Spec {
        owner: row.try_get("owner")?,
        public: super::flag(row, "public")?,
        protected: super::flag(row, "protected")?,
        fork_policy: super::fork_policy_column(row, &name)?,
        expires_at: super::optional_time(row, &name, "expires_at")?,
        backup_wanted_at: super::optional_time(row, &name, "backup_wanted_at")?,
        fork_point: row
            .try_get::<Option<String>, _>("fork_point_json")?
            .map(|t| serde_json::from_str(&t).map_err(|e| StoreError::Corrupt(format!("{name}.fork_point: {e}"))))
            .transpose()?,
        origin: Origin::parse(&origin).ok_or_else(|| StoreError::Corrupt(format!("{name}: origin {origin:?}")))?,
        desired: Desired::parse(&desired).ok_or_else(|| StoreError::Corrupt(format!("{name}: desired {desired:?}")))?,
        plan: row.try_get("plan")?,
        source: row.try_get("source")?,
        port: u16::try_from(port).map_err(|_| StoreError::Corrupt(format!("{name}: port {port}")))?,
        pg_user: row.try_get("pg_user")?,
        pg_password: row.try_get("pg_password")?,
        pg_database: row.try_get("pg_database")?,
        replication_password: row.try_get("replication_password")?,
        reset_generation: row.try_get("reset_generation")?,
        unmasked_reason: row.try_get("unmasked_reason")?,
        roles: row
            .try_get::<Option<String>, _>("roles_json")?
            .map(|t| serde_json::from_str(&t).map_err(|e| StoreError::Corrupt(format!("{name}.roles: {e}"))))
            .transpose()?
            .unwrap_or_default(),
        take_followers: super::flag(row, "take_followers")?,
        promote: super::flag(row, "promote")?,
        created_at: DateTime::parse_from_rfc3339(&created_at)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| StoreError::Corrupt(format!("{name}.created_at: {e}")))?,
        name,
    })
}
