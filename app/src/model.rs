//! Wire types: what the API, the SSE stream, the CLI and the console
//! exchange. Both builds compile this module, so it holds data only.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::format::{self, Clock};

/// Where a database is in its life. Every change of phase is persisted,
/// logged and published as one event by the control plane.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum Phase {
    /// Asked for; its server is being made (data copied, configured, started).
    Provisioning,
    /// A follower whose server runs and replays its source's WAL, not yet
    /// caught up.
    CatchingUp,
    /// Running and usable; for a follower, caught up and still following.
    Available,
    /// A follower being turned into a standalone, writable database.
    Promoting,
    /// A fork whose data is being masked by its source's rules; nobody has
    /// working credentials for it yet.
    Masking,
    /// Its server stopped (or cannot take connections) and pgfleet is
    /// starting it again, with backoff; `message` says why it is not back.
    Restarting,
    /// Stopped trying; `message` says why in words a person understands.
    Failed,
    /// Being stopped and removed.
    Deleting,
}

impl Phase {
    /// Every phase, in the order a database usually meets them.
    pub const ALL: [Phase; 8] = [
        Phase::Provisioning,
        Phase::CatchingUp,
        Phase::Masking,
        Phase::Available,
        Phase::Promoting,
        Phase::Restarting,
        Phase::Failed,
        Phase::Deleting,
    ];

    /// The stable identifier used in the API, the store and CSS classes.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Provisioning => "provisioning",
            Phase::CatchingUp => "catching_up",
            Phase::Available => "available",
            Phase::Promoting => "promoting",
            Phase::Masking => "masking",
            Phase::Restarting => "restarting",
            Phase::Failed => "failed",
            Phase::Deleting => "deleting",
        }
    }

    /// How a person reads the phase.
    pub fn label(self) -> &'static str {
        match self {
            Phase::Provisioning => "provisioning",
            Phase::CatchingUp => "catching up",
            Phase::Available => "available",
            Phase::Promoting => "promoting",
            Phase::Masking => "masking",
            Phase::Restarting => "down, restarting",
            Phase::Failed => "failed",
            Phase::Deleting => "deleting",
        }
    }

    /// A shape that goes with the words, so colour is never the only signal.
    pub fn symbol(self) -> &'static str {
        match self {
            Phase::Available => "●",
            Phase::Provisioning | Phase::CatchingUp | Phase::Promoting | Phase::Masking => "◐",
            Phase::Restarting => "▲",
            Phase::Failed => "✕",
            Phase::Deleting => "○",
        }
    }

    /// Parses [`Phase::as_str`]'s output.
    pub fn parse(s: &str) -> Option<Phase> {
        crate::named::parse(s)
    }

    /// Whether it is not serving and its message says why (shown as an
    /// error, not a notice).
    pub fn is_down(self) -> bool {
        match self {
            Phase::Restarting | Phase::Failed => true,
            Phase::Provisioning
            | Phase::CatchingUp
            | Phase::Available
            | Phase::Promoting
            | Phase::Masking
            | Phase::Deleting => false,
        }
    }

    /// Whether no more work is expected without a new request.
    pub fn is_settled(self) -> bool {
        match self {
            Phase::Available | Phase::Failed => true,
            Phase::Provisioning
            | Phase::CatchingUp
            | Phase::Promoting
            | Phase::Masking
            | Phase::Restarting
            | Phase::Deleting => false,
        }
    }
}

/// Whether a database takes writes of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum Role {
    Primary,
    Follower,
}

impl Role {
    pub const ALL: [Role; 2] = [Role::Primary, Role::Follower];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Primary => "primary",
            Role::Follower => "follower",
        }
    }
}

/// Bytes copied while a follower or fork is made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Progress {
    /// What the copy is doing, in PostgreSQL's words where it has them.
    pub step: String,
    pub bytes_done: u64,
    /// Unknown until the source has measured itself.
    pub bytes_total: Option<u64>,
    pub eta_seconds: Option<f64>,
    /// What `bytes_done` and `bytes_total` count: bytes, or (while masking)
    /// rows.
    #[serde(default)]
    pub unit: ProgressUnit,
}

/// What a [`Progress`] counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum ProgressUnit {
    #[default]
    Bytes,
    Rows,
}

impl ProgressUnit {
    pub const ALL: [ProgressUnit; 2] = [ProgressUnit::Bytes, ProgressUnit::Rows];

