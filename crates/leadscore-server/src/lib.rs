//! `leadscore serve`: the HTTP API sales apps call. One answer per lead — calibrated probability,
//! percentile, tier, points with their breakdown, and the top reasons — computed by the same
//! scorer as batch files, recorded in SQLite off the request path, with hot reload, API keys,
//! Prometheus metrics and a generated OpenAPI document.
//!
//! [`app`] builds the router over an [`AppState`] (tested with `tower::ServiceExt::oneshot`);
//! [`serve`] binds it to a socket with file watching and graceful shutdown.

mod api;
mod error;
mod experiments;
mod metrics;
mod routes;
mod state;
mod store;

use std::net::SocketAddr;
use std::time::Duration;

pub use api::{BatchRequest, BatchResponse, EventInput, ScoreRequest, ScoreResponse};
pub use error::{ApiError, ErrorBody, ServerError};
pub use experiments::{Arm, Decision, Experiment, Policy};
pub use metrics::Metrics;
pub use routes::{ApiDoc, ModelsResponse, ScoreOptions, app};
pub use state::{AppState, Engine, ServerConfig};
pub use store::{
    OutcomeImport, OutcomeRecord, OutcomeValue, Recorder, ScoreRecord, experiment_counts,
    record_outcomes,
};

/// How often model and rules files are checked for changes.
const WATCH_INTERVAL: Duration = Duration::from_secs(1);

/// Serves `state` on `address` until Ctrl-C or SIGTERM, reloading changed files, then finishes
/// in-flight requests and flushes recorded scores.
pub async fn serve(state: AppState, address: SocketAddr) -> Result<(), ServerError> {
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
    let served = axum::serve(listener, app(state.clone()))
        .with_graceful_shutdown(shutdown_signal())
        .await;
    watcher.abort();
    tracing::info!("shutting down: flushing recorded scores");
    state.close();
    served.map_err(ServerError::Io)
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
