//! Columns that should not become features whatever their name: dates, and identifiers.
//!
//! Exports name their dates anything (`engage_date`, `close_date`, `first_contact_date`) and carry
//! ids (`Lead Number`, `Prospect ID`). A date read as a category memorises the calendar — and a
//! close date is only known after the outcome; a sequential id ranks leads by when they arrived.
//! Both look predictive on history and fail on new leads.

use crate::time::parse_timestamp;

/// Whether a cell looks like a date or a timestamp: ISO 8601 or RFC 3339, or three groups of
/// digits separated by `-`, `/` or `.` with a four-digit year first or last (`05/03/2024`,
/// `2024/03/05`, `5.3.2024 14:22`).
pub fn looks_like_date(text: &str) -> bool {
    let text = text.trim();
    if parse_timestamp(text).is_some() {
        return true;
    }
    let date = text.split([' ', 'T']).next().unwrap_or("");
    let groups: Vec<&str> = date.split(['-', '/', '.']).collect();
    if groups.len() != 3
        || groups
            .iter()
            .any(|g| g.is_empty() || !g.bytes().all(|b| b.is_ascii_digit()))
    {
        return false;
    }
    let lengths: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    matches!(lengths.as_slice(), [4, 1..=2, 1..=2] | [1..=2, 1..=2, 4])
}

/// Whether a column's name says it records when a deal ended (`close_date`, `Date Won`,
/// `converted_on`): known only after the outcome.
pub fn names_an_outcome_date(name: &str) -> bool {
    let name = name.to_lowercase();
    [
        "close", "closed", "won", "lost", "convert", "decision", "end_date", "ended",
    ]
    .iter()
    .any(|word| name.contains(word))
}

/// Whether a column's name says it is an identifier (`Lead Number`, `prospect_id`, `uuid`).
fn names_an_identifier(name: &str) -> bool {
    let lower = name.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    words.iter().any(|w| {
        [
            "id", "number", "no", "nr", "num", "key", "uuid", "guid", "ref",
        ]
        .contains(w)
    }) || lower.ends_with("id") && name.ends_with("ID")
}

/// Why a numeric column looks like an identifier, if it does: integers, nearly all distinct, and
/// either named like an id, in row order, or densely numbered.
pub fn numeric_identifier(name: &str, values: &[f64]) -> Option<String> {
    let present: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    if present.len() < 50 || present.iter().any(|v| v.fract() != 0.0) {
        return None;
    }
    let mut sorted = present.clone();
    sorted.sort_by(f64::total_cmp);
    sorted.dedup();
    if (sorted.len() as f64) < 0.95 * present.len() as f64 {
        return None;
    }
    let increasing = present.windows(2).filter(|w| w[1] > w[0]).count() as f64;
    let monotone = increasing / (present.len() - 1) as f64;
    let span = sorted[sorted.len() - 1] - sorted[0] + 1.0;
    let dense = sorted.len() as f64 / span;
    let why = if names_an_identifier(name) {
        "its name and distinct whole numbers"
    } else if !(0.05..=0.95).contains(&monotone) {
        "distinct whole numbers in row order"
    } else if dense > 0.5 {
        "distinct, densely numbered whole numbers"
    } else {
        return None;
    };
    Some(format!(
        "looks like an identifier ({why}: {} distinct in {} rows)",
        sorted.len(),
        present.len()
    ))
}

/// Why a text column looks like an identifier or free text, if it does: nearly one distinct value
/// per row.
pub fn text_identifier(distinct: usize, present: usize) -> Option<String> {
    (present >= 50 && distinct as f64 >= 0.95 * present as f64).then(|| {
        format!(
            "looks like an identifier or free text ({distinct} distinct values in {present} rows)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_common_shapes() {
        for date in [
            "2024-03-05",
            "2024-03-05 14:22:10",
            "05/03/2024",
            "3/5/2024 2:22",
            "2024/03/05",
            "5.3.2024",
        ] {
            assert!(looks_like_date(date), "{date}");
        }
        for other in ["12", "1-10", "201-1000", "v1.2.3", "12/2024", "2024"] {
            assert!(!looks_like_date(other), "{other}");
        }
    }

    #[test]
    fn outcome_dates_and_identifiers_by_name() {
        assert!(names_an_outcome_date("close_date"));
        assert!(names_an_outcome_date("Date Won"));
        assert!(!names_an_outcome_date("first_contact_date"));
        assert!(names_an_identifier("Lead Number"));
        assert!(names_an_identifier("prospect_id"));
        assert!(names_an_identifier("ProspectID"));
        assert!(!names_an_identifier("annual_revenue"));
        assert!(!names_an_identifier("video"));
    }

    #[test]
    fn sequential_ids_but_not_amounts() {
        let ids: Vec<f64> = (0..200).map(|i| f64::from(579_533 + 7 * i)).collect();
        assert!(numeric_identifier("Lead Number", &ids).is_some());
        assert!(numeric_identifier("x", &ids).is_some(), "in row order");
        let amounts: Vec<f64> = (0..200)
            .map(|i| f64::from((i * 7_919) % 200) * 1_000.0 + 17.0)
            .collect();
        assert!(numeric_identifier("revenue", &amounts).is_none());
        let repeated: Vec<f64> = (0..200).map(|i| f64::from(i % 20)).collect();
        assert!(numeric_identifier("Lead Number", &repeated).is_none());
    }
}