    pub fn as_str(self) -> &'static str {
        match self {
            ProgressUnit::Bytes => "bytes",
            ProgressUnit::Rows => "rows",
        }
    }
}

/// How far a follower is behind its source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Lag {
    pub bytes: u64,
    /// Zero when the follower has replayed all the source wrote, even if the
    /// source has been idle for a long time.
    pub seconds: f64,
}

/// What a probe of the running server saw.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Info {
    pub pg_version: String,
    pub data_size_bytes: u64,
    /// For a clone: the bytes of its data dir it no longer shares with its
    /// source (what it really costs on disk); absent where nothing is shared.
    #[serde(default)]
    pub unshared_bytes: Option<u64>,
    pub tables: u64,
    pub connections: u64,
    pub max_connections: u64,
    #[serde(deserialize_with = "crate::rfc3339::deserialize")]
    pub probed_at: DateTime<Utc>,
}

/// How a follower's or fork's data was copied from its source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum CopyMethod {
    /// Copy-on-write clones of the source's files (seconds at any size).
    Clone,
    /// A full `pg_basebackup` (time grows with the size).
    Basebackup,
}

impl CopyMethod {
    pub const ALL: [CopyMethod; 2] = [CopyMethod::Clone, CopyMethod::Basebackup];

    pub fn as_str(self) -> &'static str {
        match self {
            CopyMethod::Clone => "clone",
            CopyMethod::Basebackup => "basebackup",
        }
    }
}

/// The technique that made a copy, and why that one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CopyTechnique {
    pub method: CopyMethod,
    /// e.g. "ext4 cannot clone files; put the pgfleet home on XFS or btrfs
    /// for instant forks".
    pub why: String,
}

/// One database as the console, API and CLI show it (`pg:info`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DatabaseView {
    pub name: String,
    pub plan: String,
    pub role: Role,
    pub following: Option<String>,
    pub followers: Vec<String>,
    pub forked_from: Option<String>,
    pub phase: Phase,
    pub message: Option<String>,
    pub progress: Option<Progress>,
    pub lag: Option<Lag>,
    pub info: Option<Info>,
    #[serde(deserialize_with = "crate::rfc3339::deserialize")]
    pub created_at: DateTime<Utc>,
    /// Who asked for it (absent for databases made before accounts).
    pub owner: Option<String>,
    /// Only admins destroy or promote it; forks follow `fork_policy`.
    pub protected: bool,
    pub fork_policy: ForkPolicy,
    /// When a member's fork is destroyed unless extended.
    #[serde(default, deserialize_with = "crate::rfc3339::deserialize_option")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Shown on the public status page, embeds and badges.
    pub public: bool,
    /// For a follower or fork: how its data was copied.
    #[serde(default)]
    pub copy: Option<CopyTechnique>,
    /// For a point-in-time fork: the moment it was made as of.
    #[serde(default)]
    pub fork_point: Option<ForkPoint>,
    /// For a primary: the moments a fork can be made as of.
    #[serde(default)]
    pub restore_window: Option<RestoreWindow>,
    /// For a primary: how its WAL archiving and backups stand.
    #[serde(default)]
    pub archiving: Option<Archiving>,
    /// For a promoted follower: whom it followed, until when.
    #[serde(default)]
    pub followed: Option<Followed>,
    /// How many masking rules its forks are masked with (0: none).
    #[serde(default)]
    pub masking_rules: u32,
    /// For a fork of a database with masking rules: masked, or made
    /// unmasked with an admin's leave.
    #[serde(default)]
    pub masking: Option<crate::masking::ForkMasking>,
}

/// A promoted follower's past: its lineage does not end at the promotion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Followed {
    pub source: String,
    /// When its promotion ended the following.
    #[serde(deserialize_with = "crate::rfc3339::deserialize")]
    pub until: DateTime<Utc>,
}

impl Followed {
    /// `"followed amber until 10:02 UTC"`; the date too unless it was on
    /// `today`'s date.
    pub fn describe(&self, now: DateTime<Utc>) -> String {
        let clock = if self.until.date_naive() == now.date_naive() { Clock::Minutes } else { Clock::DateMinutes };
        format!("followed {} until {} UTC", self.source, format::utc(self.until, clock))
    }
}

/// A past moment a fork is made as of.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ForkPoint {
    /// The last commit at or before this time.
    Time(#[serde(deserialize_with = "crate::rfc3339::deserialize")] DateTime<Utc>),
    /// This WAL position (`0/3000060`).
    Lsn(String),
}

