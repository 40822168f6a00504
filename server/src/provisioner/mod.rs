//! Provisioner backends: what makes, runs and removes PostgreSQL servers.
//!
//! The reconciler speaks only to the [`Provisioner`] trait, so a backend for
//! another platform (e.g. CloudNativePG clusters on Kubernetes) can be added
//! without touching it. Every method is idempotent: the reconciler may call
//! it again after a crash of pgfleet at any point.

use app::model::{Archiving, Backup, BackupKind, Info, Lag, Progress, RestoreWindow};

use crate::engine::spec::Spec;

pub mod kubernetes;
pub mod local;
pub mod probe;

/// Why a provisioner step failed. Messages are for people; they end up as a
/// database's `message` when it fails.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("{tool} failed: {reason}")]
    Tool { tool: &'static str, reason: String },
    #[error("the server did not start: {0}")]
    Start(String),
    /// Another process listens on the database's port.
    #[error("port {port} is taken{}; the server cannot listen on it", holder.as_ref().map(|h| format!(" by {h}")).unwrap_or_default())]
    PortTaken { port: u16, holder: Option<String> },
    #[error("cannot reach the server: {0}")]
    Connect(String),
    #[error("{0}")]
    Sql(String),
    #[error("file system: {0}")]
    Io(String),
    #[error("{0}")]
    Invalid(String),
    /// The Kubernetes API refused or could not be reached.
    #[error("Kubernetes: {0}")]
    Kubernetes(String),
}

impl From<std::io::Error> for ProvisionError {
    fn from(e: std::io::Error) -> Self {
        ProvisionError::Io(e.to_string())
    }
}

/// Receives progress while a copy runs.
pub trait ProgressSink: Send + Sync {
    fn progress(&self, progress: Progress);
}

/// What a follower's server reports about following.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplicaState {
    pub in_recovery: bool,
    pub lag: Option<Lag>,
}

/// How a fork's recovery stands (see [`Provisioner::recovery`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Recovery {
    /// Still replaying WAL; how far, where the backend can tell.
    Replaying(Option<Progress>),
    /// Recovered and promoted: it takes writes.
    Done,
    /// The server stopped during recovery, and why (in words for people).
    Stopped(String),
}

/// A loop a backend needs beside the engine's (e.g. a watch); the engine
/// runs it under its supervisor, which restarts it if it ends.
pub struct Background {
    pub name: &'static str,
    pub run: RunLoop,
}

/// Makes one run of a loop, given the stop signal it ends on.
pub type RunLoop =
    std::sync::Arc<dyn Fn(tokio::sync::watch::Receiver<bool>) -> futures::future::BoxFuture<'static, ()> + Send + Sync>;

