//! Errors raised while reading lead and event tables.
//!
//! Every variant names the file and, where one exists, the column and the row, so a user can open
//! the file and fix it without guessing.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where in an input file a problem sits.
///
/// CSV rows are reported by their physical line (the header is line 1) because that is what an
/// editor shows; Parquet rows by their 1-based data row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file being read.
    pub path: PathBuf,
    /// Line (CSV) or row (Parquet) of the problem.
    pub position: Position,
}

/// A line of a text file or a row of a columnar file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// Physical line in a CSV file, header = line 1.
    Line(u64),
    /// 1-based data row of a Parquet file.
    Row(u64),
}

impl Location {
    /// A location in `path`.
    pub fn new(path: &Path, position: Position) -> Self {
        Self {
            path: path.to_path_buf(),
            position,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Position::Line(line) => write!(f, "{}, line {line}", self.path.display()),
            Position::Row(row) => write!(f, "{}, row {row}", self.path.display()),
        }
    }
}

/// What went wrong reading or validating an input table.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be opened or read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// File being read.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The file has no bytes at all.
    #[error("{} is empty", path.display())]
    EmptyFile {
        /// File being read.
        path: PathBuf,
    },
    /// The file has a header and nothing else.
    #[error("{} has a header but no data rows", path.display())]
    NoRows {
        /// File being read.
        path: PathBuf,
    },
    /// A row has more or fewer fields than the header.
    #[error("{at}: {found} fields where the header has {expected} (a stray separator or quote?)")]
    RaggedRow {
        /// Row with the wrong field count.
        at: Location,
        /// Fields in the header.
        expected: u64,
        /// Fields in this row.
        found: u64,
    },
    /// The CSV reader could not parse the file.
    #[error("{at}: malformed CSV: {message}")]
    MalformedCsv {
        /// Where parsing failed.
        at: Location,
        /// What the reader said.
        message: String,
    },
    /// The separator given does not split the header, but another one does.
    #[error(
        "{}: with separator {given:?} the header is one column ({header:?}); the file looks {guess:?}-separated (pass --sep '{guess}' or leave --sep out)",
        path.display()
    )]
    WrongSeparator {
        /// File being read.
        path: PathBuf,
        /// Separator the user asked for.
        given: char,
        /// Separator that splits the header.
        guess: char,
        /// The header as read with the given separator (shortened).
        header: String,
    },
    /// A column the configuration relies on is absent.
    #[error("{}: no {role} column `{column}`{hint}; the columns are: {available}", path.display())]
    MissingColumn {
        /// File being read.
        path: PathBuf,
        /// Name that was looked for.
        column: String,
        /// What the column was for (id, outcome, timestamp, ...).
        role: &'static str,
        /// A "did you mean" hint, possibly empty.
        hint: String,
        /// The columns the file does have.
        available: String,
    },
    /// Two columns share a name.
    #[error("{}: the column name `{column}` appears twice in the header", path.display())]
    DuplicateColumn {
        /// File being read.
        path: PathBuf,
        /// Repeated name.
        column: String,
    },
    /// A lead id is empty.
    #[error("{at}: empty lead id in column `{column}`")]
    MissingId {
        /// Row with the empty id.
        at: Location,
        /// Id column.
        column: String,
    },
    /// A lead id appears twice.
    #[error("{at}: lead id `{id}` in column `{column}` already appeared at {first}")]
    DuplicateId {
        /// Second occurrence.
        at: Location,
        /// Id column.
        column: String,
        /// The repeated id.
        id: String,
        /// First occurrence (line or row).
        first: String,
    },
    /// An outcome value is neither positive, negative nor open.
    #[error(
        "{at}: outcome `{value}` in column `{column}` is neither positive ({positive}) nor negative ({negative}); name it with --positive, --negative or --open"
    )]
    UnknownOutcome {
        /// Row with the value.
        at: Location,
        /// Outcome column.
        column: String,
        /// The value found.
        value: String,
        /// Values taken as won.
        positive: String,
        /// Values taken as lost.
        negative: String,
    },
    /// Positive or negative values cannot be determined without help.
    #[error("{}: column `{column}` {problem}; its values are: {values}", path.display())]
    AmbiguousOutcome {
        /// File being read.
        path: PathBuf,
        /// Outcome column.
        column: String,
        /// What could not be decided, and the flag that decides it.
        problem: String,
        /// Distinct values with counts.
        values: String,
    },
    /// A value listed as positive is also listed as negative or open.
    #[error("outcome value `{value}` is listed both as {first} and as {second}")]
    ConflictingOutcomeValue {
        /// The value listed twice.
        value: String,
        /// First list (positive, negative, open).
        first: &'static str,
        /// Second list.
        second: &'static str,
    },
    /// A date or timestamp cell cannot be parsed.
    #[error(
        "{at}: cannot read `{value}` in column `{column}` as a date or timestamp (expected YYYY-MM-DD, YYYY-MM-DD HH:MM:SS or RFC 3339 such as 2024-03-05T14:22:10Z)"
    )]
    BadTimestamp {
        /// Row with the value.
        at: Location,
        /// Date column.
        column: String,
        /// The value found.
        value: String,
    },
    /// A required timestamp is empty.
    #[error("{at}: empty value in required column `{column}`")]
    MissingValue {
        /// Row with the empty value.
        at: Location,
        /// Column.
        column: String,
    },
    /// A numeric cell does not hold a number.
    #[error("{at}: `{value}` in column `{column}` is not a number{why}")]
    BadNumber {
        /// Row with the value.
        at: Location,
        /// Column.
        column: String,
        /// The value found.
        value: String,
        /// Why the column is numeric (override, schema), possibly empty.
        why: String,
    },
    /// A numeric cell holds infinity.
    #[error("{at}: `{value}` in column `{column}` is not a finite number")]
    NotFinite {
        /// Row with the value.
        at: Location,
        /// Column.
        column: String,
        /// The value found.
        value: String,
    },
    /// Training needs won and lost leads.
    #[error(
        "{}: closed leads are all of one class ({won} won, {lost} lost); training needs both won and lost leads — check --positive/--negative",
        path.display()
    )]
    SingleClass {
        /// File being read.
        path: PathBuf,
        /// Won leads.
        won: usize,
        /// Lost leads.
        lost: usize,
    },
    /// A column named in a flag or config file does not exist.
    #[error(
        "{flag} names `{column}`, which is not a column of {}{hint}; its columns are {available}",
        path.display()
    )]
    UnknownColumn {
        /// File being read.
        path: PathBuf,
        /// Flag or setting naming the column.
        flag: &'static str,
        /// The name given.
        column: String,
        /// A "did you mean" hint, possibly empty.
        hint: String,
        /// The file's columns.
        available: String,
    },
    /// A column is both forced numeric and forced categorical.
    #[error("column `{column}` is listed both in --numeric and in --categorical")]
    ConflictingOverride {
        /// The column.
        column: String,
    },
    /// The file extension names no supported format.
    #[error("{}: unknown file type; use .csv, .tsv, .txt or .parquet", path.display())]
    UnknownFormat {
        /// File being read.
        path: PathBuf,
    },
    /// The Parquet reader failed or met a column type it cannot use.
    #[error("{}: {message}", path.display())]
    Parquet {
        /// File being read.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Writing an output table failed.
    #[error("cannot write {}: {message}", path.display())]
    Write {
        /// File being written.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// Suggests the closest column name to `wanted`, as " (did you mean `x`?)", or an empty string.
pub(crate) fn did_you_mean<'a>(
    wanted: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> String {
    let wanted_lower = wanted.to_lowercase();
    let normalise = |s: &str| -> String {
        s.to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect()
    };
    let wanted_norm = normalise(wanted);
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        let distance =
            if candidate.to_lowercase() == wanted_lower || normalise(candidate) == wanted_norm {
                0
            } else {
                edit_distance(&wanted_lower, &candidate.to_lowercase())
            };
        if distance <= 2 && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

impl DataError {
    /// Text that is not UTF-8, at `at`.
    pub(crate) fn not_utf8(at: Location) -> Self {
        Self::MalformedCsv {
            at,
            message: "text is not valid UTF-8; re-save the file as UTF-8".to_owned(),
        }
    }
}

/// Turns a CSV reader error into one that names the line.
pub(crate) fn csv_error(path: &Path, error: csv::Error) -> DataError {
    let line = error.position().map_or(0, csv::Position::line);
    let at = Location::new(path, Position::Line(line));
    match error.into_kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len,
            len,
            pos,
            ..
        } => DataError::RaggedRow {
            at: Location::new(path, Position::Line(pos.map_or(line, |p| p.line()))),
            expected: expected_len,
            found: len,
        },
        csv::ErrorKind::Io(source) => DataError::Io {
            path: path.to_path_buf(),
            source,
        },
        csv::ErrorKind::Utf8 { pos, .. } => DataError::not_utf8(Location::new(
            path,
            Position::Line(pos.map_or(line, |p| p.line())),
        )),
        other => DataError::MalformedCsv {
            at,
            message: format!("{other:?}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            did_you_mean("Outcome", ["outcome", "lead_id"]),
            " (did you mean `outcome`?)"
        );
        assert_eq!(
            did_you_mean("lead id", ["lead_id"]),
            " (did you mean `lead_id`?)"
        );
        assert_eq!(did_you_mean("revenue", ["lead_id", "country"]), "");
    }
}
