//! Growing one regression tree on gradient histograms, best leaf first.
//!
//! Each leaf owns a contiguous range of the row-index array. Splitting a leaf partitions its range
//! in place (stable, so indices stay ascending and memory access stays sequential), builds the
//! histogram of the smaller child and gets the larger child's by subtraction from the parent.
//! Histograms are built row by row: dense features over row-major bins, and sparse features from
//! each row's entries outside their common bin, which is then the leaf's total less the other
//! bins. A large leaf's rows are cut into parts summed on any thread and added in part order; the
//! parts depend on the number of rows only, so the result does not depend on the number of
//! threads.

use rayon::prelude::*;

use super::binning::{BinMapper, BinnedRows};
use crate::tree::{LEAF, Tree};

/// Gradient statistics of one bin.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Bin {
    pub g: f64,
    pub h: f64,
    pub n: u32,
}

/// Per-feature histograms of one leaf, flat: feature `f`'s bins are [`BinnedRows::bins_of`]`(f)`.
type Histogram = Vec<Bin>;

/// Tree-shape settings used while growing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GrowParams {
    pub max_leaves: usize,
    pub max_depth: usize,
    pub min_data_in_leaf: u32,
    pub min_sum_hessian: f64,
    pub lambda_l2: f64,
    pub min_split_gain: f64,
    pub learning_rate: f64,
    pub max_cat_threshold: usize,
    pub max_cat_onehot: usize,
    pub cat_smooth: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum SplitRule {
    /// Bins `1..=bin` go left.
    Numeric { bin: u8 },
    /// Bins in the bit set go left.
    Categorical { left: [u64; 4] },
}

#[derive(Debug, Clone, Copy)]
struct Split {
    gain: f64,
    feature: usize,
    rule: SplitRule,
    missing_left: bool,
    left_n: u32,
    /// Gradient and hessian sums of the rows going left.
    left_g: f64,
    left_h: f64,
}

struct Leaf {
    node: u32,
    start: usize,
    end: usize,
    depth: usize,
    g: f64,
    h: f64,
    histogram: Histogram,
    split: Option<Split>,
}

/// The data a tree is grown on.
pub(crate) struct GrowData<'a> {
    binned: &'a BinnedRows,
    gradients: &'a [(f64, f64)],
    features: &'a [bool],
    /// The dense features this tree uses: position in a row's dense bins, first bin in a
    /// histogram.
    dense: Vec<(usize, usize)>,
}

/// Rows whose memory [`GrowData::add_rows`] reads ahead of adding them.
const WARM_ROWS: usize = 32;

/// Bins per task when the parts of a histogram are added together.
const MERGE_BINS: usize = 1024;

/// Fewest rows per part of a histogram built in parts.
const ROWS_PER_PART: usize = 512;

/// Most parts a histogram is built in.
const MAX_PARTS: usize = 4;

/// Memory reused from tree to tree: a partition's right-hand rows, leaf histograms and the parts
/// histograms are built in (fresh pages cost the kernel's zeroing on every split).
#[derive(Default)]
pub(crate) struct Scratch {
    rows: Vec<u32>,
    histograms: Vec<Histogram>,
}

/// A grown tree and, for each leaf, the range of `indices` it holds.
pub(crate) struct Grown {
    pub tree: Tree,
    pub leaf_ranges: Vec<(u32, usize, usize)>,
    /// Per node, its split on bins (`None` for leaves): routes binned rows as the tree routes
    /// raw ones.
    bin_splits: Vec<Option<BinSplit>>,
}

impl Grown {
    /// The tree's output for row `row` of column-major bins of `n_rows` rows (bins of the
    /// training mappers).
    pub fn predict_binned(&self, columns: &[u8], n_rows: usize, row: usize) -> f64 {
        let mut node = 0;
        while let Some(split) = self.bin_splits[node] {
            node = if split.goes_left(columns[split.feature * n_rows + row]) {
                self.tree.left[node]
            } else {
                self.tree.right[node]
            } as usize;
        }
        self.tree.value[node]
    }
}

