//! The Experiments page: each live experiment's report, as `GET /v1/experiments/{name}` gives it,
//! and its routed conversion week by week.

use std::fmt::Write as _;

use leadscore_compare::chart::{Series, escape, line_chart};
use leadscore_compare::live::{ArmReport, Experiment, ExperimentReport, Policy};
use leadscore_store::ArmWeek;

use super::layout::{
    PALETTE, capitalised, notice, number_cell, percent, points, points_difference, thousands,
    unavailable,
};
use crate::error::ApiError;

/// One experiment as the Experiments page shows it.
#[derive(Debug)]
pub(crate) struct ExperimentView<'a> {
    pub experiment: &'a Experiment,
    pub report: Result<ExperimentReport, ApiError>,
    pub weeks: Vec<ArmWeek>,
}

/// A share as a policy states it: `10%`, `12.5%`.
fn share(value: f64) -> String {
    let text = percent(value);
    text.strip_suffix(".0%")
        .map_or(text.clone(), |whole| format!("{whole}%"))
}

fn policy_text(arm: &leadscore_compare::live::Arm) -> String {
    match (arm.policy, arm.value) {
        (Policy::PointsThreshold, Some(v)) => format!("points ≥ {}", points(v)),
        (Policy::PointsThreshold, None) => "points ≥ the MQL threshold".to_owned(),
        (Policy::ModelTopShare, Some(v)) => format!("model's top {}", share(v)),
        (Policy::ModelTopShare, None) => "model's top share".to_owned(),
        (Policy::ModelCutoff, Some(v)) => format!("probability ≥ {}", share(v)),
        (Policy::ModelCutoff, None) => "probability cut-off".to_owned(),
    }
}

