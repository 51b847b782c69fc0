//! What monitoring reads back: each closed lead's last score before it closed (the backtest and
//! the shadow comparison), and the served probabilities per week (score drift).

use std::path::Path;

use leadscore_artifact::{ColumnCounts, ModelArtifact};
use leadscore_compare::monitor::{
    ClosedScore, ColumnWeek, MonitorReport, ValidMonitorParams, WeekBins, drift_bins,
};
use rusqlite::{OptionalExtension, params};

use crate::cancel::{Cancellation, watched};
use crate::error::StoreError;

/// Monitors `model` on the scores it served from `since` (`YYYY-MM-DD`) on and on every closed
/// lead it scored; `challenger` is the version scored in shadow, if any.
pub fn monitor_database(
    path: &Path,
    model: &ModelArtifact,
    challenger: Option<&str>,
    params: &ValidMonitorParams,
    since: &str,
    cancellation: &Cancellation,
) -> Result<MonitorReport, StoreError> {
    let (edges, _) = drift_bins(model);
    let weeks = weekly_bins(path, Some(model.name()), since, &edges, cancellation)?;
    let columns = column_weeks(path, model.name(), model.version(), since, cancellation)?;
    let closed = closed_scores(path, Some(model.name()), None, cancellation)?;
    let paired = challenger
        .map(|version| closed_scores(path, Some(model.name()), Some(version), cancellation))
        .transpose()?;
    let shadow = challenger.zip(paired.as_deref());
    Ok(params.monitor(model, &weeks, &columns, &closed, shadow))
}

/// One day's counts of one column, as a server adds them.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDay {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    /// Model name.
    pub model: String,
    /// Model version (a column profile belongs to one version).
    pub version: String,
    /// Column name.
    pub column: String,
    /// What was counted.
    pub counts: ColumnCounts,
}

