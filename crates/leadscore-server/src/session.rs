//! Web console sessions: a person signs in once with an API key and keeps a session cookie
//! (`HttpOnly`, `SameSite=Strict`, `Secure` behind a TLS proxy). Each session has its own
//! anti-forgery token that every console form sends back, so another site cannot make a signed-in
//! browser reload a model. Sessions live in memory: a restart signs everyone out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, header};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Name of the session cookie.
pub const COOKIE: &str = "leadscore_session";
/// How long a session lasts after sign-in.
pub const LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);
/// Sessions kept at most; the oldest goes first.
const MAX_SESSIONS: usize = 10_000;

/// A signed-in browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The token its forms must send back.
    pub csrf: String,
    expires: Instant,
}

/// Open sessions, by the digest of their token (a leaked memory dump does not hold live
/// cookies).
#[derive(Debug, Clone, Default)]
pub struct Sessions(Arc<Mutex<HashMap<[u8; 32], Session>>>);

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    // ThreadRng is a CSPRNG seeded from the operating system.
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Sessions {
    /// Opens a session; returns its cookie token.
    pub fn open(&self) -> String {
        let token = random_token();
        let session = Session {
            csrf: random_token(),
            expires: Instant::now() + LIFETIME,
        };
        if let Ok(mut sessions) = self.0.lock() {
            let now = Instant::now();
            sessions.retain(|_, s| s.expires > now);
            if sessions.len() >= MAX_SESSIONS
                && let Some(oldest) = sessions
                    .iter()
                    .min_by_key(|(_, s)| s.expires)
                    .map(|(k, _)| *k)
            {
                sessions.remove(&oldest);
            }
            sessions.insert(digest(&token), session);
        }
        token
    }

    /// The live session a request's cookie names.
    pub fn find(&self, headers: &HeaderMap) -> Option<Session> {
        let token = cookie(headers, COOKIE)?;
        let sessions = self.0.lock().ok()?;
        sessions
            .get(&digest(token))
            .filter(|s| s.expires > Instant::now())
            .cloned()
    }

    /// Ends the session a request's cookie names.
    pub fn close(&self, headers: &HeaderMap) {
        if let Some(token) = cookie(headers, COOKIE)
            && let Ok(mut sessions) = self.0.lock()
        {
            sessions.remove(&digest(token));
        }
    }
}

/// The value of a cookie in the request's `Cookie` headers.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty())
}

/// Whether the request reached us through a proxy that terminated TLS.
fn over_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// The `Set-Cookie` value that starts a session.
pub fn session_cookie(token: &str, request: &HeaderMap) -> String {
    format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        LIFETIME.as_secs(),
        if over_tls(request) { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that ends a session.
pub fn expired_cookie(request: &HeaderMap) -> String {
    format!(
        "{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        if over_tls(request) { "; Secure" } else { "" }
    )
}

/// Whether a form's anti-forgery token is its session's (compared without an early exit).
pub fn csrf_matches(session: &Session, given: &str) -> bool {
    let (a, b) = (digest(&session.csrf), digest(given));
    a.iter().zip(&b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether a browser's `Origin` (sent with every form POST by current browsers) is this server,
/// as the request names it (`Host`) or as a reverse proxy in front of it says it was reached
/// (`X-Forwarded-Host`); a missing header is left to the anti-forgery token.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let Some((_, authority)) = origin.split_once("://") else {
        return false;
    };
    [header::HOST.as_str(), "x-forwarded-host"]
        .into_iter()
        .filter_map(|name| headers.get(name).and_then(|v| v.to_str().ok()))
        .flat_map(|hosts| hosts.split(','))
        .any(|host| authority.eq_ignore_ascii_case(host.trim()))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn with_cookie(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(value).expect("ascii"));
        headers
    }

    #[test]
    fn a_session_is_found_by_its_cookie_until_closed() {
        let sessions = Sessions::default();
        let token = sessions.open();
        assert_eq!(token.len(), 64);
        let headers = with_cookie(&format!("theme=dark; {COOKIE}={token}"));
        let session = sessions.find(&headers).expect("open session");
        assert_eq!(session.csrf.len(), 64);
        assert_ne!(session.csrf, token);
        assert!(csrf_matches(&session, &session.csrf));
        assert!(!csrf_matches(&session, "forged"));
        assert!(
            sessions
                .find(&with_cookie(&format!("{COOKIE}=x")))
                .is_none()
        );
        sessions.close(&headers);
        assert!(sessions.find(&headers).is_none());
    }

    #[test]
    fn cookies_are_strict_and_secure_behind_tls() {
        let plain = session_cookie("t", &HeaderMap::new());
        assert!(plain.contains("HttpOnly") && plain.contains("SameSite=Strict"));
        assert!(!plain.contains("Secure"));
        let mut proxied = HeaderMap::new();
        proxied.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert!(session_cookie("t", &proxied).ends_with("; Secure"));
    }

    #[test]
    fn another_origin_is_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(same_origin(&headers));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(same_origin(&headers));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.test"),
        );
        assert!(!same_origin(&headers));
        // Behind a reverse proxy that passes its upstream address as Host.
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://leads.example.com"),
        );
        assert!(!same_origin(&headers));
        headers.insert(
            "x-forwarded-host",
            HeaderValue::from_static("leads.example.com"),
        );
        assert!(same_origin(&headers));
    }
}
