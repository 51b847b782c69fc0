//! A won deal's value: ridge regression on `ln(value)` over the linear design (one-hot
//! categories, standardised numbers), back-transformed with Duan's smearing factor so that the
//! prediction is the mean amount, not the median. Deal sizes are positive and heavy-tailed; on the
//! log scale they are close to normal and company size, industry and seniority act as factors,
//! which a log-linear model captures with few parameters from the few won deals a team has.
//!
//! [`ValidValueParams::fit`] cross-validates it against the simplest baseline, the mean of all
//! won deals, and keeps the baseline when the regression does not predict better.

use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use leadscore_features::FeatureInfo;

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
    /// Out-of-fold RMSE of `ln(value)`, regression.
    pub rmse_log: f64,
    /// Out-of-fold RMSE of `ln(value)`, predicting the mean.
    pub baseline_rmse_log: f64,
    /// Out-of-fold median absolute error in money, regression.
    pub median_absolute_error: f64,
    /// The same predicting the mean of all deals.
    pub baseline_median_absolute_error: f64,
    /// `regression` or `mean` (the baseline predicted better).
    pub chosen: String,
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
    /// Cross-validation against the mean.
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
    /// (each above 0), choosing regression or the mean by 5-fold cross-validation.
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
        let n = logs.len();
        let (mut errors, mut baseline_errors) = (vec![0.0; n], vec![0.0; n]);
        let (mut money, mut baseline_money) = (vec![0.0; n], vec![0.0; n]);
        for fold in 0..FOLDS {
            let train: Vec<usize> = (0..n).filter(|i| i % FOLDS != fold).collect();
            let held: Vec<usize> = (0..n).filter(|i| i % FOLDS == fold).collect();
            let train_design = design.select(ndarray::Axis(0), &train);
            let train_logs: Vec<f64> = train.iter().map(|&i| logs[i]).collect();
            let (weights, intercept) = ridge(&train_design, &train_logs, self.0.alpha)?;
            let fitted: Vec<f64> = train
                .iter()
                .map(|&i| intercept + dot(&weights, design.row(i)))
                .collect();
            let smearing = smearing(&train_logs, &fitted);
            let mean_log = train_logs.iter().sum::<f64>() / train_logs.len() as f64;
            let mean_money = train.iter().map(|&i| values[i]).sum::<f64>() / train.len() as f64;
            for &i in &held {
                let predicted = intercept + dot(&weights, design.row(i));
                errors[i] = logs[i] - predicted;
                baseline_errors[i] = logs[i] - mean_log;
                money[i] = (values[i] - predicted.exp() * smearing).abs();
                baseline_money[i] = (values[i] - mean_money).abs();
            }
        }
        let validation = ValueValidation {
            deals: n,
            rmse_log: rmse(&errors),
            baseline_rmse_log: rmse(&baseline_errors),
            median_absolute_error: median(money),
            baseline_median_absolute_error: median(baseline_money),
            chosen: String::new(),
        };
        let regression = validation.rmse_log < validation.baseline_rmse_log;
        let (coefficients, intercept) = if regression {
            ridge(&design, &logs, self.0.alpha)?
        } else {
            (
                vec![0.0; design.ncols()],
                logs.iter().sum::<f64>() / n as f64,
            )
        };
        let fitted: Vec<f64> = (0..n)
            .map(|i| intercept + dot(&coefficients, design.row(i)))
            .collect();
        Ok(FittedValue {
            encoder,
            coefficients,
            intercept,
            smearing: smearing(&logs, &fitted),
            validation: ValueValidation {
                chosen: if regression { "regression" } else { "mean" }.to_owned(),
                ..validation
            },
        })
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
