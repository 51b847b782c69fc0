//! A table scored in parts gets the scores of the table scored whole.

use std::path::{Path, PathBuf};

use leadscore_artifact::ModelArtifact;
use leadscore_data::{EventLog, EventsOptions, LeadsOptions, LeadsTable};
use leadscore_points::PointsRules;
use leadscore_score::{LeadScore, Scorer};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

#[test]
fn parts_score_like_the_whole_table() {
    let model = ModelArtifact::load(&repo("tests/fixtures/golden-gbdt.json")).expect("model");
    let rules = PointsRules::load(&repo("data/starter-rules.toml")).expect("rules");
    let options = model.leads_options(&LeadsOptions {
        require_target: false,
        ..LeadsOptions::default()
    });
    let leads =
        LeadsTable::load(&repo("tests/fixtures/golden-leads.csv"), &options).expect("leads");
    let events = EventLog::load(
        &repo("data/sample/events.csv"),
        &EventsOptions::default(),
        &leads,
    )
    .expect("events");
    assert!(leads.len() > 20, "several parts");
    let scorer = Scorer::new(Some(model), Some(rules), 3).expect("scorer");
    let whole = scorer
        .score_table(&leads, Some(&events), 1_750_000_000)
        .expect("whole");
    let mut parts: Vec<Vec<LeadScore>> = Vec::new();
    scorer
        .score_table_in_parts(&leads, Some(&events), 1_750_000_000, 7, |part| {
            parts.push(part);
            Ok::<(), leadscore_features::FeatureError>(())
        })
        .expect("parts");
    assert_eq!(parts.len(), leads.len().div_ceil(7));
    assert!(parts[..parts.len() - 1].iter().all(|p| p.len() == 7));
    assert_eq!(parts.concat(), whole);
    assert!(
        whole
            .iter()
            .all(|s| s.prediction.as_ref().is_some_and(|p| p.reasons.is_some()))
    );
}
