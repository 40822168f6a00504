//! Slows down password guessing: after [`MAX_FAILURES`] failed sign-ins
//! within [`WINDOW`] from one client address (the real client's, behind
//! trusted proxies), further attempts from it are refused until the oldest
//! failure ages out. Other clients are not affected.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const MAX_FAILURES: usize = 5;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

#[derive(Default)]
pub struct Limiter {
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Limiter {
    /// How long until `keys` may try again, if they are locked out.
    pub fn locked_for(&self, keys: &[String]) -> Option<Duration> {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        keys.iter()
            .filter_map(|key| {
                let times = failures.get_mut(key)?;
                while times.front().is_some_and(|t| now.duration_since(*t) > WINDOW) {
                    times.pop_front();
                }
                (times.len() >= MAX_FAILURES).then(|| WINDOW.saturating_sub(now.duration_since(times[0])))
            })
            .max()
    }

    pub fn failed(&self, keys: &[String]) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        for key in keys {
            failures.entry(key.clone()).or_default().push_back(Instant::now());
        }
    }
}
