//! Errors of a comparison and of experiments files.

use std::path::PathBuf;

/// Why two scorings cannot be compared.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// The holdout has no won or no lost leads.
    #[error("the holdout has {won} won and {lost} lost leads; a comparison needs both")]
    OneClass {
        /// Won leads.
        won: usize,
        /// Lost leads.
        lost: usize,
    },
    /// The scorer lacks a model or rules.
    #[error("a comparison needs both a model file and a rules file")]
    NeedsModelAndRules,
    /// The holdout's features cannot be built.
    #[error(transparent)]
    Features(#[from] leadscore_features::FeatureError),
    /// Inputs of different lengths.
    #[error("{what}: {got} values for {expected} leads")]
    Length {
        /// Which input.
        what: &'static str,
        /// Values given.
        got: usize,
        /// Leads.
        expected: usize,
    },
    /// A threshold out of its range.
    #[error("monitor setting {name} = {value}: expected {reason}")]
    Setting {
        /// The setting.
        name: &'static str,
        /// Its value.
        value: String,
        /// What it must be.
        reason: &'static str,
    },
}

/// An experiments file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("experiments file {}: {message}", path.display())]
pub struct ExperimentsError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong.
    pub message: String,
}
