//! A demo history for trying the console: leads of a file scored by the serving model and rules,
//! spread over the last four weeks, assigned to the live experiments, and the outcomes of those
//! scored more than a week ago recorded. Scores go through the same scorer, experiment
//! assignment and recorder as live requests; only their timestamps are set in the past.

use leadscore_data::{EventLog, LeadsTable, Outcome, time};
use leadscore_store::{OutcomeRecord, OutcomeValue, daily_volume, record_outcomes};
use sha2::{Digest, Sha256};

use crate::api::ScoreResponse;
use crate::error::ServerError;
use crate::routes::{assign, score_records, to_json};
use crate::state::AppState;

/// Days back over which demo leads are scored.
pub const DEMO_DAYS: i64 = 28;
/// Leads scored within this many days have no outcome yet (deals take time to close).
const OPEN_DAYS: i64 = 7;
/// Days from a demo score to its lead's close date.
const DAYS_TO_CLOSE: i64 = 5;

/// What [`seed_demo`] recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoSummary {
    /// Leads scored.
    pub scores: usize,
    /// Won and lost outcomes recorded.
    pub outcomes: usize,
}

/// A stable number for a lead, so the same file gives the same history.
fn spread(lead_id: &str) -> u64 {
    let digest = Sha256::digest(lead_id.as_bytes());
    u64::from_le_bytes([
        digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7],
    ])
}

/// Seeds the server's score database with a demo history of `leads` (and their `events`),
/// pretending it is `now`. Returns `None`, recording nothing, when the database already holds
/// scores, so a restart with the same flag changes nothing.
pub fn seed_demo(
    state: &AppState,
    leads: &LeadsTable,
    events: Option<&EventLog>,
    now: i64,
) -> Result<Option<DemoSummary>, ServerError> {
    let (Some(db), Some(recorder)) = (state.config().db.clone(), state.recorder()) else {
        return Err(ServerError::Demo(
            "the demo records scores: give a database (--db)".to_owned(),
        ));
    };
    let existing = daily_volume(&db, "", &leadscore_store::Cancellation::default())?;
    if !existing.is_empty() {
        return Ok(None);
    }
    let engine = state.engine();
    let scores = engine
        .scorer
        .score_table(leads, events, now)
        .map_err(|e| ServerError::Demo(e.to_string()))?;
    let as_of = engine.scorer.as_of_policy().for_table(leads, now);
    let mut outcomes = Vec::new();
    let mut recorded = 0;
    for (row, score) in scores.into_iter().enumerate() {
        let hash = spread(&score.lead_id);
        let days_ago = (hash % DEMO_DAYS as u64) as i64;
        let seconds = ((hash >> 32) % time::SECONDS_PER_DAY as u64) as i64;
        let scored_at = now - days_ago * time::SECONDS_PER_DAY - seconds;
        let mut response = ScoreResponse {
            score,
            as_of: time::format_timestamp(as_of[row]),
            experiments: Vec::new(),
            warnings: Vec::new(),
        };
        assign(state, &engine, std::slice::from_mut(&mut response));
        let lead_id = response.score.lead_id.clone();
        let body = to_json(&response).map_err(|e| ServerError::Demo(e.detail().to_owned()))?;
        recorder
            .record(score_records(
                std::slice::from_ref(&response),
                state
                    .config()
                    .keep_answers
                    .then_some(std::slice::from_ref(&body)),
                &time::format_timestamp(scored_at),
                // History is not news: a demo fires no webhooks.
                |_| Vec::new(),
            ))
            .map_err(|e| ServerError::Demo(e.to_string()))?;
        recorded += 1;
        let outcome = match leads.outcomes[row] {
            Outcome::Won => OutcomeValue::Won,
            Outcome::Lost => OutcomeValue::Lost,
            Outcome::Open => continue,
        };
        if days_ago >= OPEN_DAYS {
            outcomes.push(OutcomeRecord {
                lead_id,
                outcome,
                closed_at: Some(time::format_date(
                    scored_at + DAYS_TO_CLOSE * time::SECONDS_PER_DAY,
                )),
                amount: leads.deal_values.as_ref().and_then(|values| values[row]),
            });
        }
    }
    recorder.flush();
    record_outcomes(&db, &outcomes)?;
    Ok(Some(DemoSummary {
        scores: recorded,
        outcomes: outcomes.len(),
    }))
}
