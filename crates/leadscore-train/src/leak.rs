//! Checks for columns that give the outcome away.
//!
//! CRM exports are full of fields filled in after the deal was decided: a sales stage, a loss
//! reason, a tag set after the call, a call's duration. These signals flag them, each by name
//! with its single-column AUC:
//! - the column alone separates won from lost almost perfectly (AUC ≥ 0.95);
//! - the column is filled for one class and empty for the other;
//! - the column is filled, or holds values, for closed leads that open leads never have: it is
//!   set when a deal closes;
//! - the column alone predicts as well as all the other columns together, which legitimate
//!   attributes of a lead practically never do — checked twice: against every other column, and
//!   against the others with every suspicious column set aside, because leaks hide each other (three
//!   sales-assigned columns each look unremarkable next to the other two).
//!
//! Single-column AUCs use out-of-fold target encoding (20 quantile bins for numbers, levels for
//! categories, a bin for missing), so an id-like column cannot look predictive by memorising rows.

use leadscore_data::{ColumnValues, LeadsTable, MISSING_CODE, Outcome};
use leadscore_features::{FeatureInfo, FeatureKind, FeatureSource, out_of_fold_log_odds};
use leadscore_metrics::{quantile_edges, roc_auc};
use leadscore_models::{GbdtParams, TrainingData};
use ndarray::Array2;
use serde::Serialize;

use leadscore_artifact::LeakWarning;

/// AUC at or above which a single column is a near-perfect predictor.
const NEAR_PERFECT_AUC: f64 = 0.95;
/// A column must reach this AUC alone before the all-others comparison is run.
const DOMINANCE_FLOOR: f64 = 0.70;
/// Margin by which the other columns together must beat a column for it to pass.
const DOMINANCE_MARGIN: f64 = 0.01;
/// Most suspicious columns set aside together before each is compared with the rest.
const MAX_SUSPECTS: usize = 6;
/// How clearly a column must beat the rest, once every suspect is set aside, to be flagged: legit
/// strong attributes (market conditions, company size) come close to the rest; leaks beat it.
const MASKED_MARGIN: f64 = 0.05;
/// Open leads needed before "only closed leads have it" means anything.
const MIN_OPEN: usize = 50;

/// Predictive signal of one explicit column.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnSignal {
    /// Column name.
    pub column: String,
    /// AUC of the column alone.
    pub single_auc: f64,
    /// Missing share among won leads.
    pub missing_won: f64,
    /// Missing share among lost leads.
    pub missing_lost: f64,
    /// AUC of a quick model on every other column, when computed.
    pub others_auc: Option<f64>,
    /// AUC of a quick model on the columns that are not suspicious, when computed.
    pub clean_auc: Option<f64>,
    /// Share of open leads where the column is filled.
    pub filled_open: Option<f64>,
    /// Share of closed leads whose value never occurs on an open lead.
    pub closed_only_values: Option<f64>,
}

