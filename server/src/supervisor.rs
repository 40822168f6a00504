//! The one supervisor every background loop of pgfleet runs under (the
//! reconciler, the lease keeper, the public status feed).
//!
//! A loop that panics or returns while pgfleet is not stopping is logged,
//! counted and started again after a backoff (1 s, doubling to 30 s; reset
//! once it has run for a minute). What each loop is doing is kept for
//! `/healthz`, so a loop in trouble is never silent. Stopping asks every
//! loop through a watch channel and waits for it to finish.
//!
//! A loop may be gated ([`Supervisor::spawn_gated`]): it runs only while
//! its gate is open (this server leads; see `engine::leadership`), stands
//! by otherwise, and is stopped, without counting as a failure, when the
//! gate closes. A run that does not stop within [`STEP_DOWN_GRACE`] is
//! aborted, so a server that lost the lead never acts beside the new
//! leader for long.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::model::{LoopHealth, LoopState};
use chrono::Utc;
use tokio::sync::watch;
use tokio::task::{AbortHandle, JoinHandle};

const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A loop that ran this long before failing starts again without delay.
const HEALTHY_RUN: Duration = Duration::from_secs(60);
/// How long a gated loop may take to stop after its gate closed.
pub const STEP_DOWN_GRACE: Duration = Duration::from_secs(5);

/// Supervises named loops; cheap to clone.
#[derive(Clone)]
pub struct Supervisor {
    inner: Arc<Inner>,
}

struct Inner {
    stop: watch::Sender<bool>,
    loops: Mutex<BTreeMap<&'static str, Entry>>,
}

struct Entry {
    health: LoopHealth,
    /// The supervising task and the current run of the loop.
    supervisor: Option<JoinHandle<()>>,
    run: Option<AbortHandle>,
}

impl Default for Supervisor {
    fn default() -> Self {
        Supervisor { inner: Arc::new(Inner { stop: watch::channel(false).0, loops: Mutex::new(BTreeMap::new()) }) }
    }
}

