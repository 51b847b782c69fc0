//! The training procedure: checks, splits, model search, calibration, final fit, artifact.
//!
//! 1. Closed leads are split into a development part and, optionally, a test part that nothing
//!    looks at until the end (most recent leads when close dates exist, stratified otherwise).
//! 2. Leak checks run on the development part.
//! 3. Every candidate (model kind × hyper-parameters) is fitted per validation fold, with the
//!    feature pipeline refitted on each fold's training rows; out-of-fold predictions rank them.
//! 4. The best candidate's out-of-fold log-odds fit the Platt calibration, and its calibrated
//!    out-of-fold probabilities give the percentile table and tier cut points.
//! 5. The best candidate is refitted on the whole development part; the test part is scored once.

use std::sync::mpsc;
use std::time::Instant;

use leadscore_artifact::{
    ArtifactParts, CandidateResult, DataFingerprint, DealValue, Importance, InputSchema,
    ModelArtifact, Tier, TrainingReport, ValidationReport, profile_columns,
};
use leadscore_data::{EventLog, LeadsTable, Outcome, file_sha256, time::format_date};
use leadscore_features::{
    FeatureMatrix, FeaturePipelineParams, FittedFeaturePipeline, ValidFeaturePipelineParams,
};
use leadscore_metrics::{
    BinaryMetrics, auc_interval, average_precision, log_loss, quantiles, roc_auc,
};
use leadscore_models::{
    Calibration, Model, ModelKind, ModelParams, PlattCalibration, TrainingData, ValueParams,
};
use ndarray::{Array2, Axis};
use rayon::prelude::*;

use crate::error::TrainError;
use crate::leak::{ColumnSignal, check_leaks};
use leadscore_data::{SplitKind, Validation, hold_out, validation_folds};

/// Settings of a training run.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainParams {
    models: Vec<ModelKind>,
    validation: Validation,
    test_fraction: f64,
    test_split: SplitKind,
    seed: u64,
    features: FeaturePipelineParams,
    min_class_count: usize,
    exclude_leaks: bool,
    allow_weak: bool,
    tiers: Vec<(String, f64)>,
    name: String,
}

impl Default for TrainParams {
    /// All model kinds, automatic validation (time split or 5-fold), no test part, seed 42,
    /// default features, at least 20 won and 20 lost leads, leaks warned about but kept, a weak
    /// model refused, tiers
    /// A (top 10%), B (next 20%), C (next 30%), D (rest).
    fn default() -> Self {
        Self {
            models: ModelKind::ALL.to_vec(),
            validation: Validation::default(),
            test_fraction: 0.0,
            test_split: SplitKind::Auto,
            seed: 42,
            features: FeaturePipelineParams::default(),
            min_class_count: 20,
            exclude_leaks: false,
            allow_weak: false,
            tiers: vec![
                ("A".to_owned(), 0.10),
                ("B".to_owned(), 0.20),
                ("C".to_owned(), 0.30),
                ("D".to_owned(), 0.40),
            ],
            name: "model".to_owned(),
        }
    }
}

impl TrainParams {
    /// Default settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Model kinds to try.
    pub fn models(mut self, models: Vec<ModelKind>) -> Self {
        self.models = models;
        self
    }

    /// Validation scheme.
    pub fn validation(mut self, validation: Validation) -> Self {
        self.validation = validation;
        self
    }

    /// Share of closed leads held out for test metrics (0 = none).
    pub fn test_fraction(mut self, fraction: f64) -> Self {
        self.test_fraction = fraction;
        self
    }

    /// How the test part is chosen.
    pub fn test_split(mut self, split: SplitKind) -> Self {
        self.test_split = split;
        self
    }

    /// Seed of splits and models.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Feature pipeline settings.
    pub fn features(mut self, features: FeaturePipelineParams) -> Self {
        self.features = features;
        self
    }

    /// Fewest won and fewest lost leads accepted.
    pub fn min_class_count(mut self, count: usize) -> Self {
        self.min_class_count = count;
        self
    }

    /// Drop columns flagged as leaks instead of only warning.
    pub fn exclude_leaks(mut self, exclude: bool) -> Self {
        self.exclude_leaks = exclude;
        self
    }

    /// Write the model even when it is no better than chance or than one column alone.
    pub fn allow_weak(mut self, allow: bool) -> Self {
        self.allow_weak = allow;
        self
    }

