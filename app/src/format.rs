//! How numbers read for people: sizes, durations, lag, times. Shared by the
//! console and the CLI so both say the same thing the same way.

use chrono::{DateTime, Datelike, Timelike, Utc};

/// `1536` → `"1.5 KB"`; decimal units, as `pg_size_pretty` readers expect.
///
/// Here and below, numbers are rounded and written with integers: writing
/// an `f64` (`{:.1}`) brings core's float printing into the console's
/// WASM, for a handful of one-decimal figures.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut div: u64 = 1;
    let mut unit = 0;
    while n / div >= 1000 && unit < UNITS.len() - 1 {
        div *= 1000;
        unit += 1;
    }
    if unit == 0 {
        return format!("{n} B");
    }
    let (n, div) = (u128::from(n), u128::from(div));
    let tenths = (n * 10 + div / 2) / div;
    if tenths < 100 {
        format!("{} {}", tenths_text(tenths as u64), UNITS[unit])
    } else {
        format!("{} {}", ((n + div / 2) / div) as u64, UNITS[unit])
    }
}

/// A count of tenths as a decimal: `15` → `"1.5"`.
fn tenths_text(tenths: u64) -> String {
    format!("{}.{}", tenths / 10, tenths % 10)
}

/// `v` rounded to tenths, as a count of them.
fn tenths(v: f64) -> u64 {
    (v * 10.0).round() as u64
}

/// A measured value in its unit: `"1.5 MB"`, `"12 MB/s"`, `"102/s"`,
/// `"4"`, `"99.5%"`, `"3s"`.
/// `1,234,567`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// How far a piece of long work is, in its unit: `12 MB / 40 MB` or
/// `1,000 / 5,000 rows`.
pub fn done_of(done: u64, total: u64, unit: crate::model::ProgressUnit) -> String {
    match unit {
        crate::model::ProgressUnit::Bytes => format!("{} / {}", bytes(done), bytes(total)),
        crate::model::ProgressUnit::Rows => format!("{} / {} rows", count(done), count(total)),
    }
}

pub fn measure(unit: crate::metrics::Unit, v: f64) -> String {
    use crate::metrics::Unit;
    if !v.is_finite() {
        return "unknown".into();
    }
    let v = v.max(0.0);
    match unit {
        Unit::Bytes => bytes(v.round() as u64),
        Unit::BytesPerSecond => format!("{}/s", bytes(v.round() as u64)),
        Unit::PerSecond if v >= 1000.0 => format!("{}k/s", tenths_text(tenths(v / 1000.0))),
        Unit::PerSecond if v >= 10.0 || v == 0.0 => format!("{}/s", v.round() as u64),
        Unit::PerSecond => format!("{}/s", tenths_text(tenths(v))),
        Unit::Count => format!("{}", v.round() as u64),
        Unit::Ratio if v >= 0.999_95 => "100%".into(),
        Unit::Ratio => format!("{}%", tenths_text(tenths(v * 100.0))),
        Unit::Seconds => duration(v),
    }
}

/// `75.0` → `"1m 15s"`.
pub fn duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "unknown".into();
    }
    if seconds < 1.0 {
        return format!("{} ms", (seconds * 1000.0).round() as u64);
    }
    let s = seconds.round() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {}s", s / 60, s % 60),
        _ => format!("{}h {}m", s / 3600, (s % 3600) / 60),
    }
}

/// Time left: whole seconds, rounded up (`0.824` → `"1s"`), since a
/// copy's estimate is not good to the millisecond and "0s" would be a lie.
pub fn eta(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "unknown".into();
    }
    duration(seconds.ceil().max(1.0))
}

/// A follower's lag: `"0 B"` only when it has replayed every byte its
/// source wrote; otherwise how much is left and, once PostgreSQL can say,
/// how old the last replayed change is (`"22 MB behind, 3s"`).
pub fn lag(lag: &crate::model::Lag) -> String {
    if lag.bytes == 0 {
        return "0 B".into();
    }
    let behind = format!("{} behind", bytes(lag.bytes));
    match lag.seconds {
        s if !s.is_finite() || s <= 0.0 => behind,
        s if s < 1.0 => format!("{behind}, under 1s"),
        s => format!("{behind}, {}", duration(s)),
    }
}

/// A failure in one line for a table cell: PostgreSQL's own last fatal
/// words when the message carries its log, else the message's first
/// clause; never more than 140 characters. The page shows the rest.
pub fn short_reason(message: &str) -> String {
    let fatal = ["FATAL:", "PANIC:"].iter().find_map(|k| message.rsplit_once(k)).map(|(_, rest)| rest);
    let head = match fatal {
        Some(rest) => rest.split(" / ").next().unwrap_or(rest),
        None => message.split(['\n', ';']).next().unwrap_or(message),
    }
    .trim();
    const MAX: usize = 140;
    match head.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", head[..cut].trim_end()),
        None => head.to_string(),
    }
}

/// How long ago, roughly: `"40 s ago"`, `"3 min ago"`, `"5 h ago"`, `"2 d ago"`.
pub fn ago(seconds: i64) -> String {
    match seconds.max(0) {
        s @ 0..=59 => format!("{s} s ago"),
        s @ 60..=3599 => format!("{} min ago", s / 60),
        s @ 3600..=86_399 => format!("{} h ago", s / 3600),
        s => format!("{} d ago", s / 86_400),
    }
}

