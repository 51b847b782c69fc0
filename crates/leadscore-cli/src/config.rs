//! `leadscore.toml`: the same settings as the flags, for a project that retrains every month.
//!
//! Flags override the file. Relative paths in the file are relative to the file's folder.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use leadscore_data::{EventsOptions, LeadsOptions, MissingTokens};
use serde::Deserialize;

use crate::args::{DataArgs, parse_separator};

/// File looked for in the working directory when `--config` is absent.
pub const DEFAULT_CONFIG: &str = "leadscore.toml";

/// The settings file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Input data.
    #[serde(default)]
    pub data: DataSection,
    /// Column names of the events table.
    #[serde(default)]
    pub events: EventsSection,
    /// Behaviour feature settings.
    #[serde(default)]
    pub features: FeaturesSection,
    /// Training settings.
    #[serde(default)]
    pub train: TrainSection,
}

/// `[train]`: model search settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSection {
    /// Model kinds to try.
    pub models: Option<Vec<String>>,
    /// `auto`, `time` or `kfold`.
    pub validation: Option<String>,
    /// Folds of k-fold validation.
    pub folds: Option<usize>,
    /// Share held out for test metrics.
    pub test_fraction: Option<f64>,
    /// `auto`, `time` or `random`.
    pub test_split: Option<String>,
    /// Random seed.
    pub seed: Option<u64>,
    /// Drop likely leaks.
    pub exclude_leaks: Option<bool>,
    /// Write a weak model anyway.
    pub allow_weak: Option<bool>,
    /// Tier names and shares, best first, e.g. `[["A", 0.1], ["B", 0.2], ["C", 0.3], ["D", 0.4]]`.
    pub tiers: Option<Vec<(String, f64)>>,
}

/// `[data]`: which files and how to read them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSection {
    /// Leads file.
    pub leads: Option<PathBuf>,
    /// Events file.
    pub events: Option<PathBuf>,
    /// Outcome column.
    pub target: Option<String>,
    /// Won values.
    #[serde(default)]
    pub positive: Vec<String>,
    /// Lost values.
    #[serde(default)]
    pub negative: Vec<String>,
    /// Open values.
    #[serde(default)]
    pub open: Vec<String>,
    /// Id column.
    pub id: Option<String>,
    /// Columns not used as features.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Columns forced numeric.
    #[serde(default)]
    pub numeric: Vec<String>,
    /// Columns forced categorical.
    #[serde(default)]
    pub categorical: Vec<String>,
    /// Extra missing-value placeholders.
    #[serde(default)]
    pub missing_values: Vec<String>,
    /// Field separator (`,`, `;`, `|`, `tab`).
    pub separator: Option<String>,
    /// Creation date column.
    pub created_at: Option<String>,
    /// Close date column.
    pub closed_at: Option<String>,
}

/// `[events]`: column names of the events table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsSection {
    /// Lead id column.
    pub lead_id: Option<String>,
    /// Timestamp column.
    pub timestamp: Option<String>,
    /// Event type column.
    pub event_type: Option<String>,
    /// Optional value column.
    pub value: Option<String>,
}

/// `[features]`: behaviour feature settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeaturesSection {
    /// Trailing windows in days (default 7, 30, 90).
    pub windows_days: Option<Vec<u32>>,
    /// Half-life of decayed counts in days (default 30).
    pub half_life_days: Option<f64>,
    /// Take closed leads' features at creation + N days instead of the close date.
    pub as_of_days_after_creation: Option<u32>,
    /// Most event types with their own features (default 40).
    pub max_event_types: Option<usize>,
}

/// A settings file and the folder its relative paths start from.
#[derive(Debug, Clone, Default)]
pub struct LoadedConfig {
    /// File read, if any.
    pub path: Option<PathBuf>,
    /// Its settings (defaults when there is no file).
    pub file: ConfigFile,
}

