//! `leadscore score`: a leads file in, one scored row per lead out.

use anyhow::Result;
use leadscore_data::{OutputValues, time::now, write_table};
use leadscore_score::{LeadScore, Scorer};
use leadscore_train::{ModelArtifact, Reason};
use serde::Serialize;

use crate::args::{ScoreArgs, parse_time};
use crate::config::LoadedConfig;
use crate::data;
use crate::output::{print_json, spinner};

#[derive(Serialize)]
struct ScoreSummary {
    file: String,
    leads: usize,
    by_tier: Vec<(String, usize)>,
    mean_probability: f64,
}

fn reasons_text(reasons: &[Reason]) -> String {
    reasons
        .iter()
        .map(|r| format!("{}={} ({:+.2})", r.source, r.value, r.contribution))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Scores a file and writes the results.
pub fn run(args: &ScoreArgs) -> Result<()> {
    let artifact = ModelArtifact::load(&args.model)?;
    let config = LoadedConfig::load(args.data.config.as_deref())?;
    let mut selection = args.data.resolve(&config)?;
    selection.leads_options = artifact.leads_options(&selection.leads_options);
    selection.leads_options.require_target = false;
    let loaded = data::load(&selection)?;
    let scoring_time = args
        .as_of
        .as_deref()
        .map(parse_time)
        .transpose()
        .map_err(anyhow::Error::msg)?
        .unwrap_or_else(now);
    let bar = spinner(format!("scoring {} leads", loaded.leads.len()));
    let scorer = Scorer::new(artifact, args.reasons);
    let scores = scorer.score_table(&loaded.leads, loaded.events.as_ref(), scoring_time)?;
    bar.set_message(format!("writing {}", args.out.display()));
    write_table(&args.out, &columns(&scores))?;
    bar.finish_and_clear();

    let mut by_tier: Vec<(String, usize)> = scorer
        .model()
        .tiers
        .iter()
        .map(|t| (t.name.clone(), 0))
        .collect();
    for score in &scores {
        if let Some(entry) = by_tier.iter_mut().find(|(name, _)| *name == score.tier) {
            entry.1 += 1;
        }
    }
    let summary = ScoreSummary {
        file: args.out.display().to_string(),
        leads: scores.len(),
        by_tier,
        mean_probability: scores.iter().map(|s| s.probability).sum::<f64>()
            / scores.len().max(1) as f64,
    };
    if args.json {
        return print_json(&summary);
    }
    let tiers: Vec<String> = summary
        .by_tier
        .iter()
        .map(|(t, n)| format!("{t}: {n}"))
        .collect();
    println!(
        "scored {} leads (mean probability {:.3}; {}) → {}",
        summary.leads,
        summary.mean_probability,
        tiers.join(", "),
        summary.file
    );
    Ok(())
}

fn columns(scores: &[LeadScore]) -> Vec<(String, OutputValues)> {
    vec![
        (
            "lead_id".to_owned(),
            OutputValues::Text(scores.iter().map(|s| s.lead_id.clone()).collect()),
        ),
        (
            "probability".to_owned(),
            OutputValues::Number(scores.iter().map(|s| s.probability).collect()),
        ),
        (
            "percentile".to_owned(),
            OutputValues::Number(scores.iter().map(|s| s.percentile).collect()),
        ),
        (
            "tier".to_owned(),
            OutputValues::Text(scores.iter().map(|s| s.tier.clone()).collect()),
        ),
        (
            "top_positive".to_owned(),
            OutputValues::Text(
                scores
                    .iter()
                    .map(|s| reasons_text(&s.reasons.positive))
                    .collect(),
            ),
        ),
        (
            "top_negative".to_owned(),
            OutputValues::Text(
                scores
                    .iter()
                    .map(|s| reasons_text(&s.reasons.negative))
                    .collect(),
            ),
        ),
        (
            "model_version".to_owned(),
            OutputValues::Text(scores.iter().map(|s| s.model_version.clone()).collect()),
        ),
    ]
}
