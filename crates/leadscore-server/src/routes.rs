//! Routes, handlers and the generated OpenAPI document.

// utoipa's `#[utoipa::path(params(..))]` expansion spells out paths the lint calls redundant.
#![allow(unused_qualifications)]

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, MatchedPath, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use leadscore_compare::{ExperimentReport, experiment_report};
use leadscore_data::time;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tower_http::timeout::TimeoutLayer;
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::api::{
    BatchRequest, BatchResponse, EventInput, OutcomesRequest, ScoreRequest, ScoreResponse, prepare,
};
use crate::error::{ApiError, ErrorBody};
use crate::state::{AppState, Engine};
use crate::store::ScoreRecord;
use crate::store::{OutcomeImport, experiment_counts, record_outcomes};

/// The HTTP API over a state: every route, the body limit, the timeout and request metrics.
pub fn app(state: AppState) -> Router {
    let config = state.config().clone();
    Router::new()
        .route("/v1/score", post(score))
        .route("/v1/score/batch", post(score_batch))
        .route("/v1/models", get(models))
        .route("/v1/outcomes", post(outcomes))
        .route("/v1/experiments/{name}", get(experiment))
        .route("/v1/models/reload", post(reload))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.timeout,
        ))
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .with_state(state)
}

/// The OpenAPI document, generated from the handler and body types.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "leadscore",
        description = "Predictive and points lead scoring."
    ),
    paths(
        score,
        score_batch,
        outcomes,
        experiment,
        models,
        reload,
        healthz,
        readyz,
        metrics
    ),
    components(schemas(
        ScoreRequest,
        EventInput,
        BatchRequest,
        ScoreResponse,
        BatchResponse,
        OutcomesRequest,
        OutcomeImport,
        ErrorBody,
        ModelsResponse
    ))
)]
pub struct ApiDoc;

async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().clone();
    let started = Instant::now();
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    state.metrics().observe(&route, status, elapsed);
    tracing::debug!(%method, route, status, micros = elapsed.as_micros() as u64, "request");
    response
}

fn authorize(state: &AppState, headers: &HeaderMap, write: bool) -> Result<(), ApiError> {
    let keys = &state.config().api_keys;
    if !write && !state.config().keys_for_reads {
        return Ok(());
    }
    if keys.is_empty() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "this route needs an API key and the server has none; start it with --api-key",
        ));
    }
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(key) if keys.iter().any(|k| k == key.trim()) => Ok(()),
        Some(_) => Err(ApiError::new(StatusCode::UNAUTHORIZED, "unknown API key")),
        None => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing `Authorization: Bearer <api key>` header",
        )),
    }
}

/// Reads a JSON body, naming the field at fault when it does not fit the type.
fn json_body<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    let bytes = body.map_err(|rejection| {
        let status = rejection.status();
        let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "request body too large; split the batch".to_owned()
        } else {
            rejection.body_text()
        };
        ApiError::new(status, message)
    })?;
    let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let status = if inner.is_syntax() || inner.is_eof() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        let mut error = ApiError::new(status, format!("invalid JSON body: {inner}"));
        if path != "." && path != "?" {
            error = error.within(&path);
        }
        error
    })
}

/// Query options of the scoring routes.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct ScoreOptions {
    /// Positive and negative reasons per lead (0–20; default: the server's `--reasons`). 0 skips
    /// the explanation, the costliest part of a boosted model's answer.
    pub reasons: Option<usize>,
}

impl ScoreOptions {
    fn read(
        query: Result<Query<Self>, QueryRejection>,
        state: &AppState,
    ) -> Result<usize, ApiError> {
        let Query(options) = query
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()).within("reasons"))?;
        match options.reasons {
            Some(n) if n > 20 => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("at most 20 reasons each way, got {n}"),
            )
            .within("reasons")),
            Some(n) => Ok(n),
            None => Ok(state.config().reasons),
        }
    }
}

