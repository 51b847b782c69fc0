//! A won deal's value: ridge regression on `ln(value)` over the linear design (one-hot
//! categories, standardised numbers), back-transformed with Duan's smearing factor so that the
//! prediction is the mean amount, not the median. Deal sizes are positive and heavy-tailed; on the
//! log scale they are close to normal and company size, industry and seniority act as factors,
//! which a log-linear model captures with few parameters from the few won deals a team has.
//!
//! [`ValidValueParams::fit`] cross-validates it against two baselines, the mean of all won deals
//! and the mean per level of each categorical column (segment means), and keeps whichever
//! predicts `ln(value)` best out of fold.

use ndarray::{Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use leadscore_features::{FeatureInfo, FeatureKind};

use crate::error::ModelError;
use crate::linalg::{cholesky, cholesky_solve};
use crate::linear::LinearEncoder;

const MODEL: &str = "deal value model";
/// Folds of the cross-validation against the baseline.
const FOLDS: usize = 5;
/// Fewest won deals with an amount to learn from.
pub const MIN_DEALS: usize = 20;

/// Settings of the value model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValueParams {
    alpha: f64,
}

impl Default for ValueParams {
    /// L2 strength `alpha` = 1 on the summed squared error of `ln(value)`.
    fn default() -> Self {
        Self { alpha: 1.0 }
    }
}

impl ValueParams {
    /// Default settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// L2 strength.
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }

    /// Validates the settings.
    pub fn check(self) -> Result<ValidValueParams, ModelError> {
        if !(self.alpha.is_finite() && self.alpha > 0.0) {
            return Err(ModelError::InvalidParam {
                model: MODEL,
                name: "alpha",
                value: self.alpha.to_string(),
                reason: "a finite number > 0",
            });
        }
        Ok(ValidValueParams(self))
    }
}

/// Checked value-model settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValidValueParams(ValueParams);

/// How the value model did in cross-validation, on the log scale and in money.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueValidation {
    /// Won deals learned from.
    pub deals: usize,
    /// Every candidate: the regression, the overall mean, and the mean per level of each
    /// categorical column (segment means), best first.
    pub candidates: Vec<ValueCandidate>,
    /// The candidate kept: the one with the lowest out-of-fold RMSE of `ln(value)`.
    pub chosen: String,
}

/// One value-model candidate's cross-validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueCandidate {
    /// `regression`, `mean`, or `mean per COLUMN`.
    pub name: String,
    /// Out-of-fold RMSE of `ln(value)`.
    pub rmse_log: f64,
    /// Out-of-fold median absolute error in money.
    pub median_absolute_error: f64,
}

/// A fitted value model: `E[value | won, x] = exp(intercept + w·design(x)) · smearing`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedValue {
    /// Design-matrix encoder (shared with the logistic model's layout).
    pub encoder: LinearEncoder,
    /// One weight per design column (all 0 when the mean was kept).
    pub coefficients: Vec<f64>,
    /// Intercept on the log scale.
    pub intercept: f64,
    /// Duan's smearing factor: the mean of `exp(residual)` on the deals learned from.
    pub smearing: f64,
    /// Cross-validation against the baselines.
    pub validation: ValueValidation,
}

impl FittedValue {
    /// Expected deal value of a lead (one feature row) if it wins.
    pub fn predict(&self, row: &[f64]) -> f64 {
        let mut design = vec![0.0; self.encoder.width()];
        self.encoder.encode_row(row, &mut design);
        let log = self.intercept
            + self
                .coefficients
                .iter()
                .zip(&design)
                .map(|(w, x)| w * x)
                .sum::<f64>();
        log.exp() * self.smearing
    }

    /// Checks a loaded model: lengths and finite numbers.
    pub fn validate(&self, n_features: usize) -> Result<(), String> {
        if self.encoder.features.len() != n_features {
            return Err(format!(
                "the value model encodes {} features, the pipeline has {n_features}",
                self.encoder.features.len()
            ));
        }
        if self.coefficients.len() != self.encoder.width() {
            return Err("the value model's weights do not match its design".to_owned());
        }
        let finite = self.coefficients.iter().all(|w| w.is_finite())
            && self.intercept.is_finite()
            && self.smearing.is_finite()
            && self.smearing > 0.0;
        if !finite {
            return Err("the value model has a non-finite weight".to_owned());
        }
        Ok(())
    }
}

/// Ridge weights (intercept last, unpenalised) of `y` on `design`.
fn ridge(design: &Array2<f64>, y: &[f64], alpha: f64) -> Result<(Vec<f64>, f64), ModelError> {
    let width = design.ncols() + 1;
    let mut gram = vec![0.0; width * width];
    let mut right = vec![0.0; width];
    let mut cells = Vec::with_capacity(width);
    for (row, &target) in design.rows().into_iter().zip(y) {
        cells.clear();
        cells.extend(row.iter().copied());
        cells.push(1.0);
        for (a, &xa) in cells.iter().enumerate() {
            if xa == 0.0 {
                continue;
            }
            right[a] += xa * target;
            for (b, &xb) in cells.iter().enumerate().skip(a) {
                gram[a * width + b] += xa * xb;
            }
        }
    }
    for a in 0..width {
        if a + 1 < width {
            gram[a * width + a] += alpha;
        }
        for b in 0..a {
            gram[a * width + b] = gram[b * width + a];
        }
    }
    if !cholesky(&mut gram, width) {
        return Err(ModelError::Solver {
            model: MODEL,
            message: "the deal value design is singular".to_owned(),
        });
    }
    let mut weights = cholesky_solve(&gram, width, right);
    let intercept = weights.pop().unwrap_or(0.0);
    Ok((weights, intercept))
}

