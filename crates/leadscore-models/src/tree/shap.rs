//! Exact TreeSHAP contributions of a [`Tree`]: per-leaf tables (Fast TreeSHAP v2) for trees
//! up to 64 splits, and the recursive algorithm (Lundberg et al. 2018) for larger ones.

use super::masks::{MAX_MASK_SPLITS, SplitMasks};
use super::memo::ContributionMemo;
use super::{LEAF, Tree};

/// Most distinct features on one root-to-leaf path for which a leaf gets a precomputed table
/// (2^k values); a tree with a longer path is explained by the recursive algorithm.
const MAX_TABLE_FEATURES: usize = 12;

/// Most table values of one tree (128 KiB), so that a model's tables stay a few megabytes; a
/// tree needing more is explained by the recursive algorithm.
const MAX_TABLE_VALUES: usize = 1 << 14;

/// What explaining a tree needs besides its arrays.
#[derive(Debug)]
pub(super) struct Explainer {
    /// Cover-weighted mean output.
    expected: f64,
    /// `None` when the tree is explained by the recursion.
    tables: Option<Box<ShapTables>>,
}

/// Path-dependent TreeSHAP, rearranged per leaf (after Fast TreeSHAP v2, Yang 2021): a leaf's
/// contribution to feature i depends on the row only through A, the set of its path's features
/// whose every split the row follows the leaf's way. With k distinct features on the path, zero
/// fractions z and Shapley weights w(s) = s!(k-s-1)!/k!, and H(B) = Σ_{S⊆B} w(|S|) Π_{j∉S} z_j:
/// a feature in A gets v(1 - z_i)/z_i · H(A∖{i}), a feature outside A gets -v·H(A). Building
/// H costs O(2^k k) per leaf once. Explaining a row evaluates each split once into a bit mask of
/// the splits it goes left at; a leaf's set A then takes one masked comparison per feature, so a
/// row costs O(k) per leaf instead of the recursion's O(k²) and allocates nothing.
///
/// The contributions are a function of that bit mask alone, and rows share masks: 1M generated
/// leads take about 2,500 distinct masks per tree of 15 leaves. A [`ContributionMemo`] keeps each
/// mask's tree contributions, computed by the same routine, so a batch explains most rows of a
/// tree by one lookup and the values do not depend on whether a mask was remembered.
#[derive(Debug, Default)]
struct ShapTables {
    /// The distinct features the tree splits on, in node order: the slots of a tree's
    /// contributions.
    features_split_on: Vec<u32>,
    /// Per leaf of the tree's [`SplitMasks`], in their order: where its parts start in the flat
    /// arrays below.
    leaves: Vec<LeafSpan>,
    /// Per leaf feature (bit b of a leaf's sets stands for its b-th): the feature, the splits
    /// of the path on it, and v(1 - z)/z, the factor of a feature the row follows.
    features: Vec<LeafFeature>,
    /// H(B) for every subset B of each leaf's features.
    h: Vec<f64>,
}

/// One leaf's parts in [`ShapTables`]' arrays.
#[derive(Debug, Clone, Copy)]
struct LeafSpan {
    features: u32,
    feature_count: u8,
    h: u32,
}

/// One distinct feature of a leaf's path.
#[derive(Debug, Clone, Copy)]
struct LeafFeature {
    /// Its index in [`ShapTables::features_split_on`].
    slot: u32,
    splits: u64,
    followed_factor: f64,
}

