//! Desired state: what users asked for, one row per database in the
//! `databases` table. Requests write it; the reconciler reads it and never
//! writes observations here (those live in `database_status`).

use app::model::{ForkPoint, ForkPolicy};
use chrono::{DateTime, Utc};

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
        }
    }
}
