//! `leadscore train`: the data scientist's main job.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use leadscore_artifact::Registry;
use leadscore_artifact::{
    CandidateResult, Importance, ModelArtifact, TrainingReport, ValidationReport,
};
use leadscore_data::Severity;
use leadscore_data::time::{format_timestamp, now};
use leadscore_metrics::BinaryMetrics;
use leadscore_train::{ColumnSignal, Settings, TrainInput, TrainProgress};
use serde::Serialize;

use crate::args::TrainArgs;
use crate::config::LoadedConfig;
use crate::data;
use crate::output::{peak_memory_bytes, percent, print_json, progress, table};

#[derive(Serialize)]
struct TrainReport<'a> {
    model_file: String,
    /// With `--registry`: whether this version became the champion.
    #[serde(skip_serializing_if = "Option::is_none")]
    champion: Option<bool>,
    name: &'a str,
    version: &'a str,
    chosen: String,
    leaderboard: &'a [CandidateResult],
    validation: &'a ValidationReport,
    test: Option<&'a BinaryMetrics>,
    importance: &'a [Importance],
    report: &'a TrainingReport,
    columns: &'a [ColumnSignal],
    /// What loading the data warned about (dates, identifiers, placeholders…).
    warnings: Vec<&'a str>,
    /// With `--value`: how the deal value model did in cross-validation.
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<&'a leadscore_artifact::ValueValidation>,
    /// Wall time of each stage, loading the files included.
    stages: &'a [StageTime],
    /// The process's peak resident memory, where the system reports it.
    #[serde(skip_serializing_if = "Option::is_none")]
    peak_memory_bytes: Option<u64>,
}

/// Wall time spent in one stage of `leadscore train`.
#[derive(Debug, Serialize)]
struct StageTime {
    stage: &'static str,
    seconds: f64,
}

/// Times the stages training announces, in the order they first ran; a stage run once per
/// validation fold adds up.
#[derive(Default)]
struct StageClock {
    current: Option<(&'static str, Instant)>,
    stages: Vec<StageTime>,
}

impl StageClock {
    fn enter(&mut self, stage: &'static str) {
        self.stop();
        self.current = Some((stage, Instant::now()));
    }

    fn stop(&mut self) {
        let Some((stage, start)) = self.current.take() else {
            return;
        };
        let seconds = start.elapsed().as_secs_f64();
        match self.stages.iter_mut().find(|s| s.stage == stage) {
            Some(time) => time.seconds += seconds,
            None => self.stages.push(StageTime { stage, seconds }),
        }
    }
}

/// The settings file with the training and feature flags laid over it.
fn merged_settings(args: &TrainArgs, file: &Settings) -> Settings {
    let mut settings = file.clone();
    let features = &mut settings.features;
    if !args.features.windows.is_empty() {
        features.windows_days = Some(args.features.windows.clone());
    }
    features.half_life_days = args.features.half_life.or(features.half_life_days);
    features.as_of_days_after_creation = args
        .features
        .as_of_days
        .or(features.as_of_days_after_creation);
    let train = &mut settings.train;
    if !args.models.is_empty() {
        train.models = Some(args.models.clone());
    }
    train.validation = args.validation.clone().or(train.validation.take());
    train.folds = args.folds.or(train.folds);
    train.test_fraction = args.test_fraction.or(train.test_fraction);
    train.test_split = args.test_split.clone().or(train.test_split.take());
    train.seed = args.seed.or(train.seed);
    if args.exclude_leaks {
        train.exclude_leaks = Some(true);
    }
    if args.allow_weak {
        train.allow_weak = Some(true);
    }
    settings
}

/// Trains and saves a model.
pub fn run(args: &TrainArgs) -> Result<()> {
    let config = LoadedConfig::load(args.data.config.as_deref())?;
    let selection = args.data.resolve(&config)?;
    let name = args.name.clone().unwrap_or_else(|| {
        args.out
            .as_deref()
            .unwrap_or(&selection.leads)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model".to_owned())
    });
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("models").join(format!("{name}.json")));
    let params = merged_settings(args, &config.file)
        .train_params(&name)?
        .check()?;
    let mut clock = StageClock::default();
    clock.enter("loading leads and events");
    let loaded = data::load(&selection)?;
    let leads = &loaded.leads;
    clock.enter("splitting off the test leads");

