//! One boosted fit, alone on the machine, on a feature table written by `leadscore features`:
//! the exact matrix a peer such as LightGBM is given, with its settings, so the two fits can be
//! timed side by side (`bench/ratios.sh` does). `leadscore train` fits its candidates side by side
//! and so cannot time one fit alone.
//!
//! ```sh
//! cargo run --release -p leadscore-models --example fit -- \
//!     --train train-features.parquet --test test-features.parquet --leaves 31 --min-leaf 20
//! ```
//! The closed rows of `--train` are shuffled (seed 42) into 80% to fit and 20% to stop early on,
//! as the peers' benchmark splits them; categorical columns become codes. `--seed` (42) draws
//! the rows and features of each tree. Prints one JSON line:
//! fit seconds, trees and the test AUC.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use leadscore_data::{ColumnValues, LeadsOptions, LeadsTable, MISSING_CODE, Outcome};
use leadscore_features::{FeatureInfo, FeatureKind, FeatureSource};
use leadscore_models::{GbdtParams, TrainingData};
use ndarray::Array2;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// The allocator of the `leadscore` binary, so that the fit measured is the one shipped.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Options {
    train: PathBuf,
    test: PathBuf,
    leaves: usize,
    min_leaf: usize,
    seed: u64,
}

fn options() -> Options {
    let mut options = Options {
        train: PathBuf::new(),
        test: PathBuf::new(),
        leaves: 31,
        min_leaf: 20,
        seed: 42,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_default();
        match flag.as_str() {
            "--train" => options.train = value.into(),
            "--test" => options.test = value.into(),
            "--leaves" => options.leaves = value.parse().unwrap_or(31),
            "--min-leaf" => options.min_leaf = value.parse().unwrap_or(20),
            "--seed" => options.seed = value.parse().unwrap_or(42),
            other => eprintln!("ignoring unknown option {other}"),
        }
    }
    options
}

/// The closed rows of a feature table.
struct FeatureTable {
    x: Array2<f64>,
    y: Vec<bool>,
    features: Vec<FeatureInfo>,
    /// Levels of each categorical column, in code order (empty for numeric columns).
    levels: Vec<Vec<String>>,
}

/// Closed rows of a feature table as a matrix, categorical columns as codes of `levels` (the
/// training table's levels when given).
fn matrix(
    path: &Path,
    levels: Option<&[Vec<String>]>,
) -> Result<FeatureTable, Box<dyn std::error::Error>> {
    let options = LeadsOptions {
        id_column: Some("lead_id".to_owned()),
        target: "label".to_owned(),
        positive: vec!["1".to_owned()],
        negative: vec!["0".to_owned()],
        ..LeadsOptions::default()
    };
    let table = LeadsTable::load(path, &options)?;
    let closed: Vec<usize> = (0..table.len())
        .filter(|&row| table.outcomes[row] != Outcome::Open)
        .collect();
    let mut x = Array2::from_elem((closed.len(), table.columns.len()), f64::NAN);
    let (mut infos, mut all_levels) = (Vec::new(), Vec::new());
    for (j, column) in table.columns.iter().enumerate() {
        let kind = match &column.values {
            ColumnValues::Numeric(values) => {
                for (i, &row) in closed.iter().enumerate() {
                    x[[i, j]] = values[row];
                }
                all_levels.push(Vec::new());
                FeatureKind::Numeric
            }
            ColumnValues::Categorical { codes, levels: own } => {
                let known = levels.map_or(own.as_slice(), |l| l[j].as_slice());
                for (i, &row) in closed.iter().enumerate() {
                    if codes[row] != MISSING_CODE {
                        let level = &own[codes[row] as usize];
                        if let Some(code) = known.iter().position(|k| k == level) {
                            x[[i, j]] = code as f64;
                        }
                    }
                }
                all_levels.push(known.to_vec());
                FeatureKind::Categorical {
                    n_codes: known.len(),
                }
            }
        };
        infos.push(FeatureInfo {
            name: column.name.clone(),
            kind,
            source: FeatureSource::Attribute(column.name.clone()),
        });
    }
    let labels = closed
        .iter()
        .map(|&row| table.outcomes[row] == Outcome::Won)
        .collect();
    Ok(FeatureTable {
        x,
        y: labels,
        features: infos,
        levels: all_levels,
    })
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("fit: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let options = options();
    let FeatureTable {
        x,
        y,
        features,
        levels,
    } = matrix(&options.train, None)?;
    let test = matrix(&options.test, Some(&levels))?;
    let mut rows: Vec<usize> = (0..x.nrows()).collect();
    rows.shuffle(&mut ChaCha8Rng::seed_from_u64(42));
    let (fit_rows, valid_rows) = rows.split_at(rows.len() * 4 / 5);
    let take = |rows: &[usize]| {
        (
            x.select(ndarray::Axis(0), rows),
            rows.iter().map(|&r| y[r]).collect::<Vec<bool>>(),
        )
    };
    let ((fit_x, fit_y), (valid_x, valid_y)) = (take(fit_rows), take(valid_rows));
    let params = GbdtParams::new()
        .max_leaves(options.leaves)
        .min_data_in_leaf(options.min_leaf)
        .seed(options.seed)
        .check()?;
    let clock = Instant::now();
    let model = params.fit(
        &TrainingData::new(fit_x.view(), &fit_y, &features),
        Some(&TrainingData::new(valid_x.view(), &valid_y, &features)),
    )?;
    let seconds = clock.elapsed().as_secs_f64();
    let scores: Vec<f64> = test
        .x
        .rows()
        .into_iter()
        .map(|row| model.predict_logit(&row.to_vec()))
        .collect();
    println!(
        "{{\"seconds\": {seconds:.4}, \"trees\": {}, \"test_auc\": {:.6}, \"fit_rows\": {}, \"features\": {}}}",
        model.trees.len(),
        leadscore_metrics::roc_auc(&scores, &test.y).unwrap_or(f64::NAN),
        fit_rows.len(),
        features.len()
    );
    Ok(())
}
