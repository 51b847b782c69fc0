//! The design matrix of linear models: imputation, missing indicators, a log transform for
//! skewed counts and amounts, standardisation, and one-hot categories.
//!
//! Fitted on training rows only. Each design column remembers the feature it came from, so a
//! model's per-column contributions can be summed back into per-feature reasons.

use std::sync::LazyLock;

use leadscore_features::{FeatureInfo, FeatureKind};
use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

/// How one feature becomes design columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum EncodedFeature {
    /// `(t(x) - mean) / std` with `t = ln(1 + x)` when `log`; missing → median; optional indicator.
    Numeric {
        /// Apply `ln(1 + x)` first (non-negative, right-skewed features).
        log: bool,
        /// Median of `t(x)`, imputed for missing values.
        median: f64,
        /// Mean of `t(x)`.
        mean: f64,
        /// Standard deviation of `t(x)` (1 when constant).
        std: f64,
        /// Adds a 0/1 column "is missing".
        indicator: bool,
    },
    /// One 0/1 column per code; optional "is missing" column.
    Categorical {
        /// Number of codes.
        n_codes: usize,
        /// Adds a 0/1 column "is missing".
        indicator: bool,
    },
}

impl EncodedFeature {
    fn width(&self) -> usize {
        match self {
            Self::Numeric { indicator, .. } => 1 + usize::from(*indicator),
            Self::Categorical { n_codes, indicator } => n_codes + usize::from(*indicator),
        }
    }
}

/// Fitted design-matrix encoder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearEncoder {
    /// One entry per input feature.
    pub features: Vec<EncodedFeature>,
}

/// Standardised values beyond this many deviations are clipped: a typo of 10⁹ in a revenue cell
/// must not swing a score by itself.
const CLIP: f64 = 8.0;

impl LinearEncoder {
    /// Learns the encoding from training rows.
    pub fn fit(x: ArrayView2<'_, f64>, features: &[FeatureInfo]) -> Self {
        let encoded = features
            .iter()
            .enumerate()
            .map(|(j, info)| {
                let column = x.column(j);
                let has_missing = column.iter().any(|v| v.is_nan());
                match info.kind {
                    FeatureKind::Categorical { n_codes } => EncodedFeature::Categorical {
                        n_codes,
                        indicator: has_missing,
                    },
                    FeatureKind::Numeric => {
                        let mut present: Vec<f64> =
                            column.iter().copied().filter(|v| !v.is_nan()).collect();
                        present.sort_by(f64::total_cmp);
                        let log = is_skewed(&present);
                        let transform = |v: f64| if log { log_scale(v) } else { v };
                        let values: Vec<f64> = present.iter().map(|&v| transform(v)).collect();
                        let n = values.len().max(1) as f64;
                        let mean = values.iter().sum::<f64>() / n;
                        let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
                        let std = if variance > 1e-24 {
                            variance.sqrt()
                        } else {
                            1.0
                        };
                        let median = values.get(values.len() / 2).copied().unwrap_or(0.0);
                        EncodedFeature::Numeric {
                            log,
                            median,
                            mean,
                            std,
                            indicator: has_missing,
                        }
                    }
                }
            })
            .collect();
        Self { features: encoded }
    }

