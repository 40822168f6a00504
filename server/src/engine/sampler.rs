//! The metrics loop: every [`EngineConfig::sample_every`](super::EngineConfig)
//! it reads the statistics of every available database
//! ([`crate::insights::counters`]) and records the sample, which the
//! metrics route and the Insights tab read and an event announces.
//!
//! The reading before is kept in memory only: after a restart of pgfleet
//! the first pass gives gauges, the next rates again.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use app::model::Phase;
use tokio::sync::{watch, Notify};

use super::recorder::Recorder;
use super::relay::Pacer;
use super::spec::{Desired, Spec};
use crate::insights::counters::{self, Counters};
use crate::provisioner::{ProvisionError, Provisioner};
use crate::store::{Store, StoreError};

/// How long one database's reading may take before it is skipped this pass.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

pub struct Sampler {
    store: Store,
    provisioner: Arc<dyn Provisioner>,
    recorder: Recorder,
    every: Duration,
    /// Each database's last reading.
    last: HashMap<String, Counters>,
}

impl Sampler {
    pub fn new(store: Store, provisioner: Arc<dyn Provisioner>, recorder: Recorder, every: Duration) -> Self {
        Sampler { store, provisioner, recorder, every, last: HashMap::new() }
    }

    /// Runs until `stop` turns true; the supervisor restarts it if it dies.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let mut pacer = Pacer::new(self.every, Arc::new(Notify::new()));
        while pacer.next(&mut stop).await {
            if let Err(e) = self.pass().await {
                tracing::error!(error = %e, "metrics pass failed");
            }
        }
    }

    async fn pass(&mut self) -> Result<(), StoreError> {
        let specs = self.store.specs().await?;
        self.last.retain(|name, _| specs.iter().any(|s| &s.name == name));
        for spec in specs.iter().filter(|s| s.desired == Desired::Running) {
            if self.store.phase_of(&spec.name).await? != Some(Phase::Available) {
                self.last.remove(&spec.name);
                continue;
            }
            match tokio::time::timeout(READ_TIMEOUT, self.read(spec)).await {
                Ok(Ok(now)) => {
                    let sample = counters::sample(self.last.get(&spec.name), &now);
                    self.last.insert(spec.name.clone(), now);
                    self.recorder.metrics(&spec.name, &sample).await?;
                }
                Ok(Err(e)) => tracing::debug!(db = %spec.name, error = %e, "cannot sample"),
                Err(_) => tracing::warn!(db = %spec.name, "sampling took over {READ_TIMEOUT:?}; skipped"),
            }
        }
        Ok(())
    }

    async fn read(&self, spec: &Spec) -> Result<Counters, ProvisionError> {
        let mut conn = self.provisioner.connect(spec).await?;
        let read = counters::read(&mut conn).await;
        // Closing politely spares the server's log a line a pass.
        let _ = sqlx::Connection::close(conn).await;
        read
    }
}
