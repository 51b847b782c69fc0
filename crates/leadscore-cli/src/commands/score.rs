//! `leadscore score`: a leads file in, one scored row per lead out.

use anyhow::Result;
use leadscore_artifact::ModelArtifact;
use leadscore_data::write_table_in_parts;
use leadscore_points::PointsRules;
use leadscore_score::{LeadScore, Scorer};
use serde::Serialize;

use crate::args::{ScoreArgs, scoring_time};
use crate::config::LoadedConfig;
use crate::data;
use crate::output::{print_json, progress};

/// Leads of one column whose level the model never learned.
#[derive(Serialize)]
struct Unlearned {
    column: String,
    leads: usize,
    examples: Vec<String>,
}

/// Adds the leads of `scores` whose level the model never learned to the per-column summary,
/// keeping a few of those levels.
fn add_unlearned(summary: &mut Vec<Unlearned>, scores: &[LeadScore]) {
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
    let bar = progress(
        loaded.leads.len() as u64,
        format!("scoring → {}", args.out.display()),
    );
    let scorer = Scorer::new(artifact, rules, args.reasons)?;
    // Scored and written a part at a time: memory holds the inputs and two parts' answers (one
    // written while the next is scored).
    let mut unlearned_levels = Vec::new();
    let mut by_tier: Vec<(String, usize)> = Vec::new();
    let (mut leads, mut predictions, mut probability_sum, mut mql) = (0, 0, 0.0, 0);
    write_table_in_parts(&args.out, |sink| -> Result<()> {
        scorer.score_table_in_parts(
            &loaded.leads,
            loaded.events.as_ref(),
            scoring_time,
            leadscore_score::SCORING_PART,
            |scores| -> Result<()> {
                sink.write(&scorer.output_columns(&scores))?;
                add_unlearned(&mut unlearned_levels, &scores);
                for score in &scores {
                    let tier = score
                        .prediction
                        .as_ref()
                        .map(|p| &p.tier)
                        .or_else(|| score.points.as_ref().and_then(|p| p.tier.as_ref()));
                    if let Some(tier) = tier {
                        match by_tier.iter_mut().find(|(name, _)| name == tier) {
                            Some(entry) => entry.1 += 1,
                            None => by_tier.push((tier.clone(), 1)),
                        }
                    }
                    if let Some(prediction) = &score.prediction {
                        predictions += 1;
                        probability_sum += prediction.probability;
                    }
                    mql += usize::from(score.points.as_ref().is_some_and(|p| p.mql));
                }
                leads += scores.len();
                bar.inc(scores.len() as u64);
                Ok(())
            },
        )
    })?;
    bar.finish_and_clear();
    by_tier.sort();
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
        leads,
        by_tier,
        mean_probability: (predictions > 0).then(|| probability_sum / predictions as f64),
        mql: scorer.rules().map(|_| mql),
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
