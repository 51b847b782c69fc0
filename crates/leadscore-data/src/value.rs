//! Cell values and the rules that turn text into them.
//!
//! The loader and the HTTP server both read cells through [`MissingTokens`] and
//! [`parse_number`], so a value means the same thing in a training file and in a request.

use serde::{Deserialize, Serialize};

/// One cell of a lead, as the feature code sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// Empty or a missing-value placeholder.
    Missing,
    /// A finite number.
    Number(f64),
    /// Text (a category level).
    Text(&'a str),
}

/// Why a cell could not become a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberError {
    /// The text is not a number.
    NotANumber,
    /// The text is a number but not finite (`inf`, `-infinity`, `NaN` not listed as missing).
    NotFinite,
}

/// Parses a trimmed cell as a finite `f64`.
///
/// Accepts what Rust's float parser accepts (`12`, `-3.5`, `1e6`), rejects infinities and NaN so
/// that they can be reported instead of silently poisoning a model.
pub fn parse_number(text: &str) -> Result<f64, NumberError> {
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() => Ok(value),
        Ok(_) => Err(NumberError::NotFinite),
        Err(_) => Err(NumberError::NotANumber),
    }
}

/// Placeholders that mean "no value" (compared after trimming, case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MissingTokens(Vec<String>);

impl Default for MissingTokens {
    /// Empty cells plus the placeholders CRMs and spreadsheets write: `NA`, `N/A`, `NaN`, `null`,
    /// `None`, `-`, `?` and `Select` (an untouched drop-down).
    fn default() -> Self {
        Self::new(["", "NA", "N/A", "NaN", "null", "None", "-", "?", "Select"])
    }
}

impl MissingTokens {
    /// Tokens from a list; the empty string is always included.
    pub fn new<S: AsRef<str>>(tokens: impl IntoIterator<Item = S>) -> Self {
        let mut list: Vec<String> = vec![String::new()];
        for token in tokens {
            let token = token.as_ref().trim().to_lowercase();
            if !list.contains(&token) {
                list.push(token);
            }
        }
        Self(list)
    }

    /// Whether a (trimmed) cell is a missing-value placeholder.
    pub fn is_missing(&self, text: &str) -> bool {
        let text = text.trim();
        self.0.iter().any(|token| token.eq_ignore_ascii_case(text))
    }

    /// The tokens, lower-cased.
    pub fn tokens(&self) -> &[String] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_must_be_finite() {
        assert_eq!(parse_number("12.5"), Ok(12.5));
        assert_eq!(parse_number("-1e3"), Ok(-1000.0));
        assert_eq!(parse_number("inf"), Err(NumberError::NotFinite));
        assert_eq!(parse_number("NaN"), Err(NumberError::NotFinite));
        assert_eq!(parse_number("12,5"), Err(NumberError::NotANumber));
    }

    #[test]
    fn missing_tokens_ignore_case_and_padding() {
        let tokens = MissingTokens::default();
        assert!(tokens.is_missing(""));
        assert!(tokens.is_missing(" select "));
        assert!(tokens.is_missing("n/a"));
        assert!(!tokens.is_missing("unknown"));
        let custom = MissingTokens::new(["unknown"]);
        assert!(custom.is_missing("Unknown"));
        assert!(custom.is_missing(""));
    }
}