    /// Tier names and the share of training leads in each, best tier first.
    pub fn tiers(mut self, tiers: Vec<(String, f64)>) -> Self {
        self.tiers = tiers;
        self
    }

    /// Model name written in the artifact.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Validates the settings.
    pub fn check(self) -> Result<ValidTrainParams, TrainError> {
        let invalid = |name, value: String, reason| {
            Err(TrainError::InvalidParam {
                name,
                value,
                reason,
            })
        };
        if self.models.is_empty() {
            return invalid(
                "models",
                "[]".to_owned(),
                "at least one of logistic, tree, gbdt",
            );
        }
        if !(0.0..0.9).contains(&self.test_fraction) {
            return invalid(
                "test_fraction",
                self.test_fraction.to_string(),
                "in [0, 0.9)",
            );
        }
        match self.validation {
            Validation::KFold { folds } | Validation::Auto { folds, .. }
                if !(2..=20).contains(&folds) =>
            {
                return invalid("folds", folds.to_string(), "between 2 and 20");
            }
            Validation::Time { fraction } | Validation::Auto { fraction, .. }
                if !(fraction > 0.0 && fraction < 0.9) =>
            {
                return invalid("validation fraction", fraction.to_string(), "in (0, 0.9)");
            }
            _ => {}
        }
        let total: f64 = self.tiers.iter().map(|(_, share)| share).sum();
        if self.tiers.is_empty()
            || self.tiers.iter().any(|(_, s)| *s <= 0.0)
            || (total - 1.0).abs() > 1e-6
        {
            return invalid(
                "tiers",
                format!("{:?}", self.tiers),
                "positive shares adding up to 1",
            );
        }
        if self.min_class_count < 2 {
            return invalid(
                "min_class_count",
                self.min_class_count.to_string(),
                "at least 2",
            );
        }
        let features = self.features.clone().check()?;
        Ok(ValidTrainParams {
            params: self,
            features,
        })
    }
}

/// Checked training settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidTrainParams {
    params: TrainParams,
    features: ValidFeaturePipelineParams,
}

/// Progress of a training run, for progress bars.
#[derive(Debug, Clone, PartialEq)]
pub enum TrainProgress {
    /// Model search starts: `total` candidate fits.
    SearchStarted {
        /// Fits to run.
        total: usize,
    },
    /// One candidate fit finished.
    FitDone {
        /// Candidate description.
        candidate: String,
    },
    /// A later stage starts.
    Stage(&'static str),
}

/// The data to train on.
#[derive(Debug, Clone, Copy)]
pub struct TrainInput<'a> {
    /// Leads with outcomes.
    pub leads: &'a LeadsTable,
    /// Their events.
    pub events: Option<&'a EventLog>,
    /// Time at which open leads' features are taken (they are not trained on).
    pub scoring_time: i64,
}

/// A trained model with everything training found.
#[derive(Debug, Clone)]
pub struct TrainOutcome {
    /// The artifact to save.
    pub artifact: ModelArtifact,
    /// Predictive signal of each explicit column.
    pub column_signals: Vec<ColumnSignal>,
}

/// What the model search found: every candidate's validation figures and out-of-fold log-odds.
struct Search {
    candidates: Vec<ModelParams>,
    leaderboard: Vec<CandidateResult>,
    /// Out-of-fold log-odds of each candidate, one per validated row.
    logits: Vec<Vec<f64>>,
    /// Rows validated, in the order of `logits`.
    validated: Vec<usize>,
    /// Models fitted per fold, for each candidate.
    fold_models: Vec<Vec<Model>>,
    scheme: String,
}

impl Search {
    /// The candidate with the best validation AUC (lower log loss breaks ties).
    fn best(&self) -> usize {
        (0..self.leaderboard.len())
            .max_by(|&a, &b| {
                let (a, b) = (&self.leaderboard[a], &self.leaderboard[b]);
                a.auc
                    .total_cmp(&b.auc)
                    .then_with(|| b.log_loss.total_cmp(&a.log_loss))
            })
            .unwrap_or(0)
    }
}

/// The chosen candidate's calibration, fitted on its out-of-fold log-odds.
struct Calibrated {
    calibration: Calibration,
    /// Calibrated out-of-fold probabilities of the validated rows.
    probabilities: Vec<f64>,
    /// Outcomes of the validated rows.
    labels: Vec<bool>,
}

