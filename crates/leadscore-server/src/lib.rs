//! `leadscore serve`: the HTTP edge of leadscore. One answer per lead — calibrated probability,
//! percentile, tier, points with their breakdown, and the top reasons — from the one scorer
//! (`leadscore-score`), journaled in the score database (`leadscore-store`) before it is sent,
//! with live experiments (`leadscore-compare::live`), hot reload, API keys, Prometheus metrics,
//! a generated OpenAPI document, and a web console at `/` for marketers (server-rendered pages
//! over the same queries as the JSON routes, sign-in sessions, and [`seed_demo`] for a demo
//! history). Handlers only parse, call and answer: API keys are a layer, bodies a validated-JSON
//! extractor, and every API error an RFC 9457 problem that never shows internals.
//!
//! [`app`] builds the router over an [`AppState`] (tested with `tower::ServiceExt::oneshot`);
//! [`serve`] binds it to a socket with file watching, bounded connections (header-read timeout,
//! connection limit) and a graceful shutdown with a deadline.

mod api;
mod auth;
mod console;
mod cors;
mod demo;
mod docs;
mod docs_page;
mod error;
mod extract;
mod listen;
mod metrics;
mod routes;
mod session;
mod state;
mod webhooks;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::response::IntoResponse;
use leadscore_data::time;
use tower_http::catch_panic::CatchPanicLayer;

pub use api::{BatchRequest, BatchResponse, EventInput, ScoreRequest, ScoreResponse};
pub use demo::{DEMO_DAYS, DemoSummary, seed_demo};
pub use docs::{ApiDoc, document};
pub use error::{ApiError, PROBLEM_JSON, Problem, ServerError};
pub use extract::{ScoreOptions, Scoring, ValidJson, ValidQuery};
pub use listen::ConnectionLimits;
pub use metrics::{Metrics, WebhookMetrics};
pub use routes::{Activity, ModelsResponse};
pub use state::{AppState, Engine, RUNNING_REPORTS, RequestLimits, ServerConfig};
pub use webhooks::{Dispatcher, Trigger, Webhook, WebhooksError, signature};

/// The HTTP API over a state: the routes behind their key layers, the documentation, the web
/// console, the body limit, the time limit, panics answered as 500 problems, request metrics,
/// and CORS when origins are configured.
pub fn app(state: AppState) -> Router {
    let keys = state.keys().clone();
    let routes = routes::api(&keys)
        .merge(docs::routes())
        .merge(console::routes(&keys));
    with_layers(routes, state)
}

/// Wraps routes in the layers every answer goes through, so timeouts and panics are problems,
/// counted and logged like any other answer.
fn with_layers(routes: Router<AppState>, state: AppState) -> Router {
    let config = state.config().clone();
    // AppState::new has checked the origins.
    let cors = cors::layer(&config.cors_origins).unwrap_or_default();
    let router = routes
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                ApiError::internal("a request handler panicked").into_response()
            },
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            routes::observe,
        ))
        .with_state(state);
    match cors {
        Some(cors) => router.layer(cors),
        None => router,
    }
}

/// How often model and rules files are checked for changes.
const WATCH_INTERVAL: Duration = Duration::from_secs(1);

/// How often the column counts kept in memory are added to the database.
const COLUMN_FLUSH_INTERVAL: Duration = Duration::from_secs(30);

/// How often the served model's monitor is recomputed for `/metrics`.
const MONITOR_INTERVAL: Duration = Duration::from_secs(600);

/// Serves `state` on `address` until Ctrl-C or SIGTERM, reloading changed files, then finishes
/// in-flight requests (within the grace period) and flushes recorded scores.
pub async fn serve(
    state: AppState,
    address: SocketAddr,
    limits: ConnectionLimits,
) -> Result<(), ServerError> {
    let listener = tokio::net::TcpListener::bind(address).await?;
    tracing::info!(address = %listener.local_addr()?, "leadscore listening");
    let watcher = {
        let state = state.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(WATCH_INTERVAL);
            loop {
                ticks.tick().await;
                let state = state.clone();
                // Loading a model parses a file: keep it off the async workers.
                let _ = tokio::task::spawn_blocking(move || state.reload_if_changed()).await;
            }
        })
    };
    // `/metrics` shows the latest monitor: refresh it now and then, so a scraper sees drift
    // without anybody opening the console.
    let monitor = (state.config().db.is_some()).then(|| {
        let state = state.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(MONITOR_INTERVAL);
            loop {
                ticks.tick().await;
                if let Err(e) =
                    routes::monitor_of(&state, routes::DEFAULT_MONITOR_WEEKS, time::now()).await
                {
                    tracing::debug!(error = e.detail(), "monitor not refreshed");
                }
            }
        })
    });
    let columns = {
        let state = state.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(COLUMN_FLUSH_INTERVAL);
            loop {
                ticks.tick().await;
                let state = state.clone();
                let flushed =
                    tokio::task::spawn_blocking(move || state.flush_column_counts()).await;
                if let Ok(Err(e)) = flushed {
                    tracing::warn!(error = %e, "column statistics not written; retried later");
                }
            }
        })
    };
    listen::serve_connections(listener, app(state.clone()), limits, shutdown_signal()).await;
    columns.abort();
    watcher.abort();
    if let Some(monitor) = monitor {
        monitor.abort();
    }
    tracing::info!("shutting down: flushing recorded scores");
    state.close();
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    /// A panicking handler and one that outlives the time limit both answer a problem without
    /// internals, and both are counted in `/metrics`.
    #[tokio::test]
    async fn panics_and_timeouts_are_counted_problems() {
        let rules =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/starter-rules.toml");
        let state = AppState::new(ServerConfig {
            rules: Some(rules),
            timeout: Duration::from_millis(50),
            ..ServerConfig::default()
        })
        .expect("a state serving the starter rules");
        let routes = Router::new()
            .route(
                "/panics",
                get(|| async { panic!("secret internals") as &'static str }),
            )
            .route(
                "/sleeps",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    "late"
                }),
            );
        let router = with_layers(routes, state.clone());
        for (path, status) in [
            ("/panics", StatusCode::INTERNAL_SERVER_ERROR),
            ("/sleeps", StatusCode::REQUEST_TIMEOUT),
        ] {
            let request = Request::get(path).body(Body::empty()).expect("request");
            let response = router.clone().oneshot(request).await.expect("infallible");
            assert_eq!(response.status(), status, "{path}");
            assert_eq!(response.headers()["content-type"], PROBLEM_JSON, "{path}");
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .expect("body");
            let problem: serde_json::Value = serde_json::from_slice(&body).expect("problem json");
            assert_eq!(problem["status"], status.as_u16(), "{path}");
            assert!(!String::from_utf8_lossy(&body).contains("secret"), "{path}");
        }
        let metrics = state.metrics().render(None, None, None);
        for line in [
            "leadscore_requests_total{route=\"/panics\",status=\"500\"} 1",
            "leadscore_requests_total{route=\"/sleeps\",status=\"408\"} 1",
        ] {
            assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
        }
    }
}