fn rmse(errors: &[f64]) -> f64 {
    (errors.iter().map(|e| e * e).sum::<f64>() / errors.len().max(1) as f64).sqrt()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

impl ValidValueParams {
    /// Fits the value model on the feature rows `x` of won deals and their amounts `values`
    /// (each above 0), keeping the regression, the mean or a segment mean by 5-fold
    /// cross-validation.
    pub fn fit(
        &self,
        x: ArrayView2<'_, f64>,
        values: &[f64],
        features: &[FeatureInfo],
    ) -> Result<FittedValue, ModelError> {
        if values.len() < MIN_DEALS {
            return Err(ModelError::BadTrainingData {
                model: MODEL,
                reason: format!(
                    "{} won deals have an amount; at least {MIN_DEALS} are needed",
                    values.len()
                ),
            });
        }
        let encoder = LinearEncoder::fit(x, features);
        let design = encoder.encode(x);
        let logs: Vec<f64> = values.iter().map(|v| v.ln()).collect();
        // Candidates as subsets of the design's columns: all (regression), none (the mean), and
        // each categorical column's one-hot block (its segment means).
        let owners = encoder.column_features();
        let mut candidates: Vec<(String, Vec<usize>)> = vec![
            ("regression".to_owned(), (0..design.ncols()).collect()),
            ("mean".to_owned(), Vec::new()),
        ];
        for (j, feature) in features.iter().enumerate() {
            if matches!(feature.kind, FeatureKind::Categorical { .. }) {
                let block: Vec<usize> = (0..owners.len()).filter(|&c| owners[c] == j).collect();
                if !block.is_empty() {
                    candidates.push((format!("mean per {}", feature.name), block));
                }
            }
        }
        let mut scored = Vec::with_capacity(candidates.len());
        for (name, columns) in &candidates {
            let subset = design.select(Axis(1), columns);
            let (log_errors, money_errors) = self.cross_validate(&subset, &logs, values)?;
            scored.push(ValueCandidate {
                name: name.clone(),
                rmse_log: rmse(&log_errors),
                median_absolute_error: median(money_errors),
            });
        }
        let best = (0..scored.len())
            .min_by(|&a, &b| scored[a].rmse_log.total_cmp(&scored[b].rmse_log))
            .unwrap_or(0);
        let columns = &candidates[best].1;
        let (weights, intercept) = ridge(&design.select(Axis(1), columns), &logs, self.0.alpha)?;
        let mut coefficients = vec![0.0; design.ncols()];
        for (&c, w) in columns.iter().zip(weights) {
            coefficients[c] = w;
        }
        let n = logs.len();
        let fitted: Vec<f64> = (0..n)
            .map(|i| intercept + dot(&coefficients, design.row(i)))
            .collect();
        let chosen = scored[best].name.clone();
        scored.sort_by(|a, b| a.rmse_log.total_cmp(&b.rmse_log));
        Ok(FittedValue {
            encoder,
            coefficients,
            intercept,
            smearing: smearing(&logs, &fitted),
            validation: ValueValidation {
                deals: n,
                candidates: scored,
                chosen,
            },
        })
    }

    /// Out-of-fold errors of ridge on `design` (possibly no columns: the mean): on the log
    /// scale, and in money after smearing.
    fn cross_validate(
        &self,
        design: &Array2<f64>,
        logs: &[f64],
        values: &[f64],
    ) -> Result<(Vec<f64>, Vec<f64>), ModelError> {
        let n = logs.len();
        let (mut log_errors, mut money_errors) = (vec![0.0; n], vec![0.0; n]);
        for fold in 0..FOLDS {
            let train: Vec<usize> = (0..n).filter(|i| i % FOLDS != fold).collect();
            let train_design = design.select(Axis(0), &train);
            let train_logs: Vec<f64> = train.iter().map(|&i| logs[i]).collect();
            let (weights, intercept) = ridge(&train_design, &train_logs, self.0.alpha)?;
            let fitted: Vec<f64> = train
                .iter()
                .map(|&i| intercept + dot(&weights, design.row(i)))
                .collect();
            let smearing = smearing(&train_logs, &fitted);
            for i in (0..n).filter(|i| i % FOLDS == fold) {
                let predicted = intercept + dot(&weights, design.row(i));
                log_errors[i] = logs[i] - predicted;
                money_errors[i] = (values[i] - predicted.exp() * smearing).abs();
            }
        }
        Ok((log_errors, money_errors))
    }
}

/// Duan's smearing factor: the mean of `exp(actual − fitted)` on the log scale.
fn smearing(logs: &[f64], fitted: &[f64]) -> f64 {
    logs.iter()
        .zip(fitted)
        .map(|(y, f)| (y - f).exp())
        .sum::<f64>()
        / logs.len().max(1) as f64
}

fn dot(weights: &[f64], row: ndarray::ArrayView1<'_, f64>) -> f64 {
    weights.iter().zip(row).map(|(w, x)| w * x).sum()
}
