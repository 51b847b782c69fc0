//! Ranking and calibration metrics for won/lost outcomes.
//!
//! Training, the points engine, offline comparison and the synthetic generator all judge scores
//! with these functions, so a figure means the same thing wherever it is printed. Ties in scores
//! (common for points) are handled as the expected value under random tie-breaking, never by
//! row order.

use serde::{Deserialize, Serialize};

/// Area under the ROC curve; `None` unless both classes are present.
///
/// Tied scores count one half, i.e. the Mann–Whitney statistic with average ranks.
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    SortedScores::new(scores).roc_auc(labels, &Multiplicity::Once)
}

/// How many times each lead counts: once, or as often as a bootstrap resample drew it.
#[derive(Debug, Clone, Copy)]
pub enum Multiplicity<'a> {
    /// Every lead once.
    Once,
    /// Lead `i` counts `counts[i]` times.
    Drawn(&'a [u32]),
}

impl Multiplicity<'_> {
    #[inline]
    fn of(&self, lead: usize) -> usize {
        match self {
            Self::Once => 1,
            Self::Drawn(counts) => counts[lead] as usize,
        }
    }
}

/// Leads sorted by score once, with tied scores grouped, for the rank metrics ([`roc_auc`],
/// [`Ranking`]) of the leads themselves or of any bootstrap resample of them. A resample is the
/// number of times it drew each lead, so it is measured in one pass over this order instead of
/// sorting a copy of it. The figures are the copy's to the bit: ties group equal scores whichever
/// lead they come from, rank sums are exact (sums of halves), and a lead's weight is added once
/// per draw, as in a copy listing the draws in lead order (in any order for whole weights, such
/// as won/lost).
#[derive(Debug, Clone)]
pub struct SortedScores {
    /// Leads by ascending score, tied leads in index order.
    order: Vec<usize>,
    /// End (in `order`) of each group of tied scores, ascending.
    group_ends: Vec<usize>,
}

impl SortedScores {
    /// Sorts `scores`.
    pub fn new(scores: &[f64]) -> Self {
        let order = ascending_order(scores);
        let mut group_ends = Vec::new();
        for i in 1..=order.len() {
            if i == order.len() || scores[order[i]] != scores[order[i - 1]] {
                group_ends.push(i);
            }
        }
        Self { order, group_ends }
    }

    /// The groups of tied leads, ascending.
    fn groups(&self) -> impl DoubleEndedIterator<Item = &[usize]> {
        (0..self.group_ends.len()).map(|g| {
            let start = g.checked_sub(1).map_or(0, |before| self.group_ends[before]);
            &self.order[start..self.group_ends[g]]
        })
    }

    /// [`roc_auc`] of the leads counted `times`.
    pub fn roc_auc(&self, labels: &[bool], times: &Multiplicity<'_>) -> Option<f64> {
        let (mut positives, mut negatives) = (0usize, 0usize);
        for (lead, &label) in labels.iter().enumerate() {
            let count = times.of(lead);
            if label {
                positives += count;
            } else {
                negatives += count;
            }
        }
        if positives == 0 || negatives == 0 {
            return None;
        }
        let mut rank_sum = 0.0;
        let mut start = 0;
        for group in self.groups() {
            let (mut leads, mut tied_positives) = (0, 0);
            for &lead in group {
                let count = times.of(lead);
                leads += count;
                tied_positives += count * usize::from(labels[lead]);
            }
            let end = start + leads;
            let average_rank = (start + end + 1) as f64 / 2.0;
            rank_sum += average_rank * tied_positives as f64;
            start = end;
        }
        let p = positives as f64;
        Some((rank_sum - p * (p + 1.0) / 2.0) / (p * negatives as f64))
    }

