//! `leadscore monitor`: the served model's drift, backtest and shadow challenger from the
//! server's database, with a verdict and an exit code for a cron job.

use std::path::Path;

use anyhow::{Result, bail};
use leadscore_artifact::{ModelArtifact, served_files};
use leadscore_compare::monitor::{MonitorParams, MonitorReport, Status};
use leadscore_data::time;
use leadscore_store::{Cancellation, monitor_database, open_existing};

use crate::args::MonitorArgs;
use crate::output::{percent, print_json, table};

/// The monitor's verdict reached `--fail-on`: the process exits with status 3.
#[derive(Debug)]
pub struct VerdictFailed {
    /// The verdict.
    pub status: Status,
    /// The threshold given.
    pub fail_on: Status,
}

impl std::fmt::Display for VerdictFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "monitor verdict: {} (exit status 3 from --fail-on {})",
            self.status, self.fail_on
        )
    }
}

impl std::error::Error for VerdictFailed {}

/// The model monitored and its challenger's version: a registry folder's champion and
/// challenger, or one model file.
fn served(path: &Path) -> Result<(ModelArtifact, Option<String>)> {
    if path.is_dir() {
        let Some((champion, challenger)) = served_files(path)? else {
            bail!(
                "{} is a folder without a registry pointer: give a model file or a registry folder (models/NAME)",
                path.display()
            );
        };
        let challenger = challenger
            .map(|file| ModelArtifact::load(&file).map(|m| m.version().to_owned()))
            .transpose()?;
        return Ok((ModelArtifact::load(&champion)?, challenger));
    }
    Ok((ModelArtifact::load(path)?, None))
}

/// Runs the monitor and prints it.
pub fn run(args: &MonitorArgs) -> Result<()> {
    let fail_on = match args.fail_on.as_str() {
        "alert" => Status::Alert,
        "warn" => Status::Warn,
        other => bail!("--fail-on {other}: expected alert or warn"),
    };
    if !(1..=260).contains(&args.weeks) {
        bail!("--weeks {}: expected 1 to 260", args.weeks);
    }
    let params = MonitorParams::new()
        .psi_warn(args.psi_warn)
        .psi_alert(args.psi_alert)
        .auc_margin(args.auc_margin)
        .min_week_scores(args.min_week_scores)
        .min_month_outcomes(args.min_month_outcomes)
        .check()?;
    let (model, challenger) = served(&args.model)?;
    open_existing(&args.db)?;
    let since = time::format_date(time::now() - i64::from(args.weeks) * 7 * time::SECONDS_PER_DAY);
    let report = monitor_database(
        &args.db,
        &model,
        challenger.as_deref(),
        &params,
        &since,
        &Cancellation::default(),
    )?;
    if args.json {
        print_json(&report)?;
    } else {
        print_report(&report);
    }
    if report.status >= fail_on {
        return Err(VerdictFailed {
            status: report.status,
            fail_on,
        }
        .into());
    }
    Ok(())
}

fn print_report(report: &MonitorReport) {
    println!(
        "model `{}` version {} (validation AUC {:.3})",
        report.model, report.version, report.validation_auc
    );
    let mut drift = table(["week", "scores", "PSI", "status"]);
    for week in &report.drift {
        drift.add_row(vec![
            week.week.clone(),
            week.scores.to_string(),
            format!("{:.3}", week.psi),
            week.status.to_string(),
        ]);
    }
    println!("score drift against training (PSI over the training deciles)\n{drift}");
    if let Some(latest) = report.columns.last().map(|c| c.week.clone()) {
        let mut columns = table([
            "column",
            "leads",
            "missing (training)",
            "unknown levels (training)",
            "PSI",
            "status",
        ]);
        for column in report.columns.iter().filter(|c| c.week == latest) {
            columns.add_row(vec![
                column.column.clone(),
                column.rows.to_string(),
                format!(
                    "{} ({})",
                    percent(column.missing_share),
                    percent(column.training_missing_share)
                ),
                match (column.unlearned_share, column.training_unlearned_share) {
                    (Some(now), Some(then)) => format!("{} ({})", percent(now), percent(then)),
                    _ => String::new(),
                },
                column
                    .psi
                    .map_or_else(String::new, |psi| format!("{psi:.3}")),
                column.status.to_string(),
            ]);
        }
        println!("input columns in the week of {latest}, against training\n{columns}");
    }
    let mut backtest = table([
        "month scored",
        "closed",
        "won",
        "AUC [95%]",
        "predicted",
        "converted [95%]",
        "per tier",
        "status",
    ]);
    for month in &report.backtest {
        let tiers: Vec<String> = month
            .tiers
            .iter()
            .filter(|t| t.leads > 0)
            .map(|t| format!("{} {} ({})", t.tier, percent(t.conversion), t.leads))
            .collect();
        backtest.add_row(vec![
            month.month.clone(),
            month.leads.to_string(),
            month.won.to_string(),
            match (month.auc, month.auc_interval) {
                (Some(auc), Some((low, high))) => format!("{auc:.3} [{low:.3}, {high:.3}]"),
                _ => "—".to_owned(),
            },
            percent(month.predicted),
            format!(
                "{} [{}, {}]",
                percent(month.observed),
                percent(month.observed_interval.0),
                percent(month.observed_interval.1)
            ),
            tiers.join(" · "),
            month.status.to_string(),
        ]);
    }
    println!("backtest: scores against the outcomes recorded since\n{backtest}");
    if let Some(shadow) = &report.shadow {
        let auc = |a: Option<f64>| a.map_or_else(|| "—".to_owned(), |a| format!("{a:.3}"));
        println!(
            "shadow {}: {} closed leads scored by both ({} won): champion AUC {}, challenger AUC {}{}",
            shadow.challenger,
            shadow.leads,
            shadow.won,
            auc(shadow.champion_auc),
            auc(shadow.challenger_auc),
            match (shadow.difference, shadow.interval) {
                (Some(d), Some((low, high))) =>
                    format!(", difference {d:+.3} [{low:+.3}, {high:+.3}]"),
                _ => String::new(),
            }
        );
    }
    println!("verdict: {}", report.status);
    for reason in &report.reasons {
        println!("  - {reason}");
    }
}
