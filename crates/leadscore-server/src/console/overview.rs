//! The Overview page: the serving model's card, the rules, and the activity of the last days.

use std::fmt::Write as _;

use leadscore_compare::chart::{Bar, bar_chart, escape};
use leadscore_data::time;

use super::layout::{
    AUC_HINT, ECE_HINT, MQL_HINT, PALETTE, notice, number_cell, percent, points, thousands,
    unavailable,
};
use crate::error::ApiError;
use crate::routes::Activity;
use crate::state::Engine;

/// The serving model's card.
fn model_card(engine: &Engine) -> String {
    let Some(model) = engine.scorer.model() else {
        return r#"<article class="card" id="model-card"><h2>Predictive model</h2><p>This server scores with points rules only (no --model).</p></article>"#.to_owned();
    };
    let data = model.training_data();
    let validation = &model.validation().metrics;
    let mut out =
        String::from(r#"<article class="card" id="model-card"><h2>Serving model</h2><dl>"#);
    let mut row = |term: &str, value: String| {
        let _ = write!(out, "<dt>{term}</dt><dd>{value}</dd>");
    };
    row(
        "Name",
        format!(r#"<span data-field="name">{}</span>"#, escape(model.name())),
    );
    row(
        "Version",
        format!(
            r#"<span data-field="version">{}</span>"#,
            escape(model.version())
        ),
    );
    row("Kind", escape(&model.model().kind().to_string()));
    row("Trained", escape(model.created_at()));
    row(
        "Training data",
        format!(
            "{}: {} leads ({} won, {} lost, {} open)",
            escape(&data.leads_file),
            thousands(data.rows as u64),
            thousands(data.won as u64),
            thousands(data.lost as u64),
            thousands(data.open as u64)
        ),
    );
    row(
        &format!(r#"Validation <abbr title="{AUC_HINT}">AUC</abbr>"#),
        format!(
            r#"<span data-field="validation_auc" data-value="{}">{:.3}</span> <small>({})</small>"#,
            validation.auc,
            validation.auc,
            escape(&model.validation().scheme)
        ),
    );
    row(
        &format!(r#"Validation <abbr title="{ECE_HINT}">ECE</abbr>"#),
        format!(
            r#"<span data-field="validation_ece" data-value="{}">{:.3}</span>"#,
            validation.ece, validation.ece
        ),
    );
    if let Some(test) = model.test() {
        row(
            &format!(r#"Test <abbr title="{AUC_HINT}">AUC</abbr>"#),
            format!(
                r#"<span data-field="test_auc" data-value="{}">{:.3}</span> <small>({} held-out leads)</small>"#,
                test.auc,
                test.auc,
                thousands(test.rows as u64)
            ),
        );
    }
    let tiers: Vec<String> = model
        .tiers()
        .iter()
        .map(|t| {
            format!(
                "{} from {} ({} of training leads)",
                escape(&t.name),
                percent(t.min_probability),
                percent(t.share)
            )
        })
        .collect();
    row("Tiers", tiers.join("; "));
    out.push_str("</dl>");
    let importance = model.importance();
    if !importance.is_empty() {
        let top = importance
            .iter()
            .map(|i| i.mean_abs_contribution)
            .fold(0.0, f64::max)
            .max(f64::MIN_POSITIVE);
        out.push_str(r#"<h3>Top drivers</h3><p class="hint">How much each attribute or behaviour moves a lead's score on average (mean absolute change in log-odds).</p><ol class="drivers">"#);
        for driver in importance.iter().take(8) {
            let _ = write!(
                out,
                r#"<li><span class="driver">{}</span> <meter min="0" max="{top}" value="{}" title="{:.3}"></meter> <span class="num">{:.3}</span></li>"#,
                escape(driver.source.name()),
                driver.mean_abs_contribution,
                driver.mean_abs_contribution,
                driver.mean_abs_contribution
            );
        }
        out.push_str("</ol>");
    }
    out.push_str("</article>");
    out
}

fn rules_card(engine: &Engine) -> String {
    let Some(rules) = engine.scorer.rules() else {
        return r#"<article class="card" id="rules-card"><h2>Points rules</h2><p>This server scores with the predictive model only (no --rules).</p></article>"#.to_owned();
    };
    format!(
        r#"<article class="card" id="rules-card"><h2>Points rules</h2><dl><dt>File</dt><dd>{}</dd><dt>Rules</dt><dd>{}</dd><dt><abbr title="{MQL_HINT}">MQL</abbr> threshold</dt><dd>{} points</dd></dl><p><a href="/rules">See the rules and try a lead</a></p></article>"#,
        escape(
            &rules
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        ),
        rules.rules.len(),
        points(rules.mql_threshold)
    )
}

/// The Overview page.
pub(crate) fn overview(
    engine: &Engine,
    activity: Result<&Activity, &ApiError>,
    days: u32,
    now: i64,
) -> String {
    let mut out = format!(
        r#"<section class="cards">{}{}</section>"#,
        model_card(engine),
        rules_card(engine)
    );
    let _ = write!(
        out,
        r#"<section id="activity"><h2>The last {days} days</h2>"#
    );
    match activity {
        Err(error) => out.push_str(&unavailable(error, "scoring history")),
        Ok(activity) => {
            let scores: u64 = activity.days.iter().map(|d| d.scores).sum();
            let mix = &activity.mix;
            let _ = write!(
                out,
                r#"<div class="stats"><p class="stat"><span class="value" data-field="scores" data-value="{scores}">{}</span> scores</p><p class="stat"><span class="value" data-field="leads_scored" data-value="{}">{}</span> leads scored</p>"#,
                thousands(scores),
                mix.leads,
                thousands(mix.leads)
            );
            if mix.with_points > 0 {
                let rate = mix.mql as f64 / mix.with_points as f64;
                let _ = write!(
                    out,
                    r#"<p class="stat"><span class="value" data-field="mql_rate" data-value="{rate}">{}</span> <abbr title="{MQL_HINT}">MQL</abbr> rate ({} of {} leads)</p>"#,
                    percent(rate),
                    thousands(mix.mql),
                    thousands(mix.with_points)
                );
            }
            out.push_str("</div>");
            if scores == 0 {
                out.push_str(&notice(Ok(
                    "No scores recorded in this period yet: score leads through the API (or start the server with --demo to see a sample history).",
                )));
            }
            // Every day of the period, empty days included, so gaps show.
            let first = now - (i64::from(days) - 1) * time::SECONDS_PER_DAY;
            let bars: Vec<Bar> = (0..i64::from(days))
                .map(|k| {
                    let day = time::format_date(first + k * time::SECONDS_PER_DAY);
                    let count = activity
                        .days
                        .iter()
                        .find(|d| d.day == day)
                        .map_or(0, |d| d.scores);
                    Bar {
                        label: day.get(5..).unwrap_or(&day).to_owned(),
                        value: count as f64,
                        color: PALETTE[0].to_owned(),
                        tooltip: format!("{day}: {} scores", thousands(count)),
                    }
                })
                .collect();
            out.push_str(r#"<div class="charts">"#);
            out.push_str(&bar_chart(
                "volume",
                "Scores per day (UTC)",
                "scores",
                &bars,
                false,
            ));
            if !mix.tiers.is_empty() {
                let total: u64 = mix.tiers.iter().map(|t| t.1).sum();
                let tier_bars: Vec<Bar> = mix
                    .tiers
                    .iter()
                    .enumerate()
                    .map(|(k, (tier, n))| Bar {
                        label: tier.clone(),
                        value: *n as f64 / total.max(1) as f64,
                        color: PALETTE[k % PALETTE.len()].to_owned(),
                        tooltip: format!("tier {tier}: {} leads", thousands(*n)),
                    })
                    .collect();
                out.push_str(&bar_chart(
                    "tiers",
                    "Model tier of each lead's latest score",
                    "share of leads",
                    &tier_bars,
                    true,
                ));
            }
            out.push_str("</div>");
            out.push_str(r#"<div class="tables">"#);
            out.push_str(&mix_table("tiers-table", "Model tier", &mix.tiers));
            out.push_str(&mix_table("grades-table", "Points grade", &mix.grades));
            out.push_str("</div>");
        }
    }
    out.push_str("</section>");
    out
}

fn mix_table(id: &str, what: &str, counts: &[(String, u64)]) -> String {
    if counts.is_empty() {
        return String::new();
    }
    let total: u64 = counts.iter().map(|c| c.1).sum();
    let mut out = format!(
        r#"<div class="scroll"><table id="{id}"><caption>{what} of each lead's latest score</caption><thead><tr><th scope="col">{what}</th><th scope="col">leads</th><th scope="col">share</th></tr></thead><tbody>"#
    );
    for (name, n) in counts {
        let _ = write!(
            out,
            r#"<tr data-key="{}"><th scope="row">{}</th>{}<td class="num">{}</td></tr>"#,
            escape(name),
            escape(name),
            number_cell("leads", n, &thousands(*n)),
            percent(*n as f64 / total.max(1) as f64)
        );
    }
    out.push_str("</tbody></table></div>");
    out
}
