//! Cell values and the one rule that turns text into them.
//!
//! The file loader and the HTTP server both read a cell through [`read_cell`] (missing-value
//! tokens, trimming, finite numbers) and compare category levels through [`TextRule`], so a value
//! means the same thing in a training file, a scored file, a request and a rules file.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// Numeric or categorical.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnKind {
    /// Real-valued; missing is NaN.
    Numeric,
    /// A set of text levels.
    Categorical,
}

impl std::fmt::Display for ColumnKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Numeric => "numeric",
            Self::Categorical => "categorical",
        })
    }
}

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

/// `text.trim()`: the same Unicode whitespace removed, without walking the text when its first
/// and last bytes are printable ASCII, as in almost every cell of a file, where trimming would
/// remove nothing.
pub fn trim_cell(text: &str) -> &str {
    let printable = |byte: Option<&u8>| byte.is_some_and(|&b| b > b' ' && b < 0x7F);
    let bytes = text.as_bytes();
    if printable(bytes.first()) && printable(bytes.last()) {
        text
    } else {
        text.trim()
    }
}

/// Placeholders that mean "no value" (compared after trimming, case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Vec<String>", into = "Vec<String>")]
pub struct MissingTokens {
    tokens: Vec<String>,
    /// Bit `n` set when a token is `n` bytes long (bit 63: 63 or more): a cell of any other
    /// length, as most ids, dates and numbers are, is answered without comparing text.
    lengths: u64,
}

/// The bit of [`MissingTokens::lengths`] for text of `len` bytes.
fn length_bit(len: usize) -> u64 {
    1 << len.min(63)
}

impl From<Vec<String>> for MissingTokens {
    /// The tokens of a saved list, as they were saved.
    fn from(tokens: Vec<String>) -> Self {
        let lengths = tokens.iter().fold(0, |bits, t| bits | length_bit(t.len()));
        Self { tokens, lengths }
    }
}

impl From<MissingTokens> for Vec<String> {
    fn from(missing: MissingTokens) -> Self {
        missing.tokens
    }
}

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
        Self::from(list)
    }

    /// Whether a (trimmed) cell is a missing-value placeholder. Inlined: every event asks it of
    /// four cells, and the length test answers most of them.
    #[inline]
    pub fn is_missing(&self, text: &str) -> bool {
        let text = trim_cell(text);
        self.lengths & length_bit(text.len()) != 0 && self.is_token(text)
    }

    /// Whether a trimmed cell is one of the tokens.
    fn is_token(&self, text: &str) -> bool {
        self.tokens
            .iter()
            .any(|token| token.eq_ignore_ascii_case(text))
    }

    /// The tokens, lower-cased.
    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }
}

/// Reads one cell of a column of known kind.
///
/// Missing-value tokens (after trimming, ignoring case) are [`Value::Missing`]; a numeric column
/// needs a finite number; a categorical column keeps the trimmed text. A column of unknown kind
/// (a field only a rules file reads) is a number when the text is one, text otherwise.
pub fn read_cell<'a>(
    text: &'a str,
    kind: Option<ColumnKind>,
    missing: &MissingTokens,
) -> Result<Value<'a>, NumberError> {
    if missing.is_missing(text) {
        return Ok(Value::Missing);
    }
    let text = trim_cell(text);
    match kind {
        Some(ColumnKind::Numeric) => parse_number(text).map(Value::Number),
        Some(ColumnKind::Categorical) => Ok(Value::Text(text)),
        None => Ok(parse_number(text).map_or(Value::Text(text), Value::Number)),
    }
}

/// How category levels are compared: always trimmed, and case-folded unless a model predates the
/// rule (so `"VP"`, `" vp"` and `"vp"` are one level for the model, the rules and the API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextRule {
    /// Compare levels ignoring case (Unicode lower case).
    pub fold_case: bool,
}

impl Default for TextRule {
    /// Trim and fold case.
    fn default() -> Self {
        Self { fold_case: true }
    }
}

impl TextRule {
    /// The rule of model files written before case folding existed: trim only.
    pub fn legacy() -> Self {
        Self { fold_case: false }
    }

    /// The canonical form of a level.
    pub fn normalize<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let text = trim_cell(text);
        let has_upper = || {
            if text.is_ascii() {
                text.bytes().any(|b| b.is_ascii_uppercase())
            } else {
                text.chars().any(char::is_uppercase)
            }
        };
        if self.fold_case && has_upper() {
            Cow::Owned(text.to_lowercase())
        } else {
            Cow::Borrowed(text)
        }
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

    #[test]
    fn missing_tokens_of_any_length_are_found_and_saved_as_a_list() {
        let long = "x".repeat(70);
        let tokens = MissingTokens::new([long.as_str(), "unknown"]);
        assert!(tokens.is_missing(&long.to_uppercase()));
        assert!(!tokens.is_missing(&"x".repeat(69)));
        assert!(!tokens.is_missing(&"x".repeat(71)));
        assert!(tokens.is_missing(" UNKNOWN\u{a0}"));
        let saved = serde_json::to_string(&tokens).expect("serialize");
        assert_eq!(saved, format!(r#"["","{long}","unknown"]"#));
        let read: MissingTokens = serde_json::from_str(&saved).expect("deserialize");
        assert_eq!(read, tokens);
        assert!(read.is_missing(&long));
    }

    #[test]
    fn one_rule_reads_cells_of_every_kind() {
        let tokens = MissingTokens::default();
        assert_eq!(
            read_cell(" 12 ", Some(ColumnKind::Numeric), &tokens),
            Ok(Value::Number(12.0))
        );
        assert_eq!(
            read_cell("N/A", Some(ColumnKind::Numeric), &tokens),
            Ok(Value::Missing)
        );
        assert_eq!(
            read_cell("many", Some(ColumnKind::Numeric), &tokens),
            Err(NumberError::NotANumber)
        );
        assert_eq!(
            read_cell(" VP ", Some(ColumnKind::Categorical), &tokens),
            Ok(Value::Text("VP"))
        );
        assert_eq!(read_cell("3", None, &tokens), Ok(Value::Number(3.0)));
        assert_eq!(read_cell("x", None, &tokens), Ok(Value::Text("x")));
    }

    #[test]
    fn cells_are_trimmed_as_str_trim_trims() {
        for text in [
            "",
            " ",
            "a",
            " a ",
            "\u{a0}x\u{a0}",
            "x\u{3000}",
            "\tx",
            "x\u{1}",
            "\u{85}",
            "é",
            " é",
            "\u{7f}",
            "~",
        ] {
            assert_eq!(trim_cell(text), text.trim(), "{text:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_cell_is_trimmed_as_str_trim_trims(text in "\\PC*|[ \t\u{a0}\u{3000}a-z]{0,6}") {
            proptest::prop_assert_eq!(trim_cell(&text), text.trim());
        }
    }

    #[test]
    fn levels_are_trimmed_and_case_folded() {
        assert_eq!(TextRule::default().normalize(" VP "), "vp");
        assert_eq!(TextRule::legacy().normalize(" VP "), "VP");
        assert!(matches!(
            TextRule::default().normalize("vp"),
            Cow::Borrowed(_)
        ));
    }
}
