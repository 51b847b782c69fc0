//! Revenue routed per arm of a live experiment: the mean amount per routed lead with a recorded
//! outcome (lost deals count 0), with percentile-bootstrap intervals, which suit amounts that
//! are mostly 0 and heavy-tailed where a normal interval would not.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::{bootstrap_rows, percentile, pick};

/// Resamples of the bootstrap intervals.
const RESAMPLES: usize = 2_000;
/// Seed of the bootstrap: the same data always gives the same interval.
const SEED: u64 = 0x7265_7665_6e75_6531;

/// The amounts of one arm's routed leads with a recorded outcome (0 for a lost deal or a won
/// deal recorded without an amount).
#[derive(Debug, Clone, PartialEq)]
pub struct ArmAmounts {
    /// Arm name.
    pub arm: String,
    /// One amount per routed closed lead.
    pub amounts: Vec<f64>,
}

/// Revenue of one arm.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArmRevenue {
    /// Arm name.
    pub arm: String,
    /// Routed leads with a recorded outcome.
    pub routed_closed: usize,
    /// Their summed amounts.
    pub revenue: f64,
    /// Revenue per routed closed lead.
    pub per_routed_lead: f64,
    /// Its 95% percentile-bootstrap interval.
    pub interval: (f64, f64),
}

/// Revenue per routed lead, second arm minus first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RevenueDifference {
    /// Compared arms (b − a).
    pub arms: (String, String),
    /// Revenue per routed closed lead, b − a.
    pub difference: f64,
    /// 95% percentile-bootstrap interval (each arm resampled on its own).
    pub interval: (f64, f64),
    /// A plain sentence that agrees with the interval.
    pub verdict: String,
}

/// The experiment's revenue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExperimentRevenue {
    /// Every arm with routed outcomes.
    pub arms: Vec<ArmRevenue>,
    /// The second arm against the first.
    pub difference: Option<RevenueDifference>,
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

fn resampled_mean(rng: &mut ChaCha8Rng, values: &[f64], rows: &mut Vec<usize>) -> f64 {
    bootstrap_rows(rng, values.len(), rows);
    mean(&pick(values, rows))
}

fn interval(mut samples: Vec<f64>) -> (f64, f64) {
    samples.sort_by(f64::total_cmp);
    (percentile(&samples, 0.025), percentile(&samples, 0.975))
}

/// Revenue per arm and the difference of the first two arms; `None` when no amount is
/// recorded at all (the experiment counts conversions only).
pub fn experiment_revenue(arms: &[ArmAmounts]) -> Option<ExperimentRevenue> {
    if arms.iter().all(|a| a.amounts.iter().all(|&v| v == 0.0)) {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let mut rows = Vec::new();
    let reports: Vec<ArmRevenue> = arms
        .iter()
        .filter(|a| !a.amounts.is_empty())
        .map(|a| ArmRevenue {
            arm: a.arm.clone(),
            routed_closed: a.amounts.len(),
            revenue: a.amounts.iter().sum(),
            per_routed_lead: mean(&a.amounts),
            interval: interval(
                (0..RESAMPLES)
                    .map(|_| resampled_mean(&mut rng, &a.amounts, &mut rows))
                    .collect(),
            ),
        })
        .collect();
    let difference = match arms {
        [a, b, ..] if !a.amounts.is_empty() && !b.amounts.is_empty() => {
            let samples = (0..RESAMPLES)
                .map(|_| {
                    resampled_mean(&mut rng, &b.amounts, &mut rows)
                        - resampled_mean(&mut rng, &a.amounts, &mut rows)
                })
                .collect();
            let (low, high) = interval(samples);
            let difference = mean(&b.amounts) - mean(&a.amounts);
            let verdict = if low > 0.0 {
                format!(
                    "`{}` routes more revenue per lead than `{}` (95% interval above 0)",
                    b.arm, a.arm
                )
            } else if high < 0.0 {
                format!(
                    "`{}` routes more revenue per lead than `{}` (95% interval below 0)",
                    a.arm, b.arm
                )
            } else {
                "too close to call on revenue yet (95% interval includes 0)".to_owned()
            };
            Some(RevenueDifference {
                arms: (a.arm.clone(), b.arm.clone()),
                difference,
                interval: (low, high),
                verdict,
            })
        }
        _ => None,
    };
    Some(ExperimentRevenue {
        arms: reports,
        difference,
    })
}
