//! A single CART decision tree (linfa-trees) with probability leaves.
//!
//! linfa-trees grows the tree on the design matrix (imputed, one-hot) and predicts hard labels
//! only; leadscore copies the grown structure into a [`Tree`] and sets each leaf to the smoothed
//! log-odds of the training leads that reach it, which turns the tree into a probability model
//! that TreeSHAP can explain.

use linfa::prelude::*;
use linfa_trees::{DecisionTree, SplitQuality, TreeNode};
use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use crate::data::{ClassWeight, TrainingData};
use crate::error::ModelError;
use crate::linear::LinearEncoder;
use crate::tree::Tree;

const MODEL: &str = "decision tree";

/// Settings of the decision tree.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecisionTreeParams {
    max_depth: usize,
    min_leaf_rows: usize,
    class_weight: ClassWeight,
    prior_strength: f64,
}

impl Default for DecisionTreeParams {
    /// Depth 6, at least 50 leads per leaf, balanced class weights for the splits, leaf rates
    /// shrunk towards the overall rate with the weight of 10 leads.
    fn default() -> Self {
        Self {
            max_depth: 6,
            min_leaf_rows: 50,
            class_weight: ClassWeight::Balanced,
            prior_strength: 10.0,
        }
    }
}

impl DecisionTreeParams {
    /// Default settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Deepest split level.
    pub fn max_depth(mut self, depth: usize) -> Self {
        self.max_depth = depth;
        self
    }

    /// Fewest training leads in a leaf.
    pub fn min_leaf_rows(mut self, rows: usize) -> Self {
        self.min_leaf_rows = rows;
        self
    }

    /// Class weights used when choosing splits.
    pub fn class_weight(mut self, weight: ClassWeight) -> Self {
        self.class_weight = weight;
        self
    }

    /// The depth limit.
    pub fn max_depth_value(&self) -> usize {
        self.max_depth
    }

    /// Validates the settings.
    pub fn check(self) -> Result<ValidDecisionTreeParams, ModelError> {
        if !(1..=20).contains(&self.max_depth) {
            return Err(ModelError::InvalidParam {
                model: MODEL,
                name: "max_depth",
                value: self.max_depth.to_string(),
                reason: "between 1 and 20",
            });
        }
        if self.min_leaf_rows == 0 {
            return Err(ModelError::InvalidParam {
                model: MODEL,
                name: "min_leaf_rows",
                value: "0".to_owned(),
                reason: "at least 1",
            });
        }
        Ok(ValidDecisionTreeParams(self))
    }
}

/// Checked decision-tree settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValidDecisionTreeParams(DecisionTreeParams);

impl ValidDecisionTreeParams {
    /// Fits the tree.
    pub fn fit(&self, data: &TrainingData<'_>) -> Result<FittedDecisionTree, ModelError> {
        data.require_both_classes(MODEL)?;
        let encoder = LinearEncoder::fit(data.x, data.features);
        let design = encoder.encode(data.x);
        let weights = self.0.class_weight.weights(data.y);
        let mean_weight = weights.iter().sum::<f64>() / weights.len().max(1) as f64;
        // The dataset owns the design matrix; the leaf rates below read it back from there
        // rather than from a copy (a million leads' one-hot design is about a gigabyte).
        let dataset = Dataset::new(design, Array1::from(data.y.to_vec()))
            .with_weights(Array1::from_iter(weights.iter().map(|&w| w as f32)));
        let grown = DecisionTree::params()
            .split_quality(SplitQuality::Gini)
            .max_depth(Some(self.0.max_depth))
            .min_weight_leaf((self.0.min_leaf_rows as f64 * mean_weight) as f32)
            .min_weight_split((2 * self.0.min_leaf_rows) as f64 as f32 * mean_weight as f32)
            .fit(&dataset)
            .map_err(|e| ModelError::Solver {
                model: MODEL,
                message: e.to_string(),
            })?;
        let mut tree = Tree::default();
        copy_node(grown.root_node(), &mut tree);
        set_leaf_rates(&mut tree, dataset.records(), data.y, self.0.prior_strength);
        Ok(FittedDecisionTree {
            encoder,
            tree,
            max_depth: self.0.max_depth,
        })
    }
}

fn copy_node(node: &TreeNode<f64, bool>, tree: &mut Tree) -> u32 {
    if node.is_leaf() {
        return tree.push_leaf(0.0, 0.0);
    }
    let (feature, threshold, _) = node.split();
    let index = tree.push_numeric_split(feature as u32, threshold, false, 0.0);
    let children = node.children();
    let (Some(left), Some(right)) = (children[0].as_deref(), children[1].as_deref()) else {
        tree.feature[index as usize] = crate::tree::LEAF;
        return index;
    };
    let left = copy_node(left, tree);
    let right = copy_node(right, tree);
    tree.set_children(index, left, right);
    index
}

/// Routes the training rows through the tree: covers are row counts, leaf values the smoothed
/// log-odds of the won share.
fn set_leaf_rates(tree: &mut Tree, design: &Array2<f64>, y: &[bool], prior_strength: f64) {
    let mut rows = vec![0.0f64; tree.len()];
    let mut won = vec![0.0f64; tree.len()];
    for (row, &label) in design.rows().into_iter().zip(y) {
        let row = row.to_vec();
        let mut node = 0usize;
        loop {
            rows[node] += 1.0;
            won[node] += f64::from(u8::from(label));
            if tree.feature[node] == crate::tree::LEAF {
                break;
            }
            node = if tree.goes_left(node, row[tree.feature[node] as usize]) {
                tree.left[node] as usize
            } else {
                tree.right[node] as usize
            };
        }
    }
    let base_rate = won[0] / rows[0].max(1.0);
    for node in 0..tree.len() {
        tree.cover[node] = rows[node];
        if tree.feature[node] == crate::tree::LEAF {
            let rate = (won[node] + prior_strength * base_rate) / (rows[node] + prior_strength);
            let rate = rate.clamp(1e-6, 1.0 - 1e-6);
            tree.value[node] = (rate / (1.0 - rate)).ln();
        }
    }
}

/// A fitted decision tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedDecisionTree {
    /// Design-matrix encoder the tree splits on.
    pub encoder: LinearEncoder,
    /// The tree, on design columns, with log-odds leaves.
    pub tree: Tree,
    /// Depth limit it was grown with.
    pub max_depth: usize,
}

impl FittedDecisionTree {
    /// Log-odds of one feature row.
    pub fn predict_logit(&self, row: &[f64]) -> f64 {
        let mut design = vec![0.0; self.encoder.width()];
        self.encoder.encode_row(row, &mut design);
        self.tree.predict(&design)
    }

    /// TreeSHAP contributions per input feature; returns the expected log-odds.
    pub fn contributions(&self, row: &[f64], phi: &mut [f64]) -> f64 {
        let mut design = vec![0.0; self.encoder.width()];
        self.encoder.encode_row(row, &mut design);
        let mut design_phi = vec![0.0; design.len()];
        self.tree.add_contributions(&design, &mut design_phi);
        for (feature, value) in self.encoder.column_features().into_iter().zip(design_phi) {
            phi[feature] += value;
        }
        self.tree.expected_value()
    }
}
