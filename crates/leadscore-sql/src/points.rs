//! The points engine in SQL: field conditions, per-event points with windows, decay, once and
//! caps, rounding to 0.1 as the engine rounds, subtotals, grades, tiers and the MQL flag.

use leadscore_data::ColumnKind;
use leadscore_data::time::SECONDS_PER_DAY;
use leadscore_points::{Condition, FieldCondition, GradeCuts, Group, PointsRules};

use crate::columns::Schema;
use crate::dialect::Dialect;

/// Rounds half away from zero to 0.1 point, as the engine's `round_tenth`; `+ 0` turns `-0`
/// into `0`.
fn round_tenth(d: Dialect, value: &str) -> String {
    let ten = d.number(10.0);
    format!(
        "(SIGN(({value}) * {ten}) * FLOOR(ABS(({value}) * {ten}) + {}) / {ten} + {})",
        d.number(0.5),
        d.number(0.0)
    )
}

/// The per-event aggregates of the event rules (`expression AS name` over `lead_events` `e`),
/// and every rule's rounded points (over leads `l` and rule events `r`).
pub(crate) struct PointsSql {
    pub aggregates: Vec<String>,
    /// Rounded points of each rule, in file order, with its group.
    pub hits: Vec<(Group, String)>,
}

pub(crate) fn points_sql(
    d: Dialect,
    rules: &PointsRules,
    schema: &Schema,
    input_column: &dyn Fn(&str) -> String,
) -> PointsSql {
    let mut aggregates = Vec::new();
    let mut hits = Vec::new();
    for (j, rule) in rules.rules.iter().enumerate() {
        let points = d.number(rule.points);
        let raw = match &rule.condition {
            Condition::Field { field, condition } => {
                let x = format!("l.{}", input_column(field));
                let numeric = schema
                    .columns
                    .iter()
                    .any(|c| c.name == *field && c.kind == ColumnKind::Numeric);
                let list = |values: &[String]| -> Option<String> {
                    let items: Vec<String> = if numeric {
                        // A number matches a listed text only when it prints as that text.
                        values
                            .iter()
                            .filter_map(|v| {
                                let n = v.parse::<f64>().ok().filter(|n| n.is_finite())?;
                                (leadscore_data::format_number(n) == *v).then(|| d.number(n))
                            })
                            .collect()
                    } else {
                        values.iter().map(|v| d.text(v)).collect()
                    };
                    (!items.is_empty()).then(|| items.join(", "))
                };
                let value = if numeric {
                    x.clone()
                } else {
                    format!("LOWER({x})")
                };
                let matches = match condition {
                    FieldCondition::In { values } => {
                        list(values).map_or("FALSE".to_owned(), |l| format!("{value} IN ({l})"))
                    }
                    FieldCondition::NotIn { values } => list(values).map_or_else(
                        || format!("{x} IS NOT NULL"),
                        |l| format!("{x} IS NOT NULL AND {value} NOT IN ({l})"),
                    ),
                    FieldCondition::Range { at_least, below } => {
                        let mut parts = Vec::new();
                        if let Some(low) = at_least {
                            parts.push(format!("{x} >= {}", d.number(*low)));
                        }
                        if let Some(high) = below {
                            parts.push(format!("{x} < {}", d.number(*high)));
                        }
                        if parts.is_empty() {
                            format!("{x} IS NOT NULL")
                        } else {
                            parts.join(" AND ")
                        }
                    }
                    FieldCondition::Missing(true) => format!("{x} IS NULL"),
                    FieldCondition::Missing(false) => format!("{x} IS NOT NULL"),
                };
                format!(
                    "CASE WHEN {matches} THEN {points} ELSE {} END",
                    d.number(0.0)
                )
            }
            Condition::Event(event) => {
                let days = format!("(e.age / {})", d.number(SECONDS_PER_DAY as f64));
                let mut counted = format!("e.event_type = {}", d.text(&event.event));
                if let Some(within) = event.within_days {
                    counted.push_str(&format!(" AND {days} < {}", d.number(within)));
                }
                let weight = |age: &str| match event.half_life_days {
                    Some(half_life) => {
                        format!("POWER({}, {age} / {})", d.number(0.5), d.number(half_life))
                    }
                    None => d.number(1.0),
                };
                aggregates.push(format!(
                    "SUM(CASE WHEN {counted} THEN 1 ELSE 0 END) AS r{j}_n"
                ));
                if event.once {
                    aggregates.push(format!(
                        "MIN(CASE WHEN {counted} THEN {days} END) AS r{j}_newest"
                    ));
                } else {
                    aggregates.push(format!(
                        "SUM(CASE WHEN {counted} THEN {points} * {} ELSE {} END) AS r{j}_sum",
                        weight(&days),
                        d.number(0.0)
                    ));
                }
                let raw = if event.once {
                    format!("{points} * {}", weight(&format!("r.r{j}_newest")))
                } else {
                    format!("r.r{j}_sum")
                };
                let capped = match event.max {
                    Some(max) if max > 0.0 => format!("LEAST({raw}, {})", d.number(max)),
                    Some(max) => format!("GREATEST({raw}, {})", d.number(max)),
                    None => raw,
                };
                format!(
                    "CASE WHEN COALESCE(r.r{j}_n, 0) > 0 THEN {capped} ELSE {} END",
                    d.number(0.0)
                )
            }
        };
        hits.push((rule.group, round_tenth(d, &raw)));
    }
    PointsSql { aggregates, hits }
}

/// The total of some hits (summed in file order, then rounded as the engine does).
pub(crate) fn total_sql(d: Dialect, hits: &[(Group, String)], group: Option<Group>) -> String {
    let names: Vec<String> = hits
        .iter()
        .enumerate()
        .filter(|(_, (g, _))| group.is_none_or(|wanted| *g == wanted))
        .map(|(j, _)| format!("h{j}"))
        .collect();
    if names.is_empty() {
        return d.number(0.0);
    }
    round_tenth(d, &names.join(" + "))
}

/// Grade and tier of the subtotals `fit` and `engagement`.
pub(crate) fn grade_sql(d: Dialect, cuts: &GradeCuts, fit: &str, engagement: &str) -> String {
    let step = |cuts: &[f64; 3], value: &str, labels: [&str; 4]| {
        format!(
            "CASE WHEN {value} >= {} THEN {} WHEN {value} >= {} THEN {} WHEN {value} >= {} THEN {} ELSE {} END",
            d.number(cuts[0]),
            d.text(labels[0]),
            d.number(cuts[1]),
            d.text(labels[1]),
            d.number(cuts[2]),
            d.text(labels[2]),
            d.text(labels[3])
        )
    };
    let letter = step(&cuts.fit, fit, ["A", "B", "C", "D"]);
    match &cuts.engagement {
        Some(engagement_cuts) => format!(
            "{letter} || {}",
            step(engagement_cuts, engagement, ["1", "2", "3", "4"])
        ),
        None => letter,
    }
}

/// The tier of a grade: the first tier listing it, else `other`.
pub(crate) fn points_tier_sql(d: Dialect, rules: &PointsRules, grade: &str) -> String {
    let mut case = "CASE".to_owned();
    for tier in &rules.tiers {
        if tier.grades.is_empty() {
            continue;
        }
        let grades: Vec<String> = tier.grades.iter().map(|g| d.text(g)).collect();
        case.push_str(&format!(
            " WHEN {grade} IN ({}) THEN {}",
            grades.join(", "),
            d.text(&tier.name)
        ));
    }
    case.push_str(&format!(" ELSE {} END", d.text("other")));
    case
}
