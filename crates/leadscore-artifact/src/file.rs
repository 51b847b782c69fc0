//! The model file: a versioned JSON document, checked whole on every load and construction.

use std::path::{Path, PathBuf};

use leadscore_data::{LeadsOptions, write_bytes_atomically};
use leadscore_features::{FeatureInfo, FittedFeaturePipeline, SourceLayout};
use leadscore_metrics::BinaryMetrics;
use leadscore_models::{Calibration, FittedValue, Model};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::ArtifactError;
use crate::meta::{
    CandidateResult, DataFingerprint, Importance, InputSchema, Tier, TrainingReport,
    ValidationReport,
};
use crate::profile::{ColumnProfile, ProfileShape};

/// Value of the `format` field.
pub const FORMAT: &str = "leadscore-model";
/// Version of the file layout this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// Everything a trained model consists of. [`ModelArtifact::new`] checks that the parts fit
/// together; there is no other way to make a [`ModelArtifact`] than that or loading a file.
#[derive(Debug, Clone)]
pub struct ArtifactParts {
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
    /// Fitted feature pipeline.
    pub features: FittedFeaturePipeline,
    /// The model.
    pub model: Model,
    /// Probability calibration.
    pub calibration: Calibration,
    /// Validation metrics.
    pub validation: ValidationReport,
    /// Test metrics on held-out leads, when a test part was set aside.
    pub test: Option<BinaryMetrics>,
    /// Every candidate tried.
    pub leaderboard: Vec<CandidateResult>,
    /// Tier cut points, best tier first.
    pub tiers: Vec<Tier>,
    /// Calibrated probabilities of training leads at evenly spaced percentiles.
    pub percentiles: Vec<f64>,
    /// Global importance by source, largest first (may be filled later by
    /// [`ModelArtifact::with_importance`]).
    pub importance: Vec<Importance>,
    /// Training report.
    pub report: TrainingReport,
}

/// The JSON layout, version 1. Field names and order are the file format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ArtifactFile {
    format: String,
    format_version: u32,
    leadscore_version: String,
    name: String,
    version: String,
    created_at: String,
    training_data: DataFingerprint,
    schema: InputSchema,
    features: FittedFeaturePipeline,
    feature_info: Vec<FeatureInfo>,
    model: Model,
    calibration: Calibration,
    validation: ValidationReport,
    test: Option<BinaryMetrics>,
    leaderboard: Vec<CandidateResult>,
    tiers: Vec<Tier>,
    percentiles: Vec<f64>,
    importance: Vec<Importance>,
    report: TrainingReport,
    /// Absent in files written before column profiles were kept: their columns' drift is not
    /// monitored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    column_profiles: Vec<ColumnProfile>,
    /// The deal value model, when trained with `--value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<DealValue>,
}

/// A model's deal value part: the column it learned from and the fitted model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DealValue {
    /// The deal value column of the training file.
    pub column: String,
    /// The fitted model of a won deal's value.
    pub model: FittedValue,
}

/// A trained model and everything about it: the input schema, the fitted feature pipeline, the
/// model's weights or trees, the calibration, tier cut points and the training leads' score
/// distribution, plus a fingerprint of the training data, metrics, the leaderboard and leak
/// warnings. Always consistent: every constructor checks it whole.
#[derive(Debug, Clone)]
pub struct ModelArtifact {
    file: ArtifactFile,
    pub(crate) layout: SourceLayout,
}

impl PartialEq for ModelArtifact {
    fn eq(&self, other: &Self) -> bool {
        self.file == other.file
    }
}

impl Serialize for ModelArtifact {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.file.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ModelArtifact {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let file = ArtifactFile::deserialize(deserializer)?;
        Self::checked(file).map_err(serde::de::Error::custom)
    }
}

/// The fields read first, to refuse foreign files and other versions with a clear message.
#[derive(Deserialize)]
struct Header {
    format: Option<serde_json::Value>,
    format_version: Option<serde_json::Value>,
}

const IN_MEMORY: &str = "(in memory)";

impl ModelArtifact {
    /// Assembles and checks a model.
    pub fn new(parts: ArtifactParts) -> Result<Self, ArtifactError> {
        Self::checked(ArtifactFile {
            format: FORMAT.to_owned(),
            format_version: FORMAT_VERSION,
            leadscore_version: env!("CARGO_PKG_VERSION").to_owned(),
            name: parts.name,
            version: parts.version,
            created_at: parts.created_at,
            training_data: parts.training_data,
            schema: parts.schema,
            feature_info: parts.features.features(),
            features: parts.features,
            model: parts.model,
            calibration: parts.calibration,
            validation: parts.validation,
            test: parts.test,
            leaderboard: parts.leaderboard,
            tiers: parts.tiers,
            percentiles: parts.percentiles,
            importance: parts.importance,
            report: parts.report,
            column_profiles: Vec::new(),
            value: None,
        })
    }

