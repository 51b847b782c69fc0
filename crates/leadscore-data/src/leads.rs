//! The leads table: one row per lead with its id, outcome, dates and explicit attributes.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::error::{DataError, Location, Position, did_you_mean};
use crate::ids::LeadIdIndex;
use crate::table::{RawColumn, RawTable, TextColumn};
use crate::time::parse_timestamp;
use crate::value::{ColumnKind, MissingTokens, NumberError, TextRule, Value, read_cell};

/// Code of a missing cell in a categorical column.
pub const MISSING_CODE: u32 = u32::MAX;

/// Outcome values tried, in order, when the user names no positive value.
const POSITIVE_GUESSES: [&str; 10] = [
    "won",
    "win",
    "closed won",
    "closed-won",
    "closed_won",
    "converted",
    "yes",
    "true",
    "1",
    "success",
];

/// How to read a leads file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadsOptions {
    /// Id column; `None` uses `lead_id` when present and row numbers otherwise.
    pub id_column: Option<String>,
    /// Outcome column. Default `outcome`.
    pub target: String,
    /// Outcome values meaning won. Empty: guessed from common spellings (`won`, `yes`, `1`, ...).
    pub positive: Vec<String>,
    /// Outcome values meaning lost. Empty: the one remaining value, if there is exactly one.
    pub negative: Vec<String>,
    /// Outcome values meaning still open, besides empty cells. Default `open`.
    pub open: Vec<String>,
    /// Creation date column; `None` uses `created_at` when present.
    pub created_at: Option<String>,
    /// Close date column; `None` uses `closed_at` when present.
    pub closed_at: Option<String>,
    /// Columns never used as features (leaks such as call duration, ids, free text).
    pub exclude: Vec<String>,
    /// Columns forced numeric.
    pub numeric: Vec<String>,
    /// Columns forced categorical.
    pub categorical: Vec<String>,
    /// Placeholders read as missing.
    pub missing: MissingTokens,
    /// Field separator; `None` sniffs it.
    pub separator: Option<u8>,
    /// Column types a model expects; applied to columns the user did not type explicitly.
    pub type_hints: Vec<(String, ColumnKind)>,
    /// Columns read whatever their values, never dropped as empty or constant: a file being scored
    /// keeps every column its model or rules read, even when it is "No" in every row.
    pub keep: Vec<String>,
    /// How category levels are normalised.
    pub text_rule: TextRule,
    /// Whether the outcome column must exist. Scoring new leads does not need it: without it,
    /// every lead is open.
    pub require_target: bool,
    /// Deal value column (the amount of won deals); never a feature: sales fill it after the
    /// fact.
    pub value: Option<String>,
}

impl Default for LeadsOptions {
    fn default() -> Self {
        Self {
            id_column: None,
            target: "outcome".to_owned(),
            positive: Vec::new(),
            negative: Vec::new(),
            open: vec!["open".to_owned()],
            created_at: None,
            closed_at: None,
            exclude: Vec::new(),
            numeric: Vec::new(),
            categorical: Vec::new(),
            missing: MissingTokens::default(),
            separator: None,
            type_hints: Vec::new(),
            keep: Vec::new(),
            text_rule: TextRule::default(),
            require_target: true,
            value: None,
        }
    }
}

impl LeadsOptions {
    /// Reads `columns` whatever their values (never dropped as empty or constant), with the kind
    /// given where there is one — unless the user typed the column explicitly or a kind is
    /// already set for it.
    pub fn keep_columns(
        &mut self,
        columns: impl IntoIterator<Item = (String, Option<ColumnKind>)>,
    ) {
        for (name, kind) in columns {
            let typed = self.numeric.contains(&name)
                || self.categorical.contains(&name)
                || self.type_hints.iter().any(|(n, _)| *n == name);
            if let Some(kind) = kind.filter(|_| !typed) {
                self.type_hints.push((name.clone(), kind));
            }
            if !self.keep.contains(&name) {
                self.keep.push(name);
            }
        }
    }
}

/// The state of a lead's deal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Converted (a positive outcome value).
    Won,
    /// Did not convert (a negative outcome value).
    Lost,
    /// Not decided yet: scored, never trained on.
    Open,
}

/// The outcome values as finally resolved (given or inferred), lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeValues {
    /// Values read as won.
    pub positive: Vec<String>,
    /// Values read as lost.
    pub negative: Vec<String>,
    /// Values read as open (empty cells are always open).
    pub open: Vec<String>,
}

/// Whether a column's kind was inferred or set by the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KindSource {
    /// Decided from the values.
    Inferred,
    /// Set by `--numeric`/`--categorical` or the config file.
    Override,
}

/// Values of an explicit feature column.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnValues {
    /// One finite number per row; NaN is missing.
    Numeric(Vec<f64>),
    /// One code per row into `levels`; [`MISSING_CODE`] is missing.
    Categorical {
        /// Row codes.
        codes: Vec<u32>,
        /// Distinct levels in first-seen order.
        levels: Vec<String>,
    },
}

