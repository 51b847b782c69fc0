//! Learning a points file from closed leads, as credit scorecards are built: bin every field and
//! event type into candidate rules, compute each candidate's column through the rules engine
//! itself, fit a logistic model on those columns, and scale its weights to integer points.
//!
//! Each field's fit points are then shifted so that its lowest bin scores 0 (adding the same
//! number of points to every lead changes no ranking), so fit points and the learned MQL
//! threshold read as a marketer expects: never below zero.

use std::path::PathBuf;

use leadscore_data::{ColumnValues, EventLog, FeatureColumn, LeadsTable, MISSING_CODE, Outcome};
use leadscore_metrics::quantile_edges;
use leadscore_models::fit_logistic_design;
use ndarray::Array2;

use crate::engine::{learn_grade_cuts, rule_columns};
use crate::error::PointsError;
use crate::rules::{Condition, EventRule, FieldCondition, Group, PointsRules, Rule, default_tiers};
use crate::threshold::{ThresholdGoal, recommend_threshold};

/// Scorecard settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ScorecardParams {
    points_to_double_odds: f64,
    numeric_bins: usize,
    min_bin_share: f64,
    event_windows_days: Vec<f64>,
    event_half_life_days: f64,
    alpha: f64,
    mql_capacity: f64,
}

impl Default for ScorecardParams {
    /// 20 points double the odds; 5 quantile bins per numeric field; levels and bins with under
    /// 2% of leads are pooled; events seen in the last 30 and 90 days and counted with a 30-day half-life; L2 strength 5; the MQL
    /// threshold passes the top 20% of historical leads.
    fn default() -> Self {
        Self {
            points_to_double_odds: 20.0,
            numeric_bins: 5,
            min_bin_share: 0.02,
            event_windows_days: vec![30.0, 90.0],
            event_half_life_days: 30.0,
            alpha: 5.0,
            mql_capacity: 0.2,
        }
    }
}

impl ScorecardParams {
    /// Default settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Points that double a lead's odds of converting.
    pub fn points_to_double_odds(mut self, points: f64) -> Self {
        self.points_to_double_odds = points;
        self
    }

    /// Quantile bins per numeric field.
    pub fn numeric_bins(mut self, bins: usize) -> Self {
        self.numeric_bins = bins;
        self
    }

    /// Share of leads below which a level or bin gets no rule of its own.
    pub fn min_bin_share(mut self, share: f64) -> Self {
        self.min_bin_share = share;
        self
    }

    /// Share of historical leads the learned MQL threshold passes.
    pub fn mql_capacity(mut self, share: f64) -> Self {
        self.mql_capacity = share;
        self
    }

    /// Checks the settings.
    pub fn check(self) -> Result<ValidScorecardParams, PointsError> {
        let invalid = |name, reason: &str| {
            Err(PointsError::InvalidParam {
                name,
                reason: reason.to_owned(),
            })
        };
        if !(self.points_to_double_odds.is_finite() && self.points_to_double_odds > 0.0) {
            return invalid("points_to_double_odds", "must be a positive number");
        }
        if !(2..=20).contains(&self.numeric_bins) {
            return invalid("numeric_bins", "must be between 2 and 20");
        }
        if !(0.0..0.5).contains(&self.min_bin_share) {
            return invalid("min_bin_share", "must be in [0, 0.5)");
        }
        if !(self.mql_capacity > 0.0 && self.mql_capacity <= 1.0) {
            return invalid("mql_capacity", "must be a share in (0, 1]");
        }
        Ok(ValidScorecardParams(self))
    }
}

/// Checked scorecard settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidScorecardParams(ScorecardParams);

/// The partition of one field into bins: every lead falls in exactly one, so shifting all of a
/// field's bins by the same points changes no ranking.
struct FieldBins {
    field: String,
    /// Candidate rules, one per bin with enough leads.
    candidates: Vec<Rule>,
    /// The bins' conditions in order (numeric fields: the ranges, ascending).
    ranges: Vec<(Option<f64>, Option<f64>)>,
    numeric: bool,
}

fn candidate(name: String, group: Group, condition: Condition) -> Rule {
    Rule {
        name,
        group,
        points: 1.0,
        condition,
        line: 0,
    }
}