    /// The [`Ranking`] of the leads counted `times`, each lead counting its weight.
    pub fn ranking(&self, weights: &[f64], times: &Multiplicity<'_>) -> Ranking {
        let mut groups: Vec<(usize, f64)> = Vec::with_capacity(self.group_ends.len());
        let (mut leads, mut positives) = (0, 0.0);
        for group in self.groups().rev() {
            let (mut count, mut won) = (0, 0.0);
            for &lead in group {
                // A lead drawn k times adds its weight k times, as k copies of it would.
                for _ in 0..times.of(lead) {
                    count += 1;
                    won += weights[lead];
                }
            }
            if count > 0 {
                groups.push((count, won));
                leads += count;
            }
        }
        for (lead, &weight) in weights.iter().enumerate() {
            for _ in 0..times.of(lead) {
                positives += weight;
            }
        }
        Ranking {
            groups,
            leads,
            positives,
        }
    }
}

/// A 95% interval of an AUC measured on `positives` and `negatives` leads (Hanley and McNeil,
/// 1982), clipped to [0, 1].
pub fn auc_interval(auc: f64, positives: usize, negatives: usize) -> (f64, f64) {
    if positives == 0 || negatives == 0 || !auc.is_finite() {
        return (0.0, 1.0);
    }
    let (n1, n2) = (positives as f64, negatives as f64);
    let q1 = auc / (2.0 - auc);
    let q2 = 2.0 * auc * auc / (1.0 + auc);
    let variance =
        (auc * (1.0 - auc) + (n1 - 1.0) * (q1 - auc * auc) + (n2 - 1.0) * (q2 - auc * auc))
            / (n1 * n2);
    let half = 1.959_963_985 * variance.max(0.0).sqrt();
    ((auc - half).max(0.0), (auc + half).min(1.0))
}

/// Points of the ROC curve (false positive rate, true positive rate), one per distinct score,
/// thinned to at most `max_points`.
pub fn roc_curve(scores: &[f64], labels: &[bool], max_points: usize) -> Vec<(f64, f64)> {
    let positives = labels.iter().filter(|&&l| l).count().max(1) as f64;
    let negatives = (labels.len() - labels.iter().filter(|&&l| l).count()).max(1) as f64;
    let order = descending_order(scores);
    let mut points = vec![(0.0, 0.0)];
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut i = 0;
    while i < order.len() {
        let score = scores[order[i]];
        while i < order.len() && scores[order[i]] == score {
            if labels[order[i]] {
                tp += 1.0;
            } else {
                fp += 1.0;
            }
            i += 1;
        }
        points.push((fp / negatives, tp / positives));
    }
    thin(points, max_points)
}

/// Area under the precision–recall curve as average precision (tied scores form one step).
pub fn average_precision(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let positives = labels.iter().filter(|&&l| l).count();
    if positives == 0 || positives == labels.len() {
        return None;
    }
    let order = descending_order(scores);
    let (mut tp, mut seen, mut area, mut previous_recall) = (0.0, 0.0, 0.0, 0.0);
    let mut i = 0;
    while i < order.len() {
        let score = scores[order[i]];
        while i < order.len() && scores[order[i]] == score {
            tp += f64::from(u8::from(labels[order[i]]));
            seen += 1.0;
            i += 1;
        }
        let recall = tp / positives as f64;
        area += (recall - previous_recall) * (tp / seen);
        previous_recall = recall;
    }
    Some(area)
}

/// Mean negative log-likelihood, probabilities clipped to [1e-15, 1 − 1e-15].
pub fn log_loss(probabilities: &[f64], labels: &[bool]) -> f64 {
    let total: f64 = probabilities
        .iter()
        .zip(labels)
        .map(|(&p, &y)| {
            let p = p.clamp(1e-15, 1.0 - 1e-15);
            if y { -p.ln() } else { -(1.0 - p).ln() }
        })
        .sum();
    total / probabilities.len().max(1) as f64
}

