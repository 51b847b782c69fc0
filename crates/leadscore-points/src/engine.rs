//! Scoring leads with rules: one evaluation of a rule for a lead ([`LeadView`]), used to score a
//! table, a single request, and the candidate rules of a learned scorecard.

use leadscore_data::{EventLog, LeadsTable, Value, time::SECONDS_PER_DAY};
use leadscore_features::LeadInput;
use serde::{Deserialize, Serialize};

use crate::rules::{Condition, EventRule, FieldCondition, GradeCuts, Group, PointsRules, Rule};

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

/// Rounds to 0.1 point; never `-0`.
pub(crate) fn round_tenth(value: f64) -> f64 {
    let rounded = (value * 10.0).round() / 10.0;
    if rounded == 0.0 { 0.0 } else { rounded }
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
        "{used} {} event{}, last {} days ago",
        rule.event,
        if used == 1 { "" } else { "s" },
        leadscore_data::format_rounded(newest)
    );
    if capped != raw {
        detail.push_str(", capped");
    }
    Some((capped, detail))
}

/// One lead as the rules see it: its attributes, and its distinct events strictly before the
/// as-of time (exact duplicates count once, as for the model's behaviour features).
pub struct LeadView<'a, 'v> {
    attribute: &'a dyn Fn(&str) -> Value<'v>,
    events: Vec<(&'v str, i64)>,
    as_of: i64,
}

impl<'a, 'v> LeadView<'a, 'v> {
    /// A lead: `attribute` gives a field's value, `events` its (type, time) events in any order.
    pub fn new(
        attribute: &'a dyn Fn(&str) -> Value<'v>,
        events: impl IntoIterator<Item = (&'v str, i64)>,
        as_of: i64,
    ) -> Self {
        let mut events: Vec<(&str, i64)> = events.into_iter().filter(|&(_, t)| t < as_of).collect();
        events.sort_unstable();
        events.dedup();
        Self {
            attribute,
            events,
            as_of,
        }
    }

    /// The points one rule gives this lead, unrounded, with what matched; `None` when the rule
    /// does not apply.
    pub fn evaluate(&self, rule: &Rule) -> Option<(f64, String)> {
        match &rule.condition {
            Condition::Field { field, condition } => {
                let value = (self.attribute)(field);
                field_matches(condition, value).then(|| {
                    let mut detail = String::with_capacity(field.len() + 24);
                    detail.push_str(field);
                    detail.push_str(" = ");
                    match value {
                        Value::Missing => detail.push_str("missing"),
                        Value::Number(n) => detail.push_str(&leadscore_data::format_number(n)),
                        Value::Text(t) => detail.push_str(t.trim()),
                    }
                    (rule.points, detail)
                })
            }
            Condition::Event(event) => {
                let ages: Vec<f64> = self
                    .events
                    .iter()
                    .filter(|(kind, _)| *kind == event.event)
                    .map(|&(_, t)| (self.as_of - t) as f64 / SECONDS_PER_DAY as f64)
                    .collect();
                event_points(event, rule.points, &ages)
            }
        }
    }
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
        self.score_view(&LeadView::new(&attribute, events, as_of))
    }

    fn score_view(&self, lead: &LeadView<'_, '_>) -> PointsScore {
        let mut breakdown = Vec::new();
        for rule in &self.rules {
            if let Some((points, detail)) = lead.evaluate(rule) {
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
        let rows: Vec<usize> = (0..leads.len()).collect();
        with_table_views(leads, events, as_of, &rows, |view| self.score_view(view))
    }
}

/// The unrounded points each rule gives each lead of `rows`: one column per rule, through the
/// same evaluation as scoring (the learned scorecard's design matrix).
pub fn rule_columns(
    rules: &[Rule],
    leads: &LeadsTable,
    events: Option<&EventLog>,
    as_of: &[i64],
    rows: &[usize],
) -> Vec<Vec<f64>> {
    let per_lead = with_table_views(leads, events, as_of, rows, |view| {
        rules
            .iter()
            .map(|rule| view.evaluate(rule).map_or(0.0, |(points, _)| points))
            .collect::<Vec<f64>>()
    });
    (0..rules.len())
        .map(|j| per_lead.iter().map(|row| row[j]).collect())
        .collect()
}

/// Calls `f` with the view of each lead of `rows` of a table.
fn with_table_views<'t, T>(
    leads: &'t LeadsTable,
    events: Option<&'t EventLog>,
    as_of: &[i64],
    rows: &[usize],
    f: impl Fn(&LeadView<'_, 't>) -> T,
) -> Vec<T> {
    let types: &[String] = events.map_or(&[], |log| &log.types);
    rows.iter()
        .map(|&row| {
            let lead_events = events.map_or(&[][..], |log| log.for_lead(row));
            let attribute =
                move |name: &str| leads.column(name).map_or(Value::Missing, |c| c.value(row));
            let view = LeadView::new(
                &attribute,
                lead_events
                    .iter()
                    .map(|e| (types[e.kind as usize].as_str(), e.timestamp)),
                as_of[row],
            );
            f(&view)
        })
        .collect()
}

/// Fit grade A–D and, when graded, engagement 1–4 from subtotals.
fn grade(cuts: &GradeCuts, fit: f64, engagement: f64) -> String {
    let step = |cuts: &[f64; 3], value: f64| cuts.iter().take_while(|&&c| value < c).count();
    let mut grade = String::with_capacity(2);
    grade.push((b'A' + step(&cuts.fit, fit) as u8) as char);
    if let Some(engagement_cuts) = &cuts.engagement {
        grade.push((b'1' + step(engagement_cuts, engagement) as u8) as char);
    }
    grade
}

/// Grade cut points learned from closed leads' subtotals: A (and 1) holds at most the top
/// quarter, A–B (1–2) at most half, A–C (1–3) at most three quarters — leads tied at a cut are
/// never split, so a grade never covers more than its share. `engagement` says whether the rules
/// have engagement rules to grade.
pub fn learn_grade_cuts(closed: &[PointsScore], engagement: bool) -> GradeCuts {
    let cuts = |values: Vec<f64>| -> [f64; 3] {
        let mut sorted = values;
        sorted.sort_by(|a, b| b.total_cmp(a));
        let n = sorted.len() as f64;
        let at_most = |share: f64| {
            // The lowest total such that the leads at or above it are at most `share` of all.
            let allowed = (share * n).floor() as usize;
            let mut cut = sorted.first().map_or(0.0, |top| top + 0.1);
            let mut index = 0;
            while index < sorted.len() {
                let value = sorted[index];
                let end = index + sorted[index..].iter().take_while(|&&v| v == value).count();
                if end > allowed {
                    break;
                }
                cut = value;
                index = end;
            }
            cut
        };
        let mut cuts = [at_most(0.25), at_most(0.5), at_most(0.75)];
        // Equal cuts (many leads tied) still need strictly decreasing minimums.
        for i in 1..3 {
            if cuts[i] >= cuts[i - 1] {
                cuts[i] = cuts[i - 1] - 0.1;
            }
        }
        cuts.map(round_tenth)
    };
    GradeCuts {
        fit: cuts(closed.iter().map(|s| s.fit).collect()),
        engagement: engagement.then(|| cuts(closed.iter().map(|s| s.engagement).collect())),
    }
}
