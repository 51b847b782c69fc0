//! Feature binning for histogram-based boosting.
//!
//! Bin 0 holds missing values. A numeric feature's value `v` goes to bin `1 + #{edges < v}`, so
//! "bin ≤ t" is exactly "v ≤ edges[t − 1]": a split found on bins becomes a threshold on raw values
//! that routes every value the same way, and the saved trees never need the bins again.
//! A categorical code `c` goes to bin `c + 1`.

use std::ops::Range;

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

/// Share of rows in one bin from which a feature is stored sparsely.
const SPARSE_SHARE: f64 = 0.5;

/// Training features as bins, in the layouts each step reads fastest.
///
/// - Histograms: *dense* features row-major, so a row's bins are read together; *sparse*
///   features (one bin holding at least [`SPARSE_SHARE`] of the rows, typically "no such event")
///   as each row's other entries only. A sparse feature's common bin is then the leaf's total
///   minus its other bins, which skips most of its additions.
/// - Partitioning a leaf on one feature and routing rows through a tree: every feature
///   column-major, one dense column each.
///
/// In a flat histogram the dense features' bins come first, then the sparse ones'.
pub(crate) struct BinnedRows {
    pub mappers: Vec<BinMapper>,
    /// Row `r`, feature `f` at `f * n_rows + r`.
    pub columns: Vec<u8>,
    /// Where each feature's bins start in a flat histogram.
    pub offsets: Vec<usize>,
    /// Bins of a flat histogram.
    pub total_bins: usize,
    /// Dense features, in histogram order.
    pub dense: Vec<usize>,
    /// Bin of row `r`, dense feature `dense[j]` at `r * dense.len() + j`.
    pub dense_bins: Vec<u8>,
    /// Where the sparse features' bins start in a flat histogram.
    pub sparse_start: usize,
    /// Sparse features with their common bin.
    pub sparse: Vec<(usize, u8)>,
    /// Row `r`'s sparse entries are `sparse_entries[sparse_rows[r]..sparse_rows[r + 1]]`.
    pub sparse_rows: Vec<usize>,
    /// Flat histogram index, less `sparse_start`, of each entry outside its feature's common bin.
    pub sparse_entries: Vec<u32>,
}

impl BinnedRows {
    /// Fits mappers on (a deterministic sample of at most 200,000) rows and bins every row.
    pub fn fit(x: ArrayView2<'_, f64>, features: &[FeatureInfo], max_bins: usize) -> Self {
        let n = x.nrows();
        let stride = n.div_ceil(200_000).max(1);
        let mappers: Vec<BinMapper> = features
            .par_iter()
            .enumerate()
            .map(|(j, info)| {
                BinMapper::fit(info, x.column(j).iter().step_by(stride).copied(), max_bins)
            })
            .collect();
        let columns = bin_columns(&mappers, x);
        let common: Vec<(u8, usize)> = columns
            .par_chunks(n.max(1))
            .map(|column| {
                let mut counts = [0usize; MAX_BINS];
                for &bin in column {
                    counts[usize::from(bin)] += 1;
                }
                let (bin, &count) = counts
                    .iter()
                    .enumerate()
                    .max_by_key(|&(bin, &count)| (count, std::cmp::Reverse(bin)))
                    .unwrap_or((0, &0));
                (bin as u8, count)
            })
            .collect();
        let is_sparse = |f: usize| n > 0 && common[f].1 as f64 >= SPARSE_SHARE * n as f64;
        let dense: Vec<usize> = (0..mappers.len()).filter(|&f| !is_sparse(f)).collect();
        let sparse: Vec<(usize, u8)> = (0..mappers.len())
            .filter(|&f| is_sparse(f))
            .map(|f| (f, common[f].0))
            .collect();
        let mut offsets = vec![0; mappers.len()];
        let mut total_bins = 0;
        for &f in dense.iter().chain(sparse.iter().map(|(f, _)| f)) {
            offsets[f] = total_bins;
            total_bins += mappers[f].n_bins();
        }
        let sparse_start = dense.iter().map(|&f| mappers[f].n_bins()).sum();

        let mut dense_bins = vec![0u8; n * dense.len()];
        if !dense.is_empty() {
            dense_bins
                .par_chunks_mut(dense.len())
                .enumerate()
                .for_each(|(row, row_bins)| {
                    for (bin, &f) in row_bins.iter_mut().zip(&dense) {
                        *bin = columns[f * n + row];
                    }
                });
        }
        let mut sparse_rows = Vec::with_capacity(n + 1);
        let mut sparse_entries = Vec::new();
        sparse_rows.push(0);
        for row in 0..n {
            for &(f, common_bin) in &sparse {
                let bin = columns[f * n + row];
                if bin != common_bin {
                    sparse_entries.push((offsets[f] - sparse_start + usize::from(bin)) as u32);
                }
            }
            sparse_rows.push(sparse_entries.len());
        }
        Self {
            mappers,
            columns,
            offsets,
            total_bins,
            dense,
            dense_bins,
            sparse_start,
            sparse,
            sparse_rows,
            sparse_entries,
        }
    }

    /// Number of features per row.
    pub fn n_features(&self) -> usize {
        self.mappers.len()
    }

    /// Rows binned by these mappers, column-major like [`BinnedRows::columns`].
    pub fn bin(&self, x: ArrayView2<'_, f64>) -> Vec<u8> {
        bin_columns(&self.mappers, x)
    }

    /// The bins of feature `f` in a flat histogram.
    pub fn bins_of(&self, f: usize) -> Range<usize> {
        self.offsets[f]..self.offsets[f] + self.mappers[f].n_bins()
    }
}

/// Rows binned by `mappers`, column-major: row `r`, feature `f` at `f * n_rows + r`.
fn bin_columns(mappers: &[BinMapper], x: ArrayView2<'_, f64>) -> Vec<u8> {
    let n = x.nrows();
    let mut columns = vec![0u8; n * mappers.len()];
    if n == 0 {
        return columns;
    }
    columns
        .par_chunks_mut(n)
        .zip(mappers.par_iter())
        .enumerate()
        .for_each(|(feature, (column, mapper))| {
            for (bin, &value) in column.iter_mut().zip(x.column(feature)) {
                *bin = mapper.bin(value);
            }
        });
    columns
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
