//! The web console at `/`: pages for marketers and sales ops, rendered on the server from the
//! same state and the same queries the JSON API answers with (`/v1/models`, `/v1/activity`,
//! `/v1/experiments/{name}`, `/v1/leads/{id}`, `/v1/monitor`), so a number on a page is the
//! API's number.
//! Charts are inline SVG drawn by `leadscore-compare::chart`; the only script is the rules
//! page's what-if panel, which calls `POST /v1/score?record=false`. Every asset is compiled into
//! the binary.
//!
//! With API keys configured a person signs in once with a key ([`session`]); `--keys-for-reads`
//! puts every page behind sign-in; reloading the model always needs a session and its
//! anti-forgery token.

mod experiments;
mod layout;
mod lead;
mod models;
mod monitor;
mod overview;
mod rules;

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use axum::Router;
use axum::extract::{Form, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use leadscore_data::time;
use leadscore_store::{experiment_report_of, experiment_weeks};
use serde::Deserialize;

use crate::auth::ApiKeys;
use crate::error::ApiError;
use crate::extract::ValidQuery;
use crate::routes::{
    DEFAULT_ACTIVITY_DAYS, DEFAULT_HISTORY, DEFAULT_MONITOR_WEEKS, activity_of, lead_history_of,
    monitor_of, read_query,
};
use crate::session;
use crate::state::AppState;
use experiments::ExperimentView;
use layout::{Auth, Nav};
use models::ModelFile;

/// How long a refused sign-in waits before answering.
const FAILED_SIGN_IN_DELAY: std::time::Duration = std::time::Duration::from_millis(300);

const STYLESHEET: &str = include_str!("assets/console.css");
const WHAT_IF_SCRIPT: &str = include_str!("assets/what-if.js");

/// The console's pages (behind sign-in with `--keys-for-reads`), its sign-in routes and assets.
pub(crate) fn routes(keys: &ApiKeys) -> Router<AppState> {
    let pages = Router::new()
        .route("/", get(overview))
        .route("/experiments", get(experiments))
        .route("/leads", get(lead))
        .route("/rules", get(rules))
        .route("/monitor", get(monitor))
        .route("/models", get(models).post(reload))
        .route_layer(middleware::from_fn_with_state(keys.clone(), signed_in));
    Router::new()
        .merge(pages)
        .route("/login", get(login_page).post(login))
        .route("/logout", axum::routing::post(logout))
        .route("/console/console.css", get(stylesheet))
        .route("/console/what-if.js", get(script))
}

/// Who is looking: whether keys exist, whether this browser is signed in, its form token.
fn auth(state: &AppState, headers: &HeaderMap) -> Auth {
    let session = state.sessions().find(headers);
    Auth {
        keys: !state.config().api_keys.is_empty(),
        keys_for_reads: state.config().keys_for_reads,
        csrf: session.map(|s| s.csrf),
    }
}

/// With `--keys-for-reads`, pages need a session: others are sent to sign in first.
async fn signed_in(State(keys): State<ApiKeys>, request: Request, next: Next) -> Response {
    if keys.for_reads() && keys.sessions().find(request.headers()).is_none() {
        let here = request
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        return Redirect::to(&format!("/login?next={}", layout::url_encode(&here))).into_response();
    }
    next.run(request).await
}

/// An HTML answer with the headers every console page carries: no caching, no framing, no
/// scripts or styles from anywhere but this server.
fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", STYLESHEET)
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", WHAT_IF_SCRIPT)
}

/// Overview: the serving model's card, scoring volume per day, the tier and grade mix of recent
/// scores and the MQL rate.
async fn overview(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let engine = state.engine();
    let now = time::now();
    let activity = activity_of(&state, DEFAULT_ACTIVITY_DAYS, now).await;
    let body = overview::overview(&engine, activity.as_ref(), DEFAULT_ACTIVITY_DAYS, now);
    html(
        StatusCode::OK,
        layout::page("Overview", Nav::Overview, &auth(&state, &headers), &body),
    )
}

