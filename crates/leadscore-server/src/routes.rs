//! Routes and handlers: each parses its input through an extractor, calls a library, and answers.

// utoipa's `#[utoipa::path(params(..))]` expansion spells out paths the lint calls redundant.
#![allow(unused_qualifications)]

use std::time::Instant;

use axum::extract::{MatchedPath, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use leadscore_compare::live::ExperimentReport;
use leadscore_compare::monitor::{MonitorReport, ValidMonitorParams};
use leadscore_data::time;
use leadscore_store::{
    AnswerJson, Cancellation, DayVolume, LeadHistory, OutcomeImport, ScoreMix, ScoreRecord,
    StoreError, daily_volume, experiment_report_of, lead_history, monitor_database,
    record_outcomes, score_mix,
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::{
    BatchRequest, BatchResponse, OutcomesRequest, ScoreRequest, ScoreResponse, prepare,
};
use crate::auth::{ApiKeys, require_read_key, require_write_key};
use crate::error::{ApiError, Problem};
use crate::extract::{Scoring, ValidJson, ValidQuery};
use crate::state::{AppState, Engine, RequestLimits};

/// The API routes, each group behind its key layer.
pub(crate) fn api(keys: &ApiKeys) -> Router<AppState> {
    let reads = Router::new()
        .route("/v1/score", post(score))
        .route("/v1/score/batch", post(score_batch))
        .route("/v1/models", get(models))
        .route("/v1/experiments/{name}", get(experiment))
        .route("/v1/leads/{lead_id}", get(lead))
        .route("/v1/activity", get(activity))
        .route("/v1/monitor", get(monitor));
    // Open reads go through no key layer at all: each layer is a boxed service cloned per
    // request, a cost every score would pay for a check that lets everything through.
    let reads = if keys.for_reads() {
        reads.route_layer(middleware::from_fn_with_state(
            keys.clone(),
            require_read_key,
        ))
    } else {
        reads
    };
    let writes = Router::new()
        .route("/v1/outcomes", post(outcomes))
        .route("/v1/models/reload", post(reload))
        .route_layer(middleware::from_fn_with_state(
            keys.clone(),
            require_write_key,
        ));
    Router::new()
        .merge(reads)
        .merge(writes)
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// Counts and logs every request, and ends one that outlives the configured time with a 408
/// problem; dropping the handler's future cancels its work (report queries are interrupted).
/// The outermost layer, so timeouts and panics count too; one layer for both, as each layer is a
/// boxed service cloned for every request.
pub(crate) async fn observe(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let route = request.extensions().get::<MatchedPath>().cloned();
    let method = request.method().clone();
    let started = Instant::now();
    let has_body = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .is_some_and(|length| length != "0")
        || request.headers().contains_key(header::TRANSFER_ENCODING);
    let limit = state.config().timeout;
    let mut response = match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the request took longer than the server's limit of {} ms",
                limit.as_millis()
            ),
        )
        .into_response(),
    };
    if has_body && body_may_be_unread(response.status()) {
        // The connection cannot carry another request after an unread body: say so, or a
        // keep-alive client sends its next request into a socket the server is closing.
        response.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
    }
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    state.metrics().observe(route, status, elapsed);
    tracing::debug!(%method, route, status, micros = elapsed.as_micros() as u64, "request");
    response
}

/// Whether an answer may have been given before the request body was read: every error but a
/// body that was read and found wrong (400, 422) or that could not be recorded (503).
fn body_may_be_unread(status: StatusCode) -> bool {
    (status.is_client_error() || status.is_server_error())
        && ![
            StatusCode::BAD_REQUEST,
            StatusCode::UNPROCESSABLE_ENTITY,
            StatusCode::SERVICE_UNAVAILABLE,
        ]
        .contains(&status)
}

fn score_one(
    engine: &Engine,
    limits: &RequestLimits,
    request: &ScoreRequest,
    now: i64,
    reasons: usize,
) -> Result<ScoreResponse, ApiError> {
    let prepared = prepare(engine, limits, request, now)?;
    let score = engine
        .scorer
        .score_lead_with_reasons(&request.lead_id, &prepared.input, reasons)
        .map_err(|e| match e {
            leadscore_features::FeatureError::InvalidField { field, message } => {
                ApiError::field(format!("attributes.{field}"), message)
            }
            other => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, other.to_string()),
        })?;
    let mut warnings = prepared.warnings;
    warnings.extend(score.unlearned_levels.iter().map(|(column, level)| {
        format!(
            "attribute `{column}`: the model never learned the level `{level}` (unseen or rare in training); it is scored as (other)"
        )
    }));
    Ok(ScoreResponse {
        score,
        as_of: time::format_timestamp(prepared.input.as_of),
        experiments: Vec::new(),
        warnings,
    })
}

