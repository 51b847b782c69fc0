//! Every scored lead recorded: appended to a journal before its answer is sent, then written to
//! SQLite in batches by a background thread.
//!
//! The guarantee: a score (with its experiment assignments) is acknowledged only once its record
//! is in the journal, plain files written with one `write` per request. The operating system
//! keeps what a process wrote even when the process is killed (`kill -9`), and the next start
//! replays the journal into the database, skipping records already committed. The journal is two
//! files taking records in turn, so that under steady load one is emptied while the other takes
//! the new records, and neither grows past a few tens of megabytes. What is not
//! covered: a power cut or kernel crash in the second before the operating system flushes its
//! cache. When the journal cannot be written (a full disk) or the database has refused writes for
//! so long that [`MAX_BACKLOG`] records wait, [`Recorder::record`] fails and the server answers
//! 503 instead of acknowledging a score it cannot keep.
//!
//! One recorder per database: it holds a lock on [`lock_path`] until it is closed, so a second
//! one (a second server given the same `--db`) is refused at start rather than replaying a
//! journal the first is still appending to.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use leadscore_compare::live::Decision;
use rusqlite::{Connection, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::error::{RecordError, StoreError};
use crate::outbox::{WebhookEvent, WebhookSignal, apply_signals};
use crate::schema::open;

/// One row of the `scores` table, with the lead's experiment assignments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// The answer as JSON (probability, reasons, points breakdown), for looking a lead up later;
    /// absent in journals written before it was kept.
    #[serde(default)]
    pub answer: Option<AnswerJson>,
    /// A challenger's version and probability, when one is scored in shadow; absent in journals
    /// written before shadows.
    #[serde(default)]
    pub shadow: Option<(String, f64)>,
    /// What each configured webhook saw in this score; the recorder fires and re-arms them in
    /// the transaction that writes the score.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signals: Vec<WebhookSignal>,
}

/// The JSON text of an answer as it was sent. The journal holds it as JSON, not as a string of
/// JSON: escaping every quote of a 1.3 KB answer cost more than writing the answer itself (an
/// eighth of a logistic score's instructions, recording included). Journals written when it was
/// a string still read.
#[derive(Debug, Clone)]
pub struct AnswerJson(Box<RawValue>);

impl AnswerJson {
    /// The compact JSON of `value` (the text `serde_json::to_string` writes).
    pub fn of<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Self> {
        serde_json::value::to_raw_value(value).map(Self)
    }

    /// Checks that `text` is one JSON value.
    pub fn parse(text: String) -> serde_json::Result<Self> {
        RawValue::from_string(text).map(Self)
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        self.0.get()
    }
}

impl From<AnswerJson> for String {
    fn from(answer: AnswerJson) -> Self {
        Box::<str>::from(answer.0).into_string()
    }
}

impl PartialEq for AnswerJson {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Serialize for AnswerJson {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for AnswerJson {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        if !raw.get().starts_with('"') {
            return Ok(Self(raw));
        }
        // Written by an older version: a string holding the JSON. A string holding anything
        // else stays a string rather than cost the record its score.
        let text: String = serde_json::from_str(raw.get()).map_err(serde::de::Error::custom)?;
        Ok(Self::parse(text).unwrap_or(Self(raw)))
    }
}

/// A record with the id that makes replaying the journal idempotent.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pending {
    id: RecordId,
    record: ScoreRecord,
}

/// What identifies a journaled record in the `scores` table.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
enum RecordId {
    /// The row's own id (its rowid), counted up from above every row the table held when the
    /// recorder started: a replayed row that was already committed is skipped by the table
    /// itself, with no index to keep beside it.
    Row(i64),
    /// The text id journals of older versions carry, kept in `record_id` (and its unique
    /// index) for the rows they wrote.
    Text(String),
}