/// The chosen model refitted on every development lead, with the pipeline it reads.
struct FinalFit {
    pipeline: FittedFeaturePipeline,
    model: Model,
    matrix: FeatureMatrix,
    development_x: Array2<f64>,
    test: Option<BinaryMetrics>,
    value: Option<DealValue>,
}

impl ValidTrainParams {
    /// Trains, validates and calibrates a model.
    pub fn train(
        &self,
        input: TrainInput<'_>,
        progress: &mut dyn FnMut(TrainProgress),
    ) -> Result<TrainOutcome, TrainError> {
        let started = Instant::now();
        let p = &self.params;
        let leads = input.leads;
        leads.require_both_classes()?;
        let labels = leads.won_mask();
        let (development, test) = hold_out(
            &leads.closed_rows(),
            &labels,
            leads.closed_at.as_deref(),
            p.test_split,
            p.test_fraction,
            p.seed,
        );
        let won = development.iter().filter(|&&r| labels[r]).count();
        let lost = development.len() - won;
        if won < p.min_class_count || lost < p.min_class_count {
            return Err(TrainError::TooFewOutcomes {
                won,
                lost,
                minimum: p.min_class_count,
            });
        }

        progress(TrainProgress::Stage("checking columns for leaks"));
        let (column_signals, mut leak_warnings) = check_leaks(leads, &development, &labels, p.seed);
        let excluded_leaks: Vec<String> = if p.exclude_leaks {
            leak_warnings.iter_mut().for_each(|w| w.excluded = true);
            leak_warnings.iter().map(|w| w.column.clone()).collect()
        } else {
            Vec::new()
        };
        let trimmed;
        let leads = if excluded_leaks.is_empty() {
            leads
        } else {
            trimmed =
                leads.without_columns(&excluded_leaks, "likely leak (excluded by --exclude-leaks)");
            &trimmed
        };
        let input = TrainInput { leads, ..input };

        let search = self.search(input, &development, &labels, progress)?;
        let best = search.best();
        let weak = weakness(&search, best, &labels, &column_signals, &leak_warnings);
        if let Some(reason) = &weak
            && !p.allow_weak
        {
            return Err(TrainError::WeakModel {
                reason: reason.clone(),
            });
        }
        progress(TrainProgress::Stage("calibrating"));
        let calibrated = calibrate(&search, best, &labels);
        progress(TrainProgress::Stage(
            "fitting the chosen model on all development leads",
        ));
        let fitted = self.final_fit(
            input,
            &search,
            best,
            &calibrated,
            (&development, &test),
            &labels,
        )?;

        progress(TrainProgress::Stage("computing importance"));
        let report = TrainingReport {
            leak_warnings,
            events_after_as_of: fitted.matrix.event_counts.after_as_of,
            duplicate_events: fitted.matrix.event_counts.duplicates,
            development_rows: development.len(),
            test_rows: test.len(),
            seconds: started.elapsed().as_secs_f64(),
            weak,
        };
        let artifact = self.assemble(input, search, best, calibrated, fitted, report)?;
        Ok(TrainOutcome {
            artifact,
            column_signals,
        })
    }

