//! Settings as people write them — `leadscore.toml` sections, command-line flags, Python keyword
//! arguments — and their one conversion into reading options and training parameters, so the
//! CLI and the Python package train the same way from the same words.

use std::path::PathBuf;

use leadscore_data::{EventsOptions, LeadsOptions, MissingTokens, SplitKind, Validation};
use leadscore_features::{AsOfPolicy, EventFeatureParams, FeaturePipelineParams};
use leadscore_models::ModelKind;
use serde::Deserialize;

use crate::error::TrainError;
use crate::train::TrainParams;

/// All settings: how to read the data, the behaviour features and the model search.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `[data]`: input files and how to read them.
    #[serde(default)]
    pub data: DataSettings,
    /// `[events]`: column names of the events table.
    #[serde(default)]
    pub events: EventSettings,
    /// `[features]`: behaviour feature settings.
    #[serde(default)]
    pub features: FeatureSettings,
    /// `[train]`: model search settings.
    #[serde(default)]
    pub train: TrainSettings,
}

/// `[data]`: which files and how to read them. Unset values take the reader's defaults.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSettings {
    /// Leads file (the CLI's; the Python package passes tables).
    pub leads: Option<PathBuf>,
    /// Events file.
    pub events: Option<PathBuf>,
    /// Outcome column (default `outcome`).
    pub target: Option<String>,
    /// Won values (default: guessed from won/yes/1/converted…).
    #[serde(default)]
    pub positive: Vec<String>,
    /// Lost values (default: the one other value).
    #[serde(default)]
    pub negative: Vec<String>,
    /// Open values besides empty cells (default `open`).
    #[serde(default)]
    pub open: Vec<String>,
    /// Id column (default `lead_id` when present, else row numbers).
    pub id: Option<String>,
    /// Columns not used as features (leaks, ids, free text).
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Columns forced numeric.
    #[serde(default)]
    pub numeric: Vec<String>,
    /// Columns forced categorical.
    #[serde(default)]
    pub categorical: Vec<String>,
    /// Placeholders read as missing besides the defaults ("", NA, N/A, NaN, null, None, -, ?,
    /// Select).
    #[serde(default)]
    pub missing_values: Vec<String>,
    /// Field separator: `,` `;` `|` or `tab` (default: detected).
    pub separator: Option<String>,
    /// Creation date column (default `created_at` when present).
    pub created_at: Option<String>,
    /// Close date column (default `closed_at` when present).
    pub closed_at: Option<String>,
    /// Deal value column: won deals' amounts, for the value model and revenue comparisons
    /// (never a feature).
    pub value: Option<String>,
}

/// `[events]`: column names of the events table.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventSettings {
    /// Lead id column (default: the leads' id column, else `lead_id`).
    pub lead_id: Option<String>,
    /// Timestamp column (default `timestamp`).
    pub timestamp: Option<String>,
    /// Event type column (default `event_type`).
    pub event_type: Option<String>,
    /// Optional numeric value column.
    pub value: Option<String>,
}

/// `[features]`: behaviour feature settings.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureSettings {
    /// Trailing windows in days (default 7, 30, 90).
    pub windows_days: Option<Vec<u32>>,
    /// Half-life of decayed counts in days (default 30).
    pub half_life_days: Option<f64>,
    /// Take closed leads' features at creation + N days instead of the close date.
    pub as_of_days_after_creation: Option<u32>,
    /// Most event types with their own features (default 40).
    pub max_event_types: Option<usize>,
}

/// `[train]`: model search settings.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSettings {
    /// Model kinds to try (default: all).
    pub models: Option<Vec<String>>,
    /// `auto` (default), `time` or `kfold`.
    pub validation: Option<String>,
    /// Folds of k-fold validation (default 5).
    pub folds: Option<usize>,
    /// Share held out for test metrics (default 0).
    pub test_fraction: Option<f64>,
    /// `auto` (default), `time` or `random`.
    pub test_split: Option<String>,
    /// Random seed (default 42).
    pub seed: Option<u64>,
    /// Drop likely leaks.
    pub exclude_leaks: Option<bool>,
    /// Write a weak model anyway.
    pub allow_weak: Option<bool>,
    /// Tier names and shares, best first, e.g. `[["A", 0.1], ["B", 0.2], ["C", 0.3], ["D", 0.4]]`.
    pub tiers: Option<Vec<(String, f64)>>,
}

fn invalid(name: &str, message: String) -> TrainError {
    TrainError::Setting {
        name: name.to_owned(),
        message,
    }
}

/// Reads a field separator as written in settings: `,` `;` `|` or `tab`.
pub fn parse_separator(text: &str) -> Result<u8, String> {
    match text {
        "," | "comma" => Ok(b','),
        ";" | "semicolon" => Ok(b';'),
        "|" | "pipe" => Ok(b'|'),
        "\t" | "\\t" | "tab" => Ok(b'\t'),
        other => Err(format!(
            "`{other}` is not a supported separator; use , ; | or tab"
        )),
    }
}