impl ValidScorecardParams {
    /// Learns rules from the closed leads among `rows`; `as_of` holds every lead's as-of time.
    pub fn fit(
        &self,
        leads: &LeadsTable,
        events: Option<&EventLog>,
        as_of: &[i64],
        rows: &[usize],
    ) -> Result<PointsRules, PointsError> {
        let rows: Vec<usize> = rows
            .iter()
            .copied()
            .filter(|&r| leads.outcomes[r] != Outcome::Open)
            .collect();
        let won: Vec<bool> = rows
            .iter()
            .map(|&r| leads.outcomes[r] == Outcome::Won)
            .collect();
        if !won.iter().any(|&w| w) || won.iter().all(|&w| w) {
            return Err(PointsError::InvalidParam {
                name: "leads",
                reason: "a scorecard needs both won and lost closed leads".into(),
            });
        }
        let min_count = ((self.0.min_bin_share * rows.len() as f64).ceil() as usize).max(10);
        let fields: Vec<FieldBins> = leads
            .columns
            .iter()
            .map(|column| self.field_bins(column, &rows, min_count))
            .collect();
        let mut candidates: Vec<Rule> = fields
            .iter()
            .flat_map(|f| f.candidates.iter().cloned())
            .collect();
        if let Some(log) = events {
            candidates.extend(self.event_candidates(leads, log, as_of, &rows, min_count));
        }
        // Two levels that differ only in case are one condition: one rule, not two.
        let mut unique: Vec<Rule> = Vec::with_capacity(candidates.len());
        for rule in candidates {
            if !unique.iter().any(|u| u.condition == rule.condition) {
                unique.push(rule);
            }
        }
        let columns = rule_columns(&unique, leads, events, as_of, &rows);
        let (candidates, columns): (Vec<Rule>, Vec<Vec<f64>>) = unique
            .into_iter()
            .zip(columns)
            .filter(|(_, column)| column.iter().filter(|&&v| v != 0.0).count() >= min_count)
            .unzip();
        if candidates.is_empty() {
            return Err(PointsError::InvalidParam {
                name: "leads",
                reason: "no field or event has enough leads to learn a rule from".into(),
            });
        }

        let mut design = Array2::zeros((rows.len(), candidates.len()));
        for (j, column) in columns.iter().enumerate() {
            for (i, value) in column.iter().enumerate() {
                design[[i, j]] = *value;
            }
        }
        let (weights, _) = fit_logistic_design(&design, &won, self.0.alpha, 500, 1e-5)?;
        let scale = self.0.points_to_double_odds / std::f64::consts::LN_2;
        let mut rules: Vec<Rule> = candidates
            .into_iter()
            .zip(weights)
            .filter_map(|(mut rule, weight)| {
                let points = (weight * scale).round();
                rule.points = points;
                if let Condition::Event(event) = &mut rule.condition
                    && let Some(cap) = event.max
                {
                    event.max = Some(cap * points);
                }
                (points != 0.0).then_some(rule)
            })
            .collect();
        for field in &fields {
            shift_to_non_negative(field, &mut rules);
        }
        rules.sort_by_key(|r| r.group == Group::Engagement);

        let mut learned = PointsRules {
            path: PathBuf::from("(learned scorecard)"),
            mql_threshold: 0.0,
            grades: None,
            tiers: default_tiers(),
            rules,
        };
        let scores = learned.score_table(leads, events, as_of);
        let closed: Vec<_> = rows.iter().map(|&r| scores[r].clone()).collect();
        let cuts = learn_grade_cuts(
            &closed,
            learned.rules.iter().any(|r| r.group == Group::Engagement),
        );
        learned.tiers = crate::rules::tiers_for(&cuts);
        learned.grades = Some(cuts);
        let totals: Vec<f64> = closed.iter().map(|s| s.total).collect();
        learned.mql_threshold =
            recommend_threshold(&totals, &won, ThresholdGoal::Capacity(self.0.mql_capacity))?
                .threshold;
        Ok(learned)
    }

