//! The model artifact: one self-describing JSON file per trained model.
//!
//! It holds everything needed to score and explain a lead — the input schema, the fitted feature
//! pipeline, the model's weights or trees, the calibration, tier cut points and the training
//! leads' score distribution — plus what a reviewer needs to trust it: a fingerprint of the
//! training data, validation and test metrics, the leaderboard of candidates and leak warnings.
//! It is plain data: loading it never executes anything.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use leadscore_data::{ColumnKind, LeadsOptions, MissingTokens, OutcomeValues};
use leadscore_features::{FeatureInfo, FeatureSource, FittedFeaturePipeline};
use leadscore_metrics::BinaryMetrics;
use leadscore_models::{Model, ModelKind, PlattCalibration};
use serde::{Deserialize, Serialize};

use crate::error::TrainError;

/// Value of the `format` field.
pub const FORMAT: &str = "leadscore-model";
/// Version of the file layout this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// Where the training data came from and what it looked like.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataFingerprint {
    /// Leads file as given.
    pub leads_file: String,
    /// SHA-256 of the leads file's bytes.
    pub leads_sha256: String,
    /// Events file as given.
    pub events_file: Option<String>,
    /// SHA-256 of the events file's bytes.
    pub events_sha256: Option<String>,
    /// Leads in the file.
    pub rows: usize,
    /// Won leads.
    pub won: usize,
    /// Lost leads.
    pub lost: usize,
    /// Open leads (not trained on).
    pub open: usize,
    /// Won share of closed leads.
    pub positive_rate: f64,
    /// First and last close date of closed leads.
    pub closed_range: Option<(String, String)>,
    /// Events joined to leads.
    pub events: Option<usize>,
}

/// How input files and requests must look.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputSchema {
    /// Id column (`None`: row numbers).
    pub id_column: Option<String>,
    /// Outcome column.
    pub target: String,
    /// Outcome values.
    pub outcome_values: OutcomeValues,
    /// Creation date column, when used.
    pub created_at: Option<String>,
    /// Close date column, when used.
    pub closed_at: Option<String>,
    /// Placeholders read as missing.
    pub missing_values: MissingTokens,
    /// Columns present at training time but not used, with the reason.
    pub excluded: Vec<(String, String)>,
}

/// One candidate of the model search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidateResult {
    /// Model family.
    pub kind: ModelKind,
    /// Hyper-parameters tried.
    pub params: String,
    /// Validation AUC (out-of-fold).
    #[serde(with = "leadscore_metrics::nan_as_null")]
    pub auc: f64,
    /// Validation PR AUC.
    #[serde(with = "leadscore_metrics::nan_as_null")]
    pub pr_auc: f64,
    /// Validation log loss after calibration.
    pub log_loss: f64,
    /// Mean seconds per fit.
    pub fit_seconds: f64,
    /// Whether this candidate was chosen.
    pub chosen: bool,
}

/// Validation outcome of the chosen model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationReport {
    /// Scheme used ("5-fold stratified cross-validation", "time split ...").
    pub scheme: String,
    /// Metrics of calibrated out-of-sample predictions.
    pub metrics: BinaryMetrics,
}

/// A named band of probabilities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tier {
    /// Tier name (A, B, C, D).
    pub name: String,
    /// Lowest calibrated probability in the tier.
    pub min_probability: f64,
    /// Share of training leads in the tier.
    pub share: f64,
}

/// How much a source moves scores, on average.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Importance {
    /// Column or event type.
    pub source: FeatureSource,
    /// Mean absolute contribution to calibrated log-odds.
    pub mean_abs_contribution: f64,
}

/// A column that looks like a leak.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeakWarning {
    /// Column name.
    pub column: String,
    /// AUC of the column alone (out-of-fold target encoding).
    pub single_auc: f64,
    /// Why it looks like a leak.
    pub reason: String,
    /// Whether it was excluded from training.
    pub excluded: bool,
}

/// What training saw and decided, beyond metrics.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainingReport {
    /// Leak warnings.
    pub leak_warnings: Vec<LeakWarning>,
    /// Events at or after their lead's as-of time (ignored by the features).
    pub events_after_as_of: usize,
    /// Exact duplicate events (counted once).
    pub duplicate_events: usize,
    /// Closed leads used for model selection and the final fit.
    pub development_rows: usize,
    /// Closed leads held out for the test metrics.
    pub test_rows: usize,
    /// Seconds the whole training took.
    pub seconds: f64,
}

