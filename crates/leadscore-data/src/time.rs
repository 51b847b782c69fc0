//! Dates and timestamps as seconds since the Unix epoch (UTC).
//!
//! Event logs hold millions of timestamps, so the common ISO 8601 shapes are parsed by hand;
//! anything with a zone offset falls back to chrono's RFC 3339 parser.

use chrono::{DateTime, Datelike, Timelike, Utc};

/// Seconds in a day.
pub const SECONDS_PER_DAY: i64 = 86_400;

/// Parses `YYYY-MM-DD`, `YYYY-MM-DD[T ]HH:MM[:SS[.fff]]` (UTC) or RFC 3339 with `Z` or an offset,
/// returning whole seconds since the epoch. Returns `None` for anything else.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    parse_timestamp_after(text, &mut LastDate::default())
}

/// The date part (`YYYY-MM-DD`) of the last time read and its midnight. An event log is written
/// in time order, thousands of events a day: [`parse_timestamp_after`] reads each date once.
#[derive(Debug, Default, Clone)]
pub struct LastDate {
    date: [u8; 10],
    midnight: Option<i64>,
}

/// [`parse_timestamp`] of a time read after the one `last` holds, whose date is taken from it
/// when the same (the same value either way); `last` then holds this one's.
pub fn parse_timestamp_after(text: &str, last: &mut LastDate) -> Option<i64> {
    let text = crate::value::trim_cell(text);
    let bytes = text.as_bytes();
    if bytes.len() < 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let midnight = match last.midnight {
        Some(midnight) if bytes[..10] == last.date => midnight,
        _ => {
            let year = digits(&bytes[0..4])?;
            let month = digits(&bytes[5..7])?;
            let day = digits(&bytes[8..10])?;
            let midnight = days_from_epoch(year, month, day)? * SECONDS_PER_DAY;
            last.date.copy_from_slice(&bytes[..10]);
            last.midnight = Some(midnight);
            midnight
        }
    };
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

/// Days from 1970-01-01 to a valid date of the proleptic Gregorian calendar (the one chrono
/// uses), `None` for a month or day that does not exist. Event logs hold millions of dates: this
/// is plain arithmetic (Howard Hinnant's `days_from_civil`) where building a chrono date is not.
fn days_from_epoch(year: u32, month: u32, day: u32) -> Option<i64> {
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let month_days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if day == 0 || day > month_days {
        return None;
    }
    // Years counted from March, so that a leap day ends its year.
    let year = i64::from(year) - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    Some(era * 146_097 + day_of_era - 719_468)
}

fn digits(bytes: &[u8]) -> Option<u32> {
    bytes.iter().try_fold(0u32, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
    })
}

/// Formats epoch seconds as RFC 3339 in UTC (`2024-03-05T14:22:10Z`).
pub fn format_timestamp(seconds: i64) -> String {
    let Some(time) = DateTime::<Utc>::from_timestamp(seconds, 0) else {
        return seconds.to_string();
    };
    let mut text = String::with_capacity(20);
    if !push_date(&mut text, &time) {
        return time.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    }
    for (separator, value) in [
        ('T', time.hour()),
        (':', time.minute()),
        (':', time.second()),
    ] {
        text.push(separator);
        push_two_digits(&mut text, value);
    }
    text.push('Z');
    text
}

/// Formats epoch seconds as a calendar date (`2024-03-05`).
pub fn format_date(seconds: i64) -> String {
    let Some(time) = DateTime::<Utc>::from_timestamp(seconds, 0) else {
        return seconds.to_string();
    };
    let mut text = String::with_capacity(10);
    if !push_date(&mut text, &time) {
        return time.format("%Y-%m-%d").to_string();
    }
    text
}

/// Writes `YYYY-MM-DD` for years 0–9999, the same text as chrono's `%Y-%m-%d` without parsing
/// a format string on every call (answers and records carry two timestamps each); other years,
/// which chrono writes with a sign, are left to chrono.
fn push_date(text: &mut String, time: &DateTime<Utc>) -> bool {
    let Ok(year) = u32::try_from(time.year()) else {
        return false;
    };
    if year > 9999 {
        return false;
    }
    push_two_digits(text, year / 100);
    push_two_digits(text, year % 100);
    text.push('-');
    push_two_digits(text, time.month());
    text.push('-');
    push_two_digits(text, time.day());
    true
}