    /// The same model with a deal value model (trained with `--value`), checked against the
    /// pipeline.
    pub fn with_value(mut self, value: DealValue) -> Result<Self, ArtifactError> {
        self.file.value = Some(value);
        Self::checked(self.file)
    }

    /// The deal value model, if the model was trained with one.
    pub fn deal_value(&self) -> Option<&DealValue> {
        self.file.value.as_ref()
    }

    /// The fitted value model, if any.
    pub fn value_model(&self) -> Option<&FittedValue> {
        self.file.value.as_ref().map(|v| &v.model)
    }

    /// The same model with its training columns' profiles (measured on the final feature rows).
    pub fn with_column_profiles(mut self, profiles: Vec<ColumnProfile>) -> Self {
        self.file.column_profiles = profiles;
        self
    }

    /// How each explicit column looked in training; empty for files written before profiles.
    pub fn column_profiles(&self) -> &[ColumnProfile] {
        &self.file.column_profiles
    }

    /// The same model with its global importance set (it is measured with the model's own
    /// explanations, so only after the model exists).
    pub fn with_importance(mut self, importance: Vec<Importance>) -> Self {
        self.file.importance = importance;
        self
    }

    /// Reads and checks a model file.
    pub fn load(path: &Path) -> Result<Self, ArtifactError> {
        let bytes = std::fs::read(path).map_err(|source| ArtifactError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(path, &bytes)
    }

    /// Parses and checks a model from the bytes of `path`.
    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<Self, ArtifactError> {
        let path_buf = || path.to_path_buf();
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ArtifactError::Empty { path: path_buf() });
        }
        let corrupt = |e: serde_json::Error| ArtifactError::Corrupt {
            path: path_buf(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        };
        let header: Header = serde_json::from_slice(bytes).map_err(|e| {
            if e.is_data() {
                ArtifactError::WrongFormat {
                    path: path_buf(),
                    found: None,
                }
            } else {
                corrupt(e)
            }
        })?;
        let format = header
            .format
            .as_ref()
            .and_then(|f| f.as_str().map(str::to_owned));
        if format.as_deref() != Some(FORMAT) {
            return Err(ArtifactError::WrongFormat {
                path: path_buf(),
                found: format.or_else(|| header.format.map(|f| f.to_string())),
            });
        }
        match header
            .format_version
            .as_ref()
            .and_then(serde_json::Value::as_u64)
        {
            Some(version) if version == u64::from(FORMAT_VERSION) => {}
            found => {
                return Err(ArtifactError::UnsupportedVersion {
                    path: path_buf(),
                    found: found.unwrap_or(0),
                    supported: FORMAT_VERSION,
                });
            }
        }
        let file: ArtifactFile =
            serde_json::from_slice(bytes).map_err(|e| ArtifactError::Contents {
                path: path_buf(),
                line: e.line(),
                column: e.column(),
                message: e.to_string(),
            })?;
        Self::checked(file).map_err(|e| e.at(path))
    }

    /// Writes the model as pretty JSON, atomically (a server watching the path never reads half a
    /// file).
    pub fn save(&self, path: &Path) -> Result<(), ArtifactError> {
        let write_error = |source| ArtifactError::Write {
            path: path.to_path_buf(),
            source,
        };
        let json = serde_json::to_vec_pretty(self).map_err(|e| write_error(e.into()))?;
        write_bytes_atomically(path, &json).map_err(write_error)
    }

