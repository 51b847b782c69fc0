//! The feature pipeline: a lead and its events in, one row of feature values out.
//!
//! Fitted on training rows only, saved in the model artifact, and applied through one code path:
//! [`FittedFeaturePipeline::transform_table`] encodes each cell of a table (a categorical
//! column's distinct levels once each) with the same [`ColumnEncoder::encode`] and
//! [`ColumnEncoder::rate`] and aggregates events with the same
//! [`FittedEventFeatures::aggregate`] that [`FittedFeaturePipeline::transform_lead`] uses for a
//! single request. The one exception is deliberate: the rows a model is fitted on get their level
//! rates out of fold ([`FittedFeaturePipeline::transform_for_fitting`]).

use std::borrow::Cow;

use leadscore_data::{
    ColumnKind, ColumnValues, EventLog, FeatureColumn, LeadsTable, MISSING_CODE, Outcome, TextRule,
    Value,
};
use ndarray::Array2;
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::as_of::AsOfPolicy;
use crate::error::FeatureError;
use crate::events::{
    EventCounts, EventFeatureParams, FittedEventFeatures, LeadEvent, ValidEventFeatureParams,
};
use crate::explicit::{ColumnEncoder, ExplicitParams, ValidExplicitParams};
use crate::rates::out_of_fold_log_odds;

/// Name suffix of a column's level-statistic feature (`landing_page.won_log_odds`).
pub const RATE_SUFFIX: &str = "won_log_odds";

/// Settings of the whole pipeline.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeaturePipelineParams {
    explicit: ExplicitParams,
    events: EventFeatureParams,
    as_of: AsOfPolicy,
}

impl FeaturePipelineParams {
    /// Default settings (see [`ExplicitParams`], [`EventFeatureParams`], [`AsOfPolicy`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Explicit-attribute settings.
    pub fn explicit(mut self, explicit: ExplicitParams) -> Self {
        self.explicit = explicit;
        self
    }

    /// Behaviour feature settings.
    pub fn events(mut self, events: EventFeatureParams) -> Self {
        self.events = events;
        self
    }

    /// When closed leads' features are taken.
    pub fn as_of(mut self, as_of: AsOfPolicy) -> Self {
        self.as_of = as_of;
        self
    }

    /// Validates the settings.
    pub fn check(self) -> Result<ValidFeaturePipelineParams, FeatureError> {
        Ok(ValidFeaturePipelineParams {
            explicit: self.explicit.check()?,
            events: self.events.check()?,
            as_of: self.as_of,
        })
    }
}

/// Checked pipeline settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidFeaturePipelineParams {
    explicit: ValidExplicitParams,
    events: ValidEventFeatureParams,
    as_of: AsOfPolicy,
}

impl ValidFeaturePipelineParams {
    /// Learns encoders and the event vocabulary from the given (training) rows.
    pub fn fit(
        &self,
        leads: &LeadsTable,
        events: Option<&EventLog>,
        rows: &[usize],
    ) -> FittedFeaturePipeline {
        FittedFeaturePipeline {
            columns: self.explicit.fit(leads, rows),
            events: events.map(|log| self.events.fit(log, rows)),
            as_of: self.as_of,
            text_rule: leads.text_rule,
        }
    }
}

/// Numeric or categorical, as a model sees a feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum FeatureKind {
    /// A real value (NaN = missing).
    Numeric,
    /// A code in `0..n_codes` (NaN = missing).
    Categorical {
        /// Number of codes, "other" included.
        n_codes: usize,
    },
}

/// Where a feature comes from: the unit in which reasons are reported.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "name")]
pub enum FeatureSource {
    /// An explicit column of the leads table.
    Attribute(String),
    /// An event type (or `any_event`).
    Behaviour(String),
}

impl FeatureSource {
    /// The column or event type name.
    pub fn name(&self) -> &str {
        match self {
            Self::Attribute(name) | Self::Behaviour(name) => name,
        }
    }
}

/// One feature of the pipeline's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureInfo {
    /// Feature name (`industry`, `pricing_view.count_30d`).
    pub name: String,
    /// Numeric or categorical.
    pub kind: FeatureKind,
    /// Column or event type it comes from.
    pub source: FeatureSource,
}

/// Feature values of a whole table.
#[derive(Debug, Clone)]
pub struct FeatureMatrix {
    /// One row per lead, one column per feature.
    pub values: Array2<f64>,
    /// As-of time of each lead.
    pub as_of: Vec<i64>,
    /// What event aggregation saw.
    pub event_counts: EventCounts,
}