    /// Checks an encoder read from a file: one entry per input feature, finite statistics, a
    /// positive spread and at least one code per categorical feature.
    pub fn validate(&self, n_features: usize) -> Result<(), String> {
        if self.features.len() != n_features {
            return Err(format!(
                "the linear encoder has {} features but the model has {n_features}",
                self.features.len()
            ));
        }
        for (j, feature) in self.features.iter().enumerate() {
            match *feature {
                EncodedFeature::Numeric {
                    median, mean, std, ..
                } if !(median.is_finite() && mean.is_finite() && std.is_finite() && std > 0.0) => {
                    return Err(format!(
                        "feature {j} has median {median}, mean {mean}, spread {std}"
                    ));
                }
                EncodedFeature::Categorical { n_codes: 0, .. } => {
                    return Err(format!("categorical feature {j} has no codes"));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Number of design columns.
    pub fn width(&self) -> usize {
        self.features.iter().map(EncodedFeature::width).sum()
    }

    /// The input feature of each design column.
    pub fn column_features(&self) -> Vec<usize> {
        self.features
            .iter()
            .enumerate()
            .flat_map(|(j, f)| std::iter::repeat_n(j, f.width()))
            .collect()
    }

    /// The design columns of each input feature, in order: one range per feature.
    pub fn column_ranges(&self) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
        self.features.iter().scan(0, |start, feature| {
            let columns = *start..*start + feature.width();
            *start = columns.end;
            Some(columns)
        })
    }

    /// Calls `visit(column, value)` for every design column of one feature row that is not
    /// zero by construction, in column order: each numeric column, the column of a categorical
    /// level, and a missing-value indicator that is set. Every other column of the row is 0.
    fn visit_row(&self, row: &[f64], mut visit: impl FnMut(usize, f64)) {
        let mut cursor = 0;
        for (feature, &value) in self.features.iter().zip(row) {
            let indicator = match *feature {
                EncodedFeature::Numeric {
                    log,
                    median,
                    mean,
                    std,
                    indicator,
                } => {
                    let transformed = if value.is_nan() {
                        median
                    } else if log {
                        log_scale(value.max(0.0))
                    } else {
                        value
                    };
                    visit(cursor, ((transformed - mean) / std).clamp(-CLIP, CLIP));
                    cursor += 1;
                    indicator
                }
                EncodedFeature::Categorical { n_codes, indicator } => {
                    if !value.is_nan() {
                        visit(cursor + (value as usize).min(n_codes - 1), 1.0);
                    }
                    cursor += n_codes;
                    indicator
                }
            };
            if indicator {
                if value.is_nan() {
                    visit(cursor, 1.0);
                }
                cursor += 1;
            }
        }
    }

    /// Writes the design row of one feature row into `out` (length [`Self::width`]).
    pub fn encode_row(&self, row: &[f64], out: &mut [f64]) {
        out.fill(0.0);
        self.visit_row(row, |column, value| out[column] = value);
    }

    /// `coefficients · design row` of one feature row, without writing the row: the terms of
    /// its non-zero columns are added in column order, which is the sum over the whole row
    /// (the others add exact zeros) for a row of a few numbers and hundreds of level columns.
    pub fn dot_row(&self, row: &[f64], coefficients: &[f64]) -> f64 {
        let mut sum = 0.0;
        self.visit_row(row, |column, value| sum += coefficients[column] * value);
        sum
    }

    /// Design matrix of many rows.
    pub fn encode(&self, x: ArrayView2<'_, f64>) -> Array2<f64> {
        let mut design = Array2::zeros((x.nrows(), self.width()));
        for (row, mut out) in x.rows().into_iter().zip(design.rows_mut()) {
            let row = row.to_vec();
            if let Some(out) = out.as_slice_mut() {
                self.encode_row(&row, out);
            }
        }
        design
    }
}

/// Whole numbers below this have their [`log_scale`] in a table.
const SMALL_WHOLE: usize = 256;

/// `ln_1p` of a non-negative value, the log scale of skewed columns. Most such values are
/// counts of events or days, small whole numbers of which a lead has a dozen: theirs are read
/// from a table of the same `ln_1p` values (bit for bit, the sign of zero included), the rest
/// computed.
fn log_scale(value: f64) -> f64 {
    static SMALL: LazyLock<[f64; SMALL_WHOLE]> =
        LazyLock::new(|| std::array::from_fn(|k| (k as f64).ln_1p()));
    // Saturating: a fraction, a large value or -0.0 fails the comparison of bits.
    let whole = value as usize;
    if whole < SMALL_WHOLE && (whole as f64).to_bits() == value.to_bits() {
        SMALL[whole]
    } else {
        value.ln_1p()
    }
}

/// Non-negative values whose tail dwarfs their middle (counts, amounts) are modelled on a log scale.
fn is_skewed(sorted: &[f64]) -> bool {
    let (Some(&min), Some(&max)) = (sorted.first(), sorted.last()) else {
        return false;
    };
    if min < 0.0 {
        return false;
    }
    let n = sorted.len() as f64;
    let mean = sorted.iter().sum::<f64>() / n;
    let variance = sorted.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    if variance <= 0.0 {
        return false;
    }
    let skewness = sorted
        .iter()
        .map(|v| ((v - mean) / variance.sqrt()).powi(3))
        .sum::<f64>()
        / n;
    skewness > 2.0 && max > 10.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use leadscore_features::FeatureSource;
    use ndarray::array;

    fn info(kind: FeatureKind) -> FeatureInfo {
        FeatureInfo {
            name: "f".to_owned(),
            kind,
            source: FeatureSource::Attribute("f".to_owned()),
        }
    }

    #[test]
    fn imputes_standardises_and_one_hots() {
        let x = array![[1.0, 0.0], [3.0, 2.0], [f64::NAN, f64::NAN]];
        let features = [
            info(FeatureKind::Numeric),
            info(FeatureKind::Categorical { n_codes: 3 }),
        ];
        let encoder = LinearEncoder::fit(x.view(), &features);
        assert_eq!(encoder.width(), 2 + 4);
        assert_eq!(encoder.column_features(), [0, 0, 1, 1, 1, 1]);
        assert_eq!(encoder.column_ranges().collect::<Vec<_>>(), [0..2, 2..6]);
        let design = encoder.encode(x.view());
        assert_eq!(design.row(0).to_vec(), [-1.0, 0.0, 1.0, 0.0, 0.0, 0.0]);
        assert_eq!(design.row(1).to_vec(), [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
        // Median of [1, 3] is the upper middle value, 3.
        assert_eq!(design.row(2).to_vec(), [1.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
    }

    #[test]
    fn a_row_dotted_in_place_is_the_dot_of_its_design_row_bit_for_bit() {
        let x = array![
            [1.0, 0.0, 7.0, 2.0],
            [3.0, 2.0, f64::NAN, 0.0],
            [f64::NAN, f64::NAN, 0.5, 1.0],
            [2.5, 1.0, 1e9, 5.0],
        ];
        let features = [
            info(FeatureKind::Numeric),
            info(FeatureKind::Categorical { n_codes: 3 }),
            info(FeatureKind::Numeric),
            info(FeatureKind::Categorical { n_codes: 6 }),
        ];
        let encoder = LinearEncoder::fit(x.view(), &features);
        let coefficients: Vec<f64> = (0..encoder.width())
            .map(|k| (k as f64 * 0.37).sin() * 3.1)
            .collect();
        let mut design = vec![f64::NAN; encoder.width()];
        for row in x
            .rows()
            .into_iter()
            .chain(array![[9.0, 8.0, -1.0, 99.0]].rows())
        {
            let row = row.to_vec();
            encoder.encode_row(&row, &mut design);
            let dense: f64 = coefficients.iter().zip(&design).map(|(c, d)| c * d).sum();
            assert_eq!(
                encoder.dot_row(&row, &coefficients).to_bits(),
                dense.to_bits(),
                "{row:?}"
            );
        }
    }

    #[test]
    fn skewed_counts_are_logged_and_outliers_clipped() {
        let mut values: Vec<f64> = vec![0.0; 95];
        values.extend([50.0, 80.0, 100.0, 400.0, 1000.0]);
        assert!(is_skewed(&values));
        assert!(!is_skewed(&[1.0, 2.0, 3.0, 4.0]));
        let x = Array2::from_shape_vec((100, 1), values).expect("shape");
        let encoder = LinearEncoder::fit(x.view(), &[info(FeatureKind::Numeric)]);
        let mut out = [0.0];
        encoder.encode_row(&[1e12], &mut out);
        assert_eq!(out[0], CLIP);
    }

    #[test]
    fn log_scale_is_ln_1p_bit_for_bit() {
        let mut values: Vec<f64> = (0..SMALL_WHOLE as u32 + 10).map(f64::from).collect();
        values.extend([0.5, 1e-300, 2.25, 255.5, 1e18, f64::MAX, f64::INFINITY]);
        values.extend((0..1000).map(|k| f64::from(k) * 0.37));
        for value in values {
            assert_eq!(
                log_scale(value).to_bits(),
                value.ln_1p().to_bits(),
                "{value}"
            );
        }
        assert!(log_scale(-0.0).is_sign_negative(), "ln_1p(-0) is -0");
    }
}
