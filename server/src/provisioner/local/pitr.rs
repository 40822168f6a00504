//! Backups, the restore window and point-in-time forks of local servers.
//!
//! A primary's starting points are its pgBackRest full backups and, on a
//! home that clones files, its clone snapshots. A point-in-time fork is
//! made from the newest starting point that ends at or before the moment
//! (a snapshot is cloned, a backup restored by pgBackRest), then replays
//! the source's archived WAL (`restore_command` through `pgbackrest
//! archive-get`) to `recovery_target_time` / `recovery_target_lsn` and
//! promotes itself. Before that the source closes and archives its current
//! WAL segment after a fresh commit, because recovery to a time stops only
//! at the first commit after it and fails if the archive ends first.

use std::path::Path;
use std::time::Duration;

use app::model::{Archiving, Backup, BackupKind, CopyMethod, ForkPoint, Progress};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::backrest::{Restore, Server};
use super::{clone, copy, os, snapshots, sql, LocalProvisioner};
use crate::engine::plans;
use crate::engine::spec::Spec;
use crate::provisioner::{probe, ProgressSink, ProvisionError, Recovery};

/// How long the source may take to archive the segment a fork needs: more
/// than pgBackRest's own `archive-timeout` (120 s), because an async push
/// whose status it misses is only retried by the archiver after that.
const ARCHIVE_DEADLINE: Duration = Duration::from_secs(300);
/// More segments than this waiting to be archived is "behind".
const BEHIND_SEGMENTS: u64 = 16;

/// PostgreSQL's words when the WAL ran out before the recovery target.
pub(super) const TARGET_UNREACHED: &str = "recovery ended before configured recovery target was reached";

/// What a person reads when a point-in-time fork's WAL ran out first.
pub(super) fn target_unreached(db: &Spec) -> String {
    let what = db.fork_point.as_ref().map(|p| p.describe()).unwrap_or_else(|| "the moment asked for".into());
    format!(
        "the WAL archive of {} ends before {what}, so recovery stopped short of it (PostgreSQL: {TARGET_UNREACHED})",
        db.source.as_deref().unwrap_or("its source")
    )
}

/// Where a point-in-time fork's replay starts and ends, kept beside its
/// data dir for progress.
#[derive(Debug, Serialize, Deserialize)]
struct Replay {
    from_lsn: u64,
    to_lsn: Option<u64>,
    point: ForkPoint,
}

/// A backup or snapshot a fork can start from.
struct StartingPoint {
    /// A snapshot's `stored_bytes` are not measured here.
    backup: Backup,
    stop_lsn: u64,
    /// A snapshot's folder.
    path: Option<std::path::PathBuf>,
}

impl LocalProvisioner {
    fn retention_days(db: &Spec) -> u32 {
        plans::find(&db.plan).map(|p| p.backup_retention_days).unwrap_or(1)
    }

    /// Writes `db`'s pgBackRest config (its port may have moved).
    pub(super) fn configure_backups(&self, db: &Spec) -> Result<(), ProvisionError> {
        let data = self.layout.data(&db.name);
        let run = self.layout.run(&db.name);
        let server = Server { data: &data, socket_dir: &run, port: db.port };
        self.backrest.configure(&db.name, &server, Self::retention_days(db))
    }

    pub(super) async fn ensure_archiving_now(&self, db: &Spec) -> Result<(), ProvisionError> {
        self.configure_backups(db)?;
        self.backrest.ensure_stanza(&db.name, true).await
    }

    /// Its backups and snapshots, oldest first: one read of the repository.
    async fn starting_points(&self, db: &Spec) -> Result<Vec<StartingPoint>, ProvisionError> {
        let mut points: Vec<StartingPoint> = Vec::new();
        if self.backrest.is_configured(&db.name) {
            for b in self.backrest.backups(&db.name).await? {
                points.push(StartingPoint { backup: b.backup, stop_lsn: b.stop_lsn, path: None });
            }
        }
        for (meta, path) in self.snapshots.list(&db.name) {
            points.push(StartingPoint { backup: meta.backup(0), stop_lsn: meta.stop_lsn, path: Some(path) });
        }
        points.sort_by_key(|p| p.backup.finished_at);
        Ok(points)
    }

