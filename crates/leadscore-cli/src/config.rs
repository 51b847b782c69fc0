//! `leadscore.toml`: the same settings as the flags, for a project that retrains every month.
//!
//! Flags override the file. Relative paths in the file are relative to the file's folder.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use leadscore_data::{EventsOptions, LeadsOptions};
use leadscore_train::{DataSettings, Settings};

use crate::args::DataArgs;

/// File looked for in the working directory when `--config` is absent.
pub const DEFAULT_CONFIG: &str = "leadscore.toml";

/// A settings file and the folder its relative paths start from.
#[derive(Debug, Clone, Default)]
pub struct LoadedConfig {
    /// File read, if any.
    pub path: Option<PathBuf>,
    /// Its settings (defaults when there is no file).
    pub file: Settings,
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
        let file: Settings = toml::from_str(&text)
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
        let open = pick_list(&self.open, &data.open);
        let merged = DataSettings {
            leads: Some(leads.clone()),
            events: events.clone(),
            target: self.target.clone().or_else(|| data.target.clone()),
            positive: pick_list(&self.positive, &data.positive),
            negative: pick_list(&self.negative, &data.negative),
            open,
            id: self.id.clone().or_else(|| data.id.clone()),
            exclude: pick_list(&self.exclude, &data.exclude),
            numeric: pick_list(&self.numeric, &data.numeric),
            categorical: pick_list(&self.categorical, &data.categorical),
            missing_values: pick_list(&self.missing_values, &data.missing_values),
            separator: self.sep.clone().or_else(|| data.separator.clone()),
            created_at: self.created_at.clone().or_else(|| data.created_at.clone()),
            closed_at: self.closed_at.clone().or_else(|| data.closed_at.clone()),
            value: self.value.clone().or_else(|| data.value.clone()),
        };
        let leads_options = merged.leads_options()?;
        let events_options = config.file.events_options(&leads_options);
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
        let error = toml::from_str::<Settings>("[data]\ntraget = \"y\"\n").expect_err("typo");
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
