//! Is the served model still right? Score drift per week against the training distribution
//! (population stability index), a backtest per month of scoring on the leads whose outcomes
//! have since been recorded (AUC with its interval, conversion per tier, calibration), the
//! challenger in shadow against the champion on the same leads, and one verdict with its reasons.

use leadscore_artifact::{ColumnCounts, ModelArtifact, ProfileShape};
use leadscore_metrics::{
    CalibrationBin, Multiplicity, SortedScores, auc_interval, calibration_bins, roc_auc,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::live::wilson;
use crate::{CompareError, measure_resamples, percentile};

/// Bins of the drift check: the training deciles.
const DRIFT_BINS: usize = 10;
/// A bin's share is floored here before the logarithm of the PSI (an empty bin would be −∞).
const SHARE_FLOOR: f64 = 1e-4;
const Z_95: f64 = 1.959_963_985;
/// A column's missing or unlearned share this far (absolute) from training warns.
const SHARE_WARN: f64 = 0.1;
/// … and this far alerts.
const SHARE_ALERT: f64 = 0.25;

/// What moved in a column, in one sentence.
fn column_reason(column: &ColumnDrift, psi_warn: f64) -> String {
    let mut parts = Vec::new();
    if let Some(psi) = column.psi.filter(|&psi| psi >= psi_warn) {
        parts.push(format!("its values moved (PSI {psi:.3})"));
    }
    if (column.missing_share - column.training_missing_share).abs() >= SHARE_WARN {
        parts.push(format!(
            "{:.0}% missing against {:.0}% in training",
            100.0 * column.missing_share,
            100.0 * column.training_missing_share
        ));
    }
    if let (Some(now), Some(then)) = (column.unlearned_share, column.training_unlearned_share)
        && now - then >= SHARE_WARN
    {
        parts.push(format!(
            "{:.0}% of its levels unknown to the model against {:.0}% in training",
            100.0 * now,
            100.0 * then
        ));
    }
    format!(
        "column `{}` in the week of {}: {}",
        column.column,
        column.week,
        parts.join("; ")
    )
}

/// A closed lead with the last model score it got before it closed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClosedScore {
    /// Lead id.
    pub lead_id: String,
    /// When that score was given (RFC 3339).
    pub scored_at: String,
    /// The model version that gave it.
    pub model_version: Option<String>,
    /// Calibrated probability.
    pub probability: f64,
    /// Tier.
    pub tier: Option<String>,
    /// The challenger scored in shadow beside it, and its probability.
    pub shadow: Option<(String, f64)>,
    /// The recorded outcome.
    pub won: bool,
}

/// Served probabilities of one week (weeks start on Monday, UTC), counted into bins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WeekBins {
    /// The week's Monday (`YYYY-MM-DD`).
    pub week: String,
    /// Scores per bin: bin `k` holds probabilities in `[edges[k-1], edges[k])`, the first bin
    /// everything below `edges[0]`, the last everything from the last edge up.
    pub counts: Vec<u64>,
}

/// What the server counted for one explicit column in one week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnWeek {
    /// The week's Monday (`YYYY-MM-DD`).
    pub week: String,
    /// Column name.
    pub column: String,
    /// The counts.
    pub counts: ColumnCounts,
}

/// One explicit column's drift in one week against its training profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnDrift {
    /// The week's Monday.
    pub week: String,
    /// Column name.
    pub column: String,
    /// Leads scored.
    pub rows: u64,
    /// Share without a value.
    pub missing_share: f64,
    /// The same in training.
    pub training_missing_share: f64,
    /// Categories: share of present values the model never learned.
    pub unlearned_share: Option<f64>,
    /// The same in training (rare levels pooled as `(other)`).
    pub training_unlearned_share: Option<f64>,
    /// Numbers: PSI of the present values over the training deciles.
    pub psi: Option<f64>,
    /// Judgement.
    pub status: Status,
}

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Not enough data to judge.
    TooFew,
    /// Within thresholds.
    Ok,
    /// Worth a look.
    Warn,
    /// Act: retrain, or roll back.
    Alert,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::TooFew => "too few",
            Self::Ok => "ok",
            Self::Warn => "warn",
            Self::Alert => "alert",
        })
    }
}

