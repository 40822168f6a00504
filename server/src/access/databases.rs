//! Database actions as people take them: each checks [`app::policy`],
//! applies members' guard rails (fork quota and time to live), asks the
//! engine and is audited.

use app::accounts::UserRole;
use app::limits;
use app::model::{AccessSettings, ApiError, DatabaseView, ErrorCode, ForkPolicy};
use app::policy::{check, fork_needs_approval, Action};
use chrono::{Duration, Utc};

use super::{Actor, Fleet};
use crate::engine::CreateRequest;

impl Fleet {
    pub async fn list(&self, actor: &Actor) -> Result<Vec<DatabaseView>, ApiError> {
        check(actor.role(), actor.name(), Action::Read)?;
        Ok(self.engine.list().await?)
    }

    pub async fn get(&self, actor: &Actor, name: &str) -> Result<DatabaseView, ApiError> {
        check(actor.role(), actor.name(), Action::Read)?;
        Ok(self.engine.get(name).await?)
    }

    /// A database, follower or fork, owned by the caller. A member's fork
    /// expires at the admins' default time to live.
    pub async fn create(&self, actor: &Actor, mut req: CreateRequest) -> Result<DatabaseView, ApiError> {
        let (action, source) = match (&req.follow, &req.fork) {
            (Some(s), None) => ("database.follow", Some(s.clone())),
            (None, Some(s)) => ("database.fork", Some(s.clone())),
            _ => ("database.create", None),
        };
        let req_unmasked = req.unmasked_reason.clone();
        let result = async {
            check(actor.role(), actor.name(), Action::Create)?;
            // An unknown source is the engine's error to give.
            let source_view = match &source {
                Some(s) => self.engine.get(s).await.ok(),
                None => None,
            };
            if let Some(src) = &source_view {
                if req.follow.is_some() {
                    check(actor.role(), actor.name(), Action::Follow(src))?;
                } else {
                    check(actor.role(), actor.name(), Action::Fork(src))?;
                    let unmasked = req.unmasked_reason.is_some();
                    if fork_needs_approval(actor.role(), src, unmasked) {
                        let what = if unmasked {
                            format!("an unmasked fork of {} needs an admin's approval", src.name)
                        } else if src.fork_policy == ForkPolicy::Masked {
                            format!(
                                "{} has no masking rules yet, so its fork would not be masked and needs an admin's \
                                 approval",
                                src.name
                            )
                        } else {
                            format!("forks of {} need an admin's approval", src.name)
                        };
                        let how = if unmasked { " with unmasked: true" } else { "" };
                        return Err(ApiError::new(
                            ErrorCode::Forbidden,
                            format!("{what}: ask with Request fork in the console or POST /api/v1/fork-requests{how}"),
                        ));
                    }
                    if actor.role() != UserRole::Admin {
                        let settings = self.settings().await?;
                        // Counted by the engine's admission, under its lock.
                        req.fork_quota = Some(settings.member_fork_quota);
                        let ttl = settings.fork_ttl_default_seconds;
                        req.expires_at =
                            Some(limits::later(Utc::now(), limits::lifetime("the default time to live", ttl)?)?);
                    }
                }
            }
            req.owner = Some(actor.name().to_string());
            // A key is the caller's own, whoever built the request.
            if let Some(key) = req.idempotency.as_mut() {
                key.caller = actor.name().to_string();
            }
            Ok(self.engine.create(req).await?)
        }
        .await;
        let name = result.as_ref().ok().map(|v| v.name.clone());
        let detail = source.as_ref().map(|s| match &req_unmasked {
            Some(reason) => format!("of {s}, unmasked, because: {reason}"),
            None => format!("of {s}"),
        });
        self.audited(actor, action, name.as_deref().or(source.as_deref()), detail, result).await
    }

    pub async fn promote(&self, actor: &Actor, name: &str) -> Result<DatabaseView, ApiError> {
        let result = async {
            let db = self.engine.get(name).await?;
            check(actor.role(), actor.name(), Action::Promote(&db))?;
            Ok(self.engine.promote(name).await?)
        }
        .await;
        self.audited(actor, "database.promote", Some(name), None, result).await
    }

    pub async fn retry(&self, actor: &Actor, name: &str) -> Result<DatabaseView, ApiError> {
        let result = async {
            let db = self.engine.get(name).await?;
            check(actor.role(), actor.name(), Action::Retry(&db))?;
            Ok(self.engine.retry(name).await?)
        }
        .await;
        self.audited(actor, "database.retry", Some(name), None, result).await
    }

    /// Makes a fork again from its source (its owner's, or an admin's).
    pub async fn reset(
        &self,
        actor: &Actor,
        name: &str,
        point: Option<app::model::ForkPoint>,
    ) -> Result<DatabaseView, ApiError> {
        let detail = point.as_ref().map(|p| format!("as of {}", p.describe()));
        let result = async {
            let db = self.engine.get(name).await?;
            check(actor.role(), actor.name(), Action::Reset(&db))?;
            Ok(self.engine.reset(name, point).await?)
        }
        .await;
        self.audited(actor, "database.reset", Some(name), detail, result).await
    }

