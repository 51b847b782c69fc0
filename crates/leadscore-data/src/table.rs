//! Reading a file (delimited text or Parquet) into raw columns.
//!
//! Text cells are interned per column: a column keeps one `u32` per row and each distinct string
//! once, so type inference looks at distinct values only and a million-row export stays small.

use std::borrow::Cow;
use std::fs::File;
use std::hash::BuildHasher;
use std::io::Read;
use std::path::{Path, PathBuf};

use hashbrown::HashTable;
use polars::prelude::{
    BooleanChunked, ChunkApply, DataFrame, DataType, Float64Chunked, Int64Chunked, ParquetReader,
    SerReader, StringChunked, TimeUnit,
};
use rayon::prelude::*;
use rustc_hash::FxBuildHasher;

use crate::blocks::{RecordBlock, RecordBlocks};
use crate::error::{DataError, Location, Position, csv_error};
use crate::sniff::{header_field_count, sniff_separator};

/// A file format leadscore reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// Delimited text; the separator is sniffed unless given.
    Delimited,
    /// Apache Parquet.
    Parquet,
}

impl FileFormat {
    /// The format implied by a file's extension (`.parquet`/`.pq`, otherwise delimited text).
    pub fn of(path: &Path) -> Result<Self, DataError> {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        match extension.as_str() {
            "parquet" | "pq" => Ok(Self::Parquet),
            "csv" | "tsv" | "txt" | "tab" | "psv" | "" => Ok(Self::Delimited),
            _ => Err(DataError::UnknownFormat {
                path: path.to_path_buf(),
            }),
        }
    }
}

/// Distinct strings of a text column and one code per row.
#[derive(Debug, Default)]
pub(crate) struct TextColumn {
    pub codes: Vec<u32>,
    /// The distinct strings one after another, each once: a column of a million distinct ids or
    /// dates holds no string of its own per value.
    text: String,
    /// End of each distinct string in `text`, by code.
    ends: Vec<usize>,
    /// Hash of each distinct string, by code: the index grows without reading strings again.
    hashes: Vec<u64>,
    /// Codes by their string's hash.
    index: HashTable<u32>,
}

fn text_hash(text: &str) -> u64 {
    FxBuildHasher.hash_one(text)
}

impl TextColumn {
    pub fn push(&mut self, cell: &str) {
        let hash = text_hash(cell);
        let code = match self.index.find(hash, |&code| {
            self.hashes[code as usize] == hash && self.value(code) == cell
        }) {
            Some(&code) => code,
            None => {
                let code = u32::try_from(self.ends.len()).unwrap_or(u32::MAX);
                self.text.push_str(cell);
                self.ends.push(self.text.len());
                self.hashes.push(hash);
                let hashes = &self.hashes;
                self.index
                    .insert_unique(hash, code, |&c| hashes[c as usize]);
                code
            }
        };
        self.codes.push(code);
    }

    /// Makes room for the whole file after its first `blocks` (of `file_bytes` bytes in all) were
    /// pushed, as if the rest held rows and distinct strings at their rate: a column of a million
    /// ids or times would otherwise grow, and copy and rehash itself, twenty times.
    fn reserve_like_start(&mut self, blocks: &[RecordBlock], file_bytes: usize) {
        let (bytes, rows) = blocks
            .iter()
            .fold((0, 0), |(b, r), block| (b + block.bytes(), r + block.len()));
        if bytes == 0 || rows == 0 {
            return;
        }
        let scale = file_bytes as f64 / bytes as f64 * 1.02;
        let grow = |have: usize| ((have as f64 * scale) as usize).saturating_sub(have);
        self.codes.reserve(grow(self.codes.len()));
        // A column of few levels keeps them all by now; only one of mostly distinct strings grows.
        if self.ends.len() * 2 > rows {
            let more = grow(self.ends.len());
            self.text.reserve(grow(self.text.len()));
            self.ends.reserve(more);
            self.hashes.reserve(more);
            let hashes = &self.hashes;
            self.index.reserve(more, |&c| hashes[c as usize]);
        }
    }

    /// The distinct string of `code`.
    pub fn value(&self, code: u32) -> &str {
        let code = code as usize;
        let start = if code == 0 { 0 } else { self.ends[code - 1] };
        &self.text[start..self.ends[code]]
    }

    /// The string of row `row`.
    pub fn cell(&self, row: usize) -> &str {
        self.value(self.codes[row])
    }