impl RecordId {
    /// The text webhook event ids are derived from.
    fn key(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Self::Row(id) => id.to_string().into(),
            Self::Text(id) => id.as_str().into(),
        }
    }
}

/// The first row id a recorder gives: above every row of the table, and at least the start time
/// in seconds times 2^24, so that the ids of rows deleted from the end of the table (and the
/// webhook event ids derived from them) are not given again unless the clock went back.
fn first_record_id(connection: &Connection, db: &Path) -> Result<i64, StoreError> {
    const RECORDS_PER_SECOND_BITS: u32 = 24;
    let largest: i64 = connection
        .query_row("SELECT coalesce(max(id), 0) FROM scores", [], |row| {
            row.get(0)
        })
        .map_err(crate::schema::database_error(db))?;
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let by_clock = i64::try_from(seconds << RECORDS_PER_SECOND_BITS).unwrap_or(0);
    Ok(largest.saturating_add(1).max(by_clock))
}

/// How the recorder is doing, for `/readyz` and `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecorderStatus {
    /// Records committed to the database since start (journal replay included).
    pub written: u64,
    /// Records acknowledged but not yet committed.
    pub pending: u64,
    /// Failed write attempts since start.
    pub failures: u64,
    /// The last write error, while writes keep failing.
    pub failing: Option<String>,
}

/// Records that may wait for the database before new scores are refused.
pub const MAX_BACKLOG: u64 = 200_000;
/// The recorder connection's page cache in KiB: a burst's transaction (thousands of answers)
/// and the indexes' hot pages fit, so SQLite neither spills pages mid-transaction nor reads back
/// the pages it just wrote.
const RECORDER_CACHE_KIB: i64 = 64 * 1024;
/// Records written per transaction at most.
const BATCH: usize = 16_384;
/// How long the writer waits for more records after the first of a burst.
const COLLECT: Duration = Duration::from_millis(20);
/// How long the writer collects after a transaction of at least [`BUSY_BATCH`] records. Each
/// transaction rewrites every index page its rows land on, and the by-lead index takes rows at
/// random places: under load, a longer burst puts many rows on each page it rewrites. (SQLite
/// through Python's `sqlite3`, rows of 10,000 leads with 1.2 KB answers: 95k rows/s in
/// transactions of 16k rows, 49k in transactions of 1k.) The scores are safe in the journal
/// meanwhile; reports and webhooks see them this much later.
const COLLECT_BUSY: Duration = Duration::from_millis(250);
/// Records in a transaction that mark the server as busy (see [`COLLECT_BUSY`]).
const BUSY_BATCH: usize = 512;
/// How often an idle writer checks whether the server is stopping.
const LINGER: Duration = Duration::from_millis(200);
/// Longest pause between two attempts at a failing database.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Attempts at a failing database while stopping before leaving the rest to the journal.
const ATTEMPTS_WHEN_STOPPING: u32 = 3;
/// Longest [`Recorder::flush`] waits.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

enum Message {
    Records(Vec<Pending>),
    /// Answer once everything queued before is written.
    Flush(mpsc::SyncSender<()>),
}

/// Bytes a journal file takes before new records go to the other one (once that is empty).
const SEGMENT_BYTES: u64 = 32 << 20;

/// The journal: two append-only files taking records in turn. Under steady load some records
/// always wait for the writer, so one file would never be all committed and never emptied, and
/// would grow until the disk is full; with two, the older is emptied once its records are
/// committed while the newer takes the new ones.
#[derive(Debug)]
struct Journal {
    segments: [Segment; 2],
    /// The segment new records are appended to; the other holds older records or none.
    active: usize,
    /// Bytes after which the active segment hands over to the other.
    segment_bytes: u64,
}

/// One journal file and its bookkeeping.
#[derive(Debug)]
struct Segment {
    path: PathBuf,
    /// Shared with the writer while it empties the file outside the journal's lock.
    file: Arc<File>,
    /// Bytes in the file.
    length: u64,
    /// Records appended since the file was last emptied.
    appended: u64,
    /// Of those, records committed to the database.
    committed: u64,
}