/// Assigns each answer to its arms in the live experiments.
pub(crate) fn assign(state: &AppState, engine: &Engine, responses: &mut [ScoreResponse]) {
    let threshold = engine.scorer.rules().map(|r| r.mql_threshold);
    for response in responses {
        response.experiments = state
            .experiments()
            .iter()
            .map(|e| e.decide(&response.score, threshold))
            .collect();
    }
}

/// Journals the answers, scored at `scored_at` (RFC 3339), before they are sent: an answer is only
/// given for a score that is kept. `bodies` are the answers as sent (JSON), kept with each score
/// unless the server runs with `--no-answers`.
pub(crate) fn record(
    state: &AppState,
    responses: &[ScoreResponse],
    bodies: &[AnswerJson],
    scored_at: &str,
) -> Result<(), ApiError> {
    state.metrics().scored(responses.len());
    let Some(recorder) = state.recorder() else {
        return Ok(());
    };
    let engine = state.engine();
    let scores: Vec<&leadscore_score::LeadScore> = responses.iter().map(|r| &r.score).collect();
    state.count_columns(&engine, &scores, scored_at);
    let bodies = state.config().keep_answers.then_some(bodies);
    let signals = |score: &leadscore_score::LeadScore| {
        crate::webhooks::signals(state.webhooks(), &engine.scorer, score)
    };
    recorder
        .record(score_records(responses, bodies, scored_at, signals))
        .map_err(|e| {
            state.metrics().unrecorded(responses.len());
            tracing::error!(error = %e, "refusing to answer scores that cannot be recorded");
            ApiError::unavailable(format!("{e}; the score was not given, retry later"))
        })
}

/// The rows that keep answers given at `scored_at`, with the answers' JSON bodies when given
/// and what each webhook saw in them.
pub(crate) fn score_records(
    responses: &[ScoreResponse],
    bodies: Option<&[AnswerJson]>,
    scored_at: &str,
    signals: impl Fn(&leadscore_score::LeadScore) -> Vec<leadscore_store::WebhookSignal>,
) -> Vec<ScoreRecord> {
    responses
        .iter()
        .enumerate()
        .map(|(k, response)| {
            let prediction = response.score.prediction.as_ref();
            let points = response.score.points.as_ref();
            ScoreRecord {
                lead_id: response.score.lead_id.clone(),
                scored_at: scored_at.to_owned(),
                model: prediction.map(|p| (p.model.clone(), p.model_version.clone())),
                probability: prediction.map(|p| p.probability),
                tier: prediction.map(|p| p.tier.clone()),
                points: points.map(|p| p.total),
                grade: points.and_then(|p| p.grade.clone()),
                mql: points.map(|p| p.mql),
                decisions: response.experiments.clone(),
                answer: bodies.and_then(|b| b.get(k).cloned()),
                shadow: response
                    .score
                    .shadow
                    .as_ref()
                    .map(|s| (s.model_version.clone(), s.probability)),
                signals: signals(&response.score),
            }
        })
        .collect()
}

/// A JSON body serialised once: sent as is and, when recorded, kept as is.
fn json_body(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The JSON of an answer.
pub(crate) fn to_json(response: &ScoreResponse) -> Result<AnswerJson, ApiError> {
    AnswerJson::of(response).map_err(ApiError::internal)
}

/// Score one lead.
#[utoipa::path(
    post,
    path = "/v1/score",
    tag = "scoring",
    params(crate::extract::ScoreOptions),
    request_body = ScoreRequest,
    responses(
        (status = 200, description = "The lead's probability, points and reasons", body = ScoreResponse),
        (status = 400, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or unknown API key (with --keys-for-reads)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid; `field` names it", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The score cannot be recorded now; retry later", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("api_key" = []))
)]
async fn score(
    State(state): State<AppState>,
    Scoring {
        reasons,
        record: keep,
    }: Scoring,
    ValidJson(request): ValidJson<ScoreRequest>,
) -> Result<Response, ApiError> {
    let engine = state.engine();
    let now = time::now();
    let mut response = score_one(&engine, &state.config().limits, &request, now, reasons)?;
    if keep {
        assign(&state, &engine, std::slice::from_mut(&mut response));
    }
    let body = to_json(&response)?;
    if keep {
        record(
            &state,
            std::slice::from_ref(&response),
            std::slice::from_ref(&body),
            &time::format_timestamp(now),
        )?;
    }
    Ok(json_body(body.into()))
}

