//! Choosing the MQL threshold from closed leads, and conversion per score band.

use serde::Serialize;

use crate::error::PointsError;

/// What the threshold must achieve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ThresholdGoal {
    /// Sales can work this share of leads (0–1): the threshold passes at most that share.
    Capacity(f64),
    /// Leads passed must convert at least this often (0–1): the lowest threshold that does.
    Precision(f64),
}

/// A recommended threshold and what it would have done on history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThresholdAdvice {
    /// Points from which a lead is an MQL.
    pub threshold: f64,
    /// Closed leads at or above it.
    pub passed: usize,
    /// Share of closed leads passed.
    pub passed_share: f64,
    /// Conversion rate of passed leads.
    pub precision: f64,
    /// Share of all won leads that were passed.
    pub recall: f64,
    /// Conversion rate of all closed leads, for comparison.
    pub base_rate: f64,
}

/// Conversion of the closed leads in one points band.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreBand {
    /// Lowest total in the band.
    pub min_points: f64,
    /// Highest total in the band.
    pub max_points: f64,
    /// Closed leads in the band.
    pub leads: usize,
    /// Won leads in the band.
    pub won: usize,
    /// `won / leads`.
    pub conversion: f64,
}

/// Recommends the MQL threshold for a goal from closed leads' totals and outcomes (`true` = won).
pub fn recommend_threshold(
    totals: &[f64],
    won: &[bool],
    goal: ThresholdGoal,
) -> Result<ThresholdAdvice, PointsError> {
    let (ThresholdGoal::Capacity(share) | ThresholdGoal::Precision(share)) = goal;
    if !(share > 0.0 && share <= 1.0) {
        return Err(PointsError::InvalidParam {
            name: "goal",
            reason: format!("a capacity or precision is a share in (0, 1], got {share}"),
        });
    }
    let positives = won.iter().filter(|&&w| w).count();
    if totals.is_empty() || positives == 0 {
        return Err(PointsError::InvalidParam {
            name: "leads",
            reason: "a threshold needs closed leads with at least one won".into(),
        });
    }
    let mut order: Vec<usize> = (0..totals.len()).collect();
    order.sort_by(|&a, &b| totals[b].total_cmp(&totals[a]));
    // Candidate thresholds are the distinct totals, from the highest down; passing a threshold
    // passes every lead tied with it.
    let mut candidates: Vec<(f64, usize, usize)> = Vec::new();
    let (mut passed, mut hits) = (0, 0);
    for (index, &row) in order.iter().enumerate() {
        passed += 1;
        hits += usize::from(won[row]);
        let last_of_tie = order
            .get(index + 1)
            .is_none_or(|&next| totals[next] != totals[row]);
        if last_of_tie {
            candidates.push((totals[row], passed, hits));
        }
    }
    let n = totals.len();
    let chosen = match goal {
        ThresholdGoal::Capacity(share) => candidates
            .iter()
            .take_while(|(_, passed, _)| *passed as f64 <= share * n as f64)
            .last()
            .or(candidates.first()),
        // A handful of top leads converting proves nothing: a precision threshold must pass at
        // least 1% of the leads (at most 20 leads needed).
        ThresholdGoal::Precision(target) => candidates.iter().rfind(|(_, passed, hits)| {
            *passed >= (n / 100).clamp(1, 20) && *hits as f64 >= target * *passed as f64
        }),
    };
    let Some(&(threshold, passed, hits)) = chosen else {
        return Err(PointsError::InvalidParam {
            name: "precision",
            reason: format!(
                "no threshold passing at least 1% of leads reaches a conversion rate of {:.1}% (the best converts at {:.1}%)",
                100.0 * share,
                100.0
                    * candidates
                        .iter()
                        .map(|(_, p, h)| *h as f64 / *p as f64)
                        .fold(0.0, f64::max)
            ),
        });
    };
    Ok(ThresholdAdvice {
        threshold,
        passed,
        passed_share: passed as f64 / n as f64,
        precision: hits as f64 / passed as f64,
        recall: hits as f64 / positives as f64,
        base_rate: positives as f64 / n as f64,
    })
}

/// Splits closed leads into up to `bands` equal-count bands by total (ties kept together) and
/// reports each band's conversion, highest points first.
pub fn score_bands(totals: &[f64], won: &[bool], bands: usize) -> Vec<ScoreBand> {
    let mut order: Vec<usize> = (0..totals.len()).collect();
    order.sort_by(|&a, &b| totals[b].total_cmp(&totals[a]));
    let size = totals.len().div_ceil(bands.max(1)).max(1);
    let mut result: Vec<ScoreBand> = Vec::new();
    let mut start = 0;
    while start < order.len() {
        let mut end = (start + size).min(order.len());
        while end < order.len() && totals[order[end]] == totals[order[end - 1]] {
            end += 1;
        }
        let rows = &order[start..end];
        let won_in = rows.iter().filter(|&&r| won[r]).count();
        result.push(ScoreBand {
            max_points: totals[rows[0]],
            min_points: totals[rows[rows.len() - 1]],
            leads: rows.len(),
            won: won_in,
            conversion: won_in as f64 / rows.len() as f64,
        });
        start = end;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_passes_at_most_the_share_and_keeps_ties_together() {
        let totals = [50.0, 40.0, 40.0, 30.0, 20.0, 10.0, 10.0, 0.0, 0.0, 0.0];
        let won = [
            true, true, false, false, true, false, false, false, false, false,
        ];
        let advice = recommend_threshold(&totals, &won, ThresholdGoal::Capacity(0.3)).expect("ok");
        assert_eq!(advice.threshold, 40.0);
        assert_eq!(advice.passed, 3);
        assert!((advice.precision - 2.0 / 3.0).abs() < 1e-12);
        assert!((advice.recall - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn precision_takes_the_lowest_threshold_that_reaches_it() {
        let totals = [50.0, 40.0, 30.0, 20.0, 10.0];
        let won = [true, true, false, true, false];
        let advice =
            recommend_threshold(&totals, &won, ThresholdGoal::Precision(0.75)).expect("ok");
        assert_eq!(advice.threshold, 20.0);
        assert!(recommend_threshold(&totals, &won, ThresholdGoal::Precision(1.0)).is_ok());
        let none = recommend_threshold(&[1.0, 2.0], &[true, false], ThresholdGoal::Precision(1.0));
        assert!(none.is_err());
        assert!(recommend_threshold(&totals, &won, ThresholdGoal::Capacity(0.0)).is_err());
    }

    #[test]
    fn bands_cover_every_lead_once() {
        let totals: Vec<f64> = (0..95).map(|i| f64::from(i % 7)).collect();
        let won: Vec<bool> = (0..95).map(|i| i % 3 == 0).collect();
        let bands = score_bands(&totals, &won, 10);
        assert_eq!(bands.iter().map(|b| b.leads).sum::<usize>(), 95);
        assert!(bands.windows(2).all(|w| w[0].min_points > w[1].max_points));
    }
}
