//! `leadscore serve`: the HTTP edge of leadscore. One answer per lead — calibrated probability,
//! percentile, tier, points with their breakdown, and the top reasons — from the one scorer
//! (`leadscore-score`), journaled in the score database (`leadscore-store`) before it is sent,
//! with live experiments (`leadscore-compare::live`), hot reload, API keys, Prometheus metrics
//! and a generated OpenAPI document. Handlers only parse, call and answer: API keys are a layer,
//! bodies a validated-JSON extractor, and every error an RFC 9457 problem that never shows
//! internals.
//!
//! [`app`] builds the router over an [`AppState`] (tested with `tower::ServiceExt::oneshot`);
//! [`serve`] binds it to a socket with file watching, bounded connections (header-read timeout,
//! connection limit) and a graceful shutdown with a deadline.

mod api;
mod auth;
mod cors;
mod docs;
mod docs_page;
mod error;
mod extract;
mod listen;
mod metrics;
mod routes;
mod state;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware;
use axum::response::IntoResponse;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;

pub use api::{BatchRequest, BatchResponse, EventInput, ScoreRequest, ScoreResponse};
pub use docs::{ApiDoc, document};
pub use error::{ApiError, PROBLEM_JSON, Problem, ServerError};
pub use extract::{ScoreOptions, ValidJson};
pub use listen::ConnectionLimits;
pub use metrics::Metrics;
pub use routes::ModelsResponse;
pub use state::{AppState, Engine, RequestLimits, ServerConfig};

/// The HTTP API over a state: the routes behind their key layers, the documentation, the body
/// limit, the timeout, panics answered as 500 problems, request metrics, and CORS when origins
/// are configured.
pub fn app(state: AppState) -> Router {
    let config = state.config().clone();
    // AppState::new has checked the origins.
    let cors = cors::layer(&config.cors_origins).unwrap_or_default();
    let router = routes::api(&auth::ApiKeys::new(&config.api_keys, config.keys_for_reads))
        .merge(docs::routes())
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                ApiError::internal("a request handler panicked").into_response()
            },
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.timeout,
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
    listen::serve_connections(listener, app(state.clone()), limits, shutdown_signal()).await;
    watcher.abort();
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
