//! Opening the database: its tables, indexes and the upgrades of older files.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension};

use crate::error::StoreError;

/// Pages of 16 KiB for a new file (an existing file keeps its own): a score row carries its
/// answer (about 1.2 KB), and the by-lead index takes rows at random places, so each
/// transaction rewrites many index pages; with fewer, larger pages the recorder wrote 150k rows/s
/// against 103k with 4 KiB pages (SQLite through Python's `sqlite3`, 10,000 leads, transactions
/// of 8,000 rows, the three score indexes). Set before anything else: it only takes effect on a
/// file not yet written.
const SCHEMA: &str = "
PRAGMA page_size = 16384;
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
CREATE TABLE IF NOT EXISTS column_stats (
    day TEXT NOT NULL,
    model TEXT NOT NULL,
    version TEXT NOT NULL,
    column_name TEXT NOT NULL,
    counts TEXT NOT NULL,
    PRIMARY KEY (day, model, version, column_name)
);
CREATE TABLE IF NOT EXISTS outcomes (
    lead_id TEXT PRIMARY KEY,
    won INTEGER NOT NULL,
    closed_at TEXT,
    recorded_at TEXT NOT NULL
);
";

/// Threshold webhooks: the outbox of events to deliver, and each trigger's state per lead.
const OUTBOX_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS webhook_outbox (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    webhook TEXT NOT NULL,
    kind TEXT NOT NULL,
    lead_id TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    last_error TEXT,
    created_at TEXT NOT NULL,
    delivered_at TEXT
);
CREATE INDEX IF NOT EXISTS webhook_outbox_due ON webhook_outbox (status, next_attempt_ms);
CREATE TABLE IF NOT EXISTS webhook_state (
    webhook TEXT NOT NULL,
    lead_id TEXT NOT NULL,
    armed INTEGER NOT NULL,
    PRIMARY KEY (webhook, lead_id)
);
";

/// How long a connection waits for another one's write transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) fn database_error(path: &Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |e| StoreError::Database {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

/// Opens the database, creating it and its tables if needed and upgrading an older file.
pub fn open(path: &Path) -> Result<Connection, StoreError> {
    let error = database_error(path);
    let connection = Connection::open(path).map_err(&error)?;
    // The recorder thread, outcome imports and reports share the file: wait for another writer
    // instead of failing with "database is locked". Write transactions begin IMMEDIATE, because a
    // read transaction that later upgrades to a write cannot wait and fails at once.
    connection.busy_timeout(BUSY_TIMEOUT).map_err(&error)?;
    connection.execute_batch(SCHEMA).map_err(&error)?;
    connection.execute_batch(OUTBOX_SCHEMA).map_err(&error)?;
    let has_column = |name: &str| {
        connection
            .query_row(
                "SELECT count(*) FROM pragma_table_info('scores') WHERE name = ?1",
                [name],
                |row| row.get::<_, i64>(0),
            )
            .map(|n| n > 0)
            .map_err(&error)
    };
    // Files written before the journal existed: ids let a replayed journal skip rows that were
    // already committed.
    if !has_column("record_id")? {
        connection
            .execute_batch("ALTER TABLE scores ADD COLUMN record_id TEXT")
            .map_err(&error)?;
    }
    // Files written before answers were kept: their leads show scores without reasons.
    if !has_column("answer")? {
        connection
            .execute_batch("ALTER TABLE scores ADD COLUMN answer TEXT")
            .map_err(&error)?;
    }
    // Files written before outcomes carried amounts.
    let has_amount: bool = connection
        .query_row(
            "SELECT count(*) FROM pragma_table_info('outcomes') WHERE name = 'amount'",
            [],
            |row| row.get::<_, i64>(0),
        )
        .map(|n| n > 0)
        .map_err(&error)?;
    if !has_amount {
        connection
            .execute_batch("ALTER TABLE outcomes ADD COLUMN amount REAL")
            .map_err(&error)?;
    }
    // Files written before challengers were scored in shadow.
    for (column, kind) in [("shadow_version", "TEXT"), ("shadow_probability", "REAL")] {
        if !has_column(column)? {
            connection
                .execute_batch(&format!("ALTER TABLE scores ADD COLUMN {column} {kind}"))
                .map_err(&error)?;
        }
    }
    // Rows recorded now are identified by their rowid and leave `record_id` empty; only the rows
    // of older journals carry one, so its unique index holds those alone instead of taking an
    // entry with every score. Files whose index covers every row get the partial one.
    let record_index: Option<String> = connection
        .query_row(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'scores_by_record'",
            [],
            |row| row.get(0),
        )
        .optional()
        .map_err(&error)?;
    if record_index.is_some_and(|sql| !sql.contains("WHERE")) {
        connection
            .execute_batch("DROP INDEX scores_by_record")
            .map_err(&error)?;
    }
    connection
        .execute_batch(
            "CREATE UNIQUE INDEX IF NOT EXISTS scores_by_record ON scores (record_id)
                 WHERE record_id IS NOT NULL;
             CREATE INDEX IF NOT EXISTS scores_by_time ON scores (scored_at);",
        )
        .map_err(&error)?;
    Ok(connection)
}

/// Opens a database that must already exist (reports and other read-mostly commands never create
/// an empty one by mistake).
pub fn open_existing(path: &Path) -> Result<Connection, StoreError> {
    if !path.is_file() {
        return Err(StoreError::Missing {
            path: path.to_owned(),
        });
    }
    open(path)
}
