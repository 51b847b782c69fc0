//! The HTTP contract: the OpenAPI 3.1 document generated from the handler and body types, served
//! at `/openapi.json`.

// utoipa's derive expansion spells out paths the lint calls redundant.
#![allow(unused_qualifications)]

use axum::routing::get;
use axum::{Json, Router};
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
        ModelsResponse
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

/// The documentation routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/openapi.json", get(openapi))
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