impl Segment {
    fn open(path: PathBuf) -> Result<Self, StoreError> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|source| StoreError::Journal {
                path: path.clone(),
                source,
            })?;
        Ok(Self {
            path,
            file: Arc::new(file),
            length: 0,
            appended: 0,
            committed: 0,
        })
    }

    fn append(&mut self, bytes: &[u8], records: u64) -> Result<(), RecordError> {
        if let Err(error) = (&*self.file).write_all(bytes) {
            // Cut a torn line off, so the next record does not start in the middle of it.
            self.file.set_len(self.length).ok();
            return Err(RecordError::Journal(error.to_string()));
        }
        self.length += bytes.len() as u64;
        self.appended += records;
        Ok(())
    }

    /// Counts up to `records` of its records committed, returning how many.
    fn commit(&mut self, records: u64) -> u64 {
        let counted = records.min(self.appended - self.committed);
        self.committed += counted;
        counted
    }

    /// Whether it holds records and all of them are committed: the file can be emptied.
    fn all_committed(&self) -> bool {
        self.appended > 0 && self.committed == self.appended
    }
}

impl Journal {
    fn open(db: &Path) -> Result<Self, StoreError> {
        let [first, second] = journal_paths(db);
        Ok(Self {
            segments: [Segment::open(first)?, Segment::open(second)?],
            active: 0,
            segment_bytes: SEGMENT_BYTES,
        })
    }

    /// Records appended and not yet committed.
    fn pending(&self) -> u64 {
        self.segments
            .iter()
            .map(|segment| segment.appended - segment.committed)
            .sum()
    }

    fn append(&mut self, bytes: &[u8], records: u64) -> Result<(), RecordError> {
        let pending = self.pending();
        if pending >= MAX_BACKLOG {
            return Err(RecordError::Backlog(pending));
        }
        let other = 1 - self.active;
        if self.segments[self.active].length >= self.segment_bytes
            && self.segments[other].appended == 0
        {
            self.active = other;
        }
        self.segments[self.active].append(bytes, records)
    }

    /// Counts committed records, which the writer takes in the order they were appended: the
    /// older segment's first, then the active one's. Returns the segment whose records are now
    /// all committed, if any, to be emptied: the older one, or the active one once the
    /// older is empty (new records then go to the older). Either way it is not the active
    /// segment any more, and it takes no record until it is emptied.
    fn committed(&mut self, records: u64) -> Option<usize> {
        let older = 1 - self.active;
        let counted = self.segments[older].commit(records);
        self.segments[self.active].commit(records - counted);
        if self.segments[older].all_committed() {
            return Some(older);
        }
        if self.segments[self.active].all_committed() && self.segments[older].appended == 0 {
            self.active = older;
            return Some(1 - older);
        }
        None
    }

    /// Counts committed records and empties a file they completed. Emptying a file of tens of
    /// megabytes takes the kernel milliseconds (6-10 ms for 32 MiB here), and every score waits
    /// for the journal's lock to append its record: so the file is emptied without the lock.
    /// Nothing is appended to it meanwhile, since it is not the active segment and it still
    /// counts its records.
    fn commit_and_empty(journal: &Mutex<Self>, records: u64) {
        let (segment, file) = {
            let mut journal = lock(journal);
            let Some(segment) = journal.committed(records) else {
                return;
            };
            (segment, Arc::clone(&journal.segments[segment].file))
        };
        if file.set_len(0).is_ok() {
            let mut journal = lock(journal);
            let emptied = &mut journal.segments[segment];
            emptied.length = 0;
            emptied.appended = 0;
            emptied.committed = 0;
        }
    }
}

