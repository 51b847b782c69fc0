//! Gradient-boosted decision trees for log loss, written for leadscore.
//!
//! Histogram-based and grown best-leaf-first like LightGBM: features are binned once (≤ 255 value
//! bins plus a missing bin; features with one bin in half the rows or more are stored as their
//! other entries only), each tree is grown on gradient/hessian histograms with histogram
//! subtraction, missing values learn their direction, categorical features split natively on
//! level sets ordered by gradient statistics, rows and features are subsampled per tree, and
//! boosting stops early on a validation set. The saved trees split on raw values, so scoring a
//! lead needs no binning, and TreeSHAP gives exact per-feature contributions.

mod binning;
mod grow;

use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::calibration::sigmoid;
use crate::data::TrainingData;
use crate::error::ModelError;
use crate::tree::{MemoPool, Tree};
use binning::BinnedRows;
use grow::{GrowData, GrowParams, Scratch};

const MODEL: &str = "gradient boosting";

/// Settings of the boosted model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GbdtParams {
    max_trees: usize,
    learning_rate: f64,
    max_leaves: usize,
    max_depth: usize,
    min_data_in_leaf: usize,
    min_sum_hessian: f64,
    lambda_l2: f64,
    min_split_gain: f64,
    feature_fraction: f64,
    bagging_fraction: f64,
    max_bins: usize,
    early_stopping_rounds: usize,
    positive_weight: f64,
    max_cat_threshold: usize,
    cat_smooth: f64,
    seed: u64,
}

impl Default for GbdtParams {
    /// Up to 1,000 trees with early stopping after 50 rounds without improvement, learning rate
    /// 0.05, 31 leaves, depth ≤ 8, ≥ 20 leads per leaf, L2 1.0, 80% of features and rows per
    /// tree, 255 bins, unweighted classes, seed 42.
    fn default() -> Self {
        Self {
            max_trees: 1000,
            learning_rate: 0.05,
            max_leaves: 31,
            max_depth: 8,
            min_data_in_leaf: 20,
            min_sum_hessian: 1e-3,
            lambda_l2: 1.0,
            min_split_gain: 0.0,
            feature_fraction: 0.8,
            bagging_fraction: 0.8,
            max_bins: 255,
            early_stopping_rounds: 50,
            positive_weight: 1.0,
            max_cat_threshold: 32,
            cat_smooth: 10.0,
            seed: 42,
        }
    }
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident: $type:ty) => {
        $(#[$doc])*
        pub fn $name(mut self, value: $type) -> Self {
            self.$name = value;
            self
        }
    };
}

impl GbdtParams {
    /// Default settings.
    pub fn new() -> Self {
        Self::default()
    }

    setter!(/// Most trees (fewer when early stopping triggers).
        max_trees: usize);
    setter!(/// Shrinkage of each tree.
        learning_rate: f64);
    setter!(/// Most leaves per tree.
        max_leaves: usize);
    setter!(/// Deepest leaf.
        max_depth: usize);
    setter!(/// Fewest training rows per leaf.
        min_data_in_leaf: usize);
    setter!(/// L2 penalty on leaf values.
        lambda_l2: f64);
    setter!(/// Share of features tried per tree.
        feature_fraction: f64);
    setter!(/// Share of rows used per tree.
        bagging_fraction: f64);
    setter!(/// Rounds without validation improvement before stopping.
        early_stopping_rounds: usize);
    setter!(/// Weight of won leads relative to lost ones.
        positive_weight: f64);
    setter!(/// Random seed of row and feature sampling.
        seed: u64);

    /// Most leaves per tree.
    pub fn max_leaves_value(&self) -> usize {
        self.max_leaves
    }

    /// Learning rate.
    pub fn learning_rate_value(&self) -> f64 {
        self.learning_rate
    }

    /// Fewest rows per leaf.
    pub fn min_data_in_leaf_value(&self) -> usize {
        self.min_data_in_leaf
    }