    /// Number of distinct strings.
    pub fn distinct(&self) -> usize {
        self.ends.len()
    }

    /// The distinct strings in code order.
    pub fn values(&self) -> impl ExactSizeIterator<Item = &str> {
        (0..self.ends.len() as u32).map(|code| self.value(code))
    }

    /// Number of rows holding each distinct value.
    pub fn counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.distinct()];
        for &code in &self.codes {
            counts[code as usize] += 1;
        }
        counts
    }

    /// First row holding the given distinct value.
    pub fn first_row_of(&self, code: u32) -> usize {
        self.codes.iter().position(|&c| c == code).unwrap_or(0)
    }
}

/// One column as read from the file, before any typing decision.
#[derive(Debug)]
pub(crate) enum RawColumn {
    /// Text cells (all of a delimited file; string columns of Parquet).
    Text(TextColumn),
    /// Numeric Parquet column; `None` is null.
    Number(Vec<Option<f64>>),
    /// Date or datetime Parquet column in epoch seconds; `None` is null.
    Time(Vec<Option<i64>>),
}

impl RawColumn {
    /// The cell of row `row` as text (numbers formatted without a trailing `.0`), `None` if null.
    pub fn text(&self, row: usize) -> Option<String> {
        self.cell(row).map(Cow::into_owned)
    }

    /// [`RawColumn::text`] without copying a text cell.
    pub fn cell(&self, row: usize) -> Option<Cow<'_, str>> {
        match self {
            Self::Text(column) => Some(Cow::Borrowed(column.cell(row))),
            Self::Number(values) => values[row].map(|v| Cow::Owned(format_number(v))),
            Self::Time(values) => values[row].map(|t| Cow::Owned(crate::time::format_timestamp(t))),
        }
    }
}

/// Formats a number the way a CSV export would show it (`3`, not `3.0`).
pub fn format_number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format_rounded(value)
    } else {
        value.to_string()
    }
}

/// `format!("{value:.0}")`, the number rounded to a whole one: counts and days in reasons are
/// formatted on every request (see [`push_fixed`]).
pub fn format_rounded(value: f64) -> String {
    let mut text = String::new();
    push_fixed(&mut text, value, 0, false);
    text
}

/// Most decimals [`push_fixed`] writes without the float formatter.
const FAST_DECIMALS: usize = 3;

/// Appends `value` rounded to `decimals` places, the text of `format!("{value:.decimals$}")`, or
/// of `format!("{value:+.decimals$}")` with `plus_sign`. Reasons write their counts, days and
/// contributions this way on every request and for every lead of a batch, and the standard
/// formatter rounds through exact big-number arithmetic; here a value not within a millionth of
/// a tie is scaled, rounded and written as an integer, which gives the same digits, and the rest
/// (ties, large or non-finite values, more decimals) go to the standard formatter.
pub fn push_fixed(text: &mut String, value: f64, decimals: usize, plus_sign: bool) {
    use std::fmt::Write;
    // One rounding error of `scaled` is below 2^-21 for magnitudes below 2^32, so a fraction
    // further than 1e-6 from one half rounds as the exact decimal value does.
    let scaled = value.abs() * [1.0, 10.0, 100.0, 1000.0][decimals.min(FAST_DECIMALS)];
    let near_tie = ((scaled - scaled.trunc()) - 0.5).abs() < 1e-6;
    let fits = scaled < 4_294_967_296.0; // false for NaN and infinities too
    if decimals > FAST_DECIMALS || !fits || near_tie {
        let _ = match plus_sign {
            true => write!(text, "{value:+.decimals$}"),
            false => write!(text, "{value:.decimals$}"),
        };
        return;
    }
    if value.is_sign_negative() {
        text.push('-');
    } else if plus_sign {
        text.push('+');
    }
    let rounded = scaled.round() as u64;
    let unit = 10u64.pow(decimals as u32);
    push_digits(text, rounded / unit, 1);
    if decimals > 0 {
        text.push('.');
        push_digits(text, rounded % unit, decimals);
    }
}

/// Appends the decimal digits of `number`, zeros in front up to `width` digits: the text of
/// `format!("{number:0width$}")`, without the formatter's machinery, which costs more than the
/// rest of [`push_fixed`].
fn push_digits(text: &mut String, mut number: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (number % 10) as u8;
        number /= 10;
        if number == 0 {
            break;
        }
    }
    for _ in digits.len()..width {
        text.push('0');
    }
    let start = start.min(digits.len().saturating_sub(width));
    text.push_str(std::str::from_utf8(&digits[start..]).unwrap_or_default());
}

