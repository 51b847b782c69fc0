//! Predictive against points scoring on the same holdout leads: AUC, PR AUC, cumulative gains and
//! lift by decile, conversions captured at a sales capacity, precision and recall at the MQL
//! threshold and at the same lead volume, conversion per tier and per grade, bootstrap intervals
//! on the headline differences, and [`html::render`], a self-contained report with inline SVG;
//! live A/B experiments ([`live`]): arms, stable assignment, routing and their statistics; and
//! the served model over time ([`monitor`]): score drift, a monthly backtest and the shadow
//! challenger, judged into one verdict.

pub mod chart;
mod error;
pub mod html;
pub mod live;
pub mod monitor;

use leadscore_data::{EventLog, LeadsTable};
use leadscore_metrics::{
    CalibrationBin, Multiplicity, Ranking, SortedScores, average_precision, calibration_bins,
    roc_auc, roc_curve,
};
use leadscore_score::Scorer;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

pub use error::{CompareError, ExperimentsError};

/// Sales capacities reported: the share of leads sales can work.
pub const CAPACITIES: [f64; 4] = [0.05, 0.1, 0.2, 0.3];

/// The holdout, scored both ways.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareInput {
    /// Calibrated probability per lead.
    pub probabilities: Vec<f64>,
    /// Points total per lead.
    pub points: Vec<f64>,
    /// `true` = won.
    pub won: Vec<bool>,
    /// Model tier per lead.
    pub tiers: Vec<String>,
    /// Points grade per lead, when the rules grade.
    pub grades: Vec<Option<String>>,
    /// Points from which a lead is an MQL.
    pub mql_threshold: f64,
    /// Bootstrap resamples.
    pub resamples: usize,
    /// Bootstrap seed.
    pub seed: u64,
    /// Deal values, when the holdout has them (`--value`).
    pub revenue: Option<RevenueInput>,
}

/// The holdout's money: what each lead brought, and what the model expected of it.
#[derive(Debug, Clone, PartialEq)]
pub struct RevenueInput {
    /// Deal value of each won lead, 0 for lost ones.
    pub values: Vec<f64>,
    /// The model's expected value (probability × value if won), when it has a value model.
    pub expected: Option<Vec<f64>>,
    /// Won leads without an amount (counted as 0).
    pub won_without_value: usize,
}

/// Revenue captured when sales work the top share of leads, three rankings side by side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RevenueCapture {
    /// Share of leads worked.
    pub share: f64,
    /// Share of the holdout's revenue in the model's top leads by probability.
    pub by_probability: f64,
    /// The same ranking by expected value, when the model has a value model.
    pub by_expected_value: Option<f64>,
    /// The same ranking by points.
    pub by_points: f64,
}

/// Revenue routed by each ranking on the holdout.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RevenueReport {
    /// Summed deal values of the holdout's won leads.
    pub total: f64,
    /// Won leads without an amount (counted as 0).
    pub won_without_value: usize,
    /// Capture at each sales capacity.
    pub captured: Vec<RevenueCapture>,
    /// Headline differences at the top 20%, with bootstrap intervals.
    pub differences: Vec<Difference>,
}

impl RevenueReport {
    /// The holdout's revenue in words, with the won leads counted 0 for want of an amount.
    pub fn total_sentence(&self) -> String {
        let missing = if self.won_without_value > 0 {
            format!(
                " ({} won leads without an amount count 0)",
                self.won_without_value
            )
        } else {
            String::new()
        };
        format!(
            "Won deals on the holdout are worth {:.0} in all{missing}",
            self.total
        )
    }
}

/// Leads sales could work and the wins among them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Capacity {
    /// Share of leads worked.
    pub share: f64,
    /// Leads worked (the share of the holdout, possibly fractional).
    pub leads: f64,
    /// Won leads among them (ties at the cut shared pro rata).
    pub won: f64,
    /// Share of all won leads reached.
    pub share_of_wins: f64,
}

/// Leads and conversion of a group (a decile, a tier, a grade).
///
/// A decile's counts are expectations under random tie-breaking (see
/// [`leadscore_metrics::Ranking`]), so they may be fractional when scores tie at its edges.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Band {
    /// Group name.
    pub label: String,
    /// Leads.
    pub leads: f64,
    /// Won leads.
    pub won: f64,
    /// `won / leads`.
    pub conversion: f64,
}

