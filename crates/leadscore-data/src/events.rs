//! The events table: the implicit behaviour of leads over time.
//!
//! Events are grouped by lead and sorted by (timestamp, event type name), so every consumer sees a
//! lead's history in one canonical order, whichever order the file was in.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::FileFormat;
use crate::blocks::{RecordBlock, RecordBlocks};
use crate::error::{DataError, Location, Position};
use crate::ids::{LeadIdIndex, pack_short_id};
use crate::leads::LeadsTable;
use crate::table::{
    Cell, FrameColumn, frame_names, open_delimited, parquet_names_and_rows, read_parquet_slice,
};
use crate::time::{LastDate, parse_timestamp_after};
use crate::value::{MissingTokens, NumberError, parse_number, trim_cell};

/// How to read an events file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsOptions {
    /// Column holding the lead id. Default `lead_id`.
    pub lead_id: String,
    /// Column holding the event time. Default `timestamp`.
    pub timestamp: String,
    /// Column holding the event type. Default `event_type`.
    pub event_type: String,
    /// Optional numeric column. Default `value` when present.
    pub value: Option<String>,
    /// Field separator; `None` sniffs it.
    pub separator: Option<u8>,
    /// Placeholders read as missing.
    pub missing: MissingTokens,
}

impl Default for EventsOptions {
    fn default() -> Self {
        Self {
            lead_id: "lead_id".to_owned(),
            timestamp: "timestamp".to_owned(),
            event_type: "event_type".to_owned(),
            value: None,
            separator: None,
            missing: MissingTokens::default(),
        }
    }
}

/// One behaviour event of a lead.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Event {
    /// Epoch seconds.
    pub timestamp: i64,
    /// Index into the log's event types.
    pub kind: u32,
    /// Optional amount (seconds on page, deal value); NaN when absent.
    pub value: f64,
}

/// The canonical order of a lead's events: by time, then type, then value with absent values
/// last. Exact duplicates (same time and type) count once and the first in this order is kept,
/// i.e. the smallest value — what SQL's `MIN(value)` keeps, so every engine agrees.
pub fn canonical_order<Kind: Ord>(
    (timestamp_a, kind_a, value_a): (i64, Kind, f64),
    (timestamp_b, kind_b, value_b): (i64, Kind, f64),
) -> std::cmp::Ordering {
    timestamp_a
        .cmp(&timestamp_b)
        .then_with(|| kind_a.cmp(&kind_b))
        .then_with(|| {
            value_a
                .is_nan()
                .cmp(&value_b.is_nan())
                .then_with(|| value_a.total_cmp(&value_b))
        })
}

/// What loading the events found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EventStats {
    /// Data rows in the file.
    pub rows: usize,
    /// Rows joined to a lead.
    pub kept: usize,
    /// Rows whose lead id is not in the leads table (skipped).
    pub unknown_lead_rows: usize,
    /// A few of those ids.
    pub unknown_lead_examples: Vec<String>,
    /// Rows repeating another row's lead, type and timestamp (counted once by the features).
    pub duplicate_rows: usize,
    /// Leads with at least one event.
    pub leads_with_events: usize,
    /// Earliest event time.
    pub first: Option<i64>,
    /// Latest event time.
    pub last: Option<i64>,
}

/// Events grouped by lead, in canonical order.
#[derive(Debug, Clone)]
pub struct EventLog {
    /// File the events came from.
    pub path: PathBuf,
    /// Event type names, sorted; [`Event::kind`] indexes this.
    pub types: Vec<String>,
    /// Events per type (after joining to leads).
    pub type_counts: Vec<usize>,
    /// Whether any event of the type carries a value.
    pub type_has_value: Vec<bool>,
    /// What loading found.
    pub stats: EventStats,
    /// Where each lead's events start in `events`, and where the last one's end.
    offsets: Vec<usize>,
    /// Shared by the logs [`EventLog::select_leads`] cuts from a run of leads.
    events: Arc<Vec<Event>>,
}

impl EventLog {
    /// Reads an events file and joins it to the leads by id.
    pub fn load(
        path: &Path,
        options: &EventsOptions,
        leads: &LeadsTable,
    ) -> Result<Self, DataError> {
        require_lead_ids(leads)?;
        let mut builder = LogBuilder::new(leads);
        match FileFormat::of(path)? {
            FileFormat::Delimited => read_delimited(path, options, &mut builder)?,
            FileFormat::Parquet => read_parquet(path, options, &mut builder)?,
        }
        Ok(builder.finish(path, leads.len()))
    }

    /// Reads an events table already in memory (handed over through Arrow), with the rules a
    /// Parquet file is read with, and joins it to the leads by id; `origin` names it in errors.
    pub fn from_frame(
        frame: &polars::prelude::DataFrame,
        origin: &Path,
        options: &EventsOptions,
        leads: &LeadsTable,
    ) -> Result<Self, DataError> {
        require_lead_ids(leads)?;
        let mut builder = LogBuilder::new(leads);
        read_frame(frame, origin, options, &mut builder)?;
        Ok(builder.finish(origin, leads.len()))
    }

