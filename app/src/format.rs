//! How numbers read for people: sizes, durations, lag. Shared by the console
//! and the CLI so both say the same thing the same way.

/// `1536` → `"1.5 KB"`; decimal units, as `pg_size_pretty` readers expect.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else if value < 10.0 {
        format!("{value:.1} {}", UNITS[unit])
    } else {
        format!("{value:.0} {}", UNITS[unit])
    }
}

/// `75.0` → `"1m 15s"`.
pub fn duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "unknown".into();
    }
    if seconds < 1.0 {
        return format!("{:.0} ms", seconds * 1000.0);
    }
    let s = seconds.round() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {}s", s / 60, s % 60),
        _ => format!("{}h {}m", s / 3600, (s % 3600) / 60),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations_read_well() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(1536), "1.5 KB");
        assert_eq!(bytes(12_000_000), "12 MB");
        assert_eq!(duration(0.25), "250 ms");
        assert_eq!(duration(75.0), "1m 15s");
        assert_eq!(duration(7300.0), "2h 1m");
        assert_eq!(duration(f64::NAN), "unknown");
        assert_eq!(span(259_200), "3d 0h");
        assert_eq!(span(90), "1m 30s");
    }
}