/// A whole file as raw columns.
#[derive(Debug)]
pub(crate) struct RawTable {
    pub path: PathBuf,
    pub names: Vec<String>,
    pub columns: Vec<RawColumn>,
    pub rows: usize,
    /// Positions of header cells that were empty and got a `unnamed_N` name.
    pub unnamed: Vec<usize>,
    /// Physical line of each row (delimited files only).
    lines: Option<Vec<u64>>,
}

impl RawTable {
    pub fn read(path: &Path, separator: Option<u8>) -> Result<Self, DataError> {
        match FileFormat::of(path)? {
            FileFormat::Delimited => read_delimited(path, separator),
            FileFormat::Parquet => read_parquet(path),
        }
    }

    pub fn location(&self, row: usize) -> Location {
        Location::new(&self.path, self.position(row))
    }

    /// Line (CSV) or 1-based row (Parquet) of data row `row`.
    pub fn position(&self, row: usize) -> Position {
        match &self.lines {
            Some(lines) => Position::Line(lines[row]),
            None => Position::Row(row as u64 + 1),
        }
    }

    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    pub fn available_columns(&self) -> String {
        let mut list: Vec<String> = self
            .names
            .iter()
            .take(30)
            .map(|n| format!("`{n}`"))
            .collect();
        if self.names.len() > 30 {
            list.push(format!("… ({} in all)", self.names.len()));
        }
        list.join(", ")
    }

    pub fn missing_column(&self, column: &str, role: &'static str) -> DataError {
        DataError::MissingColumn {
            path: self.path.clone(),
            column: column.to_owned(),
            role,
            hint: crate::error::did_you_mean(column, self.names.iter().map(String::as_str)),
            available: self.available_columns(),
        }
    }
}

/// Opens a delimited file: checks it is not empty, settles the separator and reads the header;
/// the data records follow in blocks. Cells come untrimmed (the reader's own trimming copies
/// every record); callers trim the cells they read with `str::trim_ascii`, the same whitespace.
pub(crate) fn open_delimited(
    path: &Path,
    separator: Option<u8>,
) -> Result<(RecordBlocks, Vec<String>), DataError> {
    let io_error = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io_error)?;
    let mut head = vec![0u8; 64 * 1024];
    let mut filled = 0;
    loop {
        let read = file.read(&mut head[filled..]).map_err(io_error)?;
        if read == 0 {
            break;
        }
        filled += read;
        if filled == head.len() {
            break;
        }
    }
    head.truncate(filled);
    if head.iter().all(u8::is_ascii_whitespace) || head == b"\xEF\xBB\xBF" {
        return Err(DataError::EmptyFile {
            path: path.to_path_buf(),
        });
    }
    let sniffed = sniff_separator(&head);
    let separator = match (separator, sniffed) {
        (Some(given), Some(guess)) if given != guess && header_field_count(&head, given) == 1 => {
            let header = String::from_utf8_lossy(&head)
                .lines()
                .next()
                .unwrap_or_default()
                .chars()
                .take(60)
                .collect();
            return Err(DataError::WrongSeparator {
                path: path.to_path_buf(),
                given: char::from(given),
                guess: char::from(guess),
                header,
            });
        }
        (Some(given), _) => given,
        (None, guess) => guess.unwrap_or(b','),
    };
    let file = File::open(path).map_err(io_error)?;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(separator)
        .has_headers(true)
        .flexible(false)
        .from_reader(file);
    let headers = reader
        .headers()
        .map_err(|e| csv_error(path, e))?
        .iter()
        .enumerate()
        .map(|(i, h)| match h.trim_start_matches('\u{feff}').trim() {
            // An empty header cell keeps its column under a positional name, so no later column
            // shifts into its place and no data is silently dropped.
            "" => format!("{UNNAMED_PREFIX}{}", i + 1),
            name => name.to_owned(),
        })
        .collect::<Vec<_>>();
    for (i, name) in headers.iter().enumerate() {
        if headers[..i].contains(name) {
            return Err(DataError::DuplicateColumn {
                path: path.to_path_buf(),
                column: name.clone(),
            });
        }
    }
    let data = reader.position();
    let blocks = RecordBlocks::new(path, separator, headers.len(), data.byte(), data.line())?;
    Ok((blocks, headers))
}