/// Measures every explicit column on `rows` and returns warnings for likely leaks, strongest first.
pub fn check_leaks(
    leads: &LeadsTable,
    rows: &[usize],
    labels: &[bool],
    seed: u64,
) -> (Vec<ColumnSignal>, Vec<LeakWarning>) {
    let y: Vec<bool> = rows.iter().map(|&r| labels[r]).collect();
    let open: Vec<usize> = (0..leads.len())
        .filter(|&r| leads.outcomes[r] == Outcome::Open)
        .collect();
    let mut signals: Vec<ColumnSignal> = leads
        .columns
        .iter()
        .map(|column| {
            let bins = column_bins(&column.values, rows);
            let single_auc = out_of_fold_auc(&bins, &y);
            let (mut missing_won, mut missing_lost, mut won, mut lost) = (0.0, 0.0, 0.0, 0.0);
            for (&bin, &label) in bins.iter().zip(&y) {
                let missing = f64::from(u8::from(bin == 0));
                if label {
                    won += 1.0;
                    missing_won += missing;
                } else {
                    lost += 1.0;
                    missing_lost += missing;
                }
            }
            let (filled_open, closed_only_values) = if open.len() >= MIN_OPEN {
                open_closed_asymmetry(&column.values, rows, &open)
            } else {
                (None, None)
            };
            ColumnSignal {
                column: column.name.clone(),
                single_auc,
                missing_won: missing_won / f64::max(won, 1.0),
                missing_lost: missing_lost / f64::max(lost, 1.0),
                others_auc: None,
                clean_auc: None,
                filled_open,
                closed_only_values,
            }
        })
        .collect();
    signals.sort_by(|a, b| b.single_auc.total_cmp(&a.single_auc));

    let suspects: Vec<String> = signals
        .iter()
        .take(MAX_SUSPECTS)
        .filter(|s| s.single_auc >= DOMINANCE_FLOOR)
        .map(|s| s.column.clone())
        .collect();
    let clean_auc = (!suspects.is_empty() && leads.columns.len() > suspects.len())
        .then(|| others_auc(leads, rows, &y, &suspects, seed));
    // Suspects that are near-perfect together give each other away, even when each alone is only
    // a little better than the rest.
    let joint_auc = clean_auc.map(|_| others_auc(leads, rows, &y, &[], seed));

    let mut warnings = Vec::new();
    for (index, signal) in signals.iter_mut().enumerate() {
        let filled_closed = 1.0
            - (signal.missing_won * won_share(&y) + signal.missing_lost * (1.0 - won_share(&y)));
        let reason = if signal.single_auc >= NEAR_PERFECT_AUC {
            Some(format!(
                "alone it separates won from lost almost perfectly (AUC {:.3})",
                signal.single_auc
            ))
        } else if (signal.missing_won - signal.missing_lost).abs() >= 0.9 {
            Some(format!(
                "it is filled for {:.0}% of won and {:.0}% of lost leads: probably recorded after the outcome",
                100.0 * (1.0 - signal.missing_won),
                100.0 * (1.0 - signal.missing_lost)
            ))
        } else if let Some(open_filled) = signal
            .filled_open
            .filter(|&f| f <= 0.05 && filled_closed >= 0.5)
        {
            Some(format!(
                "it is filled for {:.0}% of closed leads but {:.0}% of open ones: it is set when a deal closes",
                100.0 * filled_closed,
                100.0 * open_filled
            ))
        } else if let Some(share) = signal.closed_only_values.filter(|&s| s >= 0.3) {
            Some(format!(
                "{:.0}% of closed leads have values no open lead has: they are set when a deal closes",
                100.0 * share
            ))
        } else if index < 2 && signal.single_auc >= DOMINANCE_FLOOR && leads.columns.len() > 1 {
            let others = others_auc(leads, rows, &y, std::slice::from_ref(&signal.column), seed);
            signal.others_auc = Some(others);
            (signal.single_auc >= others - DOMINANCE_MARGIN).then(|| {
                format!(
                    "alone it predicts as well as all other columns together (AUC {:.3} vs {:.3}): probably known only after the outcome",
                    signal.single_auc, others
                )
            })
        } else {
            None
        };
        let reason = reason.or_else(|| {
            let clean = clean_auc.filter(|_| suspects.contains(&signal.column))?;
            signal.clean_auc = Some(clean);
            let set_aside = suspects
                .iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ");
            if signal.single_auc >= clean + MASKED_MARGIN {
                return Some(format!(
                    "alone it predicts clearly better than all the unsuspicious columns together (AUC {:.3} vs {:.3}, with {set_aside} set aside): probably known only after the outcome",
                    signal.single_auc, clean
                ));
            }
            let joint = joint_auc.filter(|&j| j >= NEAR_PERFECT_AUC)?;
            (signal.single_auc > clean).then(|| {
                format!(
                    "the suspicious columns {set_aside} together separate won from lost almost perfectly (AUC {joint:.3}) while the others reach {clean:.3}, and alone it beats them (AUC {:.3}): probably known only after the outcome",
                    signal.single_auc
                )
            })
        });
        if let Some(reason) = reason {
            warnings.push(LeakWarning {
                column: signal.column.clone(),
                single_auc: signal.single_auc,
                reason,
                excluded: false,
            });
        }
    }
    (signals, warnings)
}

fn won_share(y: &[bool]) -> f64 {
    y.iter().filter(|&&w| w).count() as f64 / y.len().max(1) as f64
}

/// Share of open leads where the column is filled, and share of closed leads (`rows`) whose value
/// no open lead has (categorical columns).
fn open_closed_asymmetry(
    values: &ColumnValues,
    rows: &[usize],
    open: &[usize],
) -> (Option<f64>, Option<f64>) {
    match values {
        ColumnValues::Numeric(numbers) => {
            let filled = open.iter().filter(|&&r| !numbers[r].is_nan()).count();
            (Some(filled as f64 / open.len() as f64), None)
        }
        ColumnValues::Categorical { codes, levels } => {
            let mut on_open = vec![false; levels.len()];
            let mut filled = 0;
            for &r in open {
                if codes[r] != MISSING_CODE {
                    on_open[codes[r] as usize] = true;
                    filled += 1;
                }
            }
            let closed_only = rows
                .iter()
                .filter(|&&r| codes[r] != MISSING_CODE && !on_open[codes[r] as usize])
                .count();
            (
                Some(filled as f64 / open.len() as f64),
                Some(closed_only as f64 / rows.len().max(1) as f64),
            )
        }
    }
}

