//! Won and lost outcomes of leads, recorded idempotently.

use std::path::Path;

use rusqlite::{TransactionBehavior, params};
use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::schema::{database_error, open};

/// A won or lost outcome of a lead.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeRecord {
    /// Lead id.
    pub lead_id: String,
    /// `won` or `lost`.
    pub outcome: OutcomeValue,
    /// When the deal closed, if known (`2025-07-01` or RFC 3339).
    #[serde(default)]
    pub closed_at: Option<String>,
    /// A won deal's amount, if known (above 0); experiments then report revenue per arm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<f64>,
}

impl OutcomeRecord {
    /// What is wrong with this outcome, if anything: an amount must be a number above 0, on a
    /// won deal.
    pub fn problem(&self) -> Option<&'static str> {
        match (self.amount, self.outcome) {
            (Some(amount), _) if !(amount.is_finite() && amount > 0.0) => {
                Some("an amount must be a number above 0")
            }
            (Some(_), OutcomeValue::Lost) => Some("a lost deal has no amount"),
            _ => None,
        }
    }
}

/// The two closed outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeValue {
    /// The deal was won.
    Won,
    /// The deal was lost.
    Lost,
}

/// What recording outcomes changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct OutcomeImport {
    /// Leads seen for the first time.
    pub inserted: u64,
    /// Leads whose outcome or close date changed.
    pub changed: u64,
    /// Leads already recorded exactly so.
    pub unchanged: u64,
}

/// Records outcomes idempotently, in one transaction: the same outcomes twice change nothing.
pub fn record_outcomes(
    path: &Path,
    outcomes: &[OutcomeRecord],
) -> Result<OutcomeImport, StoreError> {
    let error = database_error(path);
    let mut connection = open(path)?;
    let now = leadscore_data::time::format_timestamp(leadscore_data::time::now());
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(&error)?;
    let mut import = OutcomeImport::default();
    {
        let mut find = transaction
            .prepare_cached("SELECT won, closed_at, amount FROM outcomes WHERE lead_id = ?1")
            .map_err(&error)?;
        let mut upsert = transaction
            .prepare_cached(
                "INSERT INTO outcomes (lead_id, won, closed_at, recorded_at, amount) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (lead_id) DO UPDATE SET won = excluded.won, closed_at = excluded.closed_at, recorded_at = excluded.recorded_at, amount = excluded.amount",
            )
            .map_err(&error)?;
        for outcome in outcomes {
            let won = outcome.outcome == OutcomeValue::Won;
            let existing: Option<(bool, Option<String>, Option<f64>)> = find
                .query_row(params![outcome.lead_id], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                })
                .map(Some)
                .or_else(|e| match e {
                    rusqlite::Error::QueryReturnedNoRows => Ok(None),
                    other => Err(other),
                })
                .map_err(&error)?;
            match existing {
                Some((w, closed, amount))
                    if w == won && closed == outcome.closed_at && amount == outcome.amount =>
                {
                    import.unchanged += 1;
                    continue;
                }
                Some(_) => import.changed += 1,
                None => import.inserted += 1,
            }
            upsert
                .execute(params![
                    outcome.lead_id,
                    won,
                    outcome.closed_at,
                    now,
                    outcome.amount
                ])
                .map_err(&error)?;
        }
    }
    transaction.commit().map_err(&error)?;
    Ok(import)
}