fn push_two_digits(text: &mut String, value: u32) {
    text.push(char::from(b'0' + (value / 10 % 10) as u8));
    text.push(char::from(b'0' + (value % 10) as u8));
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
    use chrono::NaiveDate;
    use proptest::prelude::*;

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

    #[test]
    fn formats_the_edges_of_four_digit_years_as_chrono_does() {
        for seconds in [
            -62_167_219_201,
            -62_167_219_200,
            -1,
            0,
            253_402_300_799,
            253_402_300_800,
        ] {
            let time = DateTime::<Utc>::from_timestamp(seconds, 0).expect("in range");
            assert_eq!(
                format_timestamp(seconds),
                time.format("%Y-%m-%dT%H:%M:%SZ").to_string()
            );
            assert_eq!(format_date(seconds), time.format("%Y-%m-%d").to_string());
        }
        assert_eq!(format_timestamp(i64::MAX), i64::MAX.to_string());
    }

    #[test]
    fn dates_count_days_as_chrono_does_at_the_edges() {
        for (year, month, day) in [
            (0, 1, 1),
            (0, 2, 29),
            (1900, 2, 28),
            (1969, 12, 31),
            (1970, 1, 1),
            (2000, 2, 29),
            (2024, 12, 31),
            (9999, 12, 31),
        ] {
            let date = NaiveDate::from_ymd_opt(year as i32, month, day).expect("valid");
            let days = date
                .signed_duration_since(NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch"))
                .num_days();
            assert_eq!(days_from_epoch(year, month, day), Some(days), "{date}");
        }
        for (year, month, day) in [(1900, 2, 29), (2023, 2, 29), (2024, 4, 31), (2024, 0, 1)] {
            assert_eq!(days_from_epoch(year, month, day), None);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        /// Every four-digit date and time reads as chrono reads it, and a day a month lacks is
        /// refused as chrono refuses it.
        #[test]
        fn parses_as_chrono_does(
            year in 0u32..10_000, month in 1u32..13, day in 1u32..32,
            hour in 0u32..24, minute in 0u32..60, second in 0u32..60,
        ) {
            let text = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z");
            let chrono = NaiveDate::from_ymd_opt(year as i32, month, day)
                .and_then(|date| date.and_hms_opt(hour, minute, second))
                .map(|time| time.and_utc().timestamp());
            prop_assert_eq!(parse_timestamp(&text), chrono);
        }

        /// Times read one after another with the last date remembered read as each alone:
        /// repeated dates, other dates, days a month lacks, and texts that are no time.
        #[test]
        fn a_remembered_date_reads_as_the_date_itself(texts in proptest::collection::vec(prop_oneof![
            (0u32..3, 0u32..24).prop_map(|(day, hour)| format!("2024-02-{:02}T{hour:02}:05:00Z", 28 + day)),
            (0u32..3, 0u32..24).prop_map(|(day, hour)| format!("2023-02-{:02} {hour:02}:30", 28 + day)),
            Just("2024-02-29".to_owned()),
            Just("2024-02-29x".to_owned()),
            Just("2024-02-2".to_owned()),
            Just(" 2024-03-01T00:00:00+02:00".to_owned()),
            "[0-9: T-]{0,20}",
        ], 0..40)) {
            let mut last = LastDate::default();
            for text in &texts {
                prop_assert_eq!(parse_timestamp_after(text, &mut last), parse_timestamp(text), "{}", text);
            }
        }

        /// The hand-written formats agree with chrono's, for years 0-9999 and beyond.
        #[test]
        fn formats_as_chrono_does(seconds in prop_oneof![
            -62_167_219_200i64..253_402_300_800,
            -8_000_000_000_000i64..8_000_000_000_000,
        ]) {
            let time = DateTime::<Utc>::from_timestamp(seconds, 0).expect("in range");
            prop_assert_eq!(format_timestamp(seconds), time.format("%Y-%m-%dT%H:%M:%SZ").to_string());
            prop_assert_eq!(format_date(seconds), time.format("%Y-%m-%d").to_string());
        }
    }
}
