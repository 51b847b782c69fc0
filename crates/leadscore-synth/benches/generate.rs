//! Generation speed: 100k leads (about 1 M events) and 1 M leads (about 10 M events).

#![allow(missing_docs)] // criterion_group! generates undocumented functions

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use leadscore_synth::GeneratorParams;

fn generation(c: &mut Criterion) {
    let mut group = c.benchmark_group("generate");
    group.sample_size(10);
    for leads in [100_000usize, 1_000_000] {
        let params = GeneratorParams::new()
            .leads(leads)
            .check()
            .expect("valid params");
        let events = params.generate().events.len() as u64;
        group.throughput(Throughput::Elements(events));
        group.bench_function(format!("{leads}_leads_{events}_events"), |b| {
            b.iter(|| params.generate());
        });
        group.bench_function(format!("{leads}_leads_write_csv"), |b| {
            let data = params.generate();
            b.iter(|| {
                let mut sink = std::io::sink();
                data.write_leads(&mut sink).expect("sink");
                data.write_events(&mut sink).expect("sink");
            });
        });
    }
    group.finish();
}

criterion_group!(benches, generation);
criterion_main!(benches);
