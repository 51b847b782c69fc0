//! Errors of rules files, points scoring and scorecard learning.

use std::path::PathBuf;

use leadscore_data::DataError;
use leadscore_models::ModelError;

/// What can go wrong reading rules or scoring with them.
#[derive(Debug, thiserror::Error)]
pub enum PointsError {
    /// The rules file cannot be read.
    #[error("rules file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The rules file is not valid TOML or has a wrong key or type.
    #[error("rules file {}: line {line}: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A rule is inconsistent or does not fit the data.
    #[error("rules file {}: line {line}: rule `{rule}`: {message}", path.display())]
    Rule {
        /// The file.
        path: PathBuf,
        /// 1-based line where the rule starts.
        line: usize,
        /// Rule name.
        rule: String,
        /// What is wrong.
        message: String,
    },
    /// A file-level setting is invalid.
    #[error("rules file {}: {message}", path.display())]
    Setting {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The data to score or learn from is unusable.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The scorecard's logistic model could not be fitted.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A learning or threshold setting is out of range.
    #[error("invalid setting `{name}`: {reason}")]
    InvalidParam {
        /// Setting name.
        name: &'static str,
        /// Accepted range.
        reason: String,
    },
}