/// How one scoring ranks the holdout.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RankingReport {
    /// `predictive model` or `points rules`.
    pub name: String,
    /// ROC AUC.
    pub auc: f64,
    /// Average precision.
    pub pr_auc: f64,
    /// Conversions captured at each of [`CAPACITIES`].
    pub captured: Vec<Capacity>,
    /// Cumulative share of wins after each decile of leads (best first).
    pub gains: Vec<f64>,
    /// Conversion of each decile over the base rate (best first).
    pub lift: Vec<f64>,
    /// Conversion per score decile, best first.
    pub deciles: Vec<Band>,
    /// ROC curve points (false positive rate, true positive rate).
    pub roc: Vec<(f64, f64)>,
}

/// Precision and recall of the MQL threshold, and of the model at the same number of leads.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AtThreshold {
    /// The threshold.
    pub mql_threshold: f64,
    /// Leads at or above it.
    pub mql_leads: usize,
    /// Conversion of MQLs.
    pub points_precision: f64,
    /// Share of wins that were MQLs.
    pub points_recall: f64,
    /// Conversion of the model's top `mql_leads` leads.
    pub model_precision: f64,
    /// Share of wins among the model's top `mql_leads` leads.
    pub model_recall: f64,
}

/// A difference with its 95% bootstrap interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    /// What is compared.
    pub what: String,
    /// Model minus points, on the holdout.
    pub estimate: f64,
    /// 2.5th percentile over resamples.
    pub low: f64,
    /// 97.5th percentile over resamples.
    pub high: f64,
    /// A plain reading of the interval.
    pub verdict: String,
}

/// The whole comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Holdout leads.
    pub leads: usize,
    /// Won leads.
    pub won: usize,
    /// Conversion of the holdout.
    pub base_rate: f64,
    /// The predictive model.
    pub model: RankingReport,
    /// The points rules.
    pub points: RankingReport,
    /// At the MQL threshold.
    pub threshold: AtThreshold,
    /// Conversion per model tier.
    pub tiers: Vec<Band>,
    /// Conversion per points grade.
    pub grades: Vec<Band>,
    /// Model calibration on the holdout.
    pub calibration: Vec<CalibrationBin>,
    /// Headline differences, model minus points.
    pub differences: Vec<Difference>,
    /// Revenue captured by each ranking, when the holdout has deal values.
    pub revenue: Option<RevenueReport>,
    /// Up to 2,000 leads as (points, probability, won), for the scatter plot.
    pub scatter: Vec<(f64, f64, bool)>,
}

fn ranking(name: &str, scores: &[f64], won: &[bool]) -> RankingReport {
    let ranked = Ranking::new(scores, won);
    let wins = ranked.positives() as f64;
    let n = scores.len() as f64;
    let captured = CAPACITIES
        .iter()
        .map(|&share| {
            let won_in = ranked.positives_in_top(share);
            Capacity {
                share,
                leads: share * n,
                won: won_in,
                share_of_wins: won_in / wins,
            }
        })
        .collect();
    let deciles = ranked
        .positives_by_part(10)
        .into_iter()
        .enumerate()
        .map(|(d, won_in)| Band {
            label: format!("{}–{}%", d * 10, (d + 1) * 10),
            leads: n / 10.0,
            won: won_in,
            conversion: won_in / (n / 10.0),
        })
        .collect();
    RankingReport {
        name: name.to_owned(),
        auc: roc_auc(scores, won).unwrap_or(f64::NAN),
        pr_auc: average_precision(scores, won).unwrap_or(f64::NAN),
        captured,
        gains: ranked.gains(10),
        lift: ranked.lift_by_part(10),
        deciles,
        roc: roc_curve(scores, won, 200),
    }
}

fn groups(labels: &[Option<String>], won: &[bool]) -> Vec<Band> {
    let mut bands: Vec<Band> = Vec::new();
    for (label, &w) in labels.iter().zip(won) {
        let Some(label) = label else { continue };
        let won = f64::from(u8::from(w));
        match bands.iter_mut().find(|b| b.label == *label) {
            Some(band) => {
                band.leads += 1.0;
                band.won += won;
            }
            None => bands.push(Band {
                label: label.clone(),
                leads: 1.0,
                won,
                conversion: 0.0,
            }),
        }
    }
    for band in &mut bands {
        band.conversion = band.won / band.leads;
    }
    bands.sort_by(|a, b| a.label.cmp(&b.label));
    bands
}