/// Experiments: every live experiment's report (the API's own) and its conversion per week.
async fn experiments(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let mut views = Vec::new();
    for experiment in state.experiments() {
        let name = experiment.name.clone();
        let data = read_query(&state, move |db, cancellation| {
            Ok((
                experiment_report_of(db, &name, cancellation)?,
                experiment_weeks(db, &name, cancellation)?,
            ))
        })
        .await;
        views.push(match data {
            Ok((report, weeks)) => ExperimentView {
                experiment,
                report: Ok(report),
                weeks,
            },
            Err(error) => ExperimentView {
                experiment,
                report: Err(error),
                weeks: Vec::new(),
            },
        });
    }
    let body = experiments::experiments(&views, state.config().db.is_some());
    html(
        StatusCode::OK,
        layout::page(
            "Experiments",
            Nav::Experiments,
            &auth(&state, &headers),
            &body,
        ),
    )
}

#[derive(Debug, Deserialize)]
struct LeadQuery {
    id: Option<String>,
}

/// Lead: look a lead up by id; its scores with their reasons and points, arms and outcome.
async fn lead(
    State(state): State<AppState>,
    headers: HeaderMap,
    ValidQuery(query): ValidQuery<LeadQuery>,
) -> Response {
    let id = query
        .id
        .map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty());
    let limit = state.config().limits.max_id_bytes;
    let (status, body) = match id {
        None => (StatusCode::OK, lead::lead_page(None, None)),
        Some(id) if id.len() > limit => (
            StatusCode::BAD_REQUEST,
            lead::lead_page(
                None,
                Some(Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!("a lead id has at most {limit} bytes"),
                ))),
            ),
        ),
        Some(id) => {
            let history = lead_history_of(&state, id.clone(), DEFAULT_HISTORY).await;
            (StatusCode::OK, lead::lead_page(Some(&id), Some(history)))
        }
    };
    html(
        status,
        layout::page("Lead", Nav::Lead, &auth(&state, &headers), &body),
    )
}

/// Monitor: the served model's drift, backtest and shadow challenger, as `GET /v1/monitor`.
async fn monitor(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let report = monitor_of(&state, DEFAULT_MONITOR_WEEKS, time::now()).await;
    let body = monitor::monitor(report.as_ref());
    html(
        StatusCode::OK,
        layout::page("Monitor", Nav::Monitor, &auth(&state, &headers), &body),
    )
}

/// Rules: the rules file as a table, and the what-if panel.
async fn rules(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let body = rules::rules(&state.engine());
    html(
        StatusCode::OK,
        layout::page(
            "Rules and what-if",
            Nav::Rules,
            &auth(&state, &headers),
            &body,
        ),
    )
}

