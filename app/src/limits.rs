//! The ranges every number a person sends must fall in before it reaches
//! the store or date arithmetic. One module, used by the access layer that
//! both the API and the console's server functions go through.
//!
//! The bounds are chosen so no accepted value can overflow anything it is
//! added to: a time to live or an extension of at most [`MAX_LIFETIME_SECONDS`]
//! added to any time before year 9000 stays a readable RFC 3339 timestamp.

use chrono::{DateTime, Duration, Utc};

use crate::model::{ApiError, ErrorCode};

/// The longest time to live, extension or guard-rail setting: one year.
pub const MAX_LIFETIME_SECONDS: i64 = 366 * 24 * 3600;
/// The shortest default time to live admins may set for members' forks.
pub const MIN_DEFAULT_TTL_SECONDS: i64 = 60;
/// The largest per-member fork quota.
pub const MAX_FORK_QUOTA: i64 = 1000;

/// A number the caller sent, checked to lie in `min..=max`; the error names
/// the field and the range in words a person reads.
pub fn in_range(field: &str, value: i64, min: i64, max: i64) -> Result<i64, ApiError> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(ApiError::new(ErrorCode::Unprocessable, format!("{field} must be from {min} to {max}; it was {value}")))
    }
}

/// A time to live or extension in seconds: 1 s to a year.
pub fn lifetime(field: &str, seconds: i64) -> Result<Duration, ApiError> {
    in_range(field, seconds, 1, MAX_LIFETIME_SECONDS).map(Duration::seconds)
}

/// `at + seconds`, refused (never panicking) when it would leave the range
/// of times the store can hold.
pub fn later(at: DateTime<Utc>, by: Duration) -> Result<DateTime<Utc>, ApiError> {
    at.checked_add_signed(by)
        .filter(|t| t.timestamp() < LATEST_TIMESTAMP)
        .ok_or_else(|| ApiError::new(ErrorCode::Unprocessable, "that time lies too far in the future to be kept"))
}

/// 9000-01-01T00:00:00Z: timestamps stay four-digit years in RFC 3339.
const LATEST_TIMESTAMP: i64 = 221_845_392_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_refuse_with_the_field_and_bounds() {
        assert_eq!(in_range("quota", 3, 0, 10), Ok(3));
        let e = in_range("quota", 11, 0, 10).unwrap_err();
        assert_eq!(e.code, ErrorCode::Unprocessable);
        assert!(e.message.contains("quota") && e.message.contains("0 to 10"), "{}", e.message);
        assert!(lifetime("seconds", 0).is_err());
        assert!(lifetime("seconds", i64::MAX).is_err());
        assert!(lifetime("seconds", MAX_LIFETIME_SECONDS).is_ok());
    }

    #[test]
    fn later_never_overflows() {
        let now = Utc::now();
        assert!(later(now, Duration::seconds(MAX_LIFETIME_SECONDS)).is_ok());
        assert!(later(DateTime::<Utc>::MAX_UTC, Duration::seconds(1)).is_err());
        let near_end = DateTime::from_timestamp(LATEST_TIMESTAMP - 10, 0).unwrap();
        assert!(later(near_end, Duration::seconds(11)).is_err());
        assert_eq!(DateTime::from_timestamp(LATEST_TIMESTAMP, 0).unwrap().to_rfc3339(), "9000-01-01T00:00:00+00:00");
    }
}
