//! Clone snapshots: on a home that clones files, cheap copies of a running
//! primary kept under `<home>/snapshots/<name>/<id>/` (a data dir with its
//! `backup_label` and WAL, as a clone fork makes, and `snapshot.json`).
//! They share their blocks with the database, so one costs only what has
//! changed since, and a point-in-time fork from one starts in well under a
//! second instead of restoring a backup. A snapshot is made in
//! `<id>.partial` and renamed when complete, like a database.

use std::path::{Path, PathBuf};

use app::model::{Backup, BackupKind};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::provisioner::ProvisionError;

/// What `snapshot.json` says.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Meta {
    pub id: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub stop_lsn: u64,
    pub size_bytes: u64,
}

impl Meta {
    pub fn backup(&self, stored_bytes: u64) -> Backup {
        Backup {
            id: self.id.clone(),
            kind: BackupKind::Snapshot,
            started_at: self.started_at,
            finished_at: self.finished_at,
            size_bytes: self.size_bytes,
            stored_bytes,
            duration_seconds: (self.finished_at - self.started_at).num_milliseconds().max(0) as f64 / 1000.0,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Snapshots {
    root: PathBuf,
}

impl Snapshots {
    pub fn new(home: &Path) -> Self {
        Snapshots { root: home.join("snapshots") }
    }

    pub fn dir_of(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// A new snapshot's id and its partial dir.
    pub fn fresh(&self, name: &str, at: DateTime<Utc>) -> (String, PathBuf) {
        let id = at.format("%Y%m%d-%H%M%SS").to_string();
        (id.clone(), self.dir_of(name).join(format!("{id}.partial")))
    }

    /// Completes a snapshot made in `partial`.
    pub fn commit(&self, name: &str, partial: &Path, meta: &Meta) -> Result<(), ProvisionError> {
        std::fs::write(partial.join("snapshot.json"), serde_json::to_vec(meta).expect("metas serialise"))?;
        std::fs::rename(partial, self.dir_of(name).join(&meta.id))?;
        Ok(())
    }

    /// `name`'s snapshots, oldest first; half-made ones are removed.
    pub fn list(&self, name: &str) -> Vec<(Meta, PathBuf)> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(self.dir_of(name)).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "partial") {
                // Left by a crash: never complete, never used.
                let _ = std::fs::remove_dir_all(&path);
                continue;
            }
            let meta =
                std::fs::read(path.join("snapshot.json")).ok().and_then(|b| serde_json::from_slice::<Meta>(&b).ok());
            if let Some(meta) = meta {
                found.push((meta, path));
            }
        }
        found.sort_by_key(|(m, _)| m.finished_at);
        found
    }

    /// Removes snapshots that finished before `cutoff`; answers whether
    /// there were any.
    pub async fn expire(&self, name: &str, cutoff: DateTime<Utc>) -> Result<bool, ProvisionError> {
        let mut removed = false;
        for (meta, path) in self.list(name) {
            if meta.finished_at < cutoff {
                tokio::fs::remove_dir_all(&path).await?;
                removed = true;
            }
        }
        Ok(removed)
    }

    pub async fn remove_all(&self, name: &str) -> Result<(), ProvisionError> {
        let dir = self.dir_of(name);
        if dir.exists() {
            tokio::fs::remove_dir_all(&dir).await?;
        }
        Ok(())
    }
}
