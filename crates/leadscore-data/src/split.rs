//! Splits of closed leads: a held-out part (the most recently closed, or stratified at random)
//! and validation folds. Training, comparison and cross-validation all split through here.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// How a part of the data is set aside.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitKind {
    /// By time when close dates exist, stratified at random otherwise.
    #[default]
    Auto,
    /// The most recently closed leads.
    Time,
    /// Stratified random.
    Random,
}

/// How models are compared before the final fit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "scheme")]
pub enum Validation {
    /// Time split when close dates exist, else stratified k-fold.
    Auto {
        /// Folds when k-fold is used.
        folds: usize,
        /// Share of the most recent leads when a time split is used.
        fraction: f64,
    },
    /// Train on older closed leads, validate on the most recent `fraction`.
    Time {
        /// Share held out.
        fraction: f64,
    },
    /// Stratified k-fold cross-validation.
    KFold {
        /// Number of folds.
        folds: usize,
    },
}

impl Default for Validation {
    /// Auto with 5 folds or the most recent 20%.
    fn default() -> Self {
        Self::Auto {
            folds: 5,
            fraction: 0.2,
        }
    }
}

/// A validation plan: pairs of (training rows, validation rows).
#[derive(Debug, Clone, PartialEq)]
pub struct Folds {
    /// The pairs.
    pub folds: Vec<(Vec<usize>, Vec<usize>)>,
    /// "time split (most recent 20%)" or "5-fold stratified".
    pub description: String,
}

/// Splits `rows` into (kept, held out) with `fraction` held out, by time or stratified.
///
/// `close_times` are the rows' close times (`None` when unknown); a time split holds out the
/// latest-closed rows. `labels[row]` (indexed by table row, like `close_times`) drive
/// stratification.
pub fn hold_out(
    rows: &[usize],
    labels: &[bool],
    close_times: Option<&[Option<i64>]>,
    kind: SplitKind,
    fraction: f64,
    seed: u64,
) -> (Vec<usize>, Vec<usize>) {
    if fraction <= 0.0 {
        return (rows.to_vec(), Vec::new());
    }
    match (kind, usable_times(rows, close_times)) {
        (SplitKind::Time | SplitKind::Auto, Some(times)) => by_time(rows, times, fraction),
        _ => stratified(rows, labels, fraction, seed),
    }
}

/// Builds the validation plan over `rows`.
pub fn validation_folds(
    rows: &[usize],
    labels: &[bool],
    close_times: Option<&[Option<i64>]>,
    validation: Validation,
    seed: u64,
) -> Folds {
    let times = usable_times(rows, close_times);
    let time_fraction = match validation {
        Validation::Time { fraction } => Some(fraction),
        Validation::Auto { fraction, .. } if times.is_some() => Some(fraction),
        _ => None,
    };
    if let (Some(fraction), Some(times)) = (time_fraction, times) {
        let (train, valid) = by_time(rows, times, fraction);
        return Folds {
            folds: vec![(train, valid)],
            description: format!(
                "time split: validated on the most recent {:.0}% of closed leads",
                fraction * 100.0
            ),
        };
    }
    let k = match validation {
        Validation::KFold { folds } | Validation::Auto { folds, .. } => folds,
        Validation::Time { .. } => 5,
    };
    let assignment = stratified_assignment(rows, labels, k, seed);
    let folds = (0..k)
        .map(|fold| {
            let (mut train, mut valid) = (Vec::new(), Vec::new());
            for (&row, &f) in rows.iter().zip(&assignment) {
                if f == fold {
                    valid.push(row)
                } else {
                    train.push(row)
                }
            }
            (train, valid)
        })
        .collect();
    Folds {
        folds,
        description: format!("{k}-fold stratified cross-validation"),
    }
}

/// Close times of `rows` when at least 90% of them have one.
fn usable_times<'a>(
    rows: &[usize],
    close_times: Option<&'a [Option<i64>]>,
) -> Option<&'a [Option<i64>]> {
    let times = close_times?;
    let dated = rows.iter().filter(|&&r| times[r].is_some()).count();
    (dated as f64 >= 0.9 * rows.len() as f64 && !rows.is_empty()).then_some(times)
}

