//! Request and answer bodies, and how a request becomes the same lead input training used.

use std::collections::BTreeMap;

use leadscore_compare::live::Decision;
use leadscore_data::{NumberError, Value, read_cell, time};
use leadscore_features::{LeadEvent, LeadInput};
use leadscore_score::LeadScore;
use leadscore_store::OutcomeRecord;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::state::{Engine, RequestLimits};

impl RequestLimits {
    /// An id: not empty, not longer than the limit.
    fn id(&self, field: impl FieldName + Copy, id: &str) -> Result<(), ApiError> {
        if id.trim().is_empty() {
            return Err(ApiError::field(field.name(), "must not be empty"));
        }
        bounded(field, id.len(), self.max_id_bytes, "bytes")
    }

    fn text(&self, field: impl FieldName, text: &str) -> Result<(), ApiError> {
        bounded(field, text.len(), self.max_text_bytes, "bytes")
    }
}

/// A field's name in an error: a name, or a closure writing one, called only when there is an
/// error (a request has a dozen fields to check, most of them named with an index).
trait FieldName {
    fn name(self) -> String;
}

impl FieldName for &str {
    fn name(self) -> String {
        self.to_owned()
    }
}

impl<F: FnOnce() -> String> FieldName for F {
    fn name(self) -> String {
        self()
    }
}

/// Checks a size against its limit.
fn bounded(field: impl FieldName, size: usize, limit: usize, unit: &str) -> Result<(), ApiError> {
    if size > limit {
        return Err(ApiError::field(
            field.name(),
            format!("{size} {unit}; the limit is {limit}"),
        ));
    }
    Ok(())
}

/// Longest time text read; anything longer is no date.
const MAX_TIME_BYTES: usize = 64;

/// A client's name for something, as echoed in a warning: at most 64 characters.
fn shown(name: &str) -> String {
    const SHOWN: usize = 64;
    match name.char_indices().nth(SHOWN) {
        Some((end, _)) => format!("{}…", &name[..end]),
        None => name.to_owned(),
    }
}

/// One lead to score.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ScoreRequest {
    /// Lead id, stored with the score.
    pub lead_id: String,
    /// Attribute values by column name: text, numbers, booleans or null (missing). Columns the
    /// model was trained on but absent here are missing, as in training.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// Behaviour events; only those before `as_of` count.
    #[serde(default)]
    pub events: Vec<EventInput>,
    /// Scoring time (`2025-07-01`, `2025-07-01T12:00:00Z`); default now.
    #[serde(default)]
    pub as_of: Option<String>,
    /// Anything else is ignored with a warning.
    #[serde(flatten)]
    #[schema(ignore)]
    pub unknown: BTreeMap<String, serde_json::Value>,
}

/// One behaviour event.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct EventInput {
    /// Event type, e.g. `pricing_view`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// When it happened (`2025-06-30T09:15:00Z` or `2025-06-30`).
    pub timestamp: String,
    /// Optional amount (seconds on page, …).
    #[serde(default)]
    pub value: Option<f64>,
    /// Anything else is ignored with a warning.
    #[serde(flatten)]
    #[schema(ignore)]
    pub unknown: BTreeMap<String, serde_json::Value>,
}

/// Many leads in one call.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// The leads, scored in order.
    pub leads: Vec<ScoreRequest>,
}

/// The answer for one lead.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ScoreResponse {
    /// Probability, percentile, tier, reasons and model (with a model); points (with rules).
    #[serde(flatten)]
    pub score: LeadScore,
    /// The time the lead was scored at.
    pub as_of: String,
    /// The lead's arm and routing decision in each live experiment.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub experiments: Vec<Decision>,
    /// Ignored input: unknown attributes or fields.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Outcomes to record.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomesRequest {
    /// Won or lost leads; recording the same outcome again changes nothing.
    pub outcomes: Vec<OutcomeRecord>,
}

impl OutcomesRequest {
    /// Checks every outcome: a lead id within the limit, a close date that reads as a date, and
    /// an amount (if any) above 0 on a won deal.
    pub fn validate(&self, limits: &RequestLimits) -> Result<(), ApiError> {
        for (index, outcome) in self.outcomes.iter().enumerate() {
            limits.id(|| format!("outcomes[{index}].lead_id"), &outcome.lead_id)?;
            if let Some(closed) = &outcome.closed_at {
                parse_time(closed, || format!("outcomes[{index}].closed_at"))?;
            }
            if let Some(problem) = outcome.problem() {
                return Err(ApiError::field(
                    format!("outcomes[{index}].amount"),
                    problem,
                ));
            }
        }
        Ok(())
    }
}

