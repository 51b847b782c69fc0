//! Threshold webhooks' outbox: events are enqueued in the same transaction as the score that
//! caused them, so an acknowledged score (journaled, replayed after a crash) enqueues its event
//! exactly once, under an idempotency key derived from the score's record id. Deliveries are
//! taken from the outbox, retried with exponential backoff, and dead-lettered after the last
//! attempt; a row is marked delivered only after the receiver said 2xx, so delivery is
//! at-least-once and a receiver deduplicates by the key.
//!
//! Hysteresis lives here too: per webhook and lead, a trigger fires once when the lead's level
//! is reached and is re-armed only when the lead falls clearly below it, so a lead hovering at
//! the threshold does not fire again and again.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::StoreError;
use crate::schema::{database_error, open};

/// What the server saw for one webhook when it scored a lead: the state machine's inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookSignal {
    /// The webhook's name.
    pub webhook: String,
    /// `mql` or `tier`.
    pub kind: String,
    /// The lead is at the firing level (an MQL; in a watched tier).
    pub firing: bool,
    /// The lead is clearly below it: the trigger re-arms.
    pub rearm: bool,
}

/// The JSON body of a webhook event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookEvent {
    /// Unique and stable: the idempotency key, also sent as the `Idempotency-Key` header.
    pub event_id: String,
    /// The webhook's name.
    pub webhook: String,
    /// `mql` (the lead became marketing-qualified) or `tier` (it entered a watched tier).
    pub kind: String,
    /// Lead id.
    pub lead_id: String,
    /// When the score that caused it was given (RFC 3339).
    pub occurred_at: String,
    /// Calibrated probability, when a model scored the lead.
    pub probability: Option<f64>,
    /// Model tier.
    pub tier: Option<String>,
    /// Points total.
    pub points: Option<f64>,
    /// Points grade.
    pub grade: Option<String>,
    /// Model name and version.
    pub model: Option<(String, String)>,
}

/// One delivery waiting in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// Row id.
    pub id: i64,
    /// The webhook's name.
    pub webhook: String,
    /// The idempotency key.
    pub event_id: String,
    /// `mql` or `tier`.
    pub kind: String,
    /// The JSON body, byte for byte as every attempt sends it.
    pub body: String,
    /// Attempts so far.
    pub attempts: u32,
}

/// How many events are in each state, and the dead letters.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxStatus {
    /// Waiting for their (next) attempt.
    pub pending: u64,
    /// Acknowledged by the receiver.
    pub delivered: u64,
    /// Given up after the last attempt.
    pub dead: u64,
    /// The dead letters, newest first (at most 100).
    pub dead_letters: Vec<DeadLetter>,
}

/// An event that was given up.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadLetter {
    /// The idempotency key.
    pub event_id: String,
    /// The webhook's name.
    pub webhook: String,
    /// Lead id.
    pub lead_id: String,
    /// Attempts made.
    pub attempts: u32,
    /// The last failure.
    pub last_error: Option<String>,
}

