//! One interface over every model kind.

use std::fmt;
use std::str::FromStr;

use ndarray::ArrayView2;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::decision_tree::FittedDecisionTree;
use crate::gbdt::FittedGbdt;
use crate::logistic::FittedLogistic;

/// The model families leadscore trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// L2-regularised logistic regression.
    Logistic,
    /// A single CART decision tree.
    #[serde(rename = "tree")]
    DecisionTree,
    /// Gradient-boosted trees.
    Gbdt,
}

impl ModelKind {
    /// Every kind, in leaderboard order.
    pub const ALL: [Self; 3] = [Self::Logistic, Self::DecisionTree, Self::Gbdt];

    /// Short name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Logistic => "logistic",
            Self::DecisionTree => "tree",
            Self::Gbdt => "gbdt",
        }
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ModelKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "logistic" | "logit" | "lr" => Ok(Self::Logistic),
            "tree" | "decision_tree" | "cart" => Ok(Self::DecisionTree),
            "gbdt" | "boosted" | "gbm" => Ok(Self::Gbdt),
            other => Err(format!(
                "unknown model kind `{other}`; use logistic, tree or gbdt"
            )),
        }
    }
}

/// A fitted model of any kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Model {
    /// Logistic regression.
    Logistic(FittedLogistic),
    /// Decision tree.
    #[serde(rename = "tree")]
    DecisionTree(FittedDecisionTree),
    /// Gradient-boosted trees.
    Gbdt(FittedGbdt),
}

/// Per-feature contributions to one lead's log-odds.
#[derive(Debug, Clone, PartialEq)]
pub struct Contributions {
    /// Log-odds of the reference (average training) lead.
    pub bias: f64,
    /// One value per input feature; `bias + Σ values` is the lead's log-odds.
    pub values: Vec<f64>,
}

impl Model {
    /// The model family.
    pub fn kind(&self) -> ModelKind {
        match self {
            Self::Logistic(_) => ModelKind::Logistic,
            Self::DecisionTree(_) => ModelKind::DecisionTree,
            Self::Gbdt(_) => ModelKind::Gbdt,
        }
    }

    /// Raw (uncalibrated) log-odds of one feature row.
    pub fn predict_logit(&self, row: &[f64]) -> f64 {
        match self {
            Self::Logistic(m) => m.predict_logit(row),
            Self::DecisionTree(m) => m.predict_logit(row),
            Self::Gbdt(m) => m.predict_logit(row),
        }
    }

    /// Raw log-odds of every row, computed row by row with [`Model::predict_logit`].
    pub fn predict_logits(&self, x: ArrayView2<'_, f64>) -> Vec<f64> {
        x.outer_iter()
            .into_par_iter()
            .map(|row| match row.as_slice() {
                Some(values) => self.predict_logit(values),
                None => self.predict_logit(&row.to_vec()),
            })
            .collect()
    }

    /// Exact per-feature contributions to the raw log-odds of one row.
    pub fn contributions(&self, row: &[f64]) -> Contributions {
        let mut values = vec![0.0; row.len()];
        let bias = match self {
            Self::Logistic(m) => m.contributions(row, &mut values),
            Self::DecisionTree(m) => m.contributions(row, &mut values),
            Self::Gbdt(m) => m.contributions(row, &mut values),
        };
        Contributions { bias, values }
    }

    /// The fitted hyper-parameters in a line (`alpha=1`, `depth=6`, `312 trees, 31 leaves`).
    pub fn summary(&self) -> String {
        match self {
            Self::Logistic(m) => format!("alpha={}", m.alpha),
            Self::DecisionTree(m) => format!("depth≤{}, {} leaves", m.max_depth, m.tree.n_leaves()),
            Self::Gbdt(m) => format!(
                "{} trees, ≤{} leaves, lr={}, min leaf {}",
                m.trees.len(),
                m.max_leaves,
                m.learning_rate,
                m.min_data_in_leaf
            ),
        }
    }
}
