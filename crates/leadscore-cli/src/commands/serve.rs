//! `leadscore serve`: starts the HTTP API.

use std::time::Duration;

use anyhow::{Context, Result};
use leadscore_data::{EventsOptions, LeadsOptions, time};
use leadscore_server::{
    AppState, ConnectionLimits, DEMO_DAYS, RequestLimits, ServerConfig, seed_demo, serve,
};

use crate::args::ServeArgs;
use crate::config::DataSelection;
use crate::data;

/// Seeds the demo history from `folder`'s leads.csv and events.csv (`--demo`).
fn seed(state: &AppState, folder: &std::path::Path) -> Result<()> {
    let leads = folder.join("leads.csv");
    anyhow::ensure!(
        leads.is_file(),
        "--demo {}: no leads.csv in that folder (the bundled sample is data/sample)",
        folder.display()
    );
    let events = Some(folder.join("events.csv")).filter(|p| p.is_file());
    let selection = DataSelection {
        leads,
        events,
        leads_options: LeadsOptions {
            require_target: false,
            ..LeadsOptions::default()
        },
        events_options: EventsOptions::default(),
    };
    let engine = state.engine();
    let loaded = data::load_for_scoring(&selection, engine.scorer.model(), engine.scorer.rules())?;
    match seed_demo(state, &loaded.leads, loaded.events.as_ref(), time::now())? {
        Some(summary) => eprintln!(
            "seeded a demo history: {} scores over the last {DEMO_DAYS} days, {} outcomes recorded",
            summary.scores, summary.outcomes
        ),
        None => eprintln!(
            "{} already holds scores: no demo history added",
            state
                .config()
                .db
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        ),
    }
    Ok(())
}

/// Starts logging, loads the model and rules, and serves until interrupted.
pub fn run(args: &ServeArgs) -> Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    if args.json_logs {
        logs.json().init();
    } else {
        logs.init();
    }
    let config = ServerConfig {
        model: args.model.clone(),
        rules: args.rules.clone(),
        db: (!args.no_db).then(|| args.db.clone()),
        api_keys: args
            .api_keys
            .iter()
            .map(|k| k.trim().to_owned())
            .filter(|k| !k.is_empty())
            .collect(),
        keys_for_reads: args.keys_for_reads,
        max_batch: args.max_batch,
        max_body_bytes: args.max_body_bytes,
        limits: RequestLimits {
            max_id_bytes: args.max_id_bytes,
            max_text_bytes: args.max_text_bytes,
            max_attributes: args.max_attributes,
            max_events: args.max_events,
        },
        timeout: Duration::try_from_secs_f64(args.timeout_secs)
            .context("--timeout-secs must be a positive number")?,
        reasons: args.reasons,
        experiments: args.experiments.clone(),
        cors_origins: args.cors_origins.clone(),
        keep_answers: !args.no_answers,
        webhooks: args.webhooks.clone(),
    };
    let state = AppState::new(config)?;
    if let Some(folder) = &args.demo {
        seed(&state, folder)?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let seconds = |value: f64, flag: &str| {
        Duration::try_from_secs_f64(value)
            .ok()
            .filter(|d| !d.is_zero())
            .with_context(|| format!("--{flag} must be a positive number of seconds"))
    };
    let limits = ConnectionLimits {
        max_connections: Some(args.max_connections)
            .filter(|&n| n > 0)
            .context("--max-connections must be at least 1")?,
        header_timeout: seconds(args.header_timeout_secs, "header-timeout-secs")?,
        shutdown_grace: seconds(args.shutdown_grace_secs, "shutdown-grace-secs")?,
    };
    eprintln!(
        "console: http://{}/   API reference: http://{}/docs",
        args.listen, args.listen
    );
    runtime.block_on(serve(state, args.listen, limits))?;
    Ok(())
}
