//! What every console page shares: the layout (navigation, sign-in state, footer), notices,
//! the explanations of jargon, and numbers written for people (thousands separators,
//! percentages, points without `-0`) with their exact value kept in `data-value`.

use std::fmt::Write as _;

use leadscore_compare::chart::escape;

use crate::error::ApiError;

/// The page a console page is, for the navigation bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nav {
    Overview,
    Experiments,
    Lead,
    Rules,
    Monitor,
    Models,
    None,
}

/// Who is looking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Auth {
    /// The server has API keys.
    pub keys: bool,
    /// Pages need sign-in.
    pub keys_for_reads: bool,
    /// The session's anti-forgery token, when signed in.
    pub csrf: Option<String>,
}

/// Colors of arms, tiers and series, in order; all readable on white (contrast ≥ 3:1 for
/// graphics).
pub(crate) const PALETTE: [&str; 6] = [
    "#1f77b4", "#d4600b", "#2e7d32", "#8e44ad", "#b8860b", "#c62828",
];

/// `12345` → `12,345`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (k, c) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `0.1234` → `12.3%`.
pub(crate) fn percent(share: f64) -> String {
    format!("{:.1}%", 100.0 * share)
}

/// A difference of two rates in percentage points, with its sign: `+3.2 pts`, `−1.0 pts`.
pub(crate) fn points_difference(delta: f64) -> String {
    let value = 100.0 * delta;
    if value.abs() < 0.05 {
        "0.0 pts".to_owned()
    } else if value > 0.0 {
        format!("+{value:.1} pts")
    } else {
        format!("−{:.1} pts", -value)
    }
}

/// Points as people write them: whole numbers without decimals, others with one, never `-0`.
pub(crate) fn points(value: f64) -> String {
    let rounded = (value * 10.0).round() / 10.0;
    let rounded = if rounded == 0.0 { 0.0 } else { rounded };
    let text = if rounded.fract() == 0.0 {
        format!("{rounded:.0}")
    } else {
        format!("{rounded:.1}")
    };
    text.replacen('-', "−", 1)
}

/// Points with their sign (`+20`, `−5`).
pub(crate) fn signed_points(value: f64) -> String {
    let text = points(value);
    if value > 0.0 && text != "0" {
        format!("+{text}")
    } else {
        text
    }
}

/// A query-string value.
pub(crate) fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A number cell: the text for people, the exact value for tools.
pub(crate) fn number_cell(field: &str, value: impl std::fmt::Display, text: &str) -> String {
    format!(
        r#"<td class="num" data-field="{field}" data-value="{value}">{}</td>"#,
        escape(text)
    )
}