/// A chosen split on bins, as the set of bins that go left (bin 0 holds missing values): one bit
/// test routes a row, whatever the rule, without a branch on it.
#[derive(Debug, Clone, Copy)]
struct BinSplit {
    feature: usize,
    left: [u64; 4],
}

impl BinSplit {
    fn new(split: &Split) -> Self {
        let mut left = match split.rule {
            SplitRule::Numeric { bin } => {
                let mut set = [0u64; 4];
                for b in 1..=bin {
                    set[usize::from(b) / 64] |= 1 << (b % 64);
                }
                set
            }
            SplitRule::Categorical { left } => left,
        };
        left[0] = left[0] & !1 | u64::from(split.missing_left);
        Self {
            feature: split.feature,
            left,
        }
    }

    #[inline]
    fn goes_left(&self, bin: u8) -> bool {
        bit_set(&self.left, bin)
    }
}

#[inline]
fn bit_set(set: &[u64; 4], bin: u8) -> bool {
    set[usize::from(bin) / 64] >> (bin % 64) & 1 == 1
}

fn leaf_score(g: f64, h: f64, lambda: f64) -> f64 {
    g * g / (h + lambda)
}

impl<'a> GrowData<'a> {
    /// Growing data for one tree that uses the features marked in `features`.
    pub fn new(binned: &'a BinnedRows, gradients: &'a [(f64, f64)], features: &'a [bool]) -> Self {
        let dense = binned
            .dense
            .iter()
            .enumerate()
            .filter(|&(_, &f)| features[f])
            .map(|(position, &f)| (position, binned.offsets[f]))
            .collect();
        Self {
            binned,
            gradients,
            features,
            dense,
        }
    }

    /// The histogram of the rows in `indices`, whose gradient and hessian sums are `totals`.
    ///
    /// Large leaves are cut into parts of consecutive rows, each summed into its own histogram on
    /// any thread, and the parts are added in order: how many parts depends on the number of rows
    /// only, so the sums do not depend on the number of threads.
    fn histogram(&self, indices: &[u32], totals: (f64, f64), scratch: &mut Scratch) -> Histogram {
        let parts = (indices.len() / ROWS_PER_PART).clamp(1, MAX_PARTS);
        let mut take = || {
            scratch
                .histograms
                .pop()
                .unwrap_or_else(|| vec![Bin::default(); self.binned.total_bins])
        };
        let mut histogram = take();
        let mut histograms: Vec<Histogram> = (1..parts).map(|_| take()).collect();
        let rows_of = |part: usize| {
            &indices[part * indices.len() / parts..(part + 1) * indices.len() / parts]
        };
        if histograms.is_empty() {
            self.add_rows(indices, &mut histogram);
        } else {
            rayon::join(
                || self.add_rows(rows_of(0), &mut histogram),
                || {
                    histograms
                        .par_iter_mut()
                        .enumerate()
                        .for_each(|(k, part)| self.add_rows(rows_of(k + 1), part))
                },
            );
            histogram
                .par_chunks_mut(MERGE_BINS)
                .enumerate()
                .for_each(|(k, bins)| {
                    for part in &histograms {
                        for (bin, other) in bins.iter_mut().zip(&part[k * MERGE_BINS..]) {
                            bin.g += other.g;
                            bin.h += other.h;
                            bin.n += other.n;
                        }
                    }
                });
        }
        scratch.histograms.extend(histograms);
        self.fill_common_bins(&mut histogram, indices.len(), totals);
        histogram
    }

