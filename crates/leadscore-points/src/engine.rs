//! Scoring leads with rules: one function for a table and for a single lead.

use leadscore_data::{EventLog, LeadsTable, Outcome, Value, time::SECONDS_PER_DAY};
use leadscore_features::LeadInput;
use serde::{Deserialize, Serialize};

use crate::rules::{Condition, EventRule, FieldCondition, GradeCuts, Group, PointsRules};

/// Points of one rule for one lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RuleHit {
    /// Rule name.
    pub rule: String,
    /// Fit or engagement.
    pub group: Group,
    /// Points this rule gave (rounded to 0.1; the total is their exact sum).
    pub points: f64,
    /// What matched: the field value or the events counted.
    pub detail: String,
}

/// A lead's points score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PointsScore {
    /// Sum of every hit.
    pub total: f64,
    /// Sum of fit hits.
    pub fit: f64,
    /// Sum of engagement hits.
    pub engagement: f64,
    /// Fit grade A–D and engagement 1–4, e.g. `B2`, when the rules have grade cut points.
    pub grade: Option<String>,
    /// Tier of the grade, when graded.
    pub tier: Option<String>,
    /// Total at or above the MQL threshold.
    pub mql: bool,
    /// Every rule that gave points, in file order.
    pub breakdown: Vec<RuleHit>,
}

