//! Every scored lead recorded in SQLite, written in batches off the request path.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, params};

use crate::error::ServerError;

/// One row of the `scores` table.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreRecord {
    /// Lead id.
    pub lead_id: String,
    /// When it was scored (RFC 3339).
    pub scored_at: String,
    /// Model name and version, when a model scored it.
    pub model: Option<(String, String)>,
    /// Calibrated probability.
    pub probability: Option<f64>,
    /// Model tier.
    pub tier: Option<String>,
    /// Points total.
    pub points: Option<f64>,
    /// Points grade.
    pub grade: Option<String>,
    /// Marketing-qualified by points.
    pub mql: Option<bool>,
}

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS scores (
    id INTEGER PRIMARY KEY,
    lead_id TEXT NOT NULL,
    scored_at TEXT NOT NULL,
    model TEXT,
    model_version TEXT,
    probability REAL,
    tier TEXT,
    points REAL,
    grade TEXT,
    mql INTEGER
);
CREATE INDEX IF NOT EXISTS scores_by_lead ON scores (lead_id, scored_at);
";

/// Records written per transaction at most.
const BATCH: usize = 4096;
/// How long the writer waits for more records after the first of a burst.
const COLLECT: Duration = Duration::from_millis(20);
/// How often an idle writer checks whether the server is stopping.
const LINGER: Duration = Duration::from_millis(200);

/// Opens (creating if needed) the scores database.
pub fn open(path: &Path) -> Result<Connection, ServerError> {
    let error = |e: rusqlite::Error| ServerError::Database {
        path: path.to_owned(),
        message: e.to_string(),
    };
    let connection = Connection::open(path).map_err(error)?;
    connection.execute_batch(SCHEMA).map_err(error)?;
    Ok(connection)
}

/// A background writer: `record` only queues; a thread writes batches in one transaction each.
#[derive(Debug)]
pub struct Recorder {
    path: PathBuf,
    sender: Mutex<Option<Sender<ScoreRecord>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl Recorder {
    /// Opens the database and starts the writer thread.
    pub fn start(path: &Path) -> Result<Self, ServerError> {
        let mut connection = open(path)?;
        let (sender, receiver) = mpsc::channel::<ScoreRecord>();
        let db = path.to_owned();
        let writer = std::thread::Builder::new()
            .name("leadscore-recorder".into())
            .spawn(move || {
                let mut batch = Vec::with_capacity(BATCH);
                loop {
                    let disconnected = match receiver.recv_timeout(LINGER) {
                        Ok(record) => {
                            batch.push(record);
                            // Let a burst accumulate: one transaction per burst, not per score.
                            std::thread::sleep(COLLECT);
                            batch.extend(receiver.try_iter().take(BATCH));
                            false
                        }
                        Err(RecvTimeoutError::Timeout) => false,
                        Err(RecvTimeoutError::Disconnected) => true,
                    };
                    if !batch.is_empty() {
                        if let Err(e) = write(&mut connection, &batch) {
                            tracing::error!(db = %db.display(), error = %e, lost = batch.len(), "could not record scores");
                        }
                        batch.clear();
                    }
                    if disconnected {
                        break;
                    }
                }
            })?;
        Ok(Self {
            path: path.to_owned(),
            sender: Mutex::new(Some(sender)),
            writer: Mutex::new(Some(writer)),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Queues a record; never blocks on the database.
    pub fn record(&self, record: ScoreRecord) {
        if let Ok(guard) = self.sender.lock()
            && let Some(sender) = guard.as_ref()
        {
            // The writer only stops after `close`; a failed send means the server is stopping.
            let _ = sender.send(record);
        }
    }

    /// Writes everything queued and stops the writer. Later records are dropped.
    pub fn close(&self) {
        if let Ok(mut sender) = self.sender.lock() {
            sender.take();
        }
        if let Ok(mut writer) = self.writer.lock()
            && let Some(handle) = writer.take()
            && handle.join().is_err()
        {
            tracing::error!("the score recorder thread panicked");
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.close();
    }
}

fn write(connection: &mut Connection, batch: &[ScoreRecord]) -> rusqlite::Result<()> {
    let transaction = connection.transaction()?;
    {
        let mut insert = transaction.prepare_cached(
            "INSERT INTO scores (lead_id, scored_at, model, model_version, probability, tier, points, grade, mql)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        for r in batch {
            insert.execute(params![
                r.lead_id,
                r.scored_at,
                r.model.as_ref().map(|m| &m.0),
                r.model.as_ref().map(|m| &m.1),
                r.probability,
                r.tier,
                r.points,
                r.grade,
                r.mql,
            ])?;
        }
    }
    transaction.commit()
}
