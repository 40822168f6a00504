//! When a server that stopped is started again: at once, then after each
//! failed start twice as long as before (1 s, 2 s, 4 s, … at most
//! [`MAX_BACKOFF`]), for up to [`GIVE_UP_AFTER`] since it first failed; only
//! then is the database `failed`. A server whose old backends still hold
//! its shared memory, or whose port someone took, comes back as soon as it
//! can, while it is shown as `restarting` with the reason.
//!
//! The policy is a pure function of attempts and time, tested on its own;
//! the reconciler keeps one [`Restarts`] per database that is down.

use std::time::{Duration, Instant};

pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(10 * 60);

/// One database's run of failed starts.
#[derive(Clone, Debug)]
pub struct Restarts {
    pub attempts: u32,
    since: Instant,
    next: Instant,
}

/// What to do after a start failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterFailure {
    RetryIn(Duration),
    GiveUp,
}

impl Restarts {
    pub fn new(now: Instant) -> Self {
        Restarts { attempts: 0, since: now, next: now }
    }

    /// Whether the next start may be tried at `now`.
    pub fn due(&self, now: Instant) -> bool {
        now >= self.next
    }

    /// Records a failed start at `now`.
    pub fn failed(&mut self, now: Instant) -> AfterFailure {
        self.attempts += 1;
        if now.duration_since(self.since) >= GIVE_UP_AFTER {
            return AfterFailure::GiveUp;
        }
        let delay = backoff(self.attempts);
        self.next = now + delay;
        AfterFailure::RetryIn(delay)
    }
}

/// The wait after the `attempts`-th failed start in a row.
pub fn backoff(attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(16);
    (FIRST_BACKOFF * 2u32.pow(doublings)).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_cap() {
        let waits: Vec<u64> = (1..=7).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 10, 10, 10]);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }

    #[test]
    fn keeps_trying_for_minutes_then_gives_up() {
        let start = Instant::now();
        let mut r = Restarts::new(start);
        assert!(r.due(start));
        assert_eq!(r.failed(start), AfterFailure::RetryIn(Duration::from_secs(1)));
        assert!(!r.due(start + Duration::from_millis(500)));
        assert!(r.due(start + Duration::from_secs(1)));
        // Five failures in five seconds are nowhere near giving up.
        let mut now = start;
        for _ in 0..4 {
            now += Duration::from_secs(1);
            assert!(matches!(r.failed(now), AfterFailure::RetryIn(_)));
        }
        assert!(matches!(r.failed(start + GIVE_UP_AFTER - Duration::from_secs(1)), AfterFailure::RetryIn(_)));
        assert_eq!(r.failed(start + GIVE_UP_AFTER), AfterFailure::GiveUp);
    }
}
