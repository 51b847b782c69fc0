//! `leadscore score`: a leads file in, one scored row per lead out.

use anyhow::Result;
use leadscore_artifact::ModelArtifact;
use leadscore_data::write_table;
use leadscore_points::PointsRules;
use leadscore_score::{LeadScore, Scorer};
use serde::Serialize;

use crate::args::{ScoreArgs, scoring_time};
use crate::config::LoadedConfig;
use crate::data;
use crate::output::{print_json, spinner};

/// Leads of one column whose level the model never learned.
#[derive(Serialize)]
struct Unlearned {
    column: String,
    leads: usize,
    examples: Vec<String>,
}

/// Per column, the leads whose level the model never learned, with a few of those levels.
fn unlearned(scores: &[LeadScore]) -> Vec<Unlearned> {
    let mut summary: Vec<Unlearned> = Vec::new();
    for (column, level) in scores.iter().flat_map(|s| &s.unlearned_levels) {
        let entry = match summary.iter().position(|u| u.column == *column) {
            Some(i) => &mut summary[i],
            None => {
                summary.push(Unlearned {
                    column: column.clone(),
                    leads: 0,
                    examples: Vec::new(),
                });
                summary.last_mut().expect("just pushed")
            }
        };
        entry.leads += 1;
        if entry.examples.len() < 3 && !entry.examples.contains(level) {
            entry.examples.push(level.clone());
        }
    }
    summary
}

#[derive(Serialize)]
struct ScoreSummary {
    unlearned_levels: Vec<Unlearned>,
    file: String,
    warnings: Vec<String>,
    leads: usize,
    by_tier: Vec<(String, usize)>,
    mean_probability: Option<f64>,
    mql: Option<usize>,
}

/// Scores a file and writes the results.
pub fn run(args: &ScoreArgs) -> Result<()> {
    let artifact = args.model.as_deref().map(ModelArtifact::load).transpose()?;
    let rules = args.rules.as_deref().map(PointsRules::load).transpose()?;
    let config = LoadedConfig::load(args.data.config.as_deref())?;
    let mut selection = args.data.resolve(&config)?;
    selection.leads_options.require_target = false;
    let loaded = data::load_for_scoring(&selection, artifact.as_ref(), rules.as_ref())?;
    let scoring_time = scoring_time(args.as_of.as_deref())?;
    let warnings: Vec<String> =
        leadscore_score::stale_scoring_time(&loaded.leads, loaded.events.as_ref(), scoring_time)
            .into_iter()
            .collect();
    for warning in &warnings {
        eprintln!("warning: {warning}");
    }
    let bar = spinner(format!("scoring {} leads", loaded.leads.len()));
    let scorer = Scorer::new(artifact, rules, args.reasons)?;
    let scores = scorer.score_table(&loaded.leads, loaded.events.as_ref(), scoring_time)?;
    bar.set_message(format!("writing {}", args.out.display()));
    write_table(&args.out, &scorer.output_columns(&scores))?;
    bar.finish_and_clear();

    let mut by_tier: Vec<(String, usize)> = Vec::new();
    for score in &scores {
        let tier = score
            .prediction
            .as_ref()
            .map(|p| p.tier.clone())
            .or_else(|| score.points.as_ref().and_then(|p| p.tier.clone()));
        if let Some(tier) = tier {
            match by_tier.iter_mut().find(|(name, _)| *name == tier) {
                Some(entry) => entry.1 += 1,
                None => by_tier.push((tier, 1)),
            }
        }
    }
    by_tier.sort();
    let predictions: Vec<f64> = scores
        .iter()
        .filter_map(|s| s.prediction.as_ref().map(|p| p.probability))
        .collect();
    let unlearned_levels = unlearned(&scores);
    for u in &unlearned_levels {
        eprintln!(
            "note: {} leads have a `{}` the model never learned (e.g. {}): scored as (other)",
            u.leads,
            u.column,
            u.examples
                .iter()
                .map(|e| format!("`{e}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let summary = ScoreSummary {
        unlearned_levels,
        file: args.out.display().to_string(),
        warnings,
        leads: scores.len(),
        by_tier,
        mean_probability: (!predictions.is_empty())
            .then(|| predictions.iter().sum::<f64>() / predictions.len() as f64),
        mql: scorer.rules().map(|_| {
            scores
                .iter()
                .filter(|s| s.points.as_ref().is_some_and(|p| p.mql))
                .count()
        }),
    };
    if args.json {
        return print_json(&summary);
    }
    let mut parts: Vec<String> = Vec::new();
    if let Some(mean) = summary.mean_probability {
        parts.push(format!("mean probability {mean:.3}"));
    }
    if let Some(mql) = summary.mql {
        parts.push(format!("{mql} MQLs by points"));
    }
    parts.extend(summary.by_tier.iter().map(|(t, n)| format!("{t}: {n}")));
    println!(
        "scored {} leads ({}) → {}",
        summary.leads,
        parts.join("; "),
        summary.file
    );
    Ok(())
}