#[derive(Debug, Default)]
struct Status {
    written: AtomicU64,
    failures: AtomicU64,
    failing: Mutex<Option<String>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The journal beside a database: `leadscore.db` → `leadscore.db.pending-scores`, the file a
/// recorder appends to first.
pub fn journal_path(db: &Path) -> PathBuf {
    let [first, _] = journal_paths(db);
    first
}

/// The file beside a database that its recorder holds locked: `leadscore.db` →
/// `leadscore.db.recorder-lock`.
pub fn lock_path(db: &Path) -> PathBuf {
    beside(db, ".recorder-lock")
}

/// The file beside a database whose name is the database's followed by `suffix`.
fn beside(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    db.with_file_name(name)
}

/// Takes [`lock_path`]'s lock, or says which database another process records to.
fn lock_database(db: &Path) -> Result<File, StoreError> {
    let path = lock_path(db);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| StoreError::Lock {
            path: path.clone(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::InUse {
            path: db.to_owned(),
            lock: path,
        }),
        Err(std::fs::TryLockError::Error(source)) => Err(StoreError::Lock { path, source }),
    }
}

/// Both files of the journal: [`journal_path`] and `leadscore.db.pending-scores-2`.
fn journal_paths(db: &Path) -> [PathBuf; 2] {
    [".pending-scores", ".pending-scores-2"].map(|suffix| beside(db, suffix))
}

/// A background writer with a crash-safe journal (see the module documentation).
#[derive(Debug)]
pub struct Recorder {
    path: PathBuf,
    /// Held until the recorder is closed (the operating system lets go of it when the process
    /// ends, even by `kill -9`): a second recorder on the same database would replay the
    /// journal this one is still appending to and give row ids this one gives.
    exclusive: Mutex<Option<File>>,
    journal: Arc<Mutex<Journal>>,
    status: Arc<Status>,
    sender: Mutex<Option<Sender<Message>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    next_id: AtomicI64,
}

impl Recorder {
    /// Opens the database, replays what a previous process left in the journal, and starts the
    /// writer thread.
    pub fn start(path: &Path) -> Result<Self, StoreError> {
        let exclusive = lock_database(path)?;
        let mut connection = open(path)?;
        connection
            .pragma_update(None, "cache_size", -RECORDER_CACHE_KIB)
            .map_err(crate::schema::database_error(path))?;
        let status = Arc::new(Status::default());
        let replayed = replay(&mut connection, path)?;
        status.written.store(replayed, Ordering::Relaxed);
        let next_id = AtomicI64::new(first_record_id(&connection, path)?);
        let journal = Arc::new(Mutex::new(Journal::open(path)?));
        let (sender, receiver) = mpsc::channel::<Message>();
        let writer = {
            let journal = journal.clone();
            let status = status.clone();
            let db = path.to_owned();
            std::thread::Builder::new()
                .name("leadscore-recorder".into())
                .spawn(move || write_loop(&mut connection, &db, &receiver, &journal, &status))
                .map_err(|source| StoreError::Journal {
                    path: path.to_owned(),
                    source,
                })?
        };
        Ok(Self {
            path: path.to_owned(),
            exclusive: Mutex::new(Some(exclusive)),
            journal,
            status,
            sender: Mutex::new(Some(sender)),
            writer: Mutex::new(Some(writer)),
            next_id,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Journals records (one write for all of them) and queues them for the database. Once this
    /// returns `Ok`, the records survive the process being killed.
    pub fn record(&self, records: Vec<ScoreRecord>) -> Result<(), RecordError> {
        if records.is_empty() {
            return Ok(());
        }
        let pending: Vec<Pending> = records
            .into_iter()
            .map(|record| Pending {
                id: RecordId::Row(self.next_id.fetch_add(1, Ordering::Relaxed)),
                record,
            })
            .collect();
        // A record's fields take about 256 bytes besides its answer.
        let mut bytes = Vec::with_capacity(
            pending
                .iter()
                .map(|p| 256 + p.record.answer.as_ref().map_or(0, |a| a.as_str().len()))
                .sum(),
        );
        for p in &pending {
            serde_json::to_writer(&mut bytes, p)
                .map_err(|e| RecordError::Journal(e.to_string()))?;
            bytes.push(b'\n');
        }
        let sender = lock(&self.sender);
        let Some(sender) = sender.as_ref() else {
            return Err(RecordError::Stopped);
        };
        lock(&self.journal).append(&bytes, pending.len() as u64)?;
        // A failed send means the writer stopped; the records are in the journal and will be
        // replayed at the next start.
        sender.send(Message::Records(pending)).ok();
        Ok(())
    }

    /// Blocks until everything recorded so far is written (at most a few seconds when the
    /// database is failing).
    pub fn flush(&self) {
        let (done, wait) = mpsc::sync_channel(1);
        let sent = lock(&self.sender)
            .as_ref()
            .is_some_and(|s| s.send(Message::Flush(done)).is_ok());
        if sent {
            wait.recv_timeout(FLUSH_TIMEOUT).ok();
        }
    }

    /// How the recorder is doing.
    pub fn status(&self) -> RecorderStatus {
        let journal = lock(&self.journal);
        RecorderStatus {
            written: self.status.written.load(Ordering::Relaxed),
            pending: journal.pending(),
            failures: self.status.failures.load(Ordering::Relaxed),
            failing: lock(&self.status.failing).clone(),
        }
    }

    /// Writes everything queued and stops the writer; records that could not be written stay in
    /// the journal for the next start. Later records are refused.
    pub fn close(&self) {
        lock(&self.sender).take();
        if let Some(handle) = lock(&self.writer).take()
            && handle.join().is_err()
        {
            tracing::error!("the score recorder thread panicked");
        }
        {
            let journal = lock(&self.journal);
            for segment in &journal.segments {
                if segment.appended == segment.committed {
                    std::fs::remove_file(&segment.path).ok();
                }
            }
        }
        // Nothing more is appended or replayed: another recorder may take the database.
        lock(&self.exclusive).take();
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.close();
    }
}

fn write_loop(
    connection: &mut Connection,
    db: &Path,
    receiver: &mpsc::Receiver<Message>,
    journal: &Mutex<Journal>,
    status: &Status,
) {
    let mut batch: Vec<Pending> = Vec::with_capacity(BATCH);
    let mut waiting = Vec::new();
    // What the last transaction was: whether records are coming fast, and whether some were
    // left queued because it was full.
    let (mut busy, mut behind) = (false, false);
    loop {
        let stopping = match receiver.recv_timeout(LINGER) {
            Ok(first) => {
                // Let a burst accumulate: one transaction per burst, not per score.
                if !behind && !matches!(first, Message::Flush(_)) {
                    std::thread::sleep(if busy { COLLECT_BUSY } else { COLLECT });
                }
                for message in std::iter::once(first).chain(receiver.try_iter()) {
                    match message {
                        Message::Records(records) => batch.extend(records),
                        Message::Flush(done) => waiting.push(done),
                    }
                    if batch.len() >= BATCH {
                        break;
                    }
                }
                false
            }
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => true,
        };
        (busy, behind) = (batch.len() >= BUSY_BATCH, batch.len() >= BATCH);
        let mut backoff = Duration::from_millis(50);
        let mut attempts = 0;
        while !batch.is_empty() {
            match write(connection, &batch) {
                Ok(()) => {
                    status
                        .written
                        .fetch_add(batch.len() as u64, Ordering::Relaxed);
                    Journal::commit_and_empty(journal, batch.len() as u64);
                    lock(&status.failing).take();
                    batch.clear();
                }
                Err(error) => {
                    attempts += 1;
                    status.failures.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(db = %db.display(), %error, pending = batch.len(), "could not record scores; retrying (they are safe in the journal)");
                    *lock(&status.failing) = Some(error.to_string());
                    if stopping && attempts >= ATTEMPTS_WHEN_STOPPING {
                        tracing::error!(db = %db.display(), pending = batch.len(), "stopping with scores still in the journal; the next start records them");
                        batch.clear();
                        break;
                    }
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
        for done in waiting.drain(..) {
            done.send(()).ok();
        }
        if stopping {
            break;
        }
    }
}

fn write(connection: &mut Connection, batch: &[Pending]) -> rusqlite::Result<()> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut insert = transaction.prepare_cached(
            "INSERT OR IGNORE INTO scores (id, record_id, lead_id, scored_at, model, model_version, probability, tier, points, grade, mql, answer, shadow_version, shadow_probability)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )?;
        let mut assign = transaction.prepare_cached(
            "INSERT OR IGNORE INTO assignments (experiment, lead_id, arm, routed, assigned_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        let now_ms = leadscore_data::time::now_millis();
        for Pending { id, record: r } in batch {
            let (row, text) = match id {
                RecordId::Row(row) => (Some(row), None),
                RecordId::Text(text) => (None, Some(text)),
            };
            let inserted = insert.execute(params![
                row,
                text,
                r.lead_id,
                r.scored_at,
                r.model.as_ref().map(|m| &m.0),
                r.model.as_ref().map(|m| &m.1),
                r.probability,
                r.tier,
                r.points,
                r.grade,
                r.mql,
                r.answer.as_ref().map(AnswerJson::as_str),
                r.shadow.as_ref().map(|s| &s.0),
                r.shadow.as_ref().map(|s| s.1),
            ])?;
            // A replayed record already written has already fired its webhooks.
            if inserted == 1 && !r.signals.is_empty() {
                let event = |signal: &WebhookSignal, event_id: String| WebhookEvent {
                    event_id,
                    webhook: signal.webhook.clone(),
                    kind: signal.kind.clone(),
                    lead_id: r.lead_id.clone(),
                    occurred_at: r.scored_at.clone(),
                    probability: r.probability,
                    tier: r.tier.clone(),
                    points: r.points,
                    grade: r.grade.clone(),
                    model: r.model.clone(),
                };
                apply_signals(
                    &transaction,
                    &id.key(),
                    &r.lead_id,
                    &r.signals,
                    event,
                    now_ms,
                )?;
            }
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

/// Writes what a previous process left in the journal's files, older records first, then
/// empties them. A torn last line (the process killed in the middle of a write) was never
/// acknowledged and is skipped.
fn replay(connection: &mut Connection, db: &Path) -> Result<u64, StoreError> {
    let mut files = Vec::new();
    for path in journal_paths(db) {
        let journal_error = |source| StoreError::Journal {
            path: path.clone(),
            source,
        };
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(journal_error(e)),
        };
        if !file.metadata().map_err(journal_error)?.is_file() {
            return Err(journal_error(std::io::Error::other(
                "not a regular file; move it away",
            )));
        }
        let mut lines = BufReader::new(file).lines();
        let first = lines.next().transpose().map_err(journal_error)?;
        let first_id = first
            .as_deref()
            .and_then(|line| serde_json::from_str::<Pending>(line).ok())
            .map(|pending| pending.id);
        files.push((first_id, path, first, lines));
    }
    // Only the last process's records are left in both files, and its ids count up (the text
    // ids of older versions at a fixed width): the file whose first record is older goes first,
    // so rows keep the scoring order.
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let mut replayed = 0;
    for (_, path, first, lines) in files {
        let lines = first.into_iter().map(Ok).chain(lines);
        replayed += replay_file(connection, db, &path, lines)?;
        File::create(&path).map_err(|source| StoreError::Journal { path, source })?;
    }
    Ok(replayed)
}

/// Writes the records of one journal file's `lines`.
fn replay_file(
    connection: &mut Connection,
    db: &Path,
    journal: &Path,
    lines: impl Iterator<Item = std::io::Result<String>>,
) -> Result<u64, StoreError> {
    let mut batch = Vec::new();
    let mut replayed = 0;
    let mut torn = 0;
    for line in lines {
        let line = line.map_err(|source| StoreError::Journal {
            path: journal.to_owned(),
            source,
        })?;
        match serde_json::from_str::<Pending>(&line) {
            Ok(pending) => batch.push(pending),
            Err(_) => torn += 1,
        }
        if batch.len() == BATCH {
            write(connection, &batch).map_err(crate::schema::database_error(db))?;
            replayed += batch.len() as u64;
            batch.clear();
        }
    }
    write(connection, &batch).map_err(crate::schema::database_error(db))?;
    replayed += batch.len() as u64;
    if torn > 0 {
        tracing::warn!(journal = %journal.display(), torn, "skipped unreadable journal lines (a write cut short by a crash; never acknowledged)");
    }
    if replayed > 0 {
        tracing::info!(journal = %journal.display(), replayed, "recorded scores a previous process left in the journal");
    }
    Ok(replayed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn a_journal_that_cannot_be_written_refuses_the_score() {
        let mut segment = Segment::open(PathBuf::from("/dev/full")).expect("/dev/full");
        let error = segment.append(b"{}\n", 1).expect_err("disk full");
        assert!(matches!(error, RecordError::Journal(_)), "{error}");
        assert_eq!(segment.appended, 0, "a refused record is not counted");
    }

    /// The journal holds an answer as JSON, reads it back as the same text, and still reads the
    /// string of JSON older versions wrote (or, not JSON, keeps it as a string).
    #[test]
    fn answers_are_journaled_as_json_and_older_strings_still_read() {
        let answer = r#"{"lead_id":"L\"1","reasons":[{"text":"é, \u2028"}],"probability":0.25}"#;
        let record = ScoreRecord {
            lead_id: "L\"1".to_owned(),
            scored_at: "2026-12-01T10:00:00Z".to_owned(),
            model: None,
            probability: Some(0.25),
            tier: None,
            points: None,
            grade: None,
            mql: None,
            decisions: Vec::new(),
            answer: Some(AnswerJson::parse(answer.to_owned()).expect("JSON")),
            shadow: None,
            signals: Vec::new(),
        };
        let line = serde_json::to_string(&record).expect("serialised");
        assert!(line.contains(&format!(r#""answer":{answer}"#)), "{line}");
        let read: ScoreRecord = serde_json::from_str(&line).expect("read back");
        assert_eq!(read, record);
        assert_eq!(read.answer.as_ref().map(AnswerJson::as_str), Some(answer));

        let older = line.replace(
            &format!(r#""answer":{answer}"#),
            &format!(
                r#""answer":{}"#,
                serde_json::to_string(answer).expect("string")
            ),
        );
        assert_ne!(older, line);
        let read: ScoreRecord = serde_json::from_str(&older).expect("older line");
        assert_eq!(read, record);

        assert!(AnswerJson::parse("{\"cut\":".to_owned()).is_err());
        let not_json = line.replace(&format!(r#""answer":{answer}"#), r#""answer":"{\"cut\":""#);
        let kept: ScoreRecord = serde_json::from_str(&not_json).expect("the score is kept");
        assert_eq!(kept.probability, record.probability);
        assert_eq!(
            kept.answer.as_ref().map(AnswerJson::as_str),
            Some(r#""{\"cut\":""#),
            "an older answer that is not JSON stays a string"
        );
    }

    #[test]
    fn the_backlog_is_bounded() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut journal = Journal::open(&dir.path().join("scores.db")).expect("journal");
        journal.segments[0].appended = MAX_BACKLOG;
        assert_eq!(
            journal.append(b"{}\n", 1),
            Err(RecordError::Backlog(MAX_BACKLOG))
        );
        journal.committed(MAX_BACKLOG);
        assert_eq!(journal.append(b"{}\n", 1), Ok(()));
    }

    /// Steady load: the writer never catches up with every record at once, yet each file is
    /// emptied in turn and neither grows past a segment and a burst.
    #[test]
    fn under_steady_load_the_journal_files_take_turns_and_stay_small() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut journal = Journal::open(&dir.path().join("scores.db")).expect("journal");
        journal.segment_bytes = 100;
        let journal = Mutex::new(journal);
        let record = b"{\"id\":\"r\"}\n";
        let mut turns = 0;
        let mut active = lock(&journal).active;
        for _ in 0..200 {
            // A burst of three records, then a commit of all but the newest.
            for _ in 0..3 {
                lock(&journal).append(record, 1).expect("appended");
            }
            let pending = lock(&journal).pending();
            Journal::commit_and_empty(&journal, pending - 1);
            let journal = lock(&journal);
            assert_eq!(journal.pending(), 1);
            for segment in &journal.segments {
                let on_disk = std::fs::metadata(&segment.path).expect("file").len();
                assert_eq!(on_disk, segment.length);
                assert!(on_disk <= 100 + 3 * record.len() as u64, "{on_disk} bytes");
            }
            turns += usize::from(journal.active != active);
            active = journal.active;
        }
        assert!(turns > 10, "the files took turns {turns} times");
    }

    /// A file whose records are all committed is emptied without the journal's lock, so scores
    /// keep being journaled meanwhile: until it is emptied it takes none of them, even once the
    /// other file is past its size, and the records of the other file are kept.
    #[test]
    fn a_file_being_emptied_takes_no_record() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut journal = Journal::open(&dir.path().join("scores.db")).expect("journal");
        journal.segment_bytes = 10;
        let record = b"{\"id\":\"r\"}\n";
        journal.append(record, 1).expect("appended");
        journal.append(record, 1).expect("appended");
        assert_eq!(journal.active, 1, "the first file was full");

        // The first file's record is committed: it is to be emptied, and the second goes on.
        assert_eq!(journal.committed(1), Some(0));
        for _ in 0..3 {
            journal
                .append(record, 1)
                .expect("appended while the first file is emptied");
        }
        assert_eq!(journal.active, 1, "the file being emptied took no record");
        let second = std::fs::metadata(&journal.segments[1].path).expect("file");
        assert_eq!(second.len(), 4 * record.len() as u64);

        // Once the first file is emptied it takes the next records, and the second, once all of
        // its records are committed, is emptied in turn.
        let journal = Mutex::new(journal);
        Journal::commit_and_empty(&journal, 0);
        let first = std::fs::metadata(&lock(&journal).segments[0].path).expect("file");
        assert_eq!(first.len(), 0);
        lock(&journal).append(record, 1).expect("appended");
        assert_eq!(lock(&journal).active, 0);
        Journal::commit_and_empty(&journal, 4);
        let journal = lock(&journal);
        assert_eq!(journal.pending(), 1);
        let lengths = journal
            .segments
            .each_ref()
            .map(|segment| std::fs::metadata(&segment.path).expect("file").len());
        assert_eq!(lengths, [record.len() as u64, 0]);
    }

    /// When every record is committed, new records go to the other (empty) file, and the one
    /// that was taking them is emptied without the lock.
    #[test]
    fn a_quiet_journal_hands_over_to_its_empty_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let journal = Mutex::new(Journal::open(&dir.path().join("scores.db")).expect("journal"));
        let record = b"{\"id\":\"r\"}\n";
        lock(&journal).append(record, 1).expect("appended");
        Journal::commit_and_empty(&journal, 1);
        let journal = lock(&journal);
        assert_eq!(journal.active, 1);
        assert_eq!(journal.pending(), 0);
        for segment in &journal.segments {
            assert_eq!(std::fs::metadata(&segment.path).expect("file").len(), 0);
        }
    }
}