/// Thresholds of the monitor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MonitorParams {
    psi_warn: f64,
    psi_alert: f64,
    min_week_scores: u64,
    auc_margin: f64,
    min_month_outcomes: usize,
    resamples: usize,
    seed: u64,
}

impl Default for MonitorParams {
    /// PSI 0.1 warns and 0.25 alerts (the usual reading of the index), on weeks with at least
    /// 100 scores; a month's AUC 0.05 below validation warns, and alerts when its whole 95%
    /// interval is; months need 100 outcomes; 1,000 bootstrap resamples for the shadow
    /// comparison, seed 42.
    fn default() -> Self {
        Self {
            psi_warn: 0.1,
            psi_alert: 0.25,
            min_week_scores: 100,
            auc_margin: 0.05,
            min_month_outcomes: 100,
            resamples: 1_000,
            seed: 42,
        }
    }
}

impl MonitorParams {
    /// Default thresholds.
    pub fn new() -> Self {
        Self::default()
    }

    /// PSI from which a week warns.
    pub fn psi_warn(mut self, psi: f64) -> Self {
        self.psi_warn = psi;
        self
    }

    /// PSI from which a week alerts.
    pub fn psi_alert(mut self, psi: f64) -> Self {
        self.psi_alert = psi;
        self
    }

    /// Fewest scores for a week to be judged.
    pub fn min_week_scores(mut self, scores: u64) -> Self {
        self.min_week_scores = scores;
        self
    }

    /// How far below validation AUC a month's AUC may fall.
    pub fn auc_margin(mut self, margin: f64) -> Self {
        self.auc_margin = margin;
        self
    }

    /// Fewest outcomes for a month to be judged.
    pub fn min_month_outcomes(mut self, outcomes: usize) -> Self {
        self.min_month_outcomes = outcomes;
        self
    }

    /// Validates the thresholds.
    pub fn check(self) -> Result<ValidMonitorParams, CompareError> {
        let bad = |name: &'static str, value: f64, reason: &'static str| {
            Err(CompareError::Setting {
                name,
                value: value.to_string(),
                reason,
            })
        };
        if !(self.psi_warn.is_finite() && self.psi_warn > 0.0) {
            return bad("psi_warn", self.psi_warn, "a number above 0");
        }
        if !(self.psi_alert.is_finite() && self.psi_alert >= self.psi_warn) {
            return bad("psi_alert", self.psi_alert, "a number at least psi_warn");
        }
        if !(self.auc_margin.is_finite() && (0.0..0.5).contains(&self.auc_margin)) {
            return bad("auc_margin", self.auc_margin, "a number in [0, 0.5)");
        }
        if self.min_month_outcomes < 2 {
            return bad(
                "min_month_outcomes",
                self.min_month_outcomes as f64,
                "at least 2",
            );
        }
        Ok(ValidMonitorParams(self))
    }
}

/// Checked monitor thresholds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValidMonitorParams(MonitorParams);

impl Default for ValidMonitorParams {
    /// [`MonitorParams`]' defaults, valid by construction.
    fn default() -> Self {
        Self(MonitorParams::default())
    }
}

/// Score drift of one week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeekDrift {
    /// The week's Monday.
    pub week: String,
    /// Scores served that week.
    pub scores: u64,
    /// Share of them in each training decile.
    pub shares: Vec<f64>,
    /// Population stability index against training.
    pub psi: f64,
    /// Judgement.
    pub status: Status,
}

/// Conversion of one tier in one month.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TierConversion {
    /// Tier name.
    pub tier: String,
    /// Closed leads of the tier.
    pub leads: usize,
    /// Of those, won.
    pub won: usize,
    /// Won share.
    pub conversion: f64,
}

