//! Reading the times pgfleet writes (RFC 3339, as chrono serializes a
//! `DateTime<Utc>`) without chrono's general parser.
//!
//! chrono reads a `DateTime` through its format-item parser, which also
//! carries RFC 2822 and every strftime field: ~15 KB of the console's first
//! page of WASM for the one shape the server writes. The types the first
//! page reads (a database, an event) read their times here, with
//! `#[serde(deserialize_with = "crate::rfc3339::deserialize")]`; what they
//! write is unchanged.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde::{de::Error, Deserialize, Deserializer};

/// `2026-12-06T19:41:19.123456Z`, or with an offset (`+02:00`), or `None`.
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    let b = text.as_bytes();
    let digits = |at: usize, len: usize| -> Option<u32> {
        let part = b.get(at..at + len)?;
        part.iter().all(u8::is_ascii_digit).then(|| part.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
    };
    let separated = b.len() >= 20
        && b[4] == b'-'
        && b[7] == b'-'
        && matches!(b[10], b'T' | b't' | b' ')
        && b[13] == b':'
        && b[16] == b':';
    if !separated {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(digits(0, 4)? as i32, digits(5, 2)?, digits(8, 2)?)?;
    let (hour, minute, second) = (digits(11, 2)?, digits(14, 2)?, digits(17, 2)?);
    let mut at = 19;
    let mut nanos = 0u32;
    if b[at] == b'.' {
        at += 1;
        let start = at;
        while b.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        if at == start {
            return None;
        }
        // Nanoseconds: the first nine digits, padded; the rest are below chrono's precision.
        for place in 0..9 {
            nanos = nanos * 10 + b.get(start + place).filter(|_| start + place < at).map_or(0, |d| u32::from(d - b'0'));
        }
    }
    let offset = match &b[at..] {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let minutes = i64::from(digits(at + 1, 2)?) * 60 + i64::from(digits(at + 4, 2)?);
            if *sign == b'-' {
                -minutes
            } else {
                minutes
            }
        }
        _ => return None,
    };
    let local = date.and_hms_nano_opt(hour, minute, second, nanos)?.and_utc();
    local.checked_sub_signed(TimeDelta::minutes(offset))
}

/// A required time.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    read(&String::deserialize(deserializer)?)
}

/// An optional time (`null` or absent is `None`; give the field
/// `#[serde(default)]` for absent).
pub fn deserialize_option<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    match Option::<String>::deserialize(deserializer)? {
        None => Ok(None),
        Some(text) => read(&text).map(Some),
    }
}

/// [`parse`], with the error a reader gives.
fn read<E: Error>(text: &str) -> Result<DateTime<Utc>, E> {
    parse(text).ok_or_else(|| E::custom(format!("{text:?} is not an RFC 3339 time")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_chrono_writes_and_what_chrono_reads() {
        let samples = [
            "2026-12-06T19:41:19Z",
            "2026-12-06T19:41:19.5Z",
            "2026-12-06T19:41:19.123456Z",
            "2026-12-06T19:41:19.123456789Z",
            "2026-12-06T19:41:19.1234567891Z",
            "2026-12-06T01:41:19+02:30",
            "2026-12-06T23:41:19-05:00",
            "2024-02-29T00:00:00z",
            "1970-01-01 00:00:00Z",
        ];
        for text in samples {
            let chrono: DateTime<Utc> = DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc);
            assert_eq!(parse(text), Some(chrono), "{text}");
        }
        let now = Utc::now();
        let written = serde_json::to_string(&now).unwrap();
        let read = deserialize(&mut serde_json::Deserializer::from_str(&written)).unwrap();
        assert_eq!(read, now);
    }

    #[test]
    fn refuses_what_is_not_a_time() {
        for text in [
            "",
            "2026-12-06",
            "2026-12-06T19:41:19",
            "2026-13-06T19:41:19Z",
            "2026-02-30T19:41:19Z",
            "2026-12-06T24:41:19Z",
            "2026-12-06T19:41:19.Z",
            "2026-12-06T19:41:19+0200",
            "2026-12-06T19:41:19+xx:00",
            "2026-12-06T19:41:19Zjunk",
            "20a6-12-06T19:41:19Z",
            "2026-12-06T19:41:19.12é",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
        let none: Option<DateTime<Utc>> = deserialize_option(&mut serde_json::Deserializer::from_str("null")).unwrap();
        assert_eq!(none, None);
        let bad = deserialize(&mut serde_json::Deserializer::from_str("\"yesterday\"")).unwrap_err();
        assert!(bad.to_string().contains("is not an RFC 3339 time"), "{bad}");
    }
}
