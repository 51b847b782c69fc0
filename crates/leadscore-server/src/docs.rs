//! The HTTP contract: the OpenAPI 3.1 document generated from the handler and body types, served
//! at `/openapi.json`, and the reference page rendered from it at `/docs`.

// utoipa's derive expansion spells out paths the lint calls redundant.
#![allow(unused_qualifications)]

use axum::response::Html;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Map, Value, json};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api::{
    BatchRequest, BatchResponse, EventInput, OutcomesRequest, ScoreRequest, ScoreResponse,
};
use crate::error::Problem;
use crate::routes::ModelsResponse;
use crate::state::AppState;

/// The OpenAPI document, generated from the handler and body types.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "leadscore",
        description = "Predictive and points lead scoring: a calibrated probability with exact reasons, points with their breakdown, live A/B experiments. Every error is an RFC 9457 problem (application/problem+json)."
    ),
    paths(
        crate::routes::score,
        crate::routes::score_batch,
        crate::routes::outcomes,
        crate::routes::experiment,
        crate::routes::lead,
        crate::routes::activity,
        crate::routes::monitor,
        crate::routes::models,
        crate::routes::reload,
        crate::routes::healthz,
        crate::routes::readyz,
        crate::routes::metrics
    ),
    components(schemas(
        ScoreRequest,
        EventInput,
        BatchRequest,
        ScoreResponse,
        BatchResponse,
        OutcomesRequest,
        leadscore_store::OutcomeRecord,
        leadscore_store::OutcomeImport,
        Problem,
        ModelsResponse,
        crate::routes::Activity
    )),
    modifiers(&BearerKey)
)]
pub struct ApiDoc;

/// Declares the `api_key` scheme the write routes (and, with `--keys-for-reads`, every route) use.
struct BearerKey;

impl Modify for BearerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API key given to the server with --api-key or LEADSCORE_API_KEYS.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The documentation routes: the OpenAPI document and the reference page rendered from it.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/docs", get(reference))
}

async fn reference() -> Html<String> {
    Html(crate::docs_page::render(&document()))
}

async fn openapi() -> Json<Value> {
    Json(document())
}

/// The OpenAPI document as served: [`ApiDoc`] with every `allOf` of objects merged into one
/// object. The Rust types flatten the model's and the points' fields into one answer; said as
/// `allOf` with an optional (`oneOf` null) member, client generators drop those fields, so the
/// document says what the wire carries: one object, the optional member's fields not required.
pub fn document() -> Value {
    let mut document = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    let Some(schemas) = document
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return document;
    };
    // Merged schemas can be members of others: merge until nothing changes.
    loop {
        let snapshot = schemas.clone();
        let mut changed = false;
        for schema in schemas.values_mut() {
            if let Some(merged) = merged_all_of(schema, &snapshot) {
                *schema = merged;
                changed = true;
            }
        }
        if !changed {
            return document;
        }
    }
}

/// An `allOf` schema as one object, or `None` when it is not one or a member is not yet an object.
fn merged_all_of(schema: &Value, schemas: &Map<String, Value>) -> Option<Value> {
    let members = schema.get("allOf")?.as_array()?;
    let mut properties = Map::new();
    let mut required: Vec<Value> = Vec::new();
    for member in members {
        let (object, optional) = member_object(member, schemas)?;
        properties.extend(object.get("properties")?.as_object()?.clone());
        if !optional && let Some(names) = object.get("required").and_then(Value::as_array) {
            required.extend(names.iter().cloned());
        }
    }
    let mut merged = json!({"type": "object", "properties": properties, "required": required});
    if let Some(description) = schema.get("description") {
        merged["description"] = description.clone();
    }
    Some(merged)
}

/// A member of an `allOf` as an object schema, and whether it may be absent (`oneOf` with null).
fn member_object<'a>(
    member: &'a Value,
    schemas: &'a Map<String, Value>,
) -> Option<(&'a Value, bool)> {
    if let Some(reference) = member.get("$ref").and_then(Value::as_str) {
        let target = schemas.get(reference.strip_prefix("#/components/schemas/")?)?;
        return member_object(target, schemas);
    }
    if let Some(choices) = member.get("oneOf").and_then(Value::as_array) {
        let [first, second] = choices.as_slice() else {
            return None;
        };
        let present = if first.get("type") == Some(&json!("null")) {
            second
        } else if second.get("type") == Some(&json!("null")) {
            first
        } else {
            return None;
        };
        return member_object(present, schemas).map(|(object, _)| (object, true));
    }
    (member.get("type") == Some(&json!("object"))).then_some((member, false))
}
