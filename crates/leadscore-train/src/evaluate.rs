//! Measuring a saved model on any leads file with outcomes.

use leadscore_data::{EventLog, LeadsTable, Outcome};
use leadscore_metrics::BinaryMetrics;
use serde::Serialize;

use crate::artifact::ModelArtifact;
use crate::error::TrainError;
use crate::train::file_sha256;

/// Metrics of a model on a data set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// Model name.
    pub model: String,
    /// Model version.
    pub version: String,
    /// Leads file.
    pub file: String,
    /// Metrics on the file's closed leads.
    #[serde(flatten)]
    pub metrics: BinaryMetrics,
    /// Open leads in the file (not evaluated).
    pub open: usize,
    /// The file is the one the model was trained on, so the metrics are optimistic.
    pub is_training_data: bool,
}

/// Scores the closed leads of a table and measures the calibrated probabilities.
pub fn evaluate(
    artifact: &ModelArtifact,
    leads: &LeadsTable,
    events: Option<&EventLog>,
    scoring_time: i64,
) -> Result<Evaluation, TrainError> {
    leads.require_both_classes()?;
    let matrix = artifact
        .features
        .transform_table(leads, events, scoring_time)?;
    let closed: Vec<usize> = (0..leads.len())
        .filter(|&r| leads.outcomes[r] != Outcome::Open)
        .collect();
    let probabilities: Vec<f64> = closed
        .iter()
        .map(|&r| {
            let row = matrix.values.row(r).to_vec();
            artifact.probability(&row)
        })
        .collect();
    let labels: Vec<bool> = closed
        .iter()
        .map(|&r| leads.outcomes[r] == Outcome::Won)
        .collect();
    Ok(Evaluation {
        model: artifact.name.clone(),
        version: artifact.version.clone(),
        file: leads.path.display().to_string(),
        metrics: BinaryMetrics::compute(&probabilities, &labels),
        open: leads.len() - closed.len(),
        is_training_data: file_sha256(&leads.path) == artifact.training_data.leads_sha256,
    })
}