/// An explicit attribute of the leads (demographic, firmographic, or any other column).
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureColumn {
    /// Column name in the file.
    pub name: String,
    /// Whether the kind was inferred or overridden.
    pub kind_source: KindSource,
    /// Typed values.
    pub values: ColumnValues,
}

impl FeatureColumn {
    /// Numeric or categorical.
    pub fn kind(&self) -> ColumnKind {
        match self.values {
            ColumnValues::Numeric(_) => ColumnKind::Numeric,
            ColumnValues::Categorical { .. } => ColumnKind::Categorical,
        }
    }

    /// The cell of `row`.
    pub fn value(&self, row: usize) -> Value<'_> {
        match &self.values {
            ColumnValues::Numeric(values) if values[row].is_nan() => Value::Missing,
            ColumnValues::Numeric(values) => Value::Number(values[row]),
            ColumnValues::Categorical { codes, .. } if codes[row] == MISSING_CODE => Value::Missing,
            ColumnValues::Categorical { codes, levels } => {
                Value::Text(&levels[codes[row] as usize])
            }
        }
    }

    /// Number of missing cells.
    pub fn missing_count(&self) -> usize {
        match &self.values {
            ColumnValues::Numeric(values) => values.iter().filter(|v| v.is_nan()).count(),
            ColumnValues::Categorical { codes, .. } => {
                codes.iter().filter(|&&c| c == MISSING_CODE).count()
            }
        }
    }
}

/// A column not used as a feature, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExcludedColumn {
    /// Column name.
    pub name: String,
    /// Why it is not a feature.
    pub reason: String,
}

/// How serious a notice is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Something the loader decided that the user should know.
    Info,
    /// Something that is probably wrong with the data.
    Warning,
}

/// A message about the data that is not fatal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// Info or warning.
    pub severity: Severity,
    /// The message, naming the column.
    pub message: String,
}

impl Notice {
    pub(crate) fn info(message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Info,
            message: message.into(),
        }
    }

    pub(crate) fn warning(message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            message: message.into(),
        }
    }
}

/// A validated, typed leads table.
#[derive(Debug, Clone)]
pub struct LeadsTable {
    /// File it was read from.
    pub path: PathBuf,
    /// Id column, `None` when rows are numbered.
    pub id_column: Option<String>,
    /// Lead ids, unique.
    pub ids: Vec<String>,
    /// Outcome column.
    pub target: String,
    /// Outcome of each lead.
    pub outcomes: Vec<Outcome>,
    /// How outcome values were read.
    pub outcome_values: OutcomeValues,
    /// Creation time (epoch seconds) per lead, when the file has the column.
    pub created_at: Option<Vec<Option<i64>>>,
    /// Close time (epoch seconds) per lead, when the file has the column.
    pub closed_at: Option<Vec<Option<i64>>>,
    /// Name of the creation date column, when present.
    pub created_column: Option<String>,
    /// Name of the close date column, when present.
    pub closed_column: Option<String>,
    /// Deal value of each won lead, when a value column was given (missing for lost and open
    /// leads, and for won leads whose amount is empty).
    pub deal_values: Option<Vec<Option<f64>>>,
    /// Name of the deal value column, when given.
    pub value_column: Option<String>,
    /// Explicit feature columns.
    pub columns: Vec<FeatureColumn>,
    /// Columns present in the file but not used as features.
    pub excluded: Vec<ExcludedColumn>,
    /// Missing-value placeholders used to read the file.
    pub missing: MissingTokens,
    /// How category levels were normalised.
    pub text_rule: TextRule,
    /// What the loader noticed.
    pub notices: Vec<Notice>,
    /// Line (CSV) or row (Parquet) of each lead in `path`.
    positions: Vec<Position>,
}

impl LeadsTable {
    /// Reads and validates a leads file.
    pub fn load(path: &Path, options: &LeadsOptions) -> Result<Self, DataError> {
        let raw = RawTable::read(path, options.separator)?;
        Self::from_raw(raw, options)
    }

    /// Reads and validates a leads table already in memory (handed over through Arrow), with
    /// the rules a Parquet file is read with; `origin` names it in errors.
    pub fn from_frame(
        frame: &polars::prelude::DataFrame,
        origin: &Path,
        options: &LeadsOptions,
    ) -> Result<Self, DataError> {
        Self::from_raw(RawTable::from_frame(frame, origin)?, options)
    }

    /// Number of leads.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there are no leads.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Number of leads with the given outcome.
    pub fn count(&self, outcome: Outcome) -> usize {
        self.outcomes.iter().filter(|&&o| o == outcome).count()
    }

    /// Rows of won and lost leads, in file order.
    pub fn closed_rows(&self) -> Vec<usize> {
        (0..self.len())
            .filter(|&row| self.outcomes[row] != Outcome::Open)
            .collect()
    }