    /// Builds a log from events already assigned to lead rows (tests, generators).
    pub fn from_events(
        path: &Path,
        n_leads: usize,
        types: &[String],
        events: impl IntoIterator<Item = (usize, i64, usize, f64)>,
    ) -> Self {
        let mut builder = LogBuilder {
            ids: LeadIdIndex::default(),
            types: TypeNames::default(),
            events: Vec::new(),
            stats: EventStats::default(),
        };
        for name in types {
            builder.types.code(name);
        }
        for (lead, timestamp, kind, value) in events {
            builder.stats.rows += 1;
            builder.events.push(PlacedEvent {
                lead: lead as u32,
                kind: kind as u32,
                timestamp,
                value,
            });
        }
        builder.finish(path, n_leads)
    }

    /// Number of leads the log is indexed by.
    pub fn n_leads(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Total events kept.
    pub fn len(&self) -> usize {
        self.offsets[self.n_leads()] - self.offsets[0]
    }

    /// Whether the log holds no events.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The events of lead row `row`, sorted by (timestamp, type name).
    pub fn for_lead(&self, row: usize) -> &[Event] {
        &self.events[self.offsets[row]..self.offsets[row + 1]]
    }

    /// The latest moment the data knows of: its last event, creation or close date.
    pub fn latest_time(leads: &LeadsTable, events: Option<&Self>) -> Option<i64> {
        let dates = [leads.created_at.as_ref(), leads.closed_at.as_ref()]
            .into_iter()
            .flatten()
            .flat_map(|times| times.iter().flatten().copied());
        dates.chain(events.and_then(|log| log.stats.last)).max()
    }

    /// Keeps only the given lead rows, in the given order. A run of consecutive rows (a part of
    /// a file being scored) shares this log's events instead of copying them.
    pub fn select_leads(&self, rows: &[usize]) -> Self {
        let consecutive = rows.windows(2).all(|w| w[1] == w[0] + 1);
        let (offsets, events) = match rows {
            [first, .., last] if consecutive => (
                self.offsets[*first..=*last + 1].to_vec(),
                Arc::clone(&self.events),
            ),
            _ => {
                let mut offsets = Vec::with_capacity(rows.len() + 1);
                let mut events = Vec::new();
                offsets.push(0);
                for &row in rows {
                    events.extend_from_slice(self.for_lead(row));
                    offsets.push(events.len());
                }
                (offsets, Arc::new(events))
            }
        };
        Self {
            path: self.path.clone(),
            types: self.types.clone(),
            type_counts: self.type_counts.clone(),
            type_has_value: self.type_has_value.clone(),
            stats: self.stats.clone(),
            offsets,
            events,
        }
    }
}

struct LogBuilder<'a> {
    ids: LeadIdIndex<'a>,
    types: TypeNames,
    events: Vec<PlacedEvent>,
    stats: EventStats,
}

/// Event type names, numbered as they come.
#[derive(Debug, Default)]
struct TypeNames {
    names: Vec<String>,
    /// Codes of names of up to 15 bytes (most types), by their packed bytes: every event looks
    /// its type up, and comparing two numbers is cheaper than hashing and comparing text.
    short_codes: FxHashMap<u128, u32>,
    long_codes: FxHashMap<String, u32>,
}

impl TypeNames {
    /// The code of `name`, numbering it when new.
    fn code(&mut self, name: &str) -> u32 {
        let packed = pack_short_id(name);
        let known = match packed {
            Some(key) => self.short_codes.get(&key),
            None => self.long_codes.get(name),
        };
        if let Some(&code) = known {
            return code;
        }
        let code = self.names.len() as u32;
        self.names.push(name.to_owned());
        match packed {
            Some(key) => self.short_codes.insert(key, code),
            None => self.long_codes.insert(name.to_owned(), code),
        };
        code
    }
}

/// An event with its lead row, as the log is built: the size of an [`Event`] (the row takes its
/// padding), so the log is sorted by lead in place and turned into events in place.
#[derive(Debug, Clone, Copy)]
struct PlacedEvent {
    lead: u32,
    kind: u32,
    timestamp: i64,
    value: f64,
}

const _: () = assert!(
    size_of::<PlacedEvent>() == size_of::<Event>()
        && align_of::<PlacedEvent>() == align_of::<Event>(),
    "a placed event turns into an event in place"
);

impl<'a> LogBuilder<'a> {
    /// Makes room for `additional` more events.
    fn reserve(&mut self, additional: usize) {
        self.events.reserve(additional);
    }

    fn new(leads: &'a LeadsTable) -> Self {
        Self {
            ids: leads.id_index(),
            types: TypeNames::default(),
            events: Vec::new(),
            stats: EventStats::default(),
        }
    }

    /// The code of event type `event_type` (trimmed), new types numbered as they come.
    fn type_code(&mut self, event_type: &str) -> u32 {
        self.types.code(trim_cell(event_type))
    }

