//! Growing one regression tree on gradient histograms, best leaf first.
//!
//! Each leaf owns a contiguous range of the row-index array. Splitting a leaf partitions its range
//! in place (stable, so indices stay ascending and memory access stays sequential), builds the
//! histogram of the smaller child and gets the larger child's by subtraction from the parent.

use rayon::prelude::*;

use super::binning::BinMapper;
use crate::tree::{LEAF, Tree};

/// Gradient statistics of one bin.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Bin {
    pub g: f64,
    pub h: f64,
    pub n: u32,
}

/// Per-feature histograms of one leaf.
type Histogram = Vec<Vec<Bin>>;

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
    pub binned: &'a [Vec<u8>],
    pub mappers: &'a [BinMapper],
    pub gradients: &'a [(f64, f64)],
    pub features: &'a [bool],
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
    /// The tree's output for row `row` of binned columns (bins of the training mappers).
    pub fn predict_binned(&self, columns: &[Vec<u8>], row: usize) -> f64 {
        let mut node = 0;
        while let Some(split) = self.bin_splits[node] {
            node = if split.goes_left(columns[split.feature][row]) {
                self.tree.left[node]
            } else {
                self.tree.right[node]
            } as usize;
        }
        self.tree.value[node]
    }
}

/// A chosen split on bins; bin 0 holds missing values.
#[derive(Debug, Clone, Copy)]
struct BinSplit {
    feature: usize,
    rule: SplitRule,
    missing_left: bool,
}

impl BinSplit {
    fn goes_left(&self, bin: u8) -> bool {
        match self.rule {
            _ if bin == 0 => self.missing_left,
            SplitRule::Numeric { bin: threshold } => bin <= threshold,
            SplitRule::Categorical { left } => bit_set(&left, bin),
        }
    }
}

/// Fewest rows for which a histogram is built in four partial lanes (merging them costs four
/// passes over the bins).
const LANE_ROWS: usize = 2048;

fn bit_set(set: &[u64; 4], bin: u8) -> bool {
    set[usize::from(bin) / 64] >> (bin % 64) & 1 == 1
}

fn leaf_score(g: f64, h: f64, lambda: f64) -> f64 {
    g * g / (h + lambda)
}

