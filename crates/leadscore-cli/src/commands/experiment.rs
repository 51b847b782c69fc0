//! `leadscore outcomes import` and `leadscore experiment report`: the offline side of live
//! experiments, on the server's SQLite database.

use anyhow::Result;
use leadscore_data::{Outcome, time};
use leadscore_store::{
    Cancellation, OutcomeRecord, OutcomeValue, experiment_report_of, record_outcomes,
};

use crate::args::{ExperimentReportArgs, OutcomesImportArgs};
use crate::config::LoadedConfig;
use crate::data;
use crate::output::{print_json, table};

/// Records the closed leads of a file; importing the same file again changes nothing.
pub fn import(args: &OutcomesImportArgs) -> Result<()> {
    let config = LoadedConfig::load(args.data.config.as_deref())?;
    let mut data = args.data.clone();
    if let Some(file) = &args.file {
        data.leads = Some(file.clone());
    }
    let selection = data.resolve(&config)?;
    let loaded = data::load(&selection)?;
    let leads = &loaded.leads;
    let outcomes: Vec<OutcomeRecord> = (0..leads.len())
        .filter_map(|row| {
            let outcome = match leads.outcomes[row] {
                Outcome::Won => OutcomeValue::Won,
                Outcome::Lost => OutcomeValue::Lost,
                Outcome::Open => return None,
            };
            Some(OutcomeRecord {
                lead_id: leads.ids[row].clone(),
                outcome,
                closed_at: leads
                    .closed_at
                    .as_ref()
                    .and_then(|c| c[row])
                    .map(time::format_timestamp),
                amount: leads.deal_values.as_ref().and_then(|values| values[row]),
            })
        })
        .collect();
    let result = record_outcomes(&args.db, &outcomes)?;
    if args.json {
        return print_json(&result);
    }
    println!(
        "{} closed leads from {} → {}: {} new, {} changed, {} already recorded",
        outcomes.len(),
        leads.path.display(),
        args.db.display(),
        result.inserted,
        result.changed,
        result.unchanged
    );
    Ok(())
}

/// Prints an experiment's report.
pub fn report(args: &ExperimentReportArgs) -> Result<()> {
    let report = experiment_report_of(&args.db, &args.name, &Cancellation::default())?;
    anyhow::ensure!(
        !report.arms.is_empty(),
        "no lead has been assigned in an experiment named `{}` in {}",
        args.name,
        args.db.display()
    );
    if args.json {
        return print_json(&report);
    }
    let mut out = table([
        "arm",
        "leads",
        "routed",
        "routed with outcome",
        "routed won",
        "routed conversion",
        "overall conversion",
    ]);
    let percent =
        |rate: Option<f64>| rate.map_or("n/a".to_owned(), |r| format!("{:.1}%", 100.0 * r));
    for arm in &report.arms {
        let c = &arm.counts;
        out.add_row(vec![
            c.arm.clone(),
            c.leads.to_string(),
            c.routed.to_string(),
            c.routed_closed.to_string(),
            c.routed_won.to_string(),
            percent(arm.routed_conversion),
            percent(arm.overall_conversion),
        ]);
    }
    println!("experiment `{}`", report.experiment);
    println!("{out}");
    match &report.difference {
        Some(d) => {
            println!(
                "{} − {}: {:+.1} points, 95% interval [{:+.1}, {:+.1}] (Newcombe), p = {:.4}",
                d.arms.0,
                d.arms.1,
                100.0 * d.difference,
                100.0 * d.interval.0,
                100.0 * d.interval.1,
                d.p_value,
            );
            let s = &d.sequential;
            println!(
                "looking every day? always-valid 95% interval [{:+.1}, {:+.1}]: {}",
                100.0 * s.interval.0,
                100.0 * s.interval.1,
                if s.decided {
                    "decided"
                } else {
                    "keep collecting outcomes"
                }
            );
            println!("{}", d.verdict);
        }
        None => println!("too small to decide: no routed lead of both arms has an outcome yet"),
    }
    if let Some(revenue) = &report.revenue {
        let mut out = table([
            "arm",
            "routed with outcome",
            "revenue",
            "revenue per routed lead [95%]",
        ]);
        for arm in &revenue.arms {
            out.add_row(vec![
                arm.arm.clone(),
                arm.routed_closed.to_string(),
                format!("{:.0}", arm.revenue),
                format!(
                    "{:.0} [{:.0}, {:.0}]",
                    arm.per_routed_lead, arm.interval.0, arm.interval.1
                ),
            ]);
        }
        println!("{out}");
        if let Some(d) = &revenue.difference {
            println!(
                "revenue per routed lead, {} − {}: {:+.0}, 95% bootstrap interval [{:+.0}, {:+.0}]: {}",
                d.arms.1, d.arms.0, d.difference, d.interval.0, d.interval.1, d.verdict
            );
        }
    }
    for warning in &report.warnings {
        println!("warning: {warning}");
    }
    Ok(())
}
