//! `leadscore compare`: the predictive model against points rules on the same holdout.

use anyhow::{Context, Result};
use leadscore_artifact::ModelArtifact;
use leadscore_compare::{CompareSettings, Comparison, choose_holdout, compare_holdout, html};
use leadscore_data::{file_sha256, time::now};
use leadscore_points::PointsRules;
use leadscore_score::Scorer;
use serde::Serialize;

use crate::args::CompareArgs;
use crate::config::LoadedConfig;
use crate::data;
use crate::output::{print_json, spinner, table};

#[derive(Serialize)]
struct Report<'a> {
    file: String,
    holdout: String,
    /// The model's name and version (`model` holds its metrics).
    model_version: String,
    rules_file: String,
    #[serde(flatten)]
    comparison: &'a Comparison,
}

/// Scores the holdout both ways and prints (and optionally renders) the comparison.
pub fn run(args: &CompareArgs) -> Result<()> {
    let artifact = ModelArtifact::load(&args.model)?;
    let config = LoadedConfig::load(args.data.config.as_deref())?;
    let rules = PointsRules::load(&args.rules)?;
    let selection = args.data.resolve(&config)?;
    let loaded = data::load_for_scoring(&selection, Some(&artifact), Some(&rules))?;
    let leads = &loaded.leads;
    let (holdout, description) = choose_holdout(
        leads,
        (!args.whole_file).then_some(args.holdout_fraction),
        args.seed,
    );
    if file_sha256(&leads.path) == artifact.training_data().leads_sha256
        && artifact.test().is_none()
    {
        eprintln!(
            "warning: the model was trained on this file without a test part, so the holdout was \
             part of its training; train with --test-fraction {} (or compare on a file it never saw \
             with --whole-file) for a fair comparison",
            args.holdout_fraction
        );
    }

    let bar = spinner(format!(
        "scoring and comparing {} holdout leads",
        holdout.len()
    ));
    let scorer = Scorer::new(Some(artifact), Some(rules), 0)?;
    let comparison = compare_holdout(
        &scorer,
        leads,
        loaded.events.as_ref(),
        &holdout,
        CompareSettings {
            scoring_time: now(),
            resamples: args.resamples,
            seed: args.seed,
        },
    )?;
    bar.finish_and_clear();

    let report = Report {
        file: leads.path.display().to_string(),
        holdout: description,
        model_version: scorer
            .model()
            .map(|m| format!("{} {}", m.name(), m.version()))
            .unwrap_or_default(),
        rules_file: args.rules.display().to_string(),
        comparison: &comparison,
    };
    if let Some(path) = &args.html {
        let title = format!(
            "Predictive model {} vs points rules {} on {} of {}",
            report.model_version, report.rules_file, report.holdout, report.file
        );
        std::fs::write(path, html::render(&comparison, &title))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if args.json {
        return print_json(&report);
    }
    println!(
        "{} on {} ({} leads, {} won); model {} vs rules {}",
        report.file,
        report.holdout,
        comparison.leads,
        comparison.won,
        report.model_version,
        report.rules_file
    );
    let mut out = table(["", "predictive model", "points rules"]);
    let (m, p) = (&comparison.model, &comparison.points);
    out.add_row(vec![
        "ROC AUC".to_owned(),
        format!("{:.4}", m.auc),
        format!("{:.4}", p.auc),
    ]);
    out.add_row(vec![
        "PR AUC".to_owned(),
        format!("{:.4}", m.pr_auc),
        format!("{:.4}", p.pr_auc),
    ]);
    for (a, b) in m.captured.iter().zip(&p.captured) {
        out.add_row(vec![
            format!("wins in the top {:.0}%", 100.0 * a.share),
            format!("{:.1} ({:.1}%)", a.won, 100.0 * a.share_of_wins),
            format!("{:.1} ({:.1}%)", b.won, 100.0 * b.share_of_wins),
        ]);
    }
    let t = &comparison.threshold;
    out.add_row(vec![
        format!(
            "precision / recall at {} MQLs (≥ {} points)",
            t.mql_leads, t.mql_threshold
        ),
        format!(
            "{:.1}% / {:.1}%",
            100.0 * t.model_precision,
            100.0 * t.model_recall
        ),
        format!(
            "{:.1}% / {:.1}%",
            100.0 * t.points_precision,
            100.0 * t.points_recall
        ),
    ]);
    out.add_row(vec![
        "lift, top decile".to_owned(),
        format!("{:.2}", m.lift[0]),
        format!("{:.2}", p.lift[0]),
    ]);
    println!("{out}");
    for d in &comparison.differences {
        println!(
            "{}: model − points {:+.4}, 95% interval [{:+.4}, {:+.4}] — {}",
            d.what, d.estimate, d.low, d.high, d.verdict
        );
    }
    if let Some(revenue) = &comparison.revenue {
        let mut captured = table([
            "revenue captured",
            "model by probability",
            "model by expected value",
            "points",
        ]);
        for c in &revenue.captured {
            captured.add_row(vec![
                format!("top {:.0}% of leads", 100.0 * c.share),
                format!("{:.1}%", 100.0 * c.by_probability),
                c.by_expected_value
                    .map_or_else(|| "—".to_owned(), |v| format!("{:.1}%", 100.0 * v)),
                format!("{:.1}%", 100.0 * c.by_points),
            ]);
        }
        println!("{}", revenue.total_sentence());
        println!("{captured}");
        for d in &revenue.differences {
            println!(
                "{}: {:+.4}, 95% interval [{:+.4}, {:+.4}] — {}",
                d.what, d.estimate, d.low, d.high, d.verdict
            );
        }
    }
    let bands = |title: &str, bands: &[leadscore_compare::Band]| {
        let mut out = table([title, "leads", "won", "conversion"]);
        for b in bands {
            out.add_row(vec![
                b.label.clone(),
                format!("{:.0}", b.leads),
                format!("{:.0}", b.won),
                format!("{:.1}%", 100.0 * b.conversion),
            ]);
        }
        println!("{out}");
    };
    bands("model tier", &comparison.tiers);
    if !comparison.grades.is_empty() {
        bands("points grade", &comparison.grades);
    }
    if let Some(path) = &args.html {
        println!("report: {}", path.display());
    }
    Ok(())
}