/// Mean squared difference between probability and outcome.
pub fn brier(probabilities: &[f64], labels: &[bool]) -> f64 {
    let total: f64 = probabilities
        .iter()
        .zip(labels)
        .map(|(&p, &y)| (p - f64::from(u8::from(y))).powi(2))
        .sum();
    total / probabilities.len().max(1) as f64
}

/// One bin of a reliability diagram.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CalibrationBin {
    /// Mean predicted probability in the bin.
    pub predicted: f64,
    /// Observed won share in the bin.
    pub observed: f64,
    /// Leads in the bin.
    pub count: usize,
}

/// Reliability diagram with `bins` equal-count bins by predicted probability.
///
/// Equal-count bins keep every bin's observed rate estimable when most leads sit below 20%.
pub fn calibration_bins(
    probabilities: &[f64],
    labels: &[bool],
    bins: usize,
) -> Vec<CalibrationBin> {
    let n = probabilities.len();
    if n == 0 || bins == 0 {
        return Vec::new();
    }
    let order = ascending_order(probabilities);
    (0..bins)
        .filter_map(|b| {
            let (start, end) = (b * n / bins, (b + 1) * n / bins);
            (end > start).then(|| {
                let slice = &order[start..end];
                let count = slice.len();
                CalibrationBin {
                    predicted: slice.iter().map(|&i| probabilities[i]).sum::<f64>() / count as f64,
                    observed: slice.iter().filter(|&&i| labels[i]).count() as f64 / count as f64,
                    count,
                }
            })
        })
        .collect()
}

/// Expected calibration error: count-weighted mean |predicted − observed| over 10 equal-count bins.
pub fn expected_calibration_error(probabilities: &[f64], labels: &[bool]) -> f64 {
    let n = probabilities.len().max(1) as f64;
    calibration_bins(probabilities, labels, 10)
        .iter()
        .map(|bin| bin.count as f64 / n * (bin.predicted - bin.observed).abs())
        .sum()
}

/// Leads ranked by score, with tied scores grouped: the one place where "the top k% of leads"
/// is computed, for every capture, gains and lift figure leadscore prints.
///
/// When a cut falls inside a group of tied scores, the group contributes in proportion, which is
/// the expectation under random tie-breaking: a points score with many ties is not flattered or
/// penalised by row order.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranking {
    /// (leads, positives or summed weight) of each group of tied scores, best score first.
    groups: Vec<(usize, f64)>,
    leads: usize,
    positives: f64,
}

impl Ranking {
    /// Ranks leads by descending score; a won lead counts 1.
    pub fn new(scores: &[f64], labels: &[bool]) -> Self {
        let weights: Vec<f64> = labels.iter().map(|&l| f64::from(u8::from(l))).collect();
        Self::weighted(scores, &weights)
    }

    /// Ranks leads by descending score, each lead counting its weight: with deal values as
    /// weights, "positives" in the top share are the revenue captured there.
    pub fn weighted(scores: &[f64], weights: &[f64]) -> Self {
        SortedScores::new(scores).ranking(weights, &Multiplicity::Once)
    }

    /// Number of leads.
    pub fn leads(&self) -> usize {
        self.leads
    }

    /// Number of positive leads (of a ranking by labels).
    pub fn positives(&self) -> usize {
        self.positives.round() as usize
    }

    /// Summed weight of all leads (the positives, or the revenue of a weighted ranking).
    pub fn total(&self) -> f64 {
        self.positives
    }

    /// Expected number of positives among the top `fraction` of leads.
    pub fn positives_in_top(&self, fraction: f64) -> f64 {
        let take = fraction.clamp(0.0, 1.0) * self.leads as f64;
        let (mut taken, mut captured) = (0.0, 0.0);
        for &(count, positives) in &self.groups {
            if taken >= take {
                break;
            }
            let share = ((take - taken) / count as f64).min(1.0);
            captured += positives * share;
            taken += count as f64 * share;
        }
        captured
    }

    /// Positive share of the top `fraction` of leads over the overall positive share.
    pub fn lift_at(&self, fraction: f64) -> f64 {
        self.lift_between(0.0, fraction)
    }