/// How the scores given in one month fared once their outcomes were known.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthBacktest {
    /// `YYYY-MM` of scoring.
    pub month: String,
    /// Closed leads scored that month.
    pub leads: usize,
    /// Of those, won.
    pub won: usize,
    /// AUC of the scores (absent with one class).
    pub auc: Option<f64>,
    /// Its 95% interval.
    pub auc_interval: Option<(f64, f64)>,
    /// Mean predicted probability.
    pub predicted: f64,
    /// Observed conversion.
    pub observed: f64,
    /// 95% Wilson interval of the observed conversion.
    pub observed_interval: (f64, f64),
    /// Conversion per tier, best tier first.
    pub tiers: Vec<TierConversion>,
    /// Predicted against observed in five equal-count bands.
    pub calibration: Vec<CalibrationBin>,
    /// Judgement.
    pub status: Status,
}

/// The challenger in shadow against the champion, on the same leads and moments.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShadowComparison {
    /// The challenger's version.
    pub challenger: String,
    /// Closed leads both scored.
    pub leads: usize,
    /// Of those, won.
    pub won: usize,
    /// The champion's AUC on them.
    pub champion_auc: Option<f64>,
    /// The challenger's AUC on them.
    pub challenger_auc: Option<f64>,
    /// Challenger minus champion.
    pub difference: Option<f64>,
    /// Paired bootstrap 95% interval of the difference.
    pub interval: Option<(f64, f64)>,
    /// A plain reading.
    pub verdict: String,
}

/// The whole monitor.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonitorReport {
    /// The served model's name.
    pub model: String,
    /// Its version.
    pub version: String,
    /// Its validation AUC: the backtest's reference.
    pub validation_auc: f64,
    /// Training deciles of the served probability (drift bin edges).
    pub edges: Vec<f64>,
    /// Training share of each bin.
    pub expected: Vec<f64>,
    /// Per week, oldest first.
    pub drift: Vec<WeekDrift>,
    /// Per week (oldest first) and column: drift of the inputs, from the counts the server keeps
    /// while scoring (empty for a model file without column profiles).
    pub columns: Vec<ColumnDrift>,
    /// Per month of scoring, oldest first.
    pub backtest: Vec<MonthBacktest>,
    /// The challenger, when one was scored in shadow.
    pub shadow: Option<ShadowComparison>,
    /// The latest judged week's and month's worst status.
    pub status: Status,
    /// Why, one sentence per finding.
    pub reasons: Vec<String>,
}

/// The drift bins of a model: edges at its training deciles, and the training share of each
/// bin (one tenth each, unless ties in the training probabilities merge deciles).
pub fn drift_bins(model: &ModelArtifact) -> (Vec<f64>, Vec<f64>) {
    let table = model.percentiles();
    let last = table.len() - 1;
    let mut edges: Vec<f64> = (1..DRIFT_BINS)
        .map(|k| table[k * last / DRIFT_BINS])
        .collect();
    edges.dedup();
    let mut expected = vec![0.0; edges.len() + 1];
    for &p in table {
        expected[edges.partition_point(|&edge| edge <= p)] += 1.0;
    }
    let total = table.len() as f64;
    expected.iter_mut().for_each(|e| *e /= total);
    (edges, expected)
}

/// Population stability index `Σ (o − e)·ln(o / e)` of observed against expected shares.
pub fn population_stability(observed: &[f64], expected: &[f64]) -> f64 {
    observed
        .iter()
        .zip(expected)
        .map(|(&o, &e)| {
            let (o, e) = (o.max(SHARE_FLOOR), e.max(SHARE_FLOOR));
            (o - e) * (o / e).ln()
        })
        .sum()
}