/// Score many leads in one call.
#[utoipa::path(
    post,
    path = "/v1/score/batch",
    tag = "scoring",
    params(crate::extract::ScoreOptions),
    request_body = BatchRequest,
    responses(
        (status = 200, description = "One answer per lead, in order", body = BatchResponse),
        (status = 400, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or unknown API key (with --keys-for-reads)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Too many leads or too large a body", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A lead is invalid; `field` names it", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The scores cannot be recorded now; retry later", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("api_key" = []))
)]
async fn score_batch(
    State(state): State<AppState>,
    Scoring {
        reasons,
        record: keep,
    }: Scoring,
    ValidJson(request): ValidJson<BatchRequest>,
) -> Result<Response, ApiError> {
    let limit = state.config().max_batch;
    if request.leads.len() > limit {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "{} leads in one batch; the limit is {limit}",
                request.leads.len()
            ),
        )
        .within("leads"));
    }
    let engine = state.engine();
    let now = time::now();
    let scoring_engine = engine.clone();
    let limits = state.config().limits;
    let mut results = tokio::task::spawn_blocking(move || {
        request
            .leads
            .iter()
            .enumerate()
            .map(|(index, lead)| {
                score_one(&scoring_engine, &limits, lead, now, reasons)
                    .map_err(|e| e.within(&format!("leads[{index}]")))
            })
            .collect::<Result<Vec<_>, ApiError>>()
    })
    .await
    .map_err(ApiError::internal)??;
    if keep {
        assign(&state, &engine, &mut results);
    }
    let bodies = results.iter().map(to_json).collect::<Result<Vec<_>, _>>()?;
    if keep {
        record(&state, &results, &bodies, &time::format_timestamp(now))?;
    }
    // The shape of `BatchResponse`, from the bodies already written.
    let mut batch =
        String::with_capacity(bodies.iter().map(|b| b.as_str().len() + 1).sum::<usize>() + 16);
    batch.push_str(r#"{"results":["#);
    for (k, body) in bodies.iter().enumerate() {
        if k > 0 {
            batch.push(',');
        }
        batch.push_str(body.as_str());
    }
    batch.push_str("]}");
    Ok(json_body(batch))
}

pub(crate) fn database(state: &AppState) -> Result<std::path::PathBuf, ApiError> {
    state.config().db.clone().ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "the server records nothing: start it with --db to record outcomes and experiments",
        )
    })
}

/// Record won/lost outcomes (idempotent).
#[utoipa::path(
    post,
    path = "/v1/outcomes",
    tag = "outcomes",
    request_body = OutcomesRequest,
    responses(
        (status = 200, description = "What changed", body = OutcomeImport),
        (status = 401, description = "No or unknown API key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The server has no database", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
async fn outcomes(
    State(state): State<AppState>,
    ValidJson(request): ValidJson<OutcomesRequest>,
) -> Result<Json<OutcomeImport>, ApiError> {
    let db = database(&state)?;
    request.validate(&state.config().limits)?;
    let import = tokio::task::spawn_blocking(move || record_outcomes(&db, &request.outcomes))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    Ok(Json(import))
}

/// The A/B report of a live experiment.
#[utoipa::path(
    get,
    path = "/v1/experiments/{name}",
    tag = "experiments",
    params(("name" = String, Path, description = "Experiment name")),
    responses(
        (status = 200, description = "Per-arm conversion, the difference, its interval and test", body = Object),
        (status = 404, description = "No such experiment", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("api_key" = []))
)]
async fn experiment(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<ExperimentReport>, ApiError> {
    let report = read_query(&state, move |db, cancellation| {
        experiment_report_of(db, &name, cancellation)
    })
    .await?;
    if report.arms.is_empty() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!(
                "no lead has been assigned in an experiment named `{}`",
                report.experiment
            ),
        ));
    }
    Ok(Json(report))
}

