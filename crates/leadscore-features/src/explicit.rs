//! Encoders of explicit attributes: numbers pass through, categories become level codes.
//!
//! A categorical column keeps the levels seen at least `min_level_count` times in the training
//! rows (at most `max_levels`, most frequent first); rarer levels and levels never seen in
//! training share one "other" code, so a new job title at scoring time is handled, not an error.
//! A column that pools many levels that way also gets level statistics ([`LevelRates`]: each
//! level's smoothed won log-odds), a second feature that tells the rare levels apart.

use std::sync::OnceLock;

use leadscore_data::{
    ColumnKind, ColumnValues, LeadsTable, MISSING_CODE, Outcome, TextRule, Value,
};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::error::FeatureError;
use crate::rates::{LevelRates, MIN_POOLED_LEVELS};

/// Name of the pooled level of rare and unseen categories.
pub const OTHER_LEVEL: &str = "(other)";

/// Settings of the explicit-attribute encoders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplicitParams {
    min_level_count: usize,
    max_levels: usize,
}

impl Default for ExplicitParams {
    /// Levels need 10 training rows to stand alone; at most 50 levels per column.
    fn default() -> Self {
        Self {
            min_level_count: 10,
            max_levels: 50,
        }
    }
}

impl ExplicitParams {
    /// Default settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Training rows a level needs to keep its own code.
    pub fn min_level_count(mut self, count: usize) -> Self {
        self.min_level_count = count;
        self
    }

    /// Most levels kept per column.
    pub fn max_levels(mut self, max: usize) -> Self {
        self.max_levels = max;
        self
    }

    /// Validates the settings.
    pub fn check(self) -> Result<ValidExplicitParams, FeatureError> {
        if self.max_levels == 0 || self.max_levels > 250 {
            return Err(FeatureError::InvalidParam {
                name: "max_levels",
                value: self.max_levels.to_string(),
                reason: "between 1 and 250",
            });
        }
        Ok(ValidExplicitParams(self))
    }
}

/// Checked explicit-attribute settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidExplicitParams(ExplicitParams);

impl ValidExplicitParams {
    /// Learns one encoder per feature column from the given rows.
    pub fn fit(&self, leads: &LeadsTable, rows: &[usize]) -> Vec<ColumnEncoder> {
        leads
            .columns
            .iter()
            .map(|column| match &column.values {
                ColumnValues::Numeric(_) => {
                    ColumnEncoder::new(&column.name, ColumnKind::Numeric, Vec::new())
                }
                ColumnValues::Categorical { codes, levels } => {
                    let mut counts = vec![0usize; levels.len()];
                    for &row in rows {
                        let code = codes[row];
                        if code != MISSING_CODE {
                            counts[code as usize] += 1;
                        }
                    }
                    let mut kept: Vec<usize> = (0..levels.len())
                        .filter(|&l| counts[l] >= self.0.min_level_count.max(1))
                        .collect();
                    kept.sort_by(|&a, &b| {
                        counts[b]
                            .cmp(&counts[a])
                            .then_with(|| levels[a].cmp(&levels[b]))
                    });
                    kept.truncate(self.0.max_levels);
                    let seen = counts.iter().filter(|&&n| n > 0).count();
                    let encoder = ColumnEncoder::new(
                        &column.name,
                        ColumnKind::Categorical,
                        kept.iter().map(|&l| levels[l].clone()).collect(),
                    );
                    if seen - kept.len() < MIN_POOLED_LEVELS {
                        return encoder;
                    }
                    let groups: Vec<Option<u32>> = rows
                        .iter()
                        .map(|&row| Some(codes[row]).filter(|&c| c != MISSING_CODE))
                        .collect();
                    let won: Vec<bool> = rows
                        .iter()
                        .map(|&row| leads.outcomes[row] == Outcome::Won)
                        .collect();
                    encoder.with_rates(LevelRates::fit(levels, &groups, &won))
                }
            })
            .collect()
    }
}

/// How one explicit column becomes one feature value; stored in the model artifact.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ColumnEncoder {
    /// Column name.
    pub name: String,
    /// Numeric or categorical.
    pub kind: ColumnKind,
    /// Kept levels (categorical); code `levels.len()` is [`OTHER_LEVEL`].
    pub levels: Vec<String>,
    /// Level statistics, the column's second feature, when it pools many levels (absent in
    /// files written before they existed: such models have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rates: Option<LevelRates>,
    #[serde(skip)]
    lookup: OnceLock<LevelLookup>,
}

/// Equality is over the saved fields; the lookup cache is derived from them.
impl PartialEq for ColumnEncoder {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && self.kind == other.kind
            && self.levels == other.levels
            && self.rates == other.rates
    }
}

impl ColumnEncoder {
    /// An encoder for a column.
    pub fn new(name: &str, kind: ColumnKind, levels: Vec<String>) -> Self {
        Self {
            name: name.to_owned(),
            kind,
            levels,
            rates: None,
            lookup: OnceLock::new(),
        }
    }

    /// The encoder with level statistics as its second feature.
    pub fn with_rates(mut self, rates: LevelRates) -> Self {
        self.rates = Some(rates);
        self
    }