    /// Positive share of the leads ranked between the top `from` and the top `to` fractions,
    /// over the overall positive share.
    fn lift_between(&self, from: f64, to: f64) -> f64 {
        let (from, to) = (from.clamp(0.0, 1.0), to.clamp(0.0, 1.0));
        let take = (to - from) * self.leads as f64;
        if self.positives == 0.0 || take <= 0.0 {
            return 0.0;
        }
        let captured = self.positives_in_top(to) - self.positives_in_top(from);
        (captured / take) / (self.positives / self.leads as f64)
    }

    /// Cumulative share of all positives captured after each of `parts` equal shares of leads.
    pub fn gains(&self, parts: usize) -> Vec<f64> {
        let positives = self.positives.max(1.0);
        (1..=parts)
            .map(|k| self.positives_in_top(k as f64 / parts as f64) / positives)
            .collect()
    }

    /// Expected positives in each of `parts` equal shares of leads, best first.
    pub fn positives_by_part(&self, parts: usize) -> Vec<f64> {
        let mut previous = 0.0;
        (1..=parts)
            .map(|k| {
                let cumulative = self.positives_in_top(k as f64 / parts as f64);
                let part = cumulative - previous;
                previous = cumulative;
                part
            })
            .collect()
    }

    /// Lift of each of `parts` equal shares of leads, best first (the first is
    /// [`Ranking::lift_at`] of `1 / parts`, to the last bit).
    pub fn lift_by_part(&self, parts: usize) -> Vec<f64> {
        (0..parts)
            .map(|k| self.lift_between(k as f64 / parts as f64, (k + 1) as f64 / parts as f64))
            .collect()
    }
}

/// A 95% interval of the expected calibration error: the observed rate of each of the 10
/// equal-count bins is redrawn from its binomial sampling distribution (1,000 times, with a fixed
/// seed), and the ECE recomputed. A calibration error within the interval of 0 is noise.
pub fn ece_interval(probabilities: &[f64], labels: &[bool]) -> (f64, f64) {
    let bins = calibration_bins(probabilities, labels, 10);
    let n = probabilities.len().max(1) as f64;
    let mut state: u64 = 0x5DEE_CE66_D1CE_4E5B;
    let mut uniform = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let mut draws: Vec<f64> = (0..1000)
        .map(|_| {
            bins.iter()
                .map(|bin| {
                    let spread = (bin.observed * (1.0 - bin.observed) / bin.count as f64).sqrt();
                    // Box–Muller: one standard normal from two uniforms.
                    let z = (-2.0 * uniform().ln()).sqrt()
                        * (2.0 * std::f64::consts::PI * uniform()).cos();
                    let observed = (bin.observed + z * spread).clamp(0.0, 1.0);
                    bin.count as f64 / n * (bin.predicted - observed).abs()
                })
                .sum()
        })
        .collect();
    draws.sort_by(f64::total_cmp);
    (draws[25], draws[974])
}

/// Expected number of won leads among the top `fraction` of leads by score ([`Ranking`]).
pub fn positives_in_top(scores: &[f64], labels: &[bool], fraction: f64) -> f64 {
    Ranking::new(scores, labels).positives_in_top(fraction)
}

/// Won share of the top `fraction` of leads divided by the overall won share ([`Ranking`]).
pub fn lift_at(scores: &[f64], labels: &[bool], fraction: f64) -> f64 {
    Ranking::new(scores, labels).lift_at(fraction)
}

/// `count` evenly spaced quantiles (0% … 100%) of the values, linearly interpolated; `[0, 1]`
/// when there are no values.
pub fn quantiles(values: &[f64], count: usize) -> Vec<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() || count < 2 {
        return vec![0.0, 1.0];
    }
    let last = sorted.len() - 1;
    (0..count)
        .map(|k| {
            let position = k as f64 * last as f64 / (count - 1) as f64;
            let (low, high) = (position.floor() as usize, position.ceil() as usize);
            sorted[low] + (sorted[high] - sorted[low]) * (position - low as f64)
        })
        .collect()
}