/// Runs a query on the score database off the async workers, after the recorder has written
/// what it holds. At most [`crate::RUNNING_REPORTS`] run at once; waiting for a slot is cancelled
/// with the request, and the query itself is interrupted when the request ends unanswered
/// (timeout, client gone, shutdown), so no thread outlives its request.
pub(crate) async fn read_query<T: Send + 'static>(
    state: &AppState,
    query: impl FnOnce(&std::path::Path, &Cancellation) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    let db = database(state)?;
    let slot = state
        .report_slot()
        .await
        .ok_or_else(|| ApiError::internal("report slots closed"))?;
    let cancellation = Cancellation::default();
    let _cancel_when_dropped = CancelOnDrop(cancellation.clone());
    let state = state.clone();
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let _running = state.metrics().report_started();
        if let Some(recorder) = state.recorder() {
            recorder.flush();
        }
        let answer = query(&db, &cancellation);
        if matches!(answer, Err(StoreError::Cancelled)) {
            state.metrics().report_cancelled();
        }
        answer
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)
}

/// Cancels a blocking query when the request that started it ends unanswered.
struct CancelOnDrop(Cancellation);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// Everything recorded about a lead: its scores (newest first, with the answers given), its
/// experiment arms and its outcome.
#[utoipa::path(
    get,
    path = "/v1/leads/{lead_id}",
    tag = "history",
    params(
        ("lead_id" = String, Path, description = "Lead id"),
        ("limit" = Option<usize>, Query, description = "Most scores returned, newest first (1–1000, default 50)")
    ),
    responses(
        (status = 200, description = "The lead's scores, arms and outcome", body = Object),
        (status = 400, description = "`limit` out of range or the id too long", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Nothing recorded about this lead", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The server has no database", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("api_key" = []))
)]
async fn lead(
    State(state): State<AppState>,
    Path(lead_id): Path<String>,
    ValidQuery(options): ValidQuery<HistoryOptions>,
) -> Result<Json<LeadHistory>, ApiError> {
    let longest = state.config().limits.max_id_bytes;
    if lead_id.len() > longest {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("{} bytes; a lead id has at most {longest}", lead_id.len()),
        )
        .within("lead_id"));
    }
    let limit = options.limit.unwrap_or(DEFAULT_HISTORY);
    if !(1..=MAX_HISTORY).contains(&limit) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("limit must be 1 to {MAX_HISTORY}, got {limit}"),
        )
        .within("limit"));
    }
    let history = lead_history_of(&state, lead_id.clone(), limit).await?;
    if history.total_scores == 0 && history.assignments.is_empty() && history.outcome.is_none() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("nothing is recorded about lead `{lead_id}`"),
        ));
    }
    Ok(Json(history))
}

/// Scores of a lead shown by default.
pub(crate) const DEFAULT_HISTORY: usize = 50;
/// Most scores of a lead shown at once.
const MAX_HISTORY: usize = 1_000;

/// Query options of `/v1/leads/{lead_id}`.
#[derive(Debug, serde::Deserialize)]
struct HistoryOptions {
    limit: Option<usize>,
}

/// A lead's history, through [`read_query`].
pub(crate) async fn lead_history_of(
    state: &AppState,
    lead_id: String,
    limit: usize,
) -> Result<LeadHistory, ApiError> {
    read_query(state, move |db, cancellation| {
        lead_history(db, &lead_id, limit, cancellation)
    })
    .await
}

/// Scoring activity of the last days: scores per day and the tier and grade mix of each lead's
/// latest score.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Activity {
    /// First day counted (`YYYY-MM-DD`, UTC).
    pub since: String,
    /// Scores per day, oldest first; days without scores are left out.
    #[schema(value_type = Vec<Object>)]
    pub days: Vec<DayVolume>,
    /// The latest score of each lead scored since then, by tier and by grade.
    #[schema(value_type = Object)]
    pub mix: ScoreMix,
}

/// Query options of `/v1/activity`.
#[derive(Debug, serde::Deserialize)]
struct ActivityOptions {
    days: Option<u32>,
}

