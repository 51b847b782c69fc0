//! The Monitor page: the served model's verdict, score drift per week, the backtest per month and
//! the shadow challenger: the report `GET /v1/monitor` answers, drawn for people.

use std::fmt::Write as _;

use leadscore_compare::chart::{Series, escape, line_chart};
use leadscore_compare::monitor::{MonitorReport, Status};

use super::layout::{AUC_HINT, PALETTE, number_cell, percent, thousands, unavailable};
use crate::error::ApiError;

const PSI_HINT: &str = "PSI (population stability index): how far this week's scores are spread differently from the training leads' over the training deciles; below 0.1 is stable, 0.25 and above is a shift worth acting on.";

fn status_word(status: Status) -> &'static str {
    match status {
        Status::TooFew => "too few data",
        Status::Ok => "ok",
        Status::Warn => "warn",
        Status::Alert => "alert",
    }
}

/// The status as the JSON API spells it, for `data-value`.
fn api_name(status: Status) -> &'static str {
    match status {
        Status::TooFew => "too_few",
        Status::Ok => "ok",
        Status::Warn => "warn",
        Status::Alert => "alert",
    }
}

fn status_cell(status: Status) -> String {
    format!(
        r#"<td class="status-{}" data-field="status" data-value="{}">{}</td>"#,
        status_word(status).replace(' ', "-"),
        api_name(status),
        status_word(status)
    )
}