/// Name given to the column of an empty header cell: `unnamed_` and its 1-based position.
pub const UNNAMED_PREFIX: &str = "unnamed_";

fn unnamed_positions(names: &[String]) -> Vec<usize> {
    names
        .iter()
        .enumerate()
        .filter(|(i, name)| **name == format!("{UNNAMED_PREFIX}{}", i + 1))
        .map(|(i, _)| i)
        .collect()
}

fn read_delimited(path: &Path, separator: Option<u8>) -> Result<RawTable, DataError> {
    let (mut blocks, names) = open_delimited(path, separator)?;
    let file_bytes = std::fs::metadata(path).map_or(0, |m| m.len() as usize);
    let mut columns: Vec<TextColumn> = names.iter().map(|_| TextColumn::default()).collect();
    let mut lines = Vec::new();
    let (mut current, mut next) = (Vec::new(), Vec::new());
    let mut more = blocks.next_group(&mut current)?;
    let mut sized = false;
    while more {
        if let Some(error) = current.iter_mut().find_map(|block| block.error.take()) {
            return Err(error);
        }
        for block in &current {
            lines.extend_from_slice(block.lines());
        }
        // Each column encodes its cells on its own core, in row order (codes are those of reading
        // one row at a time), while the next blocks are parsed.
        let encode = || {
            columns.par_iter_mut().enumerate().for_each(|(c, column)| {
                for block in &current {
                    for record in 0..block.len() {
                        column.push(block.cell(record, c).trim_ascii());
                    }
                }
                if !sized {
                    column.reserve_like_start(&current, file_bytes);
                }
            });
        };
        let (_, read) = rayon::join(encode, || blocks.next_group(&mut next));
        sized = true;
        more = read?;
        std::mem::swap(&mut current, &mut next);
    }
    if lines.is_empty() {
        return Err(DataError::NoRows {
            path: path.to_path_buf(),
        });
    }
    let unnamed = unnamed_positions(&names);
    Ok(RawTable {
        path: path.to_path_buf(),
        unnamed,
        names,
        rows: lines.len(),
        columns: columns.into_iter().map(RawColumn::Text).collect(),
        lines: Some(lines),
    })
}

fn read_parquet(path: &Path) -> Result<RawTable, DataError> {
    RawTable::from_frame(&read_parquet_frame(path)?, path)
}

/// A whole Parquet file in memory.
pub(crate) fn read_parquet_frame(path: &Path) -> Result<DataFrame, DataError> {
    parquet_reader(path)?.finish().map_err(parquet_error(path))
}

/// A Parquet file's column names and number of rows, from its footer; one without rows is an
/// error.
pub(crate) fn parquet_names_and_rows(path: &Path) -> Result<(Vec<String>, usize), DataError> {
    let mut reader = parquet_reader(path)?;
    let schema = reader.schema().map_err(parquet_error(path))?;
    let rows = reader.num_rows().map_err(parquet_error(path))?;
    if rows == 0 {
        return Err(DataError::NoRows {
            path: path.to_path_buf(),
        });
    }
    Ok((
        schema.iter_names().map(|name| name.to_string()).collect(),
        rows,
    ))
}

/// Rows `rows` of the columns `columns` of a Parquet file: only the row groups they lie in are
/// decoded.
pub(crate) fn read_parquet_slice(
    path: &Path,
    columns: &[String],
    rows: std::ops::Range<usize>,
) -> Result<DataFrame, DataError> {
    parquet_reader(path)?
        .with_columns(Some(columns.to_vec()))
        .with_slice(Some((rows.start, rows.len())))
        .finish()
        .map_err(parquet_error(path))
}

fn parquet_reader(path: &Path) -> Result<ParquetReader<File>, DataError> {
    let file = File::open(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if file.metadata().map(|m| m.len()).unwrap_or(0) == 0 {
        return Err(DataError::EmptyFile {
            path: path.to_path_buf(),
        });
    }
    Ok(ParquetReader::new(file))
}

fn parquet_error(path: &Path) -> impl Fn(polars::error::PolarsError) -> DataError + '_ {
    move |e| DataError::Parquet {
        path: path.to_path_buf(),
        message: format!("not a readable Parquet file: {e}"),
    }
}

