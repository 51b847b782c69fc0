//! Calibration: the map from a model's raw log-odds to calibrated log-odds, fitted on held-out
//! predictions. Two methods, chosen by cross-validated log loss ([`Calibration::choose`]):
//! - Platt scaling, `σ(slope · logit + intercept)`: two parameters, right when the model ranks
//!   well and is only over- or under-confident;
//! - isotonic regression in log-odds: a monotone piecewise-linear map through the rates of the
//!   pool-adjacent-violators blocks, right when the model's miscalibration has a shape.
//!
//! Both are monotone, so ranking is unchanged, and contributions stay exact: scaled by the
//! calibration's secant slope between the reference lead and this lead ([`Calibration::scale`]),
//! they add up to the calibrated log-odds the user sees.

use serde::{Deserialize, Deserializer, Serialize};

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

/// A fitted calibration of either method.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Calibration {
    /// Platt scaling.
    Platt {
        /// Multiplier of the model's log-odds.
        slope: f64,
        /// Added after scaling.
        intercept: f64,
    },
    /// Isotonic regression in log-odds, interpolated linearly between knots and extended beyond
    /// them with `tail_slope`.
    Isotonic {
        /// Raw log-odds of the knots, strictly increasing.
        raw: Vec<f64>,
        /// Calibrated log-odds of the knots, strictly increasing.
        calibrated: Vec<f64>,
        /// Slope beyond the outer knots (the Platt slope of the same data).
        tail_slope: f64,
    },
}

impl<'de> Deserialize<'de> for Calibration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// Model files written before the method field existed hold Platt's two numbers.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Stored {
            Tagged(Tagged),
            Legacy(PlattCalibration),
        }
        #[derive(Deserialize)]
        #[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
        enum Tagged {
            Platt {
                slope: f64,
                intercept: f64,
            },
            Isotonic {
                raw: Vec<f64>,
                calibrated: Vec<f64>,
                tail_slope: f64,
            },
        }
        Ok(match Stored::deserialize(deserializer)? {
            Stored::Tagged(Tagged::Platt { slope, intercept })
            | Stored::Legacy(PlattCalibration { slope, intercept }) => {
                Self::Platt { slope, intercept }
            }
            Stored::Tagged(Tagged::Isotonic {
                raw,
                calibrated,
                tail_slope,
            }) => Self::Isotonic {
                raw,
                calibrated,
                tail_slope,
            },
        })
    }
}

/// Fewest held-out predictions (and positives) before the isotonic method is tried: with fewer,
/// its steps fit noise.
const ISOTONIC_MIN_ROWS: usize = 1_000;
const ISOTONIC_MIN_POSITIVES: usize = 50;

impl From<PlattCalibration> for Calibration {
    fn from(platt: PlattCalibration) -> Self {
        Self::Platt {
            slope: platt.slope,
            intercept: platt.intercept,
        }
    }
}

impl Calibration {
    /// The method with the lower log loss on held-out predictions: each method is fitted on four
    /// fifths of them and measured on the fifth left out, five times; the winner is refitted on
    /// all. Platt wins ties and small samples.
    pub fn choose(logits: &[f64], labels: &[bool]) -> Self {
        let platt = Self::from(PlattCalibration::fit(logits, labels));
        let positives = labels.iter().filter(|&&l| l).count();
        if logits.len() < ISOTONIC_MIN_ROWS
            || positives < ISOTONIC_MIN_POSITIVES
            || logits.len() - positives < ISOTONIC_MIN_POSITIVES
        {
            return platt;
        }
        let (mut platt_loss, mut isotonic_loss) = (0.0, 0.0);
        for fold in 0..5 {
            let split = |keep: bool| -> (Vec<f64>, Vec<bool>) {
                logits
                    .iter()
                    .zip(labels)
                    .enumerate()
                    .filter(|(i, _)| (i % 5 == fold) != keep)
                    .map(|(_, (&l, &y))| (l, y))
                    .unzip()
            };
            let ((train_x, train_y), (test_x, test_y)) = (split(true), split(false));
            let loss = |calibration: &Self| {
                test_x
                    .iter()
                    .zip(&test_y)
                    .map(|(&x, &y)| {
                        let p = calibration.probability(x).clamp(1e-15, 1.0 - 1e-15);
                        -if y { p.ln() } else { (1.0 - p).ln() }
                    })
                    .sum::<f64>()
            };
            platt_loss += loss(&Self::from(PlattCalibration::fit(&train_x, &train_y)));
            isotonic_loss += loss(&Self::isotonic(&train_x, &train_y));
        }
        if isotonic_loss < platt_loss {
            Self::isotonic(logits, labels)
        } else {
            platt
        }
    }

