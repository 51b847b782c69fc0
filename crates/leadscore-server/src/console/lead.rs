//! The Lead page: a lookup form and what is recorded about a lead, as `GET /v1/leads/{id}`
//! gives it.

use std::fmt::Write as _;

use leadscore_compare::chart::escape;
use leadscore_store::{LeadHistory, StoredScore};
use serde_json::Value;

use super::layout::{
    MQL_HINT, notice, number_cell, percent, points, signed_points, thousands, unavailable,
};
use crate::error::ApiError;

fn lookup_form(id: Option<&str>) -> String {
    format!(
        r#"<form method="get" action="/leads" role="search" class="lookup"><label for="lead-id">Lead id</label> <input id="lead-id" name="id" value="{}" required autocomplete="off"> <button type="submit">Look up</button></form>"#,
        escape(id.unwrap_or_default())
    )
}

fn reasons_table(id: &str, caption: &str, reasons: &Value) -> String {
    let Some(list) = reasons.as_array().filter(|l| !l.is_empty()) else {
        return String::new();
    };
    let mut out = format!(
        r#"<div class="scroll"><table id="{id}"><caption>{caption}</caption><thead><tr><th scope="col">what</th><th scope="col">the lead's value</th><th scope="col">effect on log-odds</th></tr></thead><tbody>"#
    );
    for reason in list {
        let contribution = reason["contribution"].as_f64().unwrap_or(0.0);
        let _ = write!(
            out,
            r#"<tr><th scope="row">{}</th><td>{}</td>{}</tr>"#,
            escape(reason["source"].as_str().unwrap_or_default()),
            escape(reason["value"].as_str().unwrap_or_default()),
            number_cell(
                "contribution",
                contribution,
                &format!(
                    "{}{:.2}",
                    if contribution >= 0.0 { "+" } else { "−" },
                    contribution.abs()
                )
            )
        );
    }
    out.push_str("</tbody></table></div>");
    out
}

fn breakdown_table(breakdown: &Value) -> String {
    let Some(hits) = breakdown.as_array().filter(|l| !l.is_empty()) else {
        return "<p>No rule matched.</p>".to_owned();
    };
    let mut out = String::from(
        r#"<div class="scroll"><table id="breakdown"><caption>Points breakdown</caption><thead><tr><th scope="col">rule</th><th scope="col">group</th><th scope="col">because</th><th scope="col">points</th></tr></thead><tbody>"#,
    );
    for hit in hits {
        let value = hit["points"].as_f64().unwrap_or(0.0);
        let _ = write!(
            out,
            r#"<tr><th scope="row">{}</th><td>{}</td><td>{}</td>{}</tr>"#,
            escape(hit["rule"].as_str().unwrap_or_default()),
            escape(hit["group"].as_str().unwrap_or_default()),
            escape(hit["detail"].as_str().unwrap_or_default()),
            number_cell("points", value, &signed_points(value))
        );
    }
    out.push_str("</tbody></table></div>");
    out
}

