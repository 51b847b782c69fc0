//! The score database: one SQLite file per server holding every score, the experiment
//! assignments, recorded outcomes and the experiments' arms.
//!
//! Scores reach it through the [`Recorder`]: acknowledged only once journaled, written in batches
//! off the request path, replayed after a crash, and refused (rather than silently lost) when
//! they cannot be kept. Outcomes are recorded idempotently ([`record_outcomes`]); experiment
//! reports read their per-arm counts here ([`experiment_counts`]); the web console its history
//! ([`daily_volume`], [`score_mix`], [`lead_history`], [`experiment_weeks`]); monitoring its
//! backtest, shadow comparison and score drift ([`monitor_database`]). Read-only
//! commands open the database with [`open_existing`] and never create an empty one. Threshold
//! webhooks are enqueued in the [`Outbox`] by the transaction that writes their score.

mod cancel;
mod error;
mod experiments;
mod history;
mod monitor;
mod outbox;
mod outcomes;
mod recorder;
mod schema;

pub use cancel::Cancellation;
pub use error::{RecordError, StoreError};
pub use experiments::{experiment_counts, experiment_report_of, register_experiments};
pub use history::{
    ArmWeek, DayVolume, LeadHistory, ScoreMix, StoredAssignment, StoredOutcome, StoredScore,
    daily_volume, experiment_weeks, lead_history, score_mix,
};
pub use monitor::{ColumnDay, add_column_counts, closed_scores, monitor_database, weekly_bins};
pub use outbox::{DeadLetter, Delivery, Outbox, OutboxStatus, WebhookEvent, WebhookSignal};
pub use outcomes::{OutcomeImport, OutcomeRecord, OutcomeValue, record_outcomes};
pub use recorder::{
    AnswerJson, MAX_BACKLOG, Recorder, RecorderStatus, ScoreRecord, journal_path, lock_path,
};
pub use schema::{open, open_existing};