/// Edges that cut the non-missing values into at most `bins` groups of about equal count: the
/// values at ranks `k·n/bins` for `k = 1 … bins − 1`, distinct and ascending. A value `v` belongs
/// to bin `#{edges ≤ v}` (the number of edges at or below it), so each edge opens a bin.
pub fn quantile_edges(values: impl IntoIterator<Item = f64>, bins: usize) -> Vec<f64> {
    let mut present: Vec<f64> = values.into_iter().filter(|v| !v.is_nan()).collect();
    present.sort_by(f64::total_cmp);
    let mut edges: Vec<f64> = (1..bins)
        .filter_map(|k| present.get(k * present.len() / bins).copied())
        .collect();
    edges.dedup();
    if edges.first() == present.first() {
        // An edge at the minimum would open an empty first bin.
        edges.remove(0);
    }
    edges
}

/// The metrics reported for every model and data set.
///
/// In JSON an undefined metric (AUC with a single class) is `null`, never a bare `NaN`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BinaryMetrics {
    /// Leads scored.
    pub rows: usize,
    /// Won leads among them.
    pub positives: usize,
    /// ROC AUC.
    #[serde(with = "nan_as_null")]
    pub auc: f64,
    /// Average precision (PR AUC).
    #[serde(with = "nan_as_null")]
    pub pr_auc: f64,
    /// Mean log loss.
    pub log_loss: f64,
    /// Brier score.
    pub brier: f64,
    /// Expected calibration error (10 equal-count bins).
    pub ece: f64,
    /// Lift in the top 10% of scores.
    pub lift_top_decile: f64,
    /// 95% interval of the AUC ([`auc_interval`]); absent with one class.
    #[serde(default)]
    pub auc_interval: Option<(f64, f64)>,
    /// 95% interval of the expected calibration error ([`ece_interval`]).
    #[serde(default)]
    pub ece_interval: Option<(f64, f64)>,
}

impl BinaryMetrics {
    /// All metrics of probabilities against outcomes (AUC and PR AUC are NaN with one class).
    pub fn compute(probabilities: &[f64], labels: &[bool]) -> Self {
        let positives = labels.iter().filter(|&&l| l).count();
        let auc = roc_auc(probabilities, labels);
        Self {
            rows: labels.len(),
            positives,
            auc_interval: auc.map(|a| auc_interval(a, positives, labels.len() - positives)),
            ece_interval: (!labels.is_empty()).then(|| ece_interval(probabilities, labels)),
            auc: auc.unwrap_or(f64::NAN),
            pr_auc: average_precision(probabilities, labels).unwrap_or(f64::NAN),
            log_loss: log_loss(probabilities, labels),
            brier: brier(probabilities, labels),
            ece: expected_calibration_error(probabilities, labels),
            lift_top_decile: Ranking::new(probabilities, labels).lift_at(0.1),
        }
    }
}

/// Serde helpers writing non-finite floats as `null` and reading `null` back as NaN.
pub mod nan_as_null {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes a finite value as a number, anything else as `null`.
    pub fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        if value.is_finite() {
            serializer.serialize_f64(*value)
        } else {
            serializer.serialize_none()
        }
    }

    /// Reads a number, or `null` as NaN.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::NAN))
    }
}

fn ascending_order(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    order
}

fn descending_order(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    order
}