    /// Validates the settings.
    pub fn check(self) -> Result<ValidGbdtParams, ModelError> {
        let invalid = |name, value: String, reason| {
            Err(ModelError::InvalidParam {
                model: MODEL,
                name,
                value,
                reason,
            })
        };
        if self.max_trees == 0 {
            return invalid("max_trees", "0".to_owned(), "at least 1");
        }
        if !(self.learning_rate > 0.0 && self.learning_rate <= 1.0) {
            return invalid("learning_rate", self.learning_rate.to_string(), "in (0, 1]");
        }
        if !(2..=4096).contains(&self.max_leaves) {
            return invalid(
                "max_leaves",
                self.max_leaves.to_string(),
                "between 2 and 4096",
            );
        }
        if !(1..=32).contains(&self.max_depth) {
            return invalid("max_depth", self.max_depth.to_string(), "between 1 and 32");
        }
        if self.min_data_in_leaf == 0 {
            return invalid("min_data_in_leaf", "0".to_owned(), "at least 1");
        }
        if !(self.lambda_l2.is_finite() && self.lambda_l2 >= 0.0) {
            return invalid(
                "lambda_l2",
                self.lambda_l2.to_string(),
                "a finite number >= 0",
            );
        }
        for (name, share) in [
            ("feature_fraction", self.feature_fraction),
            ("bagging_fraction", self.bagging_fraction),
        ] {
            if !(share > 0.0 && share <= 1.0) {
                return invalid(name, share.to_string(), "in (0, 1]");
            }
        }
        if !(2..=256).contains(&self.max_bins) {
            return invalid("max_bins", self.max_bins.to_string(), "between 2 and 256");
        }
        if !(self.positive_weight.is_finite() && self.positive_weight > 0.0) {
            return invalid(
                "positive_weight",
                self.positive_weight.to_string(),
                "a positive number",
            );
        }
        Ok(ValidGbdtParams(self))
    }
}

/// Checked boosting settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValidGbdtParams(GbdtParams);

impl ValidGbdtParams {
    /// Boosts trees on `train`, stopping early on `valid` when given.
    pub fn fit(
        &self,
        train: &TrainingData<'_>,
        valid: Option<&TrainingData<'_>>,
    ) -> Result<FittedGbdt, ModelError> {
        train.require_both_classes(MODEL)?;
        // Boosting forks and joins thousands of times per tree; from a pool thread each fork is a
        // push onto its own queue, where from any other thread it is a hand-over through a lock
        // and a wake-up.
        rayon::scope(|_| self.boost(train, valid))
    }

