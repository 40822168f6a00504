//! The backup loop: for every available primary, makes sure its WAL is
//! archived, takes the backups its schedule (or a person) asks for,
//! expires what retention no longer needs, and records its restore window
//! and archiving so the page, the API and `pgfleet info` show them.
//!
//! What is due is [`next_backup`], a pure function of the backups there
//! are, the schedule and the last request; the loop only carries it out,
//! one backup at a time, so backups never compete with each other for the
//! machine. A backup a crash interrupted is simply due again.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::model::{Backup, BackupKind, EventKind, Phase};
use chrono::{DateTime, Utc};
use tokio::sync::{watch, Notify};

use super::plans;
use super::recorder::Recorder;
use super::relay::{Pacer, Relay};
use super::spec::{Desired, Spec};
use crate::provisioner::Provisioner;
use crate::store::{Store, StoreError};

/// When backups are due.
#[derive(Clone, Debug)]
pub struct Schedule {
    /// A full backup at least this often (default daily).
    pub full_every: Duration,
    /// A clone snapshot at least this often, where the backend takes them.
    pub snapshot_every: Duration,
    /// How often the loop looks.
    pub tick: Duration,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            full_every: Duration::from_secs(24 * 3600),
            snapshot_every: Duration::from_secs(3600),
            tick: Duration::from_secs(10),
        }
    }
}

/// How long the next try waits after `failures` backups in a row failed:
/// a minute, doubling to at most half an hour. A first failure is often
/// passing (WAL archiving behind a bulk load, a restart), so it is tried
/// again soon; one that keeps failing is not retried in a tight loop.
pub fn retry_delay(failures: u32) -> Duration {
    const FIRST: Duration = Duration::from_secs(60);
    const MOST: Duration = Duration::from_secs(30 * 60);
    FIRST.saturating_mul(1 << failures.saturating_sub(1).min(5)).min(MOST)
}

/// The backup due for a primary now, if any: a full one when it has none,
/// when the newest is older than the schedule, or when one was asked for
/// after the newest began; otherwise a snapshot (where `kinds` has them)
/// when there is none yet or the newest starting point is older than the
/// snapshot schedule.
pub fn next_backup(
    kinds: &[BackupKind],
    backups: &[Backup],
    wanted_after: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    schedule: &Schedule,
) -> Option<BackupKind> {
    let newest = |kind: Option<BackupKind>| {
        backups.iter().filter(|b| kind.is_none_or(|k| b.kind == k)).map(|b| b.started_at).max()
    };
    let age = |t: DateTime<Utc>| (now - t).to_std().unwrap_or_default();
    let newest_full = newest(Some(BackupKind::Full));
    match newest_full {
        None => return Some(BackupKind::Full),
        Some(t) if age(t) >= schedule.full_every => return Some(BackupKind::Full),
        Some(_) => {}
    }
    if let (Some(wanted), Some(any)) = (wanted_after, newest(None)) {
        if wanted > any {
            return Some(BackupKind::Full);
        }
    }
    let snapshots = kinds.contains(&BackupKind::Snapshot);
    if snapshots && newest(Some(BackupKind::Snapshot)).is_none() {
        // The fast starting point, from the start.
        return Some(BackupKind::Snapshot);
    }
    let newest_any = newest(None)?;
    (snapshots && age(newest_any) >= schedule.snapshot_every).then_some(BackupKind::Snapshot)
}

pub struct BackupLoop {
    store: Store,
    provisioner: Arc<dyn Provisioner>,
    recorder: Recorder,
    schedule: Schedule,
    wake: Arc<Notify>,
    /// Databases whose last backups failed: when the last one did, and how
    /// many in a row.
    failed: HashMap<String, (Instant, u32)>,
}

impl BackupLoop {
    pub fn new(
        store: Store,
        provisioner: Arc<dyn Provisioner>,
        recorder: Recorder,
        schedule: Schedule,
        wake: Arc<Notify>,
    ) -> Self {
        BackupLoop { store, provisioner, recorder, schedule, wake, failed: HashMap::new() }
    }

