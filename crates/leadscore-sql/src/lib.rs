//! Scoring where the data lives: a model file (and a rules file) turned into one SQL query for
//! PostgreSQL, DuckDB or Spark SQL.
//!
//! The query reads the leads table and the events table where they are and returns one row per
//! lead, named as `leadscore score` names its columns. Everything is in it — the point-in-time
//! event aggregates (windows, days since last, half-life decay, duplicates counted once, events
//! strictly before the as-of time), missing-value tokens, trimming and case folding, category
//! codes with `(other)`, imputation, scaling, the trees with their missing-value routing and
//! category sets, calibration, percentile, tier, the logistic model's exact reasons, and the
//! points engine — each printed from the fitted structures the Rust scorer uses, with numbers
//! printed so that they read back exactly. Trees are summed in groups so no engine meets a
//! 300-term expression. [`ddl`] gives the tables the query expects.

mod columns;
mod dialect;
mod error;
mod features;
mod model;
mod points;

use leadscore_artifact::ModelArtifact;
use leadscore_data::{ColumnKind, TextRule};
use leadscore_features::{AsOfPolicy, FeatureSource};
use leadscore_points::{Condition, Group, PointsRules};

pub use dialect::Dialect;
pub use error::SqlError;

use crate::columns::Schema;

/// When open leads are scored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScoringTime {
    /// The engine's current time when the query runs.
    Now,
    /// A fixed time, in seconds since the epoch.
    At(i64),
    /// A timestamp column of the leads table.
    Column(String),
}

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportOptions {
    /// Target engine.
    pub dialect: Dialect,
    /// Leads table (`schema.table` allowed).
    pub leads_table: String,
    /// Events table, when the model or rules read events.
    pub events_table: Option<String>,
    /// When open leads are scored.
    pub scoring_time: ScoringTime,
    /// `NAME=WAREHOUSE_COLUMN` mappings of columns named differently in the warehouse.
    pub columns: Vec<String>,
    /// Positive and negative reasons of the logistic model (0: none).
    pub reasons: usize,
    /// Score every lead at the scoring time, reading no outcome column.
    pub open_leads_only: bool,
}

impl Default for ExportOptions {
    /// PostgreSQL, table `leads` and no events table, scored now, 3 reasons.
    fn default() -> Self {
        Self {
            dialect: Dialect::Postgres,
            leads_table: "leads".to_owned(),
            events_table: None,
            scoring_time: ScoringTime::Now,
            columns: Vec::new(),
            reasons: 3,
            open_leads_only: false,
        }
    }
}

fn reads_events(
    model: Option<&ModelArtifact>,
    rules: Option<&PointsRules>,
) -> Option<&'static str> {
    if model.is_some_and(|m| m.features().events.is_some()) {
        return Some("the model");
    }
    rules
        .is_some_and(|r| {
            r.rules
                .iter()
                .any(|rule| matches!(rule.condition, Condition::Event(_)))
        })
        .then_some("the rules file")
}

/// The leads table's schema and the events table, when the model or rules read events.
fn tables<'a>(
    model: Option<&ModelArtifact>,
    rules: Option<&PointsRules>,
    options: &'a ExportOptions,
) -> Result<(Schema, Option<&'a str>), SqlError> {
    if model.is_none() && rules.is_none() {
        return Err(SqlError::NothingToExport);
    }
    let schema = Schema::new(model, rules, &options.columns, options.open_leads_only)?;
    let events_table = match reads_events(model, rules) {
        Some(reader) => Some(
            options
                .events_table
                .as_deref()
                .ok_or(SqlError::NeedsEvents(reader))?,
        ),
        None => None,
    };
    Ok((schema, events_table))
}

