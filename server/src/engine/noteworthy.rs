//! Whether a new measurement is worth telling people: lag and sizes are
//! measured every second or so, but an event (and a row in the replay log)
//! is due only when what a person would read has changed.

use app::model::{Archiving, Info, Lag, RestoreWindow};

/// Whether a follower's lag moved enough to tell: to or from zero, across
/// a displayed unit (the bytes as `app::format::bytes` writes them, below
/// 1 KB as one bucket), or by a whole second (ten above a minute).
pub fn lag_changed(before: Option<&Lag>, now: Option<&Lag>) -> bool {
    match (before, now) {
        (None, None) => false,
        (Some(_), None) | (None, Some(_)) => true,
        (Some(a), Some(b)) => {
            bytes_bucket(a.bytes) != bytes_bucket(b.bytes) || seconds_bucket(a.seconds) != seconds_bucket(b.seconds)
        }
    }
}

/// Whether a probe's size, tables, connections or version changed as a
/// person reads them.
pub fn info_changed(before: Option<&Info>, now: &Info) -> bool {
    let Some(a) = before else { return true };
    app::format::bytes(a.data_size_bytes) != app::format::bytes(now.data_size_bytes)
        || a.unshared_bytes.map(app::format::bytes) != now.unshared_bytes.map(app::format::bytes)
        || a.tables != now.tables
        || a.connections != now.connections
        || a.max_connections != now.max_connections
        || a.pg_version != now.pg_version
}

/// Whether a primary's restore window or archiving changed as a person
/// reads them. The window's end is "now" while archiving works, so it
/// alone moving is not news; its start, the backups, the stored size and
/// a warning are.
pub fn recoverability_changed(
    before: (Option<&RestoreWindow>, Option<&Archiving>),
    now: (Option<&RestoreWindow>, Option<&Archiving>),
) -> bool {
    let window = |w: Option<&RestoreWindow>| w.map(|w| w.from);
    let archiving = |a: Option<&Archiving>| {
        a.map(|a| {
            (a.warning.clone(), a.backups, a.last_backup_at, app::format::bytes(a.stored_bytes), a.failing.is_some())
        })
    };
    window(before.0) != window(now.0) || archiving(before.1) != archiving(now.1)
}

fn bytes_bucket(bytes: u64) -> String {
    match bytes {
        0 => "0".into(),
        1..=999 => "<1 KB".into(),
        _ => app::format::bytes(bytes),
    }
}

fn seconds_bucket(seconds: f64) -> i64 {
    let s = seconds.max(0.0);
    if s < 60.0 {
        s.floor() as i64
    } else {
        (s / 10.0).floor() as i64 * 10
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lag(bytes: u64, seconds: f64) -> Lag {
        Lag { bytes, seconds }
    }

    #[test]
    fn small_moves_of_lag_are_not_news() {
        assert!(!lag_changed(Some(&lag(120, 0.1)), Some(&lag(640, 0.3))), "both under a kilobyte and a second");
        assert!(!lag_changed(Some(&lag(22_100_000, 2.2)), Some(&lag(22_400_000, 2.9))), "still 22 MB, 2 s");
        assert!(!lag_changed(Some(&lag(5_000_000, 71.0)), Some(&lag(5_000_000, 78.0))), "still about 70 s");
        assert!(!lag_changed(None, None));
    }

    #[test]
    fn lag_that_a_person_reads_differently_is_news() {
        assert!(lag_changed(Some(&lag(0, 0.0)), Some(&lag(10, 0.0))), "caught up no longer");
        assert!(lag_changed(Some(&lag(10, 0.0)), Some(&lag(0, 0.0))), "caught up");
        assert!(lag_changed(Some(&lag(22_000_000, 2.0)), Some(&lag(23_000_000, 2.0))));
        assert!(lag_changed(Some(&lag(1_000, 1.2)), Some(&lag(1_000, 2.1))));
        assert!(lag_changed(None, Some(&lag(0, 0.0))));
        assert!(lag_changed(Some(&lag(0, 0.0)), None));
    }

    #[test]
    fn info_is_news_when_its_words_change() {
        let a = Info {
            pg_version: "15.18".into(),
            data_size_bytes: 7_500_000,
            unshared_bytes: None,
            tables: 3,
            connections: 1,
            max_connections: 20,
            probed_at: chrono::Utc::now(),
        };
        let mut b = a.clone();
        b.data_size_bytes = 7_540_000;
        b.probed_at = chrono::Utc::now();
        assert!(!info_changed(Some(&a), &b), "7.5 MB either way");
        b.connections = 2;
        assert!(info_changed(Some(&a), &b));
        assert!(info_changed(None, &a));
    }
}