/// The idempotency key of `webhook`'s event caused by the score recorded as `record_id`.
fn event_id(record_id: &str, webhook: &str) -> String {
    let digest = Sha256::digest(format!("{record_id}\n{webhook}").as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// Applies a freshly inserted score's signals for `lead_id`: fires armed triggers (enqueuing the
/// event `event` builds from the signal and its idempotency key) and re-arms disarmed ones. Runs
/// inside the recorder's write transaction.
pub(crate) fn apply_signals(
    transaction: &Transaction<'_>,
    record_id: &str,
    lead_id: &str,
    signals: &[WebhookSignal],
    event: impl Fn(&WebhookSignal, String) -> WebhookEvent,
    now_ms: i64,
) -> rusqlite::Result<()> {
    for signal in signals {
        let armed: bool = transaction
            .prepare_cached("SELECT armed FROM webhook_state WHERE webhook = ?1 AND lead_id = ?2")?
            .query_row(params![signal.webhook, lead_id], |row| row.get(0))
            .optional()?
            .unwrap_or(true);
        let next = if armed && signal.firing {
            let event = event(signal, event_id(record_id, &signal.webhook));
            let body = serde_json::to_string(&event)
                .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
            transaction
                .prepare_cached(
                    "INSERT OR IGNORE INTO webhook_outbox (event_id, webhook, kind, lead_id, body, next_attempt_ms, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(params![
                    event.event_id,
                    event.webhook,
                    event.kind,
                    event.lead_id,
                    body,
                    now_ms,
                    event.occurred_at
                ])?;
            false
        } else if !armed && signal.rearm {
            true
        } else {
            continue;
        };
        transaction
            .prepare_cached(
                "INSERT INTO webhook_state (webhook, lead_id, armed) VALUES (?1, ?2, ?3)
                 ON CONFLICT (webhook, lead_id) DO UPDATE SET armed = excluded.armed",
            )?
            .execute(params![signal.webhook, lead_id, next])?;
    }
    Ok(())
}

/// The outbox of one database, for the delivery worker and `leadscore webhooks`.
#[derive(Debug)]
pub struct Outbox {
    connection: Connection,
    path: std::path::PathBuf,
}

impl Outbox {
    /// Opens the outbox of the database at `path` (creating its tables if needed).
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Ok(Self {
            connection: open(path)?,
            path: path.to_owned(),
        })
    }

    /// Up to `limit` deliveries due at `now_ms`, oldest first.
    pub fn due(&self, now_ms: i64, limit: usize) -> Result<Vec<Delivery>, StoreError> {
        let error = database_error(&self.path);
        let mut query = self
            .connection
            .prepare_cached(
                "SELECT id, webhook, event_id, kind, body, attempts FROM webhook_outbox
                 WHERE status = 'pending' AND next_attempt_ms <= ?1 ORDER BY next_attempt_ms, id LIMIT ?2",
            )
            .map_err(&error)?;
        let rows = query
            .query_map(params![now_ms, limit as i64], |row| {
                Ok(Delivery {
                    id: row.get(0)?,
                    webhook: row.get(1)?,
                    event_id: row.get(2)?,
                    kind: row.get(3)?,
                    body: row.get(4)?,
                    attempts: row.get(5)?,
                })
            })
            .map_err(&error)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(&error)
    }

    /// When the next pending delivery is due, if any.
    pub fn next_due_ms(&self) -> Result<Option<i64>, StoreError> {
        self.connection
            .query_row(
                "SELECT min(next_attempt_ms) FROM webhook_outbox WHERE status = 'pending'",
                [],
                |row| row.get(0),
            )
            .map_err(database_error(&self.path))
    }

    /// The receiver acknowledged `delivery`.
    pub fn delivered(&self, delivery: &Delivery, at: &str) -> Result<(), StoreError> {
        self.connection
            .execute(
                "UPDATE webhook_outbox SET status = 'delivered', attempts = attempts + 1, delivered_at = ?2, last_error = NULL WHERE id = ?1",
                params![delivery.id, at],
            )
            .map(drop)
            .map_err(database_error(&self.path))
    }

    /// An attempt failed: try again at `retry_at_ms`, or give up (`None`).
    pub fn failed(
        &self,
        delivery: &Delivery,
        error: &str,
        retry_at_ms: Option<i64>,
    ) -> Result<(), StoreError> {
        let (status, next) = match retry_at_ms {
            Some(at) => ("pending", at),
            None => ("dead", i64::MAX),
        };
        self.connection
            .execute(
                "UPDATE webhook_outbox SET status = ?2, attempts = attempts + 1, next_attempt_ms = ?3, last_error = ?4 WHERE id = ?1",
                params![delivery.id, status, next, error],
            )
            .map(drop)
            .map_err(database_error(&self.path))
    }

    /// Counts per state and the newest dead letters.
    pub fn status(&self) -> Result<OutboxStatus, StoreError> {
        let error = database_error(&self.path);
        let count = |status: &str| {
            self.connection
                .query_row(
                    "SELECT count(*) FROM webhook_outbox WHERE status = ?1",
                    [status],
                    |row| row.get::<_, u64>(0),
                )
                .map_err(&error)
        };
        let mut query = self
            .connection
            .prepare(
                "SELECT event_id, webhook, lead_id, attempts, last_error FROM webhook_outbox
                 WHERE status = 'dead' ORDER BY id DESC LIMIT 100",
            )
            .map_err(&error)?;
        let dead_letters = query
            .query_map([], |row| {
                Ok(DeadLetter {
                    event_id: row.get(0)?,
                    webhook: row.get(1)?,
                    lead_id: row.get(2)?,
                    attempts: row.get(3)?,
                    last_error: row.get(4)?,
                })
            })
            .map_err(&error)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(&error)?;
        Ok(OutboxStatus {
            pending: count("pending")?,
            delivered: count("delivered")?,
            dead: count("dead")?,
            dead_letters,
        })
    }

    /// Puts every dead letter back in line, due at `now_ms`, with its attempts reset; returns
    /// how many.
    pub fn requeue_dead(&self, now_ms: i64) -> Result<usize, StoreError> {
        self.connection
            .execute(
                "UPDATE webhook_outbox SET status = 'pending', attempts = 0, next_attempt_ms = ?1 WHERE status = 'dead'",
                [now_ms],
            )
            .map_err(database_error(&self.path))
    }
}
