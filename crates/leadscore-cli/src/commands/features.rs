//! `leadscore features`: the feature matrix a model sees, for notebooks and peer benchmarks.

use anyhow::Result;
use leadscore_artifact::ModelArtifact;
use leadscore_data::{Outcome, OutputValues, write_table};
use leadscore_features::FeatureSource;

use crate::args::{FeaturesArgs, scoring_time};
use crate::config::LoadedConfig;
use crate::data;
use crate::output::print_json;

/// Writes one row per lead: id, label (1 won, 0 lost, empty open) and every model feature, with
/// categorical features as their level text so that other tools can encode them their own way.
pub fn run(args: &FeaturesArgs) -> Result<()> {
    let artifact = ModelArtifact::load(&args.model)?;
    let config = LoadedConfig::load(args.data.config.as_deref())?;
    let mut selection = args.data.resolve(&config)?;
    selection.leads_options.require_target = false;
    let loaded = data::load_for_scoring(&selection, Some(&artifact), None)?;
    let scoring_time = scoring_time(args.as_of.as_deref())?;
    if let Some(warning) =
        leadscore_score::stale_scoring_time(&loaded.leads, loaded.events.as_ref(), scoring_time)
    {
        eprintln!("warning: {warning}");
    }
    let leads = &loaded.leads;
    let matrix =
        artifact
            .features()
            .transform_table(leads, loaded.events.as_ref(), scoring_time)?;

    let mut columns = vec![
        ("lead_id".to_owned(), OutputValues::Text(leads.ids.clone())),
        (
            "label".to_owned(),
            OutputValues::Number(
                leads
                    .outcomes
                    .iter()
                    .map(|o| match o {
                        Outcome::Won => 1.0,
                        Outcome::Lost => 0.0,
                        Outcome::Open => f64::NAN,
                    })
                    .collect(),
            ),
        ),
    ];
    for (index, info) in artifact.feature_info().iter().enumerate() {
        let values = matrix.values.column(index);
        let encoder = match &info.source {
            FeatureSource::Attribute(name) => artifact
                .features()
                .columns
                .iter()
                .find(|c| c.name == *name && c.kind == leadscore_data::ColumnKind::Categorical),
            FeatureSource::Behaviour(_) => None,
        };
        let output = match encoder {
            Some(encoder) => OutputValues::Text(
                values
                    .iter()
                    .map(|&v| {
                        if v.is_nan() {
                            String::new()
                        } else {
                            encoder.describe_value(v)
                        }
                    })
                    .collect(),
            ),
            None => OutputValues::Number(values.to_vec()),
        };
        columns.push((info.name.clone(), output));
    }
    write_table(&args.out, &columns)?;
    let summary = serde_json::json!({
        "file": args.out.display().to_string(),
        "leads": leads.len(),
        "features": artifact.feature_info().len(),
    });
    if args.json {
        return print_json(&summary);
    }
    println!(
        "wrote {} leads × {} features → {}",
        leads.len(),
        artifact.feature_info().len(),
        args.out.display()
    );
    Ok(())
}