    /// The level statistic of one cell (NaN when missing or when the column has none), read
    /// under `text_rule` as [`encode`](Self::encode) reads levels.
    pub fn rate(&self, value: Value<'_>, text_rule: TextRule) -> f64 {
        let Some(rates) = &self.rates else {
            return f64::NAN;
        };
        match value {
            Value::Missing => f64::NAN,
            Value::Text(text) => rates.log_odds(&text_rule.normalize(text)),
            Value::Number(number) => rates.log_odds(&leadscore_data::format_number(number)),
        }
    }

    /// Number of codes of a categorical column (kept levels plus "other").
    pub fn n_codes(&self) -> usize {
        self.levels.len() + 1
    }

    /// Display name of a feature value: the number, or the level of a code.
    pub fn describe_value(&self, value: f64) -> String {
        match self.kind {
            _ if value.is_nan() => "missing".to_owned(),
            ColumnKind::Numeric => leadscore_data::format_number(value),
            ColumnKind::Categorical => self
                .levels
                .get(value as usize)
                .cloned()
                .unwrap_or_else(|| OTHER_LEVEL.to_owned()),
        }
    }

    /// Encodes one cell: a number, a level code, or NaN when missing. Levels are compared under
    /// `text_rule`, the rule the levels were learned with.
    ///
    /// Text in a numeric column is an error naming the field; a number in a categorical column is
    /// read as its text (`12` → level `"12"`).
    pub fn encode(&self, value: Value<'_>, text_rule: TextRule) -> Result<f64, FeatureError> {
        match (self.kind, value) {
            (_, Value::Missing) => Ok(f64::NAN),
            (ColumnKind::Numeric, Value::Number(number)) => Ok(number),
            (ColumnKind::Numeric, Value::Text(text)) => Err(FeatureError::InvalidField {
                field: self.name.clone(),
                message: format!("expected a number, got `{text}`"),
            }),
            (ColumnKind::Categorical, Value::Text(text)) => {
                Ok(f64::from(self.lookup().code(&text_rule.normalize(text))))
            }
            (ColumnKind::Categorical, Value::Number(number)) => Ok(f64::from(
                self.lookup().code(&leadscore_data::format_number(number)),
            )),
        }
    }

    /// Checks a loaded encoder: a numeric column has no levels, a categorical one distinct levels.
    pub fn validate(&self) -> Result<(), String> {
        match self.kind {
            ColumnKind::Numeric if !self.levels.is_empty() => Err(format!(
                "numeric column `{}` lists category levels",
                self.name
            )),
            ColumnKind::Categorical => {
                let mut sorted: Vec<&String> = self.levels.iter().collect();
                sorted.sort();
                match sorted.windows(2).find(|w| w[0] == w[1]) {
                    Some(pair) => Err(format!(
                        "column `{}` lists level `{}` twice",
                        self.name, pair[0]
                    )),
                    None => Ok(()),
                }
            }
            ColumnKind::Numeric => Ok(()),
        }?;
        match (&self.rates, self.kind) {
            (Some(_), ColumnKind::Numeric) => Err(format!(
                "numeric column `{}` has level statistics",
                self.name
            )),
            (Some(rates), ColumnKind::Categorical) => rates.validate(&self.name),
            (None, _) => Ok(()),
        }
    }

    fn lookup(&self) -> &LevelLookup {
        self.lookup.get_or_init(|| LevelLookup {
            codes: self
                .levels
                .iter()
                .enumerate()
                .map(|(i, l)| (l.clone(), i as u32))
                .collect(),
            other: self.levels.len() as u32,
        })
    }
}

/// Level text → code, with the "other" code for anything else.
#[derive(Debug, Clone, Default, PartialEq)]
struct LevelLookup {
    codes: FxHashMap<String, u32>,
    other: u32,
}

impl LevelLookup {
    fn code(&self, level: &str) -> u32 {
        self.codes.get(level).copied().unwrap_or(self.other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoder() -> ColumnEncoder {
        ColumnEncoder::new(
            "job_level",
            ColumnKind::Categorical,
            vec!["vp".to_owned(), "manager".to_owned()],
        )
    }

    #[test]
    fn unseen_levels_share_the_other_code_and_missing_is_nan() {
        let e = encoder();
        let rule = TextRule::default();
        assert_eq!(e.encode(Value::Text("manager"), rule).ok(), Some(1.0));
        assert_eq!(e.encode(Value::Text(" Manager "), rule).ok(), Some(1.0));
        assert_eq!(e.encode(Value::Number(3.0), rule).ok(), Some(2.0));
        assert_eq!(e.encode(Value::Text("astronaut"), rule).ok(), Some(2.0));
        assert!(e.encode(Value::Missing, rule).is_ok_and(f64::is_nan));
        assert_eq!(e.describe_value(2.0), OTHER_LEVEL);
        // Models trained before case folding compare levels exactly, as they were trained.
        assert_eq!(
            e.encode(Value::Text("Manager"), TextRule::legacy()).ok(),
            Some(2.0)
        );
    }

    #[test]
    fn text_in_a_numeric_column_names_the_field() {
        let e = ColumnEncoder::new("employees", ColumnKind::Numeric, Vec::new());
        let error = e
            .encode(Value::Text("many"), TextRule::default())
            .expect_err("text");
        assert_eq!(
            error.to_string(),
            "field `employees`: expected a number, got `many`"
        );
    }

    #[test]
    fn rejects_bad_parameters() {
        assert!(ExplicitParams::new().max_levels(0).check().is_err());
        assert!(ExplicitParams::new().max_levels(251).check().is_err());
    }
}