impl ShapTables {
    /// The tables of `tree`, whose leaves `masks` lists, or `None` when a path has too many
    /// distinct features, the tables would be too large, or a cover is zero (the recursion
    /// handles those).
    fn build(tree: &Tree, masks: &SplitMasks) -> Option<Self> {
        let mut tables = Self::default();
        for &node in &masks.split_nodes {
            let feature = tree.feature[node as usize];
            if !tables.features_split_on.contains(&feature) {
                tables.features_split_on.push(feature);
            }
        }
        let mut values = 0;
        for leaf in &masks.leaves {
            let mut features: Vec<LeafFeature> = Vec::new();
            let mut zero: Vec<f64> = Vec::new();
            // The path's splits root first: children follow their parent in the arrays, and
            // splits are numbered in node order.
            let mut rest = leaf.path;
            while rest != 0 {
                let bit = 1u64 << rest.trailing_zeros();
                rest &= !bit;
                let split = masks.split_nodes[bit.trailing_zeros() as usize] as usize;
                let feature = tree.feature[split];
                let child = if leaf.lefts & bit != 0 {
                    tree.left[split]
                } else {
                    tree.right[split]
                } as usize;
                let ratio = tree.cover[child] / tree.cover[split];
                let slot = tables
                    .features_split_on
                    .iter()
                    .position(|&f| f == feature)
                    .expect("every split's feature has a slot") as u32;
                match features.iter().position(|f| f.slot == slot) {
                    Some(b) => {
                        zero[b] *= ratio;
                        features[b].splits |= bit;
                    }
                    None => {
                        features.push(LeafFeature {
                            slot,
                            splits: bit,
                            followed_factor: 0.0,
                        });
                        zero.push(ratio);
                    }
                }
            }
            if features.len() > MAX_TABLE_FEATURES
                || zero
                    .iter()
                    .any(|&z| !(z > f64::MIN_POSITIVE && z.is_finite()))
            {
                return None;
            }
            values += 1 << features.len();
            if values > MAX_TABLE_VALUES {
                return None;
            }
            for (f, &z) in features.iter_mut().zip(&zero) {
                f.followed_factor = leaf.value * (1.0 - z) / z;
            }
            tables.leaves.push(LeafSpan {
                features: tables.features.len() as u32,
                feature_count: features.len() as u8,
                h: tables.h.len() as u32,
            });
            tables.h.extend(subset_sums(&zero));
            tables.features.extend(features);
        }
        Some(tables)
    }

    /// Adds the row's contributions to `phi`; returns the output of the leaf the row reaches,
    /// the one leaf whose path it follows at every split.
    fn add_contributions(
        &self,
        tree: &Tree,
        masks: &SplitMasks,
        row: &[f64],
        phi: &mut [f64],
    ) -> f64 {
        self.add_contributions_of_mask(masks, masks.lefts(tree, row), phi)
    }

    /// Adds the contributions of a row going left at the splits of `lefts` to `phi`, computed
    /// without a memo; returns the output of the leaf reached.
    fn add_contributions_of_mask(&self, masks: &SplitMasks, lefts: u64, phi: &mut [f64]) -> f64 {
        let mut entry = [0.0; 1 + MAX_MASK_SPLITS];
        let entry = &mut entry[..self.entry_width()];
        self.contributions_of_mask(masks, lefts, entry);
        self.add_entry(entry, phi)
    }

    /// [`ShapTables::add_contributions`] of the rows of `memo`'s block, adding each row's leaf
    /// output to `outputs`, with the entries of `memo`'s tree `number`. The rows' masks are
    /// looked up together and their entries read ahead, so that the cache misses of a large memo
    /// overlap.
    fn add_contributions_of_rows(
        &self,
        tree: &Tree,
        split_masks: &SplitMasks,
        phis: &mut [&mut [f64]],
        outputs: &mut [f64],
        memo: &mut ContributionMemo,
        number: usize,
    ) {
        let width = self.entry_width();
        let mut masks = std::mem::take(&mut memo.masks);
        let mut found = std::mem::take(&mut memo.found);
        split_masks.lefts_of_columns(tree, &mut memo.block, &mut masks);
        memo.read_ahead_homes(masks.iter().map(|&mask| (number, mask)));
        found.clear();
        found.extend(masks.iter().map(|&mask| memo.candidate(number, mask)));
        memo.read_ahead_entries(found.iter().flatten().map(|&start| (start, width)));
        for (((&mask, &candidate), phi), output) in masks.iter().zip(&found).zip(phis).zip(outputs)
        {
            *output += self.add_contributions_of_candidate(
                split_masks,
                mask,
                candidate,
                phi,
                memo,
                number,
            );
        }
        memo.masks = masks;
        memo.found = found;
    }

    /// Adds the contributions of the row going left at `lefts` to `phi` from `memo`'s entry
    /// for tree `number` (its `candidate` confirmed, or remembered now), or computed when the
    /// memo is full; returns the output of the leaf reached.
    fn add_contributions_of_candidate(
        &self,
        masks: &SplitMasks,
        lefts: u64,
        candidate: Option<u32>,
        phi: &mut [f64],
        memo: &mut ContributionMemo,
        number: usize,
    ) -> f64 {
        let width = self.entry_width();
        let start = candidate
            .filter(|&start| memo.is_entry_of(start, lefts))
            .or_else(|| {
                memo.remember(number, lefts, width, |entry| {
                    self.contributions_of_mask(masks, lefts, entry)
                })
            });
        match start {
            Some(start) => self.add_entry(memo.entry(start, width), phi),
            None => self.add_contributions_of_mask(masks, lefts, phi),
        }
    }

