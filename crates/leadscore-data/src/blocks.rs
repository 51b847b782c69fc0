//! The data records of a delimited file, cut into blocks of whole records and parsed on every
//! core.
//!
//! A block always starts at a record's start, so the CSV reader parses each block exactly as it
//! would parse the whole file: blocks are cut after a line end that ends a record, found by
//! following the reader's quoting rules (a quoted cell may hold line ends). Records keep their
//! physical line numbers, and a block's first defect (a ragged row, invalid UTF-8) is kept after
//! its good records, so a caller walking blocks in order meets defects in file order. A block of
//! plain records (no quotes, carriage returns or empty lines, valid UTF-8, no ragged row) is
//! split at line feeds and delimiters directly, which reads it as the CSV reader does in a
//! fraction of the time; any other block goes through the CSV reader.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::error::{DataError, Location, Position, csv_error};

/// Bytes of one block: large enough that a block's parsing outweighs handing it to a core.
const BLOCK_BYTES: usize = 1 << 20;

/// Blocks parsed side by side per [`RecordBlocks::next_group`].
const GROUP_BLOCKS: usize = 8;

/// A run of whole records: their cells, one after another, and each record's line.
#[derive(Debug, Default)]
pub(crate) struct RecordBlock {
    /// The cells, each followed by one byte that is not part of it (a plain block's own
    /// delimiters and line feeds, copied at once).
    text: String,
    /// End of each cell in `text`; `fields` cells per record.
    ends: Vec<usize>,
    fields: usize,
    lines: Vec<u64>,
    /// Bytes of the file the block was cut from.
    bytes: usize,
    /// The defect that stopped the block, after its good records.
    pub error: Option<DataError>,
}

impl RecordBlock {
    /// Number of good records.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Cell `field` of record `record`, untrimmed.
    pub fn cell(&self, record: usize, field: usize) -> &str {
        let at = record * self.fields + field;
        let start = if at == 0 { 0 } else { self.ends[at - 1] + 1 };
        &self.text[start..self.ends[at]]
    }

    /// Physical line on which record `record` starts.
    pub fn line(&self, record: usize) -> u64 {
        self.lines[record]
    }

    /// Bytes of the file the block was cut from.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Lines of the good records, in order.
    pub fn lines(&self) -> &[u64] {
        &self.lines
    }
}

/// The data records of a delimited file, read after its header a group of blocks at a time.
pub(crate) struct RecordBlocks {
    path: PathBuf,
    file: File,
    delimiter: u8,
    fields: usize,
    block_bytes: usize,
    /// Bytes read from the file and not yet cut into blocks; they start at a record's start.
    pending: Vec<u8>,
    /// Line of the first byte of `pending`.
    pending_line: u64,
    at_end: bool,
}

impl RecordBlocks {
    /// Reads `path` from byte `start` (a record's start, on line `line`) as records of `fields`
    /// cells separated by `delimiter`.
    pub fn new(
        path: &Path,
        delimiter: u8,
        fields: usize,
        start: u64,
        line: u64,
    ) -> Result<Self, DataError> {
        let io_error = |source| DataError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = File::open(path).map_err(io_error)?;
        file.seek(SeekFrom::Start(start)).map_err(io_error)?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            delimiter,
            fields,
            block_bytes: BLOCK_BYTES,
            pending: Vec::new(),
            pending_line: line,
            at_end: false,
        })
    }

    /// Parses the next blocks of records in file order side by side into `group`, reusing its
    /// blocks' memory (freed and fresh memory would be zeroed by the kernel again on every
    /// group); `false` at the end of the file.
    pub fn next_group(&mut self, group: &mut Vec<RecordBlock>) -> Result<bool, DataError> {
        let mut cuts = Vec::new();
        let mut start = 0;
        let mut line = self.pending_line;
        while cuts.len() < GROUP_BLOCKS {
            let mut want = self.block_bytes;
            let end = loop {
                self.fill(start + want)?;
                let available = &self.pending[start..];
                if self.at_end && available.len() <= want {
                    break self.pending.len();
                }
                let whole = whole_records_len(&available[..want], self.delimiter);
                if whole > 0 {
                    break start + whole;
                }
                // One record longer than a block: look further.
                want *= 2;
            };
            if end == start {
                break;
            }
            cuts.push((start, end, line));
            line += line_ends(&self.pending[start..end]);
            start = end;
        }
        group.resize_with(cuts.len(), RecordBlock::default);
        group
            .par_iter_mut()
            .zip(&cuts)
            .for_each(|(block, &(from, to, first_line))| {
                block.parse(
                    &self.path,
                    &self.pending[from..to],
                    self.delimiter,
                    self.fields,
                    first_line,
                );
            });
        self.pending.drain(..start);
        self.pending_line = line;
        Ok(!cuts.is_empty())
    }

    /// Reads until `pending` holds `bytes` bytes or the file ends. The bytes are appended to
    /// the buffer's spare room as read, not into room zeroed first (a megabyte per block).
    fn fill(&mut self, bytes: usize) -> Result<(), DataError> {
        if self.pending.len() < bytes && !self.at_end {
            let wanted = bytes - self.pending.len();
            let read = (&mut self.file)
                .take(wanted as u64)
                .read_to_end(&mut self.pending)
                .map_err(|source| DataError::Io {
                    path: self.path.clone(),
                    source,
                })?;
            self.at_end = read < wanted;
        }
        Ok(())
    }
}

