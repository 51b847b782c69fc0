//! The scoring maths of a model file: calibrated probability, percentile among training leads,
//! tier, and exact reasons grouped by source. Every consumer (batch files, the HTTP API, the
//! Python package, evaluation, comparison) scores through these functions.

use leadscore_features::FeatureSource;
use leadscore_models::Contributions;
use serde::{Deserialize, Serialize};

use crate::file::ModelArtifact;

/// One reason behind a score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Reason {
    /// Column or event type.
    pub source: String,
    /// Whether the source is a column of the lead or its behaviour.
    pub kind: ReasonKind,
    /// The lead's value, in words (`vp`, `missing`, `4 events, 2 in the last 30 days, last 3 days ago`).
    pub value: String,
    /// Contribution to calibrated log-odds (positive raises the probability).
    pub contribution: f64,
}

/// What a reason's source is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReasonKind {
    /// A column of the leads table.
    Attribute,
    /// A type of event in the lead's history.
    Behaviour,
}

/// The model's view of one lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelScore {
    /// Calibrated probability of winning.
    pub probability: f64,
    /// Share of training leads scoring at or below it, 0–100.
    pub percentile: f64,
    /// Tier name.
    pub tier: String,
    /// With a value model: the expected deal value if the lead wins.
    pub value_if_won: Option<f64>,
    /// With a value model: probability × value if won, the revenue to expect from the lead.
    pub expected_value: Option<f64>,
}

/// Reasons of one score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Explanation {
    /// Calibrated log-odds of the average training lead.
    pub base_logit: f64,
    /// Largest positive contributions, largest first.
    pub positive: Vec<Reason>,
    /// Largest negative contributions, most negative first.
    pub negative: Vec<Reason>,
}

impl ModelArtifact {
    /// Calibrated probability of a feature row.
    pub fn probability(&self, row: &[f64]) -> f64 {
        self.calibration()
            .probability(self.model().predict_logit(row))
    }

    /// Share of training leads (0–100) scoring at or below `probability`.
    pub fn percentile(&self, probability: f64) -> f64 {
        let table = self.percentiles();
        let last = table.len() - 1;
        let above = table.partition_point(|&p| p <= probability);
        if above == 0 {
            return 0.0;
        }
        if above > last {
            return 100.0;
        }
        let (low, high) = (table[above - 1], table[above]);
        let within = if high > low {
            (probability - low) / (high - low)
        } else {
            0.0
        };
        100.0 * ((above - 1) as f64 + within) / last as f64
    }

    /// Tier of a probability.
    pub fn tier(&self, probability: f64) -> &str {
        let tiers = self.tiers();
        tiers
            .iter()
            .find(|t| probability >= t.min_probability)
            .or(tiers.last())
            .map_or("", |t| t.name.as_str())
    }

    /// Probability, percentile and tier of a feature row.
    pub fn score(&self, row: &[f64]) -> ModelScore {
        self.score_from_logit(row, self.model().predict_logit(row))
    }

    /// [`ModelArtifact::score`] of several rows (the boosted model predicts them tree by tree;
    /// same values).
    pub fn score_rows(&self, rows: &[&[f64]]) -> Vec<ModelScore> {
        let logits = self.model().predict_logits_of_rows(rows);
        rows.iter()
            .zip(logits)
            .map(|(row, logit)| self.score_from_logit(row, logit))
            .collect()
    }

    fn score_from_logit(&self, row: &[f64], raw_logit: f64) -> ModelScore {
        let probability = self.calibration().probability(raw_logit);
        let value_if_won = self.value_model().map(|value| value.predict(row));
        ModelScore {
            probability,
            percentile: self.percentile(probability),
            tier: self.tier(probability).to_owned(),
            value_if_won,
            expected_value: value_if_won.map(|value| probability * value),
        }
    }

    /// Contributions of each source to the calibrated log-odds: (base, per-source values).
    /// `base + Σ values` equals the calibrated log-odds of the row.
    pub fn source_contributions(&self, row: &[f64]) -> (f64, Vec<(FeatureSource, f64)>) {
        let (base, totals) = self.source_totals(row);
        (
            base,
            self.layout.sources.iter().cloned().zip(totals).collect(),
        )
    }

    /// Calibrated base log-odds and each source's contribution, indexed like the layout. Raw
    /// contributions are scaled by the calibration's secant slope from the reference lead to this
    /// one, so that they add up exactly to the calibrated log-odds.
    fn source_totals(&self, row: &[f64]) -> (f64, Vec<f64>) {
        self.source_totals_of(&self.model().contributions(row))
    }

    fn source_totals_of(&self, contributions: &Contributions) -> (f64, Vec<f64>) {
        let raw_logit = contributions.bias + contributions.values.iter().sum::<f64>();
        let scale = self.calibration().scale(contributions.bias, raw_logit);
        let mut totals = vec![0.0; self.layout.sources.len()];
        for (&source, value) in self.layout.of_feature.iter().zip(&contributions.values) {
            totals[source] += scale * value;
        }
        (self.calibration().logit(contributions.bias), totals)
    }

