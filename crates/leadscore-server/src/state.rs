//! Server settings and shared state: the serving scorer (swapped atomically on reload), the
//! scores recorder and the metrics.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use leadscore_artifact::{ColumnCounts, ModelArtifact, POINTER_FILE, served_files};
use leadscore_compare::live::Experiment;
use leadscore_data::{ColumnKind, MissingTokens};
use leadscore_points::PointsRules;
use leadscore_score::{LeadScore, Scorer};
use leadscore_store::{ColumnDay, Recorder};

use crate::auth::ApiKeys;
use crate::error::ServerError;
use crate::metrics::Metrics;
use crate::session::Sessions;
use crate::webhooks::{Dispatcher, Webhook};

/// Server settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// Model file; or a registry folder (`models/<name>`), whose champion is served and whose
    /// challenger is scored in shadow; or a folder whose most recently written `*.json` is served.
    pub model: Option<PathBuf>,
    /// Points rules file.
    pub rules: Option<PathBuf>,
    /// SQLite file recording every score; `None` records nothing.
    pub db: Option<PathBuf>,
    /// Accepted API keys (`Authorization: Bearer <key>`); write routes need one.
    pub api_keys: Vec<String>,
    /// Whether read routes need a key too.
    pub keys_for_reads: bool,
    /// Most leads in one batch request.
    pub max_batch: usize,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Bounds on each lead's fields.
    pub limits: RequestLimits,
    /// Longest a request may take.
    pub timeout: Duration,
    /// Positive and negative reasons per lead.
    pub reasons: usize,
    /// Live experiments (TOML); they need `db`.
    pub experiments: Option<PathBuf>,
    /// Browser origins allowed to call the API (`*` for any); none: no CORS headers, so browsers
    /// keep other sites' pages out.
    pub cors_origins: Vec<String>,
    /// Keep each answer (reasons, points breakdown) with its score, for the console's lead page
    /// and `GET /v1/leads/{id}`; off trades them for throughput.
    pub keep_answers: bool,
    /// Threshold webhooks (TOML, `[[webhook]]`); they need `db` for their outbox.
    pub webhooks: Option<PathBuf>,
}

impl Default for ServerConfig {
    /// No model or rules; no database; no keys; batches of up to 1,000 leads; 16 MiB bodies (a
    /// full batch with 100 events per lead); the default [`RequestLimits`]; 10 s per request; 3
    /// reasons each way; answers kept with their scores.
    fn default() -> Self {
        Self {
            model: None,
            rules: None,
            db: None,
            api_keys: Vec::new(),
            keys_for_reads: false,
            max_batch: 1_000,
            max_body_bytes: 16 << 20,
            limits: RequestLimits::default(),
            timeout: Duration::from_secs(10),
            reasons: 3,
            experiments: None,
            cors_origins: Vec::new(),
            keep_answers: true,
            webhooks: None,
        }
    }
}

/// Bounds on the fields of a request, so that no client can make the server hold, log or store
/// more than a lead needs. A field over its bound is a 422 naming it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLimits {
    /// Longest lead id, in bytes: ids are stored with every score.
    pub max_id_bytes: usize,
    /// Longest text attribute value or event type, in bytes.
    pub max_text_bytes: usize,
    /// Most attributes of one lead.
    pub max_attributes: usize,
    /// Most events of one lead.
    pub max_events: usize,
}

impl Default for RequestLimits {
    /// Ids up to 256 bytes, texts up to 4 KiB, 1,000 attributes and 10,000 events per lead.
    fn default() -> Self {
        Self {
            max_id_bytes: 256,
            max_text_bytes: 4 << 10,
            max_attributes: 1_000,
            max_events: 10_000,
        }
    }
}

/// What serves requests between two reloads.
#[derive(Debug)]
pub struct Engine {
    /// Model and rules.
    pub scorer: Scorer,
    /// The model file actually loaded.
    pub model_file: Option<PathBuf>,
    /// The challenger scored in shadow, from a registry folder's pointer.
    pub challenger_file: Option<PathBuf>,
    /// Explicit columns the model knows, with their kind.
    pub columns: HashMap<String, ColumnKind>,
    /// Fields the rules read.
    pub rule_fields: Vec<String>,
    /// Placeholders read as missing, as at training time.
    pub missing: MissingTokens,
    /// Modification times of the loaded files, to notice changes.
    stamps: FileStamps,
}

