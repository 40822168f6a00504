//! The one way observed state changes: [`Recorder`] persists the change,
//! appends it to the event log, logs it, and publishes it on the bus, in
//! that order, so what clients see is always what the store holds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::metrics::{Metric, Sample};
use app::model::{Event, EventKind, Info, Lag, Phase, Progress};
use chrono::Utc;

use super::bus::Bus;
use super::noteworthy;
use crate::store::status::Observation;
use crate::store::{Store, StoreError};

/// How often a lag that has not moved is sampled all the same, so a chart
/// of it has points.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct Recorder {
    store: Store,
    bus: Bus,
    /// When each database was last sampled (by this server).
    sampled: Arc<Mutex<HashMap<String, Instant>>>,
}

impl Recorder {
    pub fn new(store: Store, bus: Bus) -> Self {
        Recorder { store, bus, sampled: Arc::default() }
    }

    pub fn bus(&self) -> &Bus {
        &self.bus
    }

    /// Moves `name` to `phase`. Every phase change goes through here.
    pub async fn transition(&self, name: &str, phase: Phase, message: Option<String>) -> Result<(), StoreError> {
        let before = self.store.phase_of(name).await?;
        self.store.observe(name, &Observation::Phase { phase, message: message.clone() }).await?;
        self.store.record_phase(name, phase).await?;
        match phase {
            Phase::Failed => {
                tracing::warn!(db = name, from = ?before, reason = message.as_deref().unwrap_or(""), "database failed")
            }
            _ => tracing::info!(db = name, from = ?before, to = phase.as_str(), "phase change"),
        }
        self.publish(name, EventKind::Phase, message).await
    }

    pub async fn progress(&self, name: &str, progress: Option<Progress>) -> Result<(), StoreError> {
        self.store.observe(name, &Observation::Progress(progress)).await?;
        self.publish(name, EventKind::Progress, None).await
    }

    /// Records a follower's lag when it moved enough for a person to read
    /// it differently ([`noteworthy::lag_changed`]); otherwise nothing.
    /// Either way it is sampled for the chart when it changed or
    /// [`SAMPLE_EVERY`] has passed.
    pub async fn lag(&self, name: &str, lag: Option<Lag>) -> Result<(), StoreError> {
        let (before, _) = self.store.observed(name).await?;
        let changed = noteworthy::lag_changed(before.as_ref(), lag.as_ref());
        if let Some(lag) = &lag {
            self.sample_lag(name, lag, changed).await?;
        }
        if !changed {
            return Ok(());
        }
        self.store.observe(name, &Observation::Lag(lag)).await?;
        self.publish(name, EventKind::Lag, None).await
    }

    async fn sample_lag(&self, name: &str, lag: &Lag, changed: bool) -> Result<(), StoreError> {
        let now = Instant::now();
        let due = {
            let mut sampled = self.sampled.lock().expect("sampled lock");
            let due = changed || sampled.get(name).is_none_or(|at| now.duration_since(*at) >= SAMPLE_EVERY);
            if due {
                sampled.insert(name.to_string(), now);
            }
            due
        };
        if !due {
            return Ok(());
        }
        let sample = Sample {
            at: Utc::now(),
            values: vec![(Metric::LagBytes, lag.bytes as f64), (Metric::LagSeconds, lag.seconds)],
        };
        self.store.append_sample(name, &sample).await
    }

    /// Keeps a sample of `name`'s statistics and tells open consoles.
    pub async fn metrics(&self, name: &str, sample: &Sample) -> Result<(), StoreError> {
        self.store.append_sample(name, sample).await?;
        self.publish(name, EventKind::Metrics, None).await
    }

    /// Records a probe when what it shows changed ([`noteworthy::info_changed`]).
    pub async fn info(&self, name: &str, info: Info) -> Result<(), StoreError> {
        let (_, before) = self.store.observed(name).await?;
        if !noteworthy::info_changed(before.as_ref(), &info) {
            return Ok(());
        }
        self.store.observe(name, &Observation::Info(info)).await?;
        self.publish(name, EventKind::Info, None).await
    }

    /// Records a primary's restore window and archiving when a person would
    /// read them differently ([`noteworthy::recoverability_changed`]); a
    /// warning that appears or clears is an event of its own.
    pub async fn recoverability(
        &self,
        name: &str,
        window: Option<app::model::RestoreWindow>,
        archiving: Option<app::model::Archiving>,
    ) -> Result<(), StoreError> {
        let (old_window, old_archiving) = self.store.recoverability(name).await?;
        if !noteworthy::recoverability_changed(
            (old_window.as_ref(), old_archiving.as_ref()),
            (window.as_ref(), archiving.as_ref()),
        ) {
            return Ok(());
        }
        let old_warning = old_archiving.as_ref().and_then(|a| a.warning.clone());
        let new_warning = archiving.as_ref().and_then(|a| a.warning.clone());
        self.store.observe(name, &Observation::Recoverability { window, archiving }).await?;
        match (old_warning, new_warning) {
            (None, Some(w)) => {
                tracing::warn!(db = name, warning = %w, "archiving");
                self.publish(name, EventKind::Backup, Some(w)).await
            }
            (Some(_), None) => self.publish(name, EventKind::Backup, Some("WAL archiving has caught up".into())).await,
            _ => self.publish(name, EventKind::Info, None).await,
        }
    }

    /// Records how its copy is made, before it is made.
    pub async fn copying(&self, name: &str, technique: app::model::CopyTechnique) -> Result<(), StoreError> {
        tracing::info!(db = name, method = technique.method.as_str(), why = %technique.why, "copy technique");
        self.store.observe(name, &Observation::Copy(technique)).await
    }

    /// Its data was made for reset `generation`.
    pub async fn made(&self, name: &str, generation: i64) -> Result<(), StoreError> {
        self.store.observe(name, &Observation::Made(generation)).await
    }

    /// How far its masking got.
    pub async fn masking(&self, name: &str, state: crate::store::status::MaskState) -> Result<(), StoreError> {
        self.store.observe(name, &Observation::Mask(state)).await
    }

    /// It no longer follows (its source and the moment stay in its lineage).
    pub async fn promoted(&self, name: &str) -> Result<(), StoreError> {
        self.store.observe(name, &Observation::Promoted).await
    }

    /// Something happened worth telling people that is not a phase change.
    pub async fn note(&self, name: &str, kind: EventKind, message: String) -> Result<(), StoreError> {
        tracing::info!(db = name, kind = ?kind, %message, "event");
        self.publish(name, kind, Some(message)).await
    }

    /// `name` is gone from the store.
    pub async fn deleted(&self, name: &str) -> Result<(), StoreError> {
        tracing::info!(db = name, "database deleted");
        self.sampled.lock().expect("sampled lock").remove(name);
        self.publish(name, EventKind::Deleted, None).await
    }

    async fn publish(&self, name: &str, kind: EventKind, message: Option<String>) -> Result<(), StoreError> {
        let view = self.store.view(name).await?;
        let event = Event { id: 0, database: name.to_string(), kind, at: Utc::now(), message, view };
        let event = self.store.append_event(event).await?;
        // On PostgreSQL the feed publishes every event on every server,
        // this one included, in the log's order; publishing here as well
        // would deliver it twice.
        if self.store.dialect() == crate::store::Dialect::Sqlite {
            self.bus.publish(event);
        }
        Ok(())
    }
}
