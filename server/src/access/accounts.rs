//! Accounts and how people prove who they are: the first admin, invited
//! users, sign-in with rate limiting, console sessions, API tokens, and the
//! admin-only reads (users, settings, audit log).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use app::accounts::{AuditEntry, Invitation, Me, NewToken, Settings, TokenView, UserRole, UserView};
use app::limits;
use app::model::{ApiError, ErrorCode};
use app::policy::{check, Action};
use chrono::{Duration, Utc};
use rand::distr::{Alphanumeric, SampleString};

use super::{forbidden, passwords, store_error, Actor, Fleet, Principal};
use crate::store::users::UserRow;
use crate::store::{Store, StoreError};

pub const ADMIN_TOKEN_FILE: &str = "admin-token";
pub const ADMIN_PASSWORD_FILE: &str = "admin-password";
/// The first admin's name.
pub const FIRST_ADMIN: &str = "admin";
/// How long a console session lasts.
pub const SESSION_HOURS: i64 = 12;

/// A new console session: the cookie's secret and its CSRF token.
pub struct Session {
    pub secret: String,
    pub csrf: String,
    pub principal: Principal,
}

/// Why a session cookie did not sign anyone in.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("your session has expired; sign in again")]
    Expired,
    #[error("you are not signed in")]
    Unknown,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// On first start: the first admin (password in `<home>/admin-password`)
/// and their API token (in `<home>/admin-token`), both mode 0600. Tokens
/// made before accounts existed become that admin's. Decided in the
/// store's turn: servers starting at once on an empty shared store make
/// one admin, not a failed start.
pub async fn ensure_first_admin(store: &Store, home: &Path) -> Result<(), StoreError> {
    let _turn = store.admission_turn().await?;
    if store.user_count().await? == 0 {
        let password = passwords::one_time();
        let hash = passwords::hash(password.clone())
            .await
            .map_err(|e| StoreError::Corrupt(format!("cannot hash a password: {e}")))?;
        write_private(home, ADMIN_PASSWORD_FILE, &password)?;
        let admin = store.add_user(FIRST_ADMIN, UserRole::Admin, &hash).await?;
        let adopted = store.adopt_orphan_tokens(admin.id).await?;
        tracing::info!(
            user = FIRST_ADMIN,
            password_file = %home.join(ADMIN_PASSWORD_FILE).display(),
            adopted_tokens = adopted,
            "created the first admin; sign in with the one-time password in that file"
        );
    }
    if store.token_count().await? == 0 {
        let admin = store.user(FIRST_ADMIN).await?;
        let token = new_token_secret();
        write_private(home, ADMIN_TOKEN_FILE, &token)?;
        store.add_token("admin", &token, admin.map(|a| a.id)).await?;
        tracing::info!(path = %home.join(ADMIN_TOKEN_FILE).display(), "created the admin API token");
    }
    Ok(())
}

fn write_private(home: &Path, file: &str, secret: &str) -> Result<(), StoreError> {
    let path = home.join(file);
    let write = || -> std::io::Result<()> {
        std::fs::write(&path, format!("{secret}\n"))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
    };
    write().map_err(|source| StoreError::Home { path: path.clone(), source })
}

fn new_token_secret() -> String {
    format!("pgf_{}", Alphanumeric.sample_string(&mut rand::rng(), 40))
}

fn principal(user: &UserRow) -> Principal {
    Principal {
        id: user.id,
        name: user.view.name.clone(),
        role: user.view.role,
        must_change_password: user.view.must_change_password,
    }
}

/// Adds a user with a one-time password (for `pgfleet user add` and the
/// console's invitations).
pub async fn add_user(store: &Store, name: &str, role: UserRole) -> Result<Invitation, ApiError> {
    app::names::validate(name).map_err(|e| ApiError::new(ErrorCode::BadRequest, format!("invalid user name: {e}")))?;
    if store.user(name).await.map_err(store_error)?.is_some() {
        return Err(ApiError::new(ErrorCode::Conflict, format!("there is already a user named {name}")));
    }
    let password = passwords::one_time();
    let hash = passwords::hash_for_api(password.clone()).await?;
    let user = store.add_user(name, role, &hash).await.map_err(store_error)?;
    Ok(Invitation { user: user.view, one_time_password: password })
}

/// A new one-time password for `name`; their sessions end.
pub async fn reset_password(store: &Store, name: &str) -> Result<String, ApiError> {
    let user = store
        .user(name)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("there is no user named {name}")))?;
    let password = passwords::one_time();
    let hash = passwords::hash_for_api(password.clone()).await?;
    store.set_password(name, &hash, true).await.map_err(store_error)?;
    store.end_sessions_of(user.id).await.map_err(store_error)?;
    Ok(password)
}

