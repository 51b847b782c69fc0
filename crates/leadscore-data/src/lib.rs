//! Reading lead and event tables into typed, validated data sets.
//!
//! This is where every leadscore workflow starts: `train`, `score`, `compare` and `describe` all
//! load their inputs here. A leads file (CSV with any common separator, or Parquet) becomes a
//! [`LeadsTable`] with ids, won/lost/open outcomes, dates and explicit feature columns whose types
//! are inferred or overridden; an events file becomes an [`EventLog`] grouped by lead in canonical
//! order. Every defect in the input is a [`DataError`] naming the file, column and line.
//! Delimited files are cut into blocks of whole records (quoted line ends respected) that are
//! parsed on every core and taken in file order, with each record's line on the page; an events
//! table in memory (Parquet, Arrow) is read in parts of rows the same way, from its typed
//! columns; result
//! tables are written whole ([`write_table`]) or a part at a time
//! ([`write_table_in_parts`]), atomically either way.

mod atomic;
mod blocks;
mod describe;
mod detect;
mod error;
mod events;
mod ids;
mod leads;
mod output;
mod sniff;
mod split;
mod table;
pub mod time;
mod value;

pub use atomic::{file_sha256, write_atomically, write_bytes_atomically};
pub use describe::{ClassBalance, ColumnRole, ColumnSummary, Description, EventsSummary};
pub use error::{DataError, Location, Position};
pub use events::{Event, EventLog, EventStats, EventsOptions, canonical_order};
pub use ids::LeadIdIndex;
pub use leads::{
    ColumnValues, ExcludedColumn, FeatureColumn, KindSource, LeadsOptions, LeadsTable,
    MISSING_CODE, Notice, Outcome, OutcomeValues, Severity,
};
pub use output::{OutputValues, TableSink, output_frame, write_table, write_table_in_parts};
pub use sniff::sniff_separator;
pub use split::{Folds, SplitKind, Validation, hold_out, validation_folds};
pub use table::{FileFormat, UNNAMED_PREFIX, format_number, format_rounded, push_fixed};
pub use value::{
    ColumnKind, MissingTokens, NumberError, TextRule, Value, parse_number, read_cell, trim_cell,
};
