//! The batch path (whole event log) and the single-lead path (one lead's events, as a request
//! carries them, in shuffled order) must give bit-identical behaviour features for every lead.

use leadscore_data::{EventLog, EventsOptions, LeadsOptions, LeadsTable, time::parse_timestamp};
use leadscore_features::{AsOfPolicy, EventFeatureParams, LeadEvent};
use leadscore_synth::GeneratorParams;

/// Raw (timestamp, type, value) rows of one lead, as read from the file.
type RawRows<'a> = Vec<(i64, &'a str, Option<f64>)>;

#[test]
fn batch_and_single_lead_features_are_identical_for_every_lead() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = GeneratorParams::new()
        .leads(2_000)
        .seed(11)
        .duplicate_rate(0.05)
        .check()
        .expect("valid params")
        .generate();
    let [leads_path, events_path, _] = data.write(dir.path()).expect("write sample");

    let leads = LeadsTable::load(&leads_path, &LeadsOptions::default()).expect("leads load");
    let log = EventLog::load(&events_path, &EventsOptions::default(), &leads).expect("events load");
    let scoring_time = data.export_time;
    let as_of = AsOfPolicy::CloseDate.for_table(&leads, scoring_time);
    let features = EventFeatureParams::new()
        .max_event_types(8)
        .check()
        .expect("valid params")
        .fit(&log, &(0..leads.len()).collect::<Vec<_>>());
    let (batch, batch_counts) = features.transform_log(&log, &as_of);
    assert!(
        batch_counts.duplicates > 0 && batch_counts.after_as_of > 0 && batch_counts.other_types > 0
    );

    // Read the events file again independently, as raw (id, timestamp, type) rows.
    let text = std::fs::read_to_string(&events_path).expect("events text");
    let mut per_lead: std::collections::HashMap<&str, RawRows<'_>> = Default::default();
    for line in text.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        let timestamp = parse_timestamp(cells[1]).expect("timestamp");
        per_lead
            .entry(cells[0])
            .or_default()
            .push((timestamp, cells[2], cells[3].parse().ok()));
    }
    let mut compared = 0;
    for (row, id) in leads.ids.iter().enumerate() {
        let mut events: Vec<LeadEvent<'_>> = per_lead
            .get(id.as_str())
            .map(|rows| {
                rows.iter()
                    .map(|&(timestamp, event_type, value)| LeadEvent {
                        timestamp,
                        event_type,
                        value,
                    })
                    .collect()
            })
            .unwrap_or_default();
        events.reverse();
        let (single, _) = features.transform_lead(&events, as_of[row]);
        let batch_row = batch.row(row);
        for (j, (a, b)) in batch_row.iter().zip(&single).enumerate() {
            assert!(
                a.to_bits() == b.to_bits(),
                "lead {id}, feature {}: batch {a} vs single {b}",
                features.feature_names()[j]
            );
        }
        compared += 1;
    }
    assert_eq!(compared, leads.len());
}