    /// Clears `histogram` and adds the rows in `rows`: every used dense feature's bin, and each
    /// row's sparse entries (sparse features' common bins are left to
    /// [`GrowData::fill_common_bins`]).
    fn add_rows(&self, rows: &[u32], histogram: &mut Histogram) {
        histogram.fill(Bin::default());
        let binned = self.binned;
        let n_dense = binned.dense.len();
        let (dense_part, sparse_part) = histogram.split_at_mut(binned.sparse_start);
        let mut warm = 0u64;
        for batch in rows.chunks(WARM_ROWS) {
            // A leaf's rows are scattered over memory, and each row's gradient, bins and sparse
            // entries would miss the cache one after another. Reading a batch's first: these
            // reads do not wait on each other, so their misses overlap.
            for &row in batch {
                warm = warm.wrapping_add(self.touch(row as usize));
            }
            for &row in batch {
                let (g, h) = self.gradients[row as usize];
                let row = row as usize;
                let row_bins = &binned.dense_bins[row * n_dense..(row + 1) * n_dense];
                for &(position, offset) in &self.dense {
                    let bin = &mut dense_part[offset + usize::from(row_bins[position])];
                    bin.g += g;
                    bin.h += h;
                    bin.n += 1;
                }
                let entries = binned.sparse_rows[row]..binned.sparse_rows[row + 1];
                for &entry in &binned.sparse_entries[entries] {
                    let bin = &mut sparse_part[entry as usize];
                    bin.g += g;
                    bin.h += h;
                    bin.n += 1;
                }
            }
        }
        std::hint::black_box(warm);
    }

    /// Reads a byte of each cache line [`GrowData::add_rows`] will read for `row` (its rows of
    /// bins and of entries each span at most two); returns them summed, for `black_box`.
    fn touch(&self, row: usize) -> u64 {
        let binned = self.binned;
        let n_dense = binned.dense.len();
        let entries = binned.sparse_rows[row]..binned.sparse_rows[row + 1];
        let byte = |bins: &[u8], at: usize| u64::from(bins.get(at).copied().unwrap_or(0));
        let entry = |at: usize| u64::from(binned.sparse_entries.get(at).copied().unwrap_or(0));
        self.gradients[row]
            .0
            .to_bits()
            .wrapping_add(byte(&binned.dense_bins, row * n_dense))
            .wrapping_add(byte(
                &binned.dense_bins,
                ((row + 1) * n_dense).wrapping_sub(1),
            ))
            .wrapping_add(entry(entries.start))
            .wrapping_add(entry(entries.end.wrapping_sub(1)))
    }

    /// Every row not counted elsewhere sits in its sparse feature's common bin: the leaf's
    /// totals less the feature's other bins.
    fn fill_common_bins(&self, histogram: &mut Histogram, rows: usize, totals: (f64, f64)) {
        for &(f, common) in &self.binned.sparse {
            let bins = &mut histogram[self.binned.bins_of(f)];
            let mut rest = Bin {
                g: totals.0,
                h: totals.1,
                n: rows as u32,
            };
            for (b, bin) in bins.iter().enumerate() {
                if b != usize::from(common) {
                    rest.g -= bin.g;
                    rest.h -= bin.h;
                    rest.n -= bin.n;
                }
            }
            bins[usize::from(common)] = rest;
        }
    }

    fn best_split(
        &self,
        histogram: &Histogram,
        g: f64,
        h: f64,
        n: u32,
        params: &GrowParams,
    ) -> Option<Split> {
        let parent = leaf_score(g, h, params.lambda_l2);
        (0..self.binned.n_features())
            .filter(|&feature| self.features[feature])
            .filter_map(|feature| {
                let bins = &histogram[self.binned.bins_of(feature)];
                let split = match self.binned.mappers[feature] {
                    BinMapper::Numeric { .. } => numeric_split(bins, g, h, n, parent, params),
                    BinMapper::Categorical { .. } => {
                        categorical_split(bins, g, h, n, parent, params)
                    }
                };
                split.map(|mut s| {
                    s.feature = feature;
                    s
                })
            })
            // Features come in order, so a tie keeps the first.
            .reduce(|a, b| if b.gain > a.gain { b } else { a })
    }