    let bar = progress(0, "training");
    let mut on_progress = |event: TrainProgress| match event {
        TrainProgress::SearchStarted { total } => {
            bar.set_length(total as u64);
            bar.set_message("model search");
        }
        TrainProgress::FitDone { candidate } => {
            bar.inc(1);
            bar.set_message(candidate);
        }
        TrainProgress::Stage(stage) => {
            clock.enter(stage);
            bar.set_message(stage);
        }
    };
    let outcome = params
        .train(
            TrainInput {
                leads,
                events: loaded.events.as_ref(),
                scoring_time: now(),
            },
            &mut on_progress,
        )
        .context("training failed")?;
    bar.finish_and_clear();
    clock.stop();
    let artifact = &outcome.artifact;
    let (out, champion) = match &args.registry {
        Some(root) => {
            let registered = Registry::new(root).register(artifact, &format_timestamp(now()))?;
            (registered.file, Some(registered.champion))
        }
        None => {
            artifact.save(&out)?;
            (out, None)
        }
    };
    let warnings: Vec<&str> = leads
        .notices
        .iter()
        .filter(|n| n.severity == Severity::Warning)
        .map(|n| n.message.as_str())
        .collect();

    if args.json {
        return print_json(&TrainReport {
            model_file: out.display().to_string(),
            champion,
            name: artifact.name(),
            version: artifact.version(),
            chosen: artifact.model().kind().to_string(),
            leaderboard: artifact.leaderboard(),
            validation: artifact.validation(),
            test: artifact.test(),
            importance: artifact.importance(),
            report: artifact.report(),
            columns: &outcome.column_signals,
            warnings,
            value: artifact.value_model().map(|v| &v.validation),
            stages: &clock.stages,
            peak_memory_bytes: peak_memory_bytes(),
        });
    }
    for warning in &warnings {
        println!("warning: {warning}");
    }
    print_report(artifact, &out);
    print_stages(&clock.stages);
    match champion {
        Some(true) => println!(
            "the first version of `{}`: it is the champion",
            artifact.name()
        ),
        Some(false) => println!(
            "registered beside the champion; next: `leadscore models diff {name}`, then `leadscore models shadow {name} {version}` or `leadscore models promote {name} {version}`",
            name = artifact.name(),
            version = artifact.version()
        ),
        None => {}
    }
    Ok(())
}

/// One line: each stage's wall time and the peak memory.
fn print_stages(stages: &[StageTime]) {
    let times: Vec<String> = stages
        .iter()
        .map(|s| format!("{} {:.1} s", s.stage, s.seconds))
        .collect();
    let peak = peak_memory_bytes()
        .map(|bytes| format!("; peak memory {:.0} MiB", bytes as f64 / (1 << 20) as f64))
        .unwrap_or_default();
    println!("time by stage: {}{peak}", times.join(" · "));
}

fn metrics_row(label: &str, m: &BinaryMetrics) -> Vec<String> {
    vec![
        label.to_owned(),
        m.rows.to_string(),
        format!("{:.4}", m.auc),
        format!("{:.4}", m.pr_auc),
        format!("{:.4}", m.log_loss),
        format!("{:.4}", m.brier),
        format!("{:.4}", m.ece),
        format!("{:.2}", m.lift_top_decile),
    ]
}

