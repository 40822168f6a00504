//! Two things the engine's loops share: [`Relay`], which forwards a long
//! step's progress to a database's record without making the step wait for
//! the store, and [`Pacer`], which wakes a loop on its tick or when
//! someone asks.

use std::sync::Arc;
use std::time::Duration;

use app::model::Progress;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use super::recorder::Recorder;
use crate::provisioner::ProgressSink;

/// The sink a long step reports to; the latest report reaches the record.
pub struct Relay {
    latest: watch::Sender<Option<Progress>>,
    task: JoinHandle<()>,
}

impl ProgressSink for Relay {
    fn progress(&self, progress: Progress) {
        let _ = self.latest.send(Some(progress));
    }
}

impl Relay {
    pub fn start(recorder: &Recorder, name: &str) -> Relay {
        let (latest, mut rx) = watch::channel(None);
        let (recorder, name) = (recorder.clone(), name.to_string());
        let task = tokio::spawn(async move {
            while rx.changed().await.is_ok() {
                let progress = rx.borrow_and_update().clone();
                if recorder.progress(&name, progress).await.is_err() {
                    break;
                }
            }
        });
        Relay { latest, task }
    }

    /// Waits until the last report is recorded.
    pub async fn finish(self) {
        let Relay { latest, task } = self;
        drop(latest);
        let _ = task.await;
    }
}

/// When a loop runs its next pass.
pub struct Pacer {
    tick: tokio::time::Interval,
    wake: Arc<Notify>,
}

impl Pacer {
    pub fn new(every: Duration, wake: Arc<Notify>) -> Pacer {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Pacer { tick, wake }
    }

    /// Waits for the tick or a wake; `false` once `stop` turns true.
    pub async fn next(&mut self, stop: &mut watch::Receiver<bool>) -> bool {
        tokio::select! {
            _ = self.tick.tick() => true,
            _ = self.wake.notified() => true,
            _ = stop.wait_for(|s| *s) => false,
        }
    }
}