/// One bootstrap resample: `n` row indices drawn with replacement into `rows` (every bootstrap
/// here draws its rows this way, so intervals are reproducible from their seed).
pub(crate) fn bootstrap_rows(rng: &mut ChaCha8Rng, n: usize, rows: &mut Vec<usize>) {
    rows.clear();
    rows.extend((0..n).map(|_| rng.random_range(0..n)));
}

/// [`bootstrap_rows`] as the number of times each of the `n` rows was drawn (the same draws).
fn bootstrap_counts(rng: &mut ChaCha8Rng, n: usize, counts: &mut Vec<u32>) {
    counts.clear();
    counts.resize(n, 0);
    for _ in 0..n {
        counts[rng.random_range(0..n)] += 1;
    }
}

/// Resamples drawn before they are measured side by side.
const RESAMPLES_AT_ONCE: usize = 16;

/// Draws `resamples` bootstrap resamples of `n` rows from `rng` (each as the number of times it
/// drew each row, [`bootstrap_counts`]) and measures each with `measure`, a few at a time on
/// every core. The draws are made in turn, so the results are those of measuring one resample
/// after another, in draw order; a resample `measure` cannot measure (`None`) is left out.
pub(crate) fn measure_resamples<T: Send>(
    rng: &mut ChaCha8Rng,
    n: usize,
    resamples: usize,
    measure: impl Fn(&[u32]) -> Option<T> + Sync,
) -> Vec<T> {
    let mut results = Vec::with_capacity(resamples);
    let mut drawn: Vec<Vec<u32>> = Vec::new();
    let mut left = resamples;
    while left > 0 {
        let now = left.min(RESAMPLES_AT_ONCE);
        drawn.resize_with(now, Vec::new);
        for counts in &mut drawn {
            bootstrap_counts(rng, n, counts);
        }
        let measured: Vec<Option<T>> = drawn.par_iter().map(|counts| measure(counts)).collect();
        results.extend(measured.into_iter().flatten());
        left -= now;
    }
    results
}

/// The values at `rows`.
pub(crate) fn pick<T: Copy>(values: &[T], rows: &[usize]) -> Vec<T> {
    rows.iter().map(|&i| values[i]).collect()
}

pub(crate) fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn difference(what: &str, estimate: f64, samples: Vec<f64>) -> Difference {
    difference_of(what, estimate, samples, ("the model", "the points rules"))
}

/// `estimate` (first minus second of `names`) with the 2.5th and 97.5th percentiles of its
/// bootstrap `samples`, and a verdict naming the better one when the interval excludes 0.
fn difference_of(
    what: &str,
    estimate: f64,
    mut samples: Vec<f64>,
    names: (&str, &str),
) -> Difference {
    samples.sort_by(f64::total_cmp);
    let (low, high) = (percentile(&samples, 0.025), percentile(&samples, 0.975));
    let verdict = if low > 0.0 {
        format!("{} is better (95% interval above 0)", names.0)
    } else if high < 0.0 {
        format!("{} is better (95% interval below 0)", names.1)
    } else {
        "too close to call on this holdout (95% interval includes 0)".to_owned()
    };
    Difference {
        what: what.to_owned(),
        estimate,
        low,
        high,
        verdict,
    }
}

/// The comparison settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompareSettings {
    /// Time at which open leads are scored.
    pub scoring_time: i64,
    /// Bootstrap resamples.
    pub resamples: usize,
    /// Bootstrap seed.
    pub seed: u64,
}

