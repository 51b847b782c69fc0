//! Platt scaling: `p = σ(slope · logit + intercept)`, fitted on held-out predictions.
//!
//! Platt is affine in log-odds, so per-feature contributions scaled by the slope still add up
//! exactly to the calibrated log-odds: the reasons explain the probability the user sees.

use serde::{Deserialize, Serialize};

/// A fitted Platt calibration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PlattCalibration {
    /// Multiplier of the model's log-odds.
    pub slope: f64,
    /// Added after scaling.
    pub intercept: f64,
}

impl Default for PlattCalibration {
    /// The identity.
    fn default() -> Self {
        Self {
            slope: 1.0,
            intercept: 0.0,
        }
    }
}

impl PlattCalibration {
    /// Fits slope and intercept by maximum likelihood (Newton's method) on held-out log-odds,
    /// with Platt's smoothed targets so that a perfectly separated fold cannot send the slope to
    /// infinity. Falls back to the identity when both classes are not present.
    pub fn fit(logits: &[f64], labels: &[bool]) -> Self {
        let positives = labels.iter().filter(|&&l| l).count() as f64;
        let negatives = labels.len() as f64 - positives;
        if positives == 0.0 || negatives == 0.0 {
            return Self::default();
        }
        let high = (positives + 1.0) / (positives + 2.0);
        let low = 1.0 / (negatives + 2.0);
        let targets: Vec<f64> = labels.iter().map(|&l| if l { high } else { low }).collect();
        let loss = |a: f64, b: f64| -> f64 {
            logits
                .iter()
                .zip(&targets)
                .map(|(&f, &t)| {
                    let z = a * f + b;
                    // −[t·log σ(z) + (1 − t)·log(1 − σ(z))], written to stay finite for large |z|.
                    softplus(z) - t * z
                })
                .sum()
        };
        let (mut a, mut b) = (1.0, 0.0);
        let mut current = loss(a, b);
        for _ in 0..100 {
            let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 1e-12, 0.0, 1e-12);
            for (&f, &t) in logits.iter().zip(&targets) {
                let p = sigmoid(a * f + b);
                let residual = p - t;
                let weight = (p * (1.0 - p)).max(1e-12);
                ga += residual * f;
                gb += residual;
                haa += weight * f * f;
                hab += weight * f;
                hbb += weight;
            }
            let determinant = haa * hbb - hab * hab;
            if determinant.abs() < 1e-300 {
                break;
            }
            let step_a = (hbb * ga - hab * gb) / determinant;
            let step_b = (haa * gb - hab * ga) / determinant;
            // Newton with step halving: the loss never increases.
            let mut scale = 1.0;
            let mut improved = false;
            for _ in 0..30 {
                let (next_a, next_b) = (a - scale * step_a, b - scale * step_b);
                let next = loss(next_a, next_b);
                if next <= current {
                    (a, b, current, improved) = (next_a, next_b, next, true);
                    break;
                }
                scale /= 2.0;
            }
            if !improved || (scale * step_a).abs() < 1e-10 && (scale * step_b).abs() < 1e-10 {
                break;
            }
        }
        if a.is_finite() && b.is_finite() {
            Self {
                slope: a,
                intercept: b,
            }
        } else {
            Self::default()
        }
    }

    /// Calibrated log-odds.
    pub fn logit(&self, raw_logit: f64) -> f64 {
        self.slope * raw_logit + self.intercept
    }

    /// Calibrated probability.
    pub fn probability(&self, raw_logit: f64) -> f64 {
        sigmoid(self.logit(raw_logit))
    }
}

fn softplus(z: f64) -> f64 {
    if z > 30.0 { z } else { z.exp().ln_1p() }
}

/// The logistic function.
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_known_miscalibration() {
        // True probability σ(0.5·f − 1); the model reports f.
        let logits: Vec<f64> = (0..20_000)
            .map(|i| -6.0 + 12.0 * (i as f64 / 20_000.0))
            .collect();
        let labels: Vec<bool> = logits
            .iter()
            .enumerate()
            .map(|(i, &f)| {
                let u = ((i as u64).wrapping_mul(2_654_435_761) % 10_000) as f64 / 10_000.0;
                u < sigmoid(0.5 * f - 1.0)
            })
            .collect();
        let fitted = PlattCalibration::fit(&logits, &labels);
        assert!((fitted.slope - 0.5).abs() < 0.05, "{fitted:?}");
        assert!((fitted.intercept + 1.0).abs() < 0.1, "{fitted:?}");
    }

    #[test]
    fn one_class_gives_the_identity() {
        assert_eq!(
            PlattCalibration::fit(&[0.1, 0.2], &[true, true]),
            PlattCalibration::default()
        );
    }
}