    /// Fits every candidate on every validation fold (the feature pipeline refitted on each
    /// fold's training rows) and ranks them by their out-of-fold predictions.
    fn search(
        &self,
        input: TrainInput<'_>,
        development: &[usize],
        labels: &[bool],
        progress: &mut dyn FnMut(TrainProgress),
    ) -> Result<Search, TrainError> {
        let p = &self.params;
        let leads = input.leads;
        let plan = validation_folds(
            development,
            labels,
            leads.closed_at.as_deref(),
            p.validation,
            p.seed,
        );
        let candidates: Vec<ModelParams> = p
            .models
            .iter()
            .flat_map(|&kind| ModelParams::candidates(kind, development.len(), p.seed))
            .collect();
        progress(TrainProgress::SearchStarted {
            total: candidates.len() * plan.folds.len(),
        });
        let mut out_of_fold = vec![vec![f64::NAN; leads.len()]; candidates.len()];
        let mut fit_seconds = vec![0.0; candidates.len()];
        let mut fold_models = vec![Vec::new(); candidates.len()];
        for (train_rows, valid_rows) in &plan.folds {
            progress(TrainProgress::Stage("building the fold's features"));
            let pipeline = self.features.fit(leads, input.events, train_rows);
            let matrix = pipeline.transform_for_fitting(
                leads,
                input.events,
                input.scoring_time,
                train_rows,
            )?;
            let info = pipeline.features();
            progress(TrainProgress::Stage("fitting the candidates"));
            let (train_x, train_y) = select(&matrix, labels, train_rows);
            let (valid_x, valid_y) = select(&matrix, labels, valid_rows);
            let train = TrainingData::new(train_x.view(), &train_y, &info);
            let valid = TrainingData::new(valid_x.view(), &valid_y, &info);
            // Candidates are independent: fit them side by side (linfa's solvers are
            // single-threaded), and tell the progress display of each as it finishes.
            let (finished, finished_fits) = mpsc::channel::<usize>();
            let fits: Vec<(Model, f64)> = std::thread::scope(|scope| {
                let fitting = scope.spawn(|| {
                    candidates
                        .par_iter()
                        .enumerate()
                        .map_with(finished, |finished, (c, candidate)| {
                            let clock = Instant::now();
                            let fit = candidate
                                .fit(&train, Some(&valid))
                                .map(|model| (model, clock.elapsed().as_secs_f64()));
                            // The receiver outlives the fits; a failed send only means it is gone.
                            let _ = finished.send(c);
                            fit
                        })
                        .collect::<Result<Vec<_>, _>>()
                });
                for c in finished_fits {
                    progress(TrainProgress::FitDone {
                        candidate: format!("{} {}", candidates[c].kind(), candidates[c].describe()),
                    });
                }
                fitting
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })?;
            for (c, (model, seconds)) in fits.into_iter().enumerate() {
                fit_seconds[c] += seconds / plan.folds.len() as f64;
                for (&row, logit) in valid_rows.iter().zip(model.predict_logits(valid_x.view())) {
                    out_of_fold[c][row] = logit;
                }
                fold_models[c].push(model);
            }
        }
        let validated: Vec<usize> = plan
            .folds
            .iter()
            .flat_map(|(_, v)| v.iter().copied())
            .collect();
        let validated_labels: Vec<bool> = validated.iter().map(|&r| labels[r]).collect();
        let logits: Vec<Vec<f64>> = out_of_fold
            .iter()
            .map(|all| validated.iter().map(|&r| all[r]).collect())
            .collect();
        let leaderboard = candidates
            .iter()
            .zip(&logits)
            .zip(&fit_seconds)
            .map(|((candidate, logits), &seconds)| {
                let calibration = PlattCalibration::fit(logits, &validated_labels);
                let probabilities: Vec<f64> =
                    logits.iter().map(|&l| calibration.probability(l)).collect();
                CandidateResult {
                    kind: candidate.kind(),
                    params: candidate.describe(),
                    auc: roc_auc(logits, &validated_labels).unwrap_or(f64::NAN),
                    pr_auc: average_precision(logits, &validated_labels).unwrap_or(f64::NAN),
                    log_loss: log_loss(&probabilities, &validated_labels),
                    fit_seconds: seconds,
                    chosen: false,
                }
            })
            .collect();
        Ok(Search {
            candidates,
            leaderboard,
            logits,
            validated,
            fold_models,
            scheme: plan.description,
        })
    }