/// The closed leads a comparison is judged on, and how to say which they are: with a
/// `fraction`, the most recently closed share (a stratified random share when the table has no
/// close dates); without, every closed lead.
pub fn choose_holdout(
    leads: &LeadsTable,
    fraction: Option<f64>,
    seed: u64,
) -> (Vec<usize>, String) {
    let closed = leads.closed_rows();
    let Some(fraction) = fraction else {
        let description = format!("all {} closed leads", closed.len());
        return (closed, description);
    };
    let (_, held) = leadscore_data::hold_out(
        &closed,
        &leads.won_mask(),
        leads.closed_at.as_deref(),
        leadscore_data::SplitKind::Auto,
        fraction,
        seed,
    );
    let order = if leads.closed_at.is_some() {
        "most recently closed"
    } else {
        "stratified random"
    };
    (
        held,
        format!("the {order} {:.0}% of closed leads", 100.0 * fraction),
    )
}

/// Scores `holdout` rows of a table with the scorer's model and rules and compares them.
pub fn compare_holdout(
    scorer: &Scorer,
    leads: &LeadsTable,
    events: Option<&EventLog>,
    holdout: &[usize],
    settings: CompareSettings,
) -> Result<Comparison, CompareError> {
    let mql_threshold = scorer
        .rules()
        .filter(|_| scorer.model().is_some())
        .ok_or(CompareError::NeedsModelAndRules)?
        .mql_threshold;
    // Only the holdout is scored: a lead's score depends on that lead alone, and the holdout is
    // usually the fifth of the file the model was tested on.
    let holdout_leads = leads.select_rows(holdout);
    let holdout_events = events.map(|log| log.select_leads(holdout));
    let scores = scorer.score_table(
        &holdout_leads,
        holdout_events.as_ref(),
        settings.scoring_time,
    )?;
    let won = leads.won_mask();
    let mut input = CompareInput {
        probabilities: Vec::with_capacity(holdout.len()),
        points: Vec::with_capacity(holdout.len()),
        won: Vec::with_capacity(holdout.len()),
        tiers: Vec::with_capacity(holdout.len()),
        grades: Vec::with_capacity(holdout.len()),
        mql_threshold,
        resamples: settings.resamples,
        seed: settings.seed,
        revenue: None,
    };
    let deal_values = leads.deal_values.as_deref();
    let mut values = Vec::new();
    let mut expected = Vec::new();
    let mut won_without_value = 0;
    for (score, &row) in scores.iter().zip(holdout) {
        let (Some(prediction), Some(points)) = (&score.prediction, &score.points) else {
            continue;
        };
        input.probabilities.push(prediction.probability);
        input.tiers.push(prediction.tier.clone());
        input.points.push(points.total);
        input.grades.push(points.grade.clone());
        input.won.push(won[row]);
        if let Some(deal_values) = deal_values {
            let value = deal_values[row];
            won_without_value += usize::from(won[row] && value.is_none());
            values.push(value.unwrap_or(0.0));
            expected.extend(prediction.expected_value);
        }
    }
    if deal_values.is_some() {
        let expected = (expected.len() == values.len()).then_some(expected);
        input.revenue = Some(RevenueInput {
            values,
            expected,
            won_without_value,
        });
    }
    compare(&input)
}

/// Revenue captured at each capacity by probability, expected value and points, and the top-20%
/// differences with paired bootstrap intervals (their own random stream: the other intervals do
/// not move when deal values are given).
fn revenue_report(input: &CompareInput, revenue: &RevenueInput) -> RevenueReport {
    let share_of = |scores: &[f64], values: &[f64], share: f64| {
        let ranked = Ranking::weighted(scores, values);
        ranked.positives_in_top(share) / ranked.total().max(f64::MIN_POSITIVE)
    };
    let expected = revenue.expected.as_deref();
    let captured = CAPACITIES
        .iter()
        .map(|&share| RevenueCapture {
            share,
            by_probability: share_of(&input.probabilities, &revenue.values, share),
            by_expected_value: expected.map(|e| share_of(e, &revenue.values, share)),
            by_points: share_of(&input.points, &revenue.values, share),
        })
        .collect::<Vec<_>>();
    let n = revenue.values.len();
    let mut rng = ChaCha8Rng::seed_from_u64(input.seed ^ 0x7265_7665_6e75_6521);
    let (mut by_value, mut by_points) = (Vec::new(), Vec::new());
    let mut rows = Vec::with_capacity(n);
    for _ in 0..input.resamples {
        bootstrap_rows(&mut rng, n, &mut rows);
        let p = pick(&input.probabilities, &rows);
        let s = pick(&input.points, &rows);
        let v = pick(&revenue.values, &rows);
        let e = expected.map(|e| pick(e, &rows)).unwrap_or_default();
        if v.iter().all(|&x| x == 0.0) {
            continue;
        }
        let best = if expected.is_some() { &e } else { &p };
        let model = share_of(best, &v, 0.2);
        by_value.push(model - share_of(&p, &v, 0.2));
        by_points.push(model - share_of(&s, &v, 0.2));
    }
    let top = &captured[2];
    let model_top = top.by_expected_value.unwrap_or(top.by_probability);
    let mut differences = Vec::new();
    if top.by_expected_value.is_some() {
        differences.push(difference_of(
            "share of revenue in the top 20%: expected value minus probability",
            model_top - top.by_probability,
            by_value,
            ("ranking by expected value", "ranking by probability"),
        ));
    }
    differences.push(difference_of(
        "share of revenue in the top 20%: model minus points",
        model_top - top.by_points,
        by_points,
        ("the model", "the points rules"),
    ));
    RevenueReport {
        total: revenue.values.iter().sum(),
        won_without_value: revenue.won_without_value,
        captured,
        differences,
    }
}

