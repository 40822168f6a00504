//! Desired state: what users asked for, one row per database in the
//! `databases` table. Requests write it; the reconciler reads it and never
//! writes observations here (those live in `database_status`).

use app::model::{ForkPoint, ForkPolicy};
use app::roles::RoleAccess;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How a database's data is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A fresh, empty database.
    Empty,
    /// A streaming replica of `source`.
    Follow,
    /// A copy of `source` as it was at one moment.
    Fork,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Empty => "empty",
            Origin::Follow => "follow",
            Origin::Fork => "fork",
        }
    }

    pub fn parse(s: &str) -> Option<Origin> {
        match s {
            "empty" => Some(Origin::Empty),
            "follow" => Some(Origin::Follow),
            "fork" => Some(Origin::Fork),
            _ => None,
        }
    }
}

/// Whether the database should exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Desired {
    Running,
    Deleted,
}

impl Desired {
    pub fn as_str(self) -> &'static str {
        match self {
            Desired::Running => "running",
            Desired::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Option<Desired> {
        match s {
            "running" => Some(Desired::Running),
            "deleted" => Some(Desired::Deleted),
            _ => None,
        }
    }
}

/// One database's spec.
#[derive(Clone, Debug, PartialEq)]
pub struct Spec {
    pub name: String,
    pub plan: String,
    pub origin: Origin,
    /// The database followed or forked.
    pub source: Option<String>,
    pub port: u16,
    /// The owner role and its database inside the server.
    pub pg_user: String,
    pub pg_password: String,
    pub pg_database: String,
    /// The password of the role followers stream as.
    pub replication_password: String,
    pub desired: Desired,
    /// With `Desired::Deleted`: followers go too.
    pub take_followers: bool,
    /// A follower asked to become a standalone primary.
    pub promote: bool,
    pub created_at: DateTime<Utc>,
    /// The user who asked for it.
    pub owner: Option<String>,
    pub protected: bool,
    pub fork_policy: ForkPolicy,
    /// When the expiry sweep destroys it.
    pub expires_at: Option<DateTime<Utc>>,
    /// Shown on the public status surfaces.
    pub public: bool,
    /// For a fork: the past moment it is made as of (`None`: now).
    pub fork_point: Option<ForkPoint>,
    /// A backup taken after this is wanted (`POST …/backups`).
    pub backup_wanted_at: Option<DateTime<Utc>>,
    /// Its additional login roles, destroyed ones included.
    pub roles: Vec<ExtraRole>,
    /// How many resets from its source were asked for; data made for an
    /// older one (`database_status.made_generation`) is stale.
    pub reset_generation: i64,
    /// For a fork of a database with masking rules: made unmasked, and
    /// why (an admin's leave). `None`: masked by its source's rules.
    pub unmasked_reason: Option<String>,
}

/// An additional login role a database should have, or, once `dropped`,
/// should no longer have. A dropped role stays listed so that every
/// server carrying the database's roles (a fork made before the drop, a
/// promoted follower) drops it too; a new role of the same name replaces
/// it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExtraRole {
    pub name: String,
    pub access: RoleAccess,
    pub password: String,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<String>,
    pub password_set_at: DateTime<Utc>,
    #[serde(default)]
    pub dropped: bool,
}

impl ExtraRole {
    /// What a copy of a database (a fork, a promoted follower) inherits of
    /// its source's role: the name only, to drop, since the copied role
    /// still opens with the source's password.
    pub fn tombstone(&self) -> ExtraRole {
        ExtraRole { dropped: true, password: String::new(), ..self.clone() }
    }

    pub fn view(&self) -> app::roles::RoleView {
        app::roles::RoleView {
            name: self.name.clone(),
            access: self.access,
            created_at: self.created_at,
            created_by: self.created_by.clone(),
            password_set_at: self.password_set_at,
        }
    }
}

impl Spec {
    /// Whether the database should be streaming from its source now.
    pub fn follows(&self) -> Option<&str> {
        match (self.origin, self.promote) {
            (Origin::Follow, false) => self.source.as_deref(),
            _ => None,
        }
    }

    /// Whether it is a primary of its own: it archives WAL, has backups and
    /// a restore window.
    pub fn is_primary(&self) -> bool {
        self.follows().is_none()
    }

    /// The roles it has (not the dropped ones).
    pub fn live_roles(&self) -> impl Iterator<Item = &ExtraRole> {
        self.roles.iter().filter(|r| !r.dropped)
    }

    /// Tombstones for every role `source` has or had: what a copy of it
    /// must drop.
    pub fn inherited_tombstones(source: &Spec) -> Vec<ExtraRole> {
        source.roles.iter().map(ExtraRole::tombstone).collect()
    }
}

#[cfg(test)]
impl Spec {
    /// A running database on `plan` for unit tests, with made-up
    /// credentials.
    pub(crate) fn example(name: &str, plan: &str, origin: Origin, source: Option<&str>) -> Spec {
        Spec {
            name: name.into(),
            plan: plan.into(),
            origin,
            source: source.map(str::to_string),
            port: 15432,
            pg_user: "u_app".into(),
            pg_password: "secret".into(),
            pg_database: "app".into(),
            replication_password: "replicate".into(),
            desired: Desired::Running,
            take_followers: false,
            promote: false,
            created_at: Utc::now(),
            owner: None,
            protected: false,
            fork_policy: ForkPolicy::Open,
            expires_at: None,
            public: false,
            fork_point: None,
            backup_wanted_at: None,
            roles: Vec::new(),
            reset_generation: 0,
            unmasked_reason: None,
        }
    }
}
