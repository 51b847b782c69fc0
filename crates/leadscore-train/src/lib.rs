//! Training on closed deals: from a leads table (and its events) to a checked model file.
//!
//! `leadscore train` runs [`TrainParams`] → [`ValidTrainParams::train`]: pre-training checks
//! (class counts, likely leaks), a time-based or stratified k-fold validation that chooses the
//! model kind and hyper-parameters without touching the optional test part, Platt calibration on
//! out-of-fold predictions, a final fit, and a [`leadscore_artifact::ModelArtifact`].
//! [`Settings`] turn the words of `leadscore.toml`, the flags and the Python keyword arguments
//! into reading options and [`TrainParams`], once for every front end. Nothing that
//! scores depends on this crate: training writes a model file, everything else reads one.

mod error;
mod leak;
mod scorecard;
mod settings;
mod train;

pub use error::TrainError;
pub use leak::{ColumnSignal, check_leaks};
pub use scorecard::{Contender, ScorecardContest, scorecard_contest};
pub use settings::{
    DataSettings, EventSettings, FeatureSettings, Settings, TrainSettings, parse_separator,
};
pub use train::{TrainInput, TrainOutcome, TrainParams, TrainProgress, ValidTrainParams};
