//! L2-regularised logistic regression, solved by a parallel truncated Newton method.
//!
//! The fitted weights are plain numbers in [`FittedLogistic`], as the artifact stores them. Class weights are not offered: reweighting a logistic model mostly moves its
//! intercept (King and Zeng's prior correction), and the calibration step refits that anyway.

use std::ops::Range;

use ndarray::Array2;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::TrainingData;
use crate::error::ModelError;
use crate::linalg::{cholesky, cholesky_solve};
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
    /// L2 strength `alpha` = 1 (on the summed log loss), at most 300 Newton iterations, and a
    /// tolerance of 1e-4 on the mean gradient (the objective sums over rows, so the tolerance on
    /// its gradient's norm is this times the row count).
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
            &design,
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
    design: &Array2<f64>,
    y: &[bool],
    alpha: f64,
    max_iterations: u64,
    gradient_tolerance: f64,
) -> Result<(Vec<f64>, f64), ModelError> {
    if let Some(index) = design.iter().position(|v| !v.is_finite()) {
        let columns = design.ncols().max(1);
        return Err(ModelError::Solver {
            model: MODEL,
            message: format!(
                "design value {} at row {}, column {} is not finite",
                design.iter().nth(index).copied().unwrap_or(f64::NAN),
                index / columns,
                index % columns
            ),
        });
    }
    let problem = LogisticProblem {
        design: SparseRows::from_dense(design),
        won: y,
        alpha,
    };
    let weights = problem.minimise(
        design.ncols(),
        max_iterations,
        gradient_tolerance * design.nrows() as f64,
    )?;
    let (coefficients, intercept) = weights.split_at(design.ncols());
    Ok((coefficients.to_vec(), intercept[0]))
}

/// Rows per parallel work item: large enough to amortise scheduling, small enough to split a
/// 100k-row fold across cores.
const ROWS_PER_TASK: usize = 4096;

/// The design matrix without its zeros, row by row. One-hot columns make most cells zero, and
/// each solver pass reads the whole matrix, so skipping them cuts memory traffic several-fold.
struct SparseRows {
    starts: Vec<usize>,
    columns: Vec<u32>,
    values: Vec<f64>,
}

impl SparseRows {
    fn from_dense(design: &Array2<f64>) -> Self {
        let mut rows = Self {
            starts: Vec::with_capacity(design.nrows() + 1),
            columns: Vec::new(),
            values: Vec::new(),
        };
        rows.starts.push(0);
        for row in design.rows() {
            for (column, &value) in row.iter().enumerate() {
                if value != 0.0 {
                    // The design is at most a few thousand columns wide.
                    rows.columns.push(column as u32);
                    rows.values.push(value);
                }
            }
            rows.starts.push(rows.values.len());
        }
        rows
    }

    fn len(&self) -> usize {
        self.starts.len() - 1
    }

    fn row(&self, index: usize) -> (&[u32], &[f64]) {
        let range = self.starts[index]..self.starts[index + 1];
        (&self.columns[range.clone()], &self.values[range])
    }
}

/// The penalised log loss `Σ ln(1 + e^(−y·z)) + α/2 · ‖w‖²` with `z = x·w + b` (the intercept
/// `b`, stored last, is not penalised), minimised by a line-search truncated Newton method
/// with the exact Hessian (as scikit-learn's `newton-cholesky`).
///
/// Newton steps make the one-hot columns' near-collinearity harmless: their curvature is known
/// exactly, where a quasi-Newton method (linfa's L-BFGS, used before) crawls along those flat
/// directions for hundreds of iterations. The Hessian is cheap because a row's non-zero cells
/// are few (one per categorical column), and every pass over the rows is split across cores.
struct LogisticProblem<'a> {
    design: SparseRows,
    won: &'a [bool],
    alpha: f64,
}

/// The loss, its gradient, and each row's curvature `p(1 − p)` at one point.
struct Evaluation {
    loss: f64,
    gradient: Vec<f64>,
    curvature: Vec<f64>,
}

