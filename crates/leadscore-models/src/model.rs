//! One interface over every model kind.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use ndarray::ArrayView2;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::{ClassWeight, TrainingData};
use crate::decision_tree::{DecisionTreeParams, FittedDecisionTree};
use crate::error::ModelError;
use crate::gbdt::{FittedGbdt, GbdtParams};
use crate::logistic::{FittedLogistic, LogisticParams};

/// Rows a model is handed at once by a batch: a boosted model routes a block through each tree
/// in turn, and the block's features by column (1,024 rows by a few dozen features) stay in a
/// core's cache across all its trees.
pub const ROW_BLOCK: usize = 1024;

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

    /// [`Model::predict_logit`] of several rows (the boosted model goes tree by tree; same
    /// values).
    pub fn predict_logits_of_rows(&self, rows: &[&[f64]]) -> Vec<f64> {
        match self {
            Self::Gbdt(m) => m.predict_logits_of_rows(rows),
            Self::Logistic(_) | Self::DecisionTree(_) => {
                rows.iter().map(|row| self.predict_logit(row)).collect()
            }
        }
    }

    /// Raw log-odds of every row: [`Model::predict_logits_of_rows`] of blocks of
    /// [`ROW_BLOCK`] rows in parallel, the values of [`Model::predict_logit`].
    pub fn predict_logits(&self, x: ArrayView2<'_, f64>) -> Vec<f64> {
        let rows: Vec<Cow<'_, [f64]>> = x
            .outer_iter()
            .map(|row| {
                row.to_slice()
                    .map_or_else(|| Cow::Owned(row.to_vec()), Cow::Borrowed)
            })
            .collect();
        rows.par_chunks(ROW_BLOCK)
            .flat_map_iter(|block| {
                let block: Vec<&[f64]> = block.iter().map(AsRef::as_ref).collect();
                self.predict_logits_of_rows(&block)
            })
            .collect()
    }

    /// Exact per-feature contributions to the raw log-odds of one row.
    pub fn contributions(&self, row: &[f64]) -> Contributions {
        self.contributions_of_rows(&[row])
            .pop()
            .expect("one row in, one out")
    }

    /// [`Model::contributions`] of several rows at once: the boosted model explains them tree
    /// by tree, which keeps each tree's tables in cache (a batch's fast path, same values).
    pub fn contributions_of_rows(&self, rows: &[&[f64]]) -> Vec<Contributions> {
        self.contributions_and_logits_of_rows(rows).0
    }

    /// [`Model::contributions_of_rows`] with each row's raw log-odds, the values of
    /// [`Model::predict_logits_of_rows`] to the bit: the boosted model reads them off the leaves
    /// its explanation reaches instead of walking its trees a second time.
    pub fn contributions_and_logits_of_rows(
        &self,
        rows: &[&[f64]],
    ) -> (Vec<Contributions>, Vec<f64>) {
        let mut values: Vec<Vec<f64>> = rows.iter().map(|row| vec![0.0; row.len()]).collect();
        let (biases, logits): (Vec<f64>, Vec<f64>) = match self {
            Self::Logistic(_) | Self::DecisionTree(_) => (
                rows.iter()
                    .zip(&mut values)
                    .map(|(row, v)| match self {
                        Self::Logistic(m) => m.contributions(row, v),
                        Self::DecisionTree(m) => m.contributions(row, v),
                        Self::Gbdt(m) => m.contributions(row, v),
                    })
                    .collect(),
                self.predict_logits_of_rows(rows),
            ),
            Self::Gbdt(m) => {
                let mut phis: Vec<&mut [f64]> = values.iter_mut().map(Vec::as_mut_slice).collect();
                let (expected, logits) = m.contributions_of_rows(rows, &mut phis);
                (vec![expected; rows.len()], logits)
            }
        };
        let contributions = biases
            .into_iter()
            .zip(values)
            .map(|(bias, values)| Contributions { bias, values })
            .collect();
        (contributions, logits)
    }

    /// Checks a model read from a file against the number of features its pipeline produces:
    /// array lengths, finite weights, and trees that cannot loop or overflow the stack.
    pub fn validate(&self, n_features: usize) -> Result<(), String> {
        let finite = |what: &str, values: &[f64]| match values.iter().find(|v| !v.is_finite()) {
            Some(bad) => Err(format!("{what} holds {bad}")),
            None => Ok(()),
        };
        match self {
            Self::Logistic(m) => {
                m.encoder.validate(n_features)?;
                let width = m.encoder.width();
                if m.coefficients.len() != width || m.design_means.len() != width {
                    return Err(format!(
                        "{} coefficients and {} means for {width} design columns",
                        m.coefficients.len(),
                        m.design_means.len()
                    ));
                }
                finite("the coefficients", &m.coefficients)?;
                finite("the design means", &m.design_means)?;
                finite("the intercept", &[m.intercept])
            }
            Self::DecisionTree(m) => {
                m.encoder.validate(n_features)?;
                m.tree.validate(m.encoder.width())
            }
            Self::Gbdt(m) => {
                if m.n_features != n_features {
                    return Err(format!(
                        "the boosted model has {} features but the pipeline produces {n_features}",
                        m.n_features
                    ));
                }
                finite("the base score", &[m.base_score])?;
                m.trees.iter().enumerate().try_for_each(|(i, tree)| {
                    tree.validate(n_features)
                        .map_err(|e| format!("tree {i}: {e}"))
                })
            }
        }
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

/// The settings of one model of any kind: what the model search tries. Adding a model kind means
/// adding a variant here, its fitted form to [`Model`], and nothing outside this crate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ModelParams {
    /// Logistic regression.
    Logistic(LogisticParams),
    /// Decision tree.
    DecisionTree(DecisionTreeParams),
    /// Gradient-boosted trees.
    Gbdt(GbdtParams),
}