/// Days of activity shown by default.
pub(crate) const DEFAULT_ACTIVITY_DAYS: u32 = 30;
/// Most days of activity at once.
const MAX_ACTIVITY_DAYS: u32 = 366;

/// Scoring activity: scores per day and the tier and grade mix of recent scores.
#[utoipa::path(
    get,
    path = "/v1/activity",
    tag = "history",
    params(("days" = Option<u32>, Query, description = "Days counted back from today, UTC (1–366, default 30)")),
    responses(
        (status = 200, description = "Scores per day and the mix of recent scores", body = Activity),
        (status = 400, description = "`days` out of range", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The server has no database", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("api_key" = []))
)]
async fn activity(
    State(state): State<AppState>,
    ValidQuery(options): ValidQuery<ActivityOptions>,
) -> Result<Json<Activity>, ApiError> {
    let days = options.days.unwrap_or(DEFAULT_ACTIVITY_DAYS);
    if !(1..=MAX_ACTIVITY_DAYS).contains(&days) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("days must be 1 to {MAX_ACTIVITY_DAYS}, got {days}"),
        )
        .within("days"));
    }
    Ok(Json(activity_of(&state, days, time::now()).await?))
}

/// The activity of the `days` days up to `now`, through [`read_query`].
pub(crate) async fn activity_of(
    state: &AppState,
    days: u32,
    now: i64,
) -> Result<Activity, ApiError> {
    let since = time::format_date(now - (i64::from(days) - 1) * time::SECONDS_PER_DAY);
    let first = since.clone();
    let (days, mix) = read_query(state, move |db, cancellation| {
        Ok((
            daily_volume(db, &first, cancellation)?,
            score_mix(db, &first, cancellation)?,
        ))
    })
    .await?;
    Ok(Activity { since, days, mix })
}

/// Query options of `/v1/monitor`.
#[derive(Debug, serde::Deserialize)]
struct MonitorOptions {
    weeks: Option<u32>,
}

/// Weeks of score drift shown by default.
pub(crate) const DEFAULT_MONITOR_WEEKS: u32 = 12;
/// Most weeks of drift at once.
const MAX_MONITOR_WEEKS: u32 = 260;

/// Is the served model still right: score drift per week against training, a backtest per month
/// on recorded outcomes, the shadow challenger against the champion, and a verdict.
#[utoipa::path(
    get,
    path = "/v1/monitor",
    tag = "history",
    params(("weeks" = Option<u32>, Query, description = "Weeks of score drift counted back from today, UTC (1–260, default 12); the backtest covers every recorded outcome")),
    responses(
        (status = 200, description = "Drift, backtest, shadow comparison and verdict", body = Object),
        (status = 400, description = "`weeks` out of range", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The server has no database or serves no model", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("api_key" = []))
)]
async fn monitor(
    State(state): State<AppState>,
    ValidQuery(options): ValidQuery<MonitorOptions>,
) -> Result<Json<MonitorReport>, ApiError> {
    let weeks = options.weeks.unwrap_or(DEFAULT_MONITOR_WEEKS);
    if !(1..=MAX_MONITOR_WEEKS).contains(&weeks) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("weeks must be 1 to {MAX_MONITOR_WEEKS}, got {weeks}"),
        )
        .within("weeks"));
    }
    Ok(Json(monitor_of(&state, weeks, time::now()).await?))
}

/// The monitor of the served model over the `weeks` weeks up to `now`, through [`read_query`];
/// its figures are kept for `/metrics`.
pub(crate) async fn monitor_of(
    state: &AppState,
    weeks: u32,
    now: i64,
) -> Result<MonitorReport, ApiError> {
    let engine = state.engine();
    let since = time::format_date(now - i64::from(weeks) * 7 * time::SECONDS_PER_DAY);
    let flushing = state.clone();
    let report = read_query(state, move |db, cancellation| {
        flushing.flush_column_counts()?;
        let challenger = engine.scorer.shadow().map(|c| c.version());
        engine
            .scorer
            .model()
            .map(|model| {
                let params = ValidMonitorParams::default();
                monitor_database(db, model, challenger, &params, &since, cancellation)
            })
            .transpose()
    })
    .await?
    .ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "the server serves no model: start it with --model to monitor one",
        )
    })?;
    state.metrics().monitored(&report);
    Ok(report)
}

