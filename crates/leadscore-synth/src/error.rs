//! Errors of the synthetic data generator.

use std::path::PathBuf;

/// What can go wrong generating or writing synthetic data.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// A generator parameter is out of range.
    #[error("invalid generator parameter `{name}` = {value}: {reason}")]
    InvalidParam {
        /// Parameter name.
        name: &'static str,
        /// Value given.
        value: String,
        /// Accepted range.
        reason: &'static str,
    },
    /// An output file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// File being written.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
}