    /// Whether each row is won (open and lost rows are `false`).
    pub fn won_mask(&self) -> Vec<bool> {
        self.outcomes.iter().map(|&o| o == Outcome::Won).collect()
    }

    /// Share of won among closed leads (0 when there are none).
    pub fn positive_rate(&self) -> f64 {
        let won = self.count(Outcome::Won);
        let closed = won + self.count(Outcome::Lost);
        if closed == 0 {
            0.0
        } else {
            won as f64 / closed as f64
        }
    }

    /// Where row `row` sits in the file.
    pub fn location(&self, row: usize) -> Location {
        Location::new(&self.path, self.positions[row])
    }

    /// Explicit feature column by name.
    pub fn column(&self, name: &str) -> Option<&FeatureColumn> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Lead row by id.
    pub fn id_index(&self) -> LeadIdIndex<'_> {
        LeadIdIndex::new(&self.ids)
    }

    /// Fails unless closed leads hold both won and lost.
    pub fn require_both_classes(&self) -> Result<(), DataError> {
        let (won, lost) = (self.count(Outcome::Won), self.count(Outcome::Lost));
        if won == 0 || lost == 0 {
            return Err(DataError::SingleClass {
                path: self.path.clone(),
                won,
                lost,
            });
        }
        Ok(())
    }

    /// The same table without some feature columns, recorded as excluded for `reason`.
    pub fn without_columns(&self, names: &[String], reason: &str) -> Self {
        let mut table = self.clone();
        table.columns.retain(|c| !names.contains(&c.name));
        table
            .excluded
            .extend(names.iter().map(|name| ExcludedColumn {
                name: name.clone(),
                reason: reason.to_owned(),
            }));
        table
    }

    /// Keeps only the given rows (in the given order).
    pub fn select_rows(&self, rows: &[usize]) -> Self {
        let pick_times = |times: &Option<Vec<Option<i64>>>| {
            times.as_ref().map(|t| rows.iter().map(|&r| t[r]).collect())
        };
        let columns = self
            .columns
            .iter()
            .map(|column| FeatureColumn {
                name: column.name.clone(),
                kind_source: column.kind_source,
                values: match &column.values {
                    ColumnValues::Numeric(values) => {
                        ColumnValues::Numeric(rows.iter().map(|&r| values[r]).collect())
                    }
                    ColumnValues::Categorical { codes, levels } => ColumnValues::Categorical {
                        codes: rows.iter().map(|&r| codes[r]).collect(),
                        levels: levels.clone(),
                    },
                },
            })
            .collect();
        Self {
            path: self.path.clone(),
            id_column: self.id_column.clone(),
            ids: rows.iter().map(|&r| self.ids[r].clone()).collect(),
            target: self.target.clone(),
            outcomes: rows.iter().map(|&r| self.outcomes[r]).collect(),
            outcome_values: self.outcome_values.clone(),
            created_at: pick_times(&self.created_at),
            closed_at: pick_times(&self.closed_at),
            created_column: self.created_column.clone(),
            closed_column: self.closed_column.clone(),
            deal_values: self
                .deal_values
                .as_ref()
                .map(|v| rows.iter().map(|&r| v[r]).collect()),
            value_column: self.value_column.clone(),
            columns,
            excluded: self.excluded.clone(),
            missing: self.missing.clone(),
            text_rule: self.text_rule,
            notices: self.notices.clone(),
            positions: rows.iter().map(|&r| self.positions[r]).collect(),
        }
    }

    fn from_raw(raw: RawTable, options: &LeadsOptions) -> Result<Self, DataError> {
        let mut notices = Vec::new();
        check_overrides(&raw, options)?;
        for &position in &raw.unnamed {
            notices.push(Notice::warning(format!(
                "column {} has an empty header; it is read as `{}` (name it in the file, or --exclude {})",
                position + 1,
                raw.names[position],
                raw.names[position]
            )));
        }

        let id_index = match &options.id_column {
            Some(name) => Some(
                raw.column_index(name)
                    .ok_or_else(|| raw.missing_column(name, "id"))?,
            ),
            None => raw.column_index("lead_id"),
        };
        let id_column = id_index.map(|i| raw.names[i].clone());
        let ids = match id_index {
            Some(index) => read_ids(&raw, index)?,
            None => {
                notices.push(Notice::info(
                    "no `lead_id` column: leads are identified by their row number (pass --id COLUMN to use a column)",
                ));
                (1..=raw.rows).map(|n| n.to_string()).collect()
            }
        };

        let target_index = raw.column_index(&options.target);
        let (outcomes, outcome_values) = match target_index {
            Some(index) => read_outcomes(&raw, index, options, &mut notices)?,
            None if !options.require_target => (
                vec![Outcome::Open; raw.rows],
                OutcomeValues {
                    positive: lower_all(&options.positive),
                    negative: lower_all(&options.negative),
                    open: lower_all(&options.open),
                },
            ),
            None => return Err(raw.missing_column(&options.target, "outcome")),
        };

        let created_index = optional_column(
            &raw,
            options.created_at.as_deref(),
            "created_at",
            "creation date",
        )?;
        let closed_index = optional_column(
            &raw,
            options.closed_at.as_deref(),
            "closed_at",
            "close date",
        )?;
        let created_at = created_index.map(|i| read_times(&raw, i)).transpose()?;
        let closed_at = closed_index.map(|i| read_times(&raw, i)).transpose()?;
        check_dates(
            &outcomes,
            created_at.as_deref(),
            closed_at.as_deref(),
            &mut notices,
        );

        let value_index = options
            .value
            .as_deref()
            .map(|name| {
                raw.column_index(name)
                    .ok_or_else(|| raw.missing_column(name, "deal value"))
            })
            .transpose()?;
        let deal_values = value_index
            .map(|index| read_deal_values(&raw, index, &outcomes, options, &mut notices))
            .transpose()?;

        let mut excluded = Vec::new();
        let mut columns = Vec::new();
        let reserved = [
            id_index,
            target_index,
            created_index,
            closed_index,
            value_index,
        ];
        // Columns are typed side by side; their results, notices and first error are taken in
        // column order, as when typed one after another.
        let typed: Vec<Option<ColumnTyping>> = (0..raw.names.len())
            .into_par_iter()
            .map(|index| {
                let name = &raw.names[index];
                let skipped =
                    reserved.contains(&Some(index)) || options.exclude.iter().any(|e| e == name);
                (!skipped).then(|| {
                    let mut notices = Vec::new();
                    (type_column(&raw, index, options, &mut notices), notices)
                })
            })
            .collect();
        for ((index, name), typed) in raw.names.iter().enumerate().zip(typed) {
            if reserved.contains(&Some(index)) {
                continue;
            }
            let Some((typed, column_notices)) = typed else {
                excluded.push(ExcludedColumn {
                    name: name.clone(),
                    reason: "excluded by the user".to_owned(),
                });
                continue;
            };
            notices.extend(column_notices);
            match typed? {
                Typed::Feature(column) => columns.push(column),
                Typed::Dropped(reason) => excluded.push(ExcludedColumn {
                    name: name.clone(),
                    reason,
                }),
            }
        }
        if columns.is_empty() {
            notices.push(Notice::warning(
                "no explicit feature columns are left; scoring can only use events",
            ));
        }
        let positions = (0..raw.rows).map(|row| raw.position(row)).collect();
        Ok(Self {
            path: raw.path,
            id_column,
            ids,
            target: options.target.clone(),
            outcomes,
            outcome_values,
            created_at,
            closed_at,
            created_column: created_index.map(|i| raw.names[i].clone()),
            closed_column: closed_index.map(|i| raw.names[i].clone()),
            deal_values,
            value_column: value_index.map(|i| raw.names[i].clone()),
            columns,
            excluded,
            missing: options.missing.clone(),
            text_rule: options.text_rule,
            notices,
            positions,
        })
    }
}

