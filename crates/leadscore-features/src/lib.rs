//! Feature construction shared by training and serving.
//!
//! Every score leadscore produces — in `train`, in batch `score`, in the HTTP server — turns a lead
//! and its events into numbers through this crate, so a lead gets the same features wherever it is
//! scored. Behaviour features are point-in-time: they use only events strictly before the lead's
//! as-of time ([`AsOfPolicy`]).

mod as_of;
mod error;
mod events;
mod explicit;
mod pipeline;
mod rates;

pub use as_of::AsOfPolicy;
pub use error::FeatureError;
pub use events::{
    ANY_EVENT, EventCounts, EventFeatureParams, EventFeaturesSpec, FittedEventFeatures, LeadEvent,
    ValidEventFeatureParams,
};
pub use explicit::{ColumnEncoder, ExplicitParams, OTHER_LEVEL, ValidExplicitParams};
pub use pipeline::{
    FeatureInfo, FeatureKind, FeatureMatrix, FeaturePipelineParams, FeatureSource,
    FittedFeaturePipeline, LeadInput, RATE_SUFFIX, SourceLayout, ValidFeaturePipelineParams,
};
pub use rates::{FOLDS, LevelRates, MIN_POOLED_LEVELS, out_of_fold_log_odds, smoothed_log_odds};