    /// Isotonic regression of outcomes on log-odds (pool adjacent violators), as a strictly
    /// increasing piecewise-linear map in log-odds through each block's mean log-odds and
    /// (smoothed) won rate.
    pub fn isotonic(logits: &[f64], labels: &[bool]) -> Self {
        let tail_slope = PlattCalibration::fit(logits, labels).slope.max(1e-3);
        let mut order: Vec<usize> = (0..logits.len()).collect();
        order.sort_by(|&a, &b| logits[a].total_cmp(&logits[b]));
        // Blocks of (sum of logits, won, count), merged while their rates are not increasing.
        let mut blocks: Vec<(f64, f64, f64)> = Vec::new();
        for &i in &order {
            blocks.push((logits[i], f64::from(u8::from(labels[i])), 1.0));
            while blocks.len() > 1 {
                let (b, a) = (blocks[blocks.len() - 1], blocks[blocks.len() - 2]);
                if a.1 / a.2 < b.1 / b.2 {
                    break;
                }
                blocks.pop();
                let last = blocks.len() - 1;
                blocks[last] = (a.0 + b.0, a.1 + b.1, a.2 + b.2);
            }
        }
        let positives = labels.iter().filter(|&&l| l).count() as f64;
        let prior = positives / labels.len().max(1) as f64;
        let mut raw = Vec::with_capacity(blocks.len());
        let mut calibrated: Vec<f64> = Vec::with_capacity(blocks.len());
        for (sum, won, count) in blocks {
            // A block of all-lost leads must not map to −∞: shrink its rate towards the overall
            // rate with the weight of one lead.
            let rate = (won + prior) / (count + 1.0);
            let (x, y) = (sum / count, (rate / (1.0 - rate)).ln());
            if raw.last().is_some_and(|&last| x <= last)
                || calibrated.last().is_some_and(|&last| y <= last)
            {
                continue;
            }
            raw.push(x);
            calibrated.push(y);
        }
        if raw.len() < 2 {
            return Self::from(PlattCalibration::fit(logits, labels));
        }
        Self::Isotonic {
            raw,
            calibrated,
            tail_slope,
        }
    }