    /// Grows a tree on the rows in `indices` (reordered in place).
    pub fn grow(&self, indices: &mut [u32], scratch: &mut Scratch, params: &GrowParams) -> Grown {
        let mut tree = Tree::default();
        let (g, h) = indices.iter().fold((0.0, 0.0), |(g, h), &i| {
            let (gi, hi) = self.gradients[i as usize];
            (g + gi, h + hi)
        });
        let histogram = self.histogram(indices, (g, h), scratch);
        let root = tree.push_leaf(0.0, indices.len() as f64);
        let mut bin_splits = vec![None];
        let split = self.best_split(&histogram, g, h, indices.len() as u32, params);
        let mut leaves = vec![Leaf {
            node: root,
            start: 0,
            end: indices.len(),
            depth: 0,
            g,
            h,
            histogram,
            split,
        }];
        while leaves.len() < params.max_leaves {
            let candidate = leaves
                .iter()
                .enumerate()
                .filter(|(_, leaf)| leaf.depth < params.max_depth)
                .filter_map(|(i, leaf)| leaf.split.map(|s| (i, s.gain)))
                .max_by(|a, b| a.1.total_cmp(&b.1));
            let Some((position, _)) = candidate else {
                break;
            };
            let leaf = leaves.swap_remove(position);
            let (left, right) =
                self.split_leaf(leaf, indices, scratch, &mut tree, &mut bin_splits, params);
            leaves.push(left);
            leaves.push(right);
        }
        let mut leaf_ranges = Vec::with_capacity(leaves.len());
        for leaf in leaves {
            tree.value[leaf.node as usize] =
                -leaf.g / (leaf.h + params.lambda_l2) * params.learning_rate;
            leaf_ranges.push((leaf.node, leaf.start, leaf.end));
            scratch.histograms.push(leaf.histogram);
        }
        Grown {
            tree,
            leaf_ranges,
            bin_splits,
        }
    }

    fn split_leaf(
        &self,
        leaf: Leaf,
        indices: &mut [u32],
        scratch: &mut Scratch,
        tree: &mut Tree,
        bin_splits: &mut Vec<Option<BinSplit>>,
        params: &GrowParams,
    ) -> (Leaf, Leaf) {
        let Some(split) = leaf.split else {
            unreachable!("only leaves with a split are chosen");
        };
        let bin_split = BinSplit::new(&split);
        bin_splits[leaf.node as usize] = Some(bin_split);
        let n_rows = self.gradients.len();
        let column = &self.binned.columns[split.feature * n_rows..(split.feature + 1) * n_rows];
        let write = partition(
            &mut indices[leaf.start..leaf.end],
            &mut scratch.rows,
            |row| bin_split.goes_left(column[row as usize]),
        ) + leaf.start;
        debug_assert_eq!((write - leaf.start) as u32, split.left_n);

        let node = leaf.node as usize;
        tree.feature[node] = split.feature as u32;
        tree.default_left[node] = split.missing_left;
        let mapper = &self.binned.mappers[split.feature];
        match split.rule {
            SplitRule::Numeric { bin } => tree.threshold[node] = mapper.threshold(usize::from(bin)),
            SplitRule::Categorical { left } => {
                let codes = (1..mapper.n_bins())
                    .filter(|&b| bit_set(&left, b as u8))
                    .map(|b| (b - 1) as u32)
                    .collect();
                tree.category_sets.push(codes);
                tree.category_set[node] = (tree.category_sets.len() - 1) as i32;
            }
        }
        let (left_range, right_range) = ((leaf.start, write), (write, leaf.end));
        let left_node = tree.push_leaf(0.0, (write - leaf.start) as f64);
        let right_node = tree.push_leaf(0.0, (leaf.end - write) as f64);
        tree.set_children(leaf.node, left_node, right_node);
        bin_splits.extend([None, None]);

        let left_is_smaller = left_range.1 - left_range.0 <= right_range.1 - right_range.0;
        let (small_range, large_range) = if left_is_smaller {
            (left_range, right_range)
        } else {
            (right_range, left_range)
        };
        let left_sums = (split.left_g, split.left_h);
        let right_sums = (leaf.g - split.left_g, leaf.h - split.left_h);
        let (small_sums, large_sums) = if left_is_smaller {
            (left_sums, right_sums)
        } else {
            (right_sums, left_sums)
        };
        let small_histogram =
            self.histogram(&indices[small_range.0..small_range.1], small_sums, scratch);
        let mut large_histogram = leaf.histogram;
        let split_of = |histogram: &Histogram, range: (usize, usize), (g, h): (f64, f64)| {
            (leaf.depth + 1 < params.max_depth)
                .then(|| self.best_split(histogram, g, h, (range.1 - range.0) as u32, params))
                .flatten()
        };
        // The larger child's histogram (parent less the smaller child) and split search run
        // beside the smaller child's split search.
        let (large_split, small_split) = rayon::join(
            || {
                for (l, s) in large_histogram.iter_mut().zip(&small_histogram) {
                    l.g -= s.g;
                    l.h -= s.h;
                    l.n -= s.n;
                }
                split_of(&large_histogram, large_range, large_sums)
            },
            || split_of(&small_histogram, small_range, small_sums),
        );
        let (small_node, large_node) = if left_is_smaller {
            (left_node, right_node)
        } else {
            (right_node, left_node)
        };
        let make = |node: u32, range: (usize, usize), (g, h), histogram, split| Leaf {
            node,
            start: range.0,
            end: range.1,
            depth: leaf.depth + 1,
            g,
            h,
            histogram,
            split,
        };
        let small = make(
            small_node,
            small_range,
            small_sums,
            small_histogram,
            small_split,
        );
        let large = make(
            large_node,
            large_range,
            large_sums,
            large_histogram,
            large_split,
        );
        debug_assert!(tree.feature[small.node as usize] == LEAF);
        (small, large)
    }
}

