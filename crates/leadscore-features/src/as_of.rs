//! The as-of time of each lead: the moment its behaviour features are taken at.

use leadscore_data::{LeadsTable, Outcome, time::SECONDS_PER_DAY};
use serde::{Deserialize, Serialize};

/// When a closed lead's features are taken.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "days")]
pub enum AsOfPolicy {
    /// At the close date (default): everything known before the deal was decided.
    #[default]
    CloseDate,
    /// At creation + N days (never after the close date), so a model scores leads as early as they
    /// will be scored in production.
    DaysAfterCreation(u32),
}

impl AsOfPolicy {
    /// The as-of time of one lead.
    ///
    /// Open leads are scored at `scoring_time`; closed leads at their close date (or creation + N
    /// days). A closed lead without a close date falls back to `scoring_time`.
    pub fn as_of(
        &self,
        outcome: Outcome,
        created_at: Option<i64>,
        closed_at: Option<i64>,
        scoring_time: i64,
    ) -> i64 {
        let decided = match outcome {
            Outcome::Open => scoring_time,
            Outcome::Won | Outcome::Lost => closed_at.unwrap_or(scoring_time),
        };
        match (self, created_at) {
            (Self::CloseDate, _) | (Self::DaysAfterCreation(_), None) => decided,
            (Self::DaysAfterCreation(days), Some(created)) => {
                decided.min(created + i64::from(*days) * SECONDS_PER_DAY)
            }
        }
    }

    /// As-of times of every lead of a table.
    pub fn for_table(&self, leads: &LeadsTable, scoring_time: i64) -> Vec<i64> {
        (0..leads.len())
            .map(|row| {
                self.as_of(
                    leads.outcomes[row],
                    leads.created_at.as_ref().and_then(|c| c[row]),
                    leads.closed_at.as_ref().and_then(|c| c[row]),
                    scoring_time,
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = SECONDS_PER_DAY;

    #[test]
    fn closed_leads_use_their_close_date_and_open_leads_the_scoring_time() {
        let policy = AsOfPolicy::CloseDate;
        assert_eq!(
            policy.as_of(Outcome::Won, Some(0), Some(10 * DAY), 99 * DAY),
            10 * DAY
        );
        assert_eq!(
            policy.as_of(Outcome::Open, Some(0), None, 99 * DAY),
            99 * DAY
        );
        assert_eq!(policy.as_of(Outcome::Lost, None, None, 99 * DAY), 99 * DAY);
    }

    #[test]
    fn days_after_creation_never_passes_the_close_date() {
        let policy = AsOfPolicy::DaysAfterCreation(7);
        assert_eq!(
            policy.as_of(Outcome::Won, Some(0), Some(30 * DAY), 99 * DAY),
            7 * DAY
        );
        assert_eq!(
            policy.as_of(Outcome::Won, Some(0), Some(3 * DAY), 99 * DAY),
            3 * DAY
        );
        assert_eq!(policy.as_of(Outcome::Open, Some(0), None, 2 * DAY), 2 * DAY);
    }
}
