//! Admission: the one place where a request that takes a name (of a
//! database or of one of its roles) or counts against a quota is decided. Everything here runs while
//! holding the engine's one admission lock and, when several servers share
//! a PostgreSQL store, the store's turn ([`crate::store::turns`]), so two
//! concurrent requests can never both take the last place in a quota, the
//! same name or the same port, whether they are direct creates or fork
//! requests, on one server or two. The caller reads the specs
//! once, under the turn, and hands them to each check.

use std::ops::RangeInclusive;

use tokio::sync::MutexGuard;

use super::error::EngineError;
use super::spec::{Desired, Origin, Spec};
use crate::store::turns::StoreTurn;
use crate::store::Store;

/// An idempotency key, scoped to whoever sent it: another caller's key of
/// the same text is another key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey {
    pub caller: String,
    pub key: String,
}

/// The caller that keys what pgfleet asks of itself (an approved fork
/// request's fork).
pub const SYSTEM_CALLER: &str = "pgfleet";

/// How far in the future a moment may be before it counts as the future
/// (clocks of client and server differ a little).
const CLOCK_SLACK_SECONDS: i64 = 2;

/// Whether a fork of `source` can be made as of `point`, given its restore
/// window now.
pub fn check_fork_point(
    source: &str,
    point: &app::model::ForkPoint,
    window: Option<&app::model::RestoreWindow>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), EngineError> {
    use app::model::ForkPoint;
    let slack = chrono::Duration::seconds(CLOCK_SLACK_SECONDS);
    if let ForkPoint::Time(t) = point {
        if *t > now + slack {
            return Err(EngineError::InTheFuture { point: point.describe() });
        }
    }
    let Some(window) = window else { return Err(EngineError::NoRestoreWindow { name: source.to_string() }) };
    match point {
        ForkPoint::Time(t) if *t < window.from || *t > window.to.max(now) + slack => Err(EngineError::OutsideWindow {
            name: source.to_string(),
            point: point.describe(),
            window: window.describe(),
        }),
        // A position is checked against the backups when the fork is made.
        ForkPoint::Time(_) | ForkPoint::Lsn(_) => Ok(()),
    }
}

/// A turn at admission, this server's and the store's (when servers share
/// it); drop it to let the next request in.
pub struct Admission<'a> {
    _store_turn: Option<StoreTurn>,
    _turn: MutexGuard<'a, ()>,
    store: &'a Store,
}

impl<'a> Admission<'a> {
    /// Takes the store's turn once this server's is held: every server
    /// takes the two in the same order.
    pub(super) async fn new(turn: MutexGuard<'a, ()>, store: &'a Store) -> Result<Admission<'a>, EngineError> {
        let store_turn = store.admission_turn().await?;
        Ok(Admission { _store_turn: store_turn, _turn: turn, store })
    }

    /// Every spec, read under this turn.
    pub async fn specs(&self) -> Result<Vec<Spec>, EngineError> {
        Ok(self.store.specs().await?)
    }

    /// `wanted`, if valid and free, or the first free colour name. A name
    /// is taken by a database, or held by an open fork request (other than
    /// `for_request`, the request whose fork this is).
    pub async fn name(
        &self,
        specs: &[Spec],
        wanted: Option<&str>,
        for_request: Option<i64>,
    ) -> Result<String, EngineError> {
        let held: Vec<(String, i64)> = self
            .store
            .fork_requests(None)
            .await?
            .into_iter()
            .filter(|r| r.state.is_open() && Some(r.id) != for_request)
            .map(|r| (r.name, r.id))
            .collect();
        match wanted {
            Some(name) => {
                app::names::validate(name)?;
                if specs.iter().any(|s| s.name == name) {
                    return Err(EngineError::NameTaken(name.to_string()));
                }
                if let Some((_, request)) = held.iter().find(|(n, _)| n == name) {
                    return Err(EngineError::NameHeld { name: name.to_string(), request: *request });
                }
                Ok(name.to_string())
            }
            None => {
                Ok(app::names::free_name(|n| specs.iter().any(|s| s.name == n) || held.iter().any(|(h, _)| h == n)))
            }
        }
    }

    /// The first port of `range` no database has and nothing on this
    /// machine listens on.
    pub fn free_port(&self, specs: &[Spec], range: &RangeInclusive<u16>) -> Result<u16, EngineError> {
        for port in range.clone() {
            if specs.iter().any(|s| s.port == port) {
                continue;
            }
            if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
                return Ok(port);
            }
        }
        Err(EngineError::NoFreePort(*range.start(), *range.end()))
    }

    /// Refuses when `member` already has `quota` forks: forks they own
    /// that are not being deleted, plus requests not yet made into forks.
    pub async fn check_fork_quota(&self, specs: &[Spec], member: &str, quota: i64) -> Result<(), EngineError> {
        let owned: Vec<&str> = specs
            .iter()
            .filter(|s| s.origin == Origin::Fork && s.desired == Desired::Running && s.owner.as_deref() == Some(member))
            .map(|s| s.name.as_str())
            .collect();
        let waiting = self
            .store
            .fork_requests(Some(member))
            .await?
            .into_iter()
            .filter(|r| r.state.is_open() && !owned.contains(&r.name.as_str()))
            .count();
        let have = owned.len() as i64 + waiting as i64;
        if have >= quota {
            return Err(EngineError::QuotaReached { have, quota });
        }
        Ok(())
    }
}

