//! `leadscore evaluate`: a saved model's metrics on any leads file with outcomes.

use anyhow::Result;
use leadscore_artifact::ModelArtifact;
use leadscore_score::{Scorer, evaluate};

use crate::args::{EvaluateArgs, scoring_time};
use crate::config::LoadedConfig;
use crate::data;
use crate::output::{print_json, table};

/// Loads a model and a data set and prints the model's metrics on it.
pub fn run(args: &EvaluateArgs) -> Result<()> {
    let artifact = ModelArtifact::load(&args.model)?;
    let config = LoadedConfig::load(args.data.config.as_deref())?;
    let selection = args.data.resolve(&config)?;
    let loaded = data::load_for_scoring(&selection, Some(&artifact), None)?;
    let scoring_time = scoring_time(args.as_of.as_deref())?;
    let scorer = Scorer::new(Some(artifact), None, 0)?;
    let evaluation = evaluate(&scorer, &loaded.leads, loaded.events.as_ref(), scoring_time)?;
    if args.json {
        return print_json(&evaluation);
    }
    let m = &evaluation.metrics;
    println!(
        "model `{}` version {} on {}: {} closed leads ({} won){}",
        evaluation.model,
        evaluation.version,
        evaluation.file,
        m.rows,
        m.positives,
        if evaluation.open > 0 {
            format!(", {} open leads not evaluated", evaluation.open)
        } else {
            String::new()
        }
    );
    let mut out = table(["metric", "value"]);
    for (name, value) in [
        ("ROC AUC", m.auc),
        ("PR AUC (average precision)", m.pr_auc),
        ("log loss", m.log_loss),
        ("Brier score", m.brier),
        ("expected calibration error", m.ece),
        ("lift in top 10%", m.lift_top_decile),
    ] {
        out.add_row(vec![name.to_owned(), format!("{value:.4}")]);
    }
    println!("{out}");
    if evaluation.is_training_data {
        eprintln!(
            "warning: this is the file the model was trained on; these metrics are optimistic. \
             Evaluate on leads the model never saw, or read the held-out test metrics `leadscore train` printed."
        );
    }
    Ok(())
}
