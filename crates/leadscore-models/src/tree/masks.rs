//! A tree of up to 64 splits as bit masks: each split is one bit, set when a row goes left there,
//! and each leaf is the pattern of bits that reaches it. A block of rows then goes through a
//! tree one split at a time over all its rows (a loop the compiler vectorizes) and finds its
//! leaves without a branch, instead of walking node by node, where every level waits on the
//! last and half the turns are mispredicted. The boosted model predicts blocks of rows this way,
//! and its per-leaf TreeSHAP tables ([`super::shap`]) are laid out on the same leaves.

use super::columns::{BlockColumns, MISSING_BIT, category_bit};
use super::{LEAF, Tree};

/// Most splits a tree may have for [`SplitMasks`] (one bit each in a `u64`): 65 leaves.
pub(super) const MAX_MASK_SPLITS: usize = 64;

/// A tree's splits as the bits of a mask, and its leaves as the masks that reach them.
#[derive(Debug, Default)]
pub(super) struct SplitMasks {
    /// The tree's splits are numbered in node order, bit s of a mask standing for split s:
    /// its numeric splits, tested without branches,
    numeric_splits: Vec<NumericSplit>,
    /// and its category splits.
    category_splits: Vec<SplitTest>,
    /// The node of each split, by bit.
    pub(super) split_nodes: Vec<u32>,
    /// The leaves, depth first with right children first (the order of TreeSHAP's tables).
    pub(super) leaves: Vec<LeafMask>,
}

/// The splits of one leaf's path, and which way the path takes at each.
#[derive(Debug, Clone, Copy)]
pub(super) struct LeafMask {
    /// Splits on the leaf's path.
    pub(super) path: u64,
    /// Splits on the path that the path leaves to the left.
    pub(super) lefts: u64,
    /// The leaf's output.
    pub(super) value: f64,
}

impl LeafMask {
    /// The splits of the path where a row going left at `lefts` goes the other way: none for
    /// the one leaf the row reaches.
    #[inline]
    pub(super) fn astray(&self, lefts: u64) -> u64 {
        (lefts ^ self.lefts) & self.path
    }
}

/// A numeric split: left when `x <= threshold`, or when `x` is missing and `default_left`.
#[derive(Debug, Clone, Copy)]
struct NumericSplit {
    threshold: f64,
    feature: u32,
    bit: u32,
    default_left: bool,
}

impl NumericSplit {
    /// [`Tree::goes_left`] of this split, without a branch.
    #[inline]
    fn goes_left(&self, x: f64) -> bool {
        if_missing(x, self.default_left, x <= self.threshold)
    }
}

/// A split as the masks evaluate it: categories in a 64-bit set when every code is below 64.
#[derive(Debug, Clone, Copy)]
struct SplitTest {
    bit: u32,
    node: u32,
    feature: u32,
    default_left: bool,
    rule: SplitRule,
}

impl SplitTest {
    /// [`Tree::goes_left`] of this split, without its indirections.
    #[inline]
    fn goes_left(&self, tree: &Tree, x: f64) -> bool {
        match self.rule {
            SplitRule::SmallCodes(set) => category_bit(x) & set != 0,
            SplitRule::Codes if x.is_nan() => self.default_left,
            SplitRule::Codes => tree.goes_left(self.node as usize, x),
        }
    }
}

/// `default_left` when `x` is missing, else `present_left`, without a branch.
#[inline]
fn if_missing(x: f64, default_left: bool, present_left: bool) -> bool {
    let missing = x.is_nan();
    (missing & default_left) | (!missing & present_left)
}

/// How a category split sends a present code left.
#[derive(Debug, Clone, Copy)]
enum SplitRule {
    /// Left when the value's [`category_bit`] is set: the codes (all below 63), and
    /// [`MISSING_BIT`] when a missing value goes left.
    SmallCodes(u64),
    /// Left when the code is in the tree's category set (codes of 63 and above).
    Codes,
}

impl SplitMasks {
    /// The masks of `tree`, or `None` when it has no node or more than [`MAX_MASK_SPLITS`]
    /// splits (it is walked node by node).
    pub(super) fn build(tree: &Tree) -> Option<Self> {
        if tree.is_empty() {
            return None;
        }
        let mut masks = Self::default();
        let mut bit_of = vec![u32::MAX; tree.len()];
        for (node, bit) in bit_of.iter_mut().enumerate() {
            if tree.feature[node] == LEAF {
                continue;
            }
            if masks.split_nodes.len() == MAX_MASK_SPLITS {
                return None;
            }
            *bit = masks.split_nodes.len() as u32;
            masks.split_nodes.push(node as u32);
            let (feature, default_left) = (tree.feature[node], tree.default_left[node]);
            let rule = match tree.category_set[node] {
                -1 => {
                    masks.numeric_splits.push(NumericSplit {
                        threshold: tree.threshold[node],
                        feature,
                        bit: *bit,
                        default_left,
                    });
                    continue;
                }
                set => {
                    let codes = &tree.category_sets[set as usize];
                    if codes.iter().all(|&c| c < 63) {
                        let missing = if default_left { MISSING_BIT } else { 0 };
                        SplitRule::SmallCodes(codes.iter().fold(missing, |m, &c| m | 1 << c))
                    } else {
                        SplitRule::Codes
                    }
                }
            };
            masks.category_splits.push(SplitTest {
                bit: *bit,
                node: node as u32,
                feature,
                default_left,
                rule,
            });
        }
        // (node, path so far, lefts so far) depth first.
        let mut stack = vec![(0usize, 0u64, 0u64)];
        while let Some((node, path, lefts)) = stack.pop() {
            if tree.feature[node] == LEAF {
                masks.leaves.push(LeafMask {
                    path,
                    lefts,
                    value: tree.value[node],
                });
                continue;
            }
            let bit = 1u64 << bit_of[node];
            stack.push((tree.left[node] as usize, path | bit, lefts | bit));
            stack.push((tree.right[node] as usize, path | bit, lefts));
        }
        Some(masks)
    }

