//! The native half of the Python package `leadscore`: training, scoring, explaining, evaluating
//! and points rules through the same library functions as the CLI (settings, table reading, the
//! one scorer, the output columns), with tables in through the Arrow C stream interface or a
//! file path and results out as Arrow tables. The Python half (`python/leadscore`) shapes the
//! keyword arguments into settings, converts pandas frames and adds the scikit-learn estimator.
//!
//! Long work releases the GIL; library errors become `leadscore.LeadscoreError` with the
//! library's message.

mod arrow;

/// The package's Rust code allocates through mimalloc, as the `leadscore` binary does: reading
/// and scoring make many small allocations across threads, where the system allocator is slower
/// (a million leads scored a third slower). Python's own objects keep Python's allocator; the
/// Arrow buffers handed over are released through callbacks into this library.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::{Path, PathBuf};

use leadscore_artifact::ModelArtifact;
use leadscore_data::{EventLog, LeadsOptions, LeadsTable, output_frame};
use leadscore_features::FeatureError;
use leadscore_points::PointsRules;
use leadscore_score::{SCORING_PART, Scorer, check_rules_against, scoring_leads_options};
use leadscore_train::{Settings, TrainInput, TrainProgress};
use polars::prelude::{Column, DataFrame};
use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::arrow::{ArrowTable, frame_from_python};

create_exception!(
    leadscore,
    LeadscoreError,
    PyValueError,
    "An error of leadscore about the data, a setting or a model file, with the CLI's message."
);

fn fail(error: impl std::fmt::Display) -> PyErr {
    LeadscoreError::new_err(error.to_string())
}

/// Settings as the Python half sends them: the sections of `leadscore.toml` as JSON.
fn settings(json: &str) -> PyResult<Settings> {
    serde_json::from_str(json).map_err(|e| fail(format!("invalid settings: {e}")))
}

/// The scoring time of open leads: `as_of` (a date or RFC 3339 timestamp), else now.
fn scoring_time(as_of: Option<&str>) -> PyResult<i64> {
    match as_of {
        None => Ok(leadscore_data::time::now()),
        Some(text) => leadscore_data::time::parse_timestamp(text).ok_or_else(|| {
            fail(format!(
                "as_of: `{text}` is not a date (YYYY-MM-DD) or RFC 3339 timestamp"
            ))
        }),
    }
}

/// A table argument: a file path read as the CLI reads it, or an Arrow table.
enum TableSource {
    File(PathBuf),
    Frame(DataFrame),
}

impl TableSource {
    fn from_python(table: &Bound<'_, PyAny>, what: &str) -> PyResult<Self> {
        if table.is_instance_of::<pyo3::types::PyString>() || table.hasattr("__fspath__")? {
            return Ok(Self::File(table.extract()?));
        }
        Ok(Self::Frame(frame_from_python(table, what)?))
    }
}

fn read_leads(table: &Bound<'_, PyAny>, options: &LeadsOptions) -> PyResult<LeadsTable> {
    match TableSource::from_python(table, "leads")? {
        TableSource::File(path) => LeadsTable::load(&path, options),
        TableSource::Frame(frame) => LeadsTable::from_frame(&frame, Path::new("leads"), options),
    }
    .map_err(fail)
}

fn read_events(
    table: Option<&Bound<'_, PyAny>>,
    settings: &Settings,
    options: &LeadsOptions,
    leads: &LeadsTable,
) -> PyResult<Option<EventLog>> {
    let Some(table) = table.filter(|t| !t.is_none()) else {
        return Ok(None);
    };
    let options = settings.events_options(options);
    match TableSource::from_python(table, "events")? {
        TableSource::File(path) => EventLog::load(&path, &options, leads),
        TableSource::Frame(frame) => {
            EventLog::from_frame(&frame, Path::new("events"), &options, leads)
        }
    }
    .map(Some)
    .map_err(fail)
}

/// Leads and events read for scoring by `model` and `rules`, as `leadscore score` reads them.
fn read_for_scoring(
    leads: &Bound<'_, PyAny>,
    events: Option<&Bound<'_, PyAny>>,
    settings_json: &str,
    model: Option<&ModelArtifact>,
    rules: Option<&PointsRules>,
) -> PyResult<(LeadsTable, Option<EventLog>, Vec<String>)> {
    let settings = settings(settings_json)?;
    let mut options = settings.data.leads_options().map_err(fail)?;
    options.require_target = false;
    let options = scoring_leads_options(&options, model, rules);
    let table = read_leads(leads, &options)?;
    let events = read_events(events, &settings, &options, &table)?;
    let warnings = match rules {
        Some(rules) => check_rules_against(rules, &table, events.as_ref()).map_err(fail)?,
        None => Vec::new(),
    };
    Ok((table, events, warnings))
}

