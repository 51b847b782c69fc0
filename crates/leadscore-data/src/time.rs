//! Dates and timestamps as seconds since the Unix epoch (UTC).
//!
//! Event logs hold millions of timestamps, so the common ISO 8601 shapes are parsed by hand;
//! anything with a zone offset falls back to chrono's RFC 3339 parser.

use chrono::{DateTime, NaiveDate, Utc};

/// Seconds in a day.
pub const SECONDS_PER_DAY: i64 = 86_400;

/// Parses `YYYY-MM-DD`, `YYYY-MM-DD[T ]HH:MM[:SS[.fff]]` (UTC) or RFC 3339 with `Z` or an offset,
/// returning whole seconds since the epoch. Returns `None` for anything else.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let text = text.trim();
    let bytes = text.as_bytes();
    if bytes.len() < 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let year = digits(&bytes[0..4])?;
    let month = digits(&bytes[5..7])?;
    let day = digits(&bytes[8..10])?;
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    let midnight = date.and_hms_opt(0, 0, 0)?.and_utc().timestamp();
    if bytes.len() == 10 {
        return Some(midnight);
    }
    if bytes[10] != b'T' && bytes[10] != b' ' && bytes[10] != b't' {
        return None;
    }
    let rest = &bytes[11..];
    if rest.len() < 5 || rest[2] != b':' {
        return None;
    }
    let hour = digits(&rest[0..2])?;
    let minute = digits(&rest[3..5])?;
    let mut cursor = 5;
    let mut second = 0;
    if rest.len() >= 8 && rest[5] == b':' {
        second = digits(&rest[6..8])?;
        cursor = 8;
        if rest.len() > cursor && (rest[cursor] == b'.' || rest[cursor] == b',') {
            cursor += 1;
            let start = cursor;
            while cursor < rest.len() && rest[cursor].is_ascii_digit() {
                cursor += 1;
            }
            if cursor == start {
                return None;
            }
        }
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let local = midnight + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second);
    match &rest[cursor..] {
        [] | [b'Z'] | [b'z'] => Some(local),
        _ => DateTime::parse_from_rfc3339(&text.replace(' ', "T"))
            .ok()
            .map(|parsed| parsed.with_timezone(&Utc).timestamp()),
    }
}

fn digits(bytes: &[u8]) -> Option<u32> {
    bytes.iter().try_fold(0u32, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
    })
}

/// Formats epoch seconds as RFC 3339 in UTC (`2024-03-05T14:22:10Z`).
pub fn format_timestamp(seconds: i64) -> String {
    DateTime::<Utc>::from_timestamp(seconds, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| seconds.to_string())
}

/// Formats epoch seconds as a calendar date (`2024-03-05`).
pub fn format_date(seconds: i64) -> String {
    DateTime::<Utc>::from_timestamp(seconds, 0)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| seconds.to_string())
}

/// The current time in epoch seconds.
pub fn now() -> i64 {
    Utc::now().timestamp()
}

/// Milliseconds since the Unix epoch, now.
pub fn now_millis() -> i64 {
    Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_shapes() {
        assert_eq!(parse_timestamp("1970-01-02"), Some(86_400));
        assert_eq!(parse_timestamp("2024-03-05T14:22:10Z"), Some(1_709_648_530));
        assert_eq!(parse_timestamp("2024-03-05 14:22:10"), Some(1_709_648_530));
        assert_eq!(
            parse_timestamp("2024-03-05T14:22:10.250Z"),
            Some(1_709_648_530)
        );
        assert_eq!(parse_timestamp("2024-03-05T14:22"), Some(1_709_648_520));
        assert_eq!(
            parse_timestamp("2024-03-05T16:22:10+02:00"),
            Some(1_709_648_530)
        );
        assert_eq!(parse_timestamp(" 2024-03-05 "), Some(1_709_596_800));
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "yesterday",
            "2024-13-01",
            "2024-02-30",
            "05/03/2024",
            "2024-03-05T25:00",
            "2024-03-05X",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats_round_trip() {
        let t = parse_timestamp("2025-11-23T08:00:00Z").expect("valid");
        assert_eq!(format_timestamp(t), "2025-11-23T08:00:00Z");
        assert_eq!(format_date(t), "2025-11-23");
    }
}