/// Files with their modification times when last looked at.
type FileStamps = Vec<(PathBuf, Option<SystemTime>)>;

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The model file to serve and the challenger to score in shadow: the path itself when it is a
/// file; a registry folder's champion and challenger; else a folder's newest `*.json`.
fn model_files(path: &Path) -> Result<(PathBuf, Option<PathBuf>), ServerError> {
    if !path.is_dir() {
        return Ok((path.to_owned(), None));
    }
    if let Some(served) = served_files(path)? {
        return Ok(served);
    }
    let newest = std::fs::read_dir(path)?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .max_by_key(|p| (modified(p), p.clone()));
    newest
        .map(|file| (file, None))
        .ok_or_else(|| ServerError::EmptyModelFolder(path.to_owned()))
}

impl Engine {
    /// Loads the configured model and rules.
    pub fn load(config: &ServerConfig) -> Result<Self, ServerError> {
        // Taken before reading: a file changed while it is read differs at the next look.
        let stamps = file_stamps(config);
        let (model_file, challenger_file) = match config.model.as_deref().map(model_files) {
            Some(files) => {
                let (model, challenger) = files?;
                (Some(model), challenger)
            }
            None => (None, None),
        };
        let model = model_file.as_deref().map(ModelArtifact::load).transpose()?;
        let challenger = challenger_file
            .as_deref()
            .map(ModelArtifact::load)
            .transpose()?;
        let rules = config.rules.as_deref().map(PointsRules::load).transpose()?;
        let columns = model
            .as_ref()
            .map(|m| {
                m.features()
                    .columns
                    .iter()
                    .map(|c| (c.name.clone(), c.kind))
                    .collect()
            })
            .unwrap_or_default();
        let missing = model
            .as_ref()
            .map(|m| m.schema().missing_values.clone())
            .unwrap_or_default();
        let rule_fields = rules
            .as_ref()
            .map(|r| {
                r.rules
                    .iter()
                    .filter_map(|rule| match &rule.condition {
                        leadscore_points::Condition::Field { field, .. } => Some(field.clone()),
                        leadscore_points::Condition::Event(_) => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut scorer = Scorer::new(model, rules, config.reasons)?;
        if let Some(challenger) = challenger {
            scorer = scorer.with_shadow(challenger);
        }
        Ok(Self {
            scorer,
            model_file,
            challenger_file,
            columns,
            rule_fields,
            missing,
            stamps,
        })
    }
}

/// Modification times of the files a configuration reads: the model file or folder, a
/// registry's pointer, the served file in a folder, and the rules. In folder mode the served file
/// is looked up afresh each time, so that a model being copied in is loaded once its copy is
/// complete, even when a reload of its half-written state was refused, and a promote or rollback
/// (a new pointer) is noticed.
fn file_stamps(config: &ServerConfig) -> FileStamps {
    let folder = config.model.as_deref().filter(|path| path.is_dir());
    let pointer = folder.map(|folder| folder.join(POINTER_FILE));
    let served = folder.and_then(|folder| model_files(folder).ok());
    let (served, challenger) = served.map_or((None, None), |(m, c)| (Some(m), c));
    [
        config.model.clone(),
        pointer,
        served,
        challenger,
        config.rules.clone(),
    ]
    .into_iter()
    .flatten()
    .map(|path| {
        let time = modified(&path);
        (path, time)
    })
    .collect()
}

/// Shared state of every request.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    config: ServerConfig,
    engine: RwLock<Arc<Engine>>,
    recorder: Option<Recorder>,
    experiments: Vec<Experiment>,
    metrics: Metrics,
    /// File times of the last refused reload.
    refused: Mutex<Option<FileStamps>>,
    /// Slots for report queries, so a burst of reports cannot occupy every blocking thread.
    report_slots: Arc<tokio::sync::Semaphore>,
    /// API keys and the console's sessions.
    keys: ApiKeys,
    /// Column counts of scored leads not yet added to the database, per day and model version.
    column_counts: Mutex<Vec<DayCounts>>,
    /// Threshold webhooks, and the worker delivering their events.
    webhooks: Vec<Webhook>,
    dispatcher: Mutex<Option<Dispatcher>>,
}

/// Report queries that may run at once; more wait (cancelled by their timeout while waiting).
pub const RUNNING_REPORTS: usize = 2;

impl AppState {
    /// Loads the model and rules and opens the scores database.
    pub fn new(config: ServerConfig) -> Result<Self, ServerError> {
        crate::cors::layer(&config.cors_origins)?;
        let engine = Engine::load(&config)?;
        let recorder = config.db.as_deref().map(Recorder::start).transpose()?;
        let experiments = match (&config.experiments, &config.db) {
            (Some(path), Some(db)) => {
                let experiments = leadscore_compare::live::load(
                    path,
                    engine.scorer.model().is_some(),
                    engine.scorer.rules().is_some(),
                )?;
                leadscore_store::register_experiments(db, &experiments)?;
                experiments
            }
            (Some(path), None) => return Err(ServerError::ExperimentsNeedDatabase(path.clone())),
            (None, _) => Vec::new(),
        };
        let metrics = Metrics::default();
        let (webhooks, dispatcher) = match (&config.webhooks, &config.db) {
            (Some(path), Some(db)) => {
                let webhooks = crate::webhooks::load(path, &engine.scorer)?;
                let dispatcher = Dispatcher::start(db, webhooks.clone(), metrics.webhooks())?;
                (webhooks, Some(dispatcher))
            }
            (Some(path), None) => return Err(ServerError::WebhooksNeedDatabase(path.clone())),
            (None, _) => (Vec::new(), None),
        };
        let keys = ApiKeys::new(&config.api_keys, config.keys_for_reads, Sessions::default());
        Ok(Self(Arc::new(Inner {
            column_counts: Mutex::default(),
            webhooks,
            dispatcher: Mutex::new(dispatcher),
            keys,
            config,
            engine: RwLock::new(Arc::new(engine)),
            recorder,
            experiments,
            metrics,
            refused: Mutex::new(None),
            report_slots: Arc::new(tokio::sync::Semaphore::new(RUNNING_REPORTS)),
        })))
    }

    /// Settings.
    pub fn config(&self) -> &ServerConfig {
        &self.0.config
    }

    /// The engine serving now.
    pub fn engine(&self) -> Arc<Engine> {
        match self.0.engine.read() {
            Ok(engine) => engine.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Loads the files again and swaps them in; on error the current engine keeps serving.
    pub fn reload(&self) -> Result<Arc<Engine>, ServerError> {
        let engine = Arc::new(Engine::load(&self.0.config)?);
        match self.0.engine.write() {
            Ok(mut current) => *current = engine.clone(),
            Err(poisoned) => *poisoned.into_inner() = engine.clone(),
        }
        Ok(engine)
    }

    /// Reloads when a file changed; logs and keeps serving when the new files are bad (once per
    /// change, not on every poll).
    pub fn reload_if_changed(&self) {
        let engine = self.engine();
        let now = file_stamps(&self.0.config);
        if now == engine.stamps {
            return;
        }
        if let Ok(refused) = self.0.refused.lock()
            && refused.as_ref() == Some(&now)
        {
            return;
        }
        match self.reload() {
            Ok(engine) => tracing::info!(
                model = ?engine.scorer.model().map(|m| (m.name(), m.version())),
                "reloaded after a file change"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "refused a changed model or rules file; still serving the previous one");
                if let Ok(mut refused) = self.0.refused.lock() {
                    *refused = Some(now);
                }
            }
        }
    }

    /// The scores recorder, when a database is configured.
    pub fn recorder(&self) -> Option<&Recorder> {
        self.0.recorder.as_ref()
    }

    /// The live experiments.
    pub fn experiments(&self) -> &[Experiment] {
        &self.0.experiments
    }

    /// Waits for a free report slot, released when the permit is dropped; `None` only if the
    /// slots were closed, which nothing does.
    pub async fn report_slot(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.0.report_slots.clone().acquire_owned().await.ok()
    }

    /// API keys and the console's sessions.
    pub(crate) fn keys(&self) -> &ApiKeys {
        &self.0.keys
    }

    /// Signed-in console browsers.
    pub fn sessions(&self) -> &Sessions {
        self.0.keys.sessions()
    }

    /// Request metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    /// Flushes recorded scores; call on shutdown.
    pub fn close(&self) {
        if let Some(recorder) = &self.0.recorder {
            recorder.close();
        }
        if let Err(e) = self.flush_column_counts() {
            tracing::warn!(error = %e, "column statistics of the last seconds are lost");
        }
        if let Ok(mut dispatcher) = self.0.dispatcher.lock()
            && let Some(mut dispatcher) = dispatcher.take()
        {
            dispatcher.stop();
        }
    }

    /// The threshold webhooks.
    pub fn webhooks(&self) -> &[Webhook] {
        &self.0.webhooks
    }

    /// Counts the explicit columns of leads the served model scored at `scored_at`, against its
    /// column profiles (for the monitor's input drift). Cheap: a few additions per column, and
    /// nothing allocated once the day's counts exist.
    pub fn count_columns(&self, engine: &Engine, scores: &[&LeadScore], scored_at: &str) {
        let Some(model) = engine.scorer.model() else {
            return;
        };
        let profiles = model.column_profiles();
        if profiles.is_empty() || self.0.config.db.is_none() {
            return;
        }
        let day = scored_at.get(..10).unwrap_or(scored_at);
        let Ok(mut days) = self.0.column_counts.lock() else {
            return;
        };
        let tally = DayCounts::find_or_add(&mut days, day, model.name(), model.version(), || {
            profiles.iter().map(|p| p.column.clone()).collect()
        });
        for score in scores
            .iter()
            .filter(|s| s.column_values.len() == profiles.len())
        {
            for (((profile, encoder), &value), (_, counts)) in profiles
                .iter()
                .zip(&model.features().columns)
                .zip(&score.column_values)
                .zip(&mut tally.columns)
            {
                profile.observe(value, encoder.levels.len() as f64, counts);
            }
        }
    }

    /// Adds the column counts kept in memory to the database (every half minute, before a
    /// monitor report, and at shutdown; a `kill -9` loses at most the last half minute's).
    pub fn flush_column_counts(&self) -> Result<(), leadscore_store::StoreError> {
        let Some(db) = self.0.config.db.as_deref() else {
            return Ok(());
        };
        let drained = match self.0.column_counts.lock() {
            Ok(mut days) => std::mem::take(&mut *days),
            Err(_) => return Ok(()),
        };
        if drained.is_empty() {
            return Ok(());
        }
        let days: Vec<ColumnDay> = drained
            .iter()
            .flat_map(|tally| {
                tally.columns.iter().map(|(column, counts)| ColumnDay {
                    day: tally.day.clone(),
                    model: tally.model.clone(),
                    version: tally.version.clone(),
                    column: column.clone(),
                    counts: counts.clone(),
                })
            })
            .collect();
        let written = leadscore_store::add_column_counts(db, &days);
        if written.is_err() {
            // Keep them for the next flush rather than lose them.
            if let Ok(mut days) = self.0.column_counts.lock() {
                DayCounts::add_back(&mut days, drained);
            }
        }
        written
    }
}

/// The column counts of one model version's scores on one day, one per profiled column, in the
/// profiles' order.
#[derive(Debug)]
struct DayCounts {
    day: String,
    model: String,
    version: String,
    columns: Vec<(String, ColumnCounts)>,
}

impl DayCounts {
    /// The counts of `day` and the model version among `days` (a day or two, a model or two),
    /// added with zero counts for `columns` when new.
    fn find_or_add<'a>(
        days: &'a mut Vec<DayCounts>,
        day: &str,
        model: &str,
        version: &str,
        columns: impl FnOnce() -> Vec<String>,
    ) -> &'a mut DayCounts {
        let found = days
            .iter()
            .position(|t| t.day == day && t.model == model && t.version == version);
        let at = found.unwrap_or_else(|| {
            days.push(DayCounts {
                day: day.to_owned(),
                model: model.to_owned(),
                version: version.to_owned(),
                columns: columns()
                    .into_iter()
                    .map(|column| (column, ColumnCounts::default()))
                    .collect(),
            });
            days.len() - 1
        });
        &mut days[at]
    }

    /// Adds counts taken out of `days` (a flush that failed) back in, beside those counted since.
    fn add_back(days: &mut Vec<DayCounts>, kept: Vec<DayCounts>) {
        for kept in kept {
            let tally = Self::find_or_add(days, &kept.day, &kept.model, &kept.version, || {
                kept.columns.iter().map(|(c, _)| c.clone()).collect()
            });
            for ((_, counts), (_, more)) in tally.columns.iter_mut().zip(&kept.columns) {
                counts.add(more);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(days: &mut Vec<DayCounts>, day: &str, column: usize, rows: u64) {
        let tally = DayCounts::find_or_add(days, day, "m", "v1", || {
            vec!["industry".to_owned(), "revenue".to_owned()]
        });
        tally.columns[column].1.rows += rows;
    }

    /// Counts of a failed flush go back beside those counted meanwhile: added column by column
    /// to the same day's, kept apart for another day.
    #[test]
    fn counts_of_a_failed_flush_are_added_back() {
        let mut days = Vec::new();
        count(&mut days, "2026-12-01", 0, 2);
        count(&mut days, "2026-12-01", 1, 5);
        count(&mut days, "2026-11-30", 0, 7);
        assert_eq!(days.len(), 2, "one tally per day");
        let drained = std::mem::take(&mut days);
        count(&mut days, "2026-12-01", 0, 1);
        DayCounts::add_back(&mut days, drained);
        let rows = |days: &[DayCounts], day: &str| -> Vec<u64> {
            let tally = days.iter().find(|t| t.day == day).expect("day");
            tally.columns.iter().map(|(_, c)| c.rows).collect()
        };
        assert_eq!(days.len(), 2);
        assert_eq!(rows(&days, "2026-12-01"), [3, 5]);
        assert_eq!(rows(&days, "2026-11-30"), [7, 0]);
        assert_eq!(days[0].columns[1].0, "revenue");
    }
}