/// Fewest rows a leaf is partitioned in parallel chunks for.
const PARALLEL_PARTITION: usize = 16_384;

/// Moves the rows for which `goes_left` holds to the front of `rows`, keeping both sides in their
/// order; returns how many went left. `scratch` is reused memory.
fn partition(
    rows: &mut [u32],
    scratch: &mut Vec<u32>,
    goes_left: impl Fn(u32) -> bool + Sync,
) -> usize {
    scratch.resize(rows.len(), 0);
    if rows.len() < PARALLEL_PARTITION {
        let (left, right) = split_rows(rows, scratch, &goes_left);
        rows[left..].copy_from_slice(&scratch[..right]);
        return left;
    }
    let counts: Vec<(usize, usize)> = rows
        .par_chunks_mut(PARALLEL_PARTITION / 2)
        .zip(scratch.par_chunks_mut(PARALLEL_PARTITION / 2))
        .map(|(chunk, right)| split_rows(chunk, right, &goes_left))
        .collect();
    // Left rows sit at the front of each chunk, right rows at the front of its scratch chunk:
    // gather the lefts chunk by chunk, then the rights.
    let chunk = PARALLEL_PARTITION / 2;
    let mut write = 0;
    for (k, &(left, _)) in counts.iter().enumerate() {
        rows.copy_within(k * chunk..k * chunk + left, write);
        write += left;
    }
    let left_total = write;
    for (k, &(_, right)) in counts.iter().enumerate() {
        rows[write..write + right].copy_from_slice(&scratch[k * chunk..k * chunk + right]);
        write += right;
    }
    left_total
}

/// Moves the rows of `rows` for which `goes_left` holds to its front and the others to the front of
/// `right` (at least as long), both in order; returns both counts. Each row is written to both
/// sides and only the matching count moves on, so there is no branch to mispredict.
fn split_rows(
    rows: &mut [u32],
    right: &mut [u32],
    goes_left: &impl Fn(u32) -> bool,
) -> (usize, usize) {
    let (mut left_count, mut right_count) = (0, 0);
    for read in 0..rows.len() {
        let row = rows[read];
        let left = usize::from(goes_left(row));
        rows[left_count] = row;
        right[right_count] = row;
        left_count += left;
        right_count += 1 - left;
    }
    (left_count, right_count)
}

fn valid_side(n: u32, h: f64, params: &GrowParams) -> bool {
    n >= params.min_data_in_leaf && h >= params.min_sum_hessian
}