/// Scores a table with a scorer and returns `leadscore score`'s columns, releasing the GIL, and
/// adds the CLI's warning when open leads are scored long after the data ends.
fn score_to_table(
    py: Python<'_>,
    scorer: &Scorer,
    leads: &LeadsTable,
    events: Option<&EventLog>,
    as_of: Option<&str>,
    warnings: &mut Vec<String>,
) -> PyResult<ArrowTable> {
    let time = scoring_time(as_of)?;
    warnings.extend(leadscore_score::stale_scoring_time(leads, events, time));
    // Scored a part at a time, as `leadscore score` does: at most two parts' answers are in memory
    // beside the columns built so far.
    let frame = py.detach(|| {
        let mut frame: Option<DataFrame> = None;
        scorer.score_table_in_parts(leads, events, time, SCORING_PART, |scores| {
            let part = output_frame(&scorer.output_columns(&scores)).map_err(TableError::Frame)?;
            match &mut frame {
                Some(frame) => {
                    frame
                        .vstack_mut(&part)
                        .map_err(|e| TableError::Frame(e.to_string()))?;
                }
                None => frame = Some(part),
            }
            Ok::<_, TableError>(())
        })?;
        frame.ok_or_else(|| TableError::Frame("no leads to score".to_owned()))
    });
    frame.map(ArrowTable::new).map_err(fail)
}

/// Why a table could not be scored: a lead's features, or building the result's columns.
#[derive(Debug)]
enum TableError {
    Features(FeatureError),
    Frame(String),
}

impl From<FeatureError> for TableError {
    fn from(error: FeatureError) -> Self {
        Self::Features(error)
    }
}

impl std::fmt::Display for TableError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Features(error) => error.fmt(f),
            Self::Frame(message) => f.write_str(message),
        }
    }
}

/// A trained model: the JSON model file in memory.
#[pyclass(module = "leadscore._native", name = "Model", frozen)]
struct Model {
    artifact: ModelArtifact,
}

impl Model {
    /// Leads and events read for this model alone.
    fn read(
        &self,
        leads: &Bound<'_, PyAny>,
        events: Option<&Bound<'_, PyAny>>,
        settings: &str,
    ) -> PyResult<(LeadsTable, Option<EventLog>)> {
        read_for_scoring(leads, events, settings, Some(&self.artifact), None)
            .map(|(table, events, _)| (table, events))
    }
}

#[pymethods]
impl Model {
    /// Reads and checks a model file.
    #[staticmethod]
    fn load(path: PathBuf) -> PyResult<Self> {
        ModelArtifact::load(&path)
            .map(|artifact| Self { artifact })
            .map_err(fail)
    }