    /// Adds an event whose type is coded already; one of an unknown lead is counted, not kept,
    /// and only then is its id (`lead_id`, which may format a number) taken.
    fn push_coded<'c>(
        &mut self,
        lead: Option<u32>,
        lead_id: impl FnOnce() -> Cow<'c, str>,
        event: Event,
    ) {
        self.stats.rows += 1;
        let Some(lead) = lead else {
            self.stats.unknown_lead_rows += 1;
            if self.stats.unknown_lead_examples.len() < 5 {
                let lead_id = lead_id();
                if !self
                    .stats
                    .unknown_lead_examples
                    .iter()
                    .any(|e| *e == lead_id)
                {
                    self.stats.unknown_lead_examples.push(lead_id.into_owned());
                }
            }
            return;
        };
        self.events.push(PlacedEvent {
            lead,
            kind: event.kind,
            timestamp: event.timestamp,
            value: event.value,
        });
    }

    fn finish(self, path: &Path, n_leads: usize) -> EventLog {
        let names = &self.types.names;
        let mut order: Vec<usize> = (0..names.len()).collect();
        order.sort_by(|&a, &b| names[a].cmp(&names[b]));
        let mut recode = vec![0u32; order.len()];
        for (new, &old) in order.iter().enumerate() {
            recode[old] = new as u32;
        }
        let types: Vec<String> = order.iter().map(|&old| names[old].clone()).collect();

        // Sorted by lead, then each lead's events in canonical order, in place on every core.
        let mut placed = self.events;
        placed
            .par_iter_mut()
            .for_each(|e| e.kind = recode[e.kind as usize]);
        sort_by_lead(&mut placed, n_leads);
        let mut offsets = vec![0usize; n_leads + 1];
        for event in &placed {
            offsets[event.lead as usize + 1] += 1;
        }
        for i in 0..n_leads {
            offsets[i + 1] += offsets[i];
        }
        let duplicates = placed
            .par_windows(2)
            .filter(|w| {
                w[0].lead == w[1].lead && w[0].timestamp == w[1].timestamp && w[0].kind == w[1].kind
            })
            .count();
        let with_events = offsets.windows(2).filter(|o| o[1] > o[0]).count();
        // Same size and alignment: the vector is reused, not copied.
        let events: Vec<Event> = placed
            .into_iter()
            .map(|e| Event {
                timestamp: e.timestamp,
                kind: e.kind,
                value: e.value,
            })
            .collect();
        let mut stats = self.stats;
        stats.leads_with_events += with_events;
        stats.duplicate_rows += duplicates;
        let mut type_counts = vec![0usize; types.len()];
        let mut type_has_value = vec![false; types.len()];
        for event in &events {
            type_counts[event.kind as usize] += 1;
            if !event.value.is_nan() {
                type_has_value[event.kind as usize] = true;
            }
        }
        stats.first = events.iter().map(|e| e.timestamp).min();
        stats.last = events.iter().map(|e| e.timestamp).max();
        stats.kept = events.len();
        EventLog {
            path: path.to_path_buf(),
            types,
            type_counts,
            type_has_value,
            stats,
            offsets,
            events: Arc::new(events),
        }
    }
}

/// Sorts a log by lead row, then each lead's events in canonical order, in place. A comparison
/// sort of 10 million events takes some 23 comparisons per event; leads are numbered densely,
/// so a radix pass on the lead's high bits first splits the log into buckets of a few thousand
/// leads (moving every event at most once, writing 256 places in turn, which stay in cache),
/// and each bucket, on every core, is counted out by lead ([`sort_bucket`]), leaving each lead's
/// few events to order.
fn sort_by_lead(placed: &mut [PlacedEvent], n_leads: usize) {
    let lead_bits = usize::BITS - n_leads.leading_zeros();
    sort_by_lead_bits(placed, lead_bits, RADIX_PASSES, RADIX_MIN_EVENTS);
}

/// Most radix passes before the buckets are sorted: enough for 2^32 leads.
const RADIX_PASSES: u32 = 3;
/// Bits of the lead row one radix pass splits on.
const RADIX_BITS: u32 = 8;
/// Logs (and buckets) shorter than this are sorted by comparison alone.
const RADIX_MIN_EVENTS: usize = 4096;

/// [`sort_by_lead`] of events whose lead rows agree above bit `lead_bits`, with at most `passes`
/// radix passes, on buckets of at least `min_events`, and none once the buckets can be counted
/// out by lead.
fn sort_by_lead_bits(events: &mut [PlacedEvent], lead_bits: u32, passes: u32, min_events: usize) {
    if passes == 0 || lead_bits <= RADIX_BITS / 2 || events.len() < min_events {
        sort_bucket(events, lead_bits);
        return;
    }
    let shift = lead_bits.saturating_sub(RADIX_BITS);
    let bucket = |lead: u32| ((lead >> shift) & ((1 << RADIX_BITS) - 1)) as usize;
    let mut starts = vec![0usize; (1 << RADIX_BITS) + 1];
    for event in events.iter() {
        starts[bucket(event.lead) + 1] += 1;
    }
    for b in 0..1 << RADIX_BITS {
        starts[b + 1] += starts[b];
    }
    place_by_bucket(events, &starts, bucket);
    let mut buckets = Vec::with_capacity(1 << RADIX_BITS);
    let mut rest = events;
    for size in starts.windows(2).map(|w| w[1] - w[0]) {
        let (bucket, after) = rest.split_at_mut(size);
        buckets.push(bucket);
        rest = after;
    }
    let passes = if shift <= MAX_COUNTED_BITS {
        0
    } else {
        passes - 1
    };
    buckets
        .into_par_iter()
        .for_each(|bucket| sort_by_lead_bits(bucket, shift, passes, min_events));
}

/// Most lead bits a bucket is counted out on: 65,536 counters.
const MAX_COUNTED_BITS: u32 = 16;