    /// [`ModelArtifact::score_rows`] with the top `top` positive and negative reasons of each
    /// row, computed together (the boosted model explains the rows tree by tree, and its
    /// explanation reaches each tree's leaf on its way, so the log-odds come without a second
    /// walk: the same values as `score_rows`).
    pub fn score_and_explain_rows(
        &self,
        rows: &[&[f64]],
        top: usize,
    ) -> Vec<(ModelScore, Explanation)> {
        let (contributions, logits) = self.model().contributions_and_logits_of_rows(rows);
        contributions
            .iter()
            .zip(logits)
            .zip(rows)
            .map(|((contributions, logit), row)| {
                (
                    self.score_from_logit(row, logit),
                    self.explanation(contributions, row, top),
                )
            })
            .collect()
    }

    fn explanation(&self, contributions: &Contributions, row: &[f64], top: usize) -> Explanation {
        let (base_logit, totals) = self.source_totals_of(contributions);
        let reason = |source: usize| {
            let source_id = &self.layout.sources[source];
            let kind = match source_id {
                FeatureSource::Attribute(_) => ReasonKind::Attribute,
                FeatureSource::Behaviour(_) => ReasonKind::Behaviour,
            };
            Reason {
                source: source_id.name().to_owned(),
                kind,
                value: self.features().describe_source(source_id, row),
                contribution: totals[source],
            }
        };
        let (positive, negative) = strongest_sources(&totals, top);
        Explanation {
            base_logit,
            positive: positive.into_iter().map(reason).collect(),
            negative: negative.into_iter().map(reason).collect(),
        }
    }
}

/// Source totals this close to zero are no reason.
const NEGLIGIBLE: f64 = 1e-9;

/// The `top` sources raising the log-odds most and the `top` lowering them most, each strongest
/// first. Ties keep source order among the raising ones and reverse source order among the
/// lowering ones: one stable sort of every source, largest first, read from either end. A lead
/// has dozens of sources and shows a few of each, so each source is placed among the few chosen
/// so far instead.
fn strongest_sources(totals: &[f64], top: usize) -> (Vec<usize>, Vec<usize>) {
    let raising = strongest(
        totals,
        top,
        |total| total > NEGLIGIBLE,
        |a, b| totals[b].total_cmp(&totals[a]).then(a.cmp(&b)),
    );
    let lowering = strongest(
        totals,
        top,
        |total| total < -NEGLIGIBLE,
        |a, b| totals[a].total_cmp(&totals[b]).then(b.cmp(&a)),
    );
    (raising, lowering)
}

/// The first `top` sources whose total is `kept`, in `order`.
fn strongest(
    totals: &[f64],
    top: usize,
    kept: impl Fn(f64) -> bool,
    order: impl Fn(usize, usize) -> std::cmp::Ordering,
) -> Vec<usize> {
    let mut chosen = Vec::with_capacity(top + 1);
    for source in (0..totals.len()).filter(|&source| kept(totals[source])) {
        let place = chosen.partition_point(|&earlier| order(earlier, source).is_lt());
        if place < top {
            chosen.insert(place, source);
            chosen.truncate(top);
        }
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The order the reasons were chosen in before: every source beyond the negligible sorted
    /// once (stable, largest first), the raising read from the front, the lowering from the back.
    fn by_whole_sort(totals: &[f64], top: usize) -> (Vec<usize>, Vec<usize>) {
        let mut order: Vec<usize> = (0..totals.len())
            .filter(|&s| totals[s].abs() > NEGLIGIBLE)
            .collect();
        order.sort_by(|&a, &b| totals[b].total_cmp(&totals[a]));
        let positive = order
            .iter()
            .copied()
            .filter(|&s| totals[s] > 0.0)
            .take(top)
            .collect();
        let negative = order
            .iter()
            .rev()
            .copied()
            .filter(|&s| totals[s] < 0.0)
            .take(top)
            .collect();
        (positive, negative)
    }

    proptest! {
        /// Totals drawn from a few values (many ties, zeros, the negligible and its edge, NaN)
        /// or from anywhere, and any number of reasons asked for.
        #[test]
        fn the_strongest_sources_are_those_of_one_whole_sort(
            totals in prop::collection::vec(
                prop_oneof![
                    prop::sample::select(vec![
                        0.0, -0.0, 0.5, -0.5, 2.0, -2.0, 1e-9, -1e-9, 2e-9, -2e-9, f64::NAN,
                    ]),
                    -5.0..5.0f64,
                ],
                0..60,
            ),
            top in 0usize..8,
        ) {
            prop_assert_eq!(strongest_sources(&totals, top), by_whole_sort(&totals, top));
        }
    }
}