fn score_one(
    engine: &Engine,
    request: &ScoreRequest,
    now: i64,
    reasons: usize,
) -> Result<ScoreResponse, ApiError> {
    let prepared = prepare(engine, request, now)?;
    let score = engine
        .scorer
        .score_lead_with_reasons(&request.lead_id, &prepared.input, reasons)
        .map_err(|e| match e {
            leadscore_features::FeatureError::InvalidField { field, message } => {
                ApiError::field(format!("attributes.{field}"), message)
            }
            other => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, other.to_string()),
        })?;
    Ok(ScoreResponse {
        score,
        as_of: time::format_timestamp(prepared.input.as_of),
        experiments: Vec::new(),
        warnings: prepared.warnings,
    })
}

/// Assigns each answer to its arms in the live experiments.
fn assign(state: &AppState, engine: &Engine, responses: &mut [ScoreResponse]) {
    let threshold = engine.scorer.rules().map(|r| r.mql_threshold);
    for response in responses {
        response.experiments = state
            .experiments()
            .iter()
            .map(|e| e.decide(&response.score, threshold))
            .collect();
    }
}

fn record(state: &AppState, responses: &[ScoreResponse]) {
    state.metrics().scored(responses.len());
    let Some(recorder) = state.recorder() else {
        return;
    };
    let scored_at = time::format_timestamp(time::now());
    for response in responses {
        let prediction = response.score.prediction.as_ref();
        let points = response.score.points.as_ref();
        recorder.record(ScoreRecord {
            lead_id: response.score.lead_id.clone(),
            scored_at: scored_at.clone(),
            model: prediction.map(|p| (p.model.clone(), p.model_version.clone())),
            probability: prediction.map(|p| p.probability),
            tier: prediction.map(|p| p.tier.clone()),
            points: points.map(|p| p.total),
            grade: points.and_then(|p| p.grade.clone()),
            mql: points.map(|p| p.mql),
            decisions: response.experiments.clone(),
        });
    }
}