    /// The method in words.
    pub fn describe(&self) -> &'static str {
        match self {
            Self::Platt { .. } => "Platt scaling",
            Self::Isotonic { .. } => "isotonic regression in log-odds",
        }
    }

    /// Calibrated log-odds.
    pub fn logit(&self, raw_logit: f64) -> f64 {
        match self {
            Self::Platt { slope, intercept } => slope * raw_logit + intercept,
            Self::Isotonic {
                raw,
                calibrated,
                tail_slope,
            } => {
                let last = raw.len() - 1;
                if raw_logit <= raw[0] {
                    return calibrated[0] + tail_slope * (raw_logit - raw[0]);
                }
                if raw_logit >= raw[last] {
                    return calibrated[last] + tail_slope * (raw_logit - raw[last]);
                }
                let upper = raw.partition_point(|&x| x < raw_logit);
                let (x0, x1) = (raw[upper - 1], raw[upper]);
                let (y0, y1) = (calibrated[upper - 1], calibrated[upper]);
                y0 + (y1 - y0) * (raw_logit - x0) / (x1 - x0)
            }
        }
    }

    /// Calibrated probability.
    pub fn probability(&self, raw_logit: f64) -> f64 {
        sigmoid(self.logit(raw_logit))
    }

    /// The factor that turns raw contributions into calibrated ones for a lead whose raw log-odds
    /// go from `base` (the reference lead) to `logit`: the secant slope of the map, so that
    /// `logit(base) + scale · (logit − base) = logit(logit)` exactly. Platt's is its slope.
    pub fn scale(&self, base: f64, logit: f64) -> f64 {
        match self {
            Self::Platt { slope, .. } => *slope,
            Self::Isotonic { .. } if (logit - base).abs() > 1e-12 => {
                (self.logit(logit) - self.logit(base)) / (logit - base)
            }
            Self::Isotonic { .. } => {
                let h = 1e-6;
                (self.logit(base + h) - self.logit(base - h)) / (2.0 * h)
            }
        }
    }

    /// Checks a calibration read from a file: finite numbers, knots strictly increasing.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            Self::Platt { slope, intercept } if !(slope.is_finite() && intercept.is_finite()) => {
                Err("the calibration is not finite".to_owned())
            }
            Self::Platt { .. } => Ok(()),
            Self::Isotonic {
                raw,
                calibrated,
                tail_slope,
            } => {
                let increasing = |v: &[f64]| {
                    v.iter().all(|x| x.is_finite()) && v.windows(2).all(|w| w[0] < w[1])
                };
                if raw.len() < 2
                    || raw.len() != calibrated.len()
                    || !increasing(raw)
                    || !increasing(calibrated)
                    || !(tail_slope.is_finite() && *tail_slope > 0.0)
                {
                    return Err(
                        "the isotonic calibration needs two or more strictly increasing, finite knots and a positive tail slope"
                            .to_owned(),
                    );
                }
                Ok(())
            }
        }
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
    fn isotonic_fixes_a_shape_platt_cannot_and_stays_monotone() {
        // True probability σ(f³/8): Platt's straight line in log-odds cannot follow it.
        let logits: Vec<f64> = (0..20_000)
            .map(|i| -3.0 + 6.0 * (i as f64 / 20_000.0))
            .collect();
        let labels: Vec<bool> = logits
            .iter()
            .enumerate()
            .map(|(i, &f)| {
                let u = ((i as u64).wrapping_mul(2_654_435_761) % 10_000) as f64 / 10_000.0;
                u < sigmoid(f * f * f / 8.0)
            })
            .collect();
        let chosen = Calibration::choose(&logits, &labels);
        assert!(matches!(chosen, Calibration::Isotonic { .. }), "{chosen:?}");
        assert_eq!(chosen.validate(), Ok(()));
        let mut previous = f64::NEG_INFINITY;
        for &f in &logits {
            let value = chosen.logit(f);
            assert!(value > previous, "strictly increasing at {f}");
            previous = value;
        }
        for f in [-2.0, 0.5, 2.5] {
            let error = (chosen.probability(f) - sigmoid(f * f * f / 8.0)).abs();
            assert!(error < 0.05, "{f}: {error}");
        }
        for (base, logit) in [(-1.0, 2.0), (0.3, 0.3), (2.0, -5.0)] {
            let exact = chosen.logit(base) + chosen.scale(base, logit) * (logit - base);
            assert!((exact - chosen.logit(logit)).abs() < 1e-9);
        }
    }

    #[test]
    fn model_files_with_platt_numbers_only_still_load() {
        let legacy: Calibration =
            serde_json::from_str(r#"{"slope": 0.8, "intercept": -0.1}"#).expect("legacy");
        assert_eq!(
            legacy,
            Calibration::Platt {
                slope: 0.8,
                intercept: -0.1
            }
        );
        let tagged = serde_json::to_string(&legacy).expect("json");
        assert_eq!(
            serde_json::from_str::<Calibration>(&tagged).expect("back"),
            legacy
        );
    }

    #[test]
    fn one_class_gives_the_identity() {
        assert_eq!(
            PlattCalibration::fit(&[0.1, 0.2], &[true, true]),
            PlattCalibration::default()
        );
    }
}