    /// Refits the chosen candidate on every development lead and measures it once on the test
    /// part, if any.
    fn final_fit(
        &self,
        input: TrainInput<'_>,
        search: &Search,
        best: usize,
        calibrated: &Calibrated,
        (development, test): (&[usize], &[usize]),
        labels: &[bool],
    ) -> Result<FinalFit, TrainError> {
        let validated: Vec<&Model> = search.fold_models[best].iter().collect();
        let params = search.candidates[best].for_final_fit(&validated);
        let pipeline = self.features.fit(input.leads, input.events, development);
        let matrix = pipeline.transform_for_fitting(
            input.leads,
            input.events,
            input.scoring_time,
            development,
        )?;
        let info = pipeline.features();
        let (development_x, development_y) = select(&matrix, labels, development);
        let model = params.fit(
            &TrainingData::new(development_x.view(), &development_y, &info),
            None,
        )?;
        let test = (!test.is_empty()).then(|| {
            let (test_x, test_y) = select(&matrix, labels, test);
            let probabilities: Vec<f64> = model
                .predict_logits(test_x.view())
                .iter()
                .map(|&l| calibrated.calibration.probability(l))
                .collect();
            BinaryMetrics::compute(&probabilities, &test_y)
        });
        // A won deal's value, learned from the development leads' amounts (`--value`).
        let value = match (&input.leads.deal_values, &input.leads.value_column) {
            (Some(values), Some(column)) => {
                let won: Vec<usize> = development
                    .iter()
                    .copied()
                    .filter(|&r| values[r].is_some())
                    .collect();
                let amounts: Vec<f64> = won.iter().filter_map(|&r| values[r]).collect();
                let model = ValueParams::new().check()?.fit(
                    matrix.values.select(Axis(0), &won).view(),
                    &amounts,
                    &info,
                )?;
                Some(DealValue {
                    column: column.clone(),
                    model,
                })
            }
            _ => None,
        };
        Ok(FinalFit {
            pipeline,
            model,
            matrix,
            development_x,
            test,
            value,
        })
    }

    /// Builds the model file: schema, fingerprint, percentiles, tiers, metrics and importance.
    fn assemble(
        &self,
        input: TrainInput<'_>,
        search: Search,
        best: usize,
        calibrated: Calibrated,
        fitted: FinalFit,
        report: TrainingReport,
    ) -> Result<ModelArtifact, TrainError> {
        let p = &self.params;
        let mut leaderboard = search.leaderboard;
        leaderboard[best].chosen = true;
        let percentiles = quantiles(&calibrated.probabilities, 1001);
        let tiers = tier_cuts(&p.tiers, &percentiles);
        let now = chrono::Utc::now();
        let artifact = ModelArtifact::new(ArtifactParts {
            name: p.name.clone(),
            version: now.format("%Y%m%d-%H%M%S").to_string(),
            created_at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            training_data: fingerprint(input.leads, input.events),
            schema: schema(input.leads),
            features: fitted.pipeline,
            model: fitted.model,
            calibration: calibrated.calibration,
            validation: ValidationReport {
                scheme: search.scheme,
                metrics: BinaryMetrics::compute(&calibrated.probabilities, &calibrated.labels),
            },
            test: fitted.test,
            leaderboard,
            tiers,
            percentiles,
            importance: Vec::new(),
            report,
        })?;
        let importance = importance(&artifact, &fitted.development_x);
        let profiles = profile_columns(artifact.features(), fitted.development_x.view());
        let artifact = artifact
            .with_importance(importance)
            .with_column_profiles(profiles);
        Ok(match fitted.value {
            Some(value) => artifact.with_value(value)?,
            None => artifact,
        })
    }
}

/// Why the chosen candidate is weak, if it is: its validation AUC's 95% interval includes 0.5 (no
/// better than chance), or lies wholly below the interval of what one column alone reaches (worse
/// than the simplest baseline; columns flagged as leaks do not count). Both figures are noisy
/// estimates, so only intervals that do not overlap count.
fn weakness(
    search: &Search,
    best: usize,
    labels: &[bool],
    signals: &[ColumnSignal],
    leaks: &[leadscore_artifact::LeakWarning],
) -> Option<String> {
    let auc = search.leaderboard[best].auc;
    let positives = search.validated.iter().filter(|&&r| labels[r]).count();
    let (low, high) = auc_interval(auc, positives, search.validated.len() - positives);
    if !auc.is_finite() || low <= 0.5 {
        return Some(format!(
            "the best model is no better than chance: validation AUC {auc:.3}, 95% interval {low:.3} to {high:.3} includes 0.5 — check the outcome values and the columns, or collect more closed leads"
        ));
    }
    let baseline = signals
        .iter()
        .filter(|s| !leaks.iter().any(|l| l.column == s.column))
        .max_by(|a, b| a.single_auc.total_cmp(&b.single_auc))?;
    let (baseline_low, baseline_high) = auc_interval(
        baseline.single_auc,
        positives,
        search.validated.len() - positives,
    );
    (high < baseline_low).then(|| {
        format!(
            "the best model is worse than the simplest baseline: validation AUC {auc:.3} (95% interval {low:.3} to {high:.3}) while `{}` alone reaches {:.3} ({baseline_low:.3} to {baseline_high:.3})",
            baseline.column, baseline.single_auc
        )
    })
}