/// The answers of a batch, in request order.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct BatchResponse {
    /// One answer per lead.
    pub results: Vec<ScoreResponse>,
}

/// A request turned into model input: owned texts the [`LeadInput`] borrows from.
pub struct PreparedLead<'r> {
    /// Features input.
    pub input: LeadInput<'r>,
    /// Ignored input.
    pub warnings: Vec<String>,
}

fn parse_time(text: &str, field: impl FieldName + Copy) -> Result<i64, ApiError> {
    bounded(field, text.len(), MAX_TIME_BYTES, "bytes")?;
    time::parse_timestamp(text).ok_or_else(|| {
        ApiError::field(
            field.name(),
            format!(
                "cannot read `{text}` as a date or time; use 2025-07-01 or 2025-07-01T12:00:00Z"
            ),
        )
    })
}

/// Converts one attribute value the way the leads loader reads a cell.
fn attribute<'r>(
    engine: &Engine,
    name: &str,
    value: &'r serde_json::Value,
) -> Result<Value<'r>, ApiError> {
    let field = || format!("attributes.{name}");
    let kind = engine.columns.get(name).copied();
    Ok(match value {
        serde_json::Value::Null => Value::Missing,
        serde_json::Value::Bool(true) => Value::Text("true"),
        serde_json::Value::Bool(false) => Value::Text("false"),
        serde_json::Value::Number(number) => match number.as_f64() {
            Some(n) if n.is_finite() => Value::Number(n),
            _ => {
                return Err(ApiError::field(
                    field(),
                    format!("{number} is not a finite number"),
                ));
            }
        },
        serde_json::Value::String(text) => match read_cell(text, kind, &engine.missing) {
            Ok(value) => value,
            Err(NumberError::NotFinite) => {
                return Err(ApiError::field(
                    field(),
                    format!("`{text}` is not a finite number"),
                ));
            }
            Err(NumberError::NotANumber) => {
                return Err(ApiError::field(
                    field(),
                    format!("the model reads `{name}` as a number, got `{text}`"),
                ));
            }
        },
        serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
            return Err(ApiError::field(
                field(),
                "expected text, a number, a boolean or null",
            ));
        }
    })
}

/// Validates a request and builds the lead input; `now` is the default scoring time.
pub fn prepare<'r>(
    engine: &Engine,
    limits: &RequestLimits,
    request: &'r ScoreRequest,
    now: i64,
) -> Result<PreparedLead<'r>, ApiError> {
    limits.id("lead_id", &request.lead_id)?;
    bounded(
        "attributes",
        request.attributes.len(),
        limits.max_attributes,
        "attributes",
    )?;
    bounded("events", request.events.len(), limits.max_events, "events")?;
    let mut warnings: Vec<String> = request
        .unknown
        .keys()
        .map(|key| format!("unknown field `{}` ignored", shown(key)))
        .collect();
    let mut input = LeadInput {
        as_of: match &request.as_of {
            Some(text) => parse_time(text, "as_of")?,
            None => now,
        },
        ..LeadInput::default()
    };
    for (name, value) in &request.attributes {
        if !engine.columns.contains_key(name) && !engine.rule_fields.contains(name) {
            warnings.push(format!(
                "unknown attribute `{}` ignored: neither the model nor the rules use it",
                shown(name)
            ));
            continue;
        }
        if let serde_json::Value::String(text) = value {
            limits.text(|| format!("attributes.{name}"), text)?;
        }
        input
            .attributes
            .insert(name.as_str(), attribute(engine, name, value)?);
    }
    for (index, event) in request.events.iter().enumerate() {
        let field = |name: &str| format!("events[{index}].{name}");
        if event.event_type.trim().is_empty() {
            return Err(ApiError::field(field("type"), "must not be empty"));
        }
        limits.text(|| field("type"), &event.event_type)?;
        warnings.extend(
            event
                .unknown
                .keys()
                .map(|key| format!("unknown field `{}` of events[{index}] ignored", shown(key))),
        );
        if event.value.is_some_and(|v| !v.is_finite()) {
            return Err(ApiError::field(field("value"), "must be a finite number"));
        }
        input.events.push(LeadEvent {
            timestamp: parse_time(&event.timestamp, || field("timestamp"))?,
            event_type: event.event_type.as_str(),
            value: event.value,
        });
    }
    Ok(PreparedLead { input, warnings })
}