impl Fleet {
    /// Checks a password and opens a session.
    pub async fn sign_in(&self, name: &str, password: &str, address: Option<String>) -> Result<Session, ApiError> {
        // Per client address only: a limit per user name would let one
        // anonymous client lock that user out from everywhere.
        let keys = [format!("address:{}", address.as_deref().unwrap_or("unknown"))];
        if let Some(wait) = self.limiter.locked_for(&keys) {
            let minutes = wait.as_secs().div_ceil(60).max(1);
            self.audit(name, "session.sign_in", None, address, "denied", Some("rate limited".into())).await;
            return Err(ApiError::new(
                ErrorCode::TooManyRequests,
                format!("too many failed sign-ins; try again in {minutes} minute(s)"),
            ));
        }
        let user = self.store.user(name).await.map_err(store_error)?;
        let matches = match &user {
            Some(u) => passwords::verify(password.to_string(), u.password_hash.clone()).await,
            // Spend the same time on unknown names, so they can't be told apart.
            None => {
                passwords::verify(password.to_string(), DUMMY_HASH.to_string()).await;
                false
            }
        };
        let Some(user) = user.filter(|_| matches) else {
            self.limiter.failed(&keys);
            self.audit(name, "session.sign_in", None, address, "denied", Some("wrong name or password".into())).await;
            return Err(ApiError::new(ErrorCode::Unauthorized, "wrong name or password"));
        };
        // Success does not clear the address's failures: a client that knows
        // one password could otherwise reset its count between guesses.
        let session = Session {
            secret: Alphanumeric.sample_string(&mut rand::rng(), 43),
            csrf: Alphanumeric.sample_string(&mut rand::rng(), 32),
            principal: principal(&user),
        };
        let expires = Utc::now() + Duration::hours(SESSION_HOURS);
        self.store
            .add_session(&session.secret, user.id, &session.csrf, address.as_deref(), expires)
            .await
            .map_err(store_error)?;
        self.audit(name, "session.sign_in", None, address, "ok", None).await;
        Ok(session)
    }

    pub async fn sign_out(&self, actor: &Actor, secret: &str) -> Result<(), ApiError> {
        let result = self.store.end_session(secret).await.map_err(store_error);
        self.audited(actor, "session.sign_out", None, None, result).await
    }

    /// The user and CSRF token a session cookie stands for.
    pub async fn session(&self, secret: &str) -> Result<(Principal, String), SessionError> {
        let session = self.store.session(secret).await?.ok_or(SessionError::Unknown)?;
        if session.expires_at <= Utc::now() {
            return Err(SessionError::Expired);
        }
        let user = self.store.user_by_id(session.user_id).await?.ok_or(SessionError::Unknown)?;
        Ok((principal(&user), session.csrf))
    }

    /// The user a bearer token stands for, if it is live.
    pub async fn token_principal(&self, token: &str) -> Result<Option<Principal>, StoreError> {
        let Some(user_id) = self.store.check_token(token).await? else { return Ok(None) };
        Ok(self.store.user_by_id(user_id).await?.as_ref().map(principal))
    }

    pub fn me(&self, actor: &Actor) -> Me {
        Me {
            name: actor.principal.name.clone(),
            role: actor.principal.role,
            must_change_password: actor.principal.must_change_password,
        }
    }

