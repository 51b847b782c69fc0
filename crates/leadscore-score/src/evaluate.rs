//! Measuring a saved model on any leads file with outcomes, through the one scorer.

use leadscore_data::{EventLog, LeadsTable, Outcome, file_sha256};
use leadscore_features::FeatureError;
use leadscore_metrics::BinaryMetrics;
use serde::Serialize;

use crate::{SCORING_PART, Scorer};

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

/// What can stop an evaluation.
#[derive(Debug, thiserror::Error)]
pub enum EvaluateError {
    /// The file cannot be evaluated (one class only).
    #[error(transparent)]
    Data(#[from] leadscore_data::DataError),
    /// Its features cannot be built.
    #[error(transparent)]
    Features(#[from] FeatureError),
    /// The scorer holds rules only.
    #[error("evaluation needs a model file; a rules file alone has no probabilities to measure")]
    NoModel,
}

/// Scores the closed leads of a table with the scorer's model and measures the calibrated
/// probabilities.
pub fn evaluate(
    scorer: &Scorer,
    leads: &LeadsTable,
    events: Option<&EventLog>,
    scoring_time: i64,
) -> Result<Evaluation, EvaluateError> {
    let model = scorer.model().ok_or(EvaluateError::NoModel)?;
    leads.require_both_classes()?;
    // Scored a part at a time, keeping only each closed lead's probability and outcome: a
    // million leads' full answers took more memory than the file and its features together.
    let (mut probabilities, mut labels) = (Vec::new(), Vec::new());
    let mut outcomes = leads.outcomes.iter();
    scorer.score_table_in_parts(
        leads,
        events,
        scoring_time,
        SCORING_PART,
        |scores| -> Result<(), EvaluateError> {
            for (score, outcome) in scores.iter().zip(outcomes.by_ref()) {
                if let (Some(prediction), Outcome::Won | Outcome::Lost) =
                    (&score.prediction, outcome)
                {
                    probabilities.push(prediction.probability);
                    labels.push(*outcome == Outcome::Won);
                }
            }
            Ok(())
        },
    )?;
    Ok(Evaluation {
        model: model.name().to_owned(),
        version: model.version().to_owned(),
        file: leads.path.display().to_string(),
        metrics: BinaryMetrics::compute(&probabilities, &labels),
        open: leads.count(Outcome::Open),
        is_training_data: file_sha256(&leads.path) == model.training_data().leads_sha256,
    })
}