    /// Bins of a field: its levels (categorical) or quantile ranges with round edges (numeric),
    /// and missing. Rare levels share the remainder and get no rule of their own.
    fn field_bins(&self, column: &FeatureColumn, rows: &[usize], min_count: usize) -> FieldBins {
        let name = &column.name;
        let field = |condition| Condition::Field {
            field: name.clone(),
            condition,
        };
        let mut candidates = Vec::new();
        let mut ranges = Vec::new();
        let numeric = matches!(column.values, ColumnValues::Numeric(_));
        match &column.values {
            ColumnValues::Categorical { codes, levels } => {
                let mut counts = vec![0usize; levels.len()];
                for &r in rows {
                    if codes[r] != MISSING_CODE {
                        counts[codes[r] as usize] += 1;
                    }
                }
                let frequent = levels.iter().zip(&counts).filter(|&(_, &n)| n >= min_count);
                for (level, _) in frequent {
                    candidates.push(candidate(
                        format!("{name} is {level}"),
                        Group::Fit,
                        field(FieldCondition::In {
                            values: vec![level.trim().to_lowercase()],
                        }),
                    ));
                }
            }
            ColumnValues::Numeric(values) => {
                let mut edges: Vec<f64> =
                    quantile_edges(rows.iter().map(|&r| values[r]), self.0.numeric_bins)
                        .into_iter()
                        .map(round_significant)
                        .collect();
                edges.dedup();
                ranges = (0..=edges.len())
                    .map(|i| (i.checked_sub(1).map(|j| edges[j]), edges.get(i).copied()))
                    .collect();
                for &(low, high) in &ranges {
                    let (label, condition) = bin_rule(name, low, high);
                    candidates.push(candidate(label, Group::Fit, field(condition)));
                }
            }
        }
        candidates.push(candidate(
            format!("{name} missing"),
            Group::Fit,
            field(FieldCondition::Missing(true)),
        ));
        FieldBins {
            field: name.clone(),
            candidates,
            ranges,
            numeric,
        }
    }

    /// Per event type: seen in each window (once), and each event with a half-life decay, capped
    /// at the 90th percentile of leads' decayed counts.
    fn event_candidates(
        &self,
        leads: &LeadsTable,
        log: &EventLog,
        as_of: &[i64],
        rows: &[usize],
        min_count: usize,
    ) -> Vec<Rule> {
        let longest = self
            .0
            .event_windows_days
            .iter()
            .copied()
            .fold(0.0, f64::max);
        let half_life = self.0.event_half_life_days;
        let mut out = Vec::new();
        for event in &log.types {
            for &window in &self.0.event_windows_days {
                out.push(candidate(
                    format!("{event} in the last {window} days"),
                    Group::Engagement,
                    Condition::Event(EventRule {
                        event: event.clone(),
                        once: true,
                        max: None,
                        within_days: Some(window),
                        half_life_days: None,
                    }),
                ));
            }
            // Recent events weigh more: each event's points halve every `half_life` days, and
            // the cap comes from the leads' own decayed counts, measured by the engine.
            let mut decayed = candidate(
                format!("each {event} (last {longest} days, half-life {half_life} days)"),
                Group::Engagement,
                Condition::Event(EventRule {
                    event: event.clone(),
                    once: false,
                    max: None,
                    within_days: Some(longest),
                    half_life_days: Some(half_life),
                }),
            );
            let counts = rule_columns(
                std::slice::from_ref(&decayed),
                leads,
                Some(log),
                as_of,
                rows,
            );
            let mut present: Vec<f64> = counts[0].iter().copied().filter(|&d| d > 0.0).collect();
            present.sort_by(f64::total_cmp);
            let cap =
                round_significant(present.get(present.len() * 9 / 10).copied().unwrap_or(0.0));
            if present.len() >= min_count
                && cap > 0.0
                && let Condition::Event(rule) = &mut decayed.condition
            {
                rule.max = Some(cap);
                out.push(decayed);
            }
        }
        out
    }
}

