//! Wire types of accounts, tokens, fork requests, settings and the audit
//! log: what the API and the console exchange about people and the guard
//! rails admins set.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a person may do. See [`crate::policy`] for the rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum UserRole {
    /// Everything, including accounts, protection and approvals.
    Admin,
    /// Creates databases; forks and follows; promotes and destroys their own.
    Member,
    /// Reads; never sees credentials.
    Viewer,
}

impl UserRole {
    pub const ALL: [UserRole; 3] = [UserRole::Admin, UserRole::Member, UserRole::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            UserRole::Admin => "admin",
            UserRole::Member => "member",
            UserRole::Viewer => "viewer",
        }
    }

    pub fn parse(s: &str) -> Option<UserRole> {
        crate::named::parse(s)
    }
}

/// The signed-in person, as the console shows them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Me {
    pub name: String,
    pub role: UserRole,
    /// Signed in with a one-time password: must choose one first.
    pub must_change_password: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UserView {
    pub name: String,
    pub role: UserRole,
    pub must_change_password: bool,
    pub created_at: DateTime<Utc>,
}

/// A new account and the one-time password to hand its owner.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Invitation {
    pub user: UserView,
    pub one_time_password: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TokenView {
    pub id: i64,
    pub name: String,
    pub owner: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A token, shown once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NewToken {
    pub view: TokenView,
    pub token: String,
}

/// Where a fork request is. pending → approved | rejected; approved →
/// provisioning → available → expired; `failed` and `destroyed` end a
/// request whose fork failed or was destroyed before its time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    /// Waiting for an admin.
    Pending,
    /// Approved; the fork is about to be asked for.
    Approved,
    /// An admin said no, with a reason.
    Rejected,
    /// The fork is being made.
    Provisioning,
    /// The fork is usable.
    Available,
    /// The fork reached its time to live and was destroyed.
    Expired,
    /// The fork could not be made.
    Failed,
    /// The fork was destroyed before it expired.
    Destroyed,
}

impl RequestState {
    pub const ALL: [RequestState; 8] = [
        RequestState::Pending,
        RequestState::Approved,
        RequestState::Rejected,
        RequestState::Provisioning,
        RequestState::Available,
        RequestState::Expired,
        RequestState::Failed,
        RequestState::Destroyed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::Pending => "pending",
            RequestState::Approved => "approved",
            RequestState::Rejected => "rejected",
            RequestState::Provisioning => "provisioning",
            RequestState::Available => "available",
            RequestState::Expired => "expired",
            RequestState::Failed => "failed",
            RequestState::Destroyed => "destroyed",
        }
    }

    pub fn parse(s: &str) -> Option<RequestState> {
        RequestState::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Whether the request still counts against its requester's quota.
    pub fn is_open(self) -> bool {
        match self {
            RequestState::Pending | RequestState::Approved | RequestState::Provisioning | RequestState::Available => {
                true
            }
            RequestState::Rejected | RequestState::Expired | RequestState::Failed | RequestState::Destroyed => false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ForkRequestView {
    pub id: i64,
    pub requester: String,
    pub source: String,
    /// The fork's name, reserved when the request is made.
    pub name: String,
    pub reason: String,
    pub ttl_seconds: i64,
    pub state: RequestState,
    pub decided_by: Option<String>,
    pub decision_reason: Option<String>,
    /// Why it failed, in words.
    pub message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    /// The past moment the fork is to be made as of (`None`: when approved).
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
    /// An unmasked fork of a database with masking rules (`reason` says
    /// why); it is marked unmasked everywhere.
    #[serde(default)]
    pub unmasked: bool,
}

/// What a member asks for.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewForkRequest {
    pub source: String,
    /// A free colour name when absent.
    pub name: Option<String>,
    pub reason: String,
    /// The admin's default when absent; at most the admin's maximum.
    pub ttl_seconds: Option<i64>,
    /// Fork the source as it was at this moment (inside its restore window).
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
    /// Without its masking rules (always an admin's decision; `reason`
    /// says why).
    #[serde(default)]
    pub unmasked: bool,
}

/// The guard rails admins set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// How long a member's fork lives unless extended.
    pub fork_ttl_default_seconds: i64,
    /// The longest a member's fork may be set to live, from now.
    pub fork_ttl_max_seconds: i64,
    /// How many forks one member may have at once (requests included).
    pub member_fork_quota: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { fork_ttl_default_seconds: 72 * 3600, fork_ttl_max_seconds: 7 * 24 * 3600, member_fork_quota: 3 }
    }
}

/// One audited action.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// A user's name, or `pgfleet` for what the server did on its own.
    pub actor: String,
    /// e.g. `database.create`, `credentials.reveal`, `request.approve`.
    pub action: String,
    pub database: Option<String>,
    pub address: Option<String>,
    /// `ok`, `denied` or `failed`.
    pub outcome: String,
    pub detail: Option<String>,
}

crate::named::read_by_name!(UserRole);