/// The model files beside the serving one: the configured folder, or the file's own folder.
fn model_files(state: &AppState) -> Vec<ModelFile> {
    let Some(configured) = state.config().model.as_deref() else {
        return Vec::new();
    };
    let folder: PathBuf = if configured.is_dir() {
        configured.to_owned()
    } else {
        configured.parent().unwrap_or(Path::new(".")).to_owned()
    };
    let serving = state.engine().model_file.clone();
    let mut files: Vec<ModelFile> = std::fs::read_dir(&folder)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .filter(|p| !p.ends_with(leadscore_artifact::POINTER_FILE))
                .filter_map(|path| {
                    let meta = std::fs::metadata(&path).ok()?;
                    let modified = meta
                        .modified()
                        .ok()
                        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
                        .map(|d| time::format_timestamp(d.as_secs() as i64));
                    Some(ModelFile {
                        name: path.file_name()?.to_string_lossy().into_owned(),
                        bytes: meta.len(),
                        modified,
                        serving: serving.as_deref() == Some(path.as_path()),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort_by(|a, b| b.modified.cmp(&a.modified).then(a.name.cmp(&b.name)));
    files
}

/// Models: the files available, which one serves, and reload.
async fn models(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let body = models::models(
        &state.engine(),
        &model_files(&state),
        &auth(&state, &headers),
        None,
    );
    html(
        StatusCode::OK,
        layout::page("Models", Nav::Models, &auth(&state, &headers), &body),
    )
}

#[derive(Debug, Deserialize)]
struct ReloadForm {
    #[serde(default)]
    csrf: String,
}

/// Reloads the model and rules files, for a signed-in browser whose form carries its token.
async fn reload(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<ReloadForm>,
) -> Response {
    let who = auth(&state, &headers);
    let refused = |status: StatusCode, message: &str| {
        let body = models::models(
            &state.engine(),
            &model_files(&state),
            &who,
            Some(Err(message)),
        );
        html(status, layout::page("Models", Nav::Models, &who, &body))
    };
    if !who.keys {
        return refused(
            StatusCode::FORBIDDEN,
            "reloading needs an API key and the server has none; start it with --api-key",
        );
    }
    let Some(session) = state.sessions().find(&headers) else {
        return refused(
            StatusCode::UNAUTHORIZED,
            "sign in with an API key to reload",
        );
    };
    if !session::same_origin(&headers) || !session::csrf_matches(&session, &form.csrf) {
        return refused(
            StatusCode::FORBIDDEN,
            "this form is out of date or came from another site; open the Models page and try again",
        );
    }
    let reloading = state.clone();
    let outcome = tokio::task::spawn_blocking(move || reloading.reload()).await;
    let (status, message) = match outcome {
        Ok(Ok(engine)) => (
            StatusCode::OK,
            Ok(engine.scorer.model().map_or_else(
                || "Reloaded the rules.".to_owned(),
                |m| format!("Reloaded: now serving {} {}.", m.name(), m.version()),
            )),
        ),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "refused a reload from the console; still serving the previous model");
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Err(format!(
                    "reload refused, still serving the previous model: {e}"
                )),
            )
        }
        Err(e) => {
            let error = ApiError::internal(e);
            (error.status(), Err(error.detail().to_owned()))
        }
    };
    let body = models::models(
        &state.engine(),
        &model_files(&state),
        &who,
        Some(message.as_deref().map_err(String::as_str)),
    );
    html(status, layout::page("Models", Nav::Models, &who, &body))
}

#[derive(Debug, Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

/// Only paths on this server are followed after sign-in (no open redirect).
fn local_path(next: Option<&str>) -> String {
    next.filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
        .unwrap_or("/")
        .to_owned()
}

async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    ValidQuery(query): ValidQuery<LoginQuery>,
) -> Response {
    let who = auth(&state, &headers);
    let body = layout::login(&local_path(query.next.as_deref()), None, who.keys);
    html(
        StatusCode::OK,
        layout::page("Sign in", Nav::None, &who, &body),
    )
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    #[serde(default)]
    key: String,
    next: Option<String>,
}

/// Signs in with an API key: a session cookie, then back to the page asked for.
async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = local_path(form.next.as_deref());
    let keys = state.keys();
    if !keys.any() || !keys.accepts(&form.key) || !session::same_origin(&headers) {
        // Slows down guessing keys through the form.
        tokio::time::sleep(FAILED_SIGN_IN_DELAY).await;
        let who = auth(&state, &headers);
        let message = if !keys.any() {
            "this server has no API keys, so there is nothing to sign in to"
        } else if !session::same_origin(&headers) {
            "this form came from another site (or through a proxy that hides the address it was reached at: have it pass X-Forwarded-Host)"
        } else {
            "unknown API key"
        };
        let body = layout::login(&next, Some(message), who.keys);
        return html(
            StatusCode::UNAUTHORIZED,
            layout::page("Sign in", Nav::None, &who, &body),
        );
    }
    let token = state.sessions().open();
    let mut response = Redirect::to(&next).into_response();
    if let Ok(cookie) = HeaderValue::from_str(&session::session_cookie(&token, &headers)) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

/// Signs out (a form with the session's token, so another site cannot sign a browser out).
async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<ReloadForm>,
) -> Response {
    if let Some(session) = state.sessions().find(&headers)
        && session::csrf_matches(&session, &form.csrf)
    {
        state.sessions().close(&headers);
    }
    let mut response = Redirect::to("/").into_response();
    if let Ok(cookie) = HeaderValue::from_str(&session::expired_cookie(&headers)) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}