/// The serving model and rules.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelsResponse {
    /// The model, when one is served.
    #[schema(value_type = Object)]
    pub model: Option<serde_json::Value>,
    /// The rules, when served.
    #[schema(value_type = Object)]
    pub rules: Option<serde_json::Value>,
}

fn describe(engine: &Engine) -> ModelsResponse {
    let model = engine.scorer.model().map(|m| {
        serde_json::json!({
            "name": m.name(),
            "version": m.version(),
            "file": engine.model_file.as_ref().and_then(|p| p.file_name()).map(|n| n.to_string_lossy()),
            "created_at": m.created_at(),
            "kind": m.model().kind().to_string(),
            "features": m.feature_info().len(),
            "columns": m.features().columns.iter().map(|c| &c.name).collect::<Vec<_>>(),
            "event_types": m.features().events.as_ref().map(|e| e.event_types().to_vec()),
            "validation": m.validation(),
            "test": m.test(),
            "tiers": m.tiers(),
        })
    });
    let rules = engine.scorer.rules().map(|r| {
        serde_json::json!({
            "file": r.path.file_name().map(|n| n.to_string_lossy()),
            "rules": r.rules.len(),
            "mql_threshold": r.mql_threshold,
            "grades": r.grades,
        })
    });
    ModelsResponse { model, rules }
}

/// The serving model and rules.
#[utoipa::path(
    get,
    path = "/v1/models",
    tag = "models",
    responses((status = 200, body = ModelsResponse)),
    security((), ("api_key" = []))
)]
async fn models(State(state): State<AppState>) -> Json<ModelsResponse> {
    Json(describe(&state.engine()))
}

/// Load the model and rules files again; a bad file is refused and the current one keeps serving.
#[utoipa::path(
    post,
    path = "/v1/models/reload",
    tag = "models",
    responses(
        (status = 200, description = "Now serving", body = ModelsResponse),
        (status = 401, description = "No or unknown API key", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Refused; the previous model keeps serving", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
async fn reload(State(state): State<AppState>) -> Result<Json<ModelsResponse>, ApiError> {
    let reloading = state.clone();
    match tokio::task::spawn_blocking(move || reloading.reload())
        .await
        .map_err(ApiError::internal)?
    {
        Ok(engine) => Ok(Json(describe(&engine))),
        Err(e) => {
            tracing::warn!(error = %e, "refused a reload; still serving the previous model");
            Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("reload refused, still serving the previous model: {e}"),
            ))
        }
    }
}

/// Liveness.
#[utoipa::path(get, path = "/healthz",
    tag = "operations", responses((status = 200, description = "Alive")))]
async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Readiness: a model or rules are loaded and scores can be recorded.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "Ready to score"),
        (status = 503, description = "Scores cannot be recorded; the body says why"),
    )
)]
async fn readyz(State(state): State<AppState>) -> Response {
    let engine = state.engine();
    let recorder = state.recorder().map(leadscore_store::Recorder::status);
    let failing = recorder.as_ref().and_then(|r| r.failing.clone());
    let body = serde_json::json!({
        "status": if failing.is_some() { "degraded" } else { "ready" },
        "model": engine.scorer.model().map(|m| format!("{} {}", m.name(), m.version())),
        "rules": engine.scorer.rules().and_then(|r| r.path.file_name()).map(|n| n.to_string_lossy()),
        "recorder": recorder.map(|r| serde_json::json!({
            "pending": r.pending,
            "written": r.written,
            "failing": r.failing.is_some(),
        })),
    });
    let status = if failing.is_some() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (status, Json(body)).into_response()
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics",
    tag = "operations", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let engine = state.engine();
    let model = engine.scorer.model().map(|m| (m.name(), m.version()));
    let rules = engine
        .scorer
        .rules()
        .and_then(|r| r.path.file_name())
        .map(|n| n.to_string_lossy().into_owned());
    let recorder = state.recorder().map(leadscore_store::Recorder::status);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state
            .metrics()
            .render(model, rules.as_deref(), recorder.as_ref()),
    )
}

/// Answer of unknown routes.
pub(crate) async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no such route; see /openapi.json or /docs",
    )
}

/// Answer of known routes called with another method.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "this route does not take that method; see /openapi.json or /docs",
    )
}