fn latest_score(score: &StoredScore) -> String {
    let mut out = String::from(r#"<article class="card" id="latest"><h2>Latest score</h2><dl>"#);
    let _ = write!(out, "<dt>Scored</dt><dd>{}</dd>", escape(&score.scored_at));
    if let Some(probability) = score.probability {
        let percentile = score.answer.as_ref().and_then(|a| a["percentile"].as_f64());
        let _ = write!(
            out,
            r#"<dt>Probability to win</dt><dd><span class="big" data-field="probability" data-value="{probability}">{}</span>{}</dd><dt>Tier</dt><dd data-field="tier">{}</dd><dt>Model</dt><dd>{} {}</dd>"#,
            percent(probability),
            percentile.map_or_else(String::new, |p| format!(
                " <small>(at or above {p:.0}% of training leads)</small>"
            )),
            escape(score.tier.as_deref().unwrap_or("–")),
            escape(score.model.as_deref().unwrap_or_default()),
            escape(score.model_version.as_deref().unwrap_or_default())
        );
    }
    if let Some(total) = score.points {
        let answer_points = score.answer.as_ref().map(|a| &a["points"]);
        let part = |name: &str| {
            answer_points
                .and_then(|p| p[name].as_f64())
                .map_or_else(|| "–".to_owned(), points)
        };
        let _ = write!(
            out,
            r#"<dt>Points</dt><dd><span class="big" data-field="points" data-value="{total}">{}</span> <small>(fit {}, engagement {})</small></dd><dt>Grade</dt><dd data-field="grade">{}</dd><dt><abbr title="{MQL_HINT}">MQL</abbr></dt><dd data-field="mql">{}</dd>"#,
            points(total),
            part("fit"),
            part("engagement"),
            escape(score.grade.as_deref().unwrap_or("–")),
            match score.mql {
                Some(true) => "yes",
                Some(false) => "no",
                None => "–",
            }
        );
    }
    out.push_str("</dl></article>");
    match &score.answer {
        Some(answer) => {
            let reasons = &answer["reasons"];
            if reasons.is_object() {
                let _ = write!(
                    out,
                    r#"<section class="reasons"><h3>Why this probability</h3><p class="hint">Each line moves the lead's log-odds from the average lead's ({:.2}); positive raises the probability.</p>{}{}</section>"#,
                    reasons["base_logit"].as_f64().unwrap_or(0.0),
                    reasons_table("reasons-positive", "Raises the probability", &reasons["positive"]),
                    reasons_table("reasons-negative", "Lowers the probability", &reasons["negative"])
                );
            }
            if answer["points"].is_object() {
                out.push_str(&breakdown_table(&answer["points"]["breakdown"]));
            }
        }
        None => out.push_str(
            "<p class=\"hint\">This score was recorded without its answer (before answers were kept, or by a server started with --no-answers): no reasons or breakdown.</p>",
        ),
    }
    out
}

/// The Lead page: the lookup form and, for an id, what is recorded about it.
pub(crate) fn lead_page(
    id: Option<&str>,
    history: Option<Result<LeadHistory, ApiError>>,
) -> String {
    let mut out = lookup_form(id);
    let Some(history) = history else {
        out.push_str(r#"<p class="hint">Every score the server gave is recorded with its reasons and points; look a lead up by its id to see them, its experiment arm and its outcome.</p>"#);
        return out;
    };
    let history = match history {
        Ok(history) => history,
        Err(error) => {
            out.push_str(&unavailable(&error, "lead history"));
            return out;
        }
    };
    let id = id.unwrap_or_default();
    if history.total_scores == 0 && history.assignments.is_empty() && history.outcome.is_none() {
        out.push_str(&notice(Err(&format!(
            "Nothing is recorded about lead “{id}”. Ids are matched exactly, including case."
        ))));
        return out;
    }
    let _ = write!(
        out,
        r#"<section id="lead" data-lead="{}"><h2>Lead {}</h2><dl class="facts">"#,
        escape(id),
        escape(id)
    );
    let outcome = match &history.outcome {
        Some(o) => format!(
            r#"<span data-field="outcome" data-value="{}">{}</span>{}"#,
            if o.won { "won" } else { "lost" },
            if o.won { "Won" } else { "Lost" },
            o.closed_at
                .as_deref()
                .map_or_else(String::new, |c| format!(" on {}", escape(c)))
        ),
        None => {
            r#"<span data-field="outcome" data-value="open">not recorded yet</span>"#.to_owned()
        }
    };
    let _ = write!(out, "<dt>Outcome</dt><dd>{outcome}</dd>");
    for a in &history.assignments {
        let _ = write!(
            out,
            r#"<dt>Experiment {}</dt><dd data-field="arm" data-value="{}">arm <strong>{}</strong>, {} <small>(since {})</small></dd>"#,
            escape(&a.experiment),
            escape(&a.arm),
            escape(&a.arm),
            if a.routed {
                "routed to sales"
            } else {
                "not routed to sales"
            },
            escape(&a.assigned_at)
        );
    }
    let _ = write!(
        out,
        r#"<dt>Scores recorded</dt><dd data-field="total_scores" data-value="{}">{}</dd></dl>"#,
        history.total_scores,
        thousands(history.total_scores)
    );
    if let Some(latest) = history.scores.first() {
        out.push_str(&latest_score(latest));
    }
    if history.scores.len() > 1 {
        out.push_str(r#"<div class="scroll"><table id="past-scores"><caption>Every score, newest first</caption><thead><tr><th scope="col">scored</th><th scope="col">model version</th><th scope="col">probability</th><th scope="col">tier</th><th scope="col">points</th><th scope="col">grade</th><th scope="col">MQL</th></tr></thead><tbody>"#);
        for s in &history.scores {
            let _ = write!(
                out,
                "<tr><th scope=\"row\">{}</th><td>{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
                escape(&s.scored_at),
                escape(s.model_version.as_deref().unwrap_or("–")),
                s.probability.map_or_else(|| "–".to_owned(), percent),
                escape(s.tier.as_deref().unwrap_or("–")),
                s.points.map_or_else(|| "–".to_owned(), points),
                escape(s.grade.as_deref().unwrap_or("–")),
                match s.mql {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "–",
                }
            );
        }
        out.push_str("</tbody></table></div>");
    }
    out.push_str("</section>");
    out
}
