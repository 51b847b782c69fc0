//! Errors of the score database.

use std::path::PathBuf;

/// What can go wrong opening, reading or writing the score database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused an operation.
    #[error("score database {}: {message}", path.display())]
    Database {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        message: String,
    },
    /// A read-only command was pointed at a database that does not exist.
    #[error(
        "score database {} does not exist; pass the --db the server records to (default leadscore.db in the server's folder)",
        path.display()
    )]
    Missing {
        /// The path given.
        path: PathBuf,
    },
    /// The journal of pending scores cannot be read or written.
    #[error("score journal {}: {source}", path.display())]
    Journal {
        /// The journal file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Another process (a second server) records scores to the same database.
    #[error(
        "score database {} is in use: another leadscore process records to it (it holds {}); give each server its own --db",
        path.display(),
        lock.display()
    )]
    InUse {
        /// The database file.
        path: PathBuf,
        /// The lock file the other process holds.
        lock: PathBuf,
    },
    /// The lock file beside the database cannot be opened or locked (a read-only folder, a
    /// file system without locks).
    #[error("cannot lock {} to record scores to the database beside it: {source}", path.display())]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The query was cancelled (its request timed out or was abandoned).
    #[error("the query was cancelled")]
    Cancelled,
}

/// Why a score could not be recorded; the server answers 503 rather than acknowledge a score it
/// cannot keep.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The journal could not be written (a full disk, a read-only folder).
    #[error("cannot record scores: the journal cannot be written ({0})")]
    Journal(String),
    /// The database has not accepted writes for so long that the backlog hit its bound.
    #[error(
        "cannot record scores: {0} scores wait for the database, which is not accepting writes"
    )]
    Backlog(u64),
    /// The server is stopping.
    #[error("cannot record scores: the recorder is stopping")]
    Stopped,
}
