//! The one supervisor every background loop of pgfleet runs under (the
//! reconciler, the lease keeper, the public status feed).
//!
//! A loop that panics or returns while pgfleet is not stopping is logged,
//! counted and started again after a backoff (1 s, doubling to 30 s; reset
//! once it has run for a minute). What each loop is doing is kept for
//! `/healthz`, so a loop in trouble is never silent. Stopping asks every
//! loop through a watch channel and waits for it to finish.

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
        let health = LoopHealth {
            name: name.to_string(),
            state: LoopState::Running,
            restarts: 0,
            last_failure: None,
            since: Utc::now(),
        };
        self.lock().insert(name, Entry { health, supervisor: None, run: None });
        let this = self.clone();
        let task = tokio::spawn(async move { this.supervise(name, make).await });
        if let Some(entry) = self.lock().get_mut(name) {
            entry.supervisor = Some(task);
        }
    }

    async fn supervise<F, Fut>(self, name: &'static str, make: F)
    where
        F: Fn(watch::Receiver<bool>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mut stop = self.inner.stop.subscribe();
        let mut backoff = FIRST_BACKOFF;
        loop {
            let started = Instant::now();
            let run = tokio::spawn(make(stop.clone()));
            self.update(name, |h| {
                h.state = LoopState::Running;
                h.since = Utc::now();
            });
            if let Some(entry) = self.lock().get_mut(name) {
                entry.run = Some(run.abort_handle());
            }
            let outcome = run.await;
            if *stop.borrow() {
                self.update(name, |h| h.state = LoopState::Stopped);
                return;
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
}