impl LoadedConfig {
    /// Reads `explicit`, or `./leadscore.toml` when present, or nothing.
    pub fn load(explicit: Option<&Path>) -> Result<Self> {
        let path = match explicit {
            Some(path) => path.to_path_buf(),
            None if Path::new(DEFAULT_CONFIG).is_file() => PathBuf::from(DEFAULT_CONFIG),
            None => return Ok(Self::default()),
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let file: ConfigFile = toml::from_str(&text)
            .with_context(|| format!("{} is not a valid settings file", path.display()))?;
        Ok(Self {
            path: Some(path),
            file,
        })
    }

    fn resolve_path(&self, path: &Path) -> PathBuf {
        match self.path.as_ref().and_then(|p| p.parent()) {
            Some(base) if path.is_relative() => base.join(path),
            _ => path.to_path_buf(),
        }
    }
}

/// Files and reading options after merging flags over the settings file.
#[derive(Debug, Clone)]
pub struct DataSelection {
    /// Leads file.
    pub leads: PathBuf,
    /// Events file.
    pub events: Option<PathBuf>,
    /// How to read the leads.
    pub leads_options: LeadsOptions,
    /// How to read the events.
    pub events_options: EventsOptions,
}

fn pick_list(flag: &[String], file: &[String]) -> Vec<String> {
    if flag.is_empty() {
        file.to_vec()
    } else {
        flag.to_vec()
    }
}

impl DataArgs {
    /// Merges the flags over the settings file.
    pub fn resolve(&self, config: &LoadedConfig) -> Result<DataSelection> {
        let data = &config.file.data;
        let leads = match (&self.leads, &data.leads) {
            (Some(path), _) => path.clone(),
            (None, Some(path)) => config.resolve_path(path),
            (None, None) => {
                bail!("no leads file: pass --leads FILE (or set data.leads in leadscore.toml)")
            }
        };
        let events = self
            .events
            .clone()
            .or_else(|| data.events.as_ref().map(|p| config.resolve_path(p)));
        let separator = match (self.sep, &data.separator) {
            (Some(sep), _) => Some(sep),
            (None, Some(text)) => Some(
                parse_separator(text)
                    .map_err(anyhow::Error::msg)
                    .context("data.separator in the settings file")?,
            ),
            (None, None) => None,
        };
        let extra_missing = pick_list(&self.missing_values, &data.missing_values);
        let defaults = MissingTokens::default();
        let missing = MissingTokens::new(
            defaults
                .tokens()
                .iter()
                .map(String::as_str)
                .chain(extra_missing.iter().map(String::as_str)),
        );
        let base = LeadsOptions::default();
        let open = pick_list(&self.open, &data.open);
        let leads_options = LeadsOptions {
            id_column: self.id.clone().or_else(|| data.id.clone()),
            target: self
                .target
                .clone()
                .or_else(|| data.target.clone())
                .unwrap_or(base.target),
            positive: pick_list(&self.positive, &data.positive),
            negative: pick_list(&self.negative, &data.negative),
            open: if open.is_empty() {
                base.open.clone()
            } else {
                open
            },
            created_at: self.created_at.clone().or_else(|| data.created_at.clone()),
            closed_at: self.closed_at.clone().or_else(|| data.closed_at.clone()),
            exclude: pick_list(&self.exclude, &data.exclude),
            numeric: pick_list(&self.numeric, &data.numeric),
            categorical: pick_list(&self.categorical, &data.categorical),
            missing: missing.clone(),
            separator,
            ..base
        };
        let columns = &config.file.events;
        let event_defaults = EventsOptions::default();
        let events_options = EventsOptions {
            lead_id: columns
                .lead_id
                .clone()
                .or_else(|| leads_options.id_column.clone())
                .unwrap_or(event_defaults.lead_id),
            timestamp: columns
                .timestamp
                .clone()
                .unwrap_or(event_defaults.timestamp),
            event_type: columns
                .event_type
                .clone()
                .unwrap_or(event_defaults.event_type),
            value: columns.value.clone(),
            separator: None,
            missing,
        };
        Ok(DataSelection {
            leads,
            events,
            leads_options,
            events_options,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_from(text: &str, dir: &Path) -> LoadedConfig {
        let path = dir.join("leadscore.toml");
        std::fs::write(&path, text).expect("write config");
        LoadedConfig::load(Some(&path)).expect("valid config")
    }

    #[test]
    fn flags_override_the_file_and_paths_are_relative_to_it() {
        let dir = std::env::temp_dir().join(format!("leadscore-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let config = config_from(
            "[data]\nleads = \"leads.csv\"\ntarget = \"y\"\npositive = [\"yes\"]\nexclude = [\"duration\"]\nseparator = \";\"\n",
            &dir,
        );
        let flags = DataArgs {
            target: Some("converted".to_owned()),
            ..DataArgs::default()
        };
        let selection = flags.resolve(&config).expect("resolves");
        assert_eq!(selection.leads, dir.join("leads.csv"));
        assert_eq!(selection.leads_options.target, "converted");
        assert_eq!(selection.leads_options.positive, ["yes"]);
        assert_eq!(selection.leads_options.exclude, ["duration"]);
        assert_eq!(selection.leads_options.separator, Some(b';'));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn unknown_settings_are_rejected_by_name() {
        let error = toml::from_str::<ConfigFile>("[data]\ntraget = \"y\"\n").expect_err("typo");
        assert!(error.to_string().contains("traget"), "{error}");
    }

    #[test]
    fn a_missing_leads_file_is_a_clear_error() {
        let error = DataArgs::default()
            .resolve(&LoadedConfig::default())
            .expect_err("no leads");
        assert!(error.to_string().contains("--leads"));
    }
}