    /// Runs until `stop` turns true; the supervisor restarts it if it dies.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let mut pacer = Pacer::new(self.schedule.tick, self.wake.clone());
        while pacer.next(&mut stop).await {
            if let Err(e) = self.pass().await {
                tracing::error!(error = %e, "backup pass failed");
            }
        }
    }

    async fn pass(&mut self) -> Result<(), StoreError> {
        let specs = self.store.specs().await?;
        self.failed.retain(|name, _| specs.iter().any(|s| &s.name == name));
        for spec in specs.iter().filter(|s| s.desired == Desired::Running && s.is_primary()) {
            if self.store.phase_of(&spec.name).await? != Some(Phase::Available) {
                continue;
            }
            self.look_after(spec).await?;
        }
        Ok(())
    }

    async fn look_after(&mut self, spec: &Spec) -> Result<(), StoreError> {
        let prov = self.provisioner.clone();
        let setup = prov.ensure_archiving(spec).await.inspect_err(|e| {
            tracing::warn!(db = %spec.name, error = %e, "cannot set up archiving yet");
        });
        let Some(mut backups) = listed(prov.as_ref(), spec).await else { return Ok(()) };
        let retrying_later = self.failed.get(&spec.name).is_some_and(|(at, n)| at.elapsed() < retry_delay(*n));
        let due = next_backup(&prov.backup_kinds(), &backups, spec.backup_wanted_at, Utc::now(), &self.schedule);
        let taken = match (due, retrying_later) {
            (Some(kind), false) => {
                self.take(spec, kind).await?;
                true
            }
            _ => false,
        };
        let retention = plans::find(&spec.plan).map(|p| p.backup_retention_days).unwrap_or(1);
        let expired = prov.expire(spec, chrono::Duration::days(retention.into())).await.unwrap_or_else(|e| {
            tracing::warn!(db = %spec.name, error = %e, "cannot expire old snapshots");
            false
        });
        if taken || expired {
            // What the backup or the expiry changed.
            let Some(after) = listed(prov.as_ref(), spec).await else { return Ok(()) };
            backups = after;
        }
        // One listing serves the archiving, the window and the record.
        let mut archiving = prov.archiving(spec, &backups).await.ok();
        // Until archiving is set up no backup can be taken: the team sees why.
        if let (Some(archiving), Err(e)) = (archiving.as_mut(), &setup) {
            archiving
                .warning
                .get_or_insert_with(|| format!("backups cannot be set up yet, so WAL archiving is failing: {e}"));
        }
        let window = crate::provisioner::restore_window(&backups, archiving.as_ref(), Utc::now());
        self.recorder.recoverability(&spec.name, window, archiving).await
    }

    async fn take(&mut self, spec: &Spec, kind: BackupKind) -> Result<(), StoreError> {
        let started = Instant::now();
        let sink = Relay::start(&self.recorder, &spec.name);
        let taken = self.provisioner.take_backup(spec, kind, &sink).await;
        sink.finish().await;
        self.recorder.progress(&spec.name, None).await?;
        let seconds = started.elapsed().as_secs_f64();
        match taken {
            Ok(()) => {
                self.failed.remove(&spec.name);
                let what = match kind {
                    BackupKind::Full => "a full backup",
                    BackupKind::Snapshot => "a clone snapshot",
                };
                let message = format!("{what} was taken in {}", app::format::duration(seconds));
                self.recorder.note(&spec.name, EventKind::Backup, message).await
            }
            Err(e) => {
                let failures = self.failed.get(&spec.name).map_or(0, |(_, n)| *n).saturating_add(1);
                self.failed.insert(spec.name.clone(), (Instant::now(), failures));
                let message = format!(
                    "a {} backup failed: {e}; trying again in {}",
                    kind.as_str(),
                    app::format::span(retry_delay(failures).as_secs() as i64)
                );
                self.recorder.note(&spec.name, EventKind::BackupFailed, message).await
            }
        }
    }
}

/// `spec`'s backups, or `None` (logged) when the backend cannot list them.
async fn listed(prov: &dyn Provisioner, spec: &Spec) -> Option<Vec<Backup>> {
    prov.backups(spec).await.inspect_err(|e| tracing::warn!(db = %spec.name, error = %e, "cannot list backups")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_backup_is_retried_in_a_minute_then_less_and_less_often() {
        let minutes = |n| retry_delay(n).as_secs() / 60;
        assert_eq!([minutes(1), minutes(2), minutes(3), minutes(4), minutes(5)], [1, 2, 4, 8, 16]);
        assert_eq!(minutes(6), 30);
        assert_eq!(minutes(u32::MAX), 30);
        assert_eq!(minutes(0), 1);
    }

    fn backup(kind: BackupKind, minutes_ago: i64, now: DateTime<Utc>) -> Backup {
        let at = now - chrono::Duration::minutes(minutes_ago);
        Backup {
            id: format!("{minutes_ago}"),
            kind,
            started_at: at,
            finished_at: at,
            size_bytes: 1,
            stored_bytes: 1,
            duration_seconds: 0.0,
        }
    }

    #[test]
    fn a_primary_without_a_full_backup_gets_one() {
        let now = Utc::now();
        let s = Schedule::default();
        assert_eq!(next_backup(&[BackupKind::Full], &[], None, now, &s), Some(BackupKind::Full));
        let only_snapshot = [backup(BackupKind::Snapshot, 1, now)];
        let kinds = [BackupKind::Full, BackupKind::Snapshot];
        assert_eq!(next_backup(&kinds, &only_snapshot, None, now, &s), Some(BackupKind::Full));
    }

    #[test]
    fn the_schedule_and_requests_make_backups_due() {
        let now = Utc::now();
        let s = Schedule::default();
        let fresh = [backup(BackupKind::Full, 10, now)];
        assert_eq!(next_backup(&[BackupKind::Full], &fresh, None, now, &s), None);
        let old = [backup(BackupKind::Full, 25 * 60, now)];
        assert_eq!(next_backup(&[BackupKind::Full], &old, None, now, &s), Some(BackupKind::Full));
        let asked = Some(now - chrono::Duration::minutes(1));
        assert_eq!(next_backup(&[BackupKind::Full], &fresh, asked, now, &s), Some(BackupKind::Full));
        let answered = Some(now - chrono::Duration::minutes(11));
        assert_eq!(next_backup(&[BackupKind::Full], &fresh, answered, now, &s), None);
    }

    #[test]
    fn snapshots_fill_the_hours_where_the_backend_takes_them() {
        let now = Utc::now();
        let s = Schedule::default();
        let hour_old = [backup(BackupKind::Full, 61, now)];
        assert_eq!(next_backup(&[BackupKind::Full], &hour_old, None, now, &s), None);
        let kinds = [BackupKind::Full, BackupKind::Snapshot];
        assert_eq!(next_backup(&kinds, &hour_old, None, now, &s), Some(BackupKind::Snapshot));
        let no_snapshot_yet = [backup(BackupKind::Full, 1, now)];
        assert_eq!(next_backup(&kinds, &no_snapshot_yet, None, now, &s), Some(BackupKind::Snapshot));
        let with_snapshot = [backup(BackupKind::Full, 61, now), backup(BackupKind::Snapshot, 5, now)];
        assert_eq!(next_backup(&kinds, &with_snapshot, None, now, &s), None);
    }
}