/// Appends the position of every `delimiter` and line feed in `bytes`, in order. Cells are a few
/// bytes long, so a search that starts over after each one (`memchr`'s) spends more on starting
/// than on searching; here each 32 bytes become one bit mask (compiled to vector compares),
/// whose set bits are the positions, in 40–85% of memchr's time on generated 1M-lead files.
fn push_stops(bytes: &[u8], delimiter: u8, stops: &mut Vec<usize>) {
    const WIDTH: usize = 32;
    let mut chunks = bytes.chunks_exact(WIDTH);
    let mut base = 0;
    for chunk in &mut chunks {
        let mut mask = 0u32;
        for (i, &b) in chunk.iter().enumerate() {
            mask |= u32::from((b == delimiter) | (b == b'\n')) << i;
        }
        while mask != 0 {
            stops.push(base + mask.trailing_zeros() as usize);
            mask &= mask - 1;
        }
        base += WIDTH;
    }
    let rest = chunks.remainder().iter().enumerate();
    stops.extend(
        rest.filter(|&(_, &b)| b == delimiter || b == b'\n')
            .map(|(i, _)| base + i),
    );
}

/// Number of line feeds in `bytes`: the CSV reader counts lines by them.
fn line_ends(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

/// Where the record the CSV reader places at byte `position` of `bytes` starts on the page: the
/// reader places a record just after the previous one, before the line feed of a `\r\n` and any
/// empty lines, so its own line numbers lag behind the page there.
fn record_start(bytes: &[u8], position: u64) -> usize {
    let position = (position as usize).min(bytes.len());
    position
        + bytes[position..]
            .iter()
            .take_while(|&&b| b == b'\r' || b == b'\n')
            .count()
}

/// Length of the longest prefix of `bytes` (which starts at a record's start) that ends with a
/// line feed ending a record, as the CSV reader (double-quoted cells, `""` for a quote) reads
/// it; 0 when there is none.
fn whole_records_len(bytes: &[u8], delimiter: u8) -> usize {
    let last_line_end = || memchr::memrchr(b'\n', bytes).map_or(0, |p| p + 1);
    if memchr::memchr(b'"', bytes).is_none() {
        return last_line_end();
    }
    #[derive(Clone, Copy)]
    enum State {
        FieldStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let mut state = State::FieldStart;
    let mut whole = 0;
    for (i, &byte) in bytes.iter().enumerate() {
        state = match (state, byte) {
            (State::Quoted, b'"') => State::QuoteInQuoted,
            (State::Quoted, _) => State::Quoted,
            (State::FieldStart | State::QuoteInQuoted, b'"') => State::Quoted,
            (_, b'\n') => {
                whole = i + 1;
                State::FieldStart
            }
            (_, b'\r') => State::FieldStart,
            (_, byte) if byte == delimiter => State::FieldStart,
            _ => State::Unquoted,
        };
    }
    whole
}

impl RecordBlock {
    /// Forgets the block's records, keeping their memory.
    fn clear_records(&mut self) {
        self.text.clear();
        self.ends.clear();
        self.lines.clear();
    }

    /// Parses a block of plain records (valid UTF-8 without quotes, carriage returns or empty
    /// lines, every record of `self.fields` cells) into this emptied block by copying it whole
    /// and noting where its line feeds and delimiters are, which is how the CSV reader reads
    /// such records; `false`, with nothing kept, for any other block, which the CSV reader then
    /// reads (skipping empty lines) and whose defect it reports.
    fn parse_plain(&mut self, bytes: &[u8], delimiter: u8, first_line: u64) -> bool {
        if !delimiter.is_ascii() || memchr::memchr2(b'"', b'\r', bytes).is_some() {
            return false;
        }
        let Ok(text) = std::str::from_utf8(bytes) else {
            return false;
        };
        self.text.push_str(text);
        // Every delimiter and line feed, then the end of a last record without a line feed.
        push_stops(bytes, delimiter, &mut self.ends);
        if bytes.last().is_some_and(|&b| b != b'\n') {
            self.ends.push(bytes.len());
        }
        let mut line = first_line;
        let (mut record_start, mut cells) = (0, 0);
        for &stop in &self.ends {
            cells += 1;
            if stop < bytes.len() && bytes[stop] == delimiter {
                continue;
            }
            // An empty line is no record (its cell would break the rule that a cell starts one
            // byte after the last ends), and a ragged record is the CSV reader's to report: both
            // send the block to the CSV reader.
            if stop == record_start || cells != self.fields {
                self.clear_records();
                return false;
            }
            self.lines.push(line);
            cells = 0;
            record_start = stop + 1;
            line += 1;
        }
        true
    }

    /// Parses `bytes`, whole records whose first byte is on line `first_line`, into this block.
    fn parse(&mut self, path: &Path, bytes: &[u8], delimiter: u8, fields: usize, first_line: u64) {
        self.fields = fields;
        self.bytes = bytes.len();
        self.error = None;
        self.clear_records();
        if self.parse_plain(bytes, delimiter, first_line) {
            return;
        }
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(bytes);
        let mut record = csv::ByteRecord::new();
        let (mut counted_to, mut line) = (0, first_line);
        loop {
            match reader.read_byte_record(&mut record) {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => {
                    self.error = Some(csv_error(path, e));
                    return;
                }
            }
            let start = record_start(bytes, record.position().map_or(0, csv::Position::byte));
            line += line_ends(&bytes[counted_to..start]);
            counted_to = start;
            let at = || Location::new(path, Position::Line(line));
            if record.len() != fields {
                self.error = Some(DataError::RaggedRow {
                    at: at(),
                    expected: fields as u64,
                    found: record.len() as u64,
                });
                return;
            }
            let (text_len, ends_len) = (self.text.len(), self.ends.len());
            for cell in &record {
                let Ok(cell) = std::str::from_utf8(cell) else {
                    self.text.truncate(text_len);
                    self.ends.truncate(ends_len);
                    self.error = Some(DataError::not_utf8(at()));
                    return;
                };
                self.text.push_str(cell);
                self.ends.push(self.text.len());
                self.text.push(',');
            }
            self.lines.push(line);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]
        /// The stops found 32 bytes at a time are every delimiter and line feed a byte-by-byte
        /// search finds, in texts of every length around the chunk size, for each delimiter.
        #[test]
        fn stops_by_masks_are_every_delimiter_and_line_feed(
            bytes in proptest::collection::vec(prop_oneof![Just(b','), Just(b';'), Just(b'\t'), Just(b'\n'), Just(b'a'), any::<u8>()], 0..200),
            delimiter in prop_oneof![Just(b','), Just(b';'), Just(b'\t'), Just(b'|')],
        ) {
            let mut stops = Vec::new();
            push_stops(&bytes, delimiter, &mut stops);
            let expected: Vec<usize> = memchr::memchr2_iter(delimiter, b'\n', &bytes).collect();
            prop_assert_eq!(stops, expected);
        }
    }

    /// Every record of a file read in blocks of `block_bytes`: (line, cells) or the defect.
    fn read_in_blocks(path: &Path, block_bytes: usize) -> Vec<Result<(u64, Vec<String>), String>> {
        read_in_blocks_separated(path, block_bytes, b',')
    }

    /// [`read_in_blocks`] of a file whose cells are separated by `delimiter`.
    fn read_in_blocks_separated(
        path: &Path,
        block_bytes: usize,
        delimiter: u8,
    ) -> Vec<Result<(u64, Vec<String>), String>> {
        let mut blocks = RecordBlocks::new(path, delimiter, 3, 0, 1).expect("open");
        blocks.block_bytes = block_bytes;
        let mut out = Vec::new();
        let mut group = Vec::new();
        while blocks.next_group(&mut group).expect("read") {
            for block in &mut group {
                for r in 0..block.len() {
                    let cells = (0..3).map(|c| block.cell(r, c).to_owned()).collect();
                    out.push(Ok((block.line(r), cells)));
                }
                if let Some(e) = block.error.take() {
                    out.push(Err(e.to_string()));
                    return out;
                }
            }
        }
        out
    }

    /// The same, read by one CSV reader from start to end; lines are those of the page.
    fn read_at_once(path: &Path) -> Vec<Result<(u64, Vec<String>), String>> {
        read_at_once_separated(path, b',')
    }

    /// [`read_at_once`] of a file whose cells are separated by `delimiter`.
    fn read_at_once_separated(
        path: &Path,
        delimiter: u8,
    ) -> Vec<Result<(u64, Vec<String>), String>> {
        let bytes = std::fs::read(path).expect("read");
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .from_path(path)
            .expect("open");
        let mut out = Vec::new();
        let mut record = csv::ByteRecord::new();
        loop {
            match reader.read_byte_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    out.push(Err(csv_error(path, e).to_string()));
                    return out;
                }
            }
            let start = record_start(&bytes, record.position().expect("position").byte());
            let line = 1 + line_ends(&bytes[..start]);
            let at = Location::new(path, Position::Line(line));
            if record.len() != 3 {
                out.push(Err(DataError::RaggedRow {
                    at,
                    expected: 3,
                    found: record.len() as u64,
                }
                .to_string()));
                return out;
            }
            // A reader of text records checks each record's UTF-8 after its length.
            match csv::StringRecord::from_byte_record(record.clone()) {
                Ok(r) => out.push(Ok((line, r.iter().map(str::to_owned).collect()))),
                Err(_) => {
                    out.push(Err(DataError::not_utf8(at).to_string()));
                    return out;
                }
            }
        }
        out
    }

    fn file_of(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        file.write_all(bytes).expect("write");
        file
    }

    #[test]
    fn quoted_line_ends_stay_inside_their_record() {
        let file = file_of(b"a,\"x\ny\",1\nb,\"say \"\"hi\"\"\n\",2\r\nc,d\"e,3\n");
        for block_bytes in [1, 2, 5, 8, 64] {
            assert_eq!(
                read_in_blocks(file.path(), block_bytes),
                read_at_once(file.path()),
                "{block_bytes}"
            );
        }
        let lines: Vec<u64> = read_at_once(file.path())
            .into_iter()
            .map(|r| r.expect("good record").0)
            .collect();
        assert_eq!(lines, [1, 3, 5]);
    }

    #[test]
    fn lines_of_windows_line_ends_are_those_of_the_page() {
        let file = file_of(b"a,b,c\r\n\r\nd,e,f\r\ng,h\r\n");
        let read = read_in_blocks(file.path(), 4);
        assert_eq!(read[0], Ok((1, vec!["a".into(), "b".into(), "c".into()])));
        assert_eq!(read[1], Ok((3, vec!["d".into(), "e".into(), "f".into()])));
        let ragged = read[2].as_ref().expect_err("ragged");
        assert!(ragged.contains("line 4: 2 fields"), "{ragged}");
    }

    #[test]
    fn plain_blocks_of_other_separators_read_as_one_reader() {
        for delimiter in [b';', b'\t', b'|'] {
            let records: [&[&str]; 7] = [
                &["a,1", "b", "c"],
                &[],
                &["", "", ""],
                &[" x ", " y", "\u{e9}"],
                &["2025-01-02T03:04:05Z", "page_view", "12.5"],
                &["ragged", "row"],
                &["after", "the", "defect"],
            ];
            let text = records
                .iter()
                .map(|cells| cells.join(&char::from(delimiter).to_string()))
                .collect::<Vec<_>>()
                .join("\n");
            let file = file_of(text.as_bytes());
            let at_once = read_at_once_separated(file.path(), delimiter);
            assert_eq!(
                at_once.iter().filter(|r| r.is_ok()).count(),
                4,
                "{at_once:?}"
            );
            assert!(
                at_once[4].as_ref().is_err_and(|e| e.contains("line 6")),
                "{at_once:?}"
            );
            for block_bytes in [1, 7, 64, 1 << 20] {
                assert_eq!(
                    read_in_blocks_separated(file.path(), block_bytes, delimiter),
                    at_once,
                    "{:?} in blocks of {block_bytes}",
                    char::from(delimiter)
                );
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn blocks_read_exactly_as_one_reader(
            pieces in proptest::collection::vec(prop_oneof![
                Just(&b","[..]), Just(&b"\""[..]), Just(&b"\"\""[..]), Just(&b"\n"[..]),
                Just(&b"\r\n"[..]), Just(&b"\r"[..]), Just(&b"ab"[..]), Just(&b"x,y,z\n"[..]),
                Just(&b"\xFF"[..]), Just(&b"\xC3\xA9"[..]),
            ], 0..60),
            block_bytes in 1usize..24,
        ) {
            let file = file_of(&pieces.concat());
            prop_assert_eq!(read_in_blocks(file.path(), block_bytes), read_at_once(file.path()));
        }

        #[test]
        fn plain_blocks_read_exactly_as_one_reader(
            pieces in proptest::collection::vec(prop_oneof![
                Just(&b","[..]), Just(&b"\n"[..]), Just(&b"\n\n"[..]), Just(&b"ab"[..]),
                Just(&b" "[..]), Just(&b"x,y,z\n"[..]), Just(&b"1,2,3"[..]), Just(&b"\xC3\xA9"[..]),
                Just(&b"\xFF"[..]),
            ], 0..80),
            block_bytes in 1usize..40,
        ) {
            let file = file_of(&pieces.concat());
            prop_assert_eq!(read_in_blocks(file.path(), block_bytes), read_at_once(file.path()));
        }
    }
}
