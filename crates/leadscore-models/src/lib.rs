//! Models that turn feature rows into won probabilities, and explain them.
//!
//! Three families behind one interface ([`Model`]): logistic regression (own Newton solver),
//! a decision tree (linfa-trees, with probability leaves) and gradient-boosted trees (written
//! here: histogram-based, leaf-wise, native missing values and categories). Each follows the
//! `XParams` → `check()` → `fit()` → `FittedX` pattern. Every model gives exact per-feature
//! contributions that add up to its log-odds — weights × centred inputs for the linear model,
//! TreeSHAP for trees — and [`Calibration`] (Platt or isotonic, chosen by cross-validation) maps
//! log-odds to calibrated probabilities.

mod calibration;
mod data;
mod decision_tree;
mod error;
mod gbdt;
mod linalg;
mod linear;
mod logistic;
mod model;
mod tree;
mod value;

pub use calibration::{Calibration, PlattCalibration, sigmoid};
pub use data::{ClassWeight, TrainingData};
pub use decision_tree::{DecisionTreeParams, FittedDecisionTree, ValidDecisionTreeParams};
pub use error::ModelError;
pub use gbdt::{FittedGbdt, GbdtParams, ValidGbdtParams};
pub use linear::{EncodedFeature, LinearEncoder};
pub use logistic::{FittedLogistic, LogisticParams, ValidLogisticParams, fit_logistic_design};
pub use model::{Contributions, Model, ModelKind, ModelParams, ROW_BLOCK};
pub use tree::{LEAF, MAX_DEPTH, Tree};
pub use value::{
    FittedValue, MIN_DEALS, ValidValueParams, ValueCandidate, ValueParams, ValueValidation,
};