impl ValidMonitorParams {
    /// Judges `model` on its served history: `weeks` counted into [`drift_bins`]'s edges,
    /// `columns` the server's counts of the explicit columns per week, `closed` the closed leads
    /// with their last score before closing, and `shadow` the version scored in shadow with the
    /// closed leads' last scores that carried it.
    pub fn monitor(
        &self,
        model: &ModelArtifact,
        weeks: &[WeekBins],
        columns: &[ColumnWeek],
        closed: &[ClosedScore],
        shadow: Option<(&str, &[ClosedScore])>,
    ) -> MonitorReport {
        let p = &self.0;
        let (edges, expected) = drift_bins(model);
        let validation_auc = model.validation().metrics.auc;
        let drift: Vec<WeekDrift> = weeks
            .iter()
            .map(|week| {
                let scores: u64 = week.counts.iter().sum();
                let shares: Vec<f64> = week
                    .counts
                    .iter()
                    .map(|&c| c as f64 / scores.max(1) as f64)
                    .collect();
                let psi = population_stability(&shares, &expected);
                let status = if scores < p.min_week_scores {
                    Status::TooFew
                } else if psi >= p.psi_alert {
                    Status::Alert
                } else if psi >= p.psi_warn {
                    Status::Warn
                } else {
                    Status::Ok
                };
                WeekDrift {
                    week: week.week.clone(),
                    scores,
                    shares,
                    psi,
                    status,
                }
            })
            .collect();
        let columns = self.column_drift(model, columns);
        let backtest = self.backtest(model, closed, validation_auc);
        let shadow = shadow.map(|(version, pairs)| self.shadow(version, pairs));

        let mut status = Status::TooFew;
        let mut reasons = Vec::new();
        match drift.iter().rev().find(|w| w.status != Status::TooFew) {
            Some(week) => {
                status = status.max(week.status);
                reasons.push(match week.status {
                    Status::Alert => format!(
                        "scores drifted: PSI {:.3} in the week of {} (alert from {})",
                        week.psi, week.week, p.psi_alert
                    ),
                    Status::Warn => format!(
                        "scores are moving: PSI {:.3} in the week of {} (warn from {})",
                        week.psi, week.week, p.psi_warn
                    ),
                    _ => format!(
                        "scores are stable: PSI {:.3} in the week of {}",
                        week.psi, week.week
                    ),
                });
            }
            None => reasons.push(format!(
                "no week has {} scores yet: drift is not judged",
                p.min_week_scores
            )),
        }
        if let Some(latest) = columns
            .iter()
            .rev()
            .find(|c| c.status != Status::TooFew)
            .map(|c| c.week.clone())
        {
            let mut findings: Vec<&ColumnDrift> = columns
                .iter()
                .filter(|c| c.week == latest && c.status >= Status::Warn)
                .collect();
            findings.sort_by_key(|c| std::cmp::Reverse(c.status));
            for column in &findings {
                status = status.max(column.status);
                reasons.push(column_reason(column, p.psi_warn));
            }
            if findings.is_empty() {
                reasons.push(format!(
                    "the scored leads' columns look like training in the week of {latest}"
                ));
            }
        }
        match backtest.iter().rev().find(|m| m.status != Status::TooFew) {
            Some(month) => {
                status = status.max(month.status);
                let auc = month.auc.unwrap_or(f64::NAN);
                let (low, high) = month.auc_interval.unwrap_or((f64::NAN, f64::NAN));
                let calibrated = (month.observed_interval.0..=month.observed_interval.1)
                    .contains(&month.predicted);
                let reference = validation_auc - p.auc_margin;
                reasons.push(format!(
                    "{}: AUC {auc:.3} [{low:.3}, {high:.3}] on {} outcomes against validation {validation_auc:.3}{}",
                    month.month,
                    month.leads,
                    if high < reference {
                        ": the link between score and conversion has weakened"
                    } else if auc < reference {
                        ": weaker than at training"
                    } else {
                        ""
                    }
                ));
                if !calibrated {
                    reasons.push(format!(
                        "{}: predicted {:.1}% but {:.1}% converted [{:.1}%, {:.1}%]: recalibrate or retrain",
                        month.month,
                        100.0 * month.predicted,
                        100.0 * month.observed,
                        100.0 * month.observed_interval.0,
                        100.0 * month.observed_interval.1
                    ));
                }
            }
            None => reasons.push(format!(
                "no month has {} recorded outcomes yet: the backtest is not judged",
                p.min_month_outcomes
            )),
        }
        if let Some(shadow) = &shadow {
            reasons.push(format!("shadow {}: {}", shadow.challenger, shadow.verdict));
        }
        MonitorReport {
            model: model.name().to_owned(),
            version: model.version().to_owned(),
            validation_auc,
            edges,
            expected,
            drift,
            columns,
            backtest,
            shadow,
            status,
            reasons,
        }
    }