/// A column of a table in memory (a Parquet file's, or one handed over through Arrow), typed
/// the way leadscore reads Parquet: strings and booleans as text, numbers as numbers, dates and
/// datetimes as epoch seconds.
pub(crate) enum FrameColumn {
    /// Strings; a null is an empty cell.
    Text(StringChunked),
    /// Booleans, read as `true` and `false`.
    Flag(BooleanChunked),
    /// Numbers of any width, as 64-bit floats.
    Number(Float64Chunked),
    /// Dates and datetimes, in epoch seconds.
    Time(Int64Chunked),
}

/// One cell as it is read: the text of a delimited file, or a typed cell of a [`FrameColumn`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Cell<'a> {
    /// Text (a null string or boolean is an empty one).
    Text(&'a str),
    /// A number.
    Number(f64),
    /// A time in epoch seconds.
    Time(i64),
    /// A null number or time.
    Null,
}

impl<'a> Cell<'a> {
    /// The cell as text, as [`RawColumn::cell`] gives it: numbers without a trailing `.0`,
    /// times in RFC 3339, an empty text for a null.
    pub fn text(self) -> Cow<'a, str> {
        match self {
            Self::Text(text) => Cow::Borrowed(text),
            Self::Number(value) => Cow::Owned(format_number(value)),
            Self::Time(seconds) => Cow::Owned(crate::time::format_timestamp(seconds)),
            Self::Null => Cow::Borrowed(""),
        }
    }
}

impl FrameColumn {
    /// The column `column` of a frame read from `path`; an error names a type leadscore cannot
    /// use.
    pub fn of(column: &polars::prelude::Column, path: &Path) -> Result<Self, DataError> {
        let name = column.name().to_string();
        let series = column.as_materialized_series();
        let unsupported = |e: polars::error::PolarsError| DataError::Parquet {
            path: path.to_path_buf(),
            message: format!("column `{name}` of type {}: {e}", series.dtype()),
        };
        Ok(match series.dtype() {
            DataType::String => Self::Text(series.str().map_err(unsupported)?.clone()),
            DataType::Boolean => Self::Flag(series.bool().map_err(unsupported)?.clone()),
            DataType::Date | DataType::Datetime(_, _) => {
                let millis = series
                    .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
                    .and_then(|s| s.cast(&DataType::Int64))
                    .map_err(unsupported)?;
                let seconds: Int64Chunked = millis
                    .i64()
                    .map_err(unsupported)?
                    .apply_values(|ms| ms.div_euclid(1000));
                Self::Time(seconds)
            }
            dtype if dtype.is_primitive_numeric() => {
                let floats = series.cast(&DataType::Float64).map_err(unsupported)?;
                Self::Number(floats.f64().map_err(unsupported)?.clone())
            }
            other => {
                return Err(DataError::Parquet {
                    path: path.to_path_buf(),
                    message: format!(
                        "column `{name}` has type {other}, which leadscore cannot use; cast it to text, number or date"
                    ),
                });
            }
        })
    }

    /// Rows `rows` of the column, sharing its memory: a part of a column read by row is
    /// usually one chunk, whose cells are found without searching the chunks.
    pub fn slice(&self, rows: std::ops::Range<usize>) -> Self {
        let (start, len) = (rows.start as i64, rows.len());
        match self {
            Self::Text(column) => Self::Text(column.slice(start, len)),
            Self::Flag(column) => Self::Flag(column.slice(start, len)),
            Self::Number(column) => Self::Number(column.slice(start, len)),
            Self::Time(column) => Self::Time(column.slice(start, len)),
        }
    }

    /// The cell of row `row`.
    #[inline]
    pub fn cell(&self, row: usize) -> Cell<'_> {
        match self {
            Self::Text(column) => Cell::Text(column.get(row).unwrap_or("")),
            Self::Flag(column) => Cell::Text(flag_text(column.get(row))),
            Self::Number(column) => column.get(row).map_or(Cell::Null, Cell::Number),
            Self::Time(column) => column.get(row).map_or(Cell::Null, Cell::Time),
        }
    }

    /// The column as a [`RawTable`] keeps it.
    fn into_raw(self) -> RawColumn {
        match self {
            Self::Text(column) => {
                let mut text = TextColumn::default();
                for cell in column.iter() {
                    text.push(cell.unwrap_or(""));
                }
                RawColumn::Text(text)
            }
            Self::Flag(column) => {
                let mut text = TextColumn::default();
                for cell in column.iter() {
                    text.push(flag_text(cell));
                }
                RawColumn::Text(text)
            }
            Self::Number(column) => RawColumn::Number(column.iter().collect()),
            Self::Time(column) => RawColumn::Time(column.iter().collect()),
        }
    }
}