/// Bin of each row: 0 = missing, then quantile bins or category levels.
fn column_bins(values: &ColumnValues, rows: &[usize]) -> Vec<u32> {
    match values {
        ColumnValues::Categorical { codes, .. } => rows
            .iter()
            .map(|&r| {
                if codes[r] == MISSING_CODE {
                    0
                } else {
                    codes[r] + 1
                }
            })
            .collect(),
        ColumnValues::Numeric(numbers) => {
            let edges = quantile_edges(rows.iter().map(|&r| numbers[r]), 20);
            rows.iter()
                .map(|&r| {
                    let v = numbers[r];
                    if v.is_nan() {
                        0
                    } else {
                        1 + edges.partition_point(|&e| e <= v) as u32
                    }
                })
                .collect()
        }
    }
}

/// AUC of the out-of-fold smoothed won log-odds per bin: the column's own predictive power, by
/// the same statistic a model's level statistics use.
fn out_of_fold_auc(bins: &[u32], y: &[bool]) -> f64 {
    let groups: Vec<Option<u32>> = bins.iter().map(|&b| Some(b)).collect();
    roc_auc(&out_of_fold_log_odds(&groups, y), y).unwrap_or(0.5)
}

/// AUC of a quick boosted model on every column but `excluded`, trained on half of (at most
/// 40,000 of) the rows and measured on the other half.
fn others_auc(
    leads: &LeadsTable,
    rows: &[usize],
    y: &[bool],
    excluded: &[String],
    seed: u64,
) -> f64 {
    let step = rows.len().div_ceil(40_000).max(1);
    let sample: Vec<usize> = (0..rows.len()).step_by(step).collect();
    let columns: Vec<_> = leads
        .columns
        .iter()
        .filter(|c| !excluded.contains(&c.name))
        .collect();
    let mut x = Array2::from_elem((sample.len(), columns.len()), f64::NAN);
    let mut features = Vec::new();
    for (j, column) in columns.iter().enumerate() {
        let kind = match &column.values {
            ColumnValues::Numeric(values) => {
                for (i, &s) in sample.iter().enumerate() {
                    x[(i, j)] = values[rows[s]];
                }
                FeatureKind::Numeric
            }
            ColumnValues::Categorical { codes, levels } => {
                let n_codes = levels.len().min(250);
                for (i, &s) in sample.iter().enumerate() {
                    let code = codes[rows[s]];
                    x[(i, j)] = if code == MISSING_CODE {
                        f64::NAN
                    } else {
                        f64::from(code.min(n_codes as u32 - 1))
                    };
                }
                FeatureKind::Categorical {
                    n_codes: n_codes.max(1),
                }
            }
        };
        features.push(FeatureInfo {
            name: column.name.clone(),
            kind,
            source: FeatureSource::Attribute(column.name.clone()),
        });
    }
    let labels: Vec<bool> = sample.iter().map(|&s| y[s]).collect();
    let (train, test): (Vec<usize>, Vec<usize>) = (0..sample.len()).partition(|i| i % 2 == 0);
    let pick = |idx: &[usize]| {
        (
            x.select(ndarray::Axis(0), idx),
            idx.iter().map(|&i| labels[i]).collect::<Vec<bool>>(),
        )
    };
    let ((train_x, train_y), (test_x, test_y)) = (pick(&train), pick(&test));
    let params = GbdtParams::new()
        .learning_rate(0.1)
        .max_trees(300)
        .early_stopping_rounds(20)
        .seed(seed)
        .check();
    let fitted = params.and_then(|p| {
        p.fit(
            &TrainingData::new(train_x.view(), &train_y, &features),
            Some(&TrainingData::new(test_x.view(), &test_y, &features)),
        )
    });
    match fitted {
        Ok(model) => {
            let logits: Vec<f64> = test_x
                .rows()
                .into_iter()
                .map(|r| model.predict_logit(&r.to_vec()))
                .collect();
            roc_auc(&logits, &test_y).unwrap_or(0.5)
        }
        Err(_) => 0.5,
    }
}