    fn column_drift(&self, model: &ModelArtifact, columns: &[ColumnWeek]) -> Vec<ColumnDrift> {
        let p = &self.0;
        columns
            .iter()
            .filter_map(|week| {
                let profile = model
                    .column_profiles()
                    .iter()
                    .find(|profile| profile.column == week.column)?;
                let counts = &week.counts;
                let present = counts.rows - counts.missing;
                let missing_share = counts.missing as f64 / counts.rows.max(1) as f64;
                let (psi, unlearned_share, training_unlearned_share) = match &profile.shape {
                    ProfileShape::Numeric { shares, .. } => {
                        let observed: Vec<f64> = (0..shares.len())
                            .map(|k| {
                                counts.bins.get(k).copied().unwrap_or(0) as f64
                                    / present.max(1) as f64
                            })
                            .collect();
                        let psi = (present > 0).then(|| population_stability(&observed, shares));
                        (psi, None, None)
                    }
                    ProfileShape::Categorical { other_share } => (
                        None,
                        Some(counts.other as f64 / present.max(1) as f64),
                        Some(*other_share),
                    ),
                };
                let missing_gap = (missing_share - profile.missing_share).abs();
                let unlearned_gap = unlearned_share
                    .zip(training_unlearned_share)
                    .map_or(0.0, |(now, then)| now - then);
                let status = if counts.rows < p.min_week_scores {
                    Status::TooFew
                } else if psi.is_some_and(|psi| psi >= p.psi_alert)
                    || missing_gap >= SHARE_ALERT
                    || unlearned_gap >= SHARE_ALERT
                {
                    Status::Alert
                } else if psi.is_some_and(|psi| psi >= p.psi_warn)
                    || missing_gap >= SHARE_WARN
                    || unlearned_gap >= SHARE_WARN
                {
                    Status::Warn
                } else {
                    Status::Ok
                };
                Some(ColumnDrift {
                    week: week.week.clone(),
                    column: week.column.clone(),
                    rows: counts.rows,
                    missing_share,
                    training_missing_share: profile.missing_share,
                    unlearned_share,
                    training_unlearned_share,
                    psi,
                    status,
                })
            })
            .collect()
    }