/// Sorts events whose lead rows agree above bit `lead_bits`. When they are at least as many as
/// their possible leads, they are counted out by lead into their places (through a copy), which
/// leaves a sort of each lead's few events, a few comparisons per event instead of the dozen of
/// one sort of the whole bucket; fewer are sorted by comparison.
fn sort_bucket(events: &mut [PlacedEvent], lead_bits: u32) {
    if lead_bits > MAX_COUNTED_BITS || events.len() < 1 << lead_bits {
        order_same_lead(events);
        return;
    }
    let low_bits = (1u32 << lead_bits) - 1;
    let mut starts = vec![0usize; (1 << lead_bits) + 1];
    for event in events.iter() {
        starts[(event.lead & low_bits) as usize + 1] += 1;
    }
    for lead in 0..1 << lead_bits {
        starts[lead + 1] += starts[lead];
    }
    let unplaced = events.to_vec();
    let mut next = starts.clone();
    for event in unplaced {
        let place = &mut next[(event.lead & low_bits) as usize];
        events[*place] = event;
        *place += 1;
    }
    for lead in starts.windows(2) {
        order_same_lead(&mut events[lead[0]..lead[1]]);
    }
}

/// Sorts events by lead row, then in canonical order.
fn order_same_lead(events: &mut [PlacedEvent]) {
    if events.len() < 2 {
        return;
    }
    events.sort_unstable_by_key(lead_time_kind);
    // Only events of one lead, time and type (duplicates) are left for the value to order.
    for run in events.chunk_by_mut(|a, b| lead_time_kind(a) == lead_time_kind(b)) {
        if run.len() > 1 {
            run.sort_unstable_by(|a, b| canonical_order((0, 0, a.value), (0, 0, b.value)));
        }
    }
}

/// An event's lead row, time and type as one number in their order, compared at once instead of
/// one after the other.
#[inline]
fn lead_time_kind(event: &PlacedEvent) -> u128 {
    // Flipping the sign bit orders times as unsigned numbers in the order of signed ones.
    let time = (event.timestamp as u64) ^ (1 << 63);
    u128::from(event.lead) << 96 | u128::from(time) << 32 | u128::from(event.kind)
}

/// Moves each event into its bucket, in place: bucket `b` (`bucket(lead)`) takes
/// `events[starts[b]..starts[b + 1]]`, whose sizes are the buckets' counts. Each event is moved
/// at most once, by following the cycle of events that take each other's places.
fn place_by_bucket(events: &mut [PlacedEvent], starts: &[usize], bucket: impl Fn(u32) -> usize) {
    let mut heads = starts[..starts.len() - 1].to_vec();
    for own in 0..heads.len() {
        while heads[own] < starts[own + 1] {
            let mut moving = events[heads[own]];
            let mut target = bucket(moving.lead);
            while target != own {
                std::mem::swap(&mut moving, &mut events[heads[target]]);
                heads[target] += 1;
                target = bucket(moving.lead);
            }
            events[heads[own]] = moving;
            heads[own] += 1;
        }
    }
}

/// Column positions of the events table.
struct EventColumns {
    lead_id: usize,
    timestamp: usize,
    event_type: usize,
    value: Option<usize>,
}

impl EventColumns {
    fn find(path: &Path, names: &[String], options: &EventsOptions) -> Result<Self, DataError> {
        let find = |name: &str, role: &'static str| {
            names
                .iter()
                .position(|n| n == name)
                .ok_or_else(|| DataError::MissingColumn {
                    path: path.to_path_buf(),
                    column: name.to_owned(),
                    role,
                    hint: crate::error::did_you_mean(name, names.iter().map(String::as_str)),
                    available: names
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                })
        };
        let value = match &options.value {
            Some(name) => Some(find(name, "event value")?),
            None => names.iter().position(|n| n == "value"),
        };
        Ok(Self {
            lead_id: find(&options.lead_id, "lead id")?,
            timestamp: find(&options.timestamp, "timestamp")?,
            event_type: find(&options.event_type, "event type")?,
            value,
        })
    }
}

/// Which typed cells of a table in memory are read without going through their text: a time
/// within [`TYPED_TIMES`] unless a placeholder is itself a time, and a finite number unless a
/// placeholder is itself a number. Either way the event is the one its text gives.
#[derive(Debug, Clone, Copy)]
struct TypedCells {
    times: bool,
    numbers: bool,
}

impl TypedCells {
    fn new(missing: &MissingTokens) -> Self {
        let tokens = missing.tokens();
        Self {
            times: !tokens
                .iter()
                .any(|t| crate::time::parse_timestamp(t).is_some()),
            numbers: !tokens.iter().any(|t| parse_number(trim_cell(t)).is_ok()),
        }
    }
}

/// Epoch seconds whose RFC 3339 text reads back as themselves (1900 to 9999, checked by a
/// test): a typed time outside them is read through its text, as before.
const TYPED_TIMES: std::ops::RangeInclusive<i64> = -2_208_988_800..=253_402_300_799;

/// What reading an events table needs besides its cells: its column names, where an event's
/// columns are among them, the options, and which typed cells are taken directly.
struct EventReading<'a> {
    names: &'a [String],
    columns: EventColumns,
    options: &'a EventsOptions,
    typed: TypedCells,
}

impl<'a> EventReading<'a> {
    fn new(
        path: &Path,
        names: &'a [String],
        options: &'a EventsOptions,
    ) -> Result<Self, DataError> {
        Ok(Self {
            names,
            columns: EventColumns::find(path, names, options)?,
            options,
            typed: TypedCells::new(&options.missing),
        })
    }

