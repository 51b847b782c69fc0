//! The feature row in SQL: explicit columns encoded as the model encodes them (codes, then the
//! level statistics of high-cardinality columns), and the point-in-time behaviour aggregates — the
//! same definitions the Rust pipeline uses.

use leadscore_data::ColumnKind;
use leadscore_data::time::SECONDS_PER_DAY;
use leadscore_features::{FittedEventFeatures, FittedFeaturePipeline};

use crate::dialect::Dialect;

/// The behaviour aggregates (`expression AS name`, over the `lead_events` alias `e`) and each
/// feature's expression (over the leads alias `l` and the behaviour alias `b`).
pub(crate) struct FeatureSql {
    pub aggregates: Vec<String>,
    pub features: Vec<String>,
}

/// Per-lead aggregates of one event type's block (or of every event when `event_type` is None).
fn block_aggregates(
    d: Dialect,
    events: &FittedEventFeatures,
    prefix: &str,
    event_type: Option<&str>,
    has_value: bool,
) -> Vec<String> {
    let spec = events.spec();
    let when = |extra: &str| match event_type {
        Some(t) => format!("e.event_type = {}{extra}", d.text(t)),
        None if extra.is_empty() => "TRUE".to_owned(),
        None => extra.trim_start_matches(" AND ").to_owned(),
    };
    let mut out = vec![format!(
        "SUM(CASE WHEN {} THEN 1 ELSE 0 END) AS {prefix}_n",
        when("")
    )];
    for (k, &window) in spec.windows_days.iter().enumerate() {
        let seconds = f64::from(window) * SECONDS_PER_DAY as f64;
        out.push(format!(
            "SUM(CASE WHEN {} THEN 1 ELSE 0 END) AS {prefix}_w{k}",
            when(&format!(" AND e.age < {}", d.number(seconds)))
        ));
    }
    out.push(format!(
        "MAX(CASE WHEN {} THEN e.ts END) AS {prefix}_last",
        when("")
    ));
    let rate = 1.0 / (spec.half_life_days * SECONDS_PER_DAY as f64);
    out.push(format!(
        "SUM(CASE WHEN {} THEN POWER({}, -(e.age * {})) ELSE {} END) AS {prefix}_d",
        when(""),
        d.number(2.0),
        d.number(rate),
        d.number(0.0)
    ));
    if has_value {
        out.push(format!(
            "SUM(CASE WHEN {} THEN e.value END) AS {prefix}_v",
            when("")
        ));
    }
    out
}

/// Feature expressions of one block, in the pipeline's order.
fn block_features(
    d: Dialect,
    events: &FittedEventFeatures,
    prefix: &str,
    has_value: bool,
) -> Vec<String> {
    let double = |e: String| d.to_double(&e);
    let mut out = vec![double(format!("COALESCE(b.{prefix}_n, 0)"))];
    for k in 0..events.spec().windows_days.len() {
        out.push(double(format!("COALESCE(b.{prefix}_w{k}, 0)")));
    }
    out.push(format!(
        "{} / {}",
        double(format!("l.as_of - b.{prefix}_last")),
        d.number(SECONDS_PER_DAY as f64)
    ));
    out.push(format!("COALESCE(b.{prefix}_d, {})", d.number(0.0)));
    if has_value {
        out.push(format!("COALESCE(b.{prefix}_v, {})", d.number(0.0)));
    }
    out
}

/// The SQL of a fitted pipeline. `input_column` gives the `leads` column holding an explicit
/// column (already normalised: missing is NULL, text trimmed and case-folded by the model's rule).
pub(crate) fn feature_sql(
    d: Dialect,
    pipeline: &FittedFeaturePipeline,
    input_column: &dyn Fn(&str) -> String,
) -> FeatureSql {
    let mut features: Vec<String> = pipeline
        .columns
        .iter()
        .map(|encoder| {
            let x = format!("l.{}", input_column(&encoder.name));
            match encoder.kind {
                ColumnKind::Numeric => x,
                ColumnKind::Categorical => {
                    let mut case = format!("CASE WHEN {x} IS NULL THEN NULL");
                    for (code, level) in encoder.levels.iter().enumerate() {
                        case.push_str(&format!(
                            " WHEN {x} = {} THEN {}",
                            d.text(level),
                            d.number(code as f64)
                        ));
                    }
                    case.push_str(&format!(
                        " ELSE {} END",
                        d.number(encoder.levels.len() as f64)
                    ));
                    case
                }
            }
        })
        .collect();
    for encoder in pipeline.rated_columns() {
        let Some(rates) = &encoder.rates else {
            continue;
        };
        let x = format!("l.{}", input_column(&encoder.name));
        let mut case = format!("CASE WHEN {x} IS NULL THEN NULL");
        for (level, rate) in &rates.levels {
            case.push_str(&format!(
                " WHEN {x} = {} THEN {}",
                d.text(level),
                d.number(*rate)
            ));
        }
        case.push_str(&format!(" ELSE {} END", d.number(rates.unseen())));
        features.push(case);
    }
    let mut aggregates = Vec::new();
    if let Some(events) = &pipeline.events {
        let spec = events.spec();
        for (i, (event_type, &has_value)) in
            spec.event_types.iter().zip(&spec.has_value).enumerate()
        {
            let prefix = format!("t{i}");
            aggregates.extend(block_aggregates(
                d,
                events,
                &prefix,
                Some(event_type),
                has_value,
            ));
            features.extend(block_features(d, events, &prefix, has_value));
        }
        aggregates.extend(block_aggregates(d, events, "ta", None, false));
        features.extend(block_features(d, events, "ta", false));
    }
    FeatureSql {
        aggregates,
        features,
    }
}