/// Score one lead.
#[utoipa::path(
    post,
    path = "/v1/score",
    params(ScoreOptions),
    request_body = ScoreRequest,
    responses(
        (status = 200, description = "The lead's probability, points and reasons", body = ScoreResponse),
        (status = 400, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "A field is invalid; `field` names it", body = ErrorBody),
    )
)]
async fn score(
    State(state): State<AppState>,
    query: Result<Query<ScoreOptions>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ScoreResponse>, ApiError> {
    authorize(&state, &headers, false)?;
    let reasons = ScoreOptions::read(query, &state)?;
    let request: ScoreRequest = json_body(body)?;
    let engine = state.engine();
    let mut response = score_one(&engine, &request, time::now(), reasons)?;
    assign(&state, &engine, std::slice::from_mut(&mut response));
    record(&state, std::slice::from_ref(&response));
    Ok(Json(response))
}

/// Score many leads in one call.
#[utoipa::path(
    post,
    path = "/v1/score/batch",
    params(ScoreOptions),
    request_body = BatchRequest,
    responses(
        (status = 200, description = "One answer per lead, in order", body = BatchResponse),
        (status = 413, description = "Too many leads or too large a body", body = ErrorBody),
        (status = 422, description = "A lead is invalid; `field` names it", body = ErrorBody),
    )
)]
async fn score_batch(
    State(state): State<AppState>,
    query: Result<Query<ScoreOptions>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<BatchResponse>, ApiError> {
    authorize(&state, &headers, false)?;
    let reasons = ScoreOptions::read(query, &state)?;
    let request: BatchRequest = json_body(body)?;
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
    let mut results = tokio::task::spawn_blocking(move || {
        request
            .leads
            .iter()
            .enumerate()
            .map(|(index, lead)| {
                score_one(&scoring_engine, lead, now, reasons)
                    .map_err(|e| e.within(&format!("leads[{index}]")))
            })
            .collect::<Result<Vec<_>, ApiError>>()
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??;
    assign(&state, &engine, &mut results);
    record(&state, &results);
    Ok(Json(BatchResponse { results }))
}

fn database(state: &AppState) -> Result<std::path::PathBuf, ApiError> {
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
    request_body = OutcomesRequest,
    responses(
        (status = 200, description = "What changed", body = OutcomeImport),
        (status = 401, description = "No or unknown API key", body = ErrorBody),
        (status = 422, description = "A field is invalid", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn outcomes(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<OutcomeImport>, ApiError> {
    authorize(&state, &headers, true)?;
    let request: OutcomesRequest = json_body(body)?;
    let db = database(&state)?;
    for (index, outcome) in request.outcomes.iter().enumerate() {
        if outcome.lead_id.trim().is_empty() {
            return Err(ApiError::field(
                format!("outcomes[{index}].lead_id"),
                "must not be empty",
            ));
        }
        if let Some(closed) = &outcome.closed_at
            && time::parse_timestamp(closed).is_none()
        {
            return Err(ApiError::field(
                format!("outcomes[{index}].closed_at"),
                format!("cannot read `{closed}` as a date or time"),
            ));
        }
    }
    let import = tokio::task::spawn_blocking(move || record_outcomes(&db, &request.outcomes))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(Json(import))
}

/// The A/B report of a live experiment.
#[utoipa::path(
    get,
    path = "/v1/experiments/{name}",
    params(("name" = String, Path, description = "Experiment name")),
    responses(
        (status = 200, description = "Per-arm conversion, the difference, its interval and test", body = Object),
        (status = 404, description = "No such experiment", body = ErrorBody),
    )
)]
async fn experiment(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Json<ExperimentReport>, ApiError> {
    authorize(&state, &headers, false)?;
    let db = database(&state)?;
    let (name, arms) = tokio::task::spawn_blocking(move || {
        if let Some(recorder) = state.recorder() {
            recorder.flush();
        }
        experiment_counts(&db, &name).map(|arms| (name, arms))
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    if arms.is_empty() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no lead has been assigned in an experiment named `{name}`"),
        ));
    }
    Ok(Json(experiment_report(&name, arms)))
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
            "file": engine.model_file.as_ref().map(|p| p.display().to_string()),
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
            "file": r.path.display().to_string(),
            "rules": r.rules.len(),
            "mql_threshold": r.mql_threshold,
            "grades": r.grades,
        })
    });
    ModelsResponse { model, rules }
}

/// The serving model and rules.
#[utoipa::path(get, path = "/v1/models", responses((status = 200, body = ModelsResponse)))]
async fn models(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<ModelsResponse>, ApiError> {
    authorize(&state, &headers, false)?;
    Ok(Json(describe(&state.engine())))
}

/// Load the model and rules files again; a bad file is refused and the current one keeps serving.
#[utoipa::path(
    post,
    path = "/v1/models/reload",
    responses(
        (status = 200, description = "Now serving", body = ModelsResponse),
        (status = 401, description = "No or unknown API key", body = ErrorBody),
        (status = 422, description = "Refused; the previous model keeps serving", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn reload(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<ModelsResponse>, ApiError> {
    authorize(&state, &headers, true)?;
    match state.reload() {
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
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "Alive")))]
async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Readiness: a model or rules are loaded.
#[utoipa::path(get, path = "/readyz", responses((status = 200, description = "Ready to score")))]
async fn readyz(State(state): State<AppState>) -> Json<serde_json::Value> {
    let engine = state.engine();
    Json(serde_json::json!({
        "status": "ready",
        "model": engine.scorer.model().map(|m| format!("{} {}", m.name(), m.version())),
        "rules": engine.scorer.rules().map(|r| r.path.display().to_string()),
    }))
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let engine = state.engine();
    let model = engine.scorer.model().map(|m| (m.name(), m.version()));
    let rules = engine.scorer.rules().map(|r| r.path.display().to_string());
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics().render(model, rules.as_deref()),
    )
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such route; see /openapi.json")
}
