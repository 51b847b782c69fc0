//! What a scored table looks like to its reader: the columns `leadscore score` writes and the
//! Python package returns, and the reading options of a file about to be scored.

use leadscore_artifact::{ModelArtifact, Reason};
use leadscore_data::{ColumnKind, EventLog, LeadsOptions, LeadsTable, OutputValues};
use leadscore_points::{PointsError, PointsRules, PointsScore};

use crate::{LeadScore, Prediction, Scorer};

/// `industry=software (+0.42); job_level=vp (+0.31)` — the reasons in one cell.
pub fn reasons_text(reasons: &[Reason]) -> String {
    let mut text = String::with_capacity(reasons.len() * 48);
    for (i, reason) in reasons.iter().enumerate() {
        if i > 0 {
            text.push_str("; ");
        }
        text.push_str(&reason.source);
        text.push('=');
        text.push_str(&reason.value);
        text.push_str(" (");
        leadscore_data::push_fixed(&mut text, reason.contribution, 2, true);
        text.push(')');
    }
    text
}

/// `Decision maker +20; Viewed pricing +12.5` — every hit, so the parts add up to the total.
pub fn breakdown_text(points: &PointsScore) -> String {
    points
        .breakdown
        .iter()
        .map(|h| format!("{} {:+}", h.rule, h.points))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Days between the data's last event and the scoring time beyond which open leads are warned
/// about.
const STALE_DAYS: i64 = 30;

/// A warning when open leads are scored long after the data ends: their recent-activity features
/// are all empty at that time, so they score as if they had gone cold — rarely what was meant
/// when scoring an old export.
pub fn stale_scoring_time(
    leads: &LeadsTable,
    events: Option<&EventLog>,
    scoring_time: i64,
) -> Option<String> {
    let open = leads.count(leadscore_data::Outcome::Open);
    let latest = EventLog::latest_time(leads, events)?;
    let days = (scoring_time - latest) / leadscore_data::time::SECONDS_PER_DAY;
    (open > 0 && days > STALE_DAYS).then(|| {
        let latest = leadscore_data::time::format_date(latest);
        format!(
            "{open} open leads are scored at {}, {days} days after the data's last event or date ({latest}): their recent activity counts are empty then, so they score as gone cold; pass --as-of {latest} (as_of= in Python) to score them as of the export",
            leadscore_data::time::format_date(scoring_time)
        )
    })
}

/// How to read a table scored by `model` and `rules`: the model's schema (types, outcome
/// values, dates) under `given`, and every column the model or rules read kept whatever its
/// values (a column that is "No" in every row, a one-row table).
pub fn scoring_leads_options(
    given: &LeadsOptions,
    model: Option<&ModelArtifact>,
    rules: Option<&PointsRules>,
) -> LeadsOptions {
    let mut options = match model {
        Some(model) => model.leads_options(given),
        None => given.clone(),
    };
    if let Some(rules) = rules {
        options.keep_columns(rules.fields());
    }
    options
}

/// Checks rules against the table they will score: an error for a field of the wrong kind,
/// warnings for fields or event types the data lacks.
pub fn check_rules_against(
    rules: &PointsRules,
    leads: &LeadsTable,
    events: Option<&EventLog>,
) -> Result<Vec<String>, PointsError> {
    let columns: Vec<(String, ColumnKind)> = leads
        .columns
        .iter()
        .map(|c| (c.name.clone(), c.kind()))
        .collect();
    rules.check_against(&columns, events.map(|e| e.types.as_slice()))
}

impl Scorer {
    /// The columns of a scored table, in order: `lead_id`; with a model `probability`,
    /// `percentile`, `tier`, `top_positive`, `top_negative`, `model_version` (and, with a deal
    /// value model, `value_if_won` and `expected_value`); with rules
    /// `points`, `fit_points`, `engagement_points`, `grade`, `points_tier`, `mql`,
    /// `points_breakdown`.
    pub fn output_columns(&self, scores: &[LeadScore]) -> Vec<(String, OutputValues)> {
        let mut columns = vec![(
            "lead_id".to_owned(),
            OutputValues::Text(scores.iter().map(|s| s.lead_id.clone()).collect()),
        )];
        if self.model.is_some() {
            let predictions: Vec<&Prediction> = scores
                .iter()
                .filter_map(|s| s.prediction.as_ref())
                .collect();
            let number = |f: fn(&Prediction) -> f64| {
                OutputValues::Number(predictions.iter().map(|p| f(p)).collect())
            };
            let text = |f: fn(&Prediction) -> String| {
                OutputValues::Text(predictions.iter().map(|p| f(p)).collect())
            };
            columns.extend([
                ("probability".to_owned(), number(|p| p.probability)),
                ("percentile".to_owned(), number(|p| p.percentile)),
                ("tier".to_owned(), text(|p| p.tier.clone())),
                (
                    "top_positive".to_owned(),
                    text(|p| {
                        p.reasons
                            .as_ref()
                            .map_or_else(String::new, |r| reasons_text(&r.positive))
                    }),
                ),
                (
                    "top_negative".to_owned(),
                    text(|p| {
                        p.reasons
                            .as_ref()
                            .map_or_else(String::new, |r| reasons_text(&r.negative))
                    }),
                ),
                (
                    "model_version".to_owned(),
                    text(|p| p.model_version.clone()),
                ),
            ]);
            if self
                .model
                .as_ref()
                .is_some_and(|m| m.value_model().is_some())
            {
                columns.extend([
                    (
                        "value_if_won".to_owned(),
                        number(|p| p.value_if_won.unwrap_or(f64::NAN)),
                    ),
                    (
                        "expected_value".to_owned(),
                        number(|p| p.expected_value.unwrap_or(f64::NAN)),
                    ),
                ]);
            }
        }
        if self.rules.is_some() {
            let points: Vec<&PointsScore> =
                scores.iter().filter_map(|s| s.points.as_ref()).collect();
            let number = |f: fn(&PointsScore) -> f64| {
                OutputValues::Number(points.iter().map(|p| f(p)).collect())
            };
            let text = |f: fn(&PointsScore) -> String| {
                OutputValues::Text(points.iter().map(|p| f(p)).collect())
            };
            columns.extend([
                ("points".to_owned(), number(|p| p.total)),
                ("fit_points".to_owned(), number(|p| p.fit)),
                ("engagement_points".to_owned(), number(|p| p.engagement)),
                (
                    "grade".to_owned(),
                    text(|p| p.grade.clone().unwrap_or_default()),
                ),
                (
                    "points_tier".to_owned(),
                    text(|p| p.tier.clone().unwrap_or_default()),
                ),
                (
                    "mql".to_owned(),
                    OutputValues::Bool(points.iter().map(|p| p.mql).collect()),
                ),
                ("points_breakdown".to_owned(), text(breakdown_text)),
            ]);
        }
        columns
    }
}
