//! Learning a points file from closed leads, as credit scorecards are built: bin every field,
//! fit a logistic model on the bins, and scale its weights to integer points.

use std::path::PathBuf;

use leadscore_data::{
    ColumnValues, EventLog, LeadsTable, MISSING_CODE, Outcome, time::SECONDS_PER_DAY,
};
use leadscore_models::fit_logistic_design;
use ndarray::Array2;

use crate::engine::learn_grade_cuts;
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

/// A candidate rule and the design column it becomes.
struct Candidate {
    name: String,
    group: Group,
    condition: Condition,
    /// Per-lead value of the design column (0/1 for a match, a capped count for per-event rules).
    values: Vec<f64>,
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
        let mut candidates = Vec::new();
        for column in &leads.columns {
            self.field_candidates(column, &rows, min_count, &mut candidates);
        }
        if let Some(log) = events {
            self.event_candidates(log, as_of, &rows, min_count, &mut candidates);
        }
        if candidates.is_empty() {
            return Err(PointsError::InvalidParam {
                name: "leads",
                reason: "no field or event has enough leads to learn a rule from".into(),
            });
        }

        let mut design = Array2::zeros((rows.len(), candidates.len()));
        for (j, candidate) in candidates.iter().enumerate() {
            for (i, value) in candidate.values.iter().enumerate() {
                design[[i, j]] = *value;
            }
        }
        let (weights, _) = fit_logistic_design(design, &won, self.0.alpha, 500, 1e-5)?;
        let scale = self.0.points_to_double_odds / std::f64::consts::LN_2;
        let mut rules: Vec<Rule> = candidates
            .into_iter()
            .zip(weights)
            .filter_map(|(candidate, weight)| {
                let points = (weight * scale).round();
                (points != 0.0).then(|| {
                    let condition = match candidate.condition {
                        Condition::Event(mut event) => {
                            if let Some(cap) = event.max {
                                event.max = Some(cap * points);
                            }
                            Condition::Event(event)
                        }
                        field => field,
                    };
                    Rule {
                        name: candidate.name,
                        group: candidate.group,
                        points,
                        condition,
                        line: 0,
                    }
                })
            })
            .collect();
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
        let outcomes: Vec<Outcome> = rows.iter().map(|&r| leads.outcomes[r]).collect();
        learned.grades = Some(learn_grade_cuts(&closed, &outcomes));
        let totals: Vec<f64> = closed.iter().map(|s| s.total).collect();
        learned.mql_threshold =
            recommend_threshold(&totals, &won, ThresholdGoal::Capacity(self.0.mql_capacity))?
                .threshold;
        Ok(learned)
    }

    fn field_candidates(
        &self,
        column: &leadscore_data::FeatureColumn,
        rows: &[usize],
        min_count: usize,
        out: &mut Vec<Candidate>,
    ) {
        let name = &column.name;
        let indicator = |matches: &dyn Fn(usize) -> bool| -> Vec<f64> {
            rows.iter()
                .map(|&r| f64::from(u8::from(matches(r))))
                .collect()
        };
        match &column.values {
            ColumnValues::Categorical { codes, levels } => {
                let mut counts = vec![0usize; levels.len()];
                let mut missing = 0;
                for &r in rows {
                    match codes[r] {
                        MISSING_CODE => missing += 1,
                        code => counts[code as usize] += 1,
                    }
                }
                for (code, level) in levels.iter().enumerate() {
                    if counts[code] >= min_count {
                        out.push(Candidate {
                            name: format!("{name} is {level}"),
                            group: Group::Fit,
                            condition: Condition::Field {
                                field: name.clone(),
                                condition: FieldCondition::In {
                                    values: vec![level.trim().to_lowercase()],
                                },
                            },
                            values: indicator(&|r| codes[r] == code as u32),
                        });
                    }
                }
                if missing >= min_count {
                    out.push(missing_candidate(
                        name,
                        indicator(&|r| codes[r] == MISSING_CODE),
                    ));
                }
            }
            ColumnValues::Numeric(values) => {
                let mut present: Vec<f64> = rows
                    .iter()
                    .map(|&r| values[r])
                    .filter(|v| !v.is_nan())
                    .collect();
                present.sort_by(f64::total_cmp);
                let bins = self.0.numeric_bins;
                let mut edges: Vec<f64> = (1..bins)
                    .map(|k| {
                        round_significant(
                            present
                                .get(present.len() * k / bins)
                                .copied()
                                .unwrap_or(f64::NAN),
                        )
                    })
                    .filter(|e| e.is_finite())
                    .collect();
                edges.dedup();
                let bounds: Vec<(Option<f64>, Option<f64>)> = (0..=edges.len())
                    .map(|i| (i.checked_sub(1).map(|j| edges[j]), edges.get(i).copied()))
                    .collect();
                for (low, high) in bounds {
                    let inside = |r: usize| {
                        let v = values[r];
                        !v.is_nan() && low.is_none_or(|l| v >= l) && high.is_none_or(|h| v < h)
                    };
                    let values = indicator(&inside);
                    if values.iter().sum::<f64>() < min_count as f64 {
                        continue;
                    }
                    let label = match (low, high) {
                        (None, Some(h)) => {
                            format!("{name} below {}", leadscore_data::format_number(h))
                        }
                        (Some(l), None) => {
                            format!("{name} at least {}", leadscore_data::format_number(l))
                        }
                        (Some(l), Some(h)) => format!(
                            "{name} {} to {}",
                            leadscore_data::format_number(l),
                            leadscore_data::format_number(h)
                        ),
                        (None, None) => format!("{name} present"),
                    };
                    out.push(Candidate {
                        name: label,
                        group: Group::Fit,
                        condition: Condition::Field {
                            field: name.clone(),
                            condition: match (low, high) {
                                (None, None) => FieldCondition::Missing(false),
                                _ => FieldCondition::Range {
                                    at_least: low,
                                    below: high,
                                },
                            },
                        },
                        values,
                    });
                }
                let missing = indicator(&|r| values[r].is_nan());
                if missing.iter().sum::<f64>() >= min_count as f64 {
                    out.push(missing_candidate(name, missing));
                }
            }
        }
    }

    fn event_candidates(
        &self,
        log: &EventLog,
        as_of: &[i64],
        rows: &[usize],
        min_count: usize,
        out: &mut Vec<Candidate>,
    ) {
        let longest = self
            .0
            .event_windows_days
            .iter()
            .copied()
            .fold(0.0, f64::max);
        for (kind, event) in log.types.iter().enumerate() {
            // Distinct event ages (days) of this type per lead, as the rules engine counts them.
            let ages: Vec<Vec<f64>> = rows
                .iter()
                .map(|&r| {
                    let mut times: Vec<i64> = log
                        .for_lead(r)
                        .iter()
                        .filter(|e| e.kind as usize == kind && e.timestamp < as_of[r])
                        .map(|e| e.timestamp)
                        .collect();
                    times.sort_unstable();
                    times.dedup();
                    times
                        .iter()
                        .map(|&t| (as_of[r] - t) as f64 / SECONDS_PER_DAY as f64)
                        .collect()
                })
                .collect();
            for &window in &self.0.event_windows_days {
                let values: Vec<f64> = ages
                    .iter()
                    .map(|a| f64::from(u8::from(a.iter().any(|&age| age < window))))
                    .collect();
                if values.iter().sum::<f64>() >= min_count as f64 {
                    out.push(Candidate {
                        name: format!("{event} in the last {window} days"),
                        group: Group::Engagement,
                        condition: Condition::Event(EventRule {
                            event: event.clone(),
                            once: true,
                            max: None,
                            within_days: Some(window),
                            half_life_days: None,
                        }),
                        values,
                    });
                }
            }
            // Recent events weigh more: each event's points halve every `half_life` days.
            let half_life = self.0.event_half_life_days;
            let decayed: Vec<f64> = ages
                .iter()
                .map(|a| {
                    a.iter()
                        .filter(|&&age| age < longest)
                        .map(|&age| 0.5_f64.powf(age / half_life))
                        .sum()
                })
                .collect();
            let mut present: Vec<f64> = decayed.iter().copied().filter(|&d| d > 0.0).collect();
            present.sort_by(f64::total_cmp);
            let cap =
                round_significant(present.get(present.len() * 9 / 10).copied().unwrap_or(0.0));
            if present.len() >= min_count && cap > 0.0 {
                out.push(Candidate {
                    name: format!("each {event} (last {longest} days, half-life {half_life} days)"),
                    group: Group::Engagement,
                    condition: Condition::Event(EventRule {
                        event: event.clone(),
                        once: false,
                        max: Some(cap),
                        within_days: Some(longest),
                        half_life_days: Some(half_life),
                    }),
                    values: decayed.iter().map(|&d| d.min(cap)).collect(),
                });
            }
        }
    }
}

fn missing_candidate(name: &str, values: Vec<f64>) -> Candidate {
    Candidate {
        name: format!("{name} missing"),
        group: Group::Fit,
        condition: Condition::Field {
            field: name.to_owned(),
            condition: FieldCondition::Missing(true),
        },
        values,
    }
}

/// Rounds to two significant digits so bin edges read like a marketer's (`50000`, not `49873.2`).
fn round_significant(value: f64) -> f64 {
    if value == 0.0 || !value.is_finite() {
        return value;
    }
    let magnitude = 10f64.powi(value.abs().log10().floor() as i32 - 1);
    (value / magnitude).round() * magnitude
}