fn by_time(rows: &[usize], times: &[Option<i64>], fraction: f64) -> (Vec<usize>, Vec<usize>) {
    let mut ordered = rows.to_vec();
    ordered.sort_by_key(|&r| (times[r].unwrap_or(i64::MIN), r));
    let held = ((rows.len() as f64 * fraction).round() as usize)
        .clamp(1, rows.len().saturating_sub(1).max(1));
    let cut = rows.len() - held;
    let mut kept = ordered[..cut].to_vec();
    let mut held_out = ordered[cut..].to_vec();
    kept.sort_unstable();
    held_out.sort_unstable();
    (kept, held_out)
}

fn stratified(
    rows: &[usize],
    labels: &[bool],
    fraction: f64,
    seed: u64,
) -> (Vec<usize>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut kept, mut held_out) = (Vec::new(), Vec::new());
    for class in [true, false] {
        let mut members: Vec<usize> = rows
            .iter()
            .copied()
            .filter(|&r| labels[r] == class)
            .collect();
        members.shuffle(&mut rng);
        let held = (members.len() as f64 * fraction).round() as usize;
        held_out.extend_from_slice(&members[..held]);
        kept.extend_from_slice(&members[held..]);
    }
    kept.sort_unstable();
    held_out.sort_unstable();
    (kept, held_out)
}

fn stratified_assignment(rows: &[usize], labels: &[bool], k: usize, seed: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_add(1));
    let mut assignment = vec![0; rows.len()];
    for class in [true, false] {
        let mut positions: Vec<usize> = (0..rows.len())
            .filter(|&i| labels[rows[i]] == class)
            .collect();
        positions.shuffle(&mut rng);
        for (n, position) in positions.into_iter().enumerate() {
            assignment[position] = n % k;
        }
    }
    assignment
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(n: usize) -> Vec<bool> {
        (0..n).map(|i| i % 5 == 0).collect()
    }

    #[test]
    fn stratified_hold_out_keeps_the_class_balance() {
        let y = labels(1000);
        let rows: Vec<usize> = (0..1000).collect();
        let (kept, held) = hold_out(&rows, &y, None, SplitKind::Auto, 0.2, 1);
        assert_eq!((kept.len(), held.len()), (800, 200));
        assert_eq!(held.iter().filter(|&&r| y[r]).count(), 40);
    }

    #[test]
    fn time_hold_out_takes_the_latest_closed() {
        let y = labels(10);
        let rows: Vec<usize> = (0..10).collect();
        let times: Vec<Option<i64>> = (0..10).map(|i| Some(100 - i)).collect();
        let (kept, held) = hold_out(&rows, &y, Some(&times), SplitKind::Auto, 0.3, 1);
        assert_eq!(held, [0, 1, 2]);
        assert_eq!(kept.len(), 7);
        let (_, random) = hold_out(&rows, &y, Some(&times), SplitKind::Random, 0.3, 1);
        assert_eq!(random.len(), 3);
    }

    #[test]
    fn k_folds_partition_the_rows() {
        let y = labels(103);
        let rows: Vec<usize> = (0..103).collect();
        let plan = validation_folds(&rows, &y, None, Validation::default(), 7);
        assert_eq!(plan.folds.len(), 5);
        let mut seen: Vec<usize> = plan.folds.iter().flat_map(|(_, v)| v.clone()).collect();
        seen.sort_unstable();
        assert_eq!(seen, rows);
        for (train, valid) in &plan.folds {
            assert_eq!(train.len() + valid.len(), 103);
            let positives = valid.iter().filter(|&&r| y[r]).count();
            assert!((4..=5).contains(&positives));
        }
    }

    #[test]
    fn mostly_undated_rows_fall_back_to_k_fold() {
        let y = labels(100);
        let rows: Vec<usize> = (0..100).collect();
        let times: Vec<Option<i64>> = (0..100).map(|i| (i < 50).then_some(i)).collect();
        let plan = validation_folds(&rows, &y, Some(&times), Validation::default(), 7);
        assert_eq!(plan.folds.len(), 5);
    }
}