/// A trained model and everything about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelArtifact {
    /// Always [`FORMAT`].
    pub format: String,
    /// Layout version, [`FORMAT_VERSION`].
    pub format_version: u32,
    /// leadscore version that wrote it.
    pub leadscore_version: String,
    /// Model name.
    pub name: String,
    /// Model version (UTC timestamp of training, `YYYYMMDD-HHMMSS`).
    pub version: String,
    /// RFC 3339 creation time.
    pub created_at: String,
    /// Training data fingerprint.
    pub training_data: DataFingerprint,
    /// Input schema.
    pub schema: InputSchema,
    /// Fitted feature pipeline (column encoders and vocabularies, event features).
    pub features: FittedFeaturePipeline,
    /// Description of each model input.
    pub feature_info: Vec<FeatureInfo>,
    /// The model.
    pub model: Model,
    /// Probability calibration.
    pub calibration: PlattCalibration,
    /// Validation metrics.
    pub validation: ValidationReport,
    /// Test metrics on held-out leads, when a test part was set aside.
    pub test: Option<BinaryMetrics>,
    /// Every candidate tried.
    pub leaderboard: Vec<CandidateResult>,
    /// Tier cut points, best tier first.
    pub tiers: Vec<Tier>,
    /// Calibrated probabilities of training leads at every 0.1 percentile (1001 values).
    pub percentiles: Vec<f64>,
    /// Global importance by source, largest first.
    pub importance: Vec<Importance>,
    /// Training report.
    pub report: TrainingReport,
    /// Feature-to-source grouping, derived from `feature_info` on first use.
    #[serde(skip)]
    pub(crate) sources: Derived<SourceLayout>,
}

/// Data derived from saved fields on first use: never saved, ignored by equality.
#[derive(Debug)]
pub(crate) struct Derived<T>(OnceLock<T>);

impl<T> Default for Derived<T> {
    fn default() -> Self {
        Self(OnceLock::new())
    }
}

impl<T: Clone> Clone for Derived<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T> PartialEq for Derived<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// Which source each feature belongs to, and where a behaviour source's summary features are.
#[derive(Debug, Clone)]
pub(crate) struct SourceLayout {
    sources: Vec<FeatureSource>,
    of_feature: Vec<usize>,
    /// Per source: columns of `count`, `count_30d` and `days_since_last` (behaviour sources).
    summary: Vec<[Option<usize>; 3]>,
}

impl SourceLayout {
    fn of(feature_info: &[FeatureInfo]) -> Self {
        let mut sources: Vec<FeatureSource> = Vec::new();
        let mut of_feature = Vec::with_capacity(feature_info.len());
        for info in feature_info {
            let index = sources
                .iter()
                .position(|s| *s == info.source)
                .unwrap_or_else(|| {
                    sources.push(info.source.clone());
                    sources.len() - 1
                });
            of_feature.push(index);
        }
        let summary = sources
            .iter()
            .map(|source| match source {
                FeatureSource::Attribute(_) => [None; 3],
                FeatureSource::Behaviour(event_type) => ["count", "count_30d", "days_since_last"]
                    .map(|suffix| {
                        feature_info.iter().position(|f| {
                            f.name
                                .strip_prefix(event_type.as_str())
                                .and_then(|rest| rest.strip_prefix('.'))
                                == Some(suffix)
                        })
                    }),
            })
            .collect();
        Self {
            sources,
            of_feature,
            summary,
        }
    }
}

/// One reason behind a score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Reason {
    /// Column or event type.
    pub source: String,
    /// `attribute` or `behaviour`.
    pub kind: String,
    /// The lead's value, in words (`vp`, `missing`, `4 events, 2 in the last 30 days, last 3 days ago`).
    pub value: String,
    /// Contribution to calibrated log-odds (positive raises the probability).
    pub contribution: f64,
}

/// The model's view of one lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelScore {
    /// Calibrated probability of winning.
    pub probability: f64,
    /// Share of training leads scoring at or below it, 0–100.
    pub percentile: f64,
    /// Tier name.
    pub tier: String,
}

/// Reasons of one score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Explanation {
    /// Calibrated log-odds of the average training lead.
    pub base_logit: f64,
    /// Largest positive contributions, largest first.
    pub positive: Vec<Reason>,
    /// Largest negative contributions, most negative first.
    pub negative: Vec<Reason>,
}

#[derive(Deserialize)]
struct Header {
    format: Option<String>,
    format_version: Option<u32>,
}

