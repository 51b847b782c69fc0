//! `leadscore train`: the data scientist's main job.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use leadscore_artifact::{
    CandidateResult, Importance, ModelArtifact, TrainingReport, ValidationReport,
};
use leadscore_data::time::now;
use leadscore_data::{Severity, SplitKind, Validation};
use leadscore_features::{AsOfPolicy, EventFeatureParams, FeaturePipelineParams};
use leadscore_metrics::BinaryMetrics;
use leadscore_models::ModelKind;
use leadscore_train::{ColumnSignal, TrainInput, TrainParams, TrainProgress};
use serde::Serialize;

use crate::args::{FeatureArgs, TrainArgs};
use crate::config::{ConfigFile, LoadedConfig};
use crate::data;
use crate::output::{percent, print_json, progress, table};

#[derive(Serialize)]
struct TrainReport<'a> {
    model_file: String,
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
}

/// Feature settings from flags over the settings file.
pub fn feature_params(args: &FeatureArgs, config: &ConfigFile) -> FeaturePipelineParams {
    let section = &config.features;
    let mut events = EventFeatureParams::new();
    let windows = if args.windows.is_empty() {
        section.windows_days.clone()
    } else {
        Some(args.windows.clone())
    };
    if let Some(windows) = windows {
        events = events.windows_days(windows);
    }
    if let Some(half_life) = args.half_life.or(section.half_life_days) {
        events = events.half_life_days(half_life);
    }
    if let Some(max) = section.max_event_types {
        events = events.max_event_types(max);
    }
    let as_of = match args.as_of_days.or(section.as_of_days_after_creation) {
        Some(days) => AsOfPolicy::DaysAfterCreation(days),
        None => AsOfPolicy::CloseDate,
    };
    FeaturePipelineParams::new().events(events).as_of(as_of)
}

fn parse_split(text: &str) -> Result<SplitKind> {
    Ok(match text {
        "auto" => SplitKind::Auto,
        "time" => SplitKind::Time,
        "random" | "stratified" => SplitKind::Random,
        other => bail!("unknown test split `{other}`; use auto, time or random"),
    })
}

fn train_params(args: &TrainArgs, config: &ConfigFile, name: &str) -> Result<TrainParams> {
    let section = &config.train;
    let kinds: Vec<String> = if args.models.is_empty() {
        section.models.clone().unwrap_or_default()
    } else {
        args.models.clone()
    };
    let models = if kinds.is_empty() {
        ModelKind::ALL.to_vec()
    } else {
        kinds
            .iter()
            .map(|k| k.parse::<ModelKind>().map_err(anyhow::Error::msg))
            .collect::<Result<Vec<_>>>()?
    };
    let folds = args.folds.or(section.folds).unwrap_or(5);
    let validation = match args
        .validation
        .as_deref()
        .or(section.validation.as_deref())
        .unwrap_or("auto")
    {
        "auto" => Validation::Auto {
            folds,
            fraction: 0.2,
        },
        "time" => Validation::Time { fraction: 0.2 },
        "kfold" | "k-fold" | "cv" => Validation::KFold { folds },
        other => bail!("unknown validation `{other}`; use auto, time or kfold"),
    };
    let mut params = TrainParams::new()
        .models(models)
        .validation(validation)
        .test_fraction(args.test_fraction.or(section.test_fraction).unwrap_or(0.0))
        .test_split(parse_split(
            args.test_split
                .as_deref()
                .or(section.test_split.as_deref())
                .unwrap_or("auto"),
        )?)
        .seed(args.seed.or(section.seed).unwrap_or(42))
        .exclude_leaks(args.exclude_leaks || section.exclude_leaks.unwrap_or(false))
        .allow_weak(args.allow_weak || section.allow_weak.unwrap_or(false))
        .features(feature_params(&args.features, config))
        .name(name);
    if let Some(tiers) = &section.tiers {
        params = params.tiers(tiers.clone());
    }
    Ok(params)
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
    let params = train_params(args, &config.file, &name)?.check()?;
    let loaded = data::load(&selection)?;
    let leads = &loaded.leads;

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
        TrainProgress::Stage(stage) => bar.set_message(stage),
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
    let artifact = &outcome.artifact;
    artifact.save(&out)?;
    let warnings: Vec<&str> = leads
        .notices
        .iter()
        .filter(|n| n.severity == Severity::Warning)
        .map(|n| n.message.as_str())
        .collect();

    if args.json {
        return print_json(&TrainReport {
            model_file: out.display().to_string(),
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
        });
    }
    for warning in &warnings {
        println!("warning: {warning}");
    }
    print_report(artifact, &out);
    Ok(())
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
    println!(
        "wrote {} (model `{}` version {}) in {:.1} s",
        out.display(),
        artifact.name(),
        artifact.version(),
        r.seconds
    );
}