    /// Replaces the caller's password (after a one-time one, or any time).
    pub async fn change_password(&self, actor: &Actor, current: &str, new: &str) -> Result<(), ApiError> {
        let result = async {
            let user = self
                .store
                .user(actor.name())
                .await
                .map_err(store_error)?
                .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "your account is gone"))?;
            if !passwords::verify(current.to_string(), user.password_hash.clone()).await {
                return Err(forbidden("the current password is not right"));
            }
            if let Some(why) = passwords::weakness(new, actor.name()) {
                return Err(ApiError::new(ErrorCode::BadRequest, why));
            }
            if new == current {
                return Err(ApiError::new(ErrorCode::BadRequest, "choose a password other than the one-time one"));
            }
            let hash = passwords::hash_for_api(new.to_string()).await?;
            self.store.set_password(actor.name(), &hash, false).await.map_err(store_error)
        }
        .await;
        self.audited(actor, "user.change_password", None, None, result).await
    }

    pub async fn users(&self, actor: &Actor) -> Result<Vec<UserView>, ApiError> {
        check(actor.role(), actor.name(), Action::Administer)?;
        self.store.users().await.map_err(store_error)
    }

    pub async fn invite(&self, actor: &Actor, name: &str, role: UserRole) -> Result<Invitation, ApiError> {
        let result = match check(actor.role(), actor.name(), Action::Administer) {
            Ok(()) => add_user(&self.store, name, role).await,
            Err(e) => Err(e),
        };
        self.audited(actor, "user.add", None, Some(format!("{name} as {}", role.as_str())), result).await
    }

    pub async fn set_role(&self, actor: &Actor, name: &str, role: UserRole) -> Result<UserView, ApiError> {
        let result = async {
            check(actor.role(), actor.name(), Action::Administer)?;
            let user = self
                .store
                .user(name)
                .await
                .map_err(store_error)?
                .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("there is no user named {name}")))?;
            if user.view.role == UserRole::Admin
                && role != UserRole::Admin
                && self.store.admin_count().await.map_err(store_error)? <= 1
            {
                return Err(ApiError::new(
                    ErrorCode::Conflict,
                    format!("{name} is the last admin; make another admin first"),
                ));
            }
            self.store.set_role(name, role).await.map_err(store_error)?;
            // Sessions carry no role, but end them so the change is felt at once.
            self.store.end_sessions_of(user.id).await.map_err(store_error)?;
            Ok(UserView { role, ..user.view })
        }
        .await;
        self.audited(actor, "user.set_role", None, Some(format!("{name} to {}", role.as_str())), result).await
    }

    /// The caller's tokens; admins see everyone's.
    pub async fn tokens(&self, actor: &Actor) -> Result<Vec<TokenView>, ApiError> {
        let owner = match actor.role() {
            UserRole::Admin => None,
            UserRole::Member | UserRole::Viewer => Some(actor.name()),
        };
        self.store.tokens(owner).await.map_err(store_error)
    }

    /// A new token for the caller, shown once. Viewers get read-only ones.
    pub async fn create_token(&self, actor: &Actor, name: &str) -> Result<NewToken, ApiError> {
        let result = async {
            let name = name.trim();
            if name.is_empty() || name.len() > 100 {
                return Err(ApiError::new(ErrorCode::BadRequest, "give the token a name of 1-100 characters"));
            }
            let token = new_token_secret();
            let view = self.store.add_token(name, &token, Some(actor.principal.id)).await.map_err(store_error)?;
            Ok(NewToken { view, token })
        }
        .await;
        self.audited(actor, "token.create", None, Some(name.to_string()), result).await
    }

    pub async fn revoke_token(&self, actor: &Actor, id: i64) -> Result<(), ApiError> {
        let result = async {
            let token = self
                .store
                .token(id)
                .await
                .map_err(store_error)?
                .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("there is no token {id}")))?;
            let own = token.owner.as_deref() == Some(actor.name());
            if !own {
                check(actor.role(), actor.name(), Action::Administer)
                    .map_err(|_| ApiError::new(ErrorCode::NotFound, format!("there is no token {id}")))?;
            }
            self.store.revoke_token(id).await.map_err(store_error)
        }
        .await;
        self.audited(actor, "token.revoke", None, Some(format!("token {id}")), result).await
    }

    pub async fn audit_log(&self, actor: &Actor, database: Option<&str>) -> Result<Vec<AuditEntry>, ApiError> {
        check(actor.role(), actor.name(), Action::Administer)?;
        self.store.audit(500, database).await.map_err(store_error)
    }

    pub async fn settings(&self) -> Result<Settings, ApiError> {
        self.store.settings().await.map_err(store_error)
    }

    pub async fn put_settings(&self, actor: &Actor, settings: Settings) -> Result<Settings, ApiError> {
        let detail = format!(
            "default TTL {} s, max TTL {} s, quota {}",
            settings.fork_ttl_default_seconds, settings.fork_ttl_max_seconds, settings.member_fork_quota
        );
        let result = async {
            check(actor.role(), actor.name(), Action::Administer)?;
            let s = &settings;
            let max = limits::MAX_LIFETIME_SECONDS;
            limits::in_range("fork_ttl_max_seconds", s.fork_ttl_max_seconds, limits::MIN_DEFAULT_TTL_SECONDS, max)?;
            limits::in_range(
                "fork_ttl_default_seconds",
                s.fork_ttl_default_seconds,
                limits::MIN_DEFAULT_TTL_SECONDS,
                s.fork_ttl_max_seconds,
            )?;
            limits::in_range("member_fork_quota", s.member_fork_quota, 0, limits::MAX_FORK_QUOTA)?;
            self.store.put_settings(s).await.map_err(store_error)?;
            Ok(settings.clone())
        }
        .await;
        self.audited(actor, "settings.update", None, Some(detail), result).await
    }
}

/// An argon2 hash of a random password nobody knows, verified against when
/// a sign-in names no user.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Pdo2Wz0Wk9mX5xJm1D8bR8m3cJ0kq1Q8E1w9Q2m5s3Y";