impl ForkPoint {
    /// For people: "2026-12-01 10:00:00 UTC" or "LSN 0/3000060".
    pub fn describe(&self) -> String {
        match self {
            ForkPoint::Time(t) => format!("{} UTC", format::utc(*t, Clock::DateSeconds)),
            ForkPoint::Lsn(l) => format!("LSN {l}"),
        }
    }
}

/// From when to when a fork can be made of a primary's past.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RestoreWindow {
    #[serde(deserialize_with = "crate::rfc3339::deserialize")]
    pub from: DateTime<Utc>,
    #[serde(deserialize_with = "crate::rfc3339::deserialize")]
    pub to: DateTime<Utc>,
}

impl RestoreWindow {
    /// "from 2026-12-01 09:12:03 UTC to 2026-12-01 10:00:00 UTC".
    pub fn describe(&self) -> String {
        format!(
            "from {} UTC to {} UTC",
            format::utc(self.from, Clock::DateSeconds),
            format::utc(self.to, Clock::DateSeconds)
        )
    }
}

/// What kind of starting point a backup is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BackupKind {
    /// A full pgBackRest backup in the repository.
    Full,
    /// A copy-on-write clone snapshot on the home's file system.
    Snapshot,
}

impl BackupKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BackupKind::Full => "full",
            BackupKind::Snapshot => "snapshot",
        }
    }
}

/// One backup of a database (`pgfleet backups`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Backup {
    /// pgBackRest's label (`20261201-100929F`) or the snapshot's name.
    pub id: String,
    pub kind: BackupKind,
    pub started_at: DateTime<Utc>,
    /// The first moment a fork can be made from it.
    pub finished_at: DateTime<Utc>,
    /// The database's size when backed up.
    pub size_bytes: u64,
    /// What it takes in the repository (compressed), or the blocks a
    /// snapshot no longer shares.
    pub stored_bytes: u64,
    pub duration_seconds: f64,
}

/// How a primary's continuous archiving and backups stand.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Archiving {
    /// The last WAL segment pgBackRest took.
    pub last_archived_wal: Option<String>,
    #[serde(default, deserialize_with = "crate::rfc3339::deserialize_option")]
    pub last_archived_at: Option<DateTime<Utc>>,
    /// The last failure, while it is newer than the last success.
    pub failing: Option<String>,
    /// WAL segments waiting to be archived.
    pub pending_segments: u64,
    /// Said on the page and in `pgfleet info` when archiving fails or falls
    /// behind; absent when all is well.
    pub warning: Option<String>,
    pub backups: u64,
    #[serde(default, deserialize_with = "crate::rfc3339::deserialize_option")]
    pub last_backup_at: Option<DateTime<Utc>>,
    /// What its backups, snapshots and archived WAL take on disk.
    pub stored_bytes: u64,
}

/// Who may do what with a database, set by admins.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AccessSettings {
    /// Only admins destroy or promote it; members can't follow it or see
    /// its credentials.
    pub protected: bool,
    pub fork_policy: ForkPolicy,
    /// Anyone may see its state on `/status`, embeds and badges.
    pub public: bool,
}

/// Whether members fork a database at once or ask an admin first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum ForkPolicy {
    /// Any member forks at once.
    #[default]
    Open,
    /// A member's fork becomes a fork request an admin decides.
    Approval,
    /// A member's fork is made at once and masked by the database's
    /// masking rules; an unmasked one (or any fork while it has no rules)
    /// is a fork request an admin decides.
    Masked,
}

impl ForkPolicy {
    pub const ALL: [ForkPolicy; 3] = [ForkPolicy::Open, ForkPolicy::Approval, ForkPolicy::Masked];

    pub fn as_str(self) -> &'static str {
        match self {
            ForkPolicy::Open => "open",
            ForkPolicy::Approval => "approval",
            ForkPolicy::Masked => "masked",
        }
    }

    pub fn parse(s: &str) -> Option<ForkPolicy> {
        crate::named::parse(s)
    }
}