    /// Parses a model from the text of a model file.
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        ModelArtifact::from_bytes(Path::new("model"), text.as_bytes())
            .map(|artifact| Self { artifact })
            .map_err(fail)
    }

    /// The model file's text.
    fn to_json(&self) -> PyResult<String> {
        serde_json::to_string_pretty(&self.artifact).map_err(fail)
    }

    /// Writes the model file (atomically).
    fn save(&self, path: PathBuf) -> PyResult<()> {
        self.artifact.save(&path).map_err(fail)
    }

    /// Model name.
    #[getter]
    fn name(&self) -> &str {
        self.artifact.name()
    }

    /// Model version.
    #[getter]
    fn version(&self) -> &str {
        self.artifact.version()
    }

    /// Model kind: logistic, tree or gbdt.
    #[getter]
    fn kind(&self) -> String {
        self.artifact.model().kind().to_string()
    }

    /// Leaderboard, validation, test metrics, importance and training report, as JSON.
    fn info(&self) -> PyResult<String> {
        let artifact = &self.artifact;
        serde_json::to_string(&serde_json::json!({
            "name": artifact.name(),
            "version": artifact.version(),
            "kind": artifact.model().kind().to_string(),
            "leaderboard": artifact.leaderboard(),
            "validation": artifact.validation(),
            "test": artifact.test(),
            "importance": artifact.importance(),
            "report": artifact.report(),
            "tiers": artifact.tiers(),
        }))
        .map_err(fail)
    }

    /// Scores a table: `leadscore score`'s columns, with points when `rules` are given.
    #[pyo3(signature = (leads, events=None, settings="{}", as_of=None, reasons=3, rules=None))]
    #[allow(clippy::too_many_arguments)] // one per Python keyword argument
    fn score(
        &self,
        py: Python<'_>,
        leads: &Bound<'_, PyAny>,
        events: Option<&Bound<'_, PyAny>>,
        settings: &str,
        as_of: Option<&str>,
        reasons: usize,
        rules: Option<PyRef<'_, Rules>>,
    ) -> PyResult<(ArrowTable, Vec<String>)> {
        let rules = rules.map(|r| r.rules.clone());
        let (table, events, mut warnings) = read_for_scoring(
            leads,
            events,
            settings,
            Some(&self.artifact),
            rules.as_ref(),
        )?;
        let scorer = Scorer::new(Some(self.artifact.clone()), rules, reasons).map_err(fail)?;
        let scored = score_to_table(py, &scorer, &table, events.as_ref(), as_of, &mut warnings)?;
        Ok((scored, warnings))
    }

    /// The calibrated probability of every lead, in table order.
    #[pyo3(signature = (leads, events=None, settings="{}", as_of=None))]
    fn predict_proba(
        &self,
        py: Python<'_>,
        leads: &Bound<'_, PyAny>,
        events: Option<&Bound<'_, PyAny>>,
        settings: &str,
        as_of: Option<&str>,
    ) -> PyResult<Vec<f64>> {
        let (table, events) = self.read(leads, events, settings)?;
        let scorer = Scorer::new(Some(self.artifact.clone()), None, 0).map_err(fail)?;
        let time = scoring_time(as_of)?;
        let mut probabilities = Vec::with_capacity(table.len());
        py.detach(|| {
            scorer.score_table_in_parts(&table, events.as_ref(), time, SCORING_PART, |scores| {
                probabilities.extend(
                    scores
                        .iter()
                        .map(|s| s.prediction.as_ref().map_or(f64::NAN, |p| p.probability)),
                );
                Ok::<_, FeatureError>(())
            })
        })
        .map_err(fail)?;
        Ok(probabilities)
    }

    /// Each source's contribution to every lead's calibrated log-odds: `lead_id`, `base`, then
    /// one column per attribute or event type; a row adds up to the lead's log-odds.
    #[pyo3(signature = (leads, events=None, settings="{}", as_of=None))]
    fn explain(
        &self,
        py: Python<'_>,
        leads: &Bound<'_, PyAny>,
        events: Option<&Bound<'_, PyAny>>,
        settings: &str,
        as_of: Option<&str>,
    ) -> PyResult<ArrowTable> {
        let (table, events) = self.read(leads, events, settings)?;
        let time = scoring_time(as_of)?;
        let artifact = &self.artifact;
        let frame = py.detach(|| {
            let matrix = artifact
                .features()
                .transform_table(&table, events.as_ref(), time)
                .map_err(|e| e.to_string())?;
            let rows: Vec<(f64, Vec<f64>)> = (0..table.len())
                .map(|r| {
                    let (base, sources) =
                        artifact.source_contributions(&matrix.values.row(r).to_vec());
                    (base, sources.into_iter().map(|(_, v)| v).collect())
                })
                .collect();
            let (_, sources) = artifact.source_contributions(&matrix.values.row(0).to_vec());
            let mut columns = vec![
                Column::new("lead_id".into(), &table.ids),
                Column::new(
                    "base".into(),
                    rows.iter().map(|(base, _)| *base).collect::<Vec<f64>>(),
                ),
            ];
            for (index, (source, _)) in sources.iter().enumerate() {
                columns.push(Column::new(
                    source.name().into(),
                    rows.iter().map(|(_, v)| v[index]).collect::<Vec<f64>>(),
                ));
            }
            DataFrame::new_infer_height(columns).map_err(|e| e.to_string())
        });
        frame.map(ArrowTable::new).map_err(fail)
    }

    /// Measures the model on the closed leads of a table (AUC, PR-AUC, log loss, Brier,
    /// calibration), as JSON.
    #[pyo3(signature = (leads, events=None, settings="{}"))]
    fn evaluate(
        &self,
        py: Python<'_>,
        leads: &Bound<'_, PyAny>,
        events: Option<&Bound<'_, PyAny>>,
        settings: &str,
    ) -> PyResult<String> {
        let (table, events) = self.read(leads, events, settings)?;
        let scorer = Scorer::new(Some(self.artifact.clone()), None, 0).map_err(fail)?;
        let evaluation = py
            .detach(|| {
                leadscore_score::evaluate(
                    &scorer,
                    &table,
                    events.as_ref(),
                    leadscore_data::time::now(),
                )
            })
            .map_err(fail)?;
        serde_json::to_string(&evaluation).map_err(fail)
    }
}

