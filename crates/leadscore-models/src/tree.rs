//! Binary decision trees as plain data, with prediction and exact TreeSHAP contributions.
//!
//! Both the decision-tree model and every tree of the boosted model are stored in this form, so
//! one prediction routine and one explanation routine serve all tree models. A node sends a value
//! left when it is missing and `default_left` is set, when it is a category in the node's set, or
//! when it is a number `<= threshold`.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// Marker of a leaf in [`Tree::feature`].
pub const LEAF: u32 = u32::MAX;

/// Deepest tree a model file may hold. Training grows far shallower trees (depth ≤ 32); the bound
/// keeps the recursive explanation's stack small whatever file is loaded.
pub const MAX_DEPTH: usize = 64;

/// One tree in struct-of-arrays form (node 0 is the root).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    /// Split feature per node, [`LEAF`] for leaves.
    pub feature: Vec<u32>,
    /// Numeric threshold per node (left when `x <= threshold`; 0 for leaves and category splits).
    pub threshold: Vec<f64>,
    /// Category set per node: index into `category_sets`, or -1 for a numeric split.
    pub category_set: Vec<i32>,
    /// Sorted category codes sent left, per categorical split.
    pub category_sets: Vec<Vec<u32>>,
    /// Where missing values go.
    pub default_left: Vec<bool>,
    /// Left child per node.
    pub left: Vec<u32>,
    /// Right child per node.
    pub right: Vec<u32>,
    /// Leaf output (log-odds units).
    pub value: Vec<f64>,
    /// Training rows that reached the node (the weights of TreeSHAP's expectations).
    pub cover: Vec<f64>,
    /// Per-leaf TreeSHAP tables, built on the first explanation (derived data, never saved).
    #[serde(skip)]
    shap_tables: ShapCache,
}

/// Most distinct features on one root-to-leaf path for which a leaf gets a precomputed table
/// (2^k values); a tree with a longer path is explained by the recursive algorithm.
const MAX_TABLE_FEATURES: usize = 12;

/// Most table values of one tree (128 KiB), so that a model's tables stay a few megabytes; a
/// tree needing more is explained by the recursive algorithm.
const MAX_TABLE_VALUES: usize = 1 << 14;

/// A lazily built [`ShapTables`]; equal to any other and empty when cloned, since it is derived
/// from the tree's arrays.
#[derive(Debug, Default)]
struct ShapCache(OnceLock<Option<Box<ShapTables>>>);

