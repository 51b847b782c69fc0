//! One scoring path for every consumer.
//!
//! Batch files (`leadscore score`) and the HTTP server both score through [`Scorer`]: features
//! from the model's own pipeline, the calibrated probability, its percentile among training
//! leads, the tier, and the top reasons. A table is scored row by row with the same function a
//! single request uses, so batch and server answers are identical.

use leadscore_data::{EventLog, LeadsTable};
use leadscore_features::{FeatureError, LeadInput};
use leadscore_train::{Explanation, ModelArtifact};
use rayon::prelude::*;
use serde::Serialize;

/// Everything leadscore says about one lead.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeadScore {
    /// Lead id.
    pub lead_id: String,
    /// Calibrated probability of winning.
    pub probability: f64,
    /// Share of training leads scoring at or below, 0–100.
    pub percentile: f64,
    /// Tier name.
    pub tier: String,
    /// Top positive and negative reasons.
    pub reasons: Explanation,
    /// Model name.
    pub model: String,
    /// Model version.
    pub model_version: String,
}

/// Scores leads with a model.
#[derive(Debug, Clone)]
pub struct Scorer {
    model: ModelArtifact,
    reasons: usize,
}

impl Scorer {
    /// A scorer giving `reasons` positive and negative reasons per lead.
    pub fn new(model: ModelArtifact, reasons: usize) -> Self {
        Self { model, reasons }
    }

    /// The model.
    pub fn model(&self) -> &ModelArtifact {
        &self.model
    }

    /// Scores one feature row.
    fn score_row(&self, lead_id: &str, row: &[f64]) -> LeadScore {
        let score = self.model.score(row);
        LeadScore {
            lead_id: lead_id.to_owned(),
            probability: score.probability,
            percentile: score.percentile,
            tier: score.tier,
            reasons: self.model.explain(row, self.reasons),
            model: self.model.name.clone(),
            model_version: self.model.version.clone(),
        }
    }

    /// Scores one lead as a request carries it.
    pub fn score_lead(
        &self,
        lead_id: &str,
        lead: &LeadInput<'_>,
    ) -> Result<LeadScore, FeatureError> {
        let (row, _) = self.model.features.transform_lead(lead)?;
        Ok(self.score_row(lead_id, &row))
    }

    /// Scores every lead of a table, each at its as-of time.
    pub fn score_table(
        &self,
        leads: &LeadsTable,
        events: Option<&EventLog>,
        scoring_time: i64,
    ) -> Result<Vec<LeadScore>, FeatureError> {
        let matrix = self
            .model
            .features
            .transform_table(leads, events, scoring_time)?;
        Ok((0..leads.len())
            .into_par_iter()
            .map(|r| {
                let row = matrix.values.row(r).to_vec();
                self.score_row(&leads.ids[r], &row)
            })
            .collect())
    }
}
