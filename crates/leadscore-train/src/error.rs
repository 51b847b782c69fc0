//! Errors of training.

use leadscore_data::DataError;
use leadscore_features::FeatureError;
use leadscore_models::ModelError;

/// What can go wrong training or using a model file.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The input data is unusable.
    #[error(transparent)]
    Data(#[from] DataError),
    /// Features could not be built.
    #[error(transparent)]
    Features(#[from] FeatureError),
    /// A model could not be fitted.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// Too few won or lost leads to train and validate.
    #[error(
        "too few closed leads to train: {won} won and {lost} lost in the training part; at least {minimum} of each are needed (more than 200 of each for a reliable model)"
    )]
    TooFewOutcomes {
        /// Won leads available.
        won: usize,
        /// Lost leads available.
        lost: usize,
        /// Minimum per class.
        minimum: usize,
    },
    /// The best model is no better than chance, or than a single column alone.
    #[error("{reason}; no model file was written (pass --allow-weak to write it anyway)")]
    WeakModel {
        /// What makes it weak, with the figures.
        reason: String,
    },
    /// A training setting is out of range.
    #[error("invalid training setting `{name}` = {value}: {reason}")]
    InvalidParam {
        /// Setting name.
        name: &'static str,
        /// Value given.
        value: String,
        /// Accepted range.
        reason: &'static str,
    },
    /// A setting (flag, settings-file key or keyword argument) has a value that means nothing.
    #[error("invalid setting `{name}`: {message}")]
    Setting {
        /// The setting, as the settings file names it.
        name: String,
        /// What is wrong and what is accepted.
        message: String,
    },
    /// A scorecard could not be learned.
    #[error(transparent)]
    Points(#[from] leadscore_points::PointsError),
    /// A model could not be evaluated.
    #[error(transparent)]
    Evaluate(#[from] leadscore_score::EvaluateError),
    /// A scorer could not be built.
    #[error(transparent)]
    Scorer(#[from] leadscore_score::NothingToScoreWith),
    /// The trained model does not form a consistent model file.
    #[error(transparent)]
    Artifact(#[from] leadscore_artifact::ArtifactError),
}
