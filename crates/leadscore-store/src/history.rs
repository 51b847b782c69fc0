//! What the web console reads back: scoring volume per day, the tier and grade mix of recent
//! scores, one lead's history, and an experiment's routed conversion per week of assignment.
//! Every query can be cancelled like a report's ([`Cancellation`]).

use std::path::Path;

use rusqlite::params;
use serde::Serialize;

use crate::cancel::{Cancellation, watched};
use crate::error::StoreError;

/// Scores recorded on one day (UTC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayVolume {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// Scores recorded.
    pub scores: u64,
    /// Distinct leads scored.
    pub leads: u64,
    /// Scores that made the lead a marketing-qualified lead by points.
    pub mql: u64,
}

/// The latest score of each lead scored in a period, counted by tier and by grade.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScoreMix {
    /// Leads scored.
    pub leads: u64,
    /// Leads per model tier, best first by name; leads scored without a model are left out.
    pub tiers: Vec<(String, u64)>,
    /// Leads per points grade, by name; leads without a grade are left out.
    pub grades: Vec<(String, u64)>,
    /// Leads scored with points.
    pub with_points: u64,
    /// Of those, marketing-qualified leads.
    pub mql: u64,
}

/// One recorded score of a lead.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredScore {
    /// When it was scored (RFC 3339).
    pub scored_at: String,
    /// Model name, when a model scored it.
    pub model: Option<String>,
    /// Model version.
    pub model_version: Option<String>,
    /// Calibrated probability.
    pub probability: Option<f64>,
    /// Model tier.
    pub tier: Option<String>,
    /// Points total.
    pub points: Option<f64>,
    /// Points grade.
    pub grade: Option<String>,
    /// Marketing-qualified by points.
    pub mql: Option<bool>,
    /// The answer as it was given (reasons, points breakdown), when it was kept.
    pub answer: Option<serde_json::Value>,
}

/// A lead's arm in one experiment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredAssignment {
    /// Experiment name.
    pub experiment: String,
    /// Arm.
    pub arm: String,
    /// Whether the arm's policy routed the lead to sales.
    pub routed: bool,
    /// When the lead was first assigned.
    pub assigned_at: String,
}

/// A lead's recorded outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredOutcome {
    /// Won (`true`) or lost.
    pub won: bool,
    /// When the deal closed, if known.
    pub closed_at: Option<String>,
    /// When the outcome was recorded.
    pub recorded_at: String,
}

/// Everything recorded about one lead.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LeadHistory {
    /// Its scores, newest first (at most the limit asked for).
    pub scores: Vec<StoredScore>,
    /// Scores recorded in all (may exceed `scores.len()`).
    pub total_scores: u64,
    /// Its experiment arms.
    pub assignments: Vec<StoredAssignment>,
    /// Its outcome, once recorded.
    pub outcome: Option<StoredOutcome>,
}

/// Routed leads of an arm assigned in one week, and their outcomes so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArmWeek {
    /// Arm.
    pub arm: String,
    /// Monday of the week of assignment (`YYYY-MM-DD`).
    pub week: String,
    /// Leads routed to sales.
    pub routed: u64,
    /// Of those, leads with a recorded outcome.
    pub routed_closed: u64,
    /// Of those, won.
    pub routed_won: u64,
}

/// Scores per day from `since` (`YYYY-MM-DD`) on, oldest first; days without scores are left
/// out.
pub fn daily_volume(
    path: &Path,
    since: &str,
    cancellation: &Cancellation,
) -> Result<Vec<DayVolume>, StoreError> {
    let (connection, error) = watched(path, cancellation)?;
    let mut query = connection
        .prepare(
            "SELECT substr(scored_at, 1, 10) AS day, count(*), count(DISTINCT lead_id), sum(coalesce(mql, 0))
             FROM scores WHERE scored_at >= ?1 GROUP BY day ORDER BY day",
        )
        .map_err(&error)?;
    let rows = query
        .query_map(params![since], |row| {
            Ok(DayVolume {
                day: row.get(0)?,
                scores: row.get(1)?,
                leads: row.get(2)?,
                mql: row.get(3)?,
            })
        })
        .map_err(&error)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(&error)
}