    fn backtest(
        &self,
        model: &ModelArtifact,
        closed: &[ClosedScore],
        validation_auc: f64,
    ) -> Vec<MonthBacktest> {
        let p = &self.0;
        let mut months: Vec<&str> = closed
            .iter()
            .map(|c| c.scored_at.get(..7).unwrap_or(&c.scored_at))
            .collect();
        months.sort_unstable();
        months.dedup();
        months
            .into_iter()
            .map(|month| {
                let rows: Vec<&ClosedScore> = closed
                    .iter()
                    .filter(|c| c.scored_at.starts_with(month))
                    .collect();
                let probabilities: Vec<f64> = rows.iter().map(|c| c.probability).collect();
                let won: Vec<bool> = rows.iter().map(|c| c.won).collect();
                let wins = won.iter().filter(|&&w| w).count();
                let leads = rows.len();
                let auc = roc_auc(&probabilities, &won);
                let auc_interval = auc.map(|a| auc_interval(a, wins, leads - wins));
                let observed_interval = wilson(wins as u64, leads as u64, Z_95);
                let predicted = probabilities.iter().sum::<f64>() / leads.max(1) as f64;
                let status = match (auc, auc_interval) {
                    (Some(auc), Some((_, high))) if leads >= p.min_month_outcomes => {
                        if high < validation_auc - p.auc_margin {
                            Status::Alert
                        } else if auc < validation_auc - p.auc_margin
                            || !(observed_interval.0..=observed_interval.1).contains(&predicted)
                        {
                            Status::Warn
                        } else {
                            Status::Ok
                        }
                    }
                    _ => Status::TooFew,
                };
                let tiers = model
                    .tiers()
                    .iter()
                    .map(|tier| {
                        let in_tier: Vec<&&ClosedScore> = rows
                            .iter()
                            .filter(|c| c.tier.as_deref() == Some(tier.name.as_str()))
                            .collect();
                        let won = in_tier.iter().filter(|c| c.won).count();
                        TierConversion {
                            tier: tier.name.clone(),
                            leads: in_tier.len(),
                            won,
                            conversion: won as f64 / in_tier.len().max(1) as f64,
                        }
                    })
                    .collect();
                MonthBacktest {
                    month: month.to_owned(),
                    leads,
                    won: wins,
                    auc,
                    auc_interval,
                    predicted,
                    observed: wins as f64 / leads.max(1) as f64,
                    observed_interval,
                    tiers,
                    calibration: calibration_bins(&probabilities, &won, 5),
                    status,
                }
            })
            .collect()
    }

    fn shadow(&self, challenger: &str, closed: &[ClosedScore]) -> ShadowComparison {
        let pairs: Vec<(f64, f64, bool)> = closed
            .iter()
            .filter_map(|c| {
                let (version, shadow) = c.shadow.as_ref()?;
                (version == challenger).then_some((c.probability, *shadow, c.won))
            })
            .collect();
        let won: Vec<bool> = pairs.iter().map(|p| p.2).collect();
        let champion: Vec<f64> = pairs.iter().map(|p| p.0).collect();
        let shadow: Vec<f64> = pairs.iter().map(|p| p.1).collect();
        let (champion_auc, challenger_auc) = (roc_auc(&champion, &won), roc_auc(&shadow, &won));
        let difference = champion_auc.zip(challenger_auc).map(|(a, b)| b - a);
        let interval = difference.map(|_| {
            let mut rng = ChaCha8Rng::seed_from_u64(self.0.seed);
            let n = pairs.len();
            // Each resample measured by its draw counts over the two scorings sorted once, as
            // `leadscore compare` does.
            let (by_champion, by_shadow) =
                (SortedScores::new(&champion), SortedScores::new(&shadow));
            let mut samples = measure_resamples(&mut rng, n, self.0.resamples, |counts| {
                let drawn = Multiplicity::Drawn(counts);
                let champion = by_champion.roc_auc(&won, &drawn)?;
                Some(by_shadow.roc_auc(&won, &drawn)? - champion)
            });
            samples.sort_by(f64::total_cmp);
            (percentile(&samples, 0.025), percentile(&samples, 0.975))
        });
        let verdict = match interval {
            None => format!(
                "{} closed leads scored by both, {} won: not enough to compare yet",
                pairs.len(),
                won.iter().filter(|&&w| w).count()
            ),
            Some((low, _)) if low > 0.0 => {
                "the challenger ranks better (95% interval above 0): promote it".to_owned()
            }
            Some((_, high)) if high < 0.0 => {
                "the champion ranks better (95% interval below 0): keep it".to_owned()
            }
            Some(_) => "too close to call yet (95% interval includes 0)".to_owned(),
        };
        ShadowComparison {
            challenger: challenger.to_owned(),
            leads: pairs.len(),
            won: won.iter().filter(|&&w| w).count(),
            champion_auc,
            challenger_auc,
            difference,
            interval,
            verdict,
        }
    }
}