fn thin(points: Vec<(f64, f64)>, max_points: usize) -> Vec<(f64, f64)> {
    if points.len() <= max_points || max_points < 2 {
        return points;
    }
    let last = points.len() - 1;
    (0..max_points)
        .map(|k| points[k * last / (max_points - 1)])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resample_counted_by_draws_measures_as_its_copy_to_the_bit() {
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = |below: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 33) as usize) % below
        };
        for leads in [1, 2, 7, 300] {
            // Few distinct scores (many ties, -0.0 beside 0.0) and fractional weights.
            let scores: Vec<f64> = (0..leads)
                .map(|_| [0.0, -0.0, 0.25, 0.5, 0.7, 0.9][next(6)])
                .collect();
            let labels: Vec<bool> = (0..leads).map(|_| next(3) == 0).collect();
            let weights: Vec<f64> = (0..leads).map(|_| next(1000) as f64 / 7.0).collect();
            let sorted = SortedScores::new(&scores);
            for _ in 0..20 {
                let mut counts = vec![0u32; leads];
                let mut drawn = Vec::new();
                for _ in 0..leads {
                    let lead = next(leads);
                    counts[lead] += 1;
                    drawn.push(lead);
                }
                // The copy lists each drawn lead as often as it was drawn, in lead order.
                drawn.sort_unstable();
                let pick = |values: &[f64]| drawn.iter().map(|&i| values[i]).collect::<Vec<_>>();
                let copy_labels: Vec<bool> = drawn.iter().map(|&i| labels[i]).collect();
                let times = Multiplicity::Drawn(&counts);
                assert_eq!(
                    sorted.roc_auc(&labels, &times).map(f64::to_bits),
                    roc_auc(&pick(&scores), &copy_labels).map(f64::to_bits)
                );
                assert_eq!(
                    sorted.ranking(&weights, &times),
                    Ranking::weighted(&pick(&scores), &pick(&weights))
                );
            }
        }
    }

    #[test]
    fn auc_matches_pairwise_definition() {
        let scores = [0.1, 0.4, 0.35, 0.8, 0.4];
        let labels = [false, false, true, true, true];
        // Pairs (pos, neg): (0.35,0.1)=1 (0.35,0.4)=0 (0.8,*)=2 (0.4,0.1)=1 (0.4,0.4)=0.5 → 4.5/6
        assert!((roc_auc(&scores, &labels).expect("two classes") - 0.75).abs() < 1e-12);
        assert_eq!(roc_auc(&[0.1, 0.2], &[true, true]), None);
    }

    #[test]
    fn average_precision_of_perfect_and_reversed_ranking() {
        let labels = [true, true, false, false];
        assert_eq!(average_precision(&[0.9, 0.8, 0.2, 0.1], &labels), Some(1.0));
        let reversed = average_precision(&[0.1, 0.2, 0.8, 0.9], &labels).expect("two classes");
        assert!((reversed - (0.5 * (1.0 / 3.0) + 0.5 * 0.5)).abs() < 1e-12);
    }

    #[test]
    fn log_loss_and_brier_of_known_values() {
        let labels = [true, false];
        assert!((log_loss(&[0.5, 0.5], &labels) - std::f64::consts::LN_2).abs() < 1e-12);
        assert!((brier(&[0.75, 0.25], &labels) - 0.0625).abs() < 1e-12);
        assert!(log_loss(&[0.0], &[true]).is_finite());
    }

    #[test]
    fn calibration_error_is_zero_for_calibrated_bins() {
        let probabilities: Vec<f64> = (0..100).map(|i| if i < 50 { 0.2 } else { 0.6 }).collect();
        let labels: Vec<bool> = (0..100)
            .map(|i| if i < 50 { i % 5 == 0 } else { i % 5 < 3 })
            .collect();
        assert!(expected_calibration_error(&probabilities, &labels) < 1e-12);
        let shifted: Vec<f64> = probabilities.iter().map(|p| p + 0.1).collect();
        assert!((expected_calibration_error(&shifted, &labels) - 0.1).abs() < 1e-9);
    }

    #[test]
    fn ties_are_split_in_proportion() {
        let scores = [5.0, 5.0, 5.0, 5.0, 1.0];
        let labels = [true, false, true, false, true];
        // Top 40% = 2 of the 4 tied leads, half of them won in expectation.
        assert!((positives_in_top(&scores, &labels, 0.4) - 1.0).abs() < 1e-12);
        assert!((positives_in_top(&scores, &labels, 1.0) - 3.0).abs() < 1e-12);
        assert!((lift_at(&scores, &labels, 0.4) - (0.5 / 0.6)).abs() < 1e-12);
    }

    #[test]
    fn gains_and_lift_by_part_agree_with_the_top_share() {
        let scores: Vec<f64> = (0..97).map(|i| f64::from(i % 13)).collect();
        let labels: Vec<bool> = (0..97).map(|i| i % 4 == 0).collect();
        let ranking = Ranking::new(&scores, &labels);
        let gains = ranking.gains(10);
        assert!((gains[9] - 1.0).abs() < 1e-12);
        let lift = ranking.lift_by_part(10);
        assert_eq!(lift[0], ranking.lift_at(0.1));
        let total: f64 = ranking.positives_by_part(10).iter().sum();
        assert!((total - ranking.positives() as f64).abs() < 1e-9);
    }

    #[test]
    fn quantile_edges_split_values_into_equal_groups() {
        let values: Vec<f64> = (0..100).map(f64::from).collect();
        assert_eq!(
            quantile_edges(values.iter().copied(), 4),
            [25.0, 50.0, 75.0]
        );
        assert_eq!(
            quantile_edges([1.0, 1.0, 1.0, f64::NAN], 4),
            Vec::<f64>::new()
        );
        assert_eq!(quantiles(&[1.0, 3.0], 3), [1.0, 2.0, 3.0]);
    }

    #[test]
    fn the_auc_interval_matches_hanley_and_mcneil() {
        // Hanley and McNeil (1982), equation 2 by hand: A = 0.8, 50 and 50 leads, Q1 = 2/3,
        // Q2 = 32/45, variance = (0.16 + 49 (Q1 − 0.64) + 49 (Q2 − 0.64)) / 2500 → SE 0.04450.
        let (low, high) = auc_interval(0.8, 50, 50);
        assert!(
            ((high - low) / 2.0 / 1.96 - 0.044_50).abs() < 1e-4,
            "{low} {high}"
        );
        assert_eq!(auc_interval(0.7, 0, 10), (0.0, 1.0));
    }

    #[test]
    fn the_ece_interval_holds_the_ece_of_a_noisy_calibrated_model() {
        let probabilities: Vec<f64> = (0..4000).map(|i| f64::from(i % 10) / 20.0 + 0.05).collect();
        let mut state = 42u64;
        let labels: Vec<bool> = probabilities
            .iter()
            .map(|&p| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                ((state >> 33) as f64 / (1u64 << 31) as f64) < p
            })
            .collect();
        let ece = expected_calibration_error(&probabilities, &labels);
        let (low, high) = ece_interval(&probabilities, &labels);
        assert!(
            low <= ece && ece <= high && high < 0.05,
            "{low} {ece} {high}"
        );
    }

    #[test]
    fn undefined_metrics_survive_json() {
        let metrics = BinaryMetrics::compute(&[0.2, 0.4], &[true, true]);
        assert!(metrics.auc.is_nan());
        let json = serde_json::to_string(&metrics).expect("serialise");
        assert!(json.contains("\"auc\":null"), "{json}");
        let back: BinaryMetrics = serde_json::from_str(&json).expect("parse");
        assert!(back.auc.is_nan() && back.log_loss == metrics.log_loss);
    }

    #[test]
    fn roc_curve_runs_from_origin_to_corner() {
        let curve = roc_curve(&[0.9, 0.8, 0.3, 0.1], &[true, false, true, false], 100);
        assert_eq!(curve.first(), Some(&(0.0, 0.0)));
        assert_eq!(curve.last(), Some(&(1.0, 1.0)));
        assert_eq!(curve.len(), 5);
    }
}