fn print_report(artifact: &ModelArtifact, out: &std::path::Path) {
    let d = artifact.training_data();
    let r = artifact.report();
    println!(
        "trained on {}: {} closed leads ({} won, {} lost; {} open not used){}",
        d.leads_file,
        d.won + d.lost,
        d.won,
        d.lost,
        d.open,
        d.events
            .map(|n| format!(
                "; {n} events ({} at or after their lead's as-of time and {} duplicates ignored)",
                r.events_after_as_of, r.duplicate_events
            ))
            .unwrap_or_default()
    );
    for warning in &r.leak_warnings {
        let action = if warning.excluded { "excluded" } else { "kept" };
        println!(
            "warning: column `{}` looks like a leak: {}; {action}",
            warning.column, warning.reason
        );
    }
    let kept: Vec<&str> = r
        .leak_warnings
        .iter()
        .filter(|w| !w.excluded)
        .map(|w| w.column.as_str())
        .collect();
    if !kept.is_empty() {
        println!(
            "to train without the likely leaks, pass --exclude {} (or --exclude-leaks); keep a column only if its value is known before the deal is decided",
            kept.join(",")
        );
    }
    let mut board = table([
        "",
        "model",
        "parameters",
        "val AUC",
        "val PR AUC",
        "val log loss",
        "fit s",
    ]);
    for c in artifact.leaderboard() {
        board.add_row(vec![
            if c.chosen {
                "→".to_owned()
            } else {
                String::new()
            },
            c.kind.to_string(),
            c.params.clone(),
            format!("{:.4}", c.auc),
            format!("{:.4}", c.pr_auc),
            format!("{:.4}", c.log_loss),
            format!("{:.2}", c.fit_seconds),
        ]);
    }
    println!("{board}");
    println!(
        "chosen: {} ({}), validated by {}; calibrated by {} (the lower cross-validated log loss)",
        artifact.model().kind(),
        artifact.model().summary(),
        artifact.validation().scheme,
        artifact.calibration().describe()
    );
    let mut metrics = table([
        "", "leads", "AUC", "PR AUC", "log loss", "Brier", "ECE", "lift@10%",
    ]);
    metrics.add_row(metrics_row("validation", &artifact.validation().metrics));
    if let Some(test) = artifact.test() {
        metrics.add_row(metrics_row("test", test));
    }
    println!("{metrics}");
    let mut importance = table(["source", "kind", "mean |contribution| (log-odds)"]);
    for item in artifact.importance().iter().take(12) {
        let kind = match item.source {
            leadscore_features::FeatureSource::Attribute(_) => "attribute",
            leadscore_features::FeatureSource::Behaviour(_) => "behaviour",
        };
        importance.add_row(vec![
            item.source.name().to_owned(),
            kind.to_owned(),
            format!("{:.3}", item.mean_abs_contribution),
        ]);
    }
    println!("{importance}");
    if let Some(weak) = &artifact.report().weak {
        println!("warning: {weak}; written anyway (--allow-weak)");
    }
    let tiers: Vec<String> = artifact
        .tiers()
        .iter()
        .map(|t| {
            format!(
                "{} ≥ {} ({} of leads)",
                t.name,
                percent(t.min_probability),
                percent(t.share)
            )
        })
        .collect();
    println!("tiers: {}", tiers.join(" · "));
    if let Some(value) = artifact.deal_value() {
        let v = &value.model.validation;
        let mut candidates = table([
            "deal value model",
            "RMSE of ln(amount), out of fold",
            "median absolute error",
        ]);
        for c in &v.candidates {
            let name = if c.name == v.chosen {
                format!("{} (chosen)", c.name)
            } else {
                c.name.clone()
            };
            candidates.add_row(vec![
                name,
                format!("{:.3}", c.rmse_log),
                format!("{:.0}", c.median_absolute_error),
            ]);
        }
        println!(
            "deal value (`{}`) learned from {} won deals:\n{candidates}",
            value.column, v.deals
        );
    }
    println!(
        "wrote {} (model `{}` version {}) in {:.1} s",
        out.display(),
        artifact.name(),
        artifact.version(),
        r.seconds
    );
}
