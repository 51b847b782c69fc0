//! Binary decision trees as plain data, with prediction and exact TreeSHAP contributions.
//!
//! Both the decision-tree model and every tree of the boosted model are stored in this form, so
//! one prediction routine and one explanation routine serve all tree models. A node sends a value
//! left when it is missing and `default_left` is set, when it is a category in the node's set, or
//! when it is a number `<= threshold`.

mod columns;
mod masks;
mod memo;
mod shap;

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use masks::SplitMasks;
pub(crate) use memo::MemoPool;
use shap::Explainer;

/// Marker of a leaf in [`Tree::feature`].
pub const LEAF: u32 = u32::MAX;

/// Deepest tree a model file may hold. Training grows far shallower trees (depth ≤ 32); the bound
/// keeps the recursive explanation's stack small whatever file is loaded.
pub const MAX_DEPTH: usize = 64;

/// One tree in struct-of-arrays form (node 0 is the root). The arrays are public for the
/// growers, which set them before the tree is first used; later changes must go through the
/// `push_*` and [`Tree::set_children`] methods, which drop the derived explanation tables.
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
    /// The splits as bits of a mask, built on the first prediction of a block or explanation
    /// (derived data, never saved).
    #[serde(skip)]
    masks: Derived<Option<Box<SplitMasks>>>,
    /// The expected value and per-leaf TreeSHAP tables, built on the first explanation
    /// (derived data, never saved).
    #[serde(skip)]
    explainer: Derived<Explainer>,
}

/// Data derived from a tree's arrays, built once on first use: equal to any other, empty when
/// cloned, and reset whenever the arrays change.
#[derive(Debug)]
struct Derived<T>(OnceLock<T>);

impl<T> Default for Derived<T> {
    fn default() -> Self {
        Self(OnceLock::new())
    }
}

impl<T> Clone for Derived<T> {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl<T> PartialEq for Derived<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
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
        self.forget_derived();
        (self.feature.len() - 1) as u32
    }

    /// Links a split node to its children.
    pub fn set_children(&mut self, node: u32, left: u32, right: u32) {
        self.left[node as usize] = left;
        self.right[node as usize] = right;
        self.forget_derived();
    }

    fn forget_derived(&mut self) {
        self.masks = Derived::default();
        self.explainer = Derived::default();
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
}

/// x0 <= 0.5 ? (x1 in {1, 3} ? 1.0 : -2.0) : (x0 <= 2 ? 0.5 : 3.0), missing x0 goes right.
#[cfg(test)]
pub(crate) fn sample_tree() -> Tree {
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

#[cfg(test)]
/// A random feature row for [`random_tree`]'s trees: missing values, category codes below and
/// above 63, negative and huge numbers, and fractions around the thresholds.
pub(crate) fn random_row(rng: &mut impl rand::Rng, features: u32) -> Vec<f64> {
    (0..features)
        .map(|_| match rng.random_range(0..12) {
            0 => f64::NAN,
            1 => 2.0,
            2 => 70.0,
            3 => 63.0,
            4 => -1.0,
            5 => 1e300,
            v => f64::from(v - 4) / 8.0,
        })
        .collect()
}

#[cfg(test)]
/// A random tree: splits on 7 features (so paths repeat features), numeric and categorical,
/// either missing direction, child covers that split the parent's.
pub(crate) fn random_tree(rng: &mut impl rand::Rng, max_depth: usize, features: u32) -> Tree {
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
            // Sets with a code of 63 or above take the tables' slower set lookup (bit 63 of a
            // small set stands for a missing value).
            let codes = if rng.random_bool(0.3) {
                vec![0, 70]
            } else if feature % 2 == 0 {
                vec![0, 2]
            } else {
                vec![2, 63]
            };
            t.push_categorical_split(feature, codes, rng.random_bool(0.5), cover)
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn serde_round_trip() {
        let t = sample_tree();
        let json = serde_json::to_string(&t).expect("serialise");
        assert_eq!(serde_json::from_str::<Tree>(&json).expect("parse"), t);
    }
}
