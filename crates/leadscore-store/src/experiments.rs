//! Experiments in the database: their arms, and the per-arm counts of a report.

use std::path::Path;

use leadscore_compare::live::{
    ArmAmounts, ArmCounts, Experiment, ExperimentReport, experiment_report, experiment_revenue,
};
use rusqlite::{TransactionBehavior, params};

use crate::cancel::{Cancellation, watched};
use crate::error::StoreError;
use crate::schema::{database_error, open};

/// Records the arms of the served experiments, so reports know the baseline and the order.
pub fn register_experiments(path: &Path, experiments: &[Experiment]) -> Result<(), StoreError> {
    let error = database_error(path);
    let mut connection = open(path)?;
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(&error)?;
    for experiment in experiments {
        for (position, arm) in experiment.arms.iter().enumerate() {
            transaction
                .execute(
                    "INSERT OR REPLACE INTO experiment_arms (experiment, arm, position, share, policy) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![experiment.name, arm.name, position as i64, arm.share, format!("{:?}", arm.policy)],
                )
                .map_err(&error)?;
        }
    }
    transaction.commit().map_err(&error)
}

/// An experiment's report: per-arm counts and statistics, and revenue per routed lead when
/// outcomes carry amounts. `cancellation` stops the queries early.
pub fn experiment_report_of(
    path: &Path,
    experiment: &str,
    cancellation: &Cancellation,
) -> Result<ExperimentReport, StoreError> {
    let mut report = experiment_report(
        experiment,
        experiment_counts(path, experiment, cancellation)?,
    );
    report.revenue = experiment_revenue(&experiment_amounts(path, experiment, cancellation)?);
    Ok(report)
}

/// The amounts of each arm's routed leads with an outcome (0 for lost deals and won deals
/// without an amount), baseline arm first.
fn experiment_amounts(
    path: &Path,
    experiment: &str,
    cancellation: &Cancellation,
) -> Result<Vec<ArmAmounts>, StoreError> {
    let (connection, error) = watched(path, cancellation)?;
    let mut query = connection
        .prepare(
            "SELECT a.arm, CASE WHEN o.won THEN coalesce(o.amount, 0) ELSE 0 END,
                    coalesce((SELECT position FROM experiment_arms e WHERE e.experiment = a.experiment AND e.arm = a.arm), 1000) AS position
             FROM assignments a JOIN outcomes o ON o.lead_id = a.lead_id
             WHERE a.experiment = ?1 AND a.routed ORDER BY position, a.arm",
        )
        .map_err(&error)?;
    let mut rows = query.query(params![experiment]).map_err(&error)?;
    let mut arms: Vec<ArmAmounts> = Vec::new();
    while let Some(row) = rows.next().map_err(&error)? {
        let arm: String = row.get(0).map_err(&error)?;
        let amount: f64 = row.get(1).map_err(&error)?;
        match arms.last_mut() {
            Some(last) if last.arm == arm => last.amounts.push(amount),
            _ => arms.push(ArmAmounts {
                arm,
                amounts: vec![amount],
            }),
        }
    }
    Ok(arms)
}

/// Per-arm counts of an experiment, baseline arm first; empty when no lead was assigned.
/// `cancellation` stops the query early with [`StoreError::Cancelled`].
pub fn experiment_counts(
    path: &Path,
    experiment: &str,
    cancellation: &Cancellation,
) -> Result<Vec<ArmCounts>, StoreError> {
    let (connection, error) = watched(path, cancellation)?;
    let mut query = connection
        .prepare(
            "SELECT a.arm, count(*), sum(a.routed), sum(a.routed AND o.lead_id IS NOT NULL),
                    sum(a.routed AND coalesce(o.won, 0)), count(o.lead_id), sum(coalesce(o.won, 0)),
                    coalesce((SELECT position FROM experiment_arms e WHERE e.experiment = a.experiment AND e.arm = a.arm), 1000)
             FROM assignments a LEFT JOIN outcomes o ON o.lead_id = a.lead_id
             WHERE a.experiment = ?1 GROUP BY a.arm ORDER BY 8, a.arm",
        )
        .map_err(&error)?;
    let rows = query
        .query_map(params![experiment], |row| {
            Ok(ArmCounts {
                arm: row.get(0)?,
                leads: row.get(1)?,
                routed: row.get(2)?,
                routed_closed: row.get(3)?,
                routed_won: row.get(4)?,
                closed: row.get(5)?,
                won: row.get(6)?,
            })
        })
        .map_err(&error)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(&error)
}