impl ModelParams {
    /// The settings tried for a kind on a development set of `rows` closed leads: three L2
    /// strengths, three depths (leaves of at least `rows/400` leads, balanced classes), or three
    /// leaf/learning-rate settings of boosting.
    pub fn candidates(kind: ModelKind, rows: usize, seed: u64) -> Vec<Self> {
        match kind {
            ModelKind::Logistic => [1.0, 10.0, 100.0]
                .map(|alpha| Self::Logistic(LogisticParams::new().alpha(alpha)))
                .to_vec(),
            ModelKind::DecisionTree => {
                let min_leaf = (rows / 400).clamp(20, 500);
                [4, 6, 8]
                    .map(|depth| {
                        Self::DecisionTree(
                            DecisionTreeParams::new()
                                .max_depth(depth)
                                .min_leaf_rows(min_leaf)
                                .class_weight(ClassWeight::Balanced),
                        )
                    })
                    .to_vec()
            }
            ModelKind::Gbdt => {
                // Large sets get a faster learning rate: the trees are better fed, and fit time
                // stays bounded.
                let learning_rate = if rows > 300_000 { 0.1 } else { 0.05 };
                [(15, 50), (31, 20), (63, 100)]
                    .map(|(leaves, min_leaf)| {
                        Self::Gbdt(
                            GbdtParams::new()
                                .max_leaves(leaves)
                                .min_data_in_leaf(min_leaf)
                                .learning_rate(learning_rate)
                                .seed(seed),
                        )
                    })
                    .to_vec()
            }
        }
    }

    /// The model family.
    pub fn kind(&self) -> ModelKind {
        match self {
            Self::Logistic(_) => ModelKind::Logistic,
            Self::DecisionTree(_) => ModelKind::DecisionTree,
            Self::Gbdt(_) => ModelKind::Gbdt,
        }
    }

    /// The settings in a line (`alpha=10`, `depth≤6`, `≤31 leaves, min leaf 20, lr=0.05`).
    pub fn describe(&self) -> String {
        match self {
            Self::Logistic(p) => format!("alpha={}", p.alpha_value()),
            Self::DecisionTree(p) => format!("depth≤{}", p.max_depth_value()),
            Self::Gbdt(p) => format!(
                "≤{} leaves, min leaf {}, lr={}",
                p.max_leaves_value(),
                p.min_data_in_leaf_value(),
                p.learning_rate_value()
            ),
        }
    }

    /// Fits the model; `valid` stops boosting early.
    pub fn fit(
        &self,
        train: &TrainingData<'_>,
        valid: Option<&TrainingData<'_>>,
    ) -> Result<Model, ModelError> {
        Ok(match self {
            Self::Logistic(p) => Model::Logistic(p.check()?.fit(train)?),
            Self::DecisionTree(p) => Model::DecisionTree(p.check()?.fit(train)?),
            Self::Gbdt(p) => Model::Gbdt(p.check()?.fit(train, valid)?),
        })
    }

    /// The settings for the final fit on all development leads, given the models validation
    /// fitted: boosting keeps slightly more trees than early stopping chose on average (the final
    /// fit sees more data) and no longer stops early.
    pub fn for_final_fit(&self, validated: &[&Model]) -> Self {
        match self {
            Self::Gbdt(params) => {
                let trees: Vec<usize> = validated
                    .iter()
                    .filter_map(|m| match m {
                        Model::Gbdt(g) => Some(g.trees.len()),
                        _ => None,
                    })
                    .collect();
                let mean = trees.iter().sum::<usize>() as f64 / trees.len().max(1) as f64;
                Self::Gbdt(params.max_trees(((mean * 1.1).round() as usize).max(1)))
            }
            other => *other,
        }
    }
}