    pub(super) async fn list_backups(&self, db: &Spec) -> Result<Vec<Backup>, ProvisionError> {
        let mut list = Vec::new();
        for point in self.starting_points(db).await? {
            let mut backup = point.backup;
            if let Some(path) = point.path {
                let data = path.join("data");
                let own = tokio::task::spawn_blocking(move || clone::unshared_bytes(&data)).await.ok().flatten();
                backup.stored_bytes = own.unwrap_or(0);
            }
            list.push(backup);
        }
        Ok(list)
    }

    pub(super) async fn take(
        &self,
        db: &Spec,
        kind: BackupKind,
        sink: &dyn ProgressSink,
    ) -> Result<(), ProvisionError> {
        match kind {
            BackupKind::Full => {
                self.ensure_archiving_now(db).await?;
                self.backrest.backup(&db.name, sink).await
            }
            BackupKind::Snapshot => self.take_snapshot(db, sink).await,
        }
    }

    async fn take_snapshot(&self, db: &Spec, sink: &dyn ProgressSink) -> Result<(), ProvisionError> {
        if self.technique.method != CopyMethod::Clone {
            return Err(ProvisionError::Invalid(format!(
                "clone snapshots need a home that clones files: {}",
                self.technique.why
            )));
        }
        let started_at = Utc::now();
        let (id, partial) = self.snapshots.fresh(&db.name, started_at);
        self.private_dir(&partial)?;
        let stop_lsn = clone::clone_running(
            clone::CloneCopy {
                user: &self.user,
                source_data: &self.layout.data(&db.name),
                source_run: &self.layout.run(&db.name),
                source_port: db.port,
                target: &partial.join("data"),
                slot: None,
                label: &format!("pgfleet snapshot {id} of {}", db.name),
            },
            sink,
        )
        .await;
        let stop_lsn = match stop_lsn {
            Ok(lsn) => lsn,
            Err(e) => {
                let _ = tokio::fs::remove_dir_all(&partial).await;
                return Err(e);
            }
        };
        let size_bytes = copy::dir_size(&partial.join("data"));
        let meta = snapshots::Meta { id, started_at, finished_at: Utc::now(), stop_lsn, size_bytes };
        self.snapshots.commit(&db.name, &partial, &meta)
    }

    pub(super) async fn expire_snapshots(&self, db: &Spec, keep: chrono::Duration) -> Result<bool, ProvisionError> {
        let list = self.snapshots.list(&db.name);
        // The newest stays whatever its age: it is the fastest start.
        let Some(newest) = list.last().map(|(m, _)| m.finished_at) else { return Ok(false) };
        self.snapshots.expire(&db.name, (Utc::now() - keep).min(newest)).await
    }

