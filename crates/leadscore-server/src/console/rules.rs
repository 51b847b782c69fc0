//! The Rules page: the rules file as a table, and the what-if panel that scores a lead made up
//! in the browser through `POST /v1/score?record=false`.

use std::fmt::Write as _;

use leadscore_compare::chart::escape;
use leadscore_data::ColumnKind;
use leadscore_points::{Condition, FieldCondition, Group};

use super::layout::{MQL_HINT, number_cell, points, signed_points};
use crate::state::Engine;

/// A field of the what-if form: its name, kind, and the values to choose from.
struct WhatIfField {
    name: String,
    kind: ColumnKind,
    levels: Vec<String>,
}

fn what_if_fields(engine: &Engine) -> (Vec<WhatIfField>, Vec<String>) {
    let mut fields: Vec<WhatIfField> = Vec::new();
    let mut event_types: Vec<String> = Vec::new();
    if let Some(model) = engine.scorer.model() {
        for column in &model.features().columns {
            fields.push(WhatIfField {
                name: column.name.clone(),
                kind: column.kind,
                levels: column.levels.clone(),
            });
        }
        if let Some(events) = &model.features().events {
            event_types.extend(events.event_types().iter().cloned());
        }
    }
    if let Some(rules) = engine.scorer.rules() {
        for rule in &rules.rules {
            match &rule.condition {
                Condition::Field { field, condition } => {
                    let values = match condition {
                        FieldCondition::In { values } | FieldCondition::NotIn { values } => {
                            values.clone()
                        }
                        _ => Vec::new(),
                    };
                    let kind = if matches!(condition, FieldCondition::Range { .. }) {
                        ColumnKind::Numeric
                    } else {
                        ColumnKind::Categorical
                    };
                    match fields.iter_mut().find(|f| &f.name == field) {
                        Some(existing) => {
                            for value in values {
                                if existing.kind == ColumnKind::Categorical
                                    && !existing
                                        .levels
                                        .iter()
                                        .any(|l| l.eq_ignore_ascii_case(&value))
                                {
                                    existing.levels.push(value);
                                }
                            }
                        }
                        None => fields.push(WhatIfField {
                            name: field.clone(),
                            kind,
                            levels: values,
                        }),
                    }
                }
                Condition::Event(event) => {
                    if !event_types.contains(&event.event) {
                        event_types.push(event.event.clone());
                    }
                }
            }
        }
    }
    (fields, event_types)
}

fn what_if_panel(engine: &Engine) -> String {
    let (fields, event_types) = what_if_fields(engine);
    let mut out = String::from(
        r#"<section id="what-if"><h2>What if…</h2><p class="hint">Set a lead's attributes and recent activity and see its probability, reasons and points from the live model and rules (<code>POST /v1/score?record=false</code>: nothing is recorded or assigned to an experiment).</p><form id="what-if-form" class="what-if" novalidate><fieldset><legend>Attributes</legend><div class="fields">"#,
    );
    for (k, field) in fields.iter().enumerate() {
        let id = format!("attr-{k}");
        let _ = write!(
            out,
            r#"<div class="field"><label for="{id}">{}</label>"#,
            escape(&field.name)
        );
        match field.kind {
            ColumnKind::Categorical => {
                let _ = write!(
                    out,
                    r#"<select id="{id}" data-attribute="{}"><option value="">(missing)</option>"#,
                    escape(&field.name)
                );
                for (n, level) in field.levels.iter().enumerate() {
                    let _ = write!(
                        out,
                        r#"<option value="{v}"{}>{v}</option>"#,
                        if n == 0 { " selected" } else { "" },
                        v = escape(level)
                    );
                }
                out.push_str("</select>");
            }
            ColumnKind::Numeric => {
                let _ = write!(
                    out,
                    r#"<input id="{id}" type="number" step="any" inputmode="decimal" data-attribute="{}" data-numeric="true" placeholder="(missing)">"#,
                    escape(&field.name)
                );
            }
        }
        out.push_str("</div>");
    }
    out.push_str(r#"</div></fieldset><fieldset><legend>Activity</legend><p class="hint">Each row is one event, a number of days before now.</p><ol id="what-if-events" class="events">"#);
    let options: String = event_types
        .iter()
        .map(|t| format!(r#"<option value="{v}">{v}</option>"#, v = escape(t)))
        .collect();
    let _ = write!(
        out,
        r#"</ol><template id="what-if-event"><li><label>event <select data-event-type>{options}</select></label> <label><input type="number" min="0" step="any" value="3" data-event-days> days ago</label> <button type="button" class="link" data-remove-event>remove</button></li></template><button type="button" id="what-if-add-event"{}>Add an event</button></fieldset><button type="submit" id="what-if-score">Score this lead</button></form><div id="what-if-result" aria-live="polite"></div></section><script src="/console/what-if.js" defer></script>"#,
        if event_types.is_empty() {
            " disabled"
        } else {
            ""
        }
    );
    out
}

/// The Rules page: the rules as a table, and the what-if panel.
pub(crate) fn rules(engine: &Engine) -> String {
    let mut out = String::new();
    match engine.scorer.rules() {
        None => out.push_str("<p>This server has no points rules (no <code>--rules</code>); the what-if panel shows the model's answer only.</p>"),
        Some(rules) => {
            let _ = write!(
                out,
                r#"<section id="rules-summary"><p>From <code>{}</code>: {} rules. A lead with at least <strong data-field="mql_threshold" data-value="{}">{} points</strong> is an <abbr title="{MQL_HINT}">MQL</abbr>.</p>"#,
                escape(&rules.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()),
                rules.rules.len(),
                rules.mql_threshold,
                points(rules.mql_threshold)
            );
            if let Some(cuts) = &rules.grades {
                let list = |c: &[f64; 3]| c.iter().map(|v| points(*v)).collect::<Vec<_>>().join(" / ");
                let _ = write!(
                    out,
                    "<p>Grades: fit A / B / C from {} fit points (below: D){}.",
                    list(&cuts.fit),
                    cuts.engagement.as_ref().map_or_else(String::new, |e| format!(
                        "; engagement 1 / 2 / 3 from {} engagement points (below: 4)",
                        list(e)
                    ))
                );
                let tiers: Vec<String> = rules
                    .tiers
                    .iter()
                    .map(|t| format!("{} ({})", escape(&t.name), escape(&t.grades.join(", "))))
                    .collect();
                let _ = write!(out, " Tiers: {}.</p>", tiers.join("; "));
            }
            out.push_str("</section>");
            out.push_str(r#"<div class="scroll"><table id="rules-table"><caption>Rules, in file order</caption><thead><tr><th scope="col">group</th><th scope="col">rule</th><th scope="col">when</th><th scope="col">points</th></tr></thead><tbody>"#);
            for rule in &rules.rules {
                let group = match rule.group {
                    Group::Fit => "fit",
                    Group::Engagement => "engagement",
                };
                let per_event = match &rule.condition {
                    Condition::Event(event) if !event.once => " per event",
                    _ => "",
                };
                let _ = write!(
                    out,
                    r#"<tr class="{}"><td>{group}</td><th scope="row">{}</th><td>{}</td>{}</tr>"#,
                    if rule.points < 0.0 { "negative" } else { "positive" },
                    escape(&rule.name),
                    escape(&rule.condition.to_string()),
                    number_cell("points", rule.points, &format!("{}{per_event}", signed_points(rule.points)))
                );
            }
            out.push_str("</tbody></table></div>");
        }
    }
    out.push_str(&what_if_panel(engine));
    out
}