/// A longer span: `259200` → `"3d 0h"`; under a day as [`duration`].
pub fn span(seconds: i64) -> String {
    if seconds >= 86_400 {
        format!("{}d {}h", seconds / 86_400, (seconds % 86_400) / 3600)
    } else {
        duration(seconds.max(0) as f64)
    }
}

/// How much of a UTC time to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// `2026-12-01`
    Date,
    /// `10:02`
    Minutes,
    /// `2026-12-01 10:02`
    DateMinutes,
    /// `10:02:03`
    Seconds,
    /// `2026-12-01 10:02:03`
    DateSeconds,
}

/// A time in UTC, written by hand rather than with chrono's `format`: its
/// format-string parser is ~10 KB of the console's WASM, for a handful of
/// fixed shapes.
pub fn utc(at: DateTime<Utc>, clock: Clock) -> String {
    let date = format!("{:04}-{:02}-{:02}", at.year(), at.month(), at.day());
    let minutes = format!("{:02}:{:02}", at.hour(), at.minute());
    let seconds = format!("{minutes}:{:02}", at.second());
    match clock {
        Clock::Date => date,
        Clock::Minutes => minutes,
        Clock::DateMinutes => format!("{date} {minutes}"),
        Clock::Seconds => seconds,
        Clock::DateSeconds => format!("{date} {seconds}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_read_in_their_units() {
        use crate::metrics::Unit;
        assert_eq!(measure(Unit::Bytes, 1536.0), "1.5 KB");
        assert_eq!(measure(Unit::BytesPerSecond, 12e6), "12 MB/s");
        assert_eq!(measure(Unit::PerSecond, 102.4), "102/s");
        assert_eq!(measure(Unit::PerSecond, 0.5), "0.5/s");
        assert_eq!(measure(Unit::PerSecond, 0.0), "0/s");
        assert_eq!(measure(Unit::PerSecond, 2500.0), "2.5k/s");
        assert_eq!(measure(Unit::Count, 4.0), "4");
        assert_eq!(measure(Unit::Ratio, 0.995), "99.5%");
        assert_eq!(measure(Unit::Ratio, 1.0), "100%");
        assert_eq!(measure(Unit::Seconds, 3.0), "3s");
        assert_eq!(measure(Unit::Count, f64::NAN), "unknown");
    }

    #[test]
    fn times_read_as_chrono_would_write_them() {
        let at = DateTime::parse_from_rfc3339("2026-01-02T03:04:05.678Z").unwrap().with_timezone(&Utc);
        assert_eq!(utc(at, Clock::Date), at.format("%Y-%m-%d").to_string());
        assert_eq!(utc(at, Clock::Minutes), "03:04");
        assert_eq!(utc(at, Clock::DateMinutes), "2026-01-02 03:04");
        assert_eq!(utc(at, Clock::Seconds), at.format("%H:%M:%S").to_string());
        assert_eq!(utc(at, Clock::DateSeconds), at.format("%Y-%m-%d %H:%M:%S").to_string());
    }

    #[test]
    fn sizes_and_durations_read_well() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(1536), "1.5 KB");
        assert_eq!(bytes(12_000_000), "12 MB");
        assert_eq!(bytes(9_960), "10 KB");
        assert_eq!(bytes(9_940), "9.9 KB");
        assert_eq!(bytes(999_999), "1000 KB");
        assert_eq!(bytes(1_000_000), "1.0 MB");
        assert_eq!(bytes(u64::MAX), "18446744 TB");
        assert_eq!(duration(0.25), "250 ms");
        assert_eq!(duration(75.0), "1m 15s");
        assert_eq!(duration(7300.0), "2h 1m");
        assert_eq!(duration(f64::NAN), "unknown");
        assert_eq!(span(259_200), "3d 0h");
        assert_eq!(span(90), "1m 30s");
        assert_eq!(eta(0.824), "1s");
        assert_eq!(eta(0.0), "1s");
        assert_eq!(eta(61.2), "1m 2s");
        assert_eq!(eta(f64::INFINITY), "unknown");
        assert_eq!(ago(-3), "0 s ago");
        assert_eq!(ago(200), "3 min ago");
        assert_eq!(ago(7 * 3600), "7 h ago");
        assert_eq!(ago(3 * 86_400 + 5), "3 d ago");
        assert_eq!(
            short_reason("the server did not start: pg_ctl start failed: exit 1; LOG:  starting / FATAL:  could not create lock file \"/run/x\": Permission denied"),
            "could not create lock file \"/run/x\": Permission denied"
        );
        assert_eq!(short_reason("its source amber is gone"), "its source amber is gone");
        assert_eq!(short_reason("pg_basebackup failed: no space\nmore"), "pg_basebackup failed: no space");
        assert_eq!(short_reason(&"x".repeat(200)).chars().count(), 141);
        use crate::model::Lag;
        assert_eq!(lag(&Lag { bytes: 0, seconds: 0.0 }), "0 B");
        assert_eq!(lag(&Lag { bytes: 1, seconds: 0.0 }), "1 B behind");
        assert_eq!(lag(&Lag { bytes: 22_000_000, seconds: 0.2 }), "22 MB behind, under 1s");
        assert_eq!(lag(&Lag { bytes: 22_000_000, seconds: 3.4 }), "22 MB behind, 3s");
    }
}