impl Supervisor {
    /// Runs `make(stop)` as loop `name` until pgfleet stops, starting it
    /// again whenever it panics or ends early. The loop should return soon
    /// after `stop` turns true.
    pub fn spawn<F, Fut>(&self, name: &'static str, make: F)
    where
        F: Fn(watch::Receiver<bool>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.start(name, None, make)
    }

    /// [`Supervisor::spawn`], running the loop only while `gate` is true.
    pub fn spawn_gated<F, Fut>(&self, name: &'static str, gate: watch::Receiver<bool>, make: F)
    where
        F: Fn(watch::Receiver<bool>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.start(name, Some(gate), make)
    }

    fn start<F, Fut>(&self, name: &'static str, gate: Option<watch::Receiver<bool>>, make: F)
    where
        F: Fn(watch::Receiver<bool>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let health = LoopHealth {
            name: name.to_string(),
            state: LoopState::Running,
            restarts: 0,
            last_failure: None,
            since: Utc::now(),
        };
        self.lock().insert(name, Entry { health, supervisor: None, run: None });
        let this = self.clone();
        let task = tokio::spawn(async move { this.supervise(name, gate, make).await });
        if let Some(entry) = self.lock().get_mut(name) {
            entry.supervisor = Some(task);
        }
    }

    async fn supervise<F, Fut>(self, name: &'static str, mut gate: Option<watch::Receiver<bool>>, make: F)
    where
        F: Fn(watch::Receiver<bool>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mut stop = self.inner.stop.subscribe();
        let mut backoff = FIRST_BACKOFF;
        loop {
            if let Some(gate) = gate.as_mut() {
                if !*gate.borrow_and_update() {
                    self.update(name, |h| {
                        h.state = LoopState::Standby;
                        h.since = Utc::now();
                    });
                    tokio::select! {
                        opened = async { gate.wait_for(|open| *open).await.is_ok() } => if !opened {
                            // The gate's keeper is gone: nobody will open it.
                            self.update(name, |h| h.state = LoopState::Stopped);
                            return;
                        },
                        _ = stopping(&mut stop) => {
                            self.update(name, |h| h.state = LoopState::Stopped);
                            return;
                        }
                    }
                }
            }
            let started = Instant::now();
            let (stop_run, run_stop) = watch::channel(false);
            let mut run = tokio::spawn(make(run_stop));
            self.update(name, |h| {
                h.state = LoopState::Running;
                h.since = Utc::now();
            });
            if let Some(entry) = self.lock().get_mut(name) {
                entry.run = Some(run.abort_handle());
            }
            let closed = async {
                match gate.as_mut() {
                    Some(gate) => {
                        let _ = gate.wait_for(|open| !*open).await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let outcome = tokio::select! {
                outcome = &mut run => outcome,
                _ = stopping(&mut stop) => {
                    let _ = stop_run.send(true);
                    (&mut run).await
                }
                _ = closed => {
                    tracing::warn!(task = name, "this server no longer leads; stopping");
                    let _ = stop_run.send(true);
                    match tokio::time::timeout(STEP_DOWN_GRACE, &mut run).await {
                        Ok(outcome) => outcome,
                        Err(_) => {
                            run.abort();
                            run.await
                        }
                    }
                }
            };
            if *stop.borrow() {
                self.update(name, |h| h.state = LoopState::Stopped);
                return;
            }
            if gate.as_ref().is_some_and(|g| !*g.borrow()) {
                continue;
            }
            let failure = match outcome {
                Ok(()) => "it ended on its own".to_string(),
                Err(e) if e.is_panic() => format!("it panicked: {}", panic_text(e.into_panic())),
                Err(_) => "it was cancelled".to_string(),
            };
            if started.elapsed() >= HEALTHY_RUN {
                backoff = FIRST_BACKOFF;
            }
            tracing::error!(task = name, failure = %failure, retry_in = ?backoff, "a background loop stopped; restarting it");
            self.update(name, |h| {
                h.state = LoopState::Restarting;
                h.restarts += 1;
                h.last_failure = Some(failure.clone());
                h.since = Utc::now();
            });
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = stop.wait_for(|s| *s) => {
                    self.update(name, |h| h.state = LoopState::Stopped);
                    return;
                }
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// What every loop is doing, by name.
    pub fn health(&self) -> Vec<LoopHealth> {
        self.lock().values().map(|e| e.health.clone()).collect()
    }

    /// Asks every loop to stop and waits until they have.
    pub async fn shutdown(&self) {
        let _ = self.inner.stop.send(true);
        let tasks: Vec<JoinHandle<()>> = self.lock().values_mut().filter_map(|e| e.supervisor.take()).collect();
        for task in tasks {
            let _ = task.await;
        }
    }

    /// Stops every loop at once, without waiting (from sync code such as a
    /// test's Drop).
    pub fn abort(&self) {
        let _ = self.inner.stop.send(true);
        for entry in self.lock().values_mut() {
            if let Some(task) = entry.supervisor.take() {
                task.abort();
            }
            if let Some(run) = entry.run.take() {
                run.abort();
            }
        }
    }

    fn update(&self, name: &str, change: impl FnOnce(&mut LoopHealth)) {
        if let Some(entry) = self.lock().get_mut(name) {
            change(&mut entry.health);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<&'static str, Entry>> {
        self.inner.loops.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Resolves once pgfleet stops (holding no borrow of the channel).
async fn stopping(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    async fn until(what: &str, mut ok: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !ok() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_loop_that_panics_is_restarted_and_reported() {
        let supervisor = Supervisor::default();
        let runs = Arc::new(AtomicU32::new(0));
        let counted = runs.clone();
        supervisor.spawn("flaky", move |mut stop| {
            let run = counted.fetch_add(1, Ordering::SeqCst);
            async move {
                if run == 0 {
                    panic!("the first run breaks");
                }
                let _ = stop.wait_for(|s| *s).await;
            }
        });
        until("the second run", || runs.load(Ordering::SeqCst) >= 2).await;
        until("running again", || supervisor.health()[0].state == LoopState::Running).await;
        let health = supervisor.health();
        assert_eq!(health.len(), 1);
        assert_eq!(health[0].name, "flaky");
        assert_eq!(health[0].restarts, 1);
        assert_eq!(health[0].last_failure.as_deref(), Some("it panicked: the first run breaks"));
        supervisor.shutdown().await;
        assert_eq!(supervisor.health()[0].state, LoopState::Stopped);
        assert_eq!(runs.load(Ordering::SeqCst), 2, "a stopped loop is not restarted");
    }

    #[tokio::test(start_paused = true)]
    async fn a_loop_that_ends_early_backs_off_longer_each_time() {
        let supervisor = Supervisor::default();
        let runs = Arc::new(AtomicU32::new(0));
        let counted = runs.clone();
        supervisor.spawn("quitter", move |_| {
            counted.fetch_add(1, Ordering::SeqCst);
            async {}
        });
        let started = tokio::time::Instant::now();
        until("four runs", || runs.load(Ordering::SeqCst) >= 4).await;
        // 1 s + 2 s + 4 s of backoff between the four runs.
        assert!(started.elapsed() >= Duration::from_secs(7), "{:?}", started.elapsed());
        let health = supervisor.health();
        assert!(health[0].restarts >= 3);
        assert_eq!(health[0].last_failure.as_deref(), Some("it ended on its own"));
        supervisor.shutdown().await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_gated_loop_runs_only_while_its_gate_is_open() {
        let supervisor = Supervisor::default();
        let (gate, gated) = watch::channel(false);
        let runs = Arc::new(AtomicU32::new(0));
        let counted = runs.clone();
        supervisor.spawn_gated("leader-only", gated, move |mut stop| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move {
                let _ = stop.wait_for(|s| *s).await;
            }
        });
        until("standing by", || supervisor.health()[0].state == LoopState::Standby).await;
        assert_eq!(runs.load(Ordering::SeqCst), 0, "a closed gate starts nothing");

        gate.send_replace(true);
        until("running", || supervisor.health()[0].state == LoopState::Running).await;
        assert_eq!(runs.load(Ordering::SeqCst), 1);

        gate.send_replace(false);
        until("standing by again", || supervisor.health()[0].state == LoopState::Standby).await;
        assert_eq!(supervisor.health()[0].restarts, 0, "stepping down is not a failure");

        gate.send_replace(true);
        until("the second run", || runs.load(Ordering::SeqCst) == 2).await;
        supervisor.shutdown().await;
        assert_eq!(supervisor.health()[0].state, LoopState::Stopped);
    }

    #[tokio::test(start_paused = true)]
    async fn a_gated_loop_that_ignores_its_stop_is_aborted_after_the_grace() {
        let supervisor = Supervisor::default();
        let (gate, gated) = watch::channel(true);
        let (started, finished) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
        let (starts, counted) = (started.clone(), finished.clone());
        supervisor.spawn_gated("stubborn", gated, move |_| {
            starts.fetch_add(1, Ordering::SeqCst);
            let counted = counted.clone();
            async move {
                // A step that does not look at its stop signal.
                tokio::time::sleep(Duration::from_secs(3600)).await;
                counted.fetch_add(1, Ordering::SeqCst);
            }
        });
        until("the run", || started.load(Ordering::SeqCst) == 1).await;
        let closed = tokio::time::Instant::now();
        gate.send_replace(false);
        until("standing by", || supervisor.health()[0].state == LoopState::Standby).await;
        assert!(closed.elapsed() >= STEP_DOWN_GRACE && closed.elapsed() < Duration::from_secs(3600));
        assert_eq!(finished.load(Ordering::SeqCst), 0, "the step was aborted, not finished");
        supervisor.shutdown().await;
    }
}