/// What an [`Event`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum EventKind {
    /// The database was asked for.
    Created,
    /// Its phase changed.
    Phase,
    /// Bytes copied while it is made.
    Progress,
    /// A follower's lag was measured.
    Lag,
    /// Size, tables, connections were measured.
    Info,
    /// Its server had stopped and was started again.
    Restarted,
    /// It is gone.
    Deleted,
    /// Its protection, fork policy or expiry changed.
    Changed,
    /// It reached the end of its time to live and is being destroyed.
    Expired,
    /// A fork request for it changed state (the payload names no reasons;
    /// clients that may see the request fetch it).
    Request,
    /// A backup was asked for or taken, or archiving started or stopped
    /// falling behind.
    Backup,
    /// A backup failed (it is tried again later).
    BackupFailed,
    /// Its statistics were sampled (the metrics route has the numbers).
    Metrics,
    /// Its owner's password changed: a revealed URL no longer works.
    CredentialsRotated,
    /// Its additional roles changed (added, rotated or removed).
    Roles,
}

impl EventKind {
    pub const ALL: [EventKind; 15] = [
        EventKind::Created,
        EventKind::Phase,
        EventKind::Progress,
        EventKind::Lag,
        EventKind::Info,
        EventKind::Restarted,
        EventKind::Deleted,
        EventKind::Changed,
        EventKind::Expired,
        EventKind::Request,
        EventKind::Backup,
        EventKind::BackupFailed,
        EventKind::Metrics,
        EventKind::CredentialsRotated,
        EventKind::Roles,
    ];

    /// The SSE event name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Created => "created",
            EventKind::Phase => "phase",
            EventKind::Progress => "progress",
            EventKind::Lag => "lag",
            EventKind::Info => "info",
            EventKind::Restarted => "restarted",
            EventKind::Deleted => "deleted",
            EventKind::Changed => "changed",
            EventKind::Expired => "expired",
            EventKind::Request => "request",
            EventKind::Backup => "backup",
            EventKind::BackupFailed => "backup_failed",
            EventKind::Metrics => "metrics",
            EventKind::CredentialsRotated => "credentials_rotated",
            EventKind::Roles => "roles",
        }
    }
}

/// The answer to rotating a database's credentials.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Rotated {
    /// The connection URL with the new password.
    pub url: String,
    /// The owner's sessions that were ended (none with `keep_sessions`).
    pub ended_sessions: u64,
    /// Followers that carry the database's roles, whose URLs changed too.
    pub followers: Vec<String>,
    /// When it was done, after its `credentials_rotated` events: a console
    /// that rotated knows those events for its own.
    pub at: chrono::DateTime<chrono::Utc>,
}

/// One change, as published on the event bus and streamed to clients.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Event {
    /// Monotonic across the life of a pgfleet home (restarts included).
    pub id: i64,
    pub database: String,
    pub kind: EventKind,
    #[serde(deserialize_with = "crate::rfc3339::deserialize")]
    pub at: DateTime<Utc>,
    /// Words for people, e.g. why a database failed or was restarted.
    pub message: Option<String>,
    /// The database after the change (absent once deleted).
    pub view: Option<DatabaseView>,
}

/// A request to create, follow or fork: the body of
/// `POST /api/v1/databases` and what the console sends.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewDatabase {
    /// `[a-z][a-z0-9-]{0,62}`; a free colour name when absent.
    pub name: Option<String>,
    /// `mini` (default), `standard` or `premium`.
    pub plan: Option<String>,
    /// Make a follower of this database.
    pub follow: Option<String>,
    /// Make a fork of this database.
    pub fork: Option<String>,
    /// With `fork`: fork it as it was at this moment (RFC 3339), inside its
    /// restore window.
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
    /// With `fork`: fork it as it was at this WAL position (`0/3000060`).
    #[serde(default)]
    pub at_lsn: Option<String>,
    /// With `fork` of a database that has masking rules: make it unmasked,
    /// and why (admins only; members ask with an unmasked fork request).
    #[serde(default)]
    pub unmasked_reason: Option<String>,
}

impl NewDatabase {
    /// The moment asked for, if any: `at` or `at_lsn`, not both, and only
    /// with `fork`.
    pub fn fork_point(&self) -> Result<Option<ForkPoint>, String> {
        let point = ForkPoint::from_parts(self.at, self.at_lsn.as_deref())?;
        if point.is_some() && self.fork.is_none() {
            return Err("at and at_lsn go with fork: only a fork is made as of a past moment".into());
        }
        Ok(point)
    }
}

/// `POST /api/v1/databases/{name}/reset`: make a fork again from its
/// source, as it is now or as it was at `at` or `at_lsn` (inside the
/// source's restore window), keeping its name, port and passwords.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub at_lsn: Option<String>,
}

impl ResetRequest {
    /// The moment asked for, if any.
    pub fn fork_point(&self) -> Result<Option<ForkPoint>, String> {
        ForkPoint::from_parts(self.at, self.at_lsn.as_deref())
    }
}