    /// Values of one mask's entry: the leaf output, then one per feature split on.
    fn entry_width(&self) -> usize {
        1 + self.features_split_on.len()
    }

    /// Adds an entry's contributions to `phi`; returns its leaf output.
    fn add_entry(&self, entry: &[f64], phi: &mut [f64]) -> f64 {
        for (&feature, value) in self.features_split_on.iter().zip(&entry[1..]) {
            phi[feature as usize] += value;
        }
        entry[0]
    }

    /// The tree's contributions for a row going left at the splits of `lefts`, into a zeroed
    /// `entry`: the output of the leaf reached, then one value per feature split on.
    fn contributions_of_mask(&self, masks: &SplitMasks, lefts: u64, entry: &mut [f64]) {
        let (output, slots) = entry.split_first_mut().expect("an entry holds the output");
        for (leaf, span) in masks.leaves.iter().zip(&self.leaves) {
            let astray = leaf.astray(lefts);
            if astray == 0 {
                *output = leaf.value;
            }
            // The leaf value, negated: the factor of a feature the row does not follow.
            let unfollowed_factor = -leaf.value;
            let features = &self.features
                [span.features as usize..span.features as usize + span.feature_count as usize];
            let mut followed: usize = 0;
            for (b, f) in features.iter().enumerate() {
                followed |= ((astray & f.splits == 0) as usize) << b;
            }
            let h = &self.h[span.h as usize..];
            for (b, f) in features.iter().enumerate() {
                // Without branches (the directions are data): a followed feature reads H with
                // its bit cleared and an unfollowed one H(A), whose bit is clear already.
                let followed_here = followed >> b & 1 != 0;
                let factor = if followed_here {
                    f.followed_factor
                } else {
                    unfollowed_factor
                };
                slots[f.slot as usize] += factor * h[followed & !(1 << b)];
            }
        }
    }
}

/// H(B) = Σ_{S⊆B} w(|S|) Π_{j∈F∖S} z_j for every subset B of the k features F, where
/// w(s) = s!(k-s-1)!/k!. Built from P_B(s) = Σ_{S⊆B,|S|=s} Π_{j∈B∖S} z_j, which adds one feature
/// at a time: P_B(s) = z_b P_{B∖b}(s) + P_{B∖b}(s-1).
fn subset_sums(zero: &[f64]) -> Vec<f64> {
    let k = zero.len();
    let weights: Vec<f64> = (0..k)
        .map(|s| {
            // s!(k-s-1)!/k! as a running product, exact enough for k ≤ 12.
            let mut w = 1.0 / k as f64;
            for i in 1..=s {
                w *= i as f64 / (k - i) as f64;
            }
            w
        })
        .collect();
    let subsets = 1usize << k;
    let mut polynomials = vec![0.0; subsets * (k + 1)];
    polynomials[0] = 1.0;
    let mut h = vec![0.0; subsets];
    for set in 0..subsets {
        if set > 0 {
            let highest = usize::BITS as usize - 1 - set.leading_zeros() as usize;
            let smaller = set & !(1 << highest);
            for s in 0..=k {
                let kept = zero[highest] * polynomials[smaller * (k + 1) + s];
                let taken = if s > 0 {
                    polynomials[smaller * (k + 1) + s - 1]
                } else {
                    0.0
                };
                polynomials[set * (k + 1) + s] = kept + taken;
            }
        }
        let outside: f64 = (0..k)
            .filter(|&j| set & (1 << j) == 0)
            .map(|j| zero[j])
            .product();
        h[set] = (0..k)
            .map(|s| weights[s] * polynomials[set * (k + 1) + s])
            .sum::<f64>()
            * outside;
    }
    h
}

impl Tree {
    fn explainer(&self) -> &Explainer {
        self.explainer.0.get_or_init(|| Explainer {
            expected: self.weighted_mean_output(),
            tables: self
                .split_masks()
                .and_then(|masks| ShapTables::build(self, masks))
                .map(Box::new),
        })
    }

    /// Cover-weighted mean output: the tree's expected value over the training rows (computed
    /// once per loaded tree).
    pub fn expected_value(&self) -> f64 {
        if self.is_empty() {
            return 0.0;
        }
        self.explainer().expected
    }

