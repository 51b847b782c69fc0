//! Errors of the server: start-up failures, and every error answer as RFC 9457 problem details.

use std::path::PathBuf;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// What can stop the server from starting or a reload from succeeding.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The model file is unusable.
    #[error(transparent)]
    Model(#[from] leadscore_artifact::ArtifactError),
    /// The rules file is unusable.
    #[error(transparent)]
    Rules(#[from] leadscore_points::PointsError),
    /// Neither a model nor rules were given.
    #[error(transparent)]
    NothingToScoreWith(#[from] leadscore_score::NothingToScoreWith),
    /// A model folder holds no model file.
    #[error("no model file (*.json) in {}", .0.display())]
    EmptyModelFolder(PathBuf),
    /// The score database cannot be opened or written.
    #[error(transparent)]
    Store(#[from] leadscore_store::StoreError),
    /// The experiments file is unusable.
    #[error(transparent)]
    Experiments(#[from] leadscore_compare::ExperimentsError),
    /// Experiments were configured without a database to keep them.
    #[error(
        "experiments file {}: experiments record assignments and outcomes; give a database (--db)",
        .0.display()
    )]
    ExperimentsNeedDatabase(PathBuf),
    /// The webhooks file is unusable.
    #[error(transparent)]
    Webhooks(#[from] crate::webhooks::WebhooksError),
    /// Webhooks were configured without a database for their outbox.
    #[error(
        "webhooks file {}: events wait in an outbox in the score database; give a database (--db)",
        .0.display()
    )]
    WebhooksNeedDatabase(PathBuf),
    /// A CORS origin that is not `*` or a scheme, host and optional port.
    #[error("--cors-origin `{0}`: expected `*` or an origin such as https://crm.example.com")]
    CorsOrigin(String),
    /// The demo history could not be seeded.
    #[error("--demo: {0}")]
    Demo(String),
    /// The server socket failed.
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
}

/// The body of every error answer (`application/problem+json`, RFC 9457):
/// `{"type": "about:blank", "title": "Unprocessable Entity", "status": 422,
///   "detail": "…", "field": "leads[3].events[0].timestamp"}`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// Always `about:blank`: the status code says what kind of problem it is.
    #[serde(rename = "type")]
    pub kind: String,
    /// The status code's reason phrase.
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// What is wrong and how to fix it.
    pub detail: String,
    /// The request field at fault, when there is one (`leads[3].events[0].timestamp`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// The media type of error answers.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    status: StatusCode,
    field: Option<String>,
    detail: String,
}

impl ApiError {
    /// An error about the request as a whole.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            field: None,
            detail: detail.into(),
        }
    }

    /// A 422 about one field of the request.
    pub fn field(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            field: Some(field.into()),
            detail: detail.into(),
        }
    }

    /// A failure of the server itself: the cause goes to the log, the client gets a bare 500 that
    /// reveals nothing (no paths, no SQL, no internals).
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error; the server log has the cause",
        )
    }

    /// The server cannot take the request now (it cannot record scores, or is busy); retry later.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, detail)
    }

    /// Prefixes the field path (`attributes.age` → `leads[2].attributes.age`).
    pub fn within(mut self, prefix: &str) -> Self {
        self.field = Some(match self.field {
            Some(field) => format!("{prefix}.{field}"),
            None => prefix.to_owned(),
        });
        self
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// What is wrong, as the client is told (never internals).
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Problem {
            kind: "about:blank".to_owned(),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail,
            field: self.field,
        };
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let mut response = (self.status, bytes).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if self.status == StatusCode::PAYLOAD_TOO_LARGE {
            // The rest of an oversized body is not read, so the connection cannot be reused; say
            // so, or a keep-alive client's next request fails.
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}
