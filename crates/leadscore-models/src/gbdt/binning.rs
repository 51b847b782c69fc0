//! Feature binning for histogram-based boosting.
//!
//! Bin 0 holds missing values. A numeric feature's value `v` goes to bin `1 + #{edges < v}`, so
//! "bin ≤ t" is exactly "v ≤ edges[t − 1]": a split found on bins becomes a threshold on raw values
//! that routes every value the same way, and the saved trees never need the bins again.
//! A categorical code `c` goes to bin `c + 1`.

use leadscore_features::{FeatureInfo, FeatureKind};
use ndarray::ArrayView2;
use rayon::prelude::*;

/// Largest number of bins per feature, the missing bin included.
pub(crate) const MAX_BINS: usize = 256;

/// How one feature's values map to bins.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum BinMapper {
    Numeric { edges: Vec<f64> },
    Categorical { n_codes: usize },
}

impl BinMapper {
    /// Learns bins from a feature's training values.
    pub fn fit(info: &FeatureInfo, values: impl Iterator<Item = f64>, max_bins: usize) -> Self {
        match info.kind {
            FeatureKind::Categorical { n_codes } => Self::Categorical {
                n_codes: n_codes.min(MAX_BINS - 1),
            },
            FeatureKind::Numeric => Self::Numeric {
                edges: numeric_edges(values, max_bins.clamp(2, MAX_BINS) - 1),
            },
        }
    }

    /// Number of bins, the missing bin included.
    pub fn n_bins(&self) -> usize {
        match self {
            Self::Numeric { edges } => edges.len() + 2,
            Self::Categorical { n_codes } => n_codes + 1,
        }
    }

    /// The bin of a value.
    #[inline]
    pub fn bin(&self, value: f64) -> u8 {
        if value.is_nan() {
            return 0;
        }
        match self {
            Self::Numeric { edges } => (1 + edges.partition_point(|&e| e < value)) as u8,
            Self::Categorical { n_codes } => (1 + (value.max(0.0) as usize).min(n_codes - 1)) as u8,
        }
    }

    /// The raw threshold equivalent to "bin ≤ `bin`" (numeric features).
    pub fn threshold(&self, bin: usize) -> f64 {
        match self {
            Self::Numeric { edges } => edges[bin - 1],
            Self::Categorical { .. } => f64::NAN,
        }
    }
}

/// At most `max_value_bins` value bins with about equal counts; each edge is the midpoint between
/// two neighbouring distinct training values.
fn numeric_edges(values: impl Iterator<Item = f64>, max_value_bins: usize) -> Vec<f64> {
    let mut sorted: Vec<f64> = values.filter(|v| !v.is_nan()).collect();
    sorted.sort_by(f64::total_cmp);
    let mut distinct: Vec<(f64, usize)> = Vec::new();
    for v in sorted.iter().copied() {
        match distinct.last_mut() {
            Some((last, count)) if *last == v => *count += 1,
            _ => distinct.push((v, 1)),
        }
    }
    if distinct.len() <= 1 {
        return Vec::new();
    }
    let midpoint = |i: usize| distinct[i].0 + (distinct[i + 1].0 - distinct[i].0) / 2.0;
    if distinct.len() <= max_value_bins {
        return (0..distinct.len() - 1).map(midpoint).collect();
    }
    let target = sorted.len() as f64 / max_value_bins as f64;
    let mut edges = Vec::with_capacity(max_value_bins);
    let mut in_bin = 0usize;
    for (i, &(_, count)) in distinct.iter().enumerate().take(distinct.len() - 1) {
        in_bin += count;
        if in_bin as f64 >= target && edges.len() + 1 < max_value_bins {
            edges.push(midpoint(i));
            in_bin = 0;
        }
    }
    edges
}

/// Training features as bins, one column per feature.
pub(crate) struct BinnedColumns {
    pub mappers: Vec<BinMapper>,
    pub columns: Vec<Vec<u8>>,
}

impl BinnedColumns {
    /// Fits mappers on (a deterministic sample of at most 200,000) rows and bins every row.
    pub fn fit(x: ArrayView2<'_, f64>, features: &[FeatureInfo], max_bins: usize) -> Self {
        let n = x.nrows();
        let stride = n.div_ceil(200_000).max(1);
        let (mappers, columns) = features
            .par_iter()
            .enumerate()
            .map(|(j, info)| {
                let column = x.column(j);
                let mapper = BinMapper::fit(info, column.iter().step_by(stride).copied(), max_bins);
                let bins = column.iter().map(|&v| mapper.bin(v)).collect();
                (mapper, bins)
            })
            .unzip();
        Self { mappers, columns }
    }

    /// Other rows (validation) binned by these mappers, one column per feature.
    pub fn bin(&self, x: ArrayView2<'_, f64>) -> Vec<Vec<u8>> {
        self.mappers
            .par_iter()
            .enumerate()
            .map(|(j, mapper)| x.column(j).iter().map(|&v| mapper.bin(v)).collect())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leadscore_features::FeatureSource;

    fn numeric() -> FeatureInfo {
        FeatureInfo {
            name: "x".to_owned(),
            kind: FeatureKind::Numeric,
            source: FeatureSource::Attribute("x".to_owned()),
        }
    }

    #[test]
    fn few_distinct_values_get_one_bin_each() {
        let mapper = BinMapper::fit(&numeric(), [3.0, 1.0, 2.0, 2.0, f64::NAN].into_iter(), 256);
        assert_eq!(
            mapper,
            BinMapper::Numeric {
                edges: vec![1.5, 2.5]
            }
        );
        assert_eq!(
            [f64::NAN, 0.0, 1.0, 1.5, 2.0, 3.0, 9.0].map(|v| mapper.bin(v)),
            [0, 1, 1, 1, 2, 3, 3]
        );
    }

    #[test]
    fn bin_threshold_and_raw_threshold_agree() {
        let values: Vec<f64> = (0..10_000).map(|i| f64::from(i % 997) * 0.37).collect();
        let mapper = BinMapper::fit(&numeric(), values.iter().copied(), 32);
        assert!(mapper.n_bins() <= 32);
        for t in 1..mapper.n_bins() - 1 {
            let threshold = mapper.threshold(t);
            for &v in &values {
                assert_eq!(
                    usize::from(mapper.bin(v)) <= t,
                    v <= threshold,
                    "v={v} t={t}"
                );
            }
        }
    }

    #[test]
    fn categories_map_to_code_plus_one() {
        let info = FeatureInfo {
            name: "c".to_owned(),
            kind: FeatureKind::Categorical { n_codes: 4 },
            source: FeatureSource::Attribute("c".to_owned()),
        };
        let mapper = BinMapper::fit(&info, std::iter::empty(), 256);
        assert_eq!(
            [f64::NAN, 0.0, 3.0, 9.0].map(|v| mapper.bin(v)),
            [0, 1, 4, 4]
        );
    }
}