    /// Positions of the columns an event reads: lead id, timestamp, type and value if any.
    fn used_columns(&self) -> Vec<usize> {
        let columns = &self.columns;
        let mut used = vec![columns.lead_id, columns.timestamp, columns.event_type];
        used.extend(columns.value);
        used
    }

    /// Whether a cell is a missing-value placeholder: a finite number is not, unless a
    /// placeholder is itself a number (its text is not formatted to be compared).
    fn is_missing(&self, cell: Cell<'_>) -> bool {
        match cell {
            Cell::Number(value) if self.typed.numbers && value.is_finite() => false,
            cell => self.options.missing.is_missing(&cell.text()),
        }
    }
}

/// Reads one event's cells, reporting the first defect with its location.
fn parse_event_cells<'c>(
    reading: &EventReading<'_>,
    at: impl Fn() -> Location,
    last_date: &mut LastDate,
    cell: impl Fn(usize) -> Cell<'c>,
) -> Result<(i64, f64), DataError> {
    let EventReading {
        names,
        columns,
        options,
        typed,
    } = reading;
    let timestamp = match cell(columns.timestamp) {
        Cell::Time(seconds) if typed.times && TYPED_TIMES.contains(&seconds) => seconds,
        timestamp => {
            let timestamp_text = timestamp.text();
            if options.missing.is_missing(&timestamp_text) {
                return Err(DataError::MissingValue {
                    at: at(),
                    column: names[columns.timestamp].clone(),
                });
            }
            parse_timestamp_after(&timestamp_text, last_date).ok_or_else(|| {
                DataError::BadTimestamp {
                    at: at(),
                    column: names[columns.timestamp].clone(),
                    value: timestamp_text.into_owned(),
                }
            })?
        }
    };
    if reading.is_missing(cell(columns.event_type)) {
        return Err(DataError::MissingValue {
            at: at(),
            column: names[columns.event_type].clone(),
        });
    }
    if reading.is_missing(cell(columns.lead_id)) {
        return Err(DataError::MissingValue {
            at: at(),
            column: names[columns.lead_id].clone(),
        });
    }
    let value = match columns.value.map(&cell) {
        None => f64::NAN,
        Some(Cell::Number(value)) if typed.numbers && value.is_finite() => value,
        Some(cell) => {
            let text = cell.text();
            if options.missing.is_missing(&text) {
                f64::NAN
            } else {
                match parse_number(trim_cell(&text)) {
                    Ok(v) => v,
                    Err(NumberError::NotANumber) => {
                        return Err(DataError::BadNumber {
                            at: at(),
                            column: names[columns.value.unwrap_or_default()].clone(),
                            value: text.into_owned(),
                            why: String::new(),
                        });
                    }
                    Err(NumberError::NotFinite) => {
                        return Err(DataError::NotFinite {
                            at: at(),
                            column: names[columns.value.unwrap_or_default()].clone(),
                            value: text.into_owned(),
                        });
                    }
                }
            }
        }
    };
    Ok((timestamp, value))
}

fn read_delimited(
    path: &Path,
    options: &EventsOptions,
    builder: &mut LogBuilder<'_>,
) -> Result<(), DataError> {
    let (mut reader, names) = open_delimited(path, options.separator)?;
    let reading = EventReading::new(path, &names, options)?;
    let file_bytes = std::fs::metadata(path).map_or(0, |m| m.len());
    let ids = std::mem::take(&mut builder.ids);
    // Each block's cells are parsed and its leads looked up on its own core; its events are then
    // added to the log in file order (while the next group is read), so the log and the first
    // error reported are those of reading one row at a time.
    let read_group = |reader: &mut RecordBlocks, group: &mut EventGroup| {
        if !reader.next_group(&mut group.blocks)? {
            return Ok(false);
        }
        group
            .parsed
            .resize_with(group.blocks.len(), ParsedEvents::default);
        group
            .parsed
            .par_iter_mut()
            .zip(&group.blocks)
            .for_each(|(parsed, block)| {
                parsed.parse(
                    &reading,
                    &ids,
                    block.len(),
                    |record| Location::new(path, Position::Line(block.line(record))),
                    |record, column| Cell::Text(block.cell(record, column)),
                );
            });
        Ok::<_, DataError>(true)
    };
    let (mut current, mut next) = (EventGroup::default(), EventGroup::default());
    if !read_group(&mut reader, &mut current)? {
        return Err(DataError::NoRows {
            path: path.to_path_buf(),
        });
    }
    // Sized once from the first blocks: growing by doubling would copy and touch up to twice
    // the final memory of a log of tens of millions of events.
    let (bytes, records) = current
        .blocks
        .iter()
        .fold((0, 0), |(b, r), block| (b + block.bytes(), r + block.len()));
    let expected = file_bytes as f64 / bytes.max(1) as f64 * records as f64;
    builder.reserve((expected * 1.02) as usize);
    loop {
        let (added, more) = rayon::join(
            || current.add_to(builder, reading.columns.lead_id),
            || read_group(&mut reader, &mut next),
        );
        added?;
        if !more? {
            return Ok(());
        }
        std::mem::swap(&mut current, &mut next);
    }
}