/// The column names of a table in memory read from `origin`; one without rows is an error.
pub(crate) fn frame_names(frame: &DataFrame, origin: &Path) -> Result<Vec<String>, DataError> {
    if frame.height() == 0 {
        return Err(DataError::NoRows {
            path: origin.to_path_buf(),
        });
    }
    Ok(frame
        .columns()
        .iter()
        .map(|column| column.name().to_string())
        .collect())
}

/// A boolean cell as text: `true`, `false`, or empty for a null.
fn flag_text(flag: Option<bool>) -> &'static str {
    match flag {
        Some(true) => "true",
        Some(false) => "false",
        None => "",
    }
}

impl RawTable {
    /// The columns of an in-memory table (a Parquet file's, or a table handed over through
    /// Arrow), typed as [`FrameColumn`] reads them, each converted on its own core. `origin`
    /// names the table in errors.
    pub fn from_frame(frame: &DataFrame, origin: &Path) -> Result<Self, DataError> {
        let names = frame_names(frame, origin)?;
        // Every column is typed first, so the first unusable one is the one reported.
        let typed = frame
            .columns()
            .iter()
            .map(|column| FrameColumn::of(column, origin))
            .collect::<Result<Vec<_>, _>>()?;
        let columns = typed.into_par_iter().map(FrameColumn::into_raw).collect();
        Ok(RawTable {
            path: origin.to_path_buf(),
            unnamed: unnamed_positions(&names),
            names,
            rows: frame.height(),
            columns,
            lines: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rounded_number_reads_as_the_float_formatted_to_no_decimals() {
        for value in [
            0.0,
            -0.0,
            0.5,
            1.5,
            2.5,
            -2.5,
            3.0,
            -7.0,
            20.4,
            1e14,
            -1e14,
            999_999_999_999_999.0,
            1e15,
            1e20,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            assert_eq!(format_rounded(value), format!("{value:.0}"), "{value:?}");
        }
        assert_eq!(format_number(12.0), "12");
        assert_eq!(format_number(12.25), "12.25");
    }

    fn fixed(value: f64, decimals: usize, plus_sign: bool) -> String {
        let mut text = String::from("<");
        push_fixed(&mut text, value, decimals, plus_sign);
        text
    }

    #[test]
    fn fixed_decimals_are_the_standard_formatters_on_ties_signs_and_edges() {
        for value in [
            0.0,
            -0.0,
            0.001,
            -0.001,
            0.005,
            0.015,
            0.125,
            -0.125,
            0.375,
            2.675,
            1.005,
            0.045,
            0.5,
            2.5,
            -2.5,
            99.995,
            4_294_967_295.4,
            4_294_967_296.0,
            1e15,
            1e300,
            f64::MIN_POSITIVE,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            for decimals in 0..=5 {
                assert_eq!(
                    fixed(value, decimals, false),
                    format!("<{value:.decimals$}")
                );
                assert_eq!(
                    fixed(value, decimals, true),
                    format!("<{value:+.decimals$}")
                );
            }
        }
    }

    #[test]
    fn digits_are_the_formatters_with_zeros_in_front() {
        for number in [0, 7, 10, 99, 1_000, 4_294_967_295, u64::MAX] {
            for width in [0, 1, 3, 12, 20, 25] {
                let mut text = String::from("<");
                push_digits(&mut text, number, width);
                assert_eq!(text, format!("<{number:0width$}"));
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn fixed_decimals_are_the_standard_formatters(
            mantissa in -10_000_000i64..10_000_000,
            exponent in -8i32..6,
            decimals in 0usize..4,
            plus_sign: bool,
        ) {
            let value = mantissa as f64 * 10f64.powi(exponent) / 7.0;
            let expected = match plus_sign {
                true => format!("<{value:+.decimals$}"),
                false => format!("<{value:.decimals$}"),
            };
            proptest::prop_assert_eq!(fixed(value, decimals, plus_sign), expected);
            // Exact ties of binary fractions, where the standard formatter rounds to even.
            let tie = mantissa as f64 / 8.0;
            proptest::prop_assert_eq!(fixed(tie, decimals, false), format!("<{tie:.decimals$}"));
        }
    }
}