/// A platform that runs PostgreSQL servers for pgfleet.
#[async_trait::async_trait]
pub trait Provisioner: Send + Sync + 'static {
    /// Gets ready to make databases quickly (e.g. a template data dir).
    async fn prepare(&self) -> Result<(), ProvisionError>;
    /// Why this backend cannot carry `name`, a name pgfleet otherwise
    /// accepts (e.g. Kubernetes' shorter limit), if it cannot.
    fn unfit_name(&self, _name: &str) -> Option<String> {
        None
    }
    /// The loop this backend needs running, if any.
    fn background(&self) -> Option<Background> {
        None
    }

    /// Whether `db`'s data exists completely (a half-made copy does not count).
    async fn is_made(&self, db: &Spec) -> Result<bool, ProvisionError>;
    /// Makes an empty database's data.
    async fn make_empty(&self, db: &Spec) -> Result<(), ProvisionError>;
    /// How a copy of `source` would be made here now, and why; the make
    /// methods below use the same choice.
    async fn copy_technique(&self, source: &Spec) -> app::model::CopyTechnique;
    /// Makes a follower of `source`: a streaming replica with its own slot.
    async fn make_follower(&self, db: &Spec, source: &Spec, sink: &dyn ProgressSink) -> Result<(), ProvisionError>;
    /// Makes a fork of `source`: a consistent copy of it as it is now, or,
    /// with `db.fork_point`, as it was then (inside
    /// [`Provisioner::restore_window`]). Once started it recovers and
    /// promotes itself; [`Provisioner::recovery`] says how far it is.
    async fn make_fork(&self, db: &Spec, source: &Spec, sink: &dyn ProgressSink) -> Result<(), ProvisionError>;
    /// Removes whatever a failed or interrupted make left behind.
    async fn discard_partial(&self, db: &Spec) -> Result<(), ProvisionError>;

    /// Whether `db`'s server process runs.
    async fn is_running(&self, db: &Spec) -> Result<bool, ProvisionError>;
    /// Starts `db`'s server if it is not running; waits until it accepts
    /// connections. A follower needs its `source` to know where to stream
    /// from.
    async fn start(&self, db: &Spec, source: Option<&Spec>) -> Result<(), ProvisionError>;
    /// Stops `db`'s server if it runs.
    async fn stop(&self, db: &Spec) -> Result<(), ProvisionError>;
    /// Stops `db`'s server for good, before [`Provisioner::remove`]: what a
    /// clean stop would still write (its last WAL, archived) is deleted
    /// with it, so a backend may skip it.
    async fn stop_for_removal(&self, db: &Spec) -> Result<(), ProvisionError> {
        self.stop(db).await
    }
    /// Removes all of `db`'s files. Only called for a database being deleted.
    async fn remove(&self, db: &Spec) -> Result<(), ProvisionError>;

    /// Creates (or, for a fork, re-keys) the owner role and database and
    /// makes its additional roles match `db.roles` (dropped ones gone), so
    /// the generated credentials work and no one else's do. Idempotent; a
    /// follower takes all of this from its source.
    async fn set_up_owner(&self, db: &Spec) -> Result<(), ProvisionError>;
    /// Why this backend cannot mask a fork's data, if it cannot (masking
    /// needs the superuser in the fork: triggers are off while a table is
    /// rewritten).
    fn cannot_mask(&self) -> Option<String> {
        None
    }
    /// After a fork's tables were masked and rewritten: closes the WAL it
    /// wrote so far (which holds the original values, in full-page images
    /// and in the WAL replayed from its source) and checkpoints, so nothing
    /// after that needs it. A backend that can also delete those segments
    /// does (the local one does); otherwise PostgreSQL recycles them.
    async fn forget_unmasked_wal(&self, db: &Spec) -> Result<(), ProvisionError> {
        let mut conn = self.connect(db).await?;
        probe::close_wal(&mut conn).await.map(|_| ())
    }
    /// Ends recovery on a follower or fork, making it writable.
    async fn promote(&self, db: &Spec) -> Result<(), ProvisionError>;
    /// Whether a made follower can resume streaming from `source` where it
    /// stopped (what it needs there was kept); if not, it is copied again.
    async fn can_resume_follower(&self, db: &Spec, source: &Spec) -> Result<bool, ProvisionError>;
    /// Lets go of what a follower holds on `source` (it was promoted,
    /// failed or is gone), so the source keeps no WAL for it.
    async fn release_follower(&self, db: &Spec, source: &Spec) -> Result<(), ProvisionError>;
    /// Lets go of what `source` holds for followers other than `followers`
    /// (left by a crash, or by a release that could not reach it).
    async fn sweep_followers(&self, source: &Spec, followers: &[&Spec]) -> Result<(), ProvisionError>;

    /// How a started fork's recovery stands.
    async fn recovery(&self, db: &Spec) -> Recovery;

    /// Makes sure a primary's WAL is archived and it can be backed up
    /// (idempotent; needs its server running).
    async fn ensure_archiving(&self, db: &Spec) -> Result<(), ProvisionError>;
    /// How its archiving stands, with `backups` (as [`Provisioner::backups`]
    /// listed them) counted in.
    async fn archiving(&self, db: &Spec, backups: &[Backup]) -> Result<Archiving, ProvisionError>;
    /// Its backups (and snapshots), oldest first.
    async fn backups(&self, db: &Spec) -> Result<Vec<Backup>, ProvisionError>;
    /// The kinds of backup this backend can take, the durable kind first.
    fn backup_kinds(&self) -> Vec<BackupKind>;
    /// Takes a backup of the running primary now.
    async fn take_backup(&self, db: &Spec, kind: BackupKind, sink: &dyn ProgressSink) -> Result<(), ProvisionError>;
    /// Removes backups older than `keep` that the backend itself keeps
    /// (pgBackRest expires its own); answers whether it removed any.
    async fn expire(&self, db: &Spec, keep: chrono::Duration) -> Result<bool, ProvisionError>;
    /// The moments a fork of `db` can be made as of, now.
    async fn restore_window(&self, db: &Spec) -> Result<Option<RestoreWindow>, ProvisionError> {
        let backups = self.backups(db).await?;
        // Unreachable, it archives nothing: the window ends at its backups.
        let archiving = self.archiving(db, &backups).await.ok();
        Ok(restore_window(&backups, archiving.as_ref(), chrono::Utc::now()))
    }

    /// Recovery state and lag of `db` behind `source`.
    async fn replica_state(&self, db: &Spec, source: Option<&Spec>) -> Result<ReplicaState, ProvisionError>;
    /// Version, size, tables and connections.
    async fn info(&self, db: &Spec) -> Result<Info, ProvisionError>;
    /// A connection to `db`'s own database with the most privilege pgfleet
    /// holds there (the superuser where it has one, else the owner role),
    /// for the insights that read statistics and end sessions.
    async fn connect(&self, db: &Spec) -> Result<sqlx::postgres::PgConnection, ProvisionError>;
    /// The URL a client connects with (async: another backend may read it
    /// from elsewhere, e.g. a Kubernetes Secret).
    async fn connection_url(&self, db: &Spec) -> Result<String, ProvisionError>;
    /// The last lines of the server's log, to explain a failure.
    async fn log_tail(&self, db: &Spec) -> String;
}

