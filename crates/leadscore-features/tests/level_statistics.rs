//! Level statistics of a high-cardinality column: added only when many levels are pooled, the
//! same for a table and a single lead, out of fold for the rows a model is fitted on (a row's own
//! outcome never feeds its value), and saved and read back unchanged.

use std::io::Write;
use std::path::Path;

use leadscore_data::{LeadsOptions, LeadsTable, TextRule, Value};
use leadscore_features::{
    FeaturePipelineParams, FeatureSource, FittedFeaturePipeline, LeadInput, MIN_POOLED_LEVELS,
};

/// 3,000 leads: a landing page among 400 (a few popular, most rare) whose number decides
/// conversion, and a source with 4 levels.
fn write_leads(path: &Path, flip: Option<usize>) {
    let mut file = std::fs::File::create(path).expect("create");
    writeln!(file, "lead_id,landing_page,source,outcome").expect("header");
    for i in 0..3_000u64 {
        let hash = i.wrapping_mul(2_654_435_761) % 10_007;
        let page = if hash % 3 == 0 { hash % 10 } else { hash % 400 };
        let chance = if page % 2 == 0 { 7 } else { 2 };
        let mut won = (hash / 7) % 10 < chance;
        if flip == Some(i as usize) {
            won = !won;
        }
        let source = ["web", "event", "partner", "ads"][(i % 4) as usize];
        let landing = if i % 50 == 0 {
            String::new()
        } else {
            format!("LP-{page:03}")
        };
        writeln!(
            file,
            "L{i},{landing},{source},{}",
            if won { "won" } else { "lost" }
        )
        .expect("row");
    }
}

fn fitted(leads: &LeadsTable, rows: &[usize]) -> FittedFeaturePipeline {
    FeaturePipelineParams::new()
        .check()
        .expect("valid params")
        .fit(leads, None, rows)
}

#[test]
fn a_column_with_many_pooled_levels_gets_a_statistic_scored_alike_everywhere() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("leads.csv");
    write_leads(&path, None);
    let leads = LeadsTable::load(&path, &LeadsOptions::default()).expect("leads");
    let fitting: Vec<usize> = (0..2_400).collect();
    let pipeline = fitted(&leads, &fitting);

    let page = &pipeline.columns[0];
    assert_eq!(page.name, "landing_page");
    let rates = page
        .rates
        .as_ref()
        .expect("400 levels, 50 kept: statistics");
    assert!(rates.levels.len() > 50 + MIN_POOLED_LEVELS);
    assert!(
        pipeline.columns[1].rates.is_none(),
        "4 sources pool nothing"
    );
    let info = pipeline.features();
    assert_eq!(info.len(), 3);
    assert_eq!(info[2].name, "landing_page.won_log_odds");
    assert_eq!(
        info[2].source,
        FeatureSource::Attribute("landing_page".to_owned())
    );
    // Even pages convert at 70%, odd ones at 20%: the statistic tells them apart.
    let mean = |even: bool| {
        let values: Vec<f64> = rates
            .levels
            .iter()
            .filter(|(level, _)| {
                level[3..].parse::<u32>().expect("page number") % 2 == u32::from(!even)
            })
            .map(|(_, &v)| v)
            .collect();
        values.iter().sum::<f64>() / values.len() as f64
    };
    assert!(
        mean(true) > mean(false) + 0.5,
        "{} vs {}",
        mean(true),
        mean(false)
    );

    // A table and single leads get identical rows, pooled levels and unseen ones included.
    let table = pipeline
        .transform_table(&leads, None, 0)
        .expect("transform");
    for row in (0..leads.len()).step_by(7) {
        let mut lead = LeadInput::default();
        for column in &leads.columns {
            lead.attributes
                .insert(column.name.as_str(), column.value(row));
        }
        let (single, _) = pipeline.transform_lead(&lead).expect("lead");
        let batch: Vec<f64> = table.values.row(row).to_vec();
        for (a, b) in single.iter().zip(&batch) {
            assert!(
                a == b || (a.is_nan() && b.is_nan()),
                "row {row}: {single:?} vs {batch:?}"
            );
        }
    }
    let unseen = LeadInput {
        attributes: [("landing_page", Value::Text("a page never seen"))]
            .into_iter()
            .collect(),
        ..LeadInput::default()
    };
    assert_eq!(
        pipeline.transform_lead(&unseen).expect("lead").0[2],
        rates.unseen()
    );
    let missing = pipeline
        .transform_lead(&LeadInput::default())
        .expect("lead")
        .0;
    assert!(missing[2].is_nan());
    // Levels are read under the column's text rule, as codes are.
    let shouted = LeadInput {
        attributes: [("landing_page", Value::Text("  lp-003 "))]
            .into_iter()
            .collect(),
        ..LeadInput::default()
    };
    let quiet = LeadInput {
        attributes: [("landing_page", Value::Text("LP-003"))]
            .into_iter()
            .collect(),
        ..LeadInput::default()
    };
    assert_eq!(pipeline.text_rule, TextRule::default());
    assert_eq!(
        format!("{:?}", pipeline.transform_lead(&shouted).expect("lead").0),
        format!("{:?}", pipeline.transform_lead(&quiet).expect("lead").0)
    );

    // Fitting rows get out-of-fold values; the others keep the scored ones.
    let fitting_matrix = pipeline
        .transform_for_fitting(&leads, None, 0, &fitting)
        .expect("fitting");
    let changed = fitting
        .iter()
        .filter(|&&r| fitting_matrix.values[(r, 2)] != table.values[(r, 2)])
        .count();
    assert!(changed > 2_000, "{changed} of 2,400 fitting rows differ");
    for row in 2_400..leads.len() {
        let (a, b) = (fitting_matrix.values[(row, 2)], table.values[(row, 2)]);
        assert!(a == b || (a.is_nan() && b.is_nan()), "row {row}");
        assert_eq!(
            fitting_matrix.values[(row, 0)].to_bits(),
            table.values[(row, 0)].to_bits()
        );
    }

    // Saved and read back, the pipeline is the same and scores the same.
    let json = serde_json::to_string(&pipeline).expect("serialize");
    let back: FittedFeaturePipeline = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, pipeline);
    back.validate().expect("valid");
    let again = back.transform_table(&leads, None, 0).expect("transform");
    assert!(
        again
            .values
            .iter()
            .zip(table.values.iter())
            .all(|(a, b)| a == b || (a.is_nan() && b.is_nan()))
    );
}

#[test]
fn a_fitting_rows_own_outcome_never_feeds_its_statistic() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (plain, flipped) = (dir.path().join("plain.csv"), dir.path().join("flipped.csv"));
    write_leads(&plain, None);
    write_leads(&flipped, Some(1_234));
    let rows: Vec<usize> = (0..3_000).collect();
    let value = |path: &Path| {
        let leads = LeadsTable::load(path, &LeadsOptions::default()).expect("leads");
        // Fitting rows' values come from the other folds' counts only.
        let pipeline = fitted(&leads, &rows);
        pipeline
            .transform_for_fitting(&leads, None, 0, &rows)
            .expect("fitting")
            .values
            .column(2)
            .to_vec()
    };
    let (a, b) = (value(&plain), value(&flipped));
    assert_eq!(a[1_234], b[1_234], "the flipped lead's own value");
    assert!(
        a.iter().zip(&b).filter(|(x, y)| x != y).count() > 0,
        "other leads of its page see the change"
    );
}
