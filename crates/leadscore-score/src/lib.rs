//! One scoring path for every consumer.
//!
//! Batch files (`leadscore score`), evaluation, the offline comparison, the HTTP server and the
//! Python package all score through [`Scorer`]: with a model, features from the model's own
//! pipeline, the calibrated probability, its percentile among training leads, the tier and the
//! top reasons; with a rules file, the points score and its breakdown. A table is scored with
//! the same functions a single request uses (a single lead is a block of one), so batch and
//! server answers are identical; [`Scorer::score_table_in_parts`] scores a large file a part at a
//! time so that only one part's answers are in memory. [`evaluate`] measures a model on a file with outcomes through the same scorer;
//! [`Scorer::output_columns`] is the one shape of a scored table.

mod evaluate;
mod output;

use std::borrow::Cow;

use leadscore_artifact::{Explanation, ModelArtifact, ModelScore, ROW_BLOCK};
use leadscore_data::{EventLog, LeadsTable, Value};
use leadscore_features::{AsOfPolicy, FeatureError, LeadInput};
use leadscore_points::{PointsRules, PointsScore};
use rayon::prelude::*;
use serde::Serialize;

pub use evaluate::{EvaluateError, Evaluation, evaluate};
pub use output::{
    breakdown_text, check_rules_against, reasons_text, scoring_leads_options, stale_scoring_time,
};

/// What the predictive model says about a lead.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Prediction {
    /// Calibrated probability of winning.
    pub probability: f64,
    /// Share of training leads scoring at or below, 0–100.
    pub percentile: f64,
    /// Tier name.
    pub tier: String,
    /// Top positive and negative reasons (absent when none were asked for).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasons: Option<Explanation>,
    /// Model name.
    pub model: String,
    /// Model version.
    pub model_version: String,
    /// With a deal value model: the expected deal value if the lead wins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_if_won: Option<f64>,
    /// With a deal value model: probability × value if won, the revenue to expect.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_value: Option<f64>,
}

/// Everything leadscore says about one lead.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LeadScore {
    /// Lead id.
    pub lead_id: String,
    /// The model's answer, when scoring with a model.
    #[serde(flatten)]
    pub prediction: Option<Prediction>,
    /// The points score, when scoring with rules.
    pub points: Option<PointsScore>,
    /// Category levels the model never learned, scored as `(other)`: (column, level).
    #[serde(skip)]
    pub unlearned_levels: Vec<(String, String)>,
    /// The challenger's probability, when one is scored in shadow: recorded, never answered.
    #[serde(skip)]
    pub shadow: Option<ShadowScore>,
    /// The model's values of the explicit columns (a number, a category's code, `NaN` when
    /// missing), as its column profiles count them; empty for leads scored in a table.
    #[serde(skip)]
    pub column_values: Vec<f64>,
}

/// A challenger's score of a lead, kept to compare it with the champion on later outcomes.
#[derive(Debug, Clone, PartialEq)]
pub struct ShadowScore {
    /// The challenger's version.
    pub model_version: String,
    /// Its calibrated probability.
    pub probability: f64,
}

/// Scoring needs a model, a rules file, or both.
#[derive(Debug, thiserror::Error)]
#[error("nothing to score with: give a model, a rules file, or both")]
pub struct NothingToScoreWith;

/// Scores leads with a model and/or points rules.
#[derive(Debug, Clone)]
pub struct Scorer {
    model: Option<ModelArtifact>,
    rules: Option<PointsRules>,
    reasons: usize,
    shadow: Option<ModelArtifact>,
}

impl Scorer {
    /// A scorer giving `reasons` positive and negative reasons per lead.
    pub fn new(
        model: Option<ModelArtifact>,
        rules: Option<PointsRules>,
        reasons: usize,
    ) -> Result<Self, NothingToScoreWith> {
        if model.is_none() && rules.is_none() {
            return Err(NothingToScoreWith);
        }
        Ok(Self {
            model,
            rules,
            reasons,
            shadow: None,
        })
    }

    /// Also scores each single lead with `challenger`, in shadow: its probability is in
    /// [`LeadScore::shadow`] and nowhere in the answer. Tables are not shadowed.
    pub fn with_shadow(mut self, challenger: ModelArtifact) -> Self {
        self.shadow = Some(challenger);
        self
    }

    /// The challenger scored in shadow, if any.
    pub fn shadow(&self) -> Option<&ModelArtifact> {
        self.shadow.as_ref()
    }

    /// The model, if any.
    pub fn model(&self) -> Option<&ModelArtifact> {
        self.model.as_ref()
    }

    /// The rules, if any.
    pub fn rules(&self) -> Option<&PointsRules> {
        self.rules.as_ref()
    }

    /// When closed leads are scored: the model's policy, else at their close date.
    pub fn as_of_policy(&self) -> AsOfPolicy {
        self.model
            .as_ref()
            .map_or(AsOfPolicy::CloseDate, |m| m.features().as_of)
    }

    /// The model's answers for feature rows; reasons are computed for all rows together.
    fn predict(model: &ModelArtifact, rows: &[&[f64]], reasons: usize) -> Vec<Prediction> {
        let scored: Vec<(ModelScore, Option<Explanation>)> = if reasons > 0 {
            model
                .score_and_explain_rows(rows, reasons)
                .into_iter()
                .map(|(score, explanation)| (score, Some(explanation)))
                .collect()
        } else {
            model
                .score_rows(rows)
                .into_iter()
                .map(|score| (score, None))
                .collect()
        };
        scored
            .into_iter()
            .map(|(score, reasons)| Prediction {
                probability: score.probability,
                percentile: score.percentile,
                tier: score.tier,
                reasons,
                model: model.name().to_owned(),
                model_version: model.version().to_owned(),
                value_if_won: score.value_if_won,
                expected_value: score.expected_value,
            })
            .collect()
    }