/// The moments a primary can be forked as of: from its oldest backup's end
/// to now while its archiving works (a fork closes and archives the
/// current segment itself), else to its last archived segment, and never
/// short of its newest backup. `archiving` is `None` when its server
/// cannot be asked (it archives nothing then).
pub fn restore_window(
    backups: &[Backup],
    archiving: Option<&Archiving>,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<RestoreWindow> {
    let from = backups.iter().map(|b| b.finished_at).min()?;
    let newest = backups.iter().map(|b| b.finished_at).max().unwrap_or(from);
    let to = match archiving {
        Some(a) if a.failing.is_none() => now,
        Some(a) => a.last_archived_at.unwrap_or(newest).max(newest),
        None => newest,
    };
    Some(RestoreWindow { from, to })
}

/// The slot a follower uses on its source.
pub fn slot_name(follower: &str) -> String {
    short_identifier("pgfleet_", &follower.replace('-', "_"))
}

/// The longest identifier PostgreSQL keeps whole (NAMEDATALEN - 1).
pub const MAX_IDENTIFIER: usize = 63;

/// `prefix` + `name` when that fits in [`MAX_IDENTIFIER`] bytes (so every
/// identifier made before this rule stays what it was); otherwise `prefix`,
/// the start of `name` and 8 hex digits of its SHA-256, which still fits
/// and still tells names apart.
pub fn short_identifier(prefix: &str, name: &str) -> String {
    let whole = format!("{prefix}{name}");
    if whole.len() <= MAX_IDENTIFIER {
        return whole;
    }
    let hash = &crate::digest::sha256_hex(name.as_bytes())[..8];
    let keep = MAX_IDENTIFIER.saturating_sub(prefix.len() + 1 + hash.len());
    let start: String = name.chars().take(keep).collect();
    format!("{prefix}{start}_{hash}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_runs_from_the_oldest_backup_to_what_is_archived() {
        let now = chrono::Utc::now();
        let at = |m: i64| now - chrono::Duration::minutes(m);
        let backup = |m: i64| Backup {
            id: m.to_string(),
            kind: BackupKind::Full,
            started_at: at(m),
            finished_at: at(m),
            size_bytes: 1,
            stored_bytes: 1,
            duration_seconds: 0.0,
        };
        let archiving = |failing: Option<&str>, last: Option<i64>| Archiving {
            last_archived_wal: None,
            last_archived_at: last.map(at),
            failing: failing.map(str::to_string),
            pending_segments: 0,
            warning: None,
            backups: 2,
            last_backup_at: None,
            stored_bytes: 0,
        };
        let backups = [backup(60), backup(30)];
        assert_eq!(restore_window(&[], None, now), None, "no backup, no window");
        let healthy = restore_window(&backups, Some(&archiving(None, Some(1))), now).unwrap();
        assert_eq!((healthy.from, healthy.to), (at(60), now));
        let failing = restore_window(&backups, Some(&archiving(Some("denied"), Some(10))), now).unwrap();
        assert_eq!(failing.to, at(10), "to the last archived segment");
        let stale = restore_window(&backups, Some(&archiving(Some("denied"), Some(45))), now).unwrap();
        assert_eq!(stale.to, at(30), "never short of the newest backup");
        assert_eq!(restore_window(&backups, None, now).unwrap().to, at(30), "down: its backups");
    }

    #[test]
    fn identifiers_fit_and_stay_apart() {
        assert_eq!(slot_name("amber-2"), "pgfleet_amber_2", "short names keep the slot they always had");
        let long_a = format!("a{}", "b".repeat(62));
        let long_b = format!("a{}c", "b".repeat(61));
        let (a, b) = (slot_name(&long_a), slot_name(&long_b));
        assert!(a.len() <= MAX_IDENTIFIER && b.len() <= MAX_IDENTIFIER, "{a} {b}");
        assert_ne!(a, b);
        assert!(a.starts_with("pgfleet_abbb"));
        assert_eq!(slot_name(&long_a), a, "derived names are stable");
    }
}
