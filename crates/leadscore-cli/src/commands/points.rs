//! `leadscore scorecard` and `leadscore points threshold`: points rules learned and tuned from
//! closed leads.

use anyhow::{Context, Result, bail};
use leadscore_data::{Outcome, time::now, write_bytes_atomically};
use leadscore_features::AsOfPolicy;
use leadscore_points::{
    PointsRules, ScoreBand, ScorecardParams, ThresholdAdvice, ThresholdGoal, recommend_threshold,
    score_bands,
};
use leadscore_train::{Contender, TrainInput, scorecard_contest};
use serde::Serialize;

use crate::args::{ScorecardArgs, ThresholdArgs};
use crate::config::LoadedConfig;
use crate::data;
use crate::output::{print_json, progress, table};

#[derive(Serialize)]
struct ScorecardReport<'a> {
    rules_file: String,
    rules: usize,
    mql_threshold: f64,
    closed_leads: usize,
    validation: &'a str,
    contenders: &'a [Contender],
}

/// Learns a scorecard from every closed lead, and compares how such a scorecard, the given
/// rules and a logistic model rank leads they were not fitted on (k-fold cross-validation, so
/// that a few thousand leads still give a stable comparison).
pub fn scorecard(args: &ScorecardArgs) -> Result<()> {
    let config = LoadedConfig::load(args.data.config.as_deref())?;
    let selection = args.data.resolve(&config)?;
    let params = ScorecardParams::new()
        .points_to_double_odds(args.points_to_double_odds)
        .mql_capacity(args.mql_capacity)
        .check()?;
    let compared = args.compare.as_deref().map(PointsRules::load).transpose()?;
    let loaded = data::load_for_scoring(&selection, None, compared.as_ref())?;
    let compared_name = args
        .compare
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let bar = progress(args.folds as u64, "cross-validating");
    let contest = scorecard_contest(
        &params,
        compared
            .as_ref()
            .map(|rules| (compared_name.as_str(), rules)),
        TrainInput {
            leads: &loaded.leads,
            events: loaded.events.as_ref(),
            scoring_time: now(),
        },
        args.folds,
        args.seed,
        &mut |done| bar.set_position(done as u64),
    )?;
    bar.finish_and_clear();
    let learned = &contest.learned;
    let header = format!(
        "Learned by `leadscore scorecard` from {} ({} closed leads).\n\
         {} points double the odds of converting; edit freely.",
        loaded.leads.path.display(),
        contest.closed_leads,
        args.points_to_double_odds
    );
    write_bytes_atomically(&args.out, learned.to_toml(&header).as_bytes())
        .with_context(|| format!("writing {}", args.out.display()))?;
    PointsRules::load(&args.out)?;

    let report = ScorecardReport {
        rules_file: args.out.display().to_string(),
        rules: learned.rules.len(),
        mql_threshold: learned.mql_threshold,
        closed_leads: contest.closed_leads,
        validation: &contest.validation,
        contenders: &contest.contenders,
    };
    if args.json {
        return print_json(&report);
    }
    let mut out = table(["scoring", "AUC", "per fold", ""]);
    for c in report.contenders {
        let per_fold: Vec<String> = c.fold_aucs.iter().map(|a| format!("{a:.3}")).collect();
        out.add_row(vec![
            c.name.clone(),
            format!("{:.4}", c.auc),
            per_fold.join(" "),
            c.detail.clone(),
        ]);
    }
    println!(
        "learned {} rules from {} closed leads; AUC on leads not used for fitting ({})",
        report.rules, report.closed_leads, report.validation
    );
    println!("{out}");
    println!(
        "wrote {} (MQL threshold {} passes the top {:.0}% of historical leads)",
        report.rules_file,
        report.mql_threshold,
        100.0 * args.mql_capacity
    );
    Ok(())
}

#[derive(Serialize)]
struct ThresholdReport {
    rules_file: String,
    current_threshold: f64,
    advice: Option<ThresholdAdvice>,
    bands: Vec<ScoreBand>,
}

/// Recommends an MQL threshold and prints conversion per points band.
pub fn threshold(args: &ThresholdArgs) -> Result<()> {
    let config = LoadedConfig::load(args.data.config.as_deref())?;
    let selection = args.data.resolve(&config)?;
    let rules = PointsRules::load(&args.rules)?;
    let loaded = data::load_for_scoring(&selection, None, Some(&rules))?;
    let leads = &loaded.leads;
    let as_of = AsOfPolicy::CloseDate.for_table(leads, now());
    let scores = rules.score_table(leads, loaded.events.as_ref(), &as_of);
    let closed: Vec<usize> = (0..leads.len())
        .filter(|&r| leads.outcomes[r] != Outcome::Open)
        .collect();
    if closed.is_empty() {
        bail!(
            "{} has no closed leads to learn a threshold from",
            leads.path.display()
        );
    }
    let totals: Vec<f64> = closed.iter().map(|&r| scores[r].total).collect();
    let won: Vec<bool> = closed
        .iter()
        .map(|&r| leads.outcomes[r] == Outcome::Won)
        .collect();
    let goal = match (args.capacity, args.precision) {
        (Some(share), _) => Some(ThresholdGoal::Capacity(share)),
        (None, Some(share)) => Some(ThresholdGoal::Precision(share)),
        (None, None) => None,
    };
    let advice = goal
        .map(|goal| recommend_threshold(&totals, &won, goal))
        .transpose()?;
    let report = ThresholdReport {
        rules_file: args.rules.display().to_string(),
        current_threshold: rules.mql_threshold,
        advice,
        bands: score_bands(&totals, &won, args.bands),
    };
    if args.json {
        return print_json(&report);
    }
    let current = recommend_threshold(&totals, &won, ThresholdGoal::Capacity(1.0))?;
    let passed = totals.iter().filter(|&&t| t >= rules.mql_threshold).count();
    let passed_won = totals
        .iter()
        .zip(&won)
        .filter(|&(&t, &w)| w && t >= rules.mql_threshold)
        .count();
    println!(
        "{} closed leads convert at {:.1}%; the current threshold {} passes {} ({:.1}%) converting at {:.1}%",
        totals.len(),
        100.0 * current.base_rate,
        rules.mql_threshold,
        passed,
        100.0 * passed as f64 / totals.len() as f64,
        100.0 * passed_won as f64 / passed.max(1) as f64
    );
    if let Some(advice) = &report.advice {
        println!(
            "recommended mql_threshold = {}: passes {} leads ({:.1}%), {:.1}% of them convert, catching {:.1}% of won leads",
            advice.threshold,
            advice.passed,
            100.0 * advice.passed_share,
            100.0 * advice.precision,
            100.0 * advice.recall
        );
    }
    let mut out = table(["points", "leads", "won", "conversion"]);
    for band in &report.bands {
        out.add_row(vec![
            format!("{} to {}", band.min_points, band.max_points),
            band.leads.to_string(),
            band.won.to_string(),
            format!("{:.1}%", 100.0 * band.conversion),
        ]);
    }
    println!("{out}");
    Ok(())
}
