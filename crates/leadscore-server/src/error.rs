//! Errors of the server: start-up failures and JSON error answers.

use std::path::PathBuf;

use axum::Json;
use axum::http::StatusCode;
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
    /// The scores database cannot be opened or written.
    #[error("scores database {}: {message}", path.display())]
    Database {
        /// The database file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The experiments file is unusable.
    #[error("experiments file {}: {message}", path.display())]
    Experiments {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The server socket failed.
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
}

/// A JSON error answer: `{"error": {"status": 422, "field": "attributes.age", "message": "…"}}`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// HTTP status code.
    pub status: u16,
    /// The request field at fault, when there is one (`leads[3].events[0].timestamp`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// An error answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    status: StatusCode,
    field: Option<String>,
    message: String,
}

impl ApiError {
    /// An error about the request as a whole.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            field: None,
            message: message.into(),
        }
    }

    /// A 422 about one field of the request.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// Prefixes the field path (`attributes.age` → `leads[2].attributes.age`).
    pub fn within(mut self, prefix: &str) -> Self {
        self.field = Some(match self.field {
            Some(field) => format!("{prefix}.{field}"),
            None => prefix.to_owned(),
        });
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        #[derive(Serialize)]
        struct Envelope {
            error: ErrorBody,
        }
        let body = Envelope {
            error: ErrorBody {
                status: self.status.as_u16(),
                field: self.field,
                message: self.message,
            },
        };
        (self.status, Json(body)).into_response()
    }
}