    fn weighted_mean_output(&self) -> f64 {
        let root = self.cover.first().copied().unwrap_or(0.0);
        if root <= 0.0 {
            return 0.0;
        }
        self.feature
            .iter()
            .enumerate()
            .filter(|&(_, &f)| f == LEAF)
            .map(|(i, _)| self.value[i] * self.cover[i] / root)
            .sum()
    }

    /// Adds the exact Shapley contribution of each feature to `phi` (path-dependent TreeSHAP,
    /// Lundberg et al. 2018, Algorithm 2). `expected_value() + Σ phi == predict(row)`; returns
    /// `predict(row)` itself, which the tables find on the way.
    pub fn add_contributions(&self, row: &[f64], phi: &mut [f64]) -> f64 {
        if self.is_empty() {
            return 0.0;
        }
        match self.memo_tables() {
            Some((masks, tables)) => tables.add_contributions(self, masks, row, phi),
            None => {
                self.add_contributions_recursively(row, phi);
                self.predict(row)
            }
        }
    }

    /// [`Tree::add_contributions`] of several rows, adding each one's output to `outputs`;
    /// rows that take the same way at every split share one entry of `memo`, where this tree
    /// is number `number` and the rows are already in columns. The values are those of
    /// [`Tree::add_contributions`].
    pub(super) fn add_contributions_of_rows(
        &self,
        rows: &[&[f64]],
        phis: &mut [&mut [f64]],
        outputs: &mut [f64],
        memo: &mut ContributionMemo,
        number: usize,
    ) {
        match self.memo_tables() {
            Some((masks, tables)) => {
                tables.add_contributions_of_rows(self, masks, phis, outputs, memo, number);
            }
            None => {
                for ((row, phi), output) in rows.iter().zip(phis).zip(outputs) {
                    *output += self.add_contributions(row, phi);
                }
            }
        }
    }

    /// The split masks and per-leaf tables whose entries a [`ContributionMemo`] keeps; `None`
    /// for an empty tree or one explained by the recursion.
    fn memo_tables(&self) -> Option<(&SplitMasks, &ShapTables)> {
        let tables = self.explainer().tables.as_deref()?;
        Some((self.split_masks()?, tables))
    }

    /// [`Tree::add_contributions`] of one row for each of `trees` in order, its outputs added to
    /// `output`, with `memo`'s entries: the row's masks of every tree are looked up together and
    /// their entries read ahead, so that a lone row's cache misses overlap across trees as a
    /// batch's do across rows.
    pub(super) fn add_contributions_of_row_to_trees(
        trees: &[Tree],
        row: &[f64],
        phi: &mut [f64],
        output: &mut f64,
        memo: &mut ContributionMemo,
    ) {
        let mut masks = std::mem::take(&mut memo.masks);
        let mut found = std::mem::take(&mut memo.found);
        masks.clear();
        masks.extend(
            trees
                .iter()
                .map(|tree| tree.memo_tables().map_or(0, |(m, _)| m.lefts(tree, row))),
        );
        memo.read_ahead_homes(masks.iter().copied().enumerate());
        found.clear();
        found.extend(
            masks
                .iter()
                .enumerate()
                .map(|(number, &mask)| memo.candidate(number, mask)),
        );
        memo.read_ahead_entries(
            found
                .iter()
                .zip(trees)
                .filter_map(|(start, tree)| Some(((*start)?, tree.memo_tables()?.1.entry_width()))),
        );
        for (number, (tree, (&mask, &candidate))) in
            trees.iter().zip(masks.iter().zip(&found)).enumerate()
        {
            *output += match tree.memo_tables() {
                Some((masks, tables)) => {
                    tables.add_contributions_of_candidate(masks, mask, candidate, phi, memo, number)
                }
                None => tree.add_contributions(row, phi),
            };
        }
        memo.masks = masks;
        memo.found = found;
    }

    /// The same contributions by the recursive algorithm (Lundberg et al. 2018, Algorithm 2),
    /// for trees whose paths are too long for per-leaf tables.
    fn add_contributions_recursively(&self, row: &[f64], phi: &mut [f64]) {
        let depth = self.depth();
        let mut path = vec![PathElement::default(); (depth + 3) * (depth + 4) / 2 + 1];
        // The root's "parent path" is the first element of the buffer, at depth 0.
        self.shap_recurse(row, phi, &mut path, 0, 0, 0, 1.0, 1.0, None);
    }

