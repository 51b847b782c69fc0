//! Every scored lead recorded in SQLite, written in batches off the request path.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use leadscore_compare::ArmCounts;
use rusqlite::{Connection, TransactionBehavior, params};

use crate::experiments::{Decision, Experiment};

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
    /// Experiment arms and routing decisions.
    pub decisions: Vec<Decision>,
}

enum Message {
    Record(ScoreRecord),
    /// Write everything queued, then answer.
    Flush(mpsc::SyncSender<()>),
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
CREATE TABLE IF NOT EXISTS experiment_arms (
    experiment TEXT NOT NULL,
    arm TEXT NOT NULL,
    position INTEGER NOT NULL,
    share REAL NOT NULL,
    policy TEXT NOT NULL,
    PRIMARY KEY (experiment, arm)
);
CREATE TABLE IF NOT EXISTS assignments (
    experiment TEXT NOT NULL,
    lead_id TEXT NOT NULL,
    arm TEXT NOT NULL,
    routed INTEGER NOT NULL,
    assigned_at TEXT NOT NULL,
    PRIMARY KEY (experiment, lead_id)
);
CREATE TABLE IF NOT EXISTS outcomes (
    lead_id TEXT PRIMARY KEY,
    won INTEGER NOT NULL,
    closed_at TEXT,
    recorded_at TEXT NOT NULL
);
";

/// Records written per transaction at most.
const BATCH: usize = 4096;
/// How long the writer waits for more records after the first of a burst.
const COLLECT: Duration = Duration::from_millis(20);
/// How long a connection waits for another one's write transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// How often an idle writer checks whether the server is stopping.
const LINGER: Duration = Duration::from_millis(200);

/// Opens (creating if needed) the scores database.
pub fn open(path: &Path) -> Result<Connection, ServerError> {
    let error = |e: rusqlite::Error| ServerError::Database {
        path: path.to_owned(),
        message: e.to_string(),
    };
    let connection = Connection::open(path).map_err(error)?;
    // The recorder thread, outcome imports and reports share the file: wait for another writer
    // instead of failing with "database is locked". Write transactions begin IMMEDIATE, because a
    // read transaction that later upgrades to a write cannot wait and fails at once.
    connection.busy_timeout(BUSY_TIMEOUT).map_err(error)?;
    connection.execute_batch(SCHEMA).map_err(error)?;
    Ok(connection)
}

/// A background writer: `record` only queues; a thread writes batches in one transaction each.
#[derive(Debug)]
pub struct Recorder {
    path: PathBuf,
    sender: Mutex<Option<Sender<Message>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl Recorder {
    /// Opens the database and starts the writer thread.
    pub fn start(path: &Path) -> Result<Self, ServerError> {
        let mut connection = open(path)?;
        let (sender, receiver) = mpsc::channel::<Message>();
        let db = path.to_owned();
        let writer = std::thread::Builder::new()
            .name("leadscore-recorder".into())
            .spawn(move || {
                let mut batch = Vec::with_capacity(BATCH);
                let mut waiting = Vec::new();
                loop {
                    let disconnected = match receiver.recv_timeout(LINGER) {
                        Ok(first) => {
                            let flush_now = matches!(first, Message::Flush(_));
                            // Let a burst accumulate: one transaction per burst, not per score.
                            if !flush_now {
                                std::thread::sleep(COLLECT);
                            }
                            for message in std::iter::once(first).chain(receiver.try_iter().take(BATCH)) {
                                match message {
                                    Message::Record(record) => batch.push(record),
                                    Message::Flush(done) => waiting.push(done),
                                }
                            }
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
                    for done in waiting.drain(..) {
                        let _ = done.send(());
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
            let _ = sender.send(Message::Record(record));
        }
    }

    /// Blocks until everything recorded so far is written.
    pub fn flush(&self) {
        let (done, wait) = mpsc::sync_channel(1);
        let sent = self
            .sender
            .lock()
            .ok()
            .and_then(|guard| guard.as_ref().map(|s| s.send(Message::Flush(done)).is_ok()))
            .unwrap_or(false);
        if sent {
            let _ = wait.recv();
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
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
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
    {
        let mut assign = transaction.prepare_cached(
            "INSERT OR IGNORE INTO assignments (experiment, lead_id, arm, routed, assigned_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for r in batch {
            for d in &r.decisions {
                assign.execute(params![
                    d.experiment,
                    r.lead_id,
                    d.arm,
                    d.routed,
                    r.scored_at
                ])?;
            }
        }
    }
    transaction.commit()
}

fn database_error(path: &Path) -> impl Fn(rusqlite::Error) -> ServerError + '_ {
    move |e| ServerError::Database {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

/// Records the arms of the served experiments, so reports know the baseline and the order.
pub fn register_experiments(path: &Path, experiments: &[Experiment]) -> Result<(), ServerError> {
    let error = database_error(path);
    let mut connection = open(path)?;
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(&error)?;
    for experiment in experiments {
        for (position, arm) in experiment.arms.iter().enumerate() {
            transaction
                .execute(
                    "INSERT OR REPLACE INTO experiment_arms (experiment, arm, position, share, policy) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![experiment.name, arm.name, position as i64, arm.share, format!("{:?}", arm.policy)],
                )
                .map_err(&error)?;
        }
    }
    transaction.commit().map_err(&error)
}

/// A won or lost outcome of a lead.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
pub struct OutcomeRecord {
    /// Lead id.
    pub lead_id: String,
    /// `won` or `lost`.
    pub outcome: OutcomeValue,
    /// When the deal closed, if known.
    #[serde(default)]
    pub closed_at: Option<String>,
}

/// The two closed outcomes.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeValue {
    /// The deal was won.
    Won,
    /// The deal was lost.
    Lost,
}

/// What recording outcomes changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct OutcomeImport {
    /// Leads seen for the first time.
    pub inserted: u64,
    /// Leads whose outcome or close date changed.
    pub changed: u64,
    /// Leads already recorded exactly so.
    pub unchanged: u64,
}

/// Records outcomes idempotently: the same outcomes twice change nothing.
pub fn record_outcomes(
    path: &Path,
    outcomes: &[OutcomeRecord],
) -> Result<OutcomeImport, ServerError> {
    let error = database_error(path);
    let mut connection = open(path)?;
    let now = leadscore_data::time::format_timestamp(leadscore_data::time::now());
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(&error)?;
    let mut import = OutcomeImport::default();
    {
        let mut find = transaction
            .prepare_cached("SELECT won, closed_at FROM outcomes WHERE lead_id = ?1")
            .map_err(&error)?;
        let mut upsert = transaction
            .prepare_cached(
                "INSERT INTO outcomes (lead_id, won, closed_at, recorded_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (lead_id) DO UPDATE SET won = excluded.won, closed_at = excluded.closed_at, recorded_at = excluded.recorded_at",
            )
            .map_err(&error)?;
        for outcome in outcomes {
            let won = outcome.outcome == OutcomeValue::Won;
            let existing: Option<(bool, Option<String>)> = find
                .query_row(params![outcome.lead_id], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })
                .map(Some)
                .or_else(|e| match e {
                    rusqlite::Error::QueryReturnedNoRows => Ok(None),
                    other => Err(other),
                })
                .map_err(&error)?;
            match existing {
                Some((w, closed)) if w == won && closed == outcome.closed_at => {
                    import.unchanged += 1;
                    continue;
                }
                Some(_) => import.changed += 1,
                None => import.inserted += 1,
            }
            upsert
                .execute(params![outcome.lead_id, won, outcome.closed_at, now])
                .map_err(&error)?;
        }
    }
    transaction.commit().map_err(&error)?;
    Ok(import)
}

/// Per-arm counts of an experiment, baseline arm first.
pub fn experiment_counts(path: &Path, experiment: &str) -> Result<Vec<ArmCounts>, ServerError> {
    let error = database_error(path);
    let connection = open(path)?;
    let mut query = connection
        .prepare(
            "SELECT a.arm, count(*), sum(a.routed), sum(a.routed AND o.lead_id IS NOT NULL),
                    sum(a.routed AND coalesce(o.won, 0)), count(o.lead_id), sum(coalesce(o.won, 0)),
                    coalesce((SELECT position FROM experiment_arms e WHERE e.experiment = a.experiment AND e.arm = a.arm), 1000)
             FROM assignments a LEFT JOIN outcomes o ON o.lead_id = a.lead_id
             WHERE a.experiment = ?1 GROUP BY a.arm ORDER BY 8, a.arm",
        )
        .map_err(&error)?;
    let rows = query
        .query_map(params![experiment], |row| {
            Ok(ArmCounts {
                arm: row.get(0)?,
                leads: row.get(1)?,
                routed: row.get(2)?,
                routed_closed: row.get(3)?,
                routed_won: row.get(4)?,
                closed: row.get(5)?,
                won: row.get(6)?,
            })
        })
        .map_err(&error)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(&error)
}