/// A group of blocks read together and their parsed events.
#[derive(Default)]
struct EventGroup {
    blocks: Vec<RecordBlock>,
    parsed: Vec<ParsedEvents>,
}

impl EventGroup {
    /// Adds the group's events to the log in file order, up to the first defect.
    fn add_to(&mut self, builder: &mut LogBuilder<'_>, lead_id: usize) -> Result<(), DataError> {
        for (block, parsed) in self.blocks.iter_mut().zip(&mut self.parsed) {
            parsed.add_to(builder, |record| Cow::Borrowed(block.cell(record, lead_id)))?;
            if let Some(error) = block.error.take() {
                return Err(error);
            }
        }
        Ok(())
    }
}

/// A block's events up to its first defect: each with its lead row (`None` when the id is
/// unknown) and its type coded among the block's own types.
#[derive(Default)]
struct ParsedEvents {
    leads: Vec<Option<u32>>,
    events: Vec<(Option<u32>, Event)>,
    types: TypeNames,
    error: Option<DataError>,
}

impl ParsedEvents {
    /// Parses `records` records into this, reusing its memory: `cell(record, column)` is a
    /// cell as read (untrimmed text, or a typed cell of a table in memory), `at(record)` where
    /// it is.
    fn parse<'c>(
        &mut self,
        reading: &EventReading<'_>,
        ids: &LeadIdIndex<'_>,
        records: usize,
        at: impl Fn(usize) -> Location,
        cell: impl Fn(usize, usize) -> Cell<'c>,
    ) {
        self.leads.clear();
        self.events.clear();
        self.types = TypeNames::default();
        self.error = None;
        let columns = &reading.columns;
        ids.get_many(
            (0..records).map(|record| match cell(record, columns.lead_id).text() {
                Cow::Borrowed(text) => Cow::Borrowed(trim_cell(text)),
                formatted => formatted,
            }),
            &mut self.leads,
        );
        let mut last_date = LastDate::default();
        for (record, &lead) in self.leads.iter().enumerate() {
            let cells = parse_event_cells(
                reading,
                || at(record),
                &mut last_date,
                |i| match cell(record, i) {
                    Cell::Text(text) => Cell::Text(text.trim_ascii()),
                    typed => typed,
                },
            );
            let (timestamp, value) = match cells {
                Ok(cells) => cells,
                Err(error) => {
                    self.error = Some(error);
                    return;
                }
            };
            // Only the types of kept events are named: one seen on unknown leads alone is not
            // part of the log.
            let kind = match lead {
                None => 0,
                Some(_) => self
                    .types
                    .code(trim_cell(&cell(record, columns.event_type).text())),
            };
            self.events.push((
                lead,
                Event {
                    timestamp,
                    kind,
                    value,
                },
            ));
        }
    }

    /// Adds the parsed events to the log in order, up to the first defect; `lead_id(record)` is
    /// the id an unknown lead is reported by.
    fn add_to<'c>(
        &mut self,
        builder: &mut LogBuilder<'_>,
        lead_id: impl Fn(usize) -> Cow<'c, str>,
    ) -> Result<(), DataError> {
        let codes: Vec<u32> = self
            .types
            .names
            .iter()
            .map(|t| builder.type_code(t))
            .collect();
        for (record, &(lead, event)) in self.events.iter().enumerate() {
            let event = Event {
                kind: codes.get(event.kind as usize).copied().unwrap_or(0),
                ..event
            };
            builder.push_coded(lead, || lead_id(record), event);
        }
        self.error.take().map_or(Ok(()), Err)
    }
}

