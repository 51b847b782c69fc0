//! Request extractors: a JSON body validated against its type with the failing field named, and
//! the scoring routes' query options.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use utoipa::IntoParams;

use crate::error::ApiError;
use crate::state::AppState;

/// A JSON body of type `T`. A body that is not JSON is a 400; one that does not fit `T` is a 422
/// naming the field (`leads[2].attributes.age`); an oversized body a 413.
#[derive(Debug, Clone)]
pub struct ValidJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ValidJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let declared = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            });
        if let Some(media) = declared
            && media != "application/json"
            && !media.ends_with("+json")
        {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("the body must be JSON (content-type: application/json), not {media}"),
            ));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                let status = rejection.status();
                let detail = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    "request body too large; split the batch or raise --max-body-bytes".to_owned()
                } else {
                    rejection.body_text()
                };
                ApiError::new(status, detail)
            })?;
        // Valid bodies take serde_json's direct path; only a failing one is read again with the
        // path tracking that names the field at fault (it allocates at every step).
        if let Ok(value) = serde_json::from_slice(&bytes) {
            return Ok(Self(value));
        }
        let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
            let path = error.path().to_string();
            let inner = error.into_inner();
            let status = if inner.is_syntax() || inner.is_eof() {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let message = inner.to_string();
            let error = ApiError::new(
                status,
                format!("invalid JSON body: {}", without_type_names(&message)),
            );
            // A missing field is reported at its parent object; name the field itself.
            let missing = message
                .strip_prefix("missing field `")
                .and_then(|rest| rest.split_once('`'))
                .map(|(field, _)| field);
            match (path.as_str(), missing) {
                ("." | "?", Some(field)) => error.within(field),
                ("." | "?", None) => error,
                (parent, Some(field)) => error.within(&format!("{parent}.{field}")),
                (path, None) => error.within(path),
            }
        })?;
        deserializer.end().map_err(|e| {
            ApiError::new(StatusCode::BAD_REQUEST, format!("invalid JSON body: {e}"))
        })?;
        Ok(Self(value))
    }
}

/// Serde names the Rust type it expected (`expected struct ScoreRequest`); a client knows it as
/// a JSON object.
fn without_type_names(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find("struct ") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "struct ".len()..];
        let name_end = after
            .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .unwrap_or(after.len());
        if name_end == 0 {
            out.push_str("struct ");
        } else {
            out.push_str("a JSON object");
        }
        rest = &after[name_end..];
    }
    out.push_str(rest);
    out
}

/// Query options of the scoring routes.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScoreOptions {
    /// Positive and negative reasons per lead (0–20; default: the server's `--reasons`). 0 skips
    /// the explanation, the costliest part of a boosted model's answer.
    #[param(minimum = 0, maximum = 20)]
    pub reasons: Option<usize>,
    /// `false` answers a what-if: the score is neither recorded nor assigned to experiments
    /// (default `true`).
    pub record: Option<bool>,
}

/// A query string of type `T`; one that does not fit is a 400 problem.
#[derive(Debug, Clone)]
pub struct ValidQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ValidQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(value) = Query::<T>::from_request_parts(parts, state)
            .await
            .map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!("invalid query string: {}", e.body_text()),
                )
            })?;
        Ok(Self(value))
    }
}

/// What a scoring request asks for: reasons each way, and whether the score is recorded.
#[derive(Debug, Clone, Copy)]
pub struct Scoring {
    /// Positive and negative reasons per lead.
    pub reasons: usize,
    /// Record the score and assign the lead to experiments.
    pub record: bool,
}

impl FromRequestParts<AppState> for Scoring {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ValidQuery(options) =
            ValidQuery::<ScoreOptions>::from_request_parts(parts, state).await?;
        let reasons = match options.reasons {
            Some(n) if n > 20 => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!("at most 20 reasons each way, got {n}"),
                )
                .within("reasons"));
            }
            Some(n) => n,
            None => state.config().reasons,
        };
        Ok(Self {
            reasons,
            record: options.record.unwrap_or(true),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::without_type_names;

    #[test]
    fn rust_type_names_become_json_words() {
        assert_eq!(
            without_type_names(
                "invalid type: null, expected struct ScoreRequest at line 1 column 4"
            ),
            "invalid type: null, expected a JSON object at line 1 column 4"
        );
        assert_eq!(without_type_names("a struct  here"), "a struct  here");
    }
}
