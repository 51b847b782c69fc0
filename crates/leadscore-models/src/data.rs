//! The data a model is fitted on.

use leadscore_features::FeatureInfo;
use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use crate::error::ModelError;

/// Feature rows with won/lost labels.
#[derive(Debug, Clone, Copy)]
pub struct TrainingData<'a> {
    /// One row per lead, one column per feature (NaN = missing).
    pub x: ArrayView2<'a, f64>,
    /// `true` = won.
    pub y: &'a [bool],
    /// What each column is.
    pub features: &'a [FeatureInfo],
}

impl<'a> TrainingData<'a> {
    /// Bundles rows, labels and feature descriptions, checking they agree.
    pub fn new(x: ArrayView2<'a, f64>, y: &'a [bool], features: &'a [FeatureInfo]) -> Self {
        assert_eq!(x.nrows(), y.len(), "one label per row");
        assert_eq!(x.ncols(), features.len(), "one description per column");
        Self { x, y, features }
    }

    /// Won leads.
    pub fn positives(&self) -> usize {
        self.y.iter().filter(|&&y| y).count()
    }

    /// Fails unless both classes are present.
    pub fn require_both_classes(&self, model: &'static str) -> Result<(), ModelError> {
        let positives = self.positives();
        if positives == 0 || positives == self.y.len() {
            return Err(ModelError::BadTrainingData {
                model,
                reason: format!(
                    "{positives} won and {} lost rows; both classes are needed",
                    self.y.len() - positives
                ),
            });
        }
        Ok(())
    }
}

/// How won and lost leads are weighted when fitting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassWeight {
    /// Every lead counts once (probabilities stay calibrated).
    #[default]
    None,
    /// Won and lost leads carry equal total weight (the minority class counts more).
    Balanced,
}

impl ClassWeight {
    /// Weight of each row.
    pub fn weights(self, y: &[bool]) -> Vec<f64> {
        match self {
            Self::None => vec![1.0; y.len()],
            Self::Balanced => {
                let positives = y.iter().filter(|&&v| v).count().max(1) as f64;
                let negatives = (y.len() as f64 - positives).max(1.0);
                let n = y.len() as f64;
                let (won, lost) = (n / (2.0 * positives), n / (2.0 * negatives));
                y.iter().map(|&v| if v { won } else { lost }).collect()
            }
        }
    }
}
