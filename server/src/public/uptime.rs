//! Uptime over a window from a database's phase history: the share of the
//! window it spent `available`, counted from when it first became
//! available (being made is not downtime), and the hour-by-hour bars of the
//! last day.

use app::model::Phase;
use app::status::{ComponentStatus, HourBar};
use chrono::{DateTime, Duration, DurationRound, Utc};

/// The fraction (0 to 1) of `[now - window, now]` spent available, given
/// phase changes oldest first (the first may be before the window). The
/// count starts when it was first available, or at the window's start if
/// it was in service before; `None` when it has not been yet.
pub fn uptime(changes: &[(DateTime<Utc>, Phase)], window: Duration, now: DateTime<Utc>) -> Option<f64> {
    let window_start = now - window;
    let in_service_before =
        changes.first().is_some_and(|(at, phase)| *at < window_start && *phase != Phase::Provisioning);
    let start = if in_service_before { window_start } else { first_available(changes)?.max(window_start) };
    let span = (now - start).num_milliseconds();
    if changes.is_empty() || span <= 0 {
        return None;
    }
    let up_ms: i64 =
        held_within(changes, start, now).filter(|(phase, _)| *phase == Phase::Available).map(|(_, ms)| ms).sum();
    Some((up_ms as f64 / span as f64).clamp(0.0, 1.0))
}

/// Each phase of `changes` (oldest first) with how long, in milliseconds,
/// it was held within `[from, to]`; phases held for none of it are left out.
fn held_within(
    changes: &[(DateTime<Utc>, Phase)],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> impl Iterator<Item = (Phase, i64)> + '_ {
    changes.iter().enumerate().filter_map(move |(i, (at, phase))| {
        let begins = (*at).max(from);
        let ends = changes.get(i + 1).map(|(next, _)| *next).unwrap_or(to).min(to);
        (ends > begins).then(|| (*phase, (ends - begins).num_milliseconds()))
    })
}

/// When it was first available, if it has been (in `changes`).
pub fn first_available(changes: &[(DateTime<Utc>, Phase)]) -> Option<DateTime<Utc>> {
    changes.iter().find(|(_, phase)| *phase == Phase::Available).map(|(at, _)| *at)
}

/// The last 24 hours as 24 bars, the newest ending with the current hour:
/// each the worst status it was in (lag is not in the phase history, so a
/// follower's hour is never "degraded" for lag alone) and its uptime.
/// Hours before it was first available have no status.
pub fn last_day(changes: &[(DateTime<Utc>, Phase)], now: DateTime<Utc>) -> Vec<HourBar> {
    let hour = Duration::hours(1);
    let current = now.duration_trunc(hour).unwrap_or(now);
    let since = first_available(changes);
    (0..24)
        .rev()
        .map(|back| {
            let start = current - hour * back;
            let end = (start + hour).min(now);
            let Some(from) = since.filter(|s| *s < end).map(|s| s.max(start)) else {
                return HourBar { start, status: None, uptime: None };
            };
            let mut worst = ComponentStatus::Operational;
            let mut up_ms = 0;
            for (phase, ms) in held_within(changes, from, end) {
                if phase == Phase::Available {
                    up_ms += ms;
                }
                let status = ComponentStatus::of(phase, None);
                if status.severity() > worst.severity() {
                    worst = status;
                }
            }
            let span = (end - from).num_milliseconds().max(1);
            HourBar { start, status: Some(worst), uptime: Some((up_ms as f64 / span as f64).clamp(0.0, 1.0)) }
        })
        .collect()
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

    #[test]
    fn the_last_day_is_hours_from_the_first_availability() {
        let now = at(24 * 60 + 30);
        // Made 3 hours ago, available half an hour later, failed for 15 minutes
        // in the last hour.
        let changes = [
            (at(21 * 60 + 30), Phase::Provisioning),
            (at(22 * 60), Phase::Available),
            (at(24 * 60 + 10), Phase::Failed),
            (at(24 * 60 + 25), Phase::Available),
        ];
        assert_eq!(first_available(&changes), Some(at(22 * 60)));
        let bars = last_day(&changes, now);
        assert_eq!(bars.len(), 24);
        assert_eq!(bars[23].start, at(24 * 60));
        assert_eq!(bars[0].start, at(60));
        assert!(bars[..21].iter().all(|b| b.status.is_none() && b.uptime.is_none()), "{bars:?}");
        // 22:00-23:00 and 23:00-24:00 all up.
        assert_eq!(bars[21].status, Some(ComponentStatus::Operational));
        assert_eq!(bars[22].uptime, Some(1.0));
        // The current hour so far: 30 minutes, 15 of them failed.
        assert_eq!(bars[23].status, Some(ComponentStatus::MajorOutage));
        assert_eq!(bars[23].uptime, Some(0.5));
    }
}