    fn boost(
        &self,
        train: &TrainingData<'_>,
        valid: Option<&TrainingData<'_>>,
    ) -> Result<FittedGbdt, ModelError> {
        let p = self.0;
        let n = train.x.nrows();
        let binned = BinnedRows::fit(train.x, train.features, p.max_bins);
        let valid_binned = valid.map(|v| binned.bin(v.x));
        let valid_rows = valid.map_or(0, |v| v.x.nrows());
        let weights: Vec<f64> = train
            .y
            .iter()
            .map(|&y| if y { p.positive_weight } else { 1.0 })
            .collect();
        let total_weight: f64 = weights.iter().sum();
        let positive_share = train
            .y
            .iter()
            .zip(&weights)
            .filter(|(y, _)| **y)
            .map(|(_, w)| w)
            .sum::<f64>()
            / total_weight;
        let base_score = (positive_share / (1.0 - positive_share)).ln();

        let grow_params = GrowParams {
            max_leaves: p.max_leaves,
            max_depth: p.max_depth,
            min_data_in_leaf: p.min_data_in_leaf as u32,
            min_sum_hessian: p.min_sum_hessian,
            lambda_l2: p.lambda_l2,
            min_split_gain: p.min_split_gain,
            learning_rate: p.learning_rate,
            max_cat_threshold: p.max_cat_threshold,
            max_cat_onehot: 4,
            cat_smooth: p.cat_smooth,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(p.seed);
        let mut train_scores = vec![base_score; n];
        let mut valid_scores = valid.map(|v| vec![base_score; v.x.nrows()]);
        let mut gradients = vec![(0.0, 0.0); n];
        let mut indices: Vec<u32> = Vec::with_capacity(n);
        let mut in_bag = vec![false; n];
        let mut scratch = Scratch::default();
        let mut trees = Vec::new();
        let (mut best_loss, mut best_trees) = (f64::INFINITY, 0usize);
        let n_features = train.features.len();
        let bag_size = ((n as f64 * p.bagging_fraction).round() as usize).clamp(1, n);
        let feature_count =
            ((n_features as f64 * p.feature_fraction).round() as usize).clamp(1, n_features.max(1));

        for _ in 0..p.max_trees {
            // The bag is drawn while the gradients are computed: neither reads the other.
            rayon::join(
                || {
                    gradients
                        .par_iter_mut()
                        .zip(&train_scores)
                        .zip(train.y.par_iter().zip(&weights))
                        .for_each(|((gh, &score), (&y, &w))| {
                            let probability = sigmoid(score);
                            *gh = (
                                w * (probability - f64::from(u8::from(y))),
                                (w * probability * (1.0 - probability)).max(1e-16),
                            );
                        })
                },
                || draw_bag(&mut indices, n, bag_size, &mut rng),
            );
            let mut feature_mask = vec![feature_count == n_features; n_features];
            if feature_count < n_features {
                for f in sample(&mut rng, n_features, feature_count) {
                    feature_mask[f] = true;
                }
            }
            let data = GrowData::new(&binned, &gradients, &feature_mask);
            let grown = data.grow(&mut indices, &mut scratch, &grow_params);
            in_bag.fill(false);
            for &(node, start, end) in &grown.leaf_ranges {
                let value = grown.tree.value[node as usize];
                for &row in &indices[start..end] {
                    train_scores[row as usize] += value;
                    in_bag[row as usize] = true;
                }
            }
            // Rows outside the bag and validation rows are routed on their bins: the columns
            // are read in order, where raw rows would be fetched from all over memory.
            if bag_size < n {
                train_scores
                    .par_iter_mut()
                    .enumerate()
                    .zip(in_bag.par_iter())
                    .filter(|(_, bagged)| !**bagged)
                    .for_each(|((row, score), _)| {
                        *score += grown.predict_binned(&binned.columns, n, row);
                    });
            }
            if let (Some(valid), Some(scores), Some(columns)) =
                (valid, valid_scores.as_mut(), valid_binned.as_ref())
            {
                scores.par_iter_mut().enumerate().for_each(|(row, score)| {
                    *score += grown.predict_binned(columns, valid_rows, row)
                });
                let tree = grown.tree;
                let loss = weighted_log_loss(scores, valid.y, p.positive_weight);
                trees.push(tree);
                if loss < best_loss - 1e-9 {
                    best_loss = loss;
                    best_trees = trees.len();
                } else if trees.len() - best_trees >= p.early_stopping_rounds {
                    break;
                }
            } else {
                trees.push(grown.tree);
                best_trees = trees.len();
            }
        }
        trees.truncate(best_trees.max(1));
        Ok(FittedGbdt {
            base_score,
            trees,
            n_features,
            learning_rate: p.learning_rate,
            max_leaves: p.max_leaves,
            min_data_in_leaf: p.min_data_in_leaf,
            validation_log_loss: best_loss.is_finite().then_some(best_loss),
            memos: MemoPool::default(),
        })
    }
}

/// A uniform bag of exactly `bag_size` of the `n` rows, in order, into `indices`.
fn draw_bag(indices: &mut Vec<u32>, n: usize, bag_size: usize, rng: &mut ChaCha8Rng) {
    indices.clear();
    if bag_size < n {
        // Selection sampling: each row is kept with the chance that the remaining draws need.
        let mut needed = bag_size;
        for row in 0..n {
            if rng.random_range(0..n - row) < needed {
                indices.push(row as u32);
                needed -= 1;
            }
        }
    } else {
        indices.extend(0..n as u32);
    }
}

/// Rows per chunk of [`weighted_log_loss`]: fixed, so the sum's order never depends on threads.
const LOSS_CHUNK: usize = 4096;

fn weighted_log_loss(scores: &[f64], labels: &[bool], positive_weight: f64) -> f64 {
    let chunks: Vec<(f64, f64)> = scores
        .par_chunks(LOSS_CHUNK)
        .zip(labels.par_chunks(LOSS_CHUNK))
        .map(|(scores, labels)| {
            let (mut total, mut weight) = (0.0, 0.0);
            for (&score, &label) in scores.iter().zip(labels) {
                let p = sigmoid(score).clamp(1e-15, 1.0 - 1e-15);
                let w = if label { positive_weight } else { 1.0 };
                total -= w * if label { p.ln() } else { (1.0 - p).ln() };
                weight += w;
            }
            (total, weight)
        })
        .collect();
    let (total, weight) = chunks
        .iter()
        .fold((0.0, 0.0), |(t, w), &(ct, cw)| (t + ct, w + cw));
    total / weight.max(f64::MIN_POSITIVE)
}

/// A fitted boosted model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedGbdt {
    /// Log-odds before any tree.
    pub base_score: f64,
    /// The trees (learning rate already applied to leaf values).
    pub trees: Vec<Tree>,
    /// Number of input features.
    pub n_features: usize,
    /// Learning rate used.
    pub learning_rate: f64,
    /// Leaf limit used.
    pub max_leaves: usize,
    /// Fewest rows per leaf used.
    pub min_data_in_leaf: usize,
    /// Best validation log loss seen, when a validation set was given.
    pub validation_log_loss: Option<f64>,
    /// Tree contributions already computed, lent to each explanation (derived data, never
    /// saved).
    #[serde(skip)]
    memos: MemoPool,
}