fn numeric_split(
    bins: &[Bin],
    g: f64,
    h: f64,
    n: u32,
    parent: f64,
    params: &GrowParams,
) -> Option<Split> {
    let missing = bins[0];
    let mut best: Option<Split> = None;
    let directions: &[bool] = if missing.n > 0 {
        &[false, true]
    } else {
        &[false]
    };
    for &missing_left in directions {
        let (mut lg, mut lh, mut ln) = if missing_left {
            (missing.g, missing.h, missing.n)
        } else {
            (0.0, 0.0, 0)
        };
        for (bin, stats) in bins.iter().enumerate().take(bins.len() - 1).skip(1) {
            lg += stats.g;
            lh += stats.h;
            ln += stats.n;
            if !valid_side(ln, lh, params) {
                continue;
            }
            let (rg, rh, rn) = (g - lg, h - lh, n - ln);
            if !valid_side(rn, rh, params) {
                break;
            }
            let gain = leaf_score(lg, lh, params.lambda_l2) + leaf_score(rg, rh, params.lambda_l2)
                - parent;
            if gain > params.min_split_gain && best.is_none_or(|b| gain > b.gain) {
                best = Some(Split {
                    gain,
                    feature: 0,
                    rule: SplitRule::Numeric { bin: bin as u8 },
                    missing_left,
                    left_n: ln,
                    left_g: lg,
                    left_h: lh,
                });
            }
        }
    }
    best
}