impl ForkPoint {
    /// A moment given as a time or a WAL position, not both; `None` for
    /// neither (now).
    pub fn from_parts(at: Option<DateTime<Utc>>, at_lsn: Option<&str>) -> Result<Option<ForkPoint>, String> {
        match (at, at_lsn) {
            (Some(_), Some(_)) => Err("give at or at_lsn, not both".into()),
            (Some(t), None) => Ok(Some(ForkPoint::Time(t))),
            (None, Some(lsn)) => {
                parse_lsn(lsn).ok_or_else(|| format!("at_lsn {lsn:?} is not a WAL position like 0/3000060"))?;
                Ok(Some(ForkPoint::Lsn(lsn.trim().to_uppercase())))
            }
            (None, None) => Ok(None),
        }
    }
}

/// `0/3000060` as a number; `None` unless it is two hex numbers of at most
/// 8 digits each.
pub fn parse_lsn(text: &str) -> Option<u64> {
    let (hi, lo) = text.trim().split_once('/')?;
    let ok = |p: &str| !p.is_empty() && p.len() <= 8 && p.chars().all(|c| c.is_ascii_hexdigit());
    if !ok(hi) || !ok(lo) {
        return None;
    }
    Some((u64::from_str_radix(hi, 16).ok()? << 32) | u64::from_str_radix(lo, 16).ok()?)
}

/// The answer of `GET /healthz`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Health {
    /// `ok`, or `degraded` when the store fails, a loop is restarting or a
    /// row cannot be read.
    pub status: String,
    pub version: String,
    pub uptime_seconds: u64,
    pub metadata_store: String,
    /// Whether this server runs the background work (one of the servers
    /// sharing a store does; the others stand by).
    #[serde(default)]
    pub leader: bool,
    /// Every background loop and what it is doing.
    #[serde(default)]
    pub loops: Vec<LoopHealth>,
    /// Rows of the metadata store that cannot be read (`spec/NAME`), with
    /// why; everything else goes on without them.
    #[serde(default)]
    pub unreadable_rows: Vec<UnreadableRow>,
}

/// One background loop, as the supervisor sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LoopHealth {
    pub name: String,
    pub state: LoopState,
    /// How often it had to be started again.
    pub restarts: u32,
    /// Why it last stopped (a panic's message, say).
    pub last_failure: Option<String>,
    /// When it entered its state.
    pub since: DateTime<Utc>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LoopState {
    Running,
    /// It runs only on the server that leads, and this one does not.
    Standby,
    /// It stopped unexpectedly and waits out its backoff.
    Restarting,
    /// pgfleet is shutting down.
    Stopped,
}

/// A store row that cannot be decoded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UnreadableRow {
    pub row: String,
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phase_strings_round_trip_and_match_serde() {
        for p in Phase::ALL {
            assert_eq!(Phase::parse(p.as_str()), Some(p));
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(json, format!("\"{}\"", p.as_str()));
        }
        assert_eq!(Phase::parse("nope"), None);
    }
}

/// The kinds of failure a client can tell apart. The HTTP status follows
/// from the kind; the message is safe to show to anyone allowed to ask.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum ErrorCode {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    Unprocessable,
    /// The body is larger than the API takes.
    PayloadTooLarge,
    /// The body is not JSON.
    UnsupportedMediaType,
    TooManyRequests,
    Unavailable,
    Internal,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 12] = [
        ErrorCode::BadRequest,
        ErrorCode::Unauthorized,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::Conflict,
        ErrorCode::Unprocessable,
        ErrorCode::PayloadTooLarge,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::TooManyRequests,
        ErrorCode::Unavailable,
        ErrorCode::Internal,
    ];

    /// Its name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::Conflict => "conflict",
            ErrorCode::Unprocessable => "unprocessable",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::TooManyRequests => "too_many_requests",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
        }
    }

    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::BadRequest => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::Conflict => 409,
            ErrorCode::Unprocessable => 422,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::TooManyRequests => 429,
            ErrorCode::Unavailable => 503,
            ErrorCode::Internal => 500,
        }
    }
}

/// The one error type clients see. Internal details are logged by the
/// server, never put in `message`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[error("{message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError { code, message: message.into() }
    }
}

crate::named::read_by_name!(Phase, Role, ProgressUnit, CopyMethod, ForkPolicy, EventKind, ErrorCode);