impl GrowData<'_> {
    fn histogram(&self, indices: &[u32], into: &mut Histogram) {
        // The leaf's gradients gathered once in row order: each feature's pass then reads them
        // in sequence instead of fetching them from all over the gradient array again.
        let ordered: Vec<(f64, f64)> = indices
            .iter()
            .map(|&row| self.gradients[row as usize])
            .collect();
        into.par_iter_mut().enumerate().for_each(|(feature, bins)| {
            bins.fill(Bin::default());
            if !self.features[feature] {
                return;
            }
            let column = &self.binned[feature];
            let add = |bins: &mut [Bin], row: u32, (g, h): (f64, f64)| {
                let bin = &mut bins[usize::from(column[row as usize])];
                bin.g += g;
                bin.h += h;
                bin.n += 1;
            };
            if indices.len() < LANE_ROWS {
                for (&row, &gradient) in indices.iter().zip(&ordered) {
                    add(bins, row, gradient);
                }
                return;
            }
            // Neighbouring rows often fall in the same bin, and each addition would wait for
            // the previous one's store: four partial histograms keep four additions in flight.
            let mut lanes = [bins.clone(), bins.clone(), bins.clone()];
            let mut rows = indices.chunks_exact(4);
            let mut gradients = ordered.chunks_exact(4);
            for (row, gradient) in (&mut rows).zip(&mut gradients) {
                add(bins, row[0], gradient[0]);
                add(&mut lanes[0], row[1], gradient[1]);
                add(&mut lanes[1], row[2], gradient[2]);
                add(&mut lanes[2], row[3], gradient[3]);
            }
            for (&row, &gradient) in rows.remainder().iter().zip(gradients.remainder()) {
                add(bins, row, gradient);
            }
            for lane in &lanes {
                for (bin, part) in bins.iter_mut().zip(lane) {
                    bin.g += part.g;
                    bin.h += part.h;
                    bin.n += part.n;
                }
            }
        });
    }

    fn empty_histogram(&self) -> Histogram {
        self.mappers
            .iter()
            .map(|m| vec![Bin::default(); m.n_bins()])
            .collect()
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
        histogram
            .par_iter()
            .enumerate()
            .filter(|(feature, _)| self.features[*feature])
            .filter_map(|(feature, bins)| {
                let split = match self.mappers[feature] {
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
            .reduce_with(|a, b| {
                if b.gain > a.gain || (b.gain == a.gain && b.feature < a.feature) {
                    b
                } else {
                    a
                }
            })
    }

    /// Grows a tree on the rows in `indices` (reordered in place). `scratch` is reused memory.
    pub fn grow(&self, indices: &mut [u32], scratch: &mut Vec<u32>, params: &GrowParams) -> Grown {
        let mut tree = Tree::default();
        let (g, h) = indices.iter().fold((0.0, 0.0), |(g, h), &i| {
            let (gi, hi) = self.gradients[i as usize];
            (g + gi, h + hi)
        });
        let mut histogram = self.empty_histogram();
        self.histogram(indices, &mut histogram);
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
        for leaf in &leaves {
            tree.value[leaf.node as usize] =
                -leaf.g / (leaf.h + params.lambda_l2) * params.learning_rate;
            leaf_ranges.push((leaf.node, leaf.start, leaf.end));
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
        scratch: &mut Vec<u32>,
        tree: &mut Tree,
        bin_splits: &mut Vec<Option<BinSplit>>,
        params: &GrowParams,
    ) -> (Leaf, Leaf) {
        let Some(split) = leaf.split else {
            unreachable!("only leaves with a split are chosen");
        };
        let column = &self.binned[split.feature];
        let bin_split = BinSplit {
            feature: split.feature,
            rule: split.rule,
            missing_left: split.missing_left,
        };
        bin_splits[leaf.node as usize] = Some(bin_split);
        scratch.clear();
        let mut write = leaf.start;
        for read in leaf.start..leaf.end {
            let row = indices[read];
            if bin_split.goes_left(column[row as usize]) {
                indices[write] = row;
                write += 1;
            } else {
                scratch.push(row);
            }
        }
        indices[write..leaf.end].copy_from_slice(scratch);
        debug_assert_eq!((write - leaf.start) as u32, split.left_n);

        let node = leaf.node as usize;
        tree.feature[node] = split.feature as u32;
        tree.default_left[node] = split.missing_left;
        let mapper = &self.mappers[split.feature];
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

        let sum = |range: (usize, usize)| {
            indices[range.0..range.1]
                .iter()
                .fold((0.0, 0.0), |(g, h), &i| {
                    let (gi, hi) = self.gradients[i as usize];
                    (g + gi, h + hi)
                })
        };
        let left_is_smaller = left_range.1 - left_range.0 <= right_range.1 - right_range.0;
        let (small_range, large_range) = if left_is_smaller {
            (left_range, right_range)
        } else {
            (right_range, left_range)
        };
        let mut small_histogram = self.empty_histogram();
        self.histogram(&indices[small_range.0..small_range.1], &mut small_histogram);
        let mut large_histogram = leaf.histogram;
        large_histogram
            .par_iter_mut()
            .zip(&small_histogram)
            .for_each(|(large, small)| {
                for (l, s) in large.iter_mut().zip(small) {
                    l.g -= s.g;
                    l.h -= s.h;
                    l.n -= s.n;
                }
            });
        let make = |node: u32, range: (usize, usize), histogram: Histogram| {
            let (g, h) = sum(range);
            let n = (range.1 - range.0) as u32;
            let split = if leaf.depth + 1 < params.max_depth {
                self.best_split(&histogram, g, h, n, params)
            } else {
                None
            };
            Leaf {
                node,
                start: range.0,
                end: range.1,
                depth: leaf.depth + 1,
                g,
                h,
                histogram,
                split,
            }
        };
        let (small_node, large_node) = if left_is_smaller {
            (left_node, right_node)
        } else {
            (right_node, left_node)
        };
        let small = make(small_node, small_range, small_histogram);
        let large = make(large_node, large_range, large_histogram);
        debug_assert!(tree.feature[small.node as usize] == LEAF);
        (small, large)
    }
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
                });
            }
        }
    }
    best
}
