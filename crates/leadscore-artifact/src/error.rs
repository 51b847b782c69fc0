//! Errors of reading and writing model files.

use std::path::PathBuf;

/// What can go wrong loading, checking or saving a model file. Every variant names the file (or
/// `(in memory)` for a model not yet saved) and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// The file cannot be read.
    #[error("model file {}: cannot read it: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file cannot be written.
    #[error("model file {}: cannot write it: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file holds nothing.
    #[error("model file {}: the file is empty", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The bytes are not JSON (a truncated copy, an edit gone wrong).
    #[error(
        "model file {}: not a leadscore model: corrupt or truncated JSON at line {line}, column {column} ({message})",
        path.display()
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What the parser said.
        message: String,
    },
    /// JSON, but not a leadscore model.
    #[error(
        "model file {}: not a leadscore model (format is {}, expected \"{}\")",
        path.display(),
        found.as_deref().map_or_else(|| "absent".to_owned(), |f| format!("\"{f}\"")),
        crate::FORMAT
    )]
    WrongFormat {
        /// The file.
        path: PathBuf,
        /// The `format` field found.
        found: Option<String>,
    },
    /// A model file layout this build cannot read.
    #[error(
        "model file {}: format version {found} is not supported by this leadscore ({}), which reads version {supported}; retrain the model or use a matching leadscore",
        path.display(),
        env!("CARGO_PKG_VERSION")
    )]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// Version in the file (`0` when the field is absent).
        found: u64,
        /// Version this build reads.
        supported: u32,
    },
    /// A field has the wrong type or is missing.
    #[error("model file {}: invalid contents at line {line}, column {column}: {message}", path.display())]
    Contents {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The parts do not fit together (array lengths, a tree that loops, a non-finite weight).
    #[error("model file {}: inconsistent model: {message}", path.display())]
    Inconsistent {
        /// The file.
        path: PathBuf,
        /// What does not fit.
        message: String,
    },
    /// A registry has no model of that name.
    #[error(
        "model registry {}: no model named `{name}` (models: {})",
        root.display(),
        if known.is_empty() { "none yet; `leadscore train --registry` adds one".to_owned() } else { known.join(", ") }
    )]
    UnknownModel {
        /// The registry folder.
        root: PathBuf,
        /// The name asked for.
        name: String,
        /// Names it has.
        known: Vec<String>,
    },
    /// A model has no such version.
    #[error("model `{name}` has no version `{version}` (versions: {})", known.join(", "))]
    UnknownVersion {
        /// The model.
        name: String,
        /// The version asked for.
        version: String,
        /// Versions it has.
        known: Vec<String>,
    },
    /// A version is registered once; model files in a registry are never rewritten.
    #[error("model file {} already exists; a registered version is never overwritten", path.display())]
    VersionExists {
        /// The existing file.
        path: PathBuf,
    },
    /// Rollback needs an earlier champion.
    #[error(
        "model `{name}`: no earlier champion to roll back to (the champion is {}); `leadscore models promote` serves any version",
        champion.as_deref().unwrap_or("no version")
    )]
    NothingToRollBack {
        /// The model.
        name: String,
        /// Its champion.
        champion: Option<String>,
    },
    /// A pointer without a champion cannot be served.
    #[error("model pointer {} names no champion; run `leadscore models promote`", path.display())]
    NoChampion {
        /// The pointer file.
        path: PathBuf,
    },
    /// A name or version that cannot be a file name.
    #[error(
        "{what} `{name}` cannot name a file: use 1–100 characters without / \\ : * ? \" < > |, control characters or a leading dot, and not `registry`"
    )]
    BadRegistryName {
        /// "model name" or "model version".
        what: &'static str,
        /// The name.
        name: String,
    },
}

impl ArtifactError {
    /// The same error about another file (a model checked in memory, then named when loaded).
    pub(crate) fn at(self, file: &std::path::Path) -> Self {
        match self {
            Self::Inconsistent { message, .. } => Self::Inconsistent {
                path: file.to_path_buf(),
                message,
            },
            other => other,
        }
    }
}