/// Whether `db` can take a new role `role`: a valid name that is not its
/// owner's nor one of its roles', within [`app::roles::MAX_ROLES`].
pub fn check_new_role(db: &Spec, role: &app::roles::NewRole) -> Result<(), EngineError> {
    app::roles::validate_name(&role.name).map_err(|e| EngineError::Invalid(e.message))?;
    if role.name == db.pg_user || db.live_roles().any(|r| r.name == role.name) {
        return Err(EngineError::RoleExists { name: db.name.clone(), role: role.name.clone() });
    }
    if db.live_roles().count() >= app::roles::MAX_ROLES {
        return Err(EngineError::TooManyRoles { name: db.name.clone(), max: app::roles::MAX_ROLES });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use app::model::{ForkPoint, RestoreWindow};
    use chrono::{Duration, Utc};

    use super::*;

    #[test]
    fn fork_points_must_be_past_and_inside_the_window() {
        let now = Utc::now();
        let window = RestoreWindow { from: now - Duration::hours(2), to: now };
        let at = |d: Duration| ForkPoint::Time(now + d);
        assert!(check_fork_point("prod", &at(-Duration::hours(1)), Some(&window), now).is_ok());
        assert!(check_fork_point("prod", &ForkPoint::Lsn("0/3000060".into()), Some(&window), now).is_ok());
        let early = check_fork_point("prod", &at(-Duration::hours(3)), Some(&window), now).unwrap_err();
        assert!(matches!(early, EngineError::OutsideWindow { .. }));
        assert!(early.to_string().contains(&window.describe()), "{early}");
        let future = check_fork_point("prod", &at(Duration::minutes(1)), Some(&window), now).unwrap_err();
        assert!(matches!(future, EngineError::InTheFuture { .. }), "{future}");
        // A client's clock a second ahead is not the future.
        assert!(check_fork_point("prod", &at(Duration::seconds(1)), Some(&window), now).is_ok());
        let none = check_fork_point("prod", &at(-Duration::minutes(1)), None, now).unwrap_err();
        assert!(matches!(none, EngineError::NoRestoreWindow { .. }), "{none}");
    }

    #[test]
    fn a_new_role_needs_a_free_valid_name_and_room() {
        use crate::engine::spec::{ExtraRole, Origin};
        use app::roles::{NewRole, RoleAccess, MAX_ROLES};
        let mut db = Spec::example("amber", "dev", Origin::Empty, None);
        let new = |name: &str| NewRole { name: name.into(), access: RoleAccess::ReadOnly };
        let role = |name: &str, dropped: bool| ExtraRole {
            name: name.into(),
            access: RoleAccess::ReadOnly,
            password: "p".into(),
            created_at: chrono::Utc::now(),
            created_by: None,
            password_set_at: chrono::Utc::now(),
            dropped,
        };
        assert!(check_new_role(&db, &new("analyst")).is_ok());
        assert!(matches!(check_new_role(&db, &new("u_app")), Err(EngineError::RoleExists { .. })));
        assert!(matches!(check_new_role(&db, &new("pg_x")), Err(EngineError::Invalid(_))));
        db.roles.push(role("analyst", false));
        db.roles.push(role("gone", true));
        assert!(matches!(check_new_role(&db, &new("analyst")), Err(EngineError::RoleExists { .. })));
        assert!(check_new_role(&db, &new("gone")).is_ok(), "a dropped role's name is free again");
        db.roles.extend((1..MAX_ROLES).map(|i| role(&format!("r{i}"), false)));
        assert!(matches!(check_new_role(&db, &new("one_more")), Err(EngineError::TooManyRoles { max: MAX_ROLES, .. })));
    }
}