    /// One step of TreeSHAP. The path of this node lives in `buffer[start..]`, a copy of the
    /// parent's path (at `parent_start`, `unique_depth` elements deep) extended with the parent's
    /// split feature.
    #[allow(clippy::too_many_arguments)]
    fn shap_recurse(
        &self,
        row: &[f64],
        phi: &mut [f64],
        buffer: &mut [PathElement],
        node: usize,
        parent_start: usize,
        unique_depth: usize,
        parent_zero: f64,
        parent_one: f64,
        parent_feature: Option<u32>,
    ) {
        let start = parent_start + unique_depth + 1;
        buffer.copy_within(parent_start..parent_start + unique_depth + 1, start);
        let mut depth = unique_depth;
        extend_path(
            &mut buffer[start..],
            depth,
            parent_zero,
            parent_one,
            parent_feature,
        );

        if self.feature[node] == LEAF {
            let path = &buffer[start..];
            for i in 1..=depth {
                let weight = unwound_path_sum(path, depth, i);
                let element = path[i];
                if let Some(feature) = element.feature {
                    phi[feature as usize] +=
                        weight * (element.one_fraction - element.zero_fraction) * self.value[node];
                }
            }
            return;
        }

        let feature = self.feature[node];
        let (left, right) = (self.left[node] as usize, self.right[node] as usize);
        let (hot, cold) = if self.goes_left(node, row[feature as usize]) {
            (left, right)
        } else {
            (right, left)
        };
        let cover = self.cover[node].max(f64::MIN_POSITIVE);
        let hot_zero = self.cover[hot] / cover;
        let cold_zero = self.cover[cold] / cover;
        let (mut incoming_zero, mut incoming_one) = (1.0, 1.0);
        // A feature split on twice along a path is one player: undo its earlier extension.
        if let Some(previous) = (1..=depth).find(|&i| buffer[start + i].feature == Some(feature)) {
            incoming_zero = buffer[start + previous].zero_fraction;
            incoming_one = buffer[start + previous].one_fraction;
            unwind_path(&mut buffer[start..], depth, previous);
            depth -= 1;
        }
        self.shap_recurse(
            row,
            phi,
            buffer,
            hot,
            start,
            depth + 1,
            hot_zero * incoming_zero,
            incoming_one,
            Some(feature),
        );
        self.shap_recurse(
            row,
            phi,
            buffer,
            cold,
            start,
            depth + 1,
            cold_zero * incoming_zero,
            0.0,
            Some(feature),
        );
    }
}

/// One feature on the current root-to-node path of TreeSHAP.
#[derive(Debug, Clone, Copy, Default)]
struct PathElement {
    feature: Option<u32>,
    zero_fraction: f64,
    one_fraction: f64,
    weight: f64,
}

fn extend_path(
    path: &mut [PathElement],
    unique_depth: usize,
    zero_fraction: f64,
    one_fraction: f64,
    feature: Option<u32>,
) {
    path[unique_depth] = PathElement {
        feature,
        zero_fraction,
        one_fraction,
        weight: if unique_depth == 0 { 1.0 } else { 0.0 },
    };
    let denominator = (unique_depth + 1) as f64;
    for i in (0..unique_depth).rev() {
        path[i + 1].weight += one_fraction * path[i].weight * (i + 1) as f64 / denominator;
        path[i].weight = zero_fraction * path[i].weight * (unique_depth - i) as f64 / denominator;
    }
}

fn unwind_path(path: &mut [PathElement], unique_depth: usize, path_index: usize) {
    let one = path[path_index].one_fraction;
    let zero = path[path_index].zero_fraction;
    let mut next_one_portion = path[unique_depth].weight;
    let depth = (unique_depth + 1) as f64;
    for i in (0..unique_depth).rev() {
        if one != 0.0 {
            let previous = path[i].weight;
            path[i].weight = next_one_portion * depth / ((i + 1) as f64 * one);
            next_one_portion = previous - path[i].weight * zero * (unique_depth - i) as f64 / depth;
        } else {
            path[i].weight = path[i].weight * depth / (zero * (unique_depth - i) as f64);
        }
    }
    for i in path_index..unique_depth {
        path[i].feature = path[i + 1].feature;
        path[i].zero_fraction = path[i + 1].zero_fraction;
        path[i].one_fraction = path[i + 1].one_fraction;
    }
}