impl DataSettings {
    /// How to read the leads table.
    pub fn leads_options(&self) -> Result<LeadsOptions, TrainError> {
        let separator = self
            .separator
            .as_deref()
            .map(|text| parse_separator(text).map_err(|m| invalid("separator", m)))
            .transpose()?;
        let base = LeadsOptions::default();
        Ok(LeadsOptions {
            id_column: self.id.clone(),
            target: self.target.clone().unwrap_or(base.target),
            positive: self.positive.clone(),
            negative: self.negative.clone(),
            open: if self.open.is_empty() {
                base.open.clone()
            } else {
                self.open.clone()
            },
            created_at: self.created_at.clone(),
            closed_at: self.closed_at.clone(),
            exclude: self.exclude.clone(),
            numeric: self.numeric.clone(),
            categorical: self.categorical.clone(),
            missing: self.missing_tokens(),
            separator,
            value: self.value.clone(),
            ..base
        })
    }

    fn missing_tokens(&self) -> MissingTokens {
        let defaults = MissingTokens::default();
        MissingTokens::new(
            defaults
                .tokens()
                .iter()
                .map(String::as_str)
                .chain(self.missing_values.iter().map(String::as_str)),
        )
    }
}

impl Settings {
    /// How to read the events table joined to leads read with `leads`.
    pub fn events_options(&self, leads: &LeadsOptions) -> EventsOptions {
        let columns = &self.events;
        let defaults = EventsOptions::default();
        EventsOptions {
            lead_id: columns
                .lead_id
                .clone()
                .or_else(|| leads.id_column.clone())
                .unwrap_or(defaults.lead_id),
            timestamp: columns.timestamp.clone().unwrap_or(defaults.timestamp),
            event_type: columns.event_type.clone().unwrap_or(defaults.event_type),
            value: columns.value.clone(),
            separator: None,
            missing: leads.missing.clone(),
        }
    }

    /// The training parameters of a model named `name`.
    pub fn train_params(&self, name: &str) -> Result<TrainParams, TrainError> {
        let train = &self.train;
        let models = match &train.models {
            None => ModelKind::ALL.to_vec(),
            Some(kinds) if kinds.is_empty() => ModelKind::ALL.to_vec(),
            Some(kinds) => kinds
                .iter()
                .map(|k| k.parse::<ModelKind>().map_err(|m| invalid("models", m)))
                .collect::<Result<Vec<_>, _>>()?,
        };
        let folds = train.folds.unwrap_or(5);
        let validation = match train.validation.as_deref().unwrap_or("auto") {
            "auto" => Validation::Auto {
                folds,
                fraction: 0.2,
            },
            "time" => Validation::Time { fraction: 0.2 },
            "kfold" | "k-fold" | "cv" => Validation::KFold { folds },
            other => {
                return Err(invalid(
                    "validation",
                    format!("unknown validation `{other}`; use auto, time or kfold"),
                ));
            }
        };
        let test_split = match train.test_split.as_deref().unwrap_or("auto") {
            "auto" => SplitKind::Auto,
            "time" => SplitKind::Time,
            "random" | "stratified" => SplitKind::Random,
            other => {
                return Err(invalid(
                    "test_split",
                    format!("unknown test split `{other}`; use auto, time or random"),
                ));
            }
        };
        let mut params = TrainParams::new()
            .models(models)
            .validation(validation)
            .test_fraction(train.test_fraction.unwrap_or(0.0))
            .test_split(test_split)
            .seed(train.seed.unwrap_or(42))
            .exclude_leaks(train.exclude_leaks.unwrap_or(false))
            .allow_weak(train.allow_weak.unwrap_or(false))
            .features(self.features.params())
            .name(name);
        if let Some(tiers) = &train.tiers {
            params = params.tiers(tiers.clone());
        }
        Ok(params)
    }
}

impl FeatureSettings {
    /// The feature pipeline's parameters.
    pub fn params(&self) -> FeaturePipelineParams {
        let mut events = EventFeatureParams::new();
        if let Some(windows) = &self.windows_days {
            events = events.windows_days(windows.clone());
        }
        if let Some(half_life) = self.half_life_days {
            events = events.half_life_days(half_life);
        }
        if let Some(max) = self.max_event_types {
            events = events.max_event_types(max);
        }
        let as_of = match self.as_of_days_after_creation {
            Some(days) => AsOfPolicy::DaysAfterCreation(days),
            None => AsOfPolicy::CloseDate,
        };
        FeaturePipelineParams::new().events(events).as_of(as_of)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_read_and_train_as_the_library_defaults() {
        let settings = Settings::default();
        let leads = settings.data.leads_options().expect("defaults are valid");
        assert_eq!(leads, LeadsOptions::default());
        assert_eq!(
            settings.events_options(&leads),
            EventsOptions::default(),
            "events read with the leads' placeholders and default columns"
        );
        assert!(settings.train_params("m").is_ok());
    }

    #[test]
    fn bad_words_name_their_setting() {
        let mut settings = Settings::default();
        settings.train.validation = Some("sometimes".to_owned());
        let error = settings.train_params("m").expect_err("refused").to_string();
        assert!(
            error.contains("`validation`") && error.contains("sometimes"),
            "{error}"
        );
        settings.train.validation = None;
        settings.train.models = Some(vec!["forest".to_owned()]);
        let error = settings.train_params("m").expect_err("refused").to_string();
        assert!(
            error.contains("`models`") && error.contains("forest"),
            "{error}"
        );
        settings.data.separator = Some("x".to_owned());
        let error = settings
            .data
            .leads_options()
            .expect_err("refused")
            .to_string();
        assert!(error.contains("`separator`"), "{error}");
        assert_eq!(parse_separator("tab"), Ok(b'\t'));
    }
}