/// Adds counts to the database's per-day column statistics, in one transaction.
pub fn add_column_counts(path: &Path, days: &[ColumnDay]) -> Result<(), StoreError> {
    let error = crate::schema::database_error(path);
    let mut connection = crate::schema::open(path)?;
    let transaction = connection
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(&error)?;
    for day in days {
        let stored: Option<String> = transaction
            .query_row(
                "SELECT counts FROM column_stats WHERE day = ?1 AND model = ?2 AND version = ?3 AND column_name = ?4",
                params![day.day, day.model, day.version, day.column],
                |row| row.get(0),
            )
            .optional()
            .map_err(&error)?;
        let mut counts: ColumnCounts = stored
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        counts.add(&day.counts);
        let text = serde_json::to_string(&counts).map_err(|e| StoreError::Database {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        transaction
            .execute(
                "INSERT INTO column_stats (day, model, version, column_name, counts) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (day, model, version, column_name) DO UPDATE SET counts = excluded.counts",
                params![day.day, day.model, day.version, day.column, text],
            )
            .map_err(&error)?;
    }
    transaction.commit().map_err(&error)
}

/// Column counts of model `model` version `version` from `since` on, summed per week (weeks
/// start on Monday), oldest first.
fn column_weeks(
    path: &Path,
    model: &str,
    version: &str,
    since: &str,
    cancellation: &Cancellation,
) -> Result<Vec<ColumnWeek>, StoreError> {
    let (connection, error) = watched(path, cancellation)?;
    let mut query = connection
        .prepare(
            "SELECT date(day, '-6 days', 'weekday 1') AS week, column_name, counts FROM column_stats
             WHERE model = ?1 AND version = ?2 AND day >= ?3 ORDER BY week, column_name",
        )
        .map_err(&error)?;
    let mut rows = query
        .query(params![model, version, since])
        .map_err(&error)?;
    let mut weeks: Vec<ColumnWeek> = Vec::new();
    while let Some(row) = rows.next().map_err(&error)? {
        let week: String = row.get(0).map_err(&error)?;
        let column: String = row.get(1).map_err(&error)?;
        let text: String = row.get(2).map_err(&error)?;
        let counts: ColumnCounts = serde_json::from_str(&text).unwrap_or_default();
        match weeks.last_mut() {
            Some(last) if last.week == week && last.column == column => last.counts.add(&counts),
            _ => weeks.push(ColumnWeek {
                week,
                column,
                counts,
            }),
        }
    }
    Ok(weeks)
}

/// Every closed lead scored by model `model` (any model when `None`), with its last score on or
/// before its close day (any score when the close day is unknown). With `shadow_version`, only
/// scores that carried that challenger's shadow count, so both probabilities are of the same
/// moment.
pub fn closed_scores(
    path: &Path,
    model: Option<&str>,
    shadow_version: Option<&str>,
    cancellation: &Cancellation,
) -> Result<Vec<ClosedScore>, StoreError> {
    let (connection, error) = watched(path, cancellation)?;
    let mut query = connection
        .prepare(
            "SELECT s.lead_id, s.scored_at, s.model_version, s.probability, s.tier,
                    s.shadow_version, s.shadow_probability, o.won
             FROM outcomes o JOIN scores s ON s.id = (
                 SELECT l.id FROM scores l
                 WHERE l.lead_id = o.lead_id AND l.probability IS NOT NULL
                   AND (?1 IS NULL OR l.model = ?1)
                   AND (?2 IS NULL OR l.shadow_version = ?2)
                   AND (o.closed_at IS NULL OR substr(l.scored_at, 1, 10) <= substr(o.closed_at, 1, 10))
                 ORDER BY l.scored_at DESC, l.id DESC LIMIT 1)
             ORDER BY s.scored_at, s.lead_id",
        )
        .map_err(&error)?;
    let rows = query
        .query_map(params![model, shadow_version], |row| {
            let shadow_version: Option<String> = row.get(5)?;
            let shadow_probability: Option<f64> = row.get(6)?;
            Ok(ClosedScore {
                lead_id: row.get(0)?,
                scored_at: row.get(1)?,
                model_version: row.get(2)?,
                probability: row.get(3)?,
                tier: row.get(4)?,
                shadow: shadow_version.zip(shadow_probability),
                won: row.get(7)?,
            })
        })
        .map_err(&error)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(&error)
}

/// The probabilities model `model` (any when `None`) served from `since` (`YYYY-MM-DD`) on, per
/// week, counted into the bins between ascending `edges` (`edges.len() + 1` bins).
pub fn weekly_bins(
    path: &Path,
    model: Option<&str>,
    since: &str,
    edges: &[f64],
    cancellation: &Cancellation,
) -> Result<Vec<WeekBins>, StoreError> {
    let (connection, error) = watched(path, cancellation)?;
    // date(…, 'weekday 1') moves forward to the next Monday; six days back first lands on the
    // Monday of the day's own week.
    let mut query = connection
        .prepare(
            "SELECT date(substr(scored_at, 1, 10), '-6 days', 'weekday 1') AS week, probability
             FROM scores
             WHERE probability IS NOT NULL AND scored_at >= ?1 AND (?2 IS NULL OR model = ?2)
             ORDER BY week",
        )
        .map_err(&error)?;
    let mut rows = query.query(params![since, model]).map_err(&error)?;
    let mut weeks: Vec<WeekBins> = Vec::new();
    while let Some(row) = rows.next().map_err(&error)? {
        let week: String = row.get(0).map_err(&error)?;
        let probability: f64 = row.get(1).map_err(&error)?;
        if weeks.last().is_none_or(|w| w.week != week) {
            weeks.push(WeekBins {
                week,
                counts: vec![0; edges.len() + 1],
            });
        }
        let bin = edges.partition_point(|&edge| edge <= probability);
        if let Some(current) = weeks.last_mut() {
            current.counts[bin] += 1;
        }
    }
    Ok(weeks)
}