/// The `CREATE TABLE` statements of the tables the query reads: numeric columns as double
/// precision, text as text, dates and event times as timestamps.
pub fn ddl(
    model: Option<&ModelArtifact>,
    rules: Option<&PointsRules>,
    options: &ExportOptions,
) -> Result<String, SqlError> {
    let (schema, events_table) = tables(model, rules, options)?;
    Ok(schema.ddl(options.dialect, &options.leads_table, events_table))
}

/// The scoring query.
pub fn export(
    model: Option<&ModelArtifact>,
    rules: Option<&PointsRules>,
    options: &ExportOptions,
) -> Result<String, SqlError> {
    let d = options.dialect;
    let (schema, events_table) = tables(model, rules, options)?;
    let column_index = |name: &str| {
        schema
            .columns
            .iter()
            .position(|c| c.name == name)
            .map_or_else(|| "NULL".to_owned(), |i| format!("c{i}"))
    };
    let w = |name: &str| d.ident(schema.warehouse(name));
    let text = |expression: String| d.to_text(&expression);
    let tokens: Vec<String> = schema.missing.tokens().iter().map(|t| d.text(t)).collect();
    let tokens = tokens.join(", ");

    let mut ctes: Vec<String> = Vec::new();
    // 1. The leads as read: id, outcome, dates in epoch seconds, normalised columns.
    let mut input = vec![format!("TRIM({}) AS lead_id", text(w(&schema.id)))];
    input.push(match &schema.target {
        Some(target) => {
            let o = format!("LOWER(TRIM({}))", text(w(target)));
            let list = |values: &[String]| {
                values
                    .iter()
                    .map(|v| d.text(v))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let mut case = format!("CASE WHEN {o} IS NULL OR {o} IN ({tokens}) THEN 'open'");
            if !schema.positive.is_empty() {
                case.push_str(&format!(
                    " WHEN {o} IN ({}) THEN 'won'",
                    list(&schema.positive)
                ));
            }
            if !schema.negative.is_empty() {
                case.push_str(&format!(
                    " WHEN {o} IN ({}) THEN 'lost'",
                    list(&schema.negative)
                ));
            }
            format!("{case} ELSE 'open' END AS outcome")
        }
        None => "'open' AS outcome".to_owned(),
    });
    for (name, date) in [
        ("created_at", &schema.created_at),
        ("closed_at", &schema.closed_at),
    ] {
        input.push(match date {
            Some(column) => format!("{} AS {name}", d.epoch(&w(column))),
            None => format!("CAST(NULL AS BIGINT) AS {name}"),
        });
    }
    input.push(format!(
        "{} AS scoring_time",
        match &options.scoring_time {
            ScoringTime::Now => d.now_epoch(),
            ScoringTime::At(seconds) => format!("CAST({seconds} AS BIGINT)"),
            ScoringTime::Column(column) => d.epoch(&d.ident(column)),
        }
    ));
    for (i, column) in schema.columns.iter().enumerate() {
        let x = w(&column.name);
        input.push(match column.kind {
            ColumnKind::Numeric => format!("{} AS c{i}", d.to_double(&x)),
            ColumnKind::Categorical => {
                let t = text(x);
                let normal = if schema.text_rule == TextRule::legacy() {
                    format!("TRIM({t})")
                } else {
                    format!("LOWER(TRIM({t}))")
                };
                format!(
                    "CASE WHEN {t} IS NULL OR LOWER(TRIM({t})) IN ({tokens}) THEN NULL ELSE {normal} END AS c{i}"
                )
            }
        });
    }
    ctes.push(format!(
        "input AS (\n  SELECT\n    {}\n  FROM {}\n)",
        input.join(",\n    "),
        d.table(&options.leads_table)
    ));
    // 2. Each lead's as-of time, by the model's policy.
    let decided =
        "CASE WHEN outcome = 'open' THEN scoring_time ELSE COALESCE(closed_at, scoring_time) END";
    let as_of = match model.map(|m| m.features().as_of) {
        Some(AsOfPolicy::DaysAfterCreation(days)) => format!(
            "CASE WHEN created_at IS NULL THEN {decided} ELSE LEAST({decided}, created_at + CAST({} AS BIGINT)) END",
            i64::from(days) * leadscore_data::time::SECONDS_PER_DAY
        ),
        _ => decided.to_owned(),
    };
    ctes.push(format!(
        "leads {} (\n  SELECT input.*, {as_of} AS as_of FROM input\n)",
        d.materialized()
    ));
    // 3. Events: exact duplicates counted once, joined to their lead, strictly before as-of.
    if let Some(events_table) = events_table {
        ctes.push(format!(
            "events AS (\n  SELECT lead_id, event_type, ts, MIN(value) AS value FROM (\n    SELECT TRIM({}) AS lead_id, TRIM({}) AS event_type, {} AS ts, {} AS value\n    FROM {}\n  ) raw_events\n  GROUP BY lead_id, event_type, ts\n)",
            text(w("lead_id")),
            text(w("event_type")),
            d.epoch(&w("timestamp")),
            d.to_double(&w("value")),
            d.table(events_table)
        ));
        ctes.push(format!(
            "lead_events AS (\n  SELECT l.lead_id, e.event_type, e.ts, e.value, {} AS age\n  FROM leads l JOIN events e ON e.lead_id = l.lead_id AND e.ts < l.as_of\n)",
            d.to_double("l.as_of - e.ts")
        ));
    }

    let mut select = vec!["l.lead_id AS lead_id".to_owned()];
    let mut joins = Vec::new();
    if let Some(model) = model {
        model_ctes(d, model, &column_index, options, &mut ctes);
        select.extend(["probability", "percentile", "tier"].map(|c| format!("s.{c} AS {c}")));
        if model.model().kind() == leadscore_models::ModelKind::Logistic && options.reasons > 0 {
            select.push("s.top_positive AS top_positive".to_owned());
            select.push("s.top_negative AS top_negative".to_owned());
        }
        select.push(format!("{} AS model_version", d.text(model.version())));
        if model.value_model().is_some() {
            select.push("s.value_if_won AS value_if_won".to_owned());
            select.push("s.expected_value AS expected_value".to_owned());
        }
        joins.push("JOIN scored s ON s.lead_id = l.lead_id".to_owned());
    }
    if let Some(rules) = rules {
        points_ctes(d, rules, &schema, &column_index, &mut ctes);
        select.extend(
            [
                ("points", "points"),
                ("fit_points", "fit_points"),
                ("engagement_points", "engagement_points"),
                ("grade", "grade"),
                ("points_tier", "points_tier"),
                ("mql", "mql"),
            ]
            .map(|(c, name)| format!("p.{c} AS {name}")),
        );
        joins.push("JOIN points p ON p.lead_id = l.lead_id".to_owned());
    }
    let mut header = format!(
        "-- leadscore {} scoring query for {} (generated by `leadscore export sql`; do not edit by hand)\n-- {}\n",
        env!("CARGO_PKG_VERSION"),
        d,
        match model {
            Some(m) => format!(
                "model `{}` version {} ({})",
                m.name(),
                m.version(),
                m.model().kind()
            ),
            None => "points rules only".to_owned(),
        }
    );
    if d == Dialect::Postgres {
        header.push_str(
            "-- PostgreSQL: run `SET jit = off;` first — compiling this query's long expressions takes\n-- longer than running it.\n",
        );
    }
    Ok(format!(
        "{header}WITH\n{}\nSELECT\n  {}\nFROM leads l\n{}\n",
        ctes.join(",\n"),
        select.join(",\n  "),
        joins.join("\n")
    ))
}

fn model_ctes(
    d: Dialect,
    model: &ModelArtifact,
    column_index: &dyn Fn(&str) -> String,
    options: &ExportOptions,
    ctes: &mut Vec<String>,
) {
    let pipeline = model.features();
    let feature_sql = features::feature_sql(d, pipeline, column_index);
    if !feature_sql.aggregates.is_empty() {
        ctes.push(format!(
            "behaviour AS (\n  SELECT e.lead_id AS lead_id,\n    {}\n  FROM lead_events e\n  GROUP BY e.lead_id\n)",
            feature_sql.aggregates.join(",\n    ")
        ));
    }
    let features: Vec<String> = feature_sql
        .features
        .iter()
        .enumerate()
        .map(|(j, e)| format!("{e} AS f{j}"))
        .collect();
    let behaviour_join = if feature_sql.aggregates.is_empty() {
        ""
    } else {
        "\n  LEFT JOIN behaviour b ON b.lead_id = l.lead_id"
    };
    ctes.push(format!(
        "features {} (\n  SELECT l.lead_id AS lead_id,\n    {}\n  FROM leads l{behaviour_join}\n)",
        d.materialized(),
        features.join(",\n    ")
    ));
    let model_sql = model::model_sql(d, model);
    let mut parts = model_sql.parts.clone();
    if let Some(value) = model.value_model() {
        parts.push(format!("{} AS value_log", model::value_log_sql(d, value)));
    }
    ctes.push(format!(
        "raw_model AS (\n  SELECT features.*,\n    {}\n  FROM features\n)",
        parts.join(",\n    ")
    ));
    let calibrated = model::calibration_sql(d, model.calibration(), "raw_logit");
    let probability = model::sigmoid_sql(d, "logit");
    ctes.push(format!(
        "calibrated {} (\n  SELECT with_logit.*, {probability} AS probability FROM (\n    SELECT with_raw.*, {calibrated} AS logit FROM (SELECT raw_model.*, {} AS raw_logit FROM raw_model) with_raw\n  ) with_logit\n)",
        d.materialized(),
        model_sql.raw
    ));
    let mut scored = vec![
        "lead_id".to_owned(),
        "probability".to_owned(),
        format!(
            "{} AS percentile",
            model::percentile_sql(d, model.percentiles(), "probability")
        ),
        format!("{} AS tier", model::tier_sql(d, model, "probability")),
    ];
    if let Some(value) = model.value_model() {
        let if_won = format!("EXP(value_log) * {}", d.number(value.smearing));
        scored.push(format!("{if_won} AS value_if_won"));
        scored.push(format!("probability * {if_won} AS expected_value"));
    }
    let reasons = model_sql
        .contributions
        .as_ref()
        .filter(|_| options.reasons > 0);
    if let Some((bias, names)) = reasons {
        reason_ctes(d, model, *bias, names, options.reasons, ctes);
        scored.push("top_positive".to_owned());
        scored.push("top_negative".to_owned());
        ctes.push(format!(
            "scored AS (\n  SELECT {}\n  FROM calibrated c\n  LEFT JOIN reasons r USING (lead_id)\n)",
            scored
                .iter()
                .map(|s| match s.as_str() {
                    "top_positive" | "top_negative" => format!("COALESCE(r.{s}, '') AS {s}"),
                    "lead_id" => "c.lead_id AS lead_id".to_owned(),
                    other => other.to_owned(),
                })
                .collect::<Vec<_>>()
                .join(",\n    ")
        ));
    } else {
        ctes.push(format!(
            "scored AS (\n  SELECT {}\n  FROM calibrated c\n)",
            scored.join(",\n    ")
        ));
    }
}

/// The logistic model's reasons: per source the contribution to the calibrated log-odds (raw
/// contributions scaled by the calibration's secant slope, as the Rust scorer scales them) and
/// its value in words; the top `top` each way joined as `source=value (+0.80); …`.
fn reason_ctes(
    d: Dialect,
    model: &ModelArtifact,
    bias: f64,
    contribution_columns: &[String],
    top: usize,
    ctes: &mut Vec<String>,
) {
    let pipeline = model.features();
    let layout = pipeline.source_layout();
    let base = model::calibration_sql(d, model.calibration(), &d.number(bias));
    let scale = match model.calibration() {
        leadscore_models::Calibration::Platt { slope, .. } => d.number(*slope),
        _ => format!(
            "CASE WHEN ABS(raw_logit - {b}) > {eps} THEN (logit - ({base})) / (raw_logit - {b}) ELSE (({up}) - ({down})) / {h2} END",
            b = d.number(bias),
            eps = d.number(1e-12),
            up = model::calibration_sql(d, model.calibration(), &d.number(bias + 1e-6)),
            down = model::calibration_sql(d, model.calibration(), &d.number(bias - 1e-6)),
            h2 = d.number(2e-6)
        ),
    };
    let mut rows = Vec::new();
    let columns = &pipeline.columns;
    for (k, source) in layout.sources.iter().enumerate() {
        let members: Vec<&String> = layout
            .of_feature
            .iter()
            .enumerate()
            .filter(|&(_, &s)| s == k)
            .map(|(j, _)| &contribution_columns[j])
            .collect();
        let contribution = format!(
            "({scale}) * ({})",
            members
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>()
                .join(" + ")
        );
        let value = match source {
            FeatureSource::Attribute(name) => {
                let j = columns.iter().position(|c| &c.name == name).unwrap_or(0);
                let x = format!("f{j}");
                match columns[j].kind {
                    ColumnKind::Categorical => {
                        let mut case = format!("CASE WHEN {x} IS NULL THEN 'missing'");
                        for (code, level) in columns[j].levels.iter().enumerate() {
                            case.push_str(&format!(
                                " WHEN {x} = {} THEN {}",
                                d.number(code as f64),
                                d.text(level)
                            ));
                        }
                        case.push_str(&format!(
                            " ELSE {} END",
                            d.text(leadscore_features::OTHER_LEVEL)
                        ));
                        case
                    }
                    ColumnKind::Numeric => format!(
                        "CASE WHEN {x} IS NULL THEN 'missing' WHEN {x} = FLOOR({x}) AND ABS({x}) < {} THEN {} ELSE {} END",
                        d.number(1e15),
                        d.to_text(&format!("CAST({x} AS BIGINT)")),
                        d.to_text(&x)
                    ),
                }
            }
            FeatureSource::Behaviour(event_type) => behaviour_words(d, pipeline, event_type),
        };
        rows.push(format!(
            "  SELECT lead_id, {k} AS k, {} AS source, {contribution} AS contribution, {value} AS value FROM calibrated",
            d.text(source.name())
        ));
    }
    ctes.push(format!(
        "source_reasons AS (\n{}\n)",
        rows.join("\n  UNION ALL\n")
    ));
    ctes.push(
        "ranked_reasons AS (\n  SELECT source_reasons.*,\n    ROW_NUMBER() OVER (PARTITION BY lead_id ORDER BY contribution DESC, k) AS up,\n    ROW_NUMBER() OVER (PARTITION BY lead_id ORDER BY contribution ASC, k) AS down\n  FROM source_reasons\n)"
            .to_owned(),
    );
    let words = |sign: &str| {
        format!(
            "source || '=' || value || ' (' || {sign} || {} || ')'",
            d.two_decimals("ABS(contribution)")
        )
    };
    let eps = d.number(1e-9);
    let positive = d.ordered_join(
        &format!(
            "CASE WHEN contribution > {eps} AND up <= {top} THEN {} END",
            words("'+'")
        ),
        "up",
    );
    let negative = d.ordered_join(
        &format!(
            "CASE WHEN contribution < -{eps} AND down <= {top} THEN {} END",
            words("'-'")
        ),
        "down",
    );
    ctes.push(format!(
        "reasons AS (\n  SELECT lead_id,\n    {positive} AS top_positive,\n    {negative} AS top_negative\n  FROM ranked_reasons\n  GROUP BY lead_id\n)"
    ));
}

/// A lead's events of one type in words, as the features crate describes them.
fn behaviour_words(
    d: Dialect,
    pipeline: &leadscore_features::FittedFeaturePipeline,
    event_type: &str,
) -> String {
    let Some(events) = &pipeline.events else {
        return "''".to_owned();
    };
    let names = events.feature_names();
    let offset = pipeline.explicit_width();
    let feature = |suffix: &str| {
        names
            .iter()
            .position(|n| n == &format!("{event_type}.{suffix}"))
            .map(|i| format!("f{}", offset + i))
    };
    let windows = &events.spec().windows_days;
    let integer = |x: &str| d.to_text(&format!("CAST({x} AS BIGINT)"));
    let (Some(count), Some(days)) = (feature("count"), feature("days_since_last")) else {
        return "''".to_owned();
    };
    let mut text = format!(
        "{} || ' event' || CASE WHEN {count} = 1 THEN '' ELSE 's' END",
        integer(&count)
    );
    if !windows.is_empty() {
        let w = windows.len() / 2;
        if let Some(recent) = feature(&format!("count_{}d", windows[w])) {
            text.push_str(&format!(
                " || ', ' || {} || ' in the last {} days'",
                integer(&recent),
                windows[w]
            ));
        }
    }
    text.push_str(&format!(
        " || CASE WHEN {days} IS NULL THEN '' ELSE ', last ' || {} || ' days ago' END",
        integer(&d.round_half_even(&days))
    ));
    format!("CASE WHEN {count} = 0 THEN 'none' ELSE {text} END")
}

fn points_ctes(
    d: Dialect,
    rules: &PointsRules,
    schema: &Schema,
    column_index: &dyn Fn(&str) -> String,
    ctes: &mut Vec<String>,
) {
    let sql = points::points_sql(d, rules, schema, column_index);
    let rule_join = if sql.aggregates.is_empty() {
        ""
    } else {
        ctes.push(format!(
            "rule_events AS (\n  SELECT e.lead_id AS lead_id,\n    {}\n  FROM lead_events e\n  GROUP BY e.lead_id\n)",
            sql.aggregates.join(",\n    ")
        ));
        "\n  LEFT JOIN rule_events r ON r.lead_id = l.lead_id"
    };
    let hits: Vec<String> = sql
        .hits
        .iter()
        .enumerate()
        .map(|(j, (_, h))| format!("{h} AS h{j}"))
        .collect();
    ctes.push(format!(
        "rule_hits AS (\n  SELECT l.lead_id AS lead_id,\n    {}\n  FROM leads l{rule_join}\n)",
        if hits.is_empty() {
            "0 AS none".to_owned()
        } else {
            hits.join(",\n    ")
        }
    ));
    let total = points::total_sql(d, &sql.hits, None);
    let fit = points::total_sql(d, &sql.hits, Some(Group::Fit));
    let engagement = points::total_sql(d, &sql.hits, Some(Group::Engagement));
    ctes.push(format!(
        "subtotals AS (\n  SELECT lead_id, {total} AS points, {fit} AS fit_points, {engagement} AS engagement_points FROM rule_hits\n)"
    ));
    let grade = rules.grades.as_ref().map_or_else(
        || format!("CAST(NULL AS {})", d.text_type()),
        |cuts| points::grade_sql(d, cuts, "fit_points", "engagement_points"),
    );
    let tier = if rules.grades.is_some() {
        points::points_tier_sql(d, rules, "grade")
    } else {
        format!("CAST(NULL AS {})", d.text_type())
    };
    ctes.push(format!(
        "points AS (\n  SELECT lead_id, points, fit_points, engagement_points, grade, {tier} AS points_tier, points >= {} AS mql\n  FROM (SELECT subtotals.*, {grade} AS grade FROM subtotals) graded\n)",
        d.number(rules.mql_threshold)
    ));
}