/// Shifts a field's fit points so that its lowest bin scores 0. Bins without a rule (rare levels,
/// bins whose weight rounded to 0) score 0 before the shift, so after it they get a rule of their
/// own: every lead of the field moves by the same points and no ranking changes.
fn shift_to_non_negative(field: &FieldBins, rules: &mut Vec<Rule>) {
    let is_field = |rule: &Rule| matches!(&rule.condition, Condition::Field { field: f, .. } if *f == field.field);
    let lowest = rules
        .iter()
        .filter(|r| is_field(r))
        .map(|r| r.points)
        .fold(0.0, f64::min);
    if lowest >= 0.0 {
        return;
    }
    let shift = -lowest;
    let ruled: Vec<FieldCondition> = rules
        .iter()
        .filter(|r| is_field(r))
        .filter_map(|r| match &r.condition {
            Condition::Field { condition, .. } => Some(condition.clone()),
            Condition::Event(_) => None,
        })
        .collect();
    let mut remainder: Vec<(String, FieldCondition)> = Vec::new();
    let name = &field.field;
    if field.numeric {
        let uncovered = |range: &(Option<f64>, Option<f64>)| {
            !ruled.iter().any(|c| match (c, range) {
                (FieldCondition::Range { at_least, below }, (low, high)) => {
                    at_least == low && below == high
                }
                (FieldCondition::Missing(false), (None, None)) => true,
                _ => false,
            })
        };
        // Maximal runs of adjacent bins without a rule become one range rule each.
        let mut runs: Vec<(Option<f64>, Option<f64>)> = Vec::new();
        let mut extend = false;
        for range in &field.ranges {
            if !uncovered(range) {
                extend = false;
                continue;
            }
            match runs.last_mut() {
                Some(run) if extend => run.1 = range.1,
                _ => runs.push(*range),
            }
            extend = true;
        }
        remainder.extend(
            runs.into_iter()
                .map(|(low, high)| bin_rule(name, low, high)),
        );
    } else {
        let listed: Vec<String> = ruled
            .iter()
            .flat_map(|c| match c {
                FieldCondition::In { values } => values.clone(),
                _ => Vec::new(),
            })
            .collect();
        remainder.push(if listed.is_empty() {
            (format!("{name} present"), FieldCondition::Missing(false))
        } else {
            (
                format!("{name} is another value"),
                FieldCondition::NotIn { values: listed },
            )
        });
    }
    if !ruled.contains(&FieldCondition::Missing(true)) {
        remainder.push((format!("{name} missing"), FieldCondition::Missing(true)));
    }
    for rule in rules.iter_mut().filter(|r| is_field(r)) {
        rule.points += shift;
    }
    rules.retain(|r| r.points != 0.0);
    rules.extend(remainder.into_iter().map(|(label, condition)| Rule {
        name: label,
        group: Group::Fit,
        points: shift,
        condition: Condition::Field {
            field: name.clone(),
            condition,
        },
        line: 0,
    }));
}

/// The name and condition of the numeric bin `[low, high)`.
fn bin_rule(name: &str, low: Option<f64>, high: Option<f64>) -> (String, FieldCondition) {
    let number = leadscore_data::format_number;
    match (low, high) {
        (None, None) => (format!("{name} present"), FieldCondition::Missing(false)),
        (None, Some(h)) => (
            format!("{name} below {}", number(h)),
            FieldCondition::Range {
                at_least: None,
                below: Some(h),
            },
        ),
        (Some(l), None) => (
            format!("{name} at least {}", number(l)),
            FieldCondition::Range {
                at_least: Some(l),
                below: None,
            },
        ),
        (Some(l), Some(h)) => (
            format!("{name} {} to {}", number(l), number(h)),
            FieldCondition::Range {
                at_least: Some(l),
                below: Some(h),
            },
        ),
    }
}

/// Rounds to two significant digits so bin edges read like a marketer's (`50000`, `1.4`, not
/// `49873.2` or `1.4000000000000001`): the value is printed with two digits and parsed back.
fn round_significant(value: f64) -> f64 {
    if value == 0.0 || !value.is_finite() {
        return value;
    }
    format!("{value:.1e}").parse().unwrap_or(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_are_round_numbers() {
        assert_eq!(round_significant(1.4000000000000001), 1.4);
        assert_eq!(round_significant(49_873.2), 50_000.0);
        assert_eq!(round_significant(-0.123_4), -0.12);
        assert_eq!(
            leadscore_data::format_number(round_significant(1.36)),
            "1.4"
        );
    }
}
