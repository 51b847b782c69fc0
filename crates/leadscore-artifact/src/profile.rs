//! The training leads' explicit columns in a few numbers, kept in the model file so that a server
//! can tell when the leads it scores stop looking like them: the missing share, and the decile
//! edges of a number or the share of levels the model never learned. Values are the pipeline's
//! own (the first features of a row, one per explicit column), so training and serving count the
//! same thing.

use leadscore_data::ColumnKind;
use leadscore_features::FittedFeaturePipeline;
use leadscore_metrics::quantile_edges;
use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

/// Bins of a numeric column's profile: its training deciles.
const NUMERIC_BINS: usize = 10;

/// How one explicit column looked in training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnProfile {
    /// Column name.
    pub column: String,
    /// Share of training leads without a value.
    pub missing_share: f64,
    /// Numbers: decile edges and shares; categories: the unlearned share.
    pub shape: ProfileShape,
}

/// The distribution part of a [`ColumnProfile`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ProfileShape {
    /// Present values in bins: bin `k` holds values with `k` edges at or below them.
    Numeric {
        /// Ascending bin edges (training deciles, ties merged).
        edges: Vec<f64>,
        /// Training share of present values in each bin (`edges.len() + 1` of them).
        shares: Vec<f64>,
    },
    /// Share of present values scored as `(other)`: rare in training or never seen.
    Categorical {
        /// Training share of present values scored as `(other)`.
        other_share: f64,
    },
}

/// What a server counted for one column over the leads it scored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnCounts {
    /// Leads.
    pub rows: u64,
    /// Of those, without a value.
    pub missing: u64,
    /// Categories: present values scored as `(other)`.
    pub other: u64,
    /// Numbers: present values per bin.
    pub bins: Vec<u64>,
}

impl ColumnCounts {
    /// Adds another count of the same column.
    pub fn add(&mut self, other: &Self) {
        self.rows += other.rows;
        self.missing += other.missing;
        self.other += other.other;
        if self.bins.len() < other.bins.len() {
            self.bins.resize(other.bins.len(), 0);
        }
        for (mine, theirs) in self.bins.iter_mut().zip(&other.bins) {
            *mine += theirs;
        }
    }
}

impl ColumnProfile {
    /// Counts one lead's value of this column (`NaN` is missing; a category is its code, and
    /// code `other_code` is `(other)`).
    pub fn observe(&self, value: f64, other_code: f64, counts: &mut ColumnCounts) {
        counts.rows += 1;
        if value.is_nan() {
            counts.missing += 1;
            return;
        }
        match &self.shape {
            ProfileShape::Numeric { edges, .. } => {
                if counts.bins.len() != edges.len() + 1 {
                    counts.bins.resize(edges.len() + 1, 0);
                }
                counts.bins[edges.partition_point(|&edge| edge <= value)] += 1;
            }
            ProfileShape::Categorical { .. } => {
                if value == other_code {
                    counts.other += 1;
                }
            }
        }
    }
}

/// Profiles of every explicit column from the feature rows of the training leads.
pub fn profile_columns(
    pipeline: &FittedFeaturePipeline,
    matrix: ArrayView2<'_, f64>,
) -> Vec<ColumnProfile> {
    let rows = matrix.nrows().max(1) as f64;
    pipeline
        .columns
        .iter()
        .enumerate()
        .map(|(j, encoder)| {
            let values = matrix.column(j);
            let present: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
            let missing_share = (values.len() - present.len()) as f64 / rows;
            let shape = match encoder.kind {
                ColumnKind::Categorical => {
                    let other = encoder.levels.len() as f64;
                    ProfileShape::Categorical {
                        other_share: present.iter().filter(|&&v| v == other).count() as f64
                            / present.len().max(1) as f64,
                    }
                }
                ColumnKind::Numeric => {
                    let edges = quantile_edges(present.iter().copied(), NUMERIC_BINS);
                    let mut shares = vec![0.0; edges.len() + 1];
                    for &v in &present {
                        shares[edges.partition_point(|&edge| edge <= v)] += 1.0;
                    }
                    shares
                        .iter_mut()
                        .for_each(|s| *s /= present.len().max(1) as f64);
                    ProfileShape::Numeric { edges, shares }
                }
            };
            ColumnProfile {
                column: encoder.name.clone(),
                missing_share,
                shape,
            }
        })
        .collect()
}