impl LogisticProblem<'_> {
    /// Row ranges of [`ROWS_PER_TASK`], one per parallel task, in order.
    fn tasks(&self) -> impl IndexedParallelIterator<Item = Range<usize>> {
        self.tasks_of(ROWS_PER_TASK)
    }

    fn tasks_of(&self, size: usize) -> impl IndexedParallelIterator<Item = Range<usize>> {
        let rows = self.design.len();
        (0..rows.div_ceil(size))
            .into_par_iter()
            .map(move |task| task * size..((task + 1) * size).min(rows))
    }

    fn margin(&self, row: usize, weights: &[f64]) -> f64 {
        let (columns, values) = self.design.row(row);
        let intercept = weights[weights.len() - 1];
        intercept
            + columns
                .iter()
                .zip(values)
                .map(|(&c, x)| x * weights[c as usize])
                .sum::<f64>()
    }

    /// Adds `scale · row` to `into` (intercept included).
    fn add_row(&self, row: usize, scale: f64, into: &mut [f64]) {
        let (columns, values) = self.design.row(row);
        for (&c, x) in columns.iter().zip(values) {
            into[c as usize] += scale * x;
        }
        let last = into.len() - 1;
        into[last] += scale;
    }

    fn penalty(&self, weights: &[f64]) -> f64 {
        let w = &weights[..weights.len() - 1];
        0.5 * self.alpha * w.iter().map(|w| w * w).sum::<f64>()
    }

    /// Loss only: the line search's probe.
    fn loss(&self, weights: &[f64]) -> f64 {
        let data: f64 = self
            .tasks()
            .map(|rows| {
                rows.map(|row| {
                    let z = self.margin(row, weights);
                    log_one_plus_exp(if self.won[row] { -z } else { z })
                })
                .sum::<f64>()
            })
            .sum();
        data + self.penalty(weights)
    }

    fn evaluate(&self, weights: &[f64]) -> Evaluation {
        let width = weights.len();
        let parts: Vec<(f64, Vec<f64>, Vec<f64>)> = self
            .tasks()
            .map(|rows| {
                let mut loss = 0.0;
                let mut gradient = vec![0.0; width];
                let mut curvature = Vec::with_capacity(rows.len());
                for row in rows {
                    let z = self.margin(row, weights);
                    let won = self.won[row];
                    loss += log_one_plus_exp(if won { -z } else { z });
                    let p = sigmoid(z);
                    self.add_row(row, p - f64::from(u8::from(won)), &mut gradient);
                    curvature.push(p * (1.0 - p));
                }
                (loss, gradient, curvature)
            })
            .collect();
        let mut evaluation = Evaluation {
            loss: self.penalty(weights),
            gradient: vec![0.0; width],
            curvature: Vec::with_capacity(self.design.len()),
        };
        for (loss, gradient, curvature) in parts {
            evaluation.loss += loss;
            add_into(&mut evaluation.gradient, &gradient);
            evaluation.curvature.extend(curvature);
        }
        for (g, w) in evaluation.gradient.iter_mut().zip(weights).take(width - 1) {
            *g += self.alpha * w;
        }
        evaluation
    }

    /// The Hessian `Xᵀ·diag(p(1 − p))·X + α·I` (intercept unpenalised), dense and row-major.
    /// Each row adds only the products of its non-zero cells; one partial matrix per thread,
    /// as a wide design's matrix is megabytes.
    fn hessian(&self, curvature: &[f64], width: usize) -> Vec<f64> {
        let per_thread = self
            .design
            .len()
            .div_ceil(rayon::current_num_threads())
            .max(1);
        let mut hessian = self
            .tasks_of(per_thread)
            .fold(
                || vec![0.0; width * width],
                |mut hessian, rows| {
                    let mut cells = Vec::new();
                    for row in rows {
                        let (columns, values) = self.design.row(row);
                        cells.clear();
                        cells.extend(
                            columns
                                .iter()
                                .map(|&c| c as usize)
                                .zip(values.iter().copied()),
                        );
                        cells.push((width - 1, 1.0));
                        let d = curvature[row];
                        // Columns ascend, so (a, b) with a ≤ b fills the upper triangle.
                        for (i, &(a, xa)) in cells.iter().enumerate() {
                            let scaled = d * xa;
                            let upper = &mut hessian[a * width..(a + 1) * width];
                            for &(b, xb) in &cells[i..] {
                                upper[b] += scaled * xb;
                            }
                        }
                    }
                    hessian
                },
            )
            .reduce(|| vec![0.0; width * width], add);
        for a in 0..width {
            if a + 1 < width {
                hessian[a * width + a] += self.alpha;
            }
            for b in 0..a {
                hessian[a * width + b] = hessian[b * width + a];
            }
        }
        hessian
    }

    /// Solves `H·step = −gradient` exactly. An unpenalised problem with collinear columns has a
    /// singular Hessian: a small ridge, grown until the factorisation succeeds, picks the
    /// shortest of the equally good steps.
    fn newton_step(&self, evaluation: &Evaluation) -> Vec<f64> {
        let width = evaluation.gradient.len();
        let hessian = self.hessian(&evaluation.curvature, width);
        let scale = (0..width).map(|j| hessian[j * width + j]).sum::<f64>() / width as f64;
        let mut ridge = 0.0;
        loop {
            let mut factor = hessian.clone();
            for j in 0..width {
                factor[j * width + j] += ridge;
            }
            if cholesky(&mut factor, width) {
                let negative: Vec<f64> = evaluation.gradient.iter().map(|g| -g).collect();
                return cholesky_solve(&factor, width, negative);
            }
            ridge = if ridge == 0.0 {
                1e-10 * scale.max(1.0)
            } else {
                ridge * 100.0
            };
        }
    }

    fn minimise(
        &self,
        width: usize,
        max_iterations: u64,
        gradient_tolerance: f64,
    ) -> Result<Vec<f64>, ModelError> {
        let mut weights = vec![0.0; width + 1];
        let mut evaluation = self.evaluate(&weights);
        for _ in 0..max_iterations {
            if norm(&evaluation.gradient) <= gradient_tolerance {
                break;
            }
            let step = self.newton_step(&evaluation);
            let slope = dot(&step, &evaluation.gradient);
            // Armijo backtracking; a Newton step of length 1 is accepted near the optimum.
            let mut length = 1.0;
            let accepted = loop {
                let trial: Vec<f64> = weights
                    .iter()
                    .zip(&step)
                    .map(|(w, s)| w + length * s)
                    .collect();
                if self.loss(&trial) <= evaluation.loss + 1e-4 * length * slope {
                    break Some(trial);
                }
                length *= 0.5;
                if length < 1e-10 {
                    break None;
                }
            };
            let Some(trial) = accepted else {
                // No decrease is possible at floating-point precision: this is the optimum.
                break;
            };
            weights = trial;
            evaluation = self.evaluate(&weights);
        }
        if !evaluation.loss.is_finite() || weights.iter().any(|w| !w.is_finite()) {
            return Err(ModelError::Solver {
                model: MODEL,
                message: "the optimisation diverged (non-finite loss)".to_owned(),
            });
        }
        Ok(weights)
    }
}

/// `ln(1 + eˣ)` without overflow.
fn log_one_plus_exp(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

fn add(mut a: Vec<f64>, b: Vec<f64>) -> Vec<f64> {
    add_into(&mut a, &b);
    a
}

fn add_into(a: &mut [f64], b: &[f64]) {
    for (a, b) in a.iter_mut().zip(b) {
        *a += b;
    }
}

fn norm(v: &[f64]) -> f64 {
    dot(v, v).sqrt()
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
        self.intercept + self.encoder.dot_row(row, &self.coefficients)
    }

    /// Exact contributions per input feature relative to the average training lead, and that
    /// lead's log-odds: `bias + Σ contributions = predict_logit(row)`.
    pub fn contributions(&self, row: &[f64], phi: &mut [f64]) -> f64 {
        let mut design = vec![0.0; self.encoder.width()];
        self.encoder.encode_row(row, &mut design);
        for (feature, columns) in self.encoder.column_ranges().enumerate() {
            for k in columns {
                phi[feature] += self.coefficients[k] * (design[k] - self.design_means[k]);
            }
        }
        self.intercept + dot(&self.coefficients, &self.design_means)
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