    /// Scores one lead as a request carries it.
    pub fn score_lead(
        &self,
        lead_id: &str,
        lead: &LeadInput<'_>,
    ) -> Result<LeadScore, FeatureError> {
        self.score_lead_with_reasons(lead_id, lead, self.reasons)
    }

    /// Scores one lead with `reasons` reasons each way instead of the scorer's default; 0 skips
    /// the explanation (TreeSHAP is most of a boosted model's scoring time).
    pub fn score_lead_with_reasons(
        &self,
        lead_id: &str,
        lead: &LeadInput<'_>,
        reasons: usize,
    ) -> Result<LeadScore, FeatureError> {
        let mut unlearned_levels = Vec::new();
        let mut column_values = Vec::new();
        let prediction = match &self.model {
            Some(model) => {
                let (row, _) = model.features().transform_lead(lead)?;
                unlearned_levels = model.features().unlearned_levels(
                    |name| lead.attributes.get(name).copied().unwrap_or(Value::Missing),
                    &row,
                );
                column_values = row[..model.features().columns.len()].to_vec();
                Self::predict(model, &[&row], reasons).pop()
            }
            None => None,
        };
        // A lead the challenger cannot read is only missing from the shadow comparison: the
        // champion's answer never depends on the challenger.
        let shadow = self.shadow.as_ref().and_then(|challenger| {
            let (row, _) = challenger.features().transform_lead(lead).ok()?;
            Some(ShadowScore {
                model_version: challenger.version().to_owned(),
                probability: challenger.probability(&row),
            })
        });
        Ok(LeadScore {
            lead_id: lead_id.to_owned(),
            prediction,
            points: self.rules.as_ref().map(|rules| rules.score_input(lead)),
            unlearned_levels,
            shadow,
            column_values,
        })
    }

    /// Scores a table `part_size` leads at a time ([`SCORING_PART`] for files) and hands each
    /// part's scores to `each`, in row order, while the next part is scored: at most two parts'
    /// features and answers are in memory at once. Every score depends on its own lead only, so
    /// the scores are [`Scorer::score_table`]'s.
    pub fn score_table_in_parts<E: From<FeatureError> + Send>(
        &self,
        leads: &LeadsTable,
        events: Option<&EventLog>,
        scoring_time: i64,
        part_size: usize,
        mut each: impl FnMut(Vec<LeadScore>) -> Result<(), E> + Send,
    ) -> Result<(), E> {
        let part_size = part_size.max(1);
        if leads.len() <= part_size {
            return each(self.score_table(leads, events, scoring_time)?);
        }
        // A part is handed on (written, for a file) while the next one is scored.
        let mut scored: Option<Vec<LeadScore>> = None;
        for start in (0..leads.len()).step_by(part_size) {
            let (handed_on, next) = rayon::join(
                || scored.take().map_or(Ok(()), &mut each),
                || {
                    let end = (start + part_size).min(leads.len());
                    let rows: Vec<usize> = (start..end).collect();
                    let part = leads.select_rows(&rows);
                    let part_events = events.map(|log| log.select_leads(&rows));
                    self.score_table(&part, part_events.as_ref(), scoring_time)
                },
            );
            handed_on?;
            scored = Some(next?);
        }
        scored.map_or(Ok(()), each)
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
            .as_ref()
            .map(|m| m.features().transform_table(leads, events, scoring_time))
            .transpose()?;
        let points = self.rules.as_ref().map(|rules| {
            let as_of = self.as_of_policy().for_table(leads, scoring_time);
            rules.score_table(leads, events, &as_of)
        });
        // Rows go to the model in blocks: a boosted model routes and explains a block tree by tree.
        let points = points.as_ref();
        let rows: Vec<usize> = (0..leads.len()).collect();
        Ok(rows
            .par_chunks(ROW_BLOCK)
            .flat_map_iter(|block| {
                let rows: Vec<Cow<'_, [f64]>> = matrix
                    .as_ref()
                    .map_or_else(Vec::new, |m| block.iter().map(|&r| m.row(r)).collect());
                let mut predictions = self.model.as_ref().map(|model| {
                    let rows: Vec<&[f64]> = rows.iter().map(AsRef::as_ref).collect();
                    Self::predict(model, &rows, self.reasons).into_iter()
                });
                block.iter().enumerate().map(move |(i, &r)| {
                    let prediction = predictions.as_mut().and_then(Iterator::next);
                    let unlearned_levels = match &self.model {
                        Some(model) => model.features().unlearned_levels(
                            |name| leads.column(name).map_or(Value::Missing, |c| c.value(r)),
                            &rows[i],
                        ),
                        None => Vec::new(),
                    };
                    LeadScore {
                        lead_id: leads.ids[r].clone(),
                        prediction,
                        points: points.map(|p| p[r].clone()),
                        unlearned_levels,
                        shadow: None,
                        column_values: Vec::new(),
                    }
                })
            })
            .collect())
    }
}

/// Leads per part of [`Scorer::score_table_in_parts`]: large enough to keep both cores busy,
/// small enough that a part's features and answers take a few tens of megabytes.
pub const SCORING_PART: usize = 1 << 16;
