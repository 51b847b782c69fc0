//! L2-regularised logistic regression (solved by linfa-logistic's L-BFGS).
//!
//! The fitted weights are copied out of linfa into [`FittedLogistic`], so the artifact stores
//! plain numbers. Class weights are not offered: reweighting a logistic model mostly moves its
//! intercept (King and Zeng's prior correction), and the calibration step refits that anyway.

use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use crate::data::TrainingData;
use crate::error::ModelError;
use crate::linear::LinearEncoder;

const MODEL: &str = "logistic regression";

/// Settings of the logistic model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogisticParams {
    alpha: f64,
    max_iterations: u64,
    gradient_tolerance: f64,
}

impl Default for LogisticParams {
    /// L2 strength `alpha` = 1 (on the summed log loss, as in linfa), 300 iterations, and a
    /// tolerance of 1e-4 on the mean gradient (linfa's objective sums over rows, so its tolerance
    /// is this times the row count).
    fn default() -> Self {
        Self {
            alpha: 1.0,
            max_iterations: 300,
            gradient_tolerance: 1e-4,
        }
    }
}

impl LogisticParams {
    /// Default settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// L2 penalty `alpha/2 · ‖w‖²` added to the summed log loss.
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }

    /// Most solver iterations.
    pub fn max_iterations(mut self, iterations: u64) -> Self {
        self.max_iterations = iterations;
        self
    }

    /// The L2 strength.
    pub fn alpha_value(&self) -> f64 {
        self.alpha
    }

    /// Validates the settings.
    pub fn check(self) -> Result<ValidLogisticParams, ModelError> {
        if !(self.alpha.is_finite() && self.alpha >= 0.0) {
            return Err(ModelError::InvalidParam {
                model: MODEL,
                name: "alpha",
                value: self.alpha.to_string(),
                reason: "a finite number >= 0",
            });
        }
        if self.max_iterations == 0 {
            return Err(ModelError::InvalidParam {
                model: MODEL,
                name: "max_iterations",
                value: "0".to_owned(),
                reason: "at least 1",
            });
        }
        Ok(ValidLogisticParams(self))
    }
}

/// Checked logistic settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValidLogisticParams(LogisticParams);

impl ValidLogisticParams {
    /// Fits the model.
    pub fn fit(&self, data: &TrainingData<'_>) -> Result<FittedLogistic, ModelError> {
        data.require_both_classes(MODEL)?;
        let encoder = LinearEncoder::fit(data.x, data.features);
        let design = encoder.encode(data.x);
        let (coefficients, intercept) = fit_logistic_design(
            design.clone(),
            data.y,
            self.0.alpha,
            self.0.max_iterations,
            self.0.gradient_tolerance,
        )?;
        let n = design.nrows().max(1) as f64;
        let design_means = design.columns().into_iter().map(|c| c.sum() / n).collect();
        Ok(FittedLogistic {
            encoder,
            coefficients,
            intercept,
            design_means,
            alpha: self.0.alpha,
        })
    }
}

/// Fits L2-regularised logistic regression on a ready design matrix and returns the weights
/// (won = positive class) and the intercept.
///
/// `gradient_tolerance` is per row; see [`LogisticParams`] for the meaning of `alpha`.
pub fn fit_logistic_design(
    design: Array2<f64>,
    y: &[bool],
    alpha: f64,
    max_iterations: u64,
    gradient_tolerance: f64,
) -> Result<(Vec<f64>, f64), ModelError> {
    let rows = design.nrows() as f64;
    let dataset = Dataset::new(design, Array1::from(y.to_vec()));
    let fitted = LogisticRegression::default()
        .alpha(alpha)
        .max_iterations(max_iterations)
        .gradient_tolerance(gradient_tolerance * rows)
        .fit(&dataset)
        .map_err(|e| ModelError::Solver {
            model: MODEL,
            message: e.to_string(),
        })?;
    // linfa calls the more frequent label "positive": flip when that is `false` (lost).
    let sign = if fitted.labels().pos.class { 1.0 } else { -1.0 };
    let coefficients = fitted.params().iter().map(|w| sign * w).collect();
    Ok((coefficients, sign * fitted.intercept()))
}

/// A fitted logistic model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedLogistic {
    /// Design-matrix encoder.
    pub encoder: LinearEncoder,
    /// One weight per design column.
    pub coefficients: Vec<f64>,
    /// Intercept.
    pub intercept: f64,
    /// Training mean of each design column: the reference point of contributions.
    pub design_means: Vec<f64>,
    /// L2 strength it was fitted with.
    pub alpha: f64,
}

impl FittedLogistic {
    /// Log-odds of one feature row.
    pub fn predict_logit(&self, row: &[f64]) -> f64 {
        let mut design = vec![0.0; self.encoder.width()];
        self.encoder.encode_row(row, &mut design);
        self.intercept + dot(&self.coefficients, &design)
    }

    /// Exact contributions per input feature relative to the average training lead, and that
    /// lead's log-odds: `bias + Σ contributions = predict_logit(row)`.
    pub fn contributions(&self, row: &[f64], phi: &mut [f64]) -> f64 {
        let mut design = vec![0.0; self.encoder.width()];
        self.encoder.encode_row(row, &mut design);
        for ((feature, &w), (&z, &mean)) in self
            .encoder
            .column_features()
            .into_iter()
            .zip(&self.coefficients)
            .zip(design.iter().zip(&self.design_means))
        {
            phi[feature] += w * (z - mean);
        }
        self.intercept + dot(&self.coefficients, &self.design_means)
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