    /// Bit s set when the row goes left at split s.
    #[inline]
    pub(super) fn lefts(&self, tree: &Tree, row: &[f64]) -> u64 {
        let mut lefts = 0u64;
        for split in &self.numeric_splits {
            let left = split.goes_left(row[split.feature as usize]);
            lefts |= u64::from(left) << split.bit;
        }
        for split in &self.category_splits {
            let left = split.goes_left(tree, row[split.feature as usize]);
            lefts |= u64::from(left) << split.bit;
        }
        lefts
    }

    /// [`SplitMasks::lefts`] of a block's rows, one split at a time over all rows, which the
    /// compiler vectorizes; category splits test the block's category bits.
    pub(super) fn lefts_of_columns(
        &self,
        tree: &Tree,
        block: &mut BlockColumns,
        masks: &mut Vec<u64>,
    ) {
        masks.clear();
        masks.resize(block.rows(), 0);
        for split in &self.numeric_splits {
            for (mask, &x) in masks.iter_mut().zip(block.column(split.feature)) {
                *mask |= u64::from(split.goes_left(x)) << split.bit;
            }
        }
        for split in &self.category_splits {
            match split.rule {
                SplitRule::SmallCodes(set) => {
                    for (mask, &bit) in masks.iter_mut().zip(block.category_bits(split.feature)) {
                        *mask |= u64::from(bit & set != 0) << split.bit;
                    }
                }
                SplitRule::Codes => {
                    for (mask, &x) in masks.iter_mut().zip(block.column(split.feature)) {
                        *mask |= u64::from(split.goes_left(tree, x)) << split.bit;
                    }
                }
            }
        }
    }

    /// Adds to `sums[i]` the output of the leaf that `masks[i]` reaches; `values` is scratch.
    /// Exactly one leaf matches a mask, so OR-ing the bits of every leaf's value under an
    /// all-ones or all-zeros word gives that leaf's value bit for bit, without a branch for the
    /// processor to mispredict, and leaf by leaf over all rows the loop vectorizes.
    pub(super) fn add_outputs(&self, masks: &[u64], values: &mut Vec<u64>, sums: &mut [f64]) {
        values.clear();
        values.resize(masks.len(), 0);
        for leaf in &self.leaves {
            let bits = leaf.value.to_bits();
            for (value, &lefts) in values.iter_mut().zip(masks) {
                let reached = u64::from(leaf.astray(lefts) == 0);
                *value |= bits & reached.wrapping_neg();
            }
        }
        for (sum, &value) in sums.iter_mut().zip(values.iter()) {
            *sum += f64::from_bits(value);
        }
    }
}

impl Tree {
    /// The tree's [`SplitMasks`], built on first use; `None` for a tree walked node by node.
    pub(super) fn split_masks(&self) -> Option<&SplitMasks> {
        self.masks
            .0
            .get_or_init(|| SplitMasks::build(self).map(Box::new))
            .as_deref()
    }

    /// Adds the tree's output for each row of `block` (`rows[i]` in columns) to `sums[i]`: the
    /// values of [`Tree::predict`], found through the split masks (`masks` and `values` are
    /// scratch), or by walking each row for a tree too large for them.
    pub(super) fn add_outputs_of_block(
        &self,
        rows: &[&[f64]],
        block: &mut BlockColumns,
        masks: &mut Vec<u64>,
        values: &mut Vec<u64>,
        sums: &mut [f64],
    ) {
        match self.split_masks() {
            Some(split_masks) => {
                split_masks.lefts_of_columns(self, block, masks);
                split_masks.add_outputs(masks, values, sums);
            }
            None => {
                for (sum, row) in sums.iter_mut().zip(rows) {
                    *sum += self.predict(row);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;
    use crate::tree::{random_row, random_tree};

    #[test]
    fn block_outputs_are_the_walked_ones_to_the_bit() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        // Trees of up to 64 splits go through their masks; deeper ones, some with more than 64
        // splits, and a lone leaf are covered too.
        let mut trees: Vec<Tree> = (0..40)
            .map(|k| random_tree(&mut rng, if k < 34 { 6 } else { 9 }, 7))
            .collect();
        let mut lone_leaf = Tree::default();
        lone_leaf.push_leaf(-0.75, 10.0);
        trees.push(lone_leaf);
        let masked = trees.iter().filter(|t| t.split_masks().is_some()).count();
        assert!(masked > 30 && masked < trees.len(), "{masked} trees masked");
        let rows: Vec<Vec<f64>> = (0..500).map(|_| random_row(&mut rng, 7)).collect();
        let slices: Vec<&[f64]> = rows.iter().map(Vec::as_slice).collect();
        let mut block = BlockColumns::default();
        block.fill(&slices);
        let (mut masks, mut values) = (Vec::new(), Vec::new());
        for tree in &trees {
            let mut sums = vec![0.0; rows.len()];
            tree.add_outputs_of_block(&slices, &mut block, &mut masks, &mut values, &mut sums);
            for (sum, row) in sums.iter().zip(&slices) {
                assert_eq!(
                    sum.to_bits(),
                    (0.0 + tree.predict(row)).to_bits(),
                    "{row:?}"
                );
            }
        }
    }
}