impl FittedGbdt {
    /// Log-odds of one feature row.
    pub fn predict_logit(&self, row: &[f64]) -> f64 {
        self.base_score + self.trees.iter().map(|t| t.predict(row)).sum::<f64>()
    }

    /// [`FittedGbdt::predict_logit`] of several rows, tree by tree so that each tree stays in
    /// cache, each tree routing all rows at once through its split masks; each row's tree
    /// outputs are summed in the same order from the same start, so the values are identical.
    pub fn predict_logits_of_rows(&self, rows: &[&[f64]]) -> Vec<f64> {
        let start: f64 = std::iter::empty::<f64>().sum();
        let mut sums = vec![start; rows.len()];
        if let ([row], [sum]) = (rows, sums.as_mut_slice()) {
            // One row (a request) is walked: it has no block to share the masks' work.
            for tree in &self.trees {
                *sum += tree.predict(row);
            }
        } else {
            let mut memo = self.memos.lend();
            memo.add_outputs_of_trees(&self.trees, rows, &mut sums);
            self.memos.hand_back(memo);
        }
        sums.into_iter().map(|sum| self.base_score + sum).collect()
    }

    /// TreeSHAP contributions per input feature; returns the expected log-odds.
    pub fn contributions(&self, row: &[f64], phi: &mut [f64]) -> f64 {
        self.contributions_of_rows(&[row], &mut [phi]).0
    }

    /// TreeSHAP contributions of several rows, added to `phis[i]` for `rows[i]`; returns the
    /// expected log-odds and each row's log-odds. Each tree explains every row before the next
    /// tree, so that its tables stay in cache; a row's values are added in tree order either way,
    /// hence identical to [`FittedGbdt::contributions`]. The log-odds come from the leaves the
    /// explanation reaches, summed as [`FittedGbdt::predict_logits_of_rows`] sums them: the same
    /// values, without walking the trees again. A tree's contributions to rows that take the same
    /// way at each of its splits are computed once and remembered between calls.
    pub fn contributions_of_rows(
        &self,
        rows: &[&[f64]],
        phis: &mut [&mut [f64]],
    ) -> (f64, Vec<f64>) {
        let mut expected = self.base_score;
        let start: f64 = std::iter::empty::<f64>().sum();
        let mut sums = vec![start; rows.len()];
        let mut memo = self.memos.lend();
        memo.add_contributions_of_trees(&self.trees, rows, phis, &mut sums);
        self.memos.hand_back(memo);
        for tree in &self.trees {
            expected += tree.expected_value();
        }
        let logits = sums.into_iter().map(|sum| self.base_score + sum).collect();
        (expected, logits)
    }
}