    pub(super) async fn archiving_of(&self, db: &Spec, backups: &[Backup]) -> Result<Archiving, ProvisionError> {
        let mut conn = sql::connect(&self.layout.run(&db.name), db.port, "postgres").await?;
        let (wal, at, failed_at): (Option<String>, Option<DateTime<Utc>>, Option<DateTime<Utc>>) =
            sqlx::query_as("SELECT last_archived_wal, last_archived_time, last_failed_time FROM pg_stat_archiver")
                .fetch_one(&mut conn)
                .await
                .map_err(sql::sql_err)?;
        let pending = std::fs::read_dir(self.layout.data(&db.name).join("pg_wal").join("archive_status"))
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".ready"))
            .count() as u64;
        let failing = match (failed_at, at) {
            (Some(f), Some(a)) if f <= a => None,
            (Some(_), _) => Some(
                self.backrest.last_push_error(&db.name).unwrap_or_else(|| "pgBackRest could not push a segment".into()),
            ),
            (None, _) => None,
        };
        let stored_bytes = self.backrest.stored_bytes(&db.name)
            + backups.iter().filter(|b| b.kind == BackupKind::Snapshot).map(|b| b.stored_bytes).sum::<u64>();
        let warning = match (&failing, pending) {
            (Some(why), _) => Some(format!(
                "WAL archiving is failing ({why}); {pending} segments wait, and forks cannot reach past {}",
                at.map(|t| t.format("%H:%M:%S UTC").to_string()).unwrap_or_else(|| "its first backup".into())
            )),
            (None, n) if n > BEHIND_SEGMENTS => Some(format!(
                "WAL archiving is behind: {n} segments ({}) wait",
                app::format::bytes(n * 16 * 1024 * 1024)
            )),
            (None, _) => None,
        };
        Ok(Archiving {
            last_archived_wal: wal,
            last_archived_at: at,
            failing,
            pending_segments: pending,
            warning,
            backups: backups.len() as u64,
            last_backup_at: backups.last().map(|b| b.finished_at),
            stored_bytes,
        })
    }

    /// Commits on the source, closes its WAL segment and waits until
    /// pgBackRest has it; answers the LSN the archive now reaches.
    async fn archive_past_now(&self, source: &Spec) -> Result<u64, ProvisionError> {
        let _turn = self.archive_turn.lock().await;
        let mut conn = sql::connect(&self.layout.run(&source.name), source.port, "postgres").await?;
        // Its own transaction: a commit record after any past moment.
        sqlx::query("SELECT pg_current_xact_id()").execute(&mut conn).await.map_err(sql::sql_err)?;
        let (segment, lsn): (String, String) =
            sqlx::query_as("SELECT pg_walfile_name(l), l::text FROM (SELECT pg_switch_wal() AS l) s")
                .fetch_one(&mut conn)
                .await
                .map_err(sql::sql_err)?;
        let deadline = tokio::time::Instant::now() + ARCHIVE_DEADLINE;
        loop {
            let archived: Option<String> = sqlx::query_scalar("SELECT last_archived_wal FROM pg_stat_archiver")
                .fetch_one(&mut conn)
                .await
                .map_err(sql::sql_err)?;
            // Segment names sort in WAL order (timeline first).
            if archived.as_deref().is_some_and(|a| a.get(..24).unwrap_or(a) >= segment.as_str()) {
                return app::model::parse_lsn(&lsn).ok_or_else(|| ProvisionError::Sql(format!("unreadable LSN {lsn}")));
            }
            if tokio::time::Instant::now() > deadline {
                let why = self.backrest.last_push_error(&source.name).map(|e| format!(": {e}")).unwrap_or_default();
                return Err(ProvisionError::Invalid(format!(
                    "{}'s WAL archiving is behind: segment {segment} was not archived within {} s{why}",
                    source.name,
                    ARCHIVE_DEADLINE.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub(super) async fn make_point_in_time_fork(
        &self,
        db: &Spec,
        source: &Spec,
        point: &ForkPoint,
        sink: &dyn ProgressSink,
    ) -> Result<(), ProvisionError> {
        // A moment a client's clock put a little ahead: the commit that ends
        // replay must come after it.
        if let ForkPoint::Time(t) = point {
            if let Ok(ahead) = (*t - Utc::now()).to_std() {
                tokio::time::sleep(ahead + Duration::from_millis(10)).await;
            }
        }
        let running = self.postmaster_pid(&source.name).is_some_and(os::process_alive);
        let to_lsn = if running { Some(self.archive_past_now(source).await?) } else { None };
        let points = self.starting_points(source).await?;
        let base = points
            .iter()
            .rev()
            .find(|p| match point {
                ForkPoint::Time(t) => p.backup.finished_at <= *t,
                ForkPoint::Lsn(l) => app::model::parse_lsn(l).is_some_and(|l| p.stop_lsn <= l),
            })
            .ok_or_else(|| {
                ProvisionError::Invalid(format!(
                    "{} has no backup that ends before {}; its oldest ends {}",
                    source.name,
                    point.describe(),
                    points
                        .first()
                        .map(|p| p.backup.finished_at.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                        .unwrap_or_else(|| "nowhere: it has none".into())
                ))
            })?;
        let (partial, _) = self.fresh_partial(db, source).await?;
        let data = partial.join("data");
        match &base.path {
            Some(snapshot) => {
                sink.progress(Progress {
                    step: format!("cloning snapshot {}", base.backup.id),
                    bytes_done: 0,
                    bytes_total: None,
                    eta_seconds: None,
                    unit: app::model::ProgressUnit::Bytes,
                });
                os::copy_tree(&snapshot.join("data"), &data).await?;
            }
            None => {
                self.private_dir(&data)?;
                self.restore_with_progress(source, &base.backup, &data, sink).await?;
            }
        }
        let _ = std::fs::remove_file(data.join("standby.signal"));
        self.private_file(&data.join("recovery.signal"), "")?;
        let replay = Replay { from_lsn: base.stop_lsn, to_lsn, point: point.clone() };
        self.private_file(&partial.join("replay.json"), &serde_json::to_string(&replay).expect("replays serialise"))?;
        tracing::info!(db = %db.name, source = %source.name, base = %base.backup.id, kind = base.backup.kind.as_str(), point = %point.describe(), "point-in-time fork");
        self.commit_partial(db)
    }

    async fn restore_with_progress(
        &self,
        source: &Spec,
        backup: &Backup,
        data: &Path,
        sink: &dyn ProgressSink,
    ) -> Result<(), ProvisionError> {
        let (set, total) = (backup.id.as_str(), Some(backup.size_bytes));
        let restore = self.backrest.restore(Restore { stanza: &source.name, set, target: data });
        tokio::pin!(restore);
        let started = std::time::Instant::now();
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        loop {
            tokio::select! {
                done = &mut restore => return done,
                _ = tick.tick() => {
                    let done = copy::dir_size(data);
                    let seconds = started.elapsed().as_secs_f64();
                    let eta = total.filter(|_| done > 0).map(|t| seconds * t.saturating_sub(done) as f64 / done as f64);
                    sink.progress(Progress { step: format!("restoring backup {set}"), bytes_done: done, bytes_total: total, eta_seconds: eta, unit: app::model::ProgressUnit::Bytes });
                }
            }
        }
    }

    pub(super) async fn recovery_of(&self, db: &Spec) -> Recovery {
        if !self.postmaster_pid(&db.name).is_some_and(os::process_alive) {
            let tail = crate::provisioner::Provisioner::log_tail(self, db).await;
            if tail.contains(TARGET_UNREACHED) {
                return Recovery::Stopped(target_unreached(db));
            }
            return Recovery::Stopped(format!("its server stopped during recovery: {tail}"));
        }
        let Ok(mut conn) = sql::connect(&self.layout.run(&db.name), db.port, "postgres").await else {
            return Recovery::Replaying(None);
        };
        match probe::in_recovery(&mut conn).await {
            Ok(false) => return Recovery::Done,
            Ok(true) => {}
            Err(_) => return Recovery::Replaying(None),
        }
        let replay: Option<Replay> = std::fs::read_to_string(self.layout.dir(&db.name).join("replay.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
        let Some(replay) = replay else { return Recovery::Replaying(None) };
        let replayed = probe::wal_position(&mut conn).await.unwrap_or(replay.from_lsn);
        Recovery::Replaying(Some(Progress {
            step: format!("replaying WAL to {}", replay.point.describe()),
            bytes_done: replayed.saturating_sub(replay.from_lsn),
            bytes_total: replay.to_lsn.map(|t| t.saturating_sub(replay.from_lsn)),
            eta_seconds: None,
            unit: app::model::ProgressUnit::Bytes,
        }))
    }
}
