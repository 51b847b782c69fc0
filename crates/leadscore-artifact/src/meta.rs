//! What a model file records about its training, besides the model itself.

use leadscore_data::{MissingTokens, OutcomeValues};
use leadscore_features::FeatureSource;
use leadscore_metrics::BinaryMetrics;
use leadscore_models::ModelKind;
use serde::{Deserialize, Serialize};

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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// Why the model was judged weak (no better than chance, or than one column alone), when it
    /// was written anyway (`--allow-weak`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weak: Option<String>,
}