/// Events are joined to leads on their ids: a leads table without an id column cannot take any.
fn require_lead_ids(leads: &LeadsTable) -> Result<(), DataError> {
    if leads.id_column.is_none() {
        return Err(DataError::MissingColumn {
            path: leads.path.clone(),
            column: "lead_id".to_owned(),
            role: "id (events are joined on it)",
            hint: " (pass --id COLUMN)".to_owned(),
            available: leads
                .columns
                .iter()
                .map(|c| format!("`{}`", c.name))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok(())
}

/// Rows of a table in memory parsed together on one core.
const FRAME_PART_ROWS: usize = 1 << 15;
/// Parts parsed side by side while the ones before are added to the log.
const FRAME_GROUP_PARTS: usize = 16;

/// The cell of row `record` in column `column` of the columns an event reads (`None`: not
/// read).
fn cell_of(columns: &[Option<FrameColumn>], record: usize, column: usize) -> Cell<'_> {
    columns[column]
        .as_ref()
        .map_or(Cell::Null, |column| column.cell(record))
}

/// Rows of a Parquet events file decoded at a time: the log is built a slice after another, so
/// that only one slice's columns are in memory beside it, and only the columns an event reads
/// are decoded.
const PARQUET_SLICE_ROWS: usize = 1 << 20;

/// Reads a Parquet events file a slice of rows at a time ([`read_frame_rows`] each).
fn read_parquet(
    path: &Path,
    options: &EventsOptions,
    builder: &mut LogBuilder<'_>,
) -> Result<(), DataError> {
    read_parquet_in_slices(path, options, builder, PARQUET_SLICE_ROWS)
}

/// [`read_parquet`], `slice_rows` rows at a time.
fn read_parquet_in_slices(
    path: &Path,
    options: &EventsOptions,
    builder: &mut LogBuilder<'_>,
    slice_rows: usize,
) -> Result<(), DataError> {
    let (names, rows) = parquet_names_and_rows(path)?;
    let reading = EventReading::new(path, &names, options)?;
    let used: Vec<String> = reading
        .used_columns()
        .into_iter()
        .map(|index| names[index].clone())
        .collect();
    let ids = std::mem::take(&mut builder.ids);
    builder.reserve(rows);
    for start in (0..rows).step_by(slice_rows) {
        let slice = read_parquet_slice(path, &used, start..(start + slice_rows).min(rows))?;
        read_frame_rows(&slice, start, path, &reading, &ids, builder)?;
    }
    Ok(())
}

/// Reads the events of a table in memory handed over through Arrow ([`read_frame_rows`]).
fn read_frame(
    frame: &polars::prelude::DataFrame,
    path: &Path,
    options: &EventsOptions,
    builder: &mut LogBuilder<'_>,
) -> Result<(), DataError> {
    let names = frame_names(frame, path)?;
    let reading = EventReading::new(path, &names, options)?;
    let ids = std::mem::take(&mut builder.ids);
    builder.reserve(frame.height());
    read_frame_rows(frame, 0, path, &reading, &ids, builder)
}

/// Adds the events of `frame`, rows `first_row..` of the table `path` names: parts of its rows
/// are parsed on every core, as a delimited file's blocks are, and added to the log in row
/// order, so the log and the first error reported are those of reading one row at a time. Only
/// the columns an event reads are typed; `frame` holds them under their names.
fn read_frame_rows(
    frame: &polars::prelude::DataFrame,
    first_row: usize,
    path: &Path,
    reading: &EventReading<'_>,
    ids: &LeadIdIndex<'_>,
    builder: &mut LogBuilder<'_>,
) -> Result<(), DataError> {
    let columns = &reading.columns;
    let used = reading.used_columns();
    let frame_columns: Vec<Option<FrameColumn>> = (0..reading.names.len())
        .map(|index| {
            used.contains(&index)
                .then(|| {
                    let name = reading.names[index].as_str();
                    let column = frame.column(name).map_err(|e| DataError::Parquet {
                        path: path.to_path_buf(),
                        message: format!("column `{name}`: {e}"),
                    })?;
                    FrameColumn::of(column, path)
                })
                .transpose()
        })
        .collect::<Result<_, _>>()?;
    let height = frame.height();
    let parts: Vec<std::ops::Range<usize>> = (0..height)
        .step_by(FRAME_PART_ROWS)
        .map(|start| start..(start + FRAME_PART_ROWS).min(height))
        .collect();
    let parse_group = |group: &[std::ops::Range<usize>]| -> Vec<ParsedEvents> {
        group
            .par_iter()
            .map(|rows| {
                let part: Vec<Option<FrameColumn>> = frame_columns
                    .iter()
                    .map(|column| column.as_ref().map(|column| column.slice(rows.clone())))
                    .collect();
                let mut parsed = ParsedEvents::default();
                parsed.parse(
                    reading,
                    ids,
                    rows.len(),
                    |record| {
                        let row = first_row + rows.start + record;
                        Location::new(path, Position::Row(row as u64 + 1))
                    },
                    |record, column| cell_of(&part, record, column),
                );
                parsed
            })
            .collect()
    };
    let mut groups = parts
        .chunks(FRAME_GROUP_PARTS)
        .map(|group| (group, parse_group(group)));
    let Some(mut current) = groups.next() else {
        return Ok(());
    };
    loop {
        let (rows_of_parts, parsed) = &mut current;
        let (added, next) = rayon::join(
            || {
                parsed
                    .iter_mut()
                    .zip(rows_of_parts.iter())
                    .try_for_each(|(parsed, rows)| {
                        parsed.add_to(builder, |record| {
                            cell_of(&frame_columns, rows.start + record, columns.lead_id).text()
                        })
                    })
            },
            || groups.next(),
        );
        added?;
        match next {
            Some(next) => current = next,
            None => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{
        EventLog, EventsOptions, LeadsTable, LogBuilder, PlacedEvent, TYPED_TIMES, canonical_order,
        read_parquet_in_slices, sort_bucket, sort_by_lead, sort_by_lead_bits,
    };
    use crate::time::{format_timestamp, parse_timestamp};

    /// A Parquet file read in slices of rows gives the log of reading it whole, and its first
    /// defect at its row, whichever slice it lies in.
    #[test]
    fn parquet_read_in_slices_is_the_file_read_whole() {
        use polars::prelude::*;

        let dir = tempfile::tempdir().expect("temp dir");
        let leads_path = dir.path().join("leads.csv");
        std::fs::write(&leads_path, "lead_id,outcome\na,won\nb,lost\nc,lost\n").expect("leads");
        let leads = LeadsTable::load(&leads_path, &crate::LeadsOptions::default()).expect("leads");
        let path = dir.path().join("events.parquet");
        let write = |times: &[Option<i64>]| {
            let n = times.len();
            let timestamp = Series::new("timestamp".into(), times.to_vec())
                .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
                .expect("datetime");
            let mut frame = DataFrame::new(
                n,
                vec![
                    Column::new("extra".into(), vec![1i64; n]),
                    Column::new(
                        "lead_id".into(),
                        (0..n)
                            .map(|i| ["a", "b", "c", "d"][i % 4])
                            .collect::<Vec<_>>(),
                    ),
                    timestamp.into(),
                    Column::new(
                        "event_type".into(),
                        (0..n).map(|i| ["x", "y"][i % 2]).collect::<Vec<_>>(),
                    ),
                ],
            )
            .expect("frame");
            let file = std::fs::File::create(&path).expect("create");
            ParquetWriter::new(file)
                .with_row_group_size(Some(100))
                .finish(&mut frame)
                .expect("write parquet");
        };
        let read = |slice_rows: usize| {
            let mut builder = LogBuilder::new(&leads);
            read_parquet_in_slices(&path, &EventsOptions::default(), &mut builder, slice_rows)
                .map(|()| builder.finish(&path, leads.len()))
        };
        let mut times: Vec<Option<i64>> = (0..1000)
            .map(|i| Some(1_700_000_000_000 - i * 7_000))
            .collect();
        write(&times);
        let whole = read(usize::MAX >> 1).expect("whole");
        for slice_rows in [1, 37, 128, 999] {
            let sliced = read(slice_rows).expect("sliced");
            assert_eq!(sliced.stats, whole.stats, "{slice_rows}");
            let bits = |log: &EventLog| -> Vec<(i64, u32, u64)> {
                (0..leads.len())
                    .flat_map(|lead| log.for_lead(lead))
                    .map(|e| (e.timestamp, e.kind, e.value.to_bits()))
                    .collect()
            };
            assert_eq!(bits(&sliced), bits(&whole), "{slice_rows}");
        }
        times[700] = None;
        times[900] = None;
        write(&times);
        for slice_rows in [37, 128, 1000] {
            let message = read(slice_rows).expect_err("a missing time").to_string();
            assert!(message.contains("row 701"), "{slice_rows}: {message}");
        }
    }

    /// A typed time within [`TYPED_TIMES`] is taken as it is: its text must read back as it.
    #[test]
    fn typed_times_read_back_from_their_text() {
        let (first, last) = (*TYPED_TIMES.start(), *TYPED_TIMES.end());
        let edges = [first, first + 1, -1, 0, 1, 951_782_400, last - 1, last];
        let spread =
            (0..20_000).map(|i: i64| (first + (last - first) / 20_000 * i + i * 7_919).min(last));
        for seconds in edges.into_iter().chain(spread) {
            assert_eq!(
                parse_timestamp(&format_timestamp(seconds)),
                Some(seconds),
                "{seconds}"
            );
        }
    }

    fn by_lead_then_canonical(a: &PlacedEvent, b: &PlacedEvent) -> std::cmp::Ordering {
        a.lead.cmp(&b.lead).then_with(|| {
            canonical_order(
                (a.timestamp, a.kind, a.value),
                (b.timestamp, b.kind, b.value),
            )
        })
    }

    fn bits(events: &[PlacedEvent]) -> Vec<(u32, i64, u32, u64)> {
        events
            .iter()
            .map(|e| (e.lead, e.timestamp, e.kind, e.value.to_bits()))
            .collect()
    }

    fn placed(raw: Vec<(u32, i64, u32, f64)>) -> Vec<PlacedEvent> {
        raw.into_iter()
            .map(|(lead, timestamp, kind, value)| PlacedEvent {
                lead,
                kind,
                timestamp,
                value,
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]
        /// Logs in time order (the usual case) or in any order, with ties of time, type and
        /// value, absent values, times before 1970 and at the ends of the range, few or many
        /// leads; radix passes whatever the log's size, and buckets counted out by lead.
        #[test]
        fn radix_grouping_is_the_comparison_sort(
            n_leads in prop_oneof![1u32..64, 1u32..5000],
            raw in proptest::collection::vec((any::<u32>(), prop_oneof![-3i64..3, Just(i64::MIN), Just(i64::MAX)], 0u32..3, prop_oneof![Just(f64::NAN), (0u8..3).prop_map(f64::from)]), 0..3000),
            in_time_order in any::<bool>(),
        ) {
            let mut events = placed(raw.into_iter().map(|(lead, t, k, v)| (lead % n_leads, t, k, v)).collect());
            if in_time_order {
                events.sort_by_key(|e| e.timestamp);
            }
            let mut expected = events.clone();
            expected.sort_by(by_lead_then_canonical);
            let lead_bits = u32::BITS - n_leads.leading_zeros();
            let mut radix = events.clone();
            sort_by_lead_bits(&mut radix, lead_bits, 2, 0);
            prop_assert_eq!(bits(&radix), bits(&expected));
            let mut counted = events.clone();
            sort_bucket(&mut counted, lead_bits);
            prop_assert_eq!(bits(&counted), bits(&expected));
            sort_by_lead(&mut events, n_leads as usize);
            prop_assert_eq!(bits(&events), bits(&expected));
        }
    }

    #[test]
    fn a_large_log_takes_the_radix_passes() {
        let n_leads = 100_000u32;
        let mut state = 7u64;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (state >> 33) as u32
        };
        let mut events = placed(
            (0..200_000)
                .map(|t| (next() % n_leads, i64::from(t / 3), next() % 4, f64::NAN))
                .collect(),
        );
        let mut expected = events.clone();
        expected.sort_by(by_lead_then_canonical);
        sort_by_lead(&mut events, n_leads as usize);
        assert_eq!(bits(&events), bits(&expected));
    }
}