impl Clone for ShapCache {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl PartialEq for ShapCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// Path-dependent TreeSHAP, rearranged per leaf (after Fast TreeSHAP v2, Yang 2021): a leaf's
/// contribution to feature i depends on the row only through A, the set of its path's features
/// whose every split the row follows the leaf's way. With k distinct features on the path, zero
/// fractions z and Shapley weights w(s) = s!(k-s-1)!/k!, and H(B) = Σ_{S⊆B} w(|S|) Π_{j∉S} z_j:
/// a feature in A gets v(1 - z_i)/z_i · H(A∖{i}), a feature outside A gets -v·H(A). Building
/// H costs O(2^k k) per leaf once; explaining a row costs O(path length) per leaf instead of the
/// recursion's O(k²).
#[derive(Debug, Default)]
struct ShapTables {
    /// Per leaf, where its parts start in the flat arrays below.
    leaves: Vec<LeafSpan>,
    /// Distinct features of each leaf's path; bit b of a leaf's sets stands for its b-th.
    features: Vec<u32>,
    /// Per leaf feature: v(1 - z)/z, the factor of a feature the row follows.
    followed_factor: Vec<f64>,
    /// Every split of each leaf's path.
    steps: Vec<Step>,
    /// H(B) for every subset B of each leaf's features.
    h: Vec<f64>,
}

/// One leaf's parts in [`ShapTables`]' arrays.
#[derive(Debug, Clone, Copy)]
struct LeafSpan {
    /// The leaf value, negated: the factor of a feature the row does not follow.
    unfollowed_factor: f64,
    features: u32,
    feature_count: u8,
    steps: u32,
    step_count: u8,
    h: u32,
}

/// A split on a leaf's path: the node, whether the path goes left, and its feature's bit.
#[derive(Debug, Clone, Copy)]
struct Step {
    node: u32,
    left: bool,
    bit: u8,
}

impl ShapTables {
    /// The tables of `tree`, or `None` when a path has too many distinct features, the tables
    /// would be too large, or a cover is zero (the recursion handles those).
    fn build(tree: &Tree) -> Option<Self> {
        let mut tables = Self::default();
        let mut values = 0;
        // (node, path so far as (node, went_left)) in depth-first order.
        let mut stack: Vec<(usize, Vec<(u32, bool)>)> = vec![(0, Vec::new())];
        while let Some((node, path)) = stack.pop() {
            if tree.feature[node] != LEAF {
                for (child, left) in [(tree.left[node], true), (tree.right[node], false)] {
                    let mut longer = path.clone();
                    longer.push((node as u32, left));
                    stack.push((child as usize, longer));
                }
                continue;
            }
            let mut features: Vec<u32> = Vec::new();
            let mut zero: Vec<f64> = Vec::new();
            let mut steps = Vec::with_capacity(path.len());
            for &(split, left) in &path {
                let split = split as usize;
                let feature = tree.feature[split];
                let child = if left {
                    tree.left[split]
                } else {
                    tree.right[split]
                } as usize;
                let ratio = tree.cover[child] / tree.cover[split];
                let bit = match features.iter().position(|&f| f == feature) {
                    Some(bit) => {
                        zero[bit] *= ratio;
                        bit
                    }
                    None => {
                        features.push(feature);
                        zero.push(ratio);
                        features.len() - 1
                    }
                };
                steps.push(Step {
                    node: split as u32,
                    left,
                    bit: bit as u8,
                });
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
            let value = tree.value[node];
            tables.leaves.push(LeafSpan {
                unfollowed_factor: -value,
                features: tables.features.len() as u32,
                feature_count: features.len() as u8,
                steps: tables.steps.len() as u32,
                step_count: steps.len() as u8,
                h: tables.h.len() as u32,
            });
            tables.h.extend(subset_sums(&zero));
            tables
                .followed_factor
                .extend(zero.iter().map(|&z| value * (1.0 - z) / z));
            tables.features.extend(features);
            tables.steps.extend(steps);
        }
        Some(tables)
    }

    fn add_contributions(&self, tree: &Tree, row: &[f64], phi: &mut [f64]) {
        // Each split's direction once (not once per leaf below it) when the nodes fit in a mask.
        let small = tree.len() <= 128;
        let mut lefts: u128 = 0;
        if small {
            for node in 0..tree.len() {
                let feature = tree.feature[node];
                if feature != LEAF && tree.goes_left(node, row[feature as usize]) {
                    lefts |= 1 << node;
                }
            }
        }
        for leaf in &self.leaves {
            let mut followed: usize = (1 << leaf.feature_count) - 1;
            let steps = leaf.steps as usize..leaf.steps as usize + leaf.step_count as usize;
            for step in &self.steps[steps] {
                let node = step.node as usize;
                let goes_left = if small {
                    lefts & (1 << node) != 0
                } else {
                    tree.goes_left(node, row[tree.feature[node] as usize])
                };
                if goes_left != step.left {
                    followed &= !(1 << step.bit);
                }
            }
            let h = &self.h[leaf.h as usize..];
            let features =
                leaf.features as usize..leaf.features as usize + leaf.feature_count as usize;
            for (bit, (&feature, &factor)) in self.features[features.clone()]
                .iter()
                .zip(&self.followed_factor[features])
                .enumerate()
            {
                let mask = 1 << bit;
                phi[feature as usize] += if followed & mask != 0 {
                    factor * h[followed & !mask]
                } else {
                    leaf.unfollowed_factor * h[followed]
                };
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
    /// Appends a leaf and returns its index.
    pub fn push_leaf(&mut self, value: f64, cover: f64) -> u32 {
        self.push(LEAF, 0.0, -1, false, value, cover)
    }

    /// Appends a numeric split (children set later with [`Tree::set_children`]).
    pub fn push_numeric_split(
        &mut self,
        feature: u32,
        threshold: f64,
        default_left: bool,
        cover: f64,
    ) -> u32 {
        self.push(feature, threshold, -1, default_left, 0.0, cover)
    }

    /// Appends a categorical split sending `categories` left.
    pub fn push_categorical_split(
        &mut self,
        feature: u32,
        mut categories: Vec<u32>,
        default_left: bool,
        cover: f64,
    ) -> u32 {
        categories.sort_unstable();
        self.category_sets.push(categories);
        let set = (self.category_sets.len() - 1) as i32;
        self.push(feature, 0.0, set, default_left, 0.0, cover)
    }

    fn push(
        &mut self,
        feature: u32,
        threshold: f64,
        set: i32,
        default_left: bool,
        value: f64,
        cover: f64,
    ) -> u32 {
        self.feature.push(feature);
        self.threshold.push(threshold);
        self.category_set.push(set);
        self.default_left.push(default_left);
        self.left.push(0);
        self.right.push(0);
        self.value.push(value);
        self.cover.push(cover);
        (self.feature.len() - 1) as u32
    }

    /// Links a split node to its children.
    pub fn set_children(&mut self, node: u32, left: u32, right: u32) {
        self.left[node as usize] = left;
        self.right[node as usize] = right;
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.feature.len()
    }

    /// Whether the tree has no nodes.
    pub fn is_empty(&self) -> bool {
        self.feature.is_empty()
    }

    /// Number of leaves.
    pub fn n_leaves(&self) -> usize {
        self.feature.iter().filter(|&&f| f == LEAF).count()
    }

    /// Whether `value` goes to the left child of split node `node`.
    #[inline]
    pub fn goes_left(&self, node: usize, value: f64) -> bool {
        if value.is_nan() {
            return self.default_left[node];
        }
        match self.category_set[node] {
            -1 => value <= self.threshold[node],
            set => self.category_sets[set as usize]
                .binary_search(&(value as u32))
                .is_ok(),
        }
    }

    /// The leaf a row reaches.
    #[inline]
    pub fn leaf(&self, row: &[f64]) -> usize {
        let mut node = 0;
        while self.feature[node] != LEAF {
            node = if self.goes_left(node, row[self.feature[node] as usize]) {
                self.left[node] as usize
            } else {
                self.right[node] as usize
            };
        }
        node
    }

    /// The tree's output for a row.
    #[inline]
    pub fn predict(&self, row: &[f64]) -> f64 {
        self.value[self.leaf(row)]
    }

    /// Depth of the deepest leaf (a single leaf has depth 0). Iterative: children always follow
    /// their parent in the arrays (checked by [`Tree::validate`]), so one pass suffices.
    pub fn depth(&self) -> usize {
        let mut depth = vec![0usize; self.len()];
        let mut deepest = 0;
        for node in 0..self.len() {
            let here = depth[node];
            deepest = deepest.max(here);
            if self.feature[node] != LEAF {
                for child in [self.left[node], self.right[node]] {
                    if let Some(d) = depth.get_mut(child as usize) {
                        *d = here + 1;
                    }
                }
            }
        }
        deepest
    }

    /// Checks a tree read from a file, so that scoring can neither panic, loop nor overflow the
    /// stack: equal array lengths, every split on a feature below `n_features` with two children
    /// stored after it (hence no cycle) and each node reached once, depth ≤ [`MAX_DEPTH`], finite
    /// thresholds, leaf values and covers, and category sets that exist and are sorted.
    pub fn validate(&self, n_features: usize) -> Result<(), String> {
        let n = self.feature.len();
        if n == 0 {
            return Err("a tree has no nodes".to_owned());
        }
        let lengths = [
            self.threshold.len(),
            self.category_set.len(),
            self.default_left.len(),
            self.left.len(),
            self.right.len(),
            self.value.len(),
            self.cover.len(),
        ];
        if lengths.iter().any(|&len| len != n) {
            return Err(format!(
                "a tree's arrays have different lengths ({n} features, others {lengths:?})"
            ));
        }
        let mut parents = vec![0u8; n];
        for node in 0..n {
            if !(self.cover[node].is_finite() && self.cover[node] >= 0.0) {
                return Err(format!("node {node} has cover {}", self.cover[node]));
            }
            if self.feature[node] == LEAF {
                if !self.value[node].is_finite() {
                    return Err(format!("leaf {node} has value {}", self.value[node]));
                }
                continue;
            }
            if self.feature[node] as usize >= n_features {
                return Err(format!(
                    "node {node} splits on feature {} but the model has {n_features}",
                    self.feature[node]
                ));
            }
            match self.category_set[node] {
                -1 if !self.threshold[node].is_finite() => {
                    return Err(format!(
                        "node {node} has threshold {}",
                        self.threshold[node]
                    ));
                }
                -1 => {}
                set => {
                    let Some(codes) = usize::try_from(set)
                        .ok()
                        .and_then(|s| self.category_sets.get(s))
                    else {
                        return Err(format!(
                            "node {node} names category set {set}, which does not exist"
                        ));
                    };
                    if codes.windows(2).any(|w| w[0] >= w[1]) {
                        return Err(format!("category set {set} is not sorted"));
                    }
                }
            }
            for child in [self.left[node], self.right[node]] {
                let child = child as usize;
                if child <= node || child >= n {
                    return Err(format!(
                        "node {node} has child {child}; children must come after their parent within the {n} nodes"
                    ));
                }
                parents[child] += 1;
                if parents[child] > 1 {
                    return Err(format!("node {child} has two parents"));
                }
            }
        }
        if let Some(orphan) = (1..n).find(|&node| parents[node] == 0) {
            return Err(format!("node {orphan} is not reachable from the root"));
        }
        let depth = self.depth();
        if depth > MAX_DEPTH {
            return Err(format!(
                "a tree is {depth} levels deep; at most {MAX_DEPTH} are allowed"
            ));
        }
        Ok(())
    }

    /// Cover-weighted mean output: the tree's expected value over the training rows.
    pub fn expected_value(&self) -> f64 {
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
    /// Lundberg et al. 2018, Algorithm 2). `expected_value() + Σ phi == predict(row)`.
    pub fn add_contributions(&self, row: &[f64], phi: &mut [f64]) {
        if self.is_empty() {
            return;
        }
        match self
            .shap_tables
            .0
            .get_or_init(|| ShapTables::build(self).map(Box::new))
        {
            Some(tables) => tables.add_contributions(self, row, phi),
            None => self.add_contributions_recursively(row, phi),
        }
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

    /// x0 <= 0.5 ? (x1 in {1, 3} ? 1.0 : -2.0) : (x0 <= 2 ? 0.5 : 3.0), missing x0 goes right.
    fn sample_tree() -> Tree {
        let mut t = Tree::default();
        let root = t.push_numeric_split(0, 0.5, false, 100.0);
        let a = t.push_categorical_split(1, vec![3, 1], true, 40.0);
        let a_left = t.push_leaf(1.0, 10.0);
        let a_right = t.push_leaf(-2.0, 30.0);
        let b = t.push_numeric_split(0, 2.0, true, 60.0);
        let b_left = t.push_leaf(0.5, 45.0);
        let b_right = t.push_leaf(3.0, 15.0);
        t.set_children(root, a, b);
        t.set_children(a, a_left, a_right);
        t.set_children(b, b_left, b_right);
        t
    }

    #[test]
    fn routes_numbers_categories_and_missing_values() {
        let t = sample_tree();
        assert_eq!(t.predict(&[0.2, 3.0]), 1.0);
        assert_eq!(t.predict(&[0.2, 2.0]), -2.0);
        assert_eq!(t.predict(&[0.2, f64::NAN]), 1.0);
        assert_eq!(t.predict(&[1.5, 0.0]), 0.5);
        assert_eq!(t.predict(&[f64::NAN, 0.0]), 0.5);
        assert_eq!(t.predict(&[7.0, 0.0]), 3.0);
        assert_eq!(t.depth(), 2);
        assert_eq!(t.n_leaves(), 4);
    }

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
    fn corrupt_trees_are_refused_by_name() {
        let valid = sample_tree();
        assert_eq!(valid.validate(2), Ok(()));
        let check = |edit: &dyn Fn(&mut Tree), expected: &str| {
            let mut tree = sample_tree();
            edit(&mut tree);
            let message = tree.validate(2).expect_err(expected);
            assert!(message.contains(expected), "{expected}: {message}");
        };
        check(&|t| t.left[1] = 0, "must come after their parent");
        check(&|t| t.right[0] = 99, "must come after their parent");
        check(&|t| t.feature[0] = 7, "splits on feature 7");
        check(&|t| t.value[2] = f64::NAN, "leaf 2 has value NaN");
        check(&|t| t.threshold[0] = f64::INFINITY, "threshold inf");
        check(&|t| t.category_set[1] = 5, "category set 5");
        check(
            &|t| {
                t.value.pop();
            },
            "different lengths",
        );
        check(&|t| t.right[1] = 4, "two parents");
        let mut deep = Tree::default();
        for level in 0..(MAX_DEPTH as u32 + 2) {
            let split = deep.push_numeric_split(0, 0.5, false, 1.0);
            let leaf = deep.push_leaf(0.0, 1.0);
            deep.set_children(split, leaf, 2 * level + 2);
        }
        deep.push_leaf(0.0, 1.0);
        let message = deep.validate(1).expect_err("too deep");
        assert!(message.contains("levels deep"), "{message}");
    }

    /// A random tree: splits on 7 features (so paths repeat features), numeric and categorical,
    /// either missing direction, child covers that split the parent's.
    fn random_tree(rng: &mut impl rand::Rng, max_depth: usize, features: u32) -> Tree {
        fn grow(
            t: &mut Tree,
            rng: &mut impl rand::Rng,
            depth: usize,
            max_depth: usize,
            features: u32,
            cover: f64,
        ) -> u32 {
            if depth == max_depth || cover < 2.0 || rng.random_bool(0.15) {
                return t.push_leaf(rng.random_range(-3.0..3.0), cover);
            }
            let feature = rng.random_range(0..features);
            let node = if rng.random_bool(0.3) {
                t.push_categorical_split(feature, vec![0, 2], rng.random_bool(0.5), cover)
            } else {
                let threshold = rng.random_range(0.0..1.0);
                t.push_numeric_split(feature, threshold, rng.random_bool(0.5), cover)
            };
            let share = rng.random_range(0.05..0.95);
            let left = grow(t, rng, depth + 1, max_depth, features, cover * share);
            let right = grow(
                t,
                rng,
                depth + 1,
                max_depth,
                features,
                cover * (1.0 - share),
            );
            t.set_children(node, left, right);
            node
        }
        let mut t = Tree::default();
        grow(&mut t, rng, 0, max_depth, features, 1000.0);
        t
    }

    #[test]
    fn per_leaf_tables_give_the_recursions_contributions() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut compared = 0;
        for round in 0..200 {
            let (depth, features) = if round % 10 == 9 { (16, 30) } else { (9, 7) };
            let t = random_tree(&mut rng, depth, features);
            for _ in 0..10 {
                let row: Vec<f64> = (0..features)
                    .map(|_| match rng.random_range(0..10) {
                        0 => f64::NAN,
                        1 => 2.0,
                        _ => rng.random_range(0.0..1.0),
                    })
                    .collect();
                let mut fast = vec![0.0; features as usize];
                let mut recursive = vec![0.0; features as usize];
                t.add_contributions(&row, &mut fast);
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
        let deep = random_tree(&mut rand_chacha::ChaCha8Rng::seed_from_u64(1), 40, 40);
        assert!(
            ShapTables::build(&deep).is_none() || deep.depth() <= MAX_TABLE_FEATURES,
            "paths with more than {MAX_TABLE_FEATURES} features fall back to the recursion"
        );
    }

    #[test]
    fn serde_round_trip() {
        let t = sample_tree();
        let json = serde_json::to_string(&t).expect("serialise");
        assert_eq!(serde_json::from_str::<Tree>(&json).expect("parse"), t);
    }
}