/// The tier and grade mix of each lead's latest score recorded from `since` on.
pub fn score_mix(
    path: &Path,
    since: &str,
    cancellation: &Cancellation,
) -> Result<ScoreMix, StoreError> {
    let (connection, error) = watched(path, cancellation)?;
    connection
        .execute(
            "CREATE TEMP TABLE latest AS
             SELECT s.tier, s.grade, s.points, s.mql FROM scores s
             JOIN (SELECT max(id) AS id FROM scores WHERE scored_at >= ?1 GROUP BY lead_id) l ON s.id = l.id",
            params![since],
        )
        .map_err(&error)?;
    let (leads, with_points, mql) = connection
        .query_row(
            "SELECT count(*), count(points), sum(coalesce(mql, 0)) FROM latest",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get::<_, Option<u64>>(2)?)),
        )
        .map_err(&error)?;
    let counts = |column: &str| -> Result<Vec<(String, u64)>, StoreError> {
        let mut query = connection
            .prepare(&format!(
                "SELECT {column}, count(*) FROM latest WHERE {column} IS NOT NULL GROUP BY {column} ORDER BY {column}"
            ))
            .map_err(&error)?;
        let rows = query
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .map_err(&error)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(&error)
    };
    Ok(ScoreMix {
        leads,
        tiers: counts("tier")?,
        grades: counts("grade")?,
        with_points,
        mql: mql.unwrap_or(0),
    })
}

/// A lead's scores (newest first, at most `limit`), experiment arms and outcome.
pub fn lead_history(
    path: &Path,
    lead_id: &str,
    limit: usize,
    cancellation: &Cancellation,
) -> Result<LeadHistory, StoreError> {
    let (connection, error) = watched(path, cancellation)?;
    let mut query = connection
        .prepare(
            "SELECT scored_at, model, model_version, probability, tier, points, grade, mql, answer
             FROM scores WHERE lead_id = ?1 ORDER BY scored_at DESC, id DESC LIMIT ?2",
        )
        .map_err(&error)?;
    let scores = query
        .query_map(params![lead_id, limit as i64], |row| {
            let answer: Option<String> = row.get(8)?;
            Ok(StoredScore {
                scored_at: row.get(0)?,
                model: row.get(1)?,
                model_version: row.get(2)?,
                probability: row.get(3)?,
                tier: row.get(4)?,
                points: row.get(5)?,
                grade: row.get(6)?,
                mql: row.get(7)?,
                answer: answer.and_then(|text| serde_json::from_str(&text).ok()),
            })
        })
        .map_err(&error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(&error)?;
    let total_scores = connection
        .query_row(
            "SELECT count(*) FROM scores WHERE lead_id = ?1",
            params![lead_id],
            |row| row.get(0),
        )
        .map_err(&error)?;
    let mut query = connection
        .prepare(
            "SELECT experiment, arm, routed, assigned_at FROM assignments WHERE lead_id = ?1 ORDER BY experiment",
        )
        .map_err(&error)?;
    let assignments = query
        .query_map(params![lead_id], |row| {
            Ok(StoredAssignment {
                experiment: row.get(0)?,
                arm: row.get(1)?,
                routed: row.get(2)?,
                assigned_at: row.get(3)?,
            })
        })
        .map_err(&error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(&error)?;
    let mut query = connection
        .prepare("SELECT won, closed_at, recorded_at FROM outcomes WHERE lead_id = ?1")
        .map_err(&error)?;
    let outcome = query
        .query_map(params![lead_id], |row| {
            Ok(StoredOutcome {
                won: row.get(0)?,
                closed_at: row.get(1)?,
                recorded_at: row.get(2)?,
            })
        })
        .map_err(&error)?
        .next()
        .transpose()
        .map_err(&error)?;
    Ok(LeadHistory {
        scores,
        total_scores,
        assignments,
        outcome,
    })
}

/// An experiment's routed leads and their outcomes per arm and week of assignment, oldest week
/// first.
pub fn experiment_weeks(
    path: &Path,
    experiment: &str,
    cancellation: &Cancellation,
) -> Result<Vec<ArmWeek>, StoreError> {
    let (connection, error) = watched(path, cancellation)?;
    // date(…, 'weekday 1') moves forward to the next Monday; six days back first lands on the
    // Monday of the day's own week.
    let mut query = connection
        .prepare(
            "SELECT a.arm, date(substr(a.assigned_at, 1, 10), '-6 days', 'weekday 1') AS week,
                    count(*), count(o.lead_id), sum(coalesce(o.won, 0))
             FROM assignments a LEFT JOIN outcomes o ON o.lead_id = a.lead_id
             WHERE a.experiment = ?1 AND a.routed GROUP BY a.arm, week ORDER BY week, a.arm",
        )
        .map_err(&error)?;
    let rows = query
        .query_map(params![experiment], |row| {
            Ok(ArmWeek {
                arm: row.get(0)?,
                week: row.get(1)?,
                routed: row.get(2)?,
                routed_closed: row.get(3)?,
                routed_won: row.get(4)?,
            })
        })
        .map_err(&error)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(&error)
}
