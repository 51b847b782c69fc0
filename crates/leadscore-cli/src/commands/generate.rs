//! `leadscore generate`: synthetic leads, events and truth.

use std::time::Instant;

use anyhow::Result;
use leadscore_synth::GeneratorParams;
use serde::Serialize;

use crate::args::GenerateArgs;
use crate::output::{percent, print_json, spinner, table};

#[derive(Serialize)]
struct GenerateReport {
    #[serde(flatten)]
    summary: leadscore_synth::GenerationSummary,
    files: Vec<String>,
    seconds: f64,
}

/// Generates and writes a synthetic data set.
pub fn run(args: &GenerateArgs) -> Result<()> {
    let started = Instant::now();
    let params = GeneratorParams::new()
        .leads(args.leads)
        .seed(args.seed)
        .months(args.months)
        .activity(args.activity)
        .deal_values(args.deal_values)
        .check()?;
    let bar = spinner(format!("generating {} leads", args.leads));
    let data = params.generate();
    bar.set_message("writing files");
    let files = data.write(&args.out)?;
    bar.finish_and_clear();
    let report = GenerateReport {
        summary: data.summary(),
        files: files.iter().map(|p| p.display().to_string()).collect(),
        seconds: started.elapsed().as_secs_f64(),
    };
    if args.json {
        return print_json(&report);
    }
    let s = &report.summary;
    let mut out = table(["", "value"]);
    out.add_row(vec!["leads".to_owned(), s.leads.to_string()]);
    out.add_row(vec![
        "won / lost / open".to_owned(),
        format!("{} / {} / {}", s.won, s.lost, s.open),
    ]);
    out.add_row(vec![
        "conversion rate (closed leads)".to_owned(),
        percent(s.conversion_rate),
    ]);
    out.add_row(vec!["events".to_owned(), s.events.to_string()]);
    out.add_row(vec![
        "oracle AUC (true probability)".to_owned(),
        format!("{:.4}", s.oracle_auc),
    ]);
    println!("{out}");
    for file in &report.files {
        println!("wrote {file}");
    }
    println!("in {:.2} s", report.seconds);
    Ok(())
}