/// Points rules (a rules TOML file).
#[pyclass(module = "leadscore._native", name = "Rules", frozen)]
struct Rules {
    rules: PointsRules,
}

#[pymethods]
impl Rules {
    /// Reads and checks a rules file.
    #[staticmethod]
    fn load(path: PathBuf) -> PyResult<Self> {
        PointsRules::load(&path)
            .map(|rules| Self { rules })
            .map_err(fail)
    }

    /// Parses rules from TOML text.
    #[staticmethod]
    fn from_toml(text: &str) -> PyResult<Self> {
        PointsRules::parse(Path::new("rules.toml"), text)
            .map(|rules| Self { rules })
            .map_err(fail)
    }

    /// Points, fit and engagement points, grade, tier, MQL and the breakdown of every lead.
    #[pyo3(signature = (leads, events=None, settings="{}", as_of=None))]
    fn score(
        &self,
        py: Python<'_>,
        leads: &Bound<'_, PyAny>,
        events: Option<&Bound<'_, PyAny>>,
        settings: &str,
        as_of: Option<&str>,
    ) -> PyResult<(ArrowTable, Vec<String>)> {
        let (table, events, mut warnings) =
            read_for_scoring(leads, events, settings, None, Some(&self.rules))?;
        let scorer = Scorer::new(None, Some(self.rules.clone()), 0).map_err(fail)?;
        let scored = score_to_table(py, &scorer, &table, events.as_ref(), as_of, &mut warnings)?;
        Ok((scored, warnings))
    }

    /// The MQL threshold.
    #[getter]
    fn mql_threshold(&self) -> f64 {
        self.rules.mql_threshold
    }

    /// The rules as a rules file, each line of `header` as a comment on top.
    #[pyo3(signature = (header=""))]
    fn to_toml(&self, header: &str) -> String {
        self.rules.to_toml(header)
    }
}

/// Learns points rules from the closed leads and cross-validates them against `compare` (a
/// hand-written rules file) and a logistic model; returns the rules learned from every closed
/// lead and the contest as JSON.
#[pyfunction]
#[pyo3(signature = (leads, events=None, settings="{}", compare=None, folds=5, seed=42, points_to_double_odds=20.0, mql_capacity=0.2))]
#[allow(clippy::too_many_arguments)] // one per Python keyword argument
fn scorecard(
    py: Python<'_>,
    leads: &Bound<'_, PyAny>,
    events: Option<&Bound<'_, PyAny>>,
    settings: &str,
    compare: Option<PyRef<'_, Rules>>,
    folds: usize,
    seed: u64,
    points_to_double_odds: f64,
    mql_capacity: f64,
) -> PyResult<(Rules, String)> {
    let params = leadscore_points::ScorecardParams::new()
        .points_to_double_odds(points_to_double_odds)
        .mql_capacity(mql_capacity)
        .check()
        .map_err(fail)?;
    let compared = compare.map(|r| r.rules.clone());
    let (table, events, _) = read_for_scoring(leads, events, settings, None, compared.as_ref())?;
    let contest = py
        .detach(|| {
            leadscore_train::scorecard_contest(
                &params,
                compared.as_ref().map(|rules| ("compared rules", rules)),
                TrainInput {
                    leads: &table,
                    events: events.as_ref(),
                    scoring_time: leadscore_data::time::now(),
                },
                folds,
                seed,
                &mut |_| {},
            )
        })
        .map_err(fail)?;
    let report = serde_json::to_string(&serde_json::json!({
        "rules": contest.learned.rules.len(),
        "mql_threshold": contest.learned.mql_threshold,
        "closed_leads": contest.closed_leads,
        "validation": contest.validation,
        "contenders": contest.contenders,
    }))
    .map_err(fail)?;
    Ok((
        Rules {
            rules: contest.learned,
        },
        report,
    ))
}

