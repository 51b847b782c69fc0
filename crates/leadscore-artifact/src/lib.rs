//! The leadscore model file and the maths of scoring with it.
//!
//! Training writes a [`ModelArtifact`]; everything else (batch scoring, the HTTP server, the
//! Python package, the SQL export, evaluation and comparison) reads one, and nothing here depends
//! on training. The file is one self-describing JSON document, versioned ([`FORMAT_VERSION`]),
//! written atomically, and checked whole whenever it is loaded or built: array lengths, finite
//! weights, trees that cannot loop or overflow the stack, sorted percentiles and tiers. A bad file
//! is a typed [`ArtifactError`] naming the file and, where there is one, the line. Beside it lives
//! the scoring maths every consumer shares: the calibrated probability, its percentile among
//! training leads, the tier, and exact reasons grouped by column or event type. The model
//! registry keeps every version of a model beside a pointer naming the champion in service
//! (promote, rollback, a challenger in shadow), and [`ModelDiff`] shows what changed between two.

mod diff;
mod error;
mod file;
mod meta;
mod profile;
mod registry;
mod scoring;

pub use diff::{DiffRow, ModelDiff};
pub use error::ArtifactError;
pub use file::{ArtifactParts, DealValue, FORMAT, FORMAT_VERSION, ModelArtifact};
/// The deal value model's types, as a [`DealValue`] holds them.
pub use leadscore_models::{FittedValue, ROW_BLOCK, ValueCandidate, ValueValidation};
pub use meta::{
    CandidateResult, DataFingerprint, Importance, InputSchema, LeakWarning, Tier, TrainingReport,
    ValidationReport,
};
pub use profile::{ColumnCounts, ColumnProfile, ProfileShape, profile_columns};
pub use registry::{
    ModelLine, POINTER_FILE, Pointer, Registered, Registry, RegistryEvent, served_files,
};
pub use scoring::{Explanation, ModelScore, Reason, ReasonKind};