/// The layout around every page: a skip link, the navigation, the sign-in state, the footer.
pub(crate) fn page(title: &str, current: Nav, auth: &Auth, body: &str) -> String {
    let mut nav = String::new();
    for (item, href, label) in [
        (Nav::Overview, "/", "Overview"),
        (Nav::Experiments, "/experiments", "Experiments"),
        (Nav::Lead, "/leads", "Lead"),
        (Nav::Rules, "/rules", "Rules"),
        (Nav::Monitor, "/monitor", "Monitor"),
        (Nav::Models, "/models", "Models"),
    ] {
        let current = if item == current {
            r#" aria-current="page""#
        } else {
            ""
        };
        let _ = write!(nav, r#"<a href="{href}"{current}>{label}</a>"#);
    }
    let session = match (&auth.csrf, auth.keys) {
        (Some(csrf), _) => format!(
            r#"<form method="post" action="/logout" class="inline"><input type="hidden" name="csrf" value="{}"><span>Signed in</span> <button type="submit" class="link">Sign out</button></form>"#,
            escape(csrf)
        ),
        (None, true) => r#"<a href="/login">Sign in</a>"#.to_owned(),
        (None, false) => String::new(),
    };
    format!(
        r##"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{t} · leadscore</title><link rel="stylesheet" href="/console/console.css"></head>
<body><a class="skip" href="#main">Skip to content</a>
<header class="top"><a class="brand" href="/">leadscore</a><nav aria-label="Console">{nav}</nav><div class="session">{session}</div></header>
<main id="main" tabindex="-1"><h1>{t}</h1>
{body}
</main>
<footer>The same numbers are in the JSON API: <a href="/docs">API reference</a> · <a href="/openapi.json">OpenAPI</a> · <a href="/metrics">metrics</a></footer>
</body></html>
"##,
        t = escape(title)
    )
}

/// A notice box; `Err` is shown as a problem.
pub(crate) fn notice(message: Result<&str, &str>) -> String {
    match message {
        Ok(text) => format!(r#"<p class="notice ok" role="status">{}</p>"#, escape(text)),
        Err(text) => format!(
            r#"<p class="notice error" role="alert">{}</p>"#,
            escape(text)
        ),
    }
}

/// What a failed database read means to the person looking.
pub(crate) fn unavailable(error: &ApiError, what: &str) -> String {
    if error.status() == axum::http::StatusCode::CONFLICT {
        notice(Err(&format!(
            "This server records nothing, so there is no {what} to show: start it with --db."
        )))
    } else {
        notice(Err(&format!(
            "The {what} cannot be read now: {}",
            error.detail()
        )))
    }
}

pub(crate) const AUC_HINT: &str = "AUC: the chance that a randomly picked won lead scores above a randomly picked lost one (0.5 is a coin toss, 1 is perfect).";
pub(crate) const ECE_HINT: &str = "ECE (expected calibration error): the average gap between the predicted probability and the conversion actually seen; 0.01 means predictions are off by about one point.";
pub(crate) const MQL_HINT: &str = "MQL (marketing-qualified lead): a lead whose points reach the rules' threshold, the signal to hand it to sales.";

pub(crate) fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The sign-in page.
pub(crate) fn login(next: &str, error: Option<&str>, keys: bool) -> String {
    let mut out = error.map(|e| notice(Err(e))).unwrap_or_default();
    if !keys {
        out.push_str("<p>This server has no API keys: every page is open and nothing needs signing in. Start it with <code>--api-key</code> to protect reloads (and <code>--keys-for-reads</code> to protect every page).</p>");
        return out;
    }
    let _ = write!(
        out,
        r#"<form method="post" action="/login" class="login"><input type="hidden" name="next" value="{}"><label for="key">API key</label> <input id="key" name="key" type="password" autocomplete="current-password" required autofocus> <button type="submit">Sign in</button></form><p class="hint">The key is checked once; the browser then keeps a session cookie for 12 hours (sign out to end it sooner).</p>"#,
        escape(next)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_for_people() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(percent(0.1234), "12.3%");
        assert_eq!(points(-0.0), "0");
        assert_eq!(points(-0.04), "0");
        assert_eq!(points(20.0), "20");
        assert_eq!(points(-5.5), "−5.5");
        assert_eq!(signed_points(20.0), "+20");
        assert_eq!(signed_points(-5.0), "−5");
        assert_eq!(points_difference(0.032), "+3.2 pts");
        assert_eq!(points_difference(-0.01), "−1.0 pts");
        assert_eq!(url_encode("/leads?id=a b&c"), "/leads%3Fid%3Da%20b%26c");
    }

    #[test]
    fn the_layout_marks_the_current_page_and_escapes_titles() {
        let html = page(
            "<Lead>",
            Nav::Lead,
            &Auth {
                keys: true,
                keys_for_reads: false,
                csrf: None,
            },
            "",
        );
        assert!(html.contains(r#"<a href="/leads" aria-current="page">Lead</a>"#));
        assert!(html.contains("&lt;Lead&gt;") && !html.contains("<Lead>"));
        assert!(html.contains(r#"<a href="/login">Sign in</a>"#));
    }
}