fn categorical_split(
    bins: &[Bin],
    g: f64,
    h: f64,
    n: u32,
    parent: f64,
    params: &GrowParams,
) -> Option<Split> {
    let missing = bins[0];
    let mut categories: Vec<(u8, Bin)> = bins
        .iter()
        .enumerate()
        .skip(1)
        .filter(|(_, b)| b.n > 0)
        .map(|(i, b)| (i as u8, *b))
        .collect();
    if categories.len() + usize::from(missing.n > 0) < 2 {
        return None;
    }
    let mut candidates: Vec<Vec<u8>> = Vec::new();
    if categories.len() <= params.max_cat_onehot {
        candidates.extend(categories.iter().map(|(bin, _)| vec![*bin]));
    } else {
        categories.sort_by(|a, b| {
            (a.1.g / (a.1.h + params.cat_smooth)).total_cmp(&(b.1.g / (b.1.h + params.cat_smooth)))
        });
        let limit = params.max_cat_threshold.min(categories.len() - 1);
        for k in 1..=limit {
            candidates.push(categories[..k].iter().map(|(bin, _)| *bin).collect());
            candidates.push(
                categories[categories.len() - k..]
                    .iter()
                    .map(|(bin, _)| *bin)
                    .collect(),
            );
        }
    }
    let directions: &[bool] = if missing.n > 0 {
        &[false, true]
    } else {
        &[false]
    };
    let mut best: Option<Split> = None;
    for left_bins in candidates {
        let mut set = [0u64; 4];
        let (mut cg, mut ch, mut cn) = (0.0, 0.0, 0u32);
        for &bin in &left_bins {
            set[usize::from(bin) / 64] |= 1 << (bin % 64);
            let stats = bins[usize::from(bin)];
            cg += stats.g;
            ch += stats.h;
            cn += stats.n;
        }
        for &missing_left in directions {
            let (lg, lh, ln) = if missing_left {
                (cg + missing.g, ch + missing.h, cn + missing.n)
            } else {
                (cg, ch, cn)
            };
            let (rg, rh, rn) = (g - lg, h - lh, n - ln);
            if !valid_side(ln, lh, params) || !valid_side(rn, rh, params) {
                continue;
            }
            let gain = leaf_score(lg, lh, params.lambda_l2) + leaf_score(rg, rh, params.lambda_l2)
                - parent;
            if gain > params.min_split_gain && best.is_none_or(|b| gain > b.gain) {
                best = Some(Split {
                    gain,
                    feature: 0,
                    rule: SplitRule::Categorical { left: set },
                    missing_left,
                    left_n: ln,
                    left_g: lg,
                    left_h: lh,
                });
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use leadscore_features::{FeatureInfo, FeatureKind, FeatureSource};
    use ndarray::Array2;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn info(name: &str, kind: FeatureKind) -> FeatureInfo {
        FeatureInfo {
            name: name.to_owned(),
            kind,
            source: FeatureSource::Attribute(name.to_owned()),
        }
    }

    /// Dense and sparse numeric and categorical columns, with missing values.
    fn binned_sample(rows: usize) -> (BinnedRows, Vec<(f64, f64)>) {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let features = vec![
            info("dense", FeatureKind::Numeric),
            info("mostly_zero", FeatureKind::Numeric),
            info("mostly_one_level", FeatureKind::Categorical { n_codes: 5 }),
            info("dense_level", FeatureKind::Categorical { n_codes: 3 }),
            info("mostly_missing", FeatureKind::Numeric),
        ];
        let x = Array2::from_shape_fn((rows, features.len()), |(_, j)| {
            let u: f64 = rng.random();
            match j {
                0 => (u * 1000.0).round(),
                1 if u < 0.9 => 0.0,
                1 => (u * 50.0).round(),
                2 if u < 0.8 => 0.0,
                2 => f64::from(rng.random_range(1..5u8)),
                3 => f64::from(rng.random_range(0..3u8)),
                _ if u < 0.85 => f64::NAN,
                _ => u,
            }
        });
        let binned = BinnedRows::fit(x.view(), &features, 64);
        let gradients = (0..rows)
            .map(|_| (rng.random::<f64>() - 0.5, rng.random::<f64>() * 0.25 + 1e-3))
            .collect();
        (binned, gradients)
    }

    #[test]
    fn sparse_and_dense_histograms_equal_direct_sums() {
        let rows = 5000;
        let (binned, gradients) = binned_sample(rows);
        assert!(!binned.sparse.is_empty() && !binned.dense.is_empty());
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let used = [true, true, true, false, true];
        let data = GrowData::new(&binned, &gradients, &used);
        // One leaf above the parallel threshold and one below it.
        for share in [0.6, 0.1] {
            let indices: Vec<u32> = (0..rows as u32)
                .filter(|_| rng.random::<f64>() < share)
                .collect();
            let totals = indices.iter().fold((0.0, 0.0), |(g, h), &row| {
                (g + gradients[row as usize].0, h + gradients[row as usize].1)
            });
            let histogram = data.histogram(&indices, totals, &mut Scratch::default());
            for feature in (0..used.len()).filter(|&f| used[f]) {
                let mut direct = vec![Bin::default(); binned.mappers[feature].n_bins()];
                for &row in &indices {
                    let bin =
                        &mut direct[usize::from(binned.columns[feature * rows + row as usize])];
                    bin.g += gradients[row as usize].0;
                    bin.h += gradients[row as usize].1;
                    bin.n += 1;
                }
                for (built, direct) in histogram[binned.bins_of(feature)].iter().zip(&direct) {
                    assert_eq!(built.n, direct.n, "feature {feature}");
                    assert!((built.g - direct.g).abs() < 1e-9, "feature {feature}");
                    assert!((built.h - direct.h).abs() < 1e-9, "feature {feature}");
                }
            }
        }
    }

    #[test]
    fn partition_in_parallel_chunks_is_stable() {
        let rows: Vec<u32> = (0..100_000).filter(|r| r % 3 != 0).collect();
        let goes_left = |row: u32| row.wrapping_mul(2_654_435_761) % 7 < 3;
        let mut partitioned = rows.clone();
        let left = partition(&mut partitioned, &mut Vec::new(), goes_left);
        let expected: Vec<u32> = rows
            .iter()
            .copied()
            .filter(|&r| goes_left(r))
            .chain(rows.iter().copied().filter(|&r| !goes_left(r)))
            .collect();
        assert!(rows.len() >= PARALLEL_PARTITION);
        assert_eq!(left, rows.iter().filter(|&&r| goes_left(r)).count());
        assert_eq!(partitioned, expected);
    }
}