/// The page body, or what keeps it from being shown.
pub(crate) fn monitor(report: Result<&MonitorReport, &ApiError>) -> String {
    let report = match report {
        Ok(report) => report,
        Err(error)
            if error.status() == axum::http::StatusCode::CONFLICT
                && error.detail().contains("--model") =>
        {
            return r#"<p class="notice">No predictive model is served, so there is nothing to monitor.</p>"#.to_owned();
        }
        Err(error) => return unavailable(error, "monitoring history"),
    };
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<section class="verdict status-{}" id="verdict"><p>Model <strong>{}</strong> version {}: <strong data-field="status" data-value="{}">{}</strong></p><ul>"#,
        status_word(report.status).replace(' ', "-"),
        escape(&report.model),
        escape(&report.version),
        api_name(report.status),
        status_word(report.status),
    );
    for reason in &report.reasons {
        let _ = write!(out, "<li>{}</li>", escape(reason));
    }
    out.push_str("</ul></section>");

    out.push_str(r#"<h2>Score drift</h2>"#);
    let _ = write!(out, r#"<p class="hint">{}</p>"#, escape(PSI_HINT));
    if report.drift.is_empty() {
        out.push_str("<p>No scores in these weeks.</p>");
    } else {
        let weeks: Vec<String> = report.drift.iter().map(|w| w.week.clone()).collect();
        out.push_str(&line_chart(
            "drift-chart",
            "Score drift per week (PSI against training)",
            "PSI",
            &weeks,
            &[Series {
                name: "PSI".to_owned(),
                color: PALETTE[0].to_owned(),
                values: report.drift.iter().map(|w| Some(w.psi)).collect(),
            }],
            false,
        ));
        out.push_str(r#"<div class="scroll"><table id="drift"><caption>Scores per week against the training deciles</caption><thead><tr><th scope="col">week of</th><th scope="col">scores</th><th scope="col">PSI</th><th scope="col">status</th></tr></thead><tbody>"#);
        for week in &report.drift {
            let _ = write!(
                out,
                r#"<tr><th scope="row">{}</th>{}{}{}</tr>"#,
                escape(&week.week),
                number_cell("scores", week.scores, &thousands(week.scores)),
                number_cell("psi", week.psi, &format!("{:.3}", week.psi)),
                status_cell(week.status)
            );
        }
        out.push_str("</tbody></table></div>");
    }

    if let Some(latest) = report.columns.last().map(|c| c.week.clone()) {
        let _ = write!(
            out,
            r#"<h2>Input columns</h2><div class="scroll"><table id="columns"><caption>The scored leads' columns in the week of {} against training</caption><thead><tr><th scope="col">column</th><th scope="col">leads</th><th scope="col">missing (training)</th><th scope="col">unknown levels (training)</th><th scope="col">PSI</th><th scope="col">status</th></tr></thead><tbody>"#,
            escape(&latest)
        );
        for column in report.columns.iter().filter(|c| c.week == latest) {
            let unlearned = match (column.unlearned_share, column.training_unlearned_share) {
                (Some(now), Some(then)) => number_cell(
                    "unlearned",
                    now,
                    &format!("{} ({})", percent(now), percent(then)),
                ),
                _ => "<td></td>".to_owned(),
            };
            let psi = column.psi.map_or_else(
                || "<td></td>".to_owned(),
                |psi| number_cell("column-psi", psi, &format!("{psi:.3}")),
            );
            let _ = write!(
                out,
                r#"<tr><th scope="row">{}</th>{}{}{unlearned}{psi}{}</tr>"#,
                escape(&column.column),
                number_cell("rows", column.rows, &thousands(column.rows)),
                number_cell(
                    "missing",
                    column.missing_share,
                    &format!(
                        "{} ({})",
                        percent(column.missing_share),
                        percent(column.training_missing_share)
                    )
                ),
                status_cell(column.status)
            );
        }
        out.push_str("</tbody></table></div>");
    }

    out.push_str(r#"<h2>Backtest</h2>"#);
    let _ = write!(
        out,
        r#"<p class="hint">Each closed lead's last score before it closed, by month of scoring, against validation AUC {:.3}. {}</p>"#,
        report.validation_auc,
        escape(AUC_HINT)
    );
    if report.backtest.is_empty() {
        out.push_str("<p>No scored lead has a recorded outcome yet.</p>");
    } else {
        let months: Vec<String> = report.backtest.iter().map(|m| m.month.clone()).collect();
        // One month is a table row, not a trend.
        if months.len() > 1 {
            out.push_str(&line_chart(
                "backtest-chart",
                "AUC per month of scoring",
                "AUC",
                &months,
                &[
                    Series {
                        name: "AUC on outcomes".to_owned(),
                        color: PALETTE[0].to_owned(),
                        values: report.backtest.iter().map(|m| m.auc).collect(),
                    },
                    Series {
                        name: "validation AUC".to_owned(),
                        color: PALETTE[1].to_owned(),
                        values: vec![Some(report.validation_auc); months.len()],
                    },
                ],
                false,
            ));
        }
        out.push_str(r#"<div class="scroll"><table id="backtest"><caption>Scores against the outcomes recorded since</caption><thead><tr><th scope="col">month</th><th scope="col">closed</th><th scope="col">won</th><th scope="col">AUC [95%]</th><th scope="col">predicted</th><th scope="col">converted [95%]</th><th scope="col">per tier</th><th scope="col">status</th></tr></thead><tbody>"#);
        for month in &report.backtest {
            let auc = match (month.auc, month.auc_interval) {
                (Some(auc), Some((low, high))) => {
                    number_cell("auc", auc, &format!("{auc:.3} [{low:.3}, {high:.3}]"))
                }
                _ => r#"<td class="num" data-field="auc" data-value="">–</td>"#.to_owned(),
            };
            let tiers: Vec<String> = month
                .tiers
                .iter()
                .filter(|t| t.leads > 0)
                .map(|t| {
                    format!(
                        "{} {} ({})",
                        t.tier,
                        percent(t.conversion),
                        thousands(t.leads as u64)
                    )
                })
                .collect();
            let _ = write!(
                out,
                r#"<tr><th scope="row">{}</th>{}{}{auc}{}{}<td>{}</td>{}</tr>"#,
                escape(&month.month),
                number_cell("closed", month.leads, &thousands(month.leads as u64)),
                number_cell("won", month.won, &thousands(month.won as u64)),
                number_cell("predicted", month.predicted, &percent(month.predicted)),
                number_cell(
                    "observed",
                    month.observed,
                    &format!(
                        "{} [{}, {}]",
                        percent(month.observed),
                        percent(month.observed_interval.0),
                        percent(month.observed_interval.1)
                    )
                ),
                escape(&tiers.join(" · ")),
                status_cell(month.status)
            );
        }
        out.push_str("</tbody></table></div>");
    }

    if let Some(shadow) = &report.shadow {
        out.push_str("<h2>Challenger in shadow</h2>");
        let auc = |a: Option<f64>| a.map_or_else(|| "–".to_owned(), |a| format!("{a:.3}"));
        let _ = write!(
            out,
            r#"<p id="shadow">Version <strong>{}</strong> on <span data-field="shadow-leads" data-value="{}">{}</span> closed leads both models scored ({} won): champion AUC <span data-field="champion-auc" data-value="{}">{}</span>, challenger AUC <span data-field="challenger-auc" data-value="{}">{}</span>{}. {}</p>"#,
            escape(&shadow.challenger),
            shadow.leads,
            thousands(shadow.leads as u64),
            thousands(shadow.won as u64),
            shadow
                .champion_auc
                .map_or_else(String::new, |a| a.to_string()),
            auc(shadow.champion_auc),
            shadow
                .challenger_auc
                .map_or_else(String::new, |a| a.to_string()),
            auc(shadow.challenger_auc),
            match (shadow.difference, shadow.interval) {
                (Some(d), Some((low, high))) =>
                    format!(", difference {d:+.3} [{low:+.3}, {high:+.3}]"),
                _ => String::new(),
            },
            escape(&shadow.verdict)
        );
    }
    out.push_str(r#"<p class="hint">The same report is <code>GET /v1/monitor</code> and <code>leadscore monitor</code>, which exits with status 3 on an alert, for a cron job.</p>"#);
    out
}
