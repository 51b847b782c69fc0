//! Errors of model fitting.

/// What can go wrong fitting a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A hyper-parameter is out of range.
    #[error("invalid {model} parameter `{name}` = {value}: {reason}")]
    InvalidParam {
        /// Model kind.
        model: &'static str,
        /// Parameter name.
        name: &'static str,
        /// Value given.
        value: String,
        /// Accepted range.
        reason: &'static str,
    },
    /// The training data cannot support a fit.
    #[error("cannot fit {model}: {reason}")]
    BadTrainingData {
        /// Model kind.
        model: &'static str,
        /// What is wrong (counts included).
        reason: String,
    },
    /// The underlying solver failed.
    #[error("{model} solver failed: {message}")]
    Solver {
        /// Model kind.
        model: &'static str,
        /// Solver message.
        message: String,
    },
}