/// Compares the two scorings of a holdout.
pub fn compare(input: &CompareInput) -> Result<Comparison, CompareError> {
    let n = input.won.len();
    for (what, got) in [
        ("probabilities", input.probabilities.len()),
        ("points", input.points.len()),
        ("tiers", input.tiers.len()),
        ("grades", input.grades.len()),
    ] {
        if got != n {
            return Err(CompareError::Length {
                what,
                got,
                expected: n,
            });
        }
    }
    let won_count = input.won.iter().filter(|&&w| w).count();
    if won_count == 0 || won_count == n {
        return Err(CompareError::OneClass {
            won: won_count,
            lost: n - won_count,
        });
    }
    let model = ranking("predictive model", &input.probabilities, &input.won);
    let points = ranking("points rules", &input.points, &input.won);

    let mql: Vec<usize> = (0..n)
        .filter(|&i| input.points[i] >= input.mql_threshold)
        .collect();
    let mql_won = mql.iter().filter(|&&i| input.won[i]).count() as f64;
    let model_won = Ranking::new(&input.probabilities, &input.won)
        .positives_in_top(mql.len() as f64 / n as f64);
    let threshold = AtThreshold {
        mql_threshold: input.mql_threshold,
        mql_leads: mql.len(),
        points_precision: mql_won / mql.len().max(1) as f64,
        points_recall: mql_won / won_count as f64,
        model_precision: model_won / mql.len().max(1) as f64,
        model_recall: model_won / won_count as f64,
    };

    // Each resample is measured as the number of times it drew each lead, over the two
    // scorings sorted once: the figures of sorting each resample's copy, without the sorts.
    let (by_probability, by_points) = (
        SortedScores::new(&input.probabilities),
        SortedScores::new(&input.points),
    );
    let won_weights: Vec<f64> = input.won.iter().map(|&w| f64::from(u8::from(w))).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(input.seed);
    let (auc_samples, capture_samples): (Vec<f64>, Vec<f64>) =
        measure_resamples(&mut rng, n, input.resamples, |counts| {
            let drawn = Multiplicity::Drawn(counts);
            let model_auc = by_probability.roc_auc(&input.won, &drawn)?;
            let points_auc = by_points.roc_auc(&input.won, &drawn)?;
            let captured = |sorted: &SortedScores| {
                let ranked = sorted.ranking(&won_weights, &drawn);
                ranked.positives_in_top(0.2) / ranked.positives() as f64
            };
            Some((
                model_auc - points_auc,
                captured(&by_probability) - captured(&by_points),
            ))
        })
        .into_iter()
        .unzip();
    let differences = vec![
        difference("ROC AUC", model.auc - points.auc, auc_samples),
        difference(
            "share of wins in the top 20%",
            model.captured[2].share_of_wins - points.captured[2].share_of_wins,
            capture_samples,
        ),
    ];

    let revenue = input
        .revenue
        .as_ref()
        .filter(|r| r.values.len() == n)
        .map(|r| revenue_report(input, r));
    let step = n.div_ceil(2_000).max(1);
    Ok(Comparison {
        revenue,
        leads: n,
        won: won_count,
        base_rate: won_count as f64 / n as f64,
        tiers: groups(
            &input.tiers.iter().cloned().map(Some).collect::<Vec<_>>(),
            &input.won,
        ),
        grades: groups(&input.grades, &input.won),
        calibration: calibration_bins(&input.probabilities, &input.won, 10),
        differences,
        scatter: (0..n)
            .step_by(step)
            .map(|i| (input.points[i], input.probabilities[i], input.won[i]))
            .collect(),
        model,
        points,
        threshold,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resamples_measured_side_by_side_are_the_draws_of_one_after_another() {
        let (n, resamples) = (50, 2 * RESAMPLES_AT_ONCE + 7);
        let measured =
            measure_resamples(&mut ChaCha8Rng::seed_from_u64(9), n, resamples, |counts| {
                Some(counts.to_vec())
            });
        // A resample that drew row 0 a multiple of three times counts as one that cannot be
        // measured, and is left out.
        let kept = measure_resamples(&mut ChaCha8Rng::seed_from_u64(9), n, resamples, |counts| {
            (counts[0] % 3 != 0).then(|| counts.to_vec())
        });
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut rows = Vec::new();
        let mut expected_kept = Vec::new();
        for counts in &measured {
            bootstrap_rows(&mut rng, n, &mut rows);
            let mut drawn = vec![0u32; n];
            for &row in &rows {
                drawn[row] += 1;
            }
            assert_eq!(counts, &drawn);
            if drawn[0] % 3 != 0 {
                expected_kept.push(drawn);
            }
        }
        assert_eq!(measured.len(), resamples);
        assert_eq!(kept, expected_kept);
        assert!(kept.len() < resamples);
    }

    fn input(n: usize) -> CompareInput {
        let won: Vec<bool> = (0..n).map(|i| i % 5 == 0).collect();
        CompareInput {
            probabilities: (0..n)
                .map(|i| if won[i] { 0.6 } else { 0.1 } + (i % 7) as f64 / 100.0)
                .collect(),
            points: (0..n).map(|i| (i % 11) as f64 * 10.0).collect(),
            tiers: (0..n)
                .map(|i| if i % 3 == 0 { "A" } else { "B" }.to_owned())
                .collect(),
            grades: (0..n).map(|i| Some(format!("A{}", 1 + i % 4))).collect(),
            won,
            mql_threshold: 60.0,
            resamples: 200,
            seed: 1,
            revenue: None,
        }
    }

    #[test]
    fn a_perfect_model_beats_random_points_with_a_clear_interval() {
        let comparison = compare(&input(500)).expect("compares");
        assert_eq!(comparison.model.auc, 1.0);
        assert!((comparison.points.auc - 0.5).abs() < 0.1);
        let auc = &comparison.differences[0];
        assert!(
            auc.low > 0.3 && auc.verdict.starts_with("the model is better"),
            "{auc:?}"
        );
        assert!((comparison.model.gains[9] - 1.0).abs() < 1e-12);
        assert!((comparison.model.captured[2].share_of_wins - 1.0).abs() < 1e-12);
        let decile_leads: f64 = comparison.model.deciles.iter().map(|d| d.leads).sum();
        assert!((decile_leads - 500.0).abs() < 1e-9);
        assert_eq!(comparison.grades.len(), 4);
        assert!(comparison.threshold.model_precision >= comparison.threshold.points_precision);
    }

    #[test]
    fn refuses_one_class_and_mismatched_inputs() {
        let mut one_class = input(50);
        one_class.won = vec![false; 50];
        assert!(matches!(
            compare(&one_class),
            Err(CompareError::OneClass { won: 0, lost: 50 })
        ));
        let mut short = input(50);
        short.points.pop();
        assert!(matches!(
            compare(&short),
            Err(CompareError::Length { what: "points", .. })
        ));
    }

    #[test]
    fn lift_of_the_top_decile_is_the_metrics_crate_figure() {
        let input = input(487);
        let comparison = compare(&input).expect("compares");
        let metrics = leadscore_metrics::BinaryMetrics::compute(&input.probabilities, &input.won);
        assert_eq!(comparison.model.lift[0], metrics.lift_top_decile);
    }
}