fn check_overrides(raw: &RawTable, options: &LeadsOptions) -> Result<(), DataError> {
    let lists: [(&'static str, &Vec<String>); 3] = [
        ("--exclude", &options.exclude),
        ("--numeric", &options.numeric),
        ("--categorical", &options.categorical),
    ];
    for (flag, names) in lists {
        for name in names {
            if raw.column_index(name).is_none() {
                return Err(DataError::UnknownColumn {
                    path: raw.path.clone(),
                    flag,
                    column: name.clone(),
                    hint: did_you_mean(name, raw.names.iter().map(String::as_str)),
                    available: raw.available_columns(),
                });
            }
        }
    }
    if let Some(both) = options
        .numeric
        .iter()
        .find(|n| options.categorical.contains(n))
    {
        return Err(DataError::ConflictingOverride {
            column: both.clone(),
        });
    }
    Ok(())
}

fn optional_column(
    raw: &RawTable,
    given: Option<&str>,
    default: &str,
    role: &'static str,
) -> Result<Option<usize>, DataError> {
    match given {
        Some(name) => raw
            .column_index(name)
            .map(Some)
            .ok_or_else(|| raw.missing_column(name, role)),
        None => Ok(raw.column_index(default)),
    }
}

fn read_ids(raw: &RawTable, index: usize) -> Result<Vec<String>, DataError> {
    let column = &raw.names[index];
    let mut ids = Vec::with_capacity(raw.rows);
    // A text column has each distinct id once already: a repeated id is a repeated code.
    let mut first_of_code: Vec<Option<usize>> = match &raw.columns[index] {
        RawColumn::Text(text) => vec![None; text.distinct()],
        RawColumn::Number(_) | RawColumn::Time(_) => Vec::new(),
    };
    let mut seen: FxHashMap<String, usize> = FxHashMap::default();
    for row in 0..raw.rows {
        let id = raw.columns[index].text(row).unwrap_or_default();
        if id.is_empty() {
            return Err(DataError::MissingId {
                at: raw.location(row),
                column: column.clone(),
            });
        }
        let first = match &raw.columns[index] {
            RawColumn::Text(text) => first_of_code[text.codes[row] as usize].replace(row),
            RawColumn::Number(_) | RawColumn::Time(_) => seen.insert(id.clone(), row),
        };
        if let Some(first) = first {
            return Err(DataError::DuplicateId {
                at: raw.location(row),
                column: column.clone(),
                id,
                first: raw.location(first).to_string(),
            });
        }
        ids.push(id);
    }
    Ok(ids)
}

fn lower_all(values: &[String]) -> Vec<String> {
    values.iter().map(|v| v.trim().to_lowercase()).collect()
}

fn read_outcomes(
    raw: &RawTable,
    index: usize,
    options: &LeadsOptions,
    notices: &mut Vec<Notice>,
) -> Result<(Vec<Outcome>, OutcomeValues), DataError> {
    let column = &raw.names[index];
    // Each row's value (trimmed, lower case) as its place among the distinct values, which are
    // worked out once per distinct cell text: an outcome column holds a handful of texts.
    let mut distinct: Vec<(String, usize)> = Vec::new();
    let mut place_of_text: FxHashMap<String, Option<u32>> = FxHashMap::default();
    let cells: Vec<Option<u32>> = (0..raw.rows)
        .map(|row| {
            let text = raw.columns[index].cell(row)?;
            let place = match place_of_text.get(text.as_ref()) {
                Some(&place) => place,
                None => {
                    let value =
                        (!options.missing.is_missing(&text)).then(|| text.trim().to_lowercase());
                    let place =
                        value.map(
                            |value| match distinct.iter().position(|(v, _)| *v == value) {
                                Some(place) => place as u32,
                                None => {
                                    distinct.push((value, 0));
                                    (distinct.len() - 1) as u32
                                }
                            },
                        );
                    place_of_text.insert(text.into_owned(), place);
                    place
                }
            };
            if let Some(place) = place {
                distinct[place as usize].1 += 1;
            }
            place
        })
        .collect();
    let listing = || {
        distinct
            .iter()
            .take(12)
            .map(|(v, n)| format!("`{v}` ({n})"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let open = lower_all(&options.open);
    let mut positive = lower_all(&options.positive);
    if positive.is_empty() {
        let guess = POSITIVE_GUESSES
            .iter()
            .find(|g| distinct.iter().any(|(v, _)| v == *g))
            .ok_or_else(|| DataError::AmbiguousOutcome {
                path: raw.path.clone(),
                column: column.clone(),
                problem: "has no value leadscore recognises as won; name it with --positive"
                    .to_owned(),
                values: listing(),
            })?;
        notices.push(Notice::info(format!(
            "outcome `{guess}` in column `{column}` read as won (pass --positive to change)"
        )));
        positive.push((*guess).to_owned());
    }
    let mut negative = lower_all(&options.negative);
    for (value, first, second) in [
        (
            positive.iter().find(|p| negative.contains(p)),
            "positive",
            "negative",
        ),
        (
            positive.iter().find(|p| open.contains(p)),
            "positive",
            "open",
        ),
        (
            negative.iter().find(|n| open.contains(n)),
            "negative",
            "open",
        ),
    ] {
        if let Some(value) = value {
            return Err(DataError::ConflictingOutcomeValue {
                value: value.clone(),
                first,
                second,
            });
        }
    }
    if negative.is_empty() {
        let rest: Vec<&String> = distinct
            .iter()
            .map(|(v, _)| v)
            .filter(|v| !positive.contains(v) && !open.contains(v))
            .collect();
        match rest.as_slice() {
            [] => {}
            [only] => {
                notices.push(Notice::info(format!(
                    "outcome `{only}` in column `{column}` read as lost (pass --negative to change)"
                )));
                negative.push((*only).clone());
            }
            _ => {
                return Err(DataError::AmbiguousOutcome {
                    path: raw.path.clone(),
                    column: column.clone(),
                    problem: format!(
                        "has several values besides the positive ({}); say which mean lost with --negative and which mean open with --open",
                        positive.join(", ")
                    ),
                    values: listing(),
                });
            }
        }
    }
    let mut outcomes = Vec::with_capacity(raw.rows);
    for (row, place) in cells.iter().enumerate() {
        let outcome = match place.map(|place| &distinct[place as usize].0) {
            None => Outcome::Open,
            Some(v) if positive.contains(v) => Outcome::Won,
            Some(v) if negative.contains(v) => Outcome::Lost,
            Some(v) if open.contains(v) => Outcome::Open,
            Some(v) => {
                return Err(DataError::UnknownOutcome {
                    at: raw.location(row),
                    column: column.clone(),
                    value: v.clone(),
                    positive: positive.join(", "),
                    negative: negative.join(", "),
                });
            }
        };
        outcomes.push(outcome);
    }
    Ok((
        outcomes,
        OutcomeValues {
            positive,
            negative,
            open,
        },
    ))
}

/// Won leads' amounts: a positive number each (an amount of 0 or below, or text, is an error
/// naming its row); an empty amount leaves the lead out of the value model, with a warning.
/// Amounts of lost and open leads are not read.
fn read_deal_values(
    raw: &RawTable,
    index: usize,
    outcomes: &[Outcome],
    options: &LeadsOptions,
    notices: &mut Vec<Notice>,
) -> Result<Vec<Option<f64>>, DataError> {
    let column = &raw.names[index];
    let mut values = Vec::with_capacity(raw.rows);
    let mut empty_wins = 0;
    for (row, outcome) in outcomes.iter().enumerate() {
        if *outcome != Outcome::Won {
            values.push(None);
            continue;
        }
        let text = raw.columns[index].text(row).unwrap_or_default();
        let value = match read_cell(&text, Some(ColumnKind::Numeric), &options.missing) {
            Ok(Value::Number(amount)) if amount > 0.0 => Some(amount),
            Ok(Value::Missing) => {
                empty_wins += 1;
                None
            }
            Ok(_) | Err(_) => {
                return Err(DataError::BadNumber {
                    at: raw.location(row),
                    column: column.clone(),
                    value: text,
                    why: " (a won deal's value must be an amount above 0)".to_owned(),
                });
            }
        };
        values.push(value);
    }
    if empty_wins > 0 {
        notices.push(Notice::warning(format!(
            "{empty_wins} won leads have no amount in `{column}`: the value model learns from the others"
        )));
    }
    Ok(values)
}

fn read_times(raw: &RawTable, index: usize) -> Result<Vec<Option<i64>>, DataError> {
    let column = &raw.names[index];
    match &raw.columns[index] {
        RawColumn::Time(values) => Ok(values.clone()),
        RawColumn::Number(_) => Err(DataError::BadTimestamp {
            at: raw.location(0),
            column: column.clone(),
            value: raw.columns[index].text(0).unwrap_or_default(),
        }),
        RawColumn::Text(text) => {
            let mut parsed = Vec::with_capacity(text.distinct());
            for (code, value) in text.values().enumerate() {
                if value.trim().is_empty() {
                    parsed.push(None);
                    continue;
                }
                match parse_timestamp(value) {
                    Some(t) => parsed.push(Some(t)),
                    None => {
                        return Err(DataError::BadTimestamp {
                            at: raw.location(text.first_row_of(code as u32)),
                            column: column.clone(),
                            value: value.to_owned(),
                        });
                    }
                }
            }
            Ok(text.codes.iter().map(|&c| parsed[c as usize]).collect())
        }
    }
}

fn check_dates(
    outcomes: &[Outcome],
    created: Option<&[Option<i64>]>,
    closed: Option<&[Option<i64>]>,
    notices: &mut Vec<Notice>,
) {
    if let Some(closed) = closed {
        let undated = outcomes
            .iter()
            .zip(closed)
            .filter(|(o, c)| **o != Outcome::Open && c.is_none())
            .count();
        if undated > 0 {
            notices.push(Notice::warning(format!(
                "{undated} closed leads have no close date; their behaviour features use all their events"
            )));
        }
    }
    if let (Some(created), Some(closed)) = (created, closed) {
        let backwards = created
            .iter()
            .zip(closed)
            .filter(|(a, b)| matches!((a, b), (Some(a), Some(b)) if b < a))
            .count();
        if backwards > 0 {
            notices.push(Notice::warning(format!(
                "{backwards} leads were closed before they were created"
            )));
        }
    }
}

enum Typed {
    Feature(FeatureColumn),
    Dropped(String),
}

/// A column's type (or why it is dropped) and the notices typing it raised.
type ColumnTyping = (Result<Typed, DataError>, Vec<Notice>);

fn type_column(
    raw: &RawTable,
    index: usize,
    options: &LeadsOptions,
    notices: &mut Vec<Notice>,
) -> Result<Typed, DataError> {
    let name = &raw.names[index];
    let user_numeric = options.numeric.contains(name);
    let user_categorical = options.categorical.contains(name);
    let hint = options
        .type_hints
        .iter()
        .find(|(column, _)| column == name)
        .map(|(_, kind)| *kind)
        .filter(|_| !user_numeric && !user_categorical);
    let forced_numeric = user_numeric || hint == Some(ColumnKind::Numeric);
    let forced_categorical = user_categorical || hint == Some(ColumnKind::Categorical);
    let kind_source = if forced_numeric || forced_categorical {
        KindSource::Override
    } else {
        KindSource::Inferred
    };
    let column = match &raw.columns[index] {
        RawColumn::Time(_) => {
            return Ok(Typed::Dropped(
                "date column: derive numeric features from it (e.g. age in days) to use it"
                    .to_owned(),
            ));
        }
        RawColumn::Number(values) => {
            if let Some(row) = values.iter().position(|v| v.is_some_and(f64::is_infinite)) {
                return Err(DataError::NotFinite {
                    at: raw.location(row),
                    column: name.clone(),
                    value: raw.columns[index].text(row).unwrap_or_default(),
                });
            }
            if forced_categorical {
                let mut text = TextColumn::default();
                for row in 0..raw.rows {
                    text.push(&raw.columns[index].text(row).unwrap_or_default());
                }
                categorical_column(name, &text, options, kind_source)
            } else {
                FeatureColumn {
                    name: name.clone(),
                    kind_source,
                    values: ColumnValues::Numeric(
                        values.iter().map(|v| v.unwrap_or(f64::NAN)).collect(),
                    ),
                }
            }
        }
        RawColumn::Text(text) if !forced_numeric && !forced_categorical => {
            if let Some(reason) = date_column(name, text, &options.missing) {
                notices.push(Notice::warning(format!("column `{name}` {reason}")));
                return Ok(Typed::Dropped(reason));
            }
            let forcing = Forcing {
                numeric: false,
                categorical: false,
                why: "",
            };
            type_text_column(raw, name, text, options, forcing, kind_source, notices)?
        }
        RawColumn::Text(text) => {
            if forced_categorical
                && hint.is_none()
                && crate::detect::names_an_outcome_date(name)
                && date_column(name, text, &options.missing).is_some()
            {
                notices.push(Notice::warning(format!(
                    "column `{name}` looks like a date set when the deal closed, and --categorical makes it a feature: a model trained on it will look better than it is"
                )));
            }
            let why = if hint.is_some() {
                " (the model reads it as a number)"
            } else {
                " (the column is forced numeric)"
            };
            let forcing = Forcing {
                numeric: forced_numeric,
                categorical: forced_categorical,
                why,
            };
            type_text_column(raw, name, text, options, forcing, kind_source, notices)?
        }
    };
    if options.keep.contains(name) {
        return Ok(Typed::Feature(column));
    }
    if kind_source == KindSource::Inferred {
        let identifier = match &column.values {
            ColumnValues::Numeric(values) => crate::detect::numeric_identifier(name, values),
            ColumnValues::Categorical { codes, levels } => crate::detect::text_identifier(
                levels.len(),
                codes.iter().filter(|&&c| c != MISSING_CODE).count(),
            ),
        };
        if let Some(reason) = identifier {
            let flag = match column.kind() {
                ColumnKind::Numeric => "--numeric",
                ColumnKind::Categorical => "--categorical",
            };
            let reason = format!("{reason}; not used as a feature (pass {flag} {name} to use it)");
            notices.push(Notice::warning(format!("column `{name}` {reason}")));
            return Ok(Typed::Dropped(reason));
        }
    }
    let missing = column.missing_count();
    if missing == raw.rows {
        return Ok(Typed::Dropped("every cell is empty".to_owned()));
    }
    let distinct = match &column.values {
        ColumnValues::Numeric(values) => {
            let first = values.iter().find(|v| !v.is_nan());
            usize::from(first.is_some())
                + usize::from(values.iter().any(|v| !v.is_nan() && Some(v) != first))
        }
        ColumnValues::Categorical { levels, .. } => levels.len(),
    };
    if distinct == 1 && missing == 0 {
        return Ok(Typed::Dropped(
            "a single value in every row carries no information".to_owned(),
        ));
    }
    Ok(Typed::Feature(column))
}

/// Why a text column is a date and not a feature, if at least 90% of its non-missing cells look
/// like dates; a date set when the deal closed is said to be known only after the outcome.
fn date_column(name: &str, text: &TextColumn, missing: &MissingTokens) -> Option<String> {
    let counts = text.counts();
    let (mut present, mut dates) = (0usize, 0usize);
    for (value, &count) in text.values().zip(&counts) {
        if missing.is_missing(value) {
            continue;
        }
        present += count;
        if crate::detect::looks_like_date(value) {
            dates += count;
        }
    }
    if present == 0 || (dates as f64) < 0.9 * present as f64 {
        return None;
    }
    Some(if crate::detect::names_an_outcome_date(name) {
        format!(
            "looks like a date set when the deal closed: known only after the outcome, so never a feature (pass --closed-at {name} if it is the close date, or --categorical {name} to use it anyway)"
        )
    } else {
        format!(
            "looks like a date: not used as a feature (pass --created-at {name} if it is the creation date, or --categorical {name} to use it as a category anyway)"
        )
    })
}

/// Whether a column's type is imposed, and by whom.
struct Forcing {
    numeric: bool,
    categorical: bool,
    why: &'static str,
}

fn type_text_column(
    raw: &RawTable,
    name: &str,
    text: &TextColumn,
    options: &LeadsOptions,
    forcing: Forcing,
    kind_source: KindSource,
    notices: &mut Vec<Notice>,
) -> Result<FeatureColumn, DataError> {
    let (forced_numeric, forced_categorical) = (forcing.numeric, forcing.categorical);
    let counts = text.counts();
    let mut placeholders: Vec<String> = Vec::new();
    let mut parsed: Vec<Option<Result<f64, NumberError>>> = Vec::with_capacity(text.distinct());
    for (code, value) in text.values().enumerate() {
        match read_cell(value, Some(ColumnKind::Numeric), &options.missing) {
            Ok(Value::Missing) => {
                if !value.trim().is_empty() {
                    placeholders.push(format!("{} × `{value}`", counts[code]));
                }
                parsed.push(None);
            }
            Ok(Value::Number(number)) => parsed.push(Some(Ok(number))),
            Ok(Value::Text(_)) => parsed.push(Some(Err(NumberError::NotANumber))),
            Err(error) => parsed.push(Some(Err(error))),
        }
    }
    if !placeholders.is_empty() {
        notices.push(Notice::info(format!(
            "column `{name}`: {} read as missing",
            placeholders.join(", ")
        )));
    }
    let first_failure = |wanted: fn(&NumberError) -> bool| {
        parsed
            .iter()
            .enumerate()
            .filter(|(_, p)| matches!(p, Some(Err(e)) if wanted(e)))
            .map(|(code, _)| text.first_row_of(code as u32))
            .min()
    };
    let not_a_number = first_failure(|e| *e == NumberError::NotANumber);
    let not_finite = first_failure(|e| *e == NumberError::NotFinite);
    let numeric_rows: usize = parsed
        .iter()
        .zip(&counts)
        .filter(|(p, _)| matches!(p, Some(Ok(_))))
        .map(|(_, n)| n)
        .sum();
    let present_rows: usize = parsed
        .iter()
        .zip(&counts)
        .filter(|(p, _)| p.is_some())
        .map(|(_, n)| n)
        .sum();
    let numeric = if forced_categorical {
        false
    } else if forced_numeric {
        if let Some(row) = not_a_number {
            return Err(DataError::BadNumber {
                at: raw.location(row),
                column: name.to_owned(),
                value: text.cell(row).to_owned(),
                why: forcing.why.to_owned(),
            });
        }
        true
    } else {
        not_a_number.is_none() && numeric_rows > 0
    };
    if numeric {
        if let Some(row) = not_finite {
            return Err(DataError::NotFinite {
                at: raw.location(row),
                column: name.to_owned(),
                value: text.cell(row).to_owned(),
            });
        }
        let values: Vec<f64> = parsed
            .iter()
            .map(|p| match p {
                Some(Ok(v)) => *v,
                _ => f64::NAN,
            })
            .collect();
        return Ok(FeatureColumn {
            name: name.to_owned(),
            kind_source,
            values: ColumnValues::Numeric(text.codes.iter().map(|&c| values[c as usize]).collect()),
        });
    }
    if !forced_categorical
        && present_rows > 0
        && numeric_rows as f64 >= 0.9 * present_rows as f64
        && let Some(row) = not_a_number
    {
        notices.push(Notice::warning(format!(
                "column `{name}` is {:.0}% numbers but holds text such as `{}` ({}); read as categorical — pass --numeric {name} and fix or blank those cells to use it as a number",
                100.0 * numeric_rows as f64 / present_rows as f64,
                text.cell(row),
                raw.location(row)
            )));
    }
    let column = categorical_column(name, text, options, kind_source);
    if let ColumnValues::Categorical { levels, .. } = &column.values
        && levels.len() > 100
        && levels.len() * 2 > present_rows
    {
        notices.push(Notice::warning(format!(
                "column `{name}` has {} distinct values in {present_rows} rows: it looks like an identifier or free text (consider --exclude {name})",
                levels.len()
            )));
    }
    Ok(column)
}

fn categorical_column(
    name: &str,
    text: &TextColumn,
    options: &LeadsOptions,
    kind_source: KindSource,
) -> FeatureColumn {
    let mut levels: Vec<String> = Vec::new();
    let mut level_codes: FxHashMap<String, u32> = FxHashMap::default();
    let remap: Vec<u32> = text
        .values()
        .map(
            |value| match read_cell(value, Some(ColumnKind::Categorical), &options.missing) {
                Ok(Value::Text(level)) => {
                    let level = options.text_rule.normalize(level);
                    match level_codes.get(level.as_ref()) {
                        Some(&code) => code,
                        None => {
                            levels.push(level.clone().into_owned());
                            let code = (levels.len() - 1) as u32;
                            level_codes.insert(level.into_owned(), code);
                            code
                        }
                    }
                }
                _ => MISSING_CODE,
            },
        )
        .collect();
    FeatureColumn {
        name: name.to_owned(),
        kind_source,
        values: ColumnValues::Categorical {
            codes: text.codes.iter().map(|&c| remap[c as usize]).collect(),
            levels,
        },
    }
}
