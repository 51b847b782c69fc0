//! `leadscore scorecard` and `leadscore points threshold`: points rules learned and tuned from
//! closed leads.

use anyhow::{Result, bail};
use leadscore_data::{Outcome, time::now};
use leadscore_features::AsOfPolicy;
use leadscore_metrics::roc_auc;
use leadscore_models::ModelKind;
use leadscore_points::{
    PointsRules, ScoreBand, ScorecardParams, ThresholdAdvice, ThresholdGoal, recommend_threshold,
    score_bands,
};
use leadscore_score::{Scorer, evaluate};
use leadscore_train::{TrainInput, TrainParams, Validation, validation_folds};
use serde::Serialize;

use crate::args::{ScorecardArgs, ThresholdArgs};
use crate::commands::score::load_rules;
use crate::config::LoadedConfig;
use crate::data;
use crate::output::{print_json, progress, table};

#[derive(Serialize)]
struct Contender {
    name: String,
    /// Mean AUC over the validation folds.
    auc: f64,
    /// AUC of each fold.
    fold_aucs: Vec<f64>,
    detail: String,
}

#[derive(Serialize)]
struct ScorecardReport {
    rules_file: String,
    rules: usize,
    mql_threshold: f64,
    closed_leads: usize,
    validation: String,
    contenders: Vec<Contender>,
}

/// Learns a scorecard from every closed lead, and compares how such a scorecard, the given
/// rules and a logistic model rank leads they were not fitted on (k-fold cross-validation, so
/// that a few thousand leads still give a stable comparison).
pub fn scorecard(args: &ScorecardArgs) -> Result<()> {
    let config = LoadedConfig::load(args.data.config.as_deref())?;
    let selection = args.data.resolve(&config)?;
    let loaded = data::load(&selection)?;
    let leads = &loaded.leads;
    let events = loaded.events.as_ref();
    leads.require_both_classes()?;
    let params = ScorecardParams::new()
        .points_to_double_odds(args.points_to_double_odds)
        .mql_capacity(args.mql_capacity)
        .check()?;
    let compared = args
        .compare
        .as_deref()
        .map(|path| load_rules(path, &loaded))
        .transpose()?;
    let scoring_time = now();
    let as_of = AsOfPolicy::CloseDate.for_table(leads, scoring_time);
    let closed: Vec<usize> = (0..leads.len())
        .filter(|&r| leads.outcomes[r] != Outcome::Open)
        .collect();
    let labels: Vec<bool> = leads.outcomes.iter().map(|&o| o == Outcome::Won).collect();
    let folds = validation_folds(
        &closed,
        &labels,
        None,
        Validation::KFold { folds: args.folds },
        args.seed,
    );
    let compared_totals = compared
        .as_ref()
        .map(|rules| rules.score_table(leads, events, &as_of));
    let mut scorecard_aucs = Vec::new();
    let mut compared_aucs = Vec::new();
    let mut logistic_aucs = Vec::new();
    let bar = progress(folds.folds.len() as u64, "cross-validating");
    for (train_rows, valid_rows) in &folds.folds {
        let valid_won: Vec<bool> = valid_rows.iter().map(|&r| labels[r]).collect();
        let auc_of = |scores: &[leadscore_points::PointsScore]| {
            let totals: Vec<f64> = valid_rows.iter().map(|&r| scores[r].total).collect();
            roc_auc(&totals, &valid_won).unwrap_or(f64::NAN)
        };
        let learned = params.fit(leads, events, &as_of, train_rows)?;
        scorecard_aucs.push(auc_of(&learned.score_table(leads, events, &as_of)));
        if let Some(totals) = &compared_totals {
            compared_aucs.push(auc_of(totals));
        }
        let train_leads = leads.select_rows(train_rows);
        let train_events = events.map(|e| e.select_leads(train_rows));
        let artifact = TrainParams::new()
            .models(vec![ModelKind::Logistic])
            .seed(args.seed)
            .check()?
            .train(
                TrainInput {
                    leads: &train_leads,
                    events: train_events.as_ref(),
                    scoring_time,
                },
                &mut |_| {},
            )?
            .artifact;
        let valid_leads = leads.select_rows(valid_rows);
        let valid_events = events.map(|e| e.select_leads(valid_rows));
        logistic_aucs.push(
            evaluate(
                &Scorer::new(Some(artifact), None, 0)?,
                &valid_leads,
                valid_events.as_ref(),
                scoring_time,
            )?
            .metrics
            .auc,
        );
        bar.inc(1);
    }
    bar.set_message("learning the scorecard from every closed lead");
    let learned = params.fit(leads, events, &as_of, &closed)?;
    bar.finish_and_clear();

    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let mut contenders = vec![Contender {
        name: "learned scorecard".to_owned(),
        auc: mean(&scorecard_aucs),
        fold_aucs: scorecard_aucs,
        detail: format!(
            "{} rules, {} points double the odds",
            learned.rules.len(),
            args.points_to_double_odds
        ),
    }];
    if let (Some(rules), Some(path)) = (&compared, &args.compare) {
        contenders.push(Contender {
            name: format!("rules {}", path.display()),
            auc: mean(&compared_aucs),
            fold_aucs: compared_aucs,
            detail: format!("{} hand-written rules, not fitted", rules.rules.len()),
        });
    }
    contenders.push(Contender {
        name: "logistic model".to_owned(),
        auc: mean(&logistic_aucs),
        fold_aucs: logistic_aucs,
        detail: "leadscore train --models logistic on the same folds".to_owned(),
    });

    let header = format!(
        "Learned by `leadscore scorecard` from {} ({} closed leads).\n\
         {} points double the odds of converting; edit freely.",
        leads.path.display(),
        closed.len(),
        args.points_to_double_odds
    );
    write_atomically(&args.out, &learned.to_toml(&header))?;
    PointsRules::load(&args.out)?;

    let report = ScorecardReport {
        rules_file: args.out.display().to_string(),
        rules: learned.rules.len(),
        mql_threshold: learned.mql_threshold,
        closed_leads: closed.len(),
        validation: folds.description,
        contenders,
    };
    if args.json {
        return print_json(&report);
    }
    let mut out = table(["scoring", "AUC", "per fold", ""]);
    for c in &report.contenders {
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

fn write_atomically(path: &std::path::Path, text: &str) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let temporary = path.with_extension("toml.tmp");
    std::fs::write(&temporary, text)?;
    std::fs::rename(&temporary, path)?;
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
    let loaded = data::load(&selection)?;
    let leads = &loaded.leads;
    let rules = load_rules(&args.rules, &loaded)?;
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