impl ModelArtifact {
    /// Writes the artifact atomically: a temporary file in the same folder, then a rename, so a
    /// server watching the path never reads half a file.
    pub fn save(&self, path: &Path) -> Result<(), TrainError> {
        let fail = |message: String| TrainError::Artifact {
            path: path.to_path_buf(),
            message,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| fail(format!("cannot create folder: {e}")))?;
        }
        let json =
            serde_json::to_vec_pretty(self).map_err(|e| fail(format!("cannot serialise: {e}")))?;
        let temporary = temporary_path(path);
        let write = || -> std::io::Result<()> {
            let mut file = File::create(&temporary)?;
            file.write_all(&json)?;
            file.sync_all()?;
            std::fs::rename(&temporary, path)
        };
        write().map_err(|e| {
            std::fs::remove_file(&temporary).ok();
            fail(format!("cannot write: {e}"))
        })
    }

    /// Reads and checks an artifact.
    pub fn load(path: &Path) -> Result<Self, TrainError> {
        let fail = |message: String| TrainError::Artifact {
            path: path.to_path_buf(),
            message,
        };
        let bytes = std::fs::read(path).map_err(|e| fail(format!("cannot read: {e}")))?;
        Self::from_slice(&bytes).map_err(fail)
    }

    /// Parses and checks an artifact from bytes; the error says what is wrong.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, String> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err("the file is empty".to_owned());
        }
        let header: Header = serde_json::from_slice(bytes)
            .map_err(|e| format!("not a leadscore model (truncated or corrupt JSON: {e})"))?;
        if header.format.as_deref() != Some(FORMAT) {
            return Err(format!(
                "not a leadscore model (format is {:?}, expected \"{FORMAT}\")",
                header.format
            ));
        }
        match header.format_version {
            Some(FORMAT_VERSION) => {}
            Some(other) => {
                return Err(format!(
                    "format version {other} is not supported by this leadscore ({}), which reads version {FORMAT_VERSION}; retrain the model or use a matching leadscore",
                    env!("CARGO_PKG_VERSION")
                ));
            }
            None => return Err("no format_version field".to_owned()),
        }
        let artifact: Self =
            serde_json::from_slice(bytes).map_err(|e| format!("invalid model contents: {e}"))?;
        artifact.check()?;
        Ok(artifact)
    }

    fn check(&self) -> Result<(), String> {
        let expected = self.features.n_features();
        if self.feature_info.len() != expected {
            return Err(format!(
                "the pipeline produces {expected} features but {} are described",
                self.feature_info.len()
            ));
        }
        let model_inputs = match &self.model {
            Model::Logistic(m) => m.encoder.features.len(),
            Model::DecisionTree(m) => m.encoder.features.len(),
            Model::Gbdt(m) => m.n_features,
        };
        if model_inputs != expected {
            return Err(format!(
                "the model expects {model_inputs} features but the pipeline produces {expected}"
            ));
        }
        if !(self.calibration.slope.is_finite() && self.calibration.intercept.is_finite()) {
            return Err("the calibration is not finite".to_owned());
        }
        if self.percentiles.len() < 2 || self.percentiles.windows(2).any(|w| w[0] > w[1]) {
            return Err("the percentile table is not sorted".to_owned());
        }
        if self.tiers.is_empty() {
            return Err("no tiers".to_owned());
        }
        Ok(())
    }

    /// How to read a data file so that it matches this model's schema: the model's column types,
    /// id, outcome and date columns and missing placeholders, unless `given` sets them.
    pub fn leads_options(&self, given: &LeadsOptions) -> LeadsOptions {
        let defaults = LeadsOptions::default();
        let mut options = given.clone();
        if options.id_column.is_none() {
            options.id_column = self.schema.id_column.clone();
        }
        if options.target == defaults.target {
            options.target = self.schema.target.clone();
        }
        if options.positive.is_empty() {
            options.positive = self.schema.outcome_values.positive.clone();
        }
        if options.negative.is_empty() {
            options.negative = self.schema.outcome_values.negative.clone();
        }
        if options.created_at.is_none() {
            options.created_at = self.schema.created_at.clone();
        }
        if options.closed_at.is_none() {
            options.closed_at = self.schema.closed_at.clone();
        }
        if options.missing == defaults.missing {
            options.missing = self.schema.missing_values.clone();
        }
        options.type_hints = self
            .features
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.kind))
            .collect::<Vec<(String, ColumnKind)>>();
        options
    }

    /// Calibrated probability of a feature row.
    pub fn probability(&self, row: &[f64]) -> f64 {
        self.calibration.probability(self.model.predict_logit(row))
    }

    /// Share of training leads (0–100) scoring at or below `probability`.
    pub fn percentile(&self, probability: f64) -> f64 {
        let table = &self.percentiles;
        let last = table.len() - 1;
        let above = table.partition_point(|&p| p <= probability);
        if above == 0 {
            return 0.0;
        }
        if above > last {
            return 100.0;
        }
        let (low, high) = (table[above - 1], table[above]);
        let within = if high > low {
            (probability - low) / (high - low)
        } else {
            0.0
        };
        100.0 * ((above - 1) as f64 + within) / last as f64
    }

    /// Tier of a probability.
    pub fn tier(&self, probability: f64) -> &str {
        self.tiers
            .iter()
            .find(|t| probability >= t.min_probability)
            .or(self.tiers.last())
            .map_or("", |t| t.name.as_str())
    }

    /// Probability, percentile and tier of a feature row.
    pub fn score(&self, row: &[f64]) -> ModelScore {
        let probability = self.probability(row);
        ModelScore {
            probability,
            percentile: self.percentile(probability),
            tier: self.tier(probability).to_owned(),
        }
    }

    /// Contributions of each source to the calibrated log-odds: (bias, per-source values).
    /// `bias + Σ values` equals the calibrated log-odds of the row.
    pub fn source_contributions(&self, row: &[f64]) -> (f64, Vec<(FeatureSource, f64)>) {
        let (base, totals) = self.source_totals(row);
        let layout = self.layout();
        (base, layout.sources.iter().cloned().zip(totals).collect())
    }

    fn layout(&self) -> &SourceLayout {
        self.sources
            .0
            .get_or_init(|| SourceLayout::of(&self.feature_info))
    }

    /// Calibrated base log-odds and each source's contribution, indexed like the layout.
    fn source_totals(&self, row: &[f64]) -> (f64, Vec<f64>) {
        let contributions = self.model.contributions(row);
        let slope = self.calibration.slope;
        let layout = self.layout();
        let mut totals = vec![0.0; layout.sources.len()];
        for (&source, value) in layout.of_feature.iter().zip(&contributions.values) {
            totals[source] += slope * value;
        }
        (self.calibration.logit(contributions.bias), totals)
    }

    /// The top `top` positive and negative reasons of a feature row.
    pub fn explain(&self, row: &[f64], top: usize) -> Explanation {
        let (base_logit, totals) = self.source_totals(row);
        let mut order: Vec<usize> = (0..totals.len())
            .filter(|&s| totals[s].abs() > 1e-9)
            .collect();
        order.sort_by(|&a, &b| totals[b].total_cmp(&totals[a]));
        let reason = |source: usize| {
            let layout = self.layout();
            let kind = match layout.sources[source] {
                FeatureSource::Attribute(_) => "attribute",
                FeatureSource::Behaviour(_) => "behaviour",
            };
            Reason {
                source: layout.sources[source].name().to_owned(),
                kind: kind.to_owned(),
                value: self.describe_source(source, row),
                contribution: totals[source],
            }
        };
        let positive = order
            .iter()
            .copied()
            .filter(|&s| totals[s] > 0.0)
            .take(top)
            .map(reason)
            .collect();
        let negative = order
            .iter()
            .rev()
            .copied()
            .filter(|&s| totals[s] < 0.0)
            .take(top)
            .map(reason)
            .collect();
        Explanation {
            base_logit,
            positive,
            negative,
        }
    }

    /// A lead's value of a source in words.
    fn describe_source(&self, source: usize, row: &[f64]) -> String {
        let layout = self.layout();
        match &layout.sources[source] {
            FeatureSource::Attribute(name) => self
                .features
                .columns
                .iter()
                .position(|c| &c.name == name)
                .map(|j| self.features.columns[j].describe_value(row[j]))
                .unwrap_or_default(),
            FeatureSource::Behaviour(_) => {
                let [count, recent, days] = layout.summary[source].map(|j| j.map(|j| row[j]));
                let count = count.unwrap_or(0.0);
                if count == 0.0 {
                    return "none".to_owned();
                }
                let mut text = format!("{count:.0} event{}", if count == 1.0 { "" } else { "s" });
                if let Some(recent) = recent {
                    text.push_str(&format!(", {recent:.0} in the last 30 days"));
                }
                if let Some(days) = days.filter(|d| d.is_finite()) {
                    text.push_str(&format!(", last {days:.0} days ago"));
                }
                text
            }
        }
    }
}

fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(format!(".tmp-{}", std::process::id()));
    path.with_file_name(name)
}
