//! Level statistics (target statistics) for columns with more levels than a model keeps. A
//! landing-page id with thousands of pages keeps its 50 most frequent pages as codes and pools
//! the rest into "(other)"; its level statistic gives every page, rare or not, the log-odds of the
//! share of its training leads that were won, shrunk towards the overall share in proportion to
//! how few leads it had: `(won + m · prior) / (leads + m)`. The pseudo-count `m` is estimated from
//! the data (empirical Bayes, method of moments): large when levels differ little beyond chance,
//! small when they differ a lot. Log-odds, because a linear model adds effects on that scale.
//!
//! Rows a model is fitted on get their statistic from the other folds of those rows only
//! ([`out_of_fold_log_odds`]), as CatBoost's ordered statistics do, so that a lead's own outcome
//! never feeds its feature; every other row (validation, scoring, HTTP, SQL) gets the statistics
//! learned from all fitting rows ([`LevelRates`]). The leak check measures columns with the same
//! function.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Folds of the out-of-fold statistics of fitting rows.
pub const FOLDS: usize = 5;
/// A categorical column gets level statistics when at least this many of its training levels
/// are pooled into "(other)".
pub const MIN_POOLED_LEVELS: usize = 20;
/// Bounds of the estimated pseudo-count: never less than one lead's worth of prior, never so
/// much that a level with thousands of leads is ignored.
const PSEUDO_COUNT: (f64, f64) = (1.0, 1_000.0);

/// Log-odds of the smoothed won share of a group of `leads` leads with `won` wins.
pub fn smoothed_log_odds(won: f64, leads: f64, prior: f64, pseudo_count: f64) -> f64 {
    let rate = (won + pseudo_count * prior) / (leads + pseudo_count);
    (rate / (1.0 - rate)).ln()
}

/// The pseudo-count that shrinks level shares as much as chance explains their spread: with
/// overall share `p` and `L` levels, the spread of level shares beyond sampling noise is
/// `τ² = (Σ n (r − p)² − L·p(1 − p)) / Σ n`, and `m = p(1 − p) / τ²`.
fn pseudo_count(leads: &[f64], wins: &[f64], prior: f64) -> f64 {
    let total: f64 = leads.iter().sum();
    let noise = prior * (1.0 - prior);
    if total <= 0.0 || noise <= 0.0 {
        return PSEUDO_COUNT.1;
    }
    let (spread, levels) = leads
        .iter()
        .zip(wins)
        .filter(|(n, _)| **n > 0.0)
        .fold((0.0, 0.0), |(spread, levels), (&n, &w)| {
            (spread + n * (w / n - prior).powi(2), levels + 1.0)
        });
    let between = (spread - levels * noise) / total;
    if between <= 0.0 {
        return PSEUDO_COUNT.1;
    }
    (noise / between).clamp(PSEUDO_COUNT.0, PSEUDO_COUNT.1)
}

/// Leads and wins per group of the rows of one fold (or of all rows).
fn tally(
    groups: &[Option<u32>],
    won: &[bool],
    size: usize,
    keep: impl Fn(usize) -> bool,
) -> (Vec<f64>, Vec<f64>) {
    let (mut leads, mut wins) = (vec![0.0; size], vec![0.0; size]);
    for (i, group) in groups.iter().enumerate() {
        if let Some(g) = group
            && keep(i)
        {
            leads[*g as usize] += 1.0;
            wins[*g as usize] += f64::from(u8::from(won[i]));
        }
    }
    (leads, wins)
}

fn share(leads: &[f64], wins: &[f64]) -> f64 {
    let total: f64 = leads.iter().sum();
    if total > 0.0 {
        wins.iter().sum::<f64>() / total
    } else {
        0.5
    }
}

/// For each row, the smoothed log-odds of its group (`groups[i]`, any `u32` id) computed from the
/// rows of the other folds only (row `i` is in fold `i % FOLDS`): their counts, their overall
/// share and their pseudo-count. `None` groups (missing values) get NaN and count nowhere.
pub fn out_of_fold_log_odds(groups: &[Option<u32>], won: &[bool]) -> Vec<f64> {
    let size = groups
        .iter()
        .flatten()
        .copied()
        .max()
        .map_or(0, |g| g as usize + 1);
    let folds: Vec<(f64, f64, Vec<f64>, Vec<f64>)> = (0..FOLDS)
        .map(|fold| {
            let (leads, wins) = tally(groups, won, size, |i| i % FOLDS != fold);
            let prior = share(&leads, &wins);
            (prior, pseudo_count(&leads, &wins, prior), leads, wins)
        })
        .collect();
    groups
        .iter()
        .enumerate()
        .map(|(i, group)| match group {
            None => f64::NAN,
            Some(g) => {
                let (prior, m, leads, wins) = &folds[i % FOLDS];
                smoothed_log_odds(wins[*g as usize], leads[*g as usize], *prior, *m)
            }
        })
        .collect()
}

/// The smoothed log-odds of every level seen in the fitting rows; stored in the model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelRates {
    /// Won share of the fitting rows with a value.
    pub prior: f64,
    /// Pseudo-count of the prior in every level's share.
    pub pseudo_count: f64,
    /// Smoothed won log-odds per level (levels as the column's text rule reads them).
    pub levels: BTreeMap<String, f64>,
}

