//! API keys, checked by a layer in front of the routes that need them.
//!
//! `Authorization: Bearer <key>` with the scheme in any case (RFC 7235); keys are compared in
//! constant time (as SHA-256 digests, so neither content nor length leaks through timing) and
//! never logged.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::session::Sessions;

/// The accepted API keys, kept as digests, whether read routes need one too, and the console's
/// sessions (a signed-in browser may read as its key would).
#[derive(Debug, Clone)]
pub struct ApiKeys {
    digests: Arc<Vec<[u8; 32]>>,
    for_reads: bool,
    sessions: Sessions,
}

impl ApiKeys {
    /// The keys a server accepts; `for_reads` protects the read routes too; a console session
    /// stands for a key on read routes only (write routes need the key itself).
    pub fn new(keys: &[String], for_reads: bool, sessions: Sessions) -> Self {
        Self {
            digests: Arc::new(keys.iter().map(|k| digest(k)).collect()),
            for_reads,
            sessions,
        }
    }

    /// Whether keys are configured at all.
    pub fn any(&self) -> bool {
        !self.digests.is_empty()
    }

    /// Whether reads need a key or a session.
    pub fn for_reads(&self) -> bool {
        self.for_reads
    }

    /// The sessions of the console.
    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// Whether `key` is one of the accepted keys (compared in constant time).
    pub fn accepts(&self, key: &str) -> bool {
        let given = digest(key.trim());
        self.digests
            .iter()
            .fold(false, |found, k| found | digest_eq(k, &given))
    }
}

/// Layer of the write routes: a key is always required.
pub async fn require_write_key(
    State(keys): State<ApiKeys>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    check(&keys, request.headers())?;
    Ok(next.run(request).await)
}

/// Layer of the read routes: a key is required with `--keys-for-reads`.
pub async fn require_read_key(
    State(keys): State<ApiKeys>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if keys.for_reads && keys.sessions.find(request.headers()).is_none() {
        check(&keys, request.headers())?;
    }
    Ok(next.run(request).await)
}

fn check(keys: &ApiKeys, headers: &HeaderMap) -> Result<(), ApiError> {
    if !keys.any() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "this route needs an API key and the server has none; start it with --api-key",
        ));
    }
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token);
    match given {
        Some(key) if keys.accepts(key) => Ok(()),
        Some(_) => Err(ApiError::new(StatusCode::UNAUTHORIZED, "unknown API key")),
        None => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing `Authorization: Bearer <api key>` header",
        )),
    }
}

/// The token of a `Bearer` credential; the scheme is case-insensitive.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(char::is_whitespace)?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The digest a key is stored and compared as.
fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Compares two digests without an early exit.
fn digest_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_is_case_insensitive_and_the_token_trimmed() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("BEARER\tabc"), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("abc"), None);
    }

    #[test]
    fn digests_compare_equal_only_for_the_same_key() {
        assert!(digest_eq(&digest("k1"), &digest("k1")));
        assert!(!digest_eq(&digest("k1"), &digest("k2")));
    }
}