fn round_tenth(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

fn text_of(value: Value<'_>) -> Option<String> {
    match value {
        Value::Missing => None,
        Value::Number(n) => Some(leadscore_data::format_number(n)),
        Value::Text(t) => Some(t.trim().to_lowercase()),
    }
}

fn field_matches(condition: &FieldCondition, value: Value<'_>) -> bool {
    match condition {
        FieldCondition::Missing(missing) => matches!(value, Value::Missing) == *missing,
        FieldCondition::In { values } => text_of(value).is_some_and(|t| values.contains(&t)),
        FieldCondition::NotIn { values } => text_of(value).is_some_and(|t| !values.contains(&t)),
        FieldCondition::Range { at_least, below } => {
            let number = match value {
                Value::Number(n) => Some(n),
                Value::Text(t) => t.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
                Value::Missing => None,
            };
            number.is_some_and(|n| {
                at_least.is_none_or(|low| n >= low) && below.is_none_or(|high| n < high)
            })
        }
    }
}

/// Points of an event rule from the ages (days before as-of) of the lead's distinct events of
/// its type, and a description of what counted.
fn event_points(rule: &EventRule, points: f64, ages: &[f64]) -> Option<(f64, String)> {
    let counted: Vec<f64> = ages
        .iter()
        .copied()
        .filter(|&age| rule.within_days.is_none_or(|days| age < days))
        .collect();
    if counted.is_empty() {
        return None;
    }
    let weight = |age: f64| {
        rule.half_life_days
            .map_or(1.0, |half_life| 0.5_f64.powf(age / half_life))
    };
    let newest = counted.iter().copied().fold(f64::INFINITY, f64::min);
    let (raw, used) = if rule.once {
        (points * weight(newest), 1)
    } else {
        (
            counted.iter().map(|&age| points * weight(age)).sum(),
            counted.len(),
        )
    };
    let capped = match rule.max {
        Some(max) if max > 0.0 => raw.min(max),
        Some(max) => raw.max(max),
        None => raw,
    };
    let mut detail = format!(
        "{used} {} event{}, last {:.0} days ago",
        rule.event,
        if used == 1 { "" } else { "s" },
        newest
    );
    if capped != raw {
        detail.push_str(", capped");
    }
    Some((capped, detail))
}

impl PointsRules {
    /// Scores one lead: `attribute` gives a field's value, `events` its (type, time) events in any
    /// order (exact duplicates count once), `as_of` the moment of scoring. Only events strictly
    /// before `as_of` count, as for the model's behaviour features.
    pub fn score<'v>(
        &self,
        attribute: impl Fn(&str) -> Value<'v>,
        events: impl IntoIterator<Item = (&'v str, i64)>,
        as_of: i64,
    ) -> PointsScore {
        let mut distinct: Vec<(&str, i64)> =
            events.into_iter().filter(|&(_, t)| t < as_of).collect();
        distinct.sort_unstable();
        distinct.dedup();

        let mut breakdown = Vec::new();
        let mut ages = Vec::new();
        for rule in &self.rules {
            let hit = match &rule.condition {
                Condition::Field { field, condition } => {
                    let value = attribute(field);
                    field_matches(condition, value).then(|| {
                        let shown = match value {
                            Value::Missing => "missing".to_owned(),
                            Value::Number(n) => leadscore_data::format_number(n),
                            Value::Text(t) => t.trim().to_owned(),
                        };
                        (rule.points, format!("{field} = {shown}"))
                    })
                }
                Condition::Event(event) => {
                    ages.clear();
                    ages.extend(
                        distinct
                            .iter()
                            .filter(|(kind, _)| *kind == event.event)
                            .map(|&(_, t)| (as_of - t) as f64 / SECONDS_PER_DAY as f64),
                    );
                    event_points(event, rule.points, &ages)
                }
            };
            if let Some((points, detail)) = hit {
                let points = round_tenth(points);
                if points != 0.0 {
                    breakdown.push(RuleHit {
                        rule: rule.name.clone(),
                        group: rule.group,
                        points,
                        detail,
                    });
                }
            }
        }
        let sum = |group: Option<Group>| {
            round_tenth(
                breakdown
                    .iter()
                    .filter(|h| group.is_none_or(|g| h.group == g))
                    .map(|h| h.points)
                    .sum(),
            )
        };
        let (total, fit, engagement) = (
            sum(None),
            sum(Some(Group::Fit)),
            sum(Some(Group::Engagement)),
        );
        let grade = self
            .grades
            .as_ref()
            .map(|cuts| grade(cuts, fit, engagement));
        let tier = grade.as_ref().map(|g| {
            self.tiers
                .iter()
                .find(|t| t.grades.contains(g))
                .map_or_else(|| "other".to_owned(), |t| t.name.clone())
        });
        PointsScore {
            total,
            fit,
            engagement,
            grade,
            tier,
            mql: total >= self.mql_threshold,
            breakdown,
        }
    }

    /// Scores one lead as the server receives it.
    pub fn score_input(&self, lead: &LeadInput<'_>) -> PointsScore {
        self.score(
            |name| lead.attributes.get(name).copied().unwrap_or(Value::Missing),
            lead.events.iter().map(|e| (e.event_type, e.timestamp)),
            lead.as_of,
        )
    }

    /// Scores every lead of a table; `as_of` holds each lead's as-of time.
    pub fn score_table(
        &self,
        leads: &LeadsTable,
        events: Option<&EventLog>,
        as_of: &[i64],
    ) -> Vec<PointsScore> {
        let types: &[String] = events.map_or(&[], |log| &log.types);
        (0..leads.len())
            .map(|row| {
                let lead_events = events.map_or(&[][..], |log| log.for_lead(row));
                self.score(
                    |name| leads.column(name).map_or(Value::Missing, |c| c.value(row)),
                    lead_events
                        .iter()
                        .map(|e| (types[e.kind as usize].as_str(), e.timestamp)),
                    as_of[row],
                )
            })
            .collect()
    }
}

/// Fit grade A–D and engagement 1–4 from subtotals.
fn grade(cuts: &GradeCuts, fit: f64, engagement: f64) -> String {
    let step = |cuts: &[f64; 3], value: f64| cuts.iter().take_while(|&&c| value < c).count();
    let letter = (b'A' + step(&cuts.fit, fit) as u8) as char;
    let digit = (b'1' + step(&cuts.engagement, engagement) as u8) as char;
    format!("{letter}{digit}")
}

/// Grade cut points learned as the 75th, 50th and 25th percentiles of the closed leads' subtotals,
/// so grades A/1 hold roughly the top quarter of historical leads.
pub fn learn_grade_cuts(scores: &[PointsScore], outcomes: &[Outcome]) -> GradeCuts {
    let quartiles = |values: Vec<f64>| -> [f64; 3] {
        let mut values = values;
        values.sort_by(f64::total_cmp);
        let at = |q: f64| {
            if values.is_empty() {
                0.0
            } else {
                values[((values.len() - 1) as f64 * q).round() as usize]
            }
        };
        let mut cuts = [at(0.75), at(0.5), at(0.25)];
        // Equal quantiles (many leads with 0 points) still need strictly decreasing cut points.
        for i in 1..3 {
            if cuts[i] >= cuts[i - 1] {
                cuts[i] = cuts[i - 1] - 0.1;
            }
        }
        cuts.map(round_tenth)
    };
    let closed = || {
        scores
            .iter()
            .zip(outcomes)
            .filter(|(_, o)| **o != Outcome::Open)
            .map(|(s, _)| s)
    };
    GradeCuts {
        fit: quartiles(closed().map(|s| s.fit).collect()),
        engagement: quartiles(closed().map(|s| s.engagement).collect()),
    }
}
