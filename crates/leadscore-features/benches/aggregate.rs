//! Event aggregation throughput (events/s) on about 10 M generated events.

#![allow(missing_docs)] // criterion_group! generates undocumented functions

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use leadscore_data::{EventLog, EventsOptions, LeadsOptions, LeadsTable};
use leadscore_features::{AsOfPolicy, EventFeatureParams};
use leadscore_synth::GeneratorParams;

/// The allocator of the `leadscore` binary, so that the aggregation measured is the one shipped.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn aggregation(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = GeneratorParams::new()
        .leads(1_000_000)
        .check()
        .expect("valid")
        .generate();
    let [leads_path, events_path, _] = data.write(dir.path()).expect("write");
    let leads = LeadsTable::load(&leads_path, &LeadsOptions::default()).expect("leads");
    let mut group = c.benchmark_group("events");
    group.sample_size(10);
    let log = EventLog::load(&events_path, &EventsOptions::default(), &leads).expect("events");
    group.throughput(Throughput::Elements(log.stats.rows as u64));
    group.bench_function(format!("load_csv_{}_events", log.stats.rows), |b| {
        b.iter(|| EventLog::load(&events_path, &EventsOptions::default(), &leads).expect("events"));
    });
    let as_of = AsOfPolicy::CloseDate.for_table(&leads, data.export_time);
    let features = EventFeatureParams::new()
        .check()
        .expect("valid")
        .fit(&log, &(0..leads.len()).collect::<Vec<_>>());
    group.throughput(Throughput::Elements(log.len() as u64));
    group.bench_function(format!("aggregate_{}_events", log.len()), |b| {
        b.iter(|| features.transform_log(&log, &as_of));
    });
    group.finish();
}

criterion_group!(benches, aggregation);
criterion_main!(benches);