    fn checked(file: ArtifactFile) -> Result<Self, ArtifactError> {
        let inconsistent = |message: String| ArtifactError::Inconsistent {
            path: PathBuf::from(IN_MEMORY),
            message,
        };
        if file.format != FORMAT || file.format_version != FORMAT_VERSION {
            return Err(inconsistent(format!(
                "format {} version {} is not {FORMAT} version {FORMAT_VERSION}",
                file.format, file.format_version
            )));
        }
        file.features.validate().map_err(inconsistent)?;
        let expected = file.features.features();
        if file.feature_info != expected {
            return Err(inconsistent(format!(
                "the pipeline produces {} features that differ from the {} described",
                expected.len(),
                file.feature_info.len()
            )));
        }
        file.model
            .validate(expected.len())
            .map_err(|e| inconsistent(format!("{} model: {e}", file.model.kind())))?;
        file.calibration.validate().map_err(inconsistent)?;
        let percentiles = &file.percentiles;
        if percentiles.len() < 2
            || percentiles.iter().any(|p| !(0.0..=1.0).contains(p))
            || percentiles.windows(2).any(|w| w[0] > w[1])
        {
            return Err(inconsistent(
                "the percentile table is not a sorted list of probabilities".to_owned(),
            ));
        }
        if file.tiers.is_empty()
            || file
                .tiers
                .iter()
                .any(|t| t.name.is_empty() || !(0.0..=1.0).contains(&t.min_probability))
            || file
                .tiers
                .windows(2)
                .any(|w| w[0].min_probability < w[1].min_probability)
        {
            return Err(inconsistent(
                "tiers must be named, with probability floors in [0, 1], best tier first"
                    .to_owned(),
            ));
        }
        for (profile, encoder) in file.column_profiles.iter().zip(&file.features.columns) {
            let consistent = profile.column == encoder.name
                && match &profile.shape {
                    ProfileShape::Numeric { edges, shares } => {
                        shares.len() == edges.len() + 1 && edges.windows(2).all(|w| w[0] < w[1])
                    }
                    ProfileShape::Categorical { other_share } => (0.0..=1.0).contains(other_share),
                };
            if !consistent {
                return Err(inconsistent(format!(
                    "the profile of column `{}` does not fit the pipeline's column `{}`",
                    profile.column, encoder.name
                )));
            }
        }
        if let Some(value) = &file.value {
            value
                .model
                .validate(expected.len())
                .map_err(|e| inconsistent(format!("deal value model: {e}")))?;
        }
        if !file.column_profiles.is_empty()
            && file.column_profiles.len() != file.features.columns.len()
        {
            return Err(inconsistent(format!(
                "{} column profiles for {} columns",
                file.column_profiles.len(),
                file.features.columns.len()
            )));
        }
        let layout = file.features.source_layout();
        Ok(Self { file, layout })
    }

    /// How to read a data file so that it matches this model's schema: every column the model
    /// knows is read with the model's type and kept whatever its values, levels are compared by
    /// the model's rule, and id, outcome, date columns and missing placeholders are the model's
    /// unless `given` sets them.
    pub fn leads_options(&self, given: &LeadsOptions) -> LeadsOptions {
        let defaults = LeadsOptions::default();
        let schema = &self.file.schema;
        let mut options = given.clone();
        if options.id_column.is_none() {
            options.id_column = schema.id_column.clone();
        }
        if options.target == defaults.target {
            options.target = schema.target.clone();
        }
        if options.positive.is_empty() {
            options.positive = schema.outcome_values.positive.clone();
        }
        if options.negative.is_empty() {
            options.negative = schema.outcome_values.negative.clone();
        }
        if options.created_at.is_none() {
            options.created_at = schema.created_at.clone();
        }
        if options.closed_at.is_none() {
            options.closed_at = schema.closed_at.clone();
        }
        if options.missing == defaults.missing {
            options.missing = schema.missing_values.clone();
        }
        options.keep_columns(
            self.file
                .features
                .columns
                .iter()
                .map(|c| (c.name.clone(), Some(c.kind))),
        );
        options.text_rule = self.file.features.text_rule;
        options
    }

    /// Model name.
    pub fn name(&self) -> &str {
        &self.file.name
    }

    /// Model version (UTC time of training, `YYYYMMDD-HHMMSS`).
    pub fn version(&self) -> &str {
        &self.file.version
    }

    /// RFC 3339 creation time.
    pub fn created_at(&self) -> &str {
        &self.file.created_at
    }

    /// The leadscore version that wrote the file.
    pub fn leadscore_version(&self) -> &str {
        &self.file.leadscore_version
    }

    /// Training data fingerprint.
    pub fn training_data(&self) -> &DataFingerprint {
        &self.file.training_data
    }

    /// How inputs must look.
    pub fn schema(&self) -> &InputSchema {
        &self.file.schema
    }

    /// The fitted feature pipeline.
    pub fn features(&self) -> &FittedFeaturePipeline {
        &self.file.features
    }

    /// Each model input, in order.
    pub fn feature_info(&self) -> &[FeatureInfo] {
        &self.file.feature_info
    }

    /// The model.
    pub fn model(&self) -> &Model {
        &self.file.model
    }

    /// The probability calibration.
    pub fn calibration(&self) -> &Calibration {
        &self.file.calibration
    }

    /// Validation scheme and metrics.
    pub fn validation(&self) -> &ValidationReport {
        &self.file.validation
    }

    /// Test metrics, when a test part was held out.
    pub fn test(&self) -> Option<&BinaryMetrics> {
        self.file.test.as_ref()
    }

    /// Every candidate of the model search.
    pub fn leaderboard(&self) -> &[CandidateResult] {
        &self.file.leaderboard
    }

    /// Tiers, best first.
    pub fn tiers(&self) -> &[Tier] {
        &self.file.tiers
    }

    /// Calibrated probabilities of training leads at evenly spaced percentiles.
    pub fn percentiles(&self) -> &[f64] {
        &self.file.percentiles
    }

    /// Global importance by source, largest first.
    pub fn importance(&self) -> &[Importance] {
        &self.file.importance
    }

    /// What training saw.
    pub fn report(&self) -> &TrainingReport {
        &self.file.report
    }
}