fn unwound_path_sum(path: &[PathElement], unique_depth: usize, path_index: usize) -> f64 {
    let one = path[path_index].one_fraction;
    let zero = path[path_index].zero_fraction;
    let mut next_one_portion = path[unique_depth].weight;
    let depth = (unique_depth + 1) as f64;
    let mut total = 0.0;
    for i in (0..unique_depth).rev() {
        if one != 0.0 {
            let share = next_one_portion * depth / ((i + 1) as f64 * one);
            total += share;
            next_one_portion = path[i].weight - share * zero * (unique_depth - i) as f64 / depth;
        } else {
            total += path[i].weight / zero * depth / (unique_depth - i) as f64;
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::{random_tree, sample_tree};

    #[test]
    fn contributions_add_up_to_the_prediction() {
        let t = sample_tree();
        for row in [
            [0.2, 3.0],
            [0.2, 2.0],
            [1.5, 0.0],
            [7.0, f64::NAN],
            [f64::NAN, 1.0],
        ] {
            let mut phi = [0.0; 2];
            t.add_contributions(&row, &mut phi);
            let total = t.expected_value() + phi.iter().sum::<f64>();
            assert!(
                (total - t.predict(&row)).abs() < 1e-12,
                "{row:?}: {total} vs {}",
                t.predict(&row)
            );
        }
    }

    #[test]
    fn contributions_match_brute_force_shapley_values() {
        // With two features the Shapley values are averages over the two orderings of
        // E[f | S] differences, where E[f | S] follows x on features in S and splits by cover
        // elsewhere.
        let t = sample_tree();
        let row = [1.5, 3.0];
        let conditional = |known: [bool; 2]| -> f64 {
            fn walk(t: &Tree, node: usize, row: &[f64], known: [bool; 2]) -> f64 {
                if t.feature[node] == LEAF {
                    return t.value[node];
                }
                let f = t.feature[node] as usize;
                let (l, r) = (t.left[node] as usize, t.right[node] as usize);
                if known[f] {
                    walk(t, if t.goes_left(node, row[f]) { l } else { r }, row, known)
                } else {
                    (t.cover[l] * walk(t, l, row, known) + t.cover[r] * walk(t, r, row, known))
                        / t.cover[node]
                }
            }
            walk(&t, 0, &row, known)
        };
        let none = conditional([false, false]);
        let only0 = conditional([true, false]);
        let only1 = conditional([false, true]);
        let both = conditional([true, true]);
        let expected = [
            0.5 * ((only0 - none) + (both - only1)),
            0.5 * ((only1 - none) + (both - only0)),
        ];
        let mut phi = [0.0; 2];
        t.add_contributions(&row, &mut phi);
        for (got, want) in phi.iter().zip(expected) {
            assert!((got - want).abs() < 1e-12, "{phi:?} vs {expected:?}");
        }
    }

    #[test]
    fn per_leaf_tables_give_the_recursions_contributions() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let (mut compared, mut tabled) = (0, 0);
        for round in 0..200 {
            let (depth, features) = match round % 10 {
                9 => (16, 30),
                0..=2 => (9, 7),
                _ => (5, 7),
            };
            let t = random_tree(&mut rng, depth, features);
            tabled += usize::from(t.memo_tables().is_some());
            for _ in 0..10 {
                let row: Vec<f64> = (0..features)
                    .map(|_| match rng.random_range(0..12) {
                        0 => f64::NAN,
                        1 => 2.0,
                        2 => 70.0,
                        3 => -1.0,
                        _ => rng.random_range(0.0..1.0),
                    })
                    .collect();
                let mut fast = vec![0.0; features as usize];
                let mut recursive = vec![0.0; features as usize];
                let reached = t.add_contributions(&row, &mut fast);
                // The leaf the tables find is the one the tree routes the row to.
                assert_eq!(reached.to_bits(), t.predict(&row).to_bits());
                t.add_contributions_recursively(&row, &mut recursive);
                for (f, r) in fast.iter().zip(&recursive) {
                    assert!(
                        (f - r).abs() <= 1e-9 * (1.0 + r.abs()),
                        "{fast:?} vs {recursive:?}"
                    );
                }
                let total = t.expected_value() + fast.iter().sum::<f64>();
                assert!((total - t.predict(&row)).abs() < 1e-9);
                compared += 1;
            }
        }
        assert_eq!(compared, 2000);
        assert!(
            tabled > 100,
            "only {tabled} of 200 trees were explained by tables"
        );
        let deep = random_tree(&mut rand_chacha::ChaCha8Rng::seed_from_u64(1), 40, 40);
        assert!(
            deep.memo_tables().is_none() || deep.depth() <= MAX_TABLE_FEATURES,
            "paths with more than {MAX_TABLE_FEATURES} features fall back to the recursion"
        );
    }
}