impl FeatureMatrix {
    /// The features of lead `row`, borrowed when the row is contiguous (as every matrix the
    /// pipeline builds is).
    pub fn row(&self, row: usize) -> Cow<'_, [f64]> {
        let values = self.values.row(row);
        match values.to_slice() {
            Some(slice) => Cow::Borrowed(slice),
            None => Cow::Owned(values.to_vec()),
        }
    }
}

/// One lead as a request carries it.
#[derive(Debug, Clone, Default)]
pub struct LeadInput<'a> {
    /// Attribute values by column name; absent columns are missing.
    pub attributes: FxHashMap<&'a str, Value<'a>>,
    /// Behaviour events in any order.
    pub events: Vec<LeadEvent<'a>>,
    /// As-of time of the features.
    pub as_of: i64,
}

/// The fitted pipeline; stored in the model artifact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedFeaturePipeline {
    /// One encoder per explicit column.
    pub columns: Vec<ColumnEncoder>,
    /// Behaviour features, when the model was trained with events.
    pub events: Option<FittedEventFeatures>,
    /// When closed leads' features are taken.
    pub as_of: AsOfPolicy,
    /// How category levels are compared (files written before the rule existed compare them
    /// exactly, as they were trained).
    #[serde(default = "TextRule::legacy")]
    pub text_rule: TextRule,
}

/// The sources (columns and event types) of a pipeline's features: the unit reasons are given in.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceLayout {
    /// Every source, in the order of its first feature.
    pub sources: Vec<FeatureSource>,
    /// For each feature, the index of its source in `sources`.
    pub of_feature: Vec<usize>,
}

/// A categorical column's cells through an encoding, each distinct level encoded once (a million
/// leads hold a handful of levels) and every row read by its code: the same values as encoding
/// each row's cell, for a fraction of the work.
struct EncodedLevels<'c> {
    codes: &'c [u32],
    /// The encoding of each level, by code.
    by_code: Vec<f64>,
    /// The encoding of a missing cell.
    missing: f64,
}

impl<'c> EncodedLevels<'c> {
    /// The levels of `column` through `encode`; `None` for a numeric column, or when a level
    /// does not encode (the cells are then encoded row by row, so that the error names its row).
    fn of(column: &'c FeatureColumn, encode: impl Fn(Value<'_>) -> Option<f64>) -> Option<Self> {
        let ColumnValues::Categorical { codes, levels } = &column.values else {
            return None;
        };
        Some(Self {
            codes,
            by_code: levels
                .iter()
                .map(|level| encode(Value::Text(level)))
                .collect::<Option<_>>()?,
            missing: encode(Value::Missing)?,
        })
    }

    /// The encoding of row `row`'s cell.
    fn value(&self, row: usize) -> f64 {
        match self.codes[row] {
            MISSING_CODE => self.missing,
            code => self.by_code[code as usize],
        }
    }
}

/// Leads encoded together by [`FittedFeaturePipeline::transform_table`] on one core.
const ENCODE_ROWS: usize = 4096;

impl FittedFeaturePipeline {
    /// Describes each output feature, in order.
    pub fn features(&self) -> Vec<FeatureInfo> {
        let mut features: Vec<FeatureInfo> = self
            .columns
            .iter()
            .map(|c| FeatureInfo {
                name: c.name.clone(),
                kind: match c.kind {
                    ColumnKind::Numeric => FeatureKind::Numeric,
                    ColumnKind::Categorical => FeatureKind::Categorical {
                        n_codes: c.n_codes(),
                    },
                },
                source: FeatureSource::Attribute(c.name.clone()),
            })
            .collect();
        for encoder in self.rated_columns() {
            features.push(FeatureInfo {
                name: format!("{}.{RATE_SUFFIX}", encoder.name),
                kind: FeatureKind::Numeric,
                source: FeatureSource::Attribute(encoder.name.clone()),
            });
        }
        if let Some(events) = &self.events {
            for (name, event_type) in events
                .feature_names()
                .into_iter()
                .zip(events.feature_event_types())
            {
                features.push(FeatureInfo {
                    name,
                    kind: FeatureKind::Numeric,
                    source: FeatureSource::Behaviour(event_type.to_owned()),
                });
            }
        }
        features
    }

    /// Which source each feature belongs to.
    pub fn source_layout(&self) -> SourceLayout {
        let mut sources: Vec<FeatureSource> = Vec::new();
        let of_feature = self
            .features()
            .into_iter()
            .map(|info| {
                sources
                    .iter()
                    .position(|s| *s == info.source)
                    .unwrap_or_else(|| {
                        sources.push(info.source);
                        sources.len() - 1
                    })
            })
            .collect();
        SourceLayout {
            sources,
            of_feature,
        }
    }

