//! Uptime over a window from a database's phase history: the share of the
//! window it spent `available`, counted from when it first became
//! available (being made is not downtime).

use app::model::Phase;
use chrono::{DateTime, Duration, Utc};

/// The fraction (0 to 1) of `[now - window, now]` spent available, given
/// phase changes oldest first (the first may be before the window). The
/// count starts when it was first available, or at the window's start if
/// it was in service before; `None` when it has not been yet.
pub fn uptime(changes: &[(DateTime<Utc>, Phase)], window: Duration, now: DateTime<Utc>) -> Option<f64> {
    let window_start = now - window;
    let in_service_before =
        changes.first().is_some_and(|(at, phase)| *at < window_start && *phase != Phase::Provisioning);
    let first_up = changes.iter().find(|(_, phase)| *phase == Phase::Available).map(|(at, _)| *at);
    let start = if in_service_before { window_start } else { first_up?.max(window_start) };
    let span = (now - start).num_milliseconds();
    if changes.is_empty() || span <= 0 {
        return None;
    }
    let mut up_ms = 0;
    for (i, (at, phase)) in changes.iter().enumerate() {
        let from = (*at).max(start);
        let to = changes.get(i + 1).map(|(next, _)| *next).unwrap_or(now).min(now);
        if to > from && *phase == Phase::Available {
            up_ms += (to - from).num_milliseconds();
        }
    }
    Some((up_ms as f64 / span as f64).clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + Duration::minutes(minutes)
    }

    #[test]
    fn counts_only_available_time_inside_the_window() {
        let now = at(24 * 60);
        let day = Duration::hours(24);
        // Made long ago, available all day.
        assert_eq!(uptime(&[(at(-5000), Phase::Available)], day, now), Some(1.0));
        // Down for the last 6 hours of the day.
        let changes = [(at(-10), Phase::Available), (at(18 * 60), Phase::Failed)];
        assert_eq!(uptime(&changes, day, now), Some(0.75));
        // Made 2 hours ago: counted from when it became available, then down
        // for the last 30 minutes.
        let changes = [
            (at(22 * 60), Phase::Provisioning),
            (at(22 * 60 + 30), Phase::Available),
            (at(23 * 60 + 30), Phase::Failed),
        ];
        assert_eq!(uptime(&changes, day, now), Some(2.0 / 3.0));
        // Failed since before the window: no uptime at all.
        assert_eq!(uptime(&[(at(-90), Phase::Failed)], day, now), Some(0.0));
        // Never available, or no history: no number.
        assert_eq!(uptime(&[(at(60), Phase::Provisioning)], day, now), None);
        assert_eq!(uptime(&[], day, now), None);
    }
}