fn arm_row(arm: &ArmReport, policy: &str) -> String {
    let c = &arm.counts;
    let mut out = format!(
        r#"<tr data-arm="{}"><th scope="row">{}</th><td>{}</td>"#,
        escape(&c.arm),
        escape(&c.arm),
        escape(policy)
    );
    out.push_str(&number_cell("leads", c.leads, &thousands(c.leads)));
    out.push_str(&number_cell("routed", c.routed, &thousands(c.routed)));
    out.push_str(&number_cell(
        "routed_closed",
        c.routed_closed,
        &thousands(c.routed_closed),
    ));
    out.push_str(&number_cell(
        "routed_won",
        c.routed_won,
        &thousands(c.routed_won),
    ));
    match (arm.routed_conversion, arm.routed_conversion_interval) {
        (Some(rate), Some((low, high))) => {
            let _ = write!(
                out,
                r#"<td class="num" data-field="routed_conversion" data-value="{rate}">{} <small>[{} – {}]</small></td>"#,
                percent(rate),
                percent(low),
                percent(high)
            );
        }
        _ => out.push_str(r#"<td class="num" data-field="routed_conversion">–</td>"#),
    }
    match arm.overall_conversion {
        Some(rate) => out.push_str(&number_cell("overall_conversion", rate, &percent(rate))),
        None => out.push_str(r#"<td class="num" data-field="overall_conversion">–</td>"#),
    }
    out.push_str("</tr>");
    out
}

/// Routed conversion per arm, accumulated week by week, so the last point is the report's.
fn weeks_chart(id: &str, report: &ExperimentReport, weeks: &[ArmWeek]) -> String {
    let mut positions: Vec<String> = weeks.iter().map(|w| w.week.clone()).collect();
    positions.sort();
    positions.dedup();
    if positions.is_empty() {
        return String::new();
    }
    let series: Vec<Series> = report
        .arms
        .iter()
        .enumerate()
        .map(|(k, arm)| {
            let (mut closed, mut won) = (0u64, 0u64);
            let values = positions
                .iter()
                .map(|week| {
                    if let Some(w) = weeks
                        .iter()
                        .find(|w| &w.week == week && w.arm == arm.counts.arm)
                    {
                        closed += w.routed_closed;
                        won += w.routed_won;
                    }
                    (closed > 0).then(|| won as f64 / closed as f64)
                })
                .collect();
            Series {
                name: arm.counts.arm.clone(),
                color: PALETTE[k % PALETTE.len()].to_owned(),
                values,
            }
        })
        .collect();
    let labels: Vec<String> = positions
        .iter()
        .map(|w| w.get(5..).unwrap_or(w).to_owned())
        .collect();
    line_chart(
        id,
        "Routed conversion, cumulative by week",
        "conversion",
        &labels,
        &series,
        true,
    )
}

/// The Experiments page.
pub(crate) fn experiments(views: &[ExperimentView<'_>], has_db: bool) -> String {
    if views.is_empty() {
        return if has_db {
            r#"<p>No live experiment. Describe one in a TOML file and start the server with <code>--experiments FILE</code> (see the README, "Live A/B experiments").</p>"#.to_owned()
        } else {
            r#"<p>No live experiment: experiments need a score database (<code>--db</code>) and an experiments file (<code>--experiments</code>).</p>"#.to_owned()
        };
    }
    let mut out = String::from(
        r#"<p class="hint">Each lead is assigned to one arm by a stable hash of its id; an arm's policy decides whether the lead is <dfn>routed</dfn> to sales. Conversion counts routed leads whose outcome has been recorded. The 95% interval is where the true rate lies with 95% confidence.</p>"#,
    );
    for (index, view) in views.iter().enumerate() {
        let name = &view.experiment.name;
        let _ = write!(
            out,
            r#"<section class="experiment" id="experiment-{index}" data-experiment="{}"><h2>{}</h2>"#,
            escape(name),
            escape(name)
        );
        let report = match &view.report {
            Ok(report) => report,
            Err(error) => {
                out.push_str(&unavailable(error, "experiment report"));
                out.push_str("</section>");
                continue;
            }
        };
        let verdict = match &report.difference {
            Some(d) => capitalised(&d.verdict),
            None if report.arms.is_empty() => {
                "No lead has been assigned yet: score leads through the API and they are assigned as they come.".to_owned()
            }
            None => "Not enough outcomes yet: every arm needs routed leads with a recorded outcome before arms can be compared.".to_owned(),
        };
        let _ = write!(
            out,
            r#"<p class="verdict" data-field="verdict">{}</p>"#,
            escape(&verdict)
        );
        if !report.arms.is_empty() {
            out.push_str(r#"<div class="scroll"><table class="arms"><thead><tr><th scope="col">arm</th><th scope="col">routes a lead when</th><th scope="col">leads</th><th scope="col">routed to sales</th><th scope="col">routed, outcome known</th><th scope="col">routed, won</th><th scope="col">conversion of routed leads [95% interval]</th><th scope="col">conversion of all closed leads</th></tr></thead><tbody>"#);
            for arm in &report.arms {
                let policy = view
                    .experiment
                    .arms
                    .iter()
                    .find(|a| a.name == arm.counts.arm)
                    .map_or_else(|| "(arm no longer configured)".to_owned(), policy_text);
                out.push_str(&arm_row(arm, &policy));
            }
            out.push_str("</tbody></table></div>");
        }
        if let Some(d) = &report.difference {
            let _ = write!(
                out,
                r#"<p class="difference">Difference in conversion, {b} − {a}: <strong data-field="difference" data-value="{}">{}</strong>, 95% interval [{}, {}], p = {:.3}. <span class="hint">For people who look every day, the always-valid interval is [{}, {}].</span></p>"#,
                d.difference,
                points_difference(d.difference),
                points_difference(d.interval.0),
                points_difference(d.interval.1),
                d.p_value,
                points_difference(d.sequential.interval.0),
                points_difference(d.sequential.interval.1),
                b = escape(&d.arms.0),
                a = escape(&d.arms.1),
            );
        }
        if let Some(revenue) = &report.revenue {
            let _ = write!(
                out,
                r#"<div class="scroll"><table id="revenue-{index}"><caption>Revenue routed: won amounts per routed lead with an outcome (lost deals count 0), 95% bootstrap intervals</caption><thead><tr><th scope="col">arm</th><th scope="col">routed with outcome</th><th scope="col">revenue</th><th scope="col">per routed lead</th></tr></thead><tbody>"#
            );
            for arm in &revenue.arms {
                let _ = write!(
                    out,
                    r#"<tr><th scope="row">{}</th>{}{}{}</tr>"#,
                    escape(&arm.arm),
                    number_cell(
                        "revenue-routed",
                        arm.routed_closed,
                        &thousands(arm.routed_closed as u64)
                    ),
                    number_cell(
                        "revenue",
                        arm.revenue,
                        &thousands(arm.revenue.round() as u64)
                    ),
                    number_cell(
                        "revenue-per-lead",
                        arm.per_routed_lead,
                        &format!(
                            "{} [{}, {}]",
                            thousands(arm.per_routed_lead.round() as u64),
                            thousands(arm.interval.0.round() as u64),
                            thousands(arm.interval.1.round() as u64)
                        )
                    ),
                );
            }
            out.push_str("</tbody></table></div>");
            if let Some(d) = &revenue.difference {
                let _ = write!(
                    out,
                    r#"<p class="difference">Revenue per routed lead, {} − {}: <strong data-field="revenue-difference" data-value="{}">{:+.0}</strong>, 95% interval [{:+.0}, {:+.0}]: {}.</p>"#,
                    escape(&d.arms.1),
                    escape(&d.arms.0),
                    d.difference,
                    d.difference,
                    d.interval.0,
                    d.interval.1,
                    escape(&d.verdict)
                );
            }
        }
        for warning in &report.warnings {
            out.push_str(&notice(Err(&capitalised(warning))));
        }
        out.push_str(&weeks_chart(&format!("weeks-{index}"), report, &view.weeks));
        out.push_str("</section>");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_read_as_people_state_them() {
        let arm = |policy, value| leadscore_compare::live::Arm {
            name: "a".to_owned(),
            share: 0.5,
            policy,
            value,
        };
        assert_eq!(
            policy_text(&arm(Policy::ModelTopShare, Some(0.1))),
            "model's top 10%"
        );
        assert_eq!(
            policy_text(&arm(Policy::ModelCutoff, Some(0.125))),
            "probability ≥ 12.5%"
        );
        assert_eq!(
            policy_text(&arm(Policy::PointsThreshold, Some(50.0))),
            "points ≥ 50"
        );
    }
}