impl LevelRates {
    /// Statistics of the levels of `groups` (indices into `names`, `None` for missing) given the
    /// outcomes of the same rows.
    pub fn fit(names: &[String], groups: &[Option<u32>], won: &[bool]) -> Self {
        let (leads, wins) = tally(groups, won, names.len(), |_| true);
        let prior = share(&leads, &wins);
        let m = pseudo_count(&leads, &wins, prior);
        let levels = names
            .iter()
            .enumerate()
            .filter(|&(g, _)| leads[g] > 0.0)
            .map(|(g, name)| (name.clone(), smoothed_log_odds(wins[g], leads[g], prior, m)))
            .collect();
        Self {
            prior,
            pseudo_count: m,
            levels,
        }
    }

    /// The log-odds of a level never seen: the prior's.
    pub fn unseen(&self) -> f64 {
        smoothed_log_odds(0.0, 0.0, self.prior, self.pseudo_count)
    }

    /// The statistic of a level (normalised text); [`unseen`](Self::unseen) for a level never
    /// seen.
    pub fn log_odds(&self, level: &str) -> f64 {
        self.levels
            .get(level)
            .copied()
            .unwrap_or_else(|| self.unseen())
    }

    /// Checks a loaded table: a share strictly between 0 and 1, a pseudo-count in bounds, finite
    /// statistics.
    pub fn validate(&self, column: &str) -> Result<(), String> {
        if !(self.prior > 0.0 && self.prior < 1.0) {
            return Err(format!(
                "column `{column}`: level statistics' won share {} is not strictly between 0 and 1",
                self.prior
            ));
        }
        if !(PSEUDO_COUNT.0..=PSEUDO_COUNT.1).contains(&self.pseudo_count) {
            return Err(format!(
                "column `{column}`: pseudo-count {} out of bounds",
                self.pseudo_count
            ));
        }
        match self.levels.iter().find(|(_, v)| !v.is_finite()) {
            Some((level, value)) => Err(format!(
                "column `{column}`: level `{level}` has log-odds {value}"
            )),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rows_own_outcome_never_feeds_its_statistic() {
        // Flipping one row's outcome changes the statistics of rows in other folds, never its own.
        let groups: Vec<Option<u32>> = (0..40).map(|i| Some(i % 3)).collect();
        let mut won: Vec<bool> = (0..40).map(|i| i % 4 == 0).collect();
        let before = out_of_fold_log_odds(&groups, &won);
        won[7] = !won[7];
        let after = out_of_fold_log_odds(&groups, &won);
        assert_eq!(before[7], after[7]);
        assert!(
            (0..40)
                .filter(|i| i % FOLDS != 7 % FOLDS)
                .any(|i| before[i] != after[i])
        );
    }

    #[test]
    fn rare_levels_shrink_to_the_prior_and_missing_stays_missing() {
        // 20 levels of 50 leads: half convert at 60%, half at 20%; one rare level with one win.
        let mut names: Vec<String> = (0..20).map(|k| format!("l{k}")).collect();
        names.push("rare".to_owned());
        let (mut groups, mut won) = (Vec::new(), Vec::new());
        for k in 0..20u32 {
            for i in 0..50 {
                groups.push(Some(k));
                won.push(i < if k % 2 == 0 { 30 } else { 10 });
            }
        }
        groups.extend([Some(20), None]);
        won.extend([true, true]);
        let rates = LevelRates::fit(&names, &groups, &won);
        assert!((rates.prior - 401.0 / 1001.0).abs() < 1e-12);
        // Levels truly differ (τ² ≈ 0.04 against p(1 − p) ≈ 0.24): a small pseudo-count.
        assert!(
            rates.pseudo_count > 3.0 && rates.pseudo_count < 10.0,
            "{}",
            rates.pseudo_count
        );
        let logit = |p: f64| (p / (1.0 - p)).ln();
        assert!(rates.log_odds("l0") > logit(0.5) && rates.log_odds("l0") < logit(0.6));
        // One win in one lead moves a rare level only part of the way up from the prior.
        let rare = rates.log_odds("rare");
        assert!(rare > rates.unseen() && rare < logit(0.6), "{rare}");
        assert!((rates.unseen() - logit(rates.prior)).abs() < 1e-12);
        assert_eq!(rates.log_odds("never seen"), rates.unseen());
        assert!(out_of_fold_log_odds(&groups, &won)[1001].is_nan());
        assert!(rates.validate("page").is_ok());
    }

    #[test]
    fn levels_that_differ_only_by_chance_are_shrunk_to_the_prior() {
        let names: Vec<String> = (0..30).map(|k| format!("l{k}")).collect();
        let groups: Vec<Option<u32>> = (0..3000).map(|i| Some(i % 30)).collect();
        let won: Vec<bool> = (0..3000u64)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 16) % 10 < 3)
            .collect();
        let rates = LevelRates::fit(&names, &groups, &won);
        assert!(rates.pseudo_count > 200.0, "{}", rates.pseudo_count);
    }
}