/// Trains on the closed leads of a table; returns the model and the training report as JSON.
/// `progress(kind, value)` is called with ("total", n), ("fit", candidate) and ("stage", text).
#[pyfunction]
#[pyo3(signature = (leads, events=None, settings="{}", name="model", progress=None))]
fn train(
    py: Python<'_>,
    leads: &Bound<'_, PyAny>,
    events: Option<&Bound<'_, PyAny>>,
    settings: &str,
    name: &str,
    progress: Option<Py<PyAny>>,
) -> PyResult<(Model, String)> {
    let settings = self::settings(settings)?;
    let options = settings.data.leads_options().map_err(fail)?;
    let params = settings
        .train_params(name)
        .and_then(|p| p.check())
        .map_err(fail)?;
    let table = read_leads(leads, &options)?;
    let events = read_events(events, &settings, &options, &table)?;
    let outcome = py
        .detach(|| {
            let mut on_progress = |event: TrainProgress| {
                let Some(callback) = &progress else { return };
                Python::attach(|py| {
                    let sent = match event {
                        TrainProgress::SearchStarted { total } => {
                            callback.call1(py, ("total", total.to_string()))
                        }
                        TrainProgress::FitDone { candidate } => {
                            callback.call1(py, ("fit", candidate))
                        }
                        TrainProgress::Stage(stage) => callback.call1(py, ("stage", stage)),
                    };
                    // A failing progress display must not stop training.
                    drop(sent);
                });
            };
            params.train(
                TrainInput {
                    leads: &table,
                    events: events.as_ref(),
                    scoring_time: leadscore_data::time::now(),
                },
                &mut on_progress,
            )
        })
        .map_err(fail)?;
    let warnings: Vec<&str> = table
        .notices
        .iter()
        .filter(|n| n.severity == leadscore_data::Severity::Warning)
        .map(|n| n.message.as_str())
        .collect();
    let report = serde_json::to_string(&serde_json::json!({
        "columns": outcome.column_signals,
        "warnings": warnings,
    }))
    .map_err(fail)?;
    Ok((
        Model {
            artifact: outcome.artifact,
        },
        report,
    ))
}

/// The model against points rules on the same holdout (`leadscore compare`): the comparison as
/// JSON and its self-contained HTML report. `holdout_fraction` None judges every closed lead.
#[pyfunction]
#[pyo3(signature = (model, rules, leads, events=None, settings="{}", holdout_fraction=Some(0.2), resamples=1000, seed=42))]
#[allow(clippy::too_many_arguments)] // one per Python keyword argument
fn compare(
    py: Python<'_>,
    model: PyRef<'_, Model>,
    rules: PyRef<'_, Rules>,
    leads: &Bound<'_, PyAny>,
    events: Option<&Bound<'_, PyAny>>,
    settings: &str,
    holdout_fraction: Option<f64>,
    resamples: usize,
    seed: u64,
) -> PyResult<(String, String)> {
    let (table, events, _) = read_for_scoring(
        leads,
        events,
        settings,
        Some(&model.artifact),
        Some(&rules.rules),
    )?;
    let (holdout, description) = leadscore_compare::choose_holdout(&table, holdout_fraction, seed);
    let scorer =
        Scorer::new(Some(model.artifact.clone()), Some(rules.rules.clone()), 0).map_err(fail)?;
    let comparison = py
        .detach(|| {
            leadscore_compare::compare_holdout(
                &scorer,
                &table,
                events.as_ref(),
                &holdout,
                leadscore_compare::CompareSettings {
                    scoring_time: leadscore_data::time::now(),
                    resamples,
                    seed,
                },
            )
        })
        .map_err(fail)?;
    let title = format!(
        "Predictive model {} {} vs points rules on {description}",
        model.artifact.name(),
        model.artifact.version()
    );
    let mut report = serde_json::to_value(&comparison).map_err(fail)?;
    if let Some(fields) = report.as_object_mut() {
        fields.insert("holdout".to_owned(), description.into());
    }
    Ok((
        report.to_string(),
        leadscore_compare::html::render(&comparison, &title),
    ))
}

/// Writes a generated data set (leads, events and the true probabilities) to `out` as CSV
/// files; returns their paths.
#[pyfunction]
#[pyo3(signature = (out, leads=5000, seed=42))]
fn generate(py: Python<'_>, out: PathBuf, leads: usize, seed: u64) -> PyResult<Vec<PathBuf>> {
    let params = leadscore_synth::GeneratorParams::new()
        .leads(leads)
        .seed(seed)
        .check()
        .map_err(fail)?;
    let paths = py.detach(|| params.generate().write(&out)).map_err(fail)?;
    Ok(paths.to_vec())
}

/// The module `leadscore._native`.
#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add("LeadscoreError", module.py().get_type::<LeadscoreError>())?;
    module.add_class::<Model>()?;
    module.add_class::<Rules>()?;
    module.add_class::<ArrowTable>()?;
    module.add_function(wrap_pyfunction!(train, module)?)?;
    module.add_function(wrap_pyfunction!(generate, module)?)?;
    module.add_function(wrap_pyfunction!(scorecard, module)?)?;
    module.add_function(wrap_pyfunction!(compare, module)?)?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