/// Calibration of the chosen candidate (Platt or isotonic, whichever has the lower
/// cross-validated log loss), fitted on its out-of-fold log-odds.
fn calibrate(search: &Search, best: usize, labels: &[bool]) -> Calibrated {
    let labels: Vec<bool> = search.validated.iter().map(|&r| labels[r]).collect();
    let logits = &search.logits[best];
    let calibration = Calibration::choose(logits, &labels);
    Calibrated {
        probabilities: logits.iter().map(|&l| calibration.probability(l)).collect(),
        calibration,
        labels,
    }
}

fn select(matrix: &FeatureMatrix, labels: &[bool], rows: &[usize]) -> (Array2<f64>, Vec<bool>) {
    (
        matrix.values.select(Axis(0), rows),
        rows.iter().map(|&r| labels[r]).collect(),
    )
}

/// Probability cut points giving each tier its share of training leads, best tier first.
fn tier_cuts(tiers: &[(String, f64)], percentiles: &[f64]) -> Vec<Tier> {
    let last = percentiles.len() - 1;
    let mut above = 0.0;
    tiers
        .iter()
        .enumerate()
        .map(|(i, (name, share))| {
            above += share;
            let min_probability = if i + 1 == tiers.len() {
                0.0
            } else {
                let index = ((1.0 - above) * last as f64).round() as usize;
                percentiles[index.min(last)]
            };
            Tier {
                name: name.clone(),
                min_probability,
                share: *share,
            }
        })
        .collect()
}

/// Mean absolute calibrated contribution per source over up to 2,000 development leads.
fn importance(artifact: &ModelArtifact, x: &Array2<f64>) -> Vec<Importance> {
    let step = x.nrows().div_ceil(2000).max(1);
    let rows: Vec<Vec<f64>> = x
        .rows()
        .into_iter()
        .step_by(step)
        .map(|r| r.to_vec())
        .collect();
    let mut totals: Vec<Importance> = Vec::new();
    for row in &rows {
        let (_, contributions) = artifact.source_contributions(row);
        for (source, value) in contributions {
            match totals.iter_mut().find(|t| t.source == source) {
                Some(total) => total.mean_abs_contribution += value.abs(),
                None => totals.push(Importance {
                    source,
                    mean_abs_contribution: value.abs(),
                }),
            }
        }
    }
    for total in &mut totals {
        total.mean_abs_contribution /= rows.len().max(1) as f64;
    }
    totals.sort_by(|a, b| b.mean_abs_contribution.total_cmp(&a.mean_abs_contribution));
    totals
}

fn fingerprint(leads: &LeadsTable, events: Option<&EventLog>) -> DataFingerprint {
    let closed_times: Vec<i64> = leads
        .closed_at
        .as_ref()
        .map(|times| {
            times
                .iter()
                .zip(&leads.outcomes)
                .filter(|(_, o)| **o != Outcome::Open)
                .filter_map(|(t, _)| *t)
                .collect()
        })
        .unwrap_or_default();
    DataFingerprint {
        leads_file: leads.path.display().to_string(),
        leads_sha256: file_sha256(&leads.path),
        events_file: events.map(|e| e.path.display().to_string()),
        events_sha256: events.map(|e| file_sha256(&e.path)),
        rows: leads.len(),
        won: leads.count(Outcome::Won),
        lost: leads.count(Outcome::Lost),
        open: leads.count(Outcome::Open),
        positive_rate: leads.positive_rate(),
        closed_range: closed_times
            .iter()
            .min()
            .zip(closed_times.iter().max())
            .map(|(a, b)| (format_date(*a), format_date(*b))),
        events: events.map(EventLog::len),
    }
}

fn schema(leads: &LeadsTable) -> InputSchema {
    InputSchema {
        id_column: leads.id_column.clone(),
        target: leads.target.clone(),
        outcome_values: leads.outcome_values.clone(),
        created_at: leads.created_column.clone(),
        closed_at: leads.closed_column.clone(),
        missing_values: leads.missing.clone(),
        excluded: leads
            .excluded
            .iter()
            .map(|e| (e.name.clone(), e.reason.clone()))
            .collect(),
    }
}