    /// A lead's value of a source in words, from its feature row: the level or number of an
    /// attribute (`vp`, `missing`), or a summary of its events of a type.
    pub fn describe_source(&self, source: &FeatureSource, row: &[f64]) -> String {
        match source {
            FeatureSource::Attribute(name) => self
                .columns
                .iter()
                .position(|c| &c.name == name)
                .map(|j| self.columns[j].describe_value(row[j]))
                .unwrap_or_default(),
            FeatureSource::Behaviour(event_type) => self
                .events
                .as_ref()
                .map(|events| events.describe(event_type, &row[self.explicit_width()..]))
                .unwrap_or_default(),
        }
    }

    /// The category levels of a lead that the model never learned (rare in training, or unseen)
    /// and scored as `(other)`, as (column, level); `row` is the lead's feature row.
    pub fn unlearned_levels<'v>(
        &self,
        attribute: impl Fn(&str) -> Value<'v>,
        row: &[f64],
    ) -> Vec<(String, String)> {
        self.columns
            .iter()
            .zip(row)
            .filter(|&(encoder, &code)| {
                encoder.kind == ColumnKind::Categorical && code == encoder.levels.len() as f64
            })
            .filter_map(|(encoder, _)| match attribute(&encoder.name) {
                Value::Text(level) => Some((encoder.name.clone(), level.trim().to_owned())),
                Value::Number(number) => {
                    Some((encoder.name.clone(), leadscore_data::format_number(number)))
                }
                Value::Missing => None,
            })
            .collect()
    }

    /// Checks a loaded pipeline (encoders and event definitions).
    pub fn validate(&self) -> Result<(), String> {
        for encoder in &self.columns {
            encoder.validate()?;
        }
        let mut names: Vec<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
        names.sort_unstable();
        if let Some(pair) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(format!("column `{}` is encoded twice", pair[0]));
        }
        self.events
            .as_ref()
            .map_or(Ok(()), FittedEventFeatures::validate)
    }

    /// The encoders with level rates, in column order: their rate features follow the columns'
    /// own features.
    pub fn rated_columns(&self) -> impl Iterator<Item = &ColumnEncoder> {
        self.columns.iter().filter(|c| c.rates.is_some())
    }

    /// Features of the explicit columns: one per column, then one per column with level rates;
    /// behaviour features start here.
    pub fn explicit_width(&self) -> usize {
        self.columns.len() + self.rated_columns().count()
    }

    /// Number of output features.
    pub fn n_features(&self) -> usize {
        self.explicit_width()
            + self
                .events
                .as_ref()
                .map_or(0, FittedEventFeatures::n_features)
    }

    /// Features of every lead of a table, each at its as-of time.
    pub fn transform_table(
        &self,
        leads: &LeadsTable,
        events: Option<&EventLog>,
        scoring_time: i64,
    ) -> Result<FeatureMatrix, FeatureError> {
        let source_name = leads.path.display().to_string();
        let mut values = Array2::from_elem((leads.len(), self.n_features()), f64::NAN);
        let mut columns = Vec::with_capacity(self.columns.len());
        for encoder in &self.columns {
            let column =
                leads
                    .column(&encoder.name)
                    .ok_or_else(|| FeatureError::MissingColumn {
                        column: encoder.name.clone(),
                        source_name: source_name.clone(),
                    })?;
            if column.kind() != encoder.kind {
                return Err(FeatureError::KindMismatch {
                    column: encoder.name.clone(),
                    expected: encoder.kind.to_string(),
                    found: column.kind().to_string(),
                    source_name: source_name.clone(),
                });
            }
            columns.push(column);
        }
        let rated: Vec<(usize, &ColumnEncoder, &FeatureColumn)> = self
            .columns
            .iter()
            .zip(&columns)
            .filter(|(encoder, _)| encoder.rates.is_some())
            .enumerate()
            .map(|(k, (encoder, &column))| (self.columns.len() + k, encoder, column))
            .collect();
        let encoded_levels: Vec<Option<EncodedLevels<'_>>> = self
            .columns
            .iter()
            .zip(&columns)
            .map(|(encoder, column)| {
                EncodedLevels::of(column, |value| encoder.encode(value, self.text_rule).ok())
            })
            .collect();
        let rated_levels: Vec<Option<EncodedLevels<'_>>> = rated
            .iter()
            .map(|&(_, encoder, column)| {
                EncodedLevels::of(column, |value| Some(encoder.rate(value, self.text_rule)))
            })
            .collect();
        // Rows are encoded a block at a time on every core; the error reported is the one a
        // column-by-column pass would meet first (first column, then first row).
        let width = self.n_features().max(1);
        let data = values
            .as_slice_mut()
            .expect("a new array is in standard layout");
        let first_error = data
            .par_chunks_mut(width * ENCODE_ROWS)
            .enumerate()
            .filter_map(|(block, cells)| {
                let first_row = block * ENCODE_ROWS;
                let mut first_error = None;
                for (j, ((encoder, column), levels)) in self
                    .columns
                    .iter()
                    .zip(&columns)
                    .zip(&encoded_levels)
                    .enumerate()
                {
                    if let Some(levels) = levels {
                        for (i, row) in cells.chunks_mut(width).enumerate() {
                            row[j] = levels.value(first_row + i);
                        }
                        continue;
                    }
                    for (i, row) in cells.chunks_mut(width).enumerate() {
                        match encoder.encode(column.value(first_row + i), self.text_rule) {
                            Ok(value) => row[j] = value,
                            Err(error) => {
                                first_error = Some((j, first_row + i, error));
                                break;
                            }
                        }
                    }
                    if first_error.is_some() {
                        return first_error;
                    }
                }
                for (&(j, encoder, column), levels) in rated.iter().zip(&rated_levels) {
                    for (i, row) in cells.chunks_mut(width).enumerate() {
                        row[j] = match levels {
                            Some(levels) => levels.value(first_row + i),
                            None => encoder.rate(column.value(first_row + i), self.text_rule),
                        };
                    }
                }
                None
            })
            .min_by_key(|(j, row, _)| (*j, *row));
        if let Some((_, _, error)) = first_error {
            return Err(error);
        }
        let as_of = self.as_of.for_table(leads, scoring_time);
        let mut event_counts = EventCounts::default();
        if let Some(event_features) = &self.events {
            let log = events.ok_or_else(|| FeatureError::MissingColumn {
                column: "(events table)".to_owned(),
                source_name: format!(
                    "{source_name}: the model uses behaviour events; pass --events"
                ),
            })?;
            event_counts =
                event_features.transform_log_into(log, &as_of, data, width, self.explicit_width());
        }
        Ok(FeatureMatrix {
            values,
            as_of,
            event_counts,
        })
    }

    /// Features of a table for fitting a model on `rows` (the rows this pipeline was fitted on):
    /// [`transform_table`](Self::transform_table), except that the level statistics of `rows`
    /// come from the other folds of `rows` ([`out_of_fold_log_odds`]), so no fitting row sees its own
    /// outcome; every other row keeps the statistics a scored lead gets.
    pub fn transform_for_fitting(
        &self,
        leads: &LeadsTable,
        events: Option<&EventLog>,
        scoring_time: i64,
        rows: &[usize],
    ) -> Result<FeatureMatrix, FeatureError> {
        let mut matrix = self.transform_table(leads, events, scoring_time)?;
        let won: Vec<bool> = rows
            .iter()
            .map(|&r| leads.outcomes[r] == Outcome::Won)
            .collect();
        for (k, encoder) in self.rated_columns().enumerate() {
            let Some(ColumnValues::Categorical { codes, .. }) =
                leads.column(&encoder.name).map(|c| &c.values)
            else {
                continue;
            };
            let groups: Vec<Option<u32>> = rows
                .iter()
                .map(|&r| Some(codes[r]).filter(|&c| c != MISSING_CODE))
                .collect();
            let j = self.columns.len() + k;
            for (&row, rate) in rows.iter().zip(out_of_fold_log_odds(&groups, &won)) {
                matrix.values[(row, j)] = rate;
            }
        }
        Ok(matrix)
    }

    /// Features of one lead.
    pub fn transform_lead(
        &self,
        lead: &LeadInput<'_>,
    ) -> Result<(Vec<f64>, EventCounts), FeatureError> {
        let mut row = Vec::with_capacity(self.n_features());
        for encoder in &self.columns {
            let value = lead
                .attributes
                .get(encoder.name.as_str())
                .copied()
                .unwrap_or(Value::Missing);
            row.push(encoder.encode(value, self.text_rule)?);
        }
        for encoder in self.rated_columns() {
            let value = lead
                .attributes
                .get(encoder.name.as_str())
                .copied()
                .unwrap_or(Value::Missing);
            row.push(encoder.rate(value, self.text_rule));
        }
        let mut counts = EventCounts::default();
        if let Some(event_features) = &self.events {
            let (values, event_counts) = event_features.transform_lead(&lead.events, lead.as_of);
            row.extend(values);
            counts = event_counts;
        }
        Ok((row, counts))
    }
}
