//! Training on closed deals and the model artifact it produces.
//!
//! `leadscore train` runs [`TrainParams`] → [`ValidTrainParams::train`]: pre-training checks
//! (class counts, likely leaks), a time-based or stratified k-fold validation that chooses the
//! model kind and hyper-parameters without touching the optional test part, Platt calibration on
//! out-of-fold predictions, a final fit, and a [`ModelArtifact`] written atomically as JSON.
//! `leadscore evaluate` and `leadscore score` load that artifact and apply it with [`evaluate`].

mod artifact;
mod error;
mod evaluate;
mod leak;
mod split;
mod train;

pub use artifact::{
    CandidateResult, DataFingerprint, Explanation, FORMAT, FORMAT_VERSION, Importance, InputSchema,
    LeakWarning, ModelArtifact, ModelScore, Reason, Tier, TrainingReport, ValidationReport,
};
pub use error::TrainError;
pub use evaluate::{Evaluation, evaluate};
pub use leak::{ColumnSignal, check_leaks};
pub use split::{Folds, SplitKind, Validation, hold_out, validation_folds};
pub use train::{
    TrainInput, TrainOutcome, TrainParams, TrainProgress, ValidTrainParams, file_sha256,
};