    pub async fn destroy(&self, actor: &Actor, name: &str, take_followers: bool) -> Result<(), ApiError> {
        let result = async {
            let db = self.engine.get(name).await?;
            check(actor.role(), actor.name(), Action::Destroy(&db))?;
            if take_followers {
                for follower in &db.followers {
                    let f = self.engine.get(follower).await?;
                    check(actor.role(), actor.name(), Action::Destroy(&f))?;
                }
            }
            Ok(self.engine.destroy(name, take_followers).await?)
        }
        .await;
        let detail = take_followers.then(|| "with its followers".to_string());
        self.audited(actor, "database.destroy", Some(name), detail, result).await
    }

    /// Measurements over time: anyone signed in reads them, as they read
    /// the list (no query text or credentials are in them).
    pub async fn metrics(
        &self,
        actor: &Actor,
        name: &str,
        query: &app::metrics::MetricsQuery,
    ) -> Result<app::metrics::Metrics, ApiError> {
        check(actor.role(), actor.name(), Action::Read)?;
        let window = query.window(Utc::now())?;
        Ok(self.engine.metrics(name, window).await?)
    }

    pub async fn backups(&self, actor: &Actor, name: &str) -> Result<Vec<app::model::Backup>, ApiError> {
        check(actor.role(), actor.name(), Action::Read)?;
        Ok(self.engine.backups(name).await?)
    }

    /// A full backup now.
    pub async fn capture_backup(&self, actor: &Actor, name: &str) -> Result<DatabaseView, ApiError> {
        let result = async {
            let db = self.engine.get(name).await?;
            check(actor.role(), actor.name(), Action::Backup(&db))?;
            Ok(self.engine.capture_backup(name).await?)
        }
        .await;
        self.audited(actor, "database.backup", Some(name), None, result).await
    }

    /// The connection URL; every reveal is audited.
    pub async fn credentials(&self, actor: &Actor, name: &str) -> Result<String, ApiError> {
        let result = async {
            let db = self.engine.get(name).await?;
            check(actor.role(), actor.name(), Action::RevealCredentials(&db))?;
            Ok(self.engine.credentials(name).await?)
        }
        .await;
        self.audited(actor, "credentials.reveal", Some(name), None, result).await
    }

    /// A new owner password (the owner's or an admin's; audited).
    pub async fn rotate_credentials(
        &self,
        actor: &Actor,
        name: &str,
        keep_sessions: bool,
    ) -> Result<app::model::Rotated, ApiError> {
        let result = async {
            let db = self.engine.get(name).await?;
            check(actor.role(), actor.name(), Action::ManageCredentials(&db))?;
            Ok(self.engine.rotate_credentials(name, keep_sessions).await?)
        }
        .await;
        let detail = keep_sessions.then(|| "sessions kept".to_string());
        self.audited(actor, "credentials.rotate", Some(name), detail, result).await
    }

    /// Protection, fork policy and public status (admins only).
    pub async fn set_access(
        &self,
        actor: &Actor,
        name: &str,
        access: AccessSettings,
    ) -> Result<DatabaseView, ApiError> {
        let detail = format!(
            "protected={}, fork policy {}, public={}",
            access.protected,
            access.fork_policy.as_str(),
            access.public
        );
        let result = async {
            check(actor.role(), actor.name(), Action::Administer)?;
            Ok(self.engine.set_access(name, access).await?)
        }
        .await;
        self.audited(actor, "database.protect", Some(name), Some(detail), result).await
    }

    /// Pushes an expiring database's end `seconds` later; members may not
    /// push it past the admins' maximum from now.
    pub async fn extend(&self, actor: &Actor, name: &str, seconds: i64) -> Result<DatabaseView, ApiError> {
        let result = async {
            let db = self.engine.get(name).await?;
            check(actor.role(), actor.name(), Action::Extend(&db))?;
            let Some(expires_at) = db.expires_at else {
                return Err(ApiError::new(ErrorCode::Conflict, format!("{name} does not expire")));
            };
            let by = limits::lifetime("seconds", seconds)?;
            let new = limits::later(expires_at.max(Utc::now()), by)?;
            if actor.role() != UserRole::Admin {
                let max = self.settings().await?.fork_ttl_max_seconds;
                let limit = limits::later(Utc::now(), Duration::seconds(max))?;
                if new > limit {
                    return Err(ApiError::new(
                        ErrorCode::Unprocessable,
                        format!(
                            "forks may live at most {} from now; that would end {}",
                            app::format::span(max),
                            new.format("%Y-%m-%d %H:%M UTC")
                        ),
                    ));
                }
            }
            Ok(self.engine.set_expiry(name, Some(new)).await?)
        }
        .await;
        self.audited(actor, "database.extend", Some(name), Some(format!("by {seconds} s")), result).await
    }
}
