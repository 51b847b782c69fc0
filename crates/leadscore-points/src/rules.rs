//! The rules file: TOML a marketer reads and edits, checked into typed rules.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use leadscore_data::ColumnKind;
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::error::PointsError;

/// The two subtotals of a points score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    /// Who the lead is: job level, industry, company size, country.
    Fit,
    /// What the lead did: page views, clicks, webinars, demo requests.
    Engagement,
}

/// A value in `equals`, `in` or `not_in`: text or a number, matched as text, ignoring case.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Number(f64),
    Bool(bool),
}

impl Scalar {
    fn text(&self) -> String {
        match self {
            Self::Text(t) => t.trim().to_owned(),
            Self::Number(n) => leadscore_data::format_number(*n),
            Self::Bool(b) => b.to_string(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    name: String,
    group: Group,
    points: f64,
    field: Option<String>,
    equals: Option<Scalar>,
    #[serde(rename = "in")]
    any_of: Option<Vec<Scalar>>,
    not_in: Option<Vec<Scalar>>,
    at_least: Option<f64>,
    below: Option<f64>,
    missing: Option<bool>,
    event: Option<String>,
    max: Option<f64>,
    once: Option<bool>,
    within_days: Option<f64>,
    half_life_days: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TierSpec {
    name: String,
    grades: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    mql_threshold: f64,
    grades: Option<GradeCuts>,
    #[serde(default, rename = "tier")]
    tiers: Vec<Spanned<TierSpec>>,
    #[serde(default, rename = "rule")]
    rules: Vec<Spanned<RuleSpec>>,
}

/// Minimum fit points for grades A, B, C and, when the rules grade engagement, minimum
/// engagement points for 1, 2, 3.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GradeCuts {
    /// Fit points needed for A, B and C (descending); below the last is D.
    pub fit: [f64; 3],
    /// Engagement points needed for 1, 2 and 3 (descending); below the last is 4. Without it
    /// grades are a letter only (rules without engagement rules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engagement: Option<[f64; 3]>,
}

/// A condition on one explicit field. Missing values match only `missing = true` rules.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum FieldCondition {
    /// The value is one of these (one value for `equals`), ignoring case.
    In {
        /// Accepted values, lower-cased.
        values: Vec<String>,
    },
    /// The value is present and none of these.
    NotIn {
        /// Rejected values, lower-cased.
        values: Vec<String>,
    },
    /// A number in `[at_least, below)`; either bound may be open.
    Range {
        /// Inclusive lower bound.
        at_least: Option<f64>,
        /// Exclusive upper bound.
        below: Option<f64>,
    },
    /// The value is missing (`true`) or present (`false`).
    Missing(bool),
}

/// How an event rule turns a lead's events into points.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventRule {
    /// Event type.
    pub event: String,
    /// Count at most one event (the most recent).
    pub once: bool,
    /// Cap on the rule's points (same sign as `points`).
    pub max: Option<f64>,
    /// Only events this many days before the as-of time count.
    pub within_days: Option<f64>,
    /// Each event's points halve every this many days of age.
    pub half_life_days: Option<f64>,
}

/// What a rule looks at.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// An explicit attribute of the lead.
    Field {
        /// Column name.
        field: String,
        /// When it matches.
        condition: FieldCondition,
    },
    /// The lead's behaviour events.
    Event(EventRule),
}

impl std::fmt::Display for Condition {
    /// The condition in words, for tables people read: `job_level is c-level, vp or director`,
    /// `annual_revenue from 10000000 to below 100000000`, `each pricing_view event, at most 30
    /// points, within 90 days, halving every 30 days`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |values: &[String]| match values {
            [] => String::new(),
            [one] => one.clone(),
            [first @ .., last] => format!("{} or {last}", first.join(", ")),
        };
        match self {
            Self::Field { field, condition } => match condition {
                FieldCondition::In { values } => write!(f, "{field} is {}", list(values)),
                FieldCondition::NotIn { values } => {
                    write!(f, "{field} is present and not {}", list(values))
                }
                FieldCondition::Range { at_least, below } => match (at_least, below) {
                    (Some(low), Some(high)) => write!(
                        f,
                        "{field} from {} to below {}",
                        leadscore_data::format_number(*low),
                        leadscore_data::format_number(*high)
                    ),
                    (Some(low), None) => write!(
                        f,
                        "{field} at least {}",
                        leadscore_data::format_number(*low)
                    ),
                    (None, Some(high)) => {
                        write!(f, "{field} below {}", leadscore_data::format_number(*high))
                    }
                    (None, None) => write!(f, "{field} is any number"),
                },
                FieldCondition::Missing(true) => write!(f, "{field} is missing"),
                FieldCondition::Missing(false) => write!(f, "{field} is present"),
            },
            Self::Event(rule) => {
                if rule.once {
                    write!(f, "the latest {} event", rule.event)?;
                } else {
                    write!(f, "each {} event", rule.event)?;
                }
                if let Some(max) = rule.max {
                    write!(f, ", at most {} points", leadscore_data::format_number(max))?;
                }
                if let Some(days) = rule.within_days {
                    write!(f, ", within {} days", leadscore_data::format_number(days))?;
                }
                if let Some(days) = rule.half_life_days {
                    write!(
                        f,
                        ", halving every {} days",
                        leadscore_data::format_number(days)
                    )?;
                }
                Ok(())
            }
        }
    }
}

/// One checked rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    /// Unique name, shown in every breakdown.
    pub name: String,
    /// Fit or engagement.
    pub group: Group,
    /// Points when a field rule matches, or per event for an event rule.
    pub points: f64,
    /// What the rule looks at.
    pub condition: Condition,
    /// Line of the rule in its file.
    pub line: usize,
}

/// A named set of grades (`A1`, `B2`, …).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TierGrades {
    /// Tier name.
    pub name: String,
    /// Grades in the tier.
    pub grades: Vec<String>,
}

/// A checked rules file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PointsRules {
    /// The file the rules came from.
    pub path: PathBuf,
    /// Total points from which a lead is marketing-qualified.
    pub mql_threshold: f64,
    /// Grade cut points, when given.
    pub grades: Option<GradeCuts>,
    /// Tiers over grades, first match wins; [`default_tiers`] when the file names none.
    pub tiers: Vec<TierGrades>,
    /// The rules, in file order.
    pub rules: Vec<Rule>,
}

/// The default tiers of grade cut points: [`default_tiers`] for letter-and-digit grades, and for
/// letter-only grades hot: A; warm: B; cold: C D.
pub fn tiers_for(cuts: &GradeCuts) -> Vec<TierGrades> {
    if cuts.engagement.is_some() {
        return default_tiers();
    }
    let tier = |name: &str, grades: &[&str]| TierGrades {
        name: name.to_owned(),
        grades: grades.iter().map(|g| (*g).to_owned()).collect(),
    };
    vec![
        tier("hot", &["A"]),
        tier("warm", &["B"]),
        tier("cold", &["C", "D"]),
    ]
}

/// hot: A1 A2 B1; warm: A3 B2 C1 A4 B3 C2; cold: everything else.
pub fn default_tiers() -> Vec<TierGrades> {
    let tier = |name: &str, grades: &[&str]| TierGrades {
        name: name.to_owned(),
        grades: grades.iter().map(|g| (*g).to_owned()).collect(),
    };
    vec![
        tier("hot", &["A1", "A2", "B1"]),
        tier("warm", &["A3", "B2", "C1", "A4", "B3", "C2"]),
        tier("cold", &["B4", "C3", "C4", "D1", "D2", "D3", "D4"]),
    ]
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl PointsRules {
    /// Reads and checks a rules file.
    pub fn load(path: &Path) -> Result<Self, PointsError> {
        let text = std::fs::read_to_string(path).map_err(|source| PointsError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Checks rules given as text; `path` names them in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Self, PointsError> {
        let spec: FileSpec = toml::from_str(text).map_err(|e| PointsError::Syntax {
            path: path.to_owned(),
            line: e.span().map_or(1, |span| line_of(text, span.start)),
            message: e.message().trim().to_owned(),
        })?;
        let setting = |message: String| PointsError::Setting {
            path: path.to_owned(),
            message,
        };
        if !spec.mql_threshold.is_finite() {
            return Err(setting("`mql_threshold` must be a finite number".into()));
        }
        if let Some(cuts) = &spec.grades {
            let dimensions = std::iter::once(("fit", cuts.fit))
                .chain(cuts.engagement.map(|e| ("engagement", e)));
            for (name, values) in dimensions {
                if values.iter().any(|v| !v.is_finite())
                    || !(values[0] > values[1] && values[1] > values[2])
                {
                    return Err(setting(format!(
                        "`grades.{name}` must be three finite, strictly decreasing minimums, got {values:?}"
                    )));
                }
            }
        }
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut rules = Vec::with_capacity(spec.rules.len());
        for spanned in spec.rules {
            let line = line_of(text, spanned.span().start);
            let rule = spanned.into_inner();
            let error = |message: String| PointsError::Rule {
                path: path.to_owned(),
                line,
                rule: rule.name.clone(),
                message,
            };
            if rule.name.trim().is_empty() {
                return Err(error("the name is empty".into()));
            }
            if let Some(first) = seen.insert(rule.name.to_lowercase(), line) {
                return Err(error(format!(
                    "the name is already used by the rule on line {first}; names must be unique"
                )));
            }
            let condition = check_rule(&rule).map_err(error)?;
            rules.push(Rule {
                name: rule.name,
                group: rule.group,
                points: rule.points,
                condition,
                line,
            });
        }
        if rules.is_empty() {
            return Err(setting("it has no `[[rule]]`".into()));
        }
        let two_dimensional = spec.grades.as_ref().is_none_or(|g| g.engagement.is_some());
        let tiers = if spec.tiers.is_empty() {
            spec.grades.as_ref().map_or_else(default_tiers, tiers_for)
        } else {
            let mut tiers = Vec::new();
            for spanned in spec.tiers {
                let line = line_of(text, spanned.span().start);
                let tier = spanned.into_inner();
                if let Some(bad) = tier.grades.iter().find(|g| !is_grade(g, two_dimensional)) {
                    let expected = if two_dimensional {
                        "A–D then 1–4, e.g. A1 or C3"
                    } else {
                        "A–D: these grades have no engagement part"
                    };
                    return Err(PointsError::Syntax {
                        path: path.to_owned(),
                        line,
                        message: format!(
                            "tier `{}`: `{bad}` is not a grade ({expected})",
                            tier.name
                        ),
                    });
                }
                tiers.push(TierGrades {
                    name: tier.name,
                    grades: tier.grades.iter().map(|g| g.to_uppercase()).collect(),
                });
            }
            tiers
        };
        Ok(Self {
            path: path.to_owned(),
            mql_threshold: spec.mql_threshold,
            grades: spec.grades,
            tiers,
            rules,
        })
    }

    /// The fields the rules read, with the kind a range implies (`at_least`/`below` need a
    /// number), so that a file being scored reads them whatever their values.
    pub fn fields(&self) -> Vec<(String, Option<ColumnKind>)> {
        let mut fields: Vec<(String, Option<ColumnKind>)> = Vec::new();
        for rule in &self.rules {
            if let Condition::Field { field, condition } = &rule.condition {
                let kind = matches!(condition, FieldCondition::Range { .. })
                    .then_some(ColumnKind::Numeric);
                match fields.iter_mut().find(|(name, _)| name == field) {
                    Some((_, known)) => *known = known.or(kind),
                    None => fields.push((field.clone(), kind)),
                }
            }
        }
        fields
    }

    /// Checks the rules against the data they will score: every field must be a column (of the
    /// right kind for ranges). An event type no event of the data has is not an error (nobody
    /// attended a webinar this week), but often a typo: each one comes back as a warning.
    pub fn check_against(
        &self,
        columns: &[(String, ColumnKind)],
        event_types: Option<&[String]>,
    ) -> Result<Vec<String>, PointsError> {
        let mut warnings = Vec::new();
        for rule in &self.rules {
            let error = |message: String| PointsError::Rule {
                path: self.path.clone(),
                line: rule.line,
                rule: rule.name.clone(),
                message,
            };
            match &rule.condition {
                Condition::Field { field, condition } => {
                    let Some((_, kind)) = columns.iter().find(|(name, _)| name == field) else {
                        let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
                        return Err(error(format!(
                            "unknown field `{field}`; the data has {}",
                            names.join(", ")
                        )));
                    };
                    if matches!(condition, FieldCondition::Range { .. })
                        && *kind == ColumnKind::Categorical
                    {
                        return Err(error(format!(
                            "`{field}` is categorical; `at_least`/`below` need a numeric field"
                        )));
                    }
                }
                Condition::Event(event) => {
                    if let Some(types) = event_types
                        && !types.contains(&event.event)
                    {
                        warnings.push(format!(
                            "rules file {}: line {}: rule `{}` counts `{}` events, and no event of the data has that type (it has {}); the rule gives no points here",
                            self.path.display(),
                            rule.line,
                            rule.name,
                            event.event,
                            types.join(", ")
                        ));
                    }
                }
            }
        }
        Ok(warnings)
    }

    /// Writes the rules back as TOML, with a comment header.
    pub fn to_toml(&self, header: &str) -> String {
        let mut out = String::new();
        for line in header.lines() {
            let _ = writeln!(out, "# {line}");
        }
        let _ = writeln!(out, "mql_threshold = {}", number(self.mql_threshold));
        if let Some(cuts) = &self.grades {
            let list = |v: &[f64; 3]| v.map(number).join(", ");
            let _ = writeln!(out, "\n[grades]");
            let _ = writeln!(out, "fit = [{}]", list(&cuts.fit));
            if let Some(engagement) = &cuts.engagement {
                let _ = writeln!(out, "engagement = [{}]", list(engagement));
            }
        }
        for tier in &self.tiers {
            let grades: Vec<String> = tier.grades.iter().map(|g| format!("\"{g}\"")).collect();
            let _ = writeln!(
                out,
                "\n[[tier]]\nname = {}\ngrades = [{}]",
                quote(&tier.name),
                grades.join(", ")
            );
        }
        for rule in &self.rules {
            let _ = writeln!(out, "\n[[rule]]\nname = {}", quote(&rule.name));
            let group = match rule.group {
                Group::Fit => "fit",
                Group::Engagement => "engagement",
            };
            let _ = writeln!(out, "group = \"{group}\"");
            match &rule.condition {
                Condition::Field { field, condition } => {
                    let _ = writeln!(out, "field = {}", quote(field));
                    match condition {
                        FieldCondition::In { values } if values.len() == 1 => {
                            let _ = writeln!(out, "equals = {}", quote(&values[0]));
                        }
                        FieldCondition::In { values } => {
                            let list: Vec<String> = values.iter().map(|v| quote(v)).collect();
                            let _ = writeln!(out, "in = [{}]", list.join(", "));
                        }
                        FieldCondition::NotIn { values } => {
                            let list: Vec<String> = values.iter().map(|v| quote(v)).collect();
                            let _ = writeln!(out, "not_in = [{}]", list.join(", "));
                        }
                        FieldCondition::Range { at_least, below } => {
                            if let Some(low) = at_least {
                                let _ = writeln!(out, "at_least = {}", number(*low));
                            }
                            if let Some(high) = below {
                                let _ = writeln!(out, "below = {}", number(*high));
                            }
                        }
                        FieldCondition::Missing(missing) => {
                            let _ = writeln!(out, "missing = {missing}");
                        }
                    }
                }
                Condition::Event(event) => {
                    let _ = writeln!(out, "event = {}", quote(&event.event));
                    if event.once {
                        let _ = writeln!(out, "once = true");
                    }
                    if let Some(days) = event.within_days {
                        let _ = writeln!(out, "within_days = {}", number(days));
                    }
                    if let Some(days) = event.half_life_days {
                        let _ = writeln!(out, "half_life_days = {}", number(days));
                    }
                }
            }
            let _ = writeln!(out, "points = {}", number(rule.points));
            if let Condition::Event(EventRule { max: Some(max), .. }) = &rule.condition {
                let _ = writeln!(out, "max = {}", number(*max));
            }
        }
        out
    }
}

fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{value}")
    }
}

fn quote(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

fn is_grade(grade: &str, two_dimensional: bool) -> bool {
    let bytes = grade.to_uppercase().into_bytes();
    match bytes.as_slice() {
        [letter, digit] if two_dimensional => {
            (b'A'..=b'D').contains(letter) && (b'1'..=b'4').contains(digit)
        }
        [letter] if !two_dimensional => (b'A'..=b'D').contains(letter),
        _ => false,
    }
}

fn check_rule(rule: &RuleSpec) -> Result<Condition, String> {
    if !rule.points.is_finite() {
        return Err("`points` must be a finite number".into());
    }
    match (&rule.field, &rule.event) {
        (Some(_), Some(_)) => {
            Err("a rule looks at either a `field` or an `event`, not both".into())
        }
        (None, None) => Err("a rule needs a `field` or an `event`".into()),
        (Some(field), None) => {
            let event_keys = [
                ("max", rule.max.is_some()),
                ("once", rule.once.is_some()),
                ("within_days", rule.within_days.is_some()),
                ("half_life_days", rule.half_life_days.is_some()),
            ];
            if let Some((key, _)) = event_keys.iter().find(|(_, set)| *set) {
                return Err(format!(
                    "`{key}` applies to event rules, not to field `{field}`"
                ));
            }
            let lower = |values: &[Scalar]| -> Vec<String> {
                values.iter().map(|v| v.text().to_lowercase()).collect()
            };
            let mut conditions = Vec::new();
            if let Some(value) = &rule.equals {
                conditions.push(FieldCondition::In {
                    values: lower(std::slice::from_ref(value)),
                });
            }
            if let Some(values) = &rule.any_of {
                if values.is_empty() {
                    return Err("`in` is empty".into());
                }
                conditions.push(FieldCondition::In {
                    values: lower(values),
                });
            }
            if let Some(values) = &rule.not_in {
                if values.is_empty() {
                    return Err("`not_in` is empty".into());
                }
                conditions.push(FieldCondition::NotIn {
                    values: lower(values),
                });
            }
            if rule.at_least.is_some() || rule.below.is_some() {
                if let (Some(low), Some(high)) = (rule.at_least, rule.below)
                    && low >= high
                {
                    return Err(format!(
                        "empty range: `at_least` = {low} is not below `below` = {high}"
                    ));
                }
                if [rule.at_least, rule.below]
                    .iter()
                    .flatten()
                    .any(|b| !b.is_finite())
                {
                    return Err("range bounds must be finite numbers".into());
                }
                conditions.push(FieldCondition::Range {
                    at_least: rule.at_least,
                    below: rule.below,
                });
            }
            if let Some(missing) = rule.missing {
                conditions.push(FieldCondition::Missing(missing));
            }
            match conditions.len() {
                1 => Ok(Condition::Field {
                    field: field.clone(),
                    condition: conditions.remove(0),
                }),
                0 => Err(format!(
                    "field `{field}` needs a condition: `equals`, `in`, `not_in`, `at_least`/`below` or `missing`"
                )),
                _ => Err(format!(
                    "field `{field}` has several conditions; use one per rule (split it into two rules)"
                )),
            }
        }
        (None, Some(event)) => {
            let field_keys = [
                ("equals", rule.equals.is_some()),
                ("in", rule.any_of.is_some()),
                ("not_in", rule.not_in.is_some()),
                ("at_least", rule.at_least.is_some()),
                ("below", rule.below.is_some()),
                ("missing", rule.missing.is_some()),
            ];
            if let Some((key, _)) = field_keys.iter().find(|(_, set)| *set) {
                return Err(format!(
                    "`{key}` applies to field rules, not to event `{event}`"
                ));
            }
            let once = rule.once.unwrap_or(false);
            if let Some(max) = rule.max {
                if once {
                    return Err("`max` has no effect with `once = true`; remove one".into());
                }
                if !max.is_finite() || max * rule.points <= 0.0 {
                    return Err(format!(
                        "`max` = {max} must be a cap with the sign of `points` = {}",
                        rule.points
                    ));
                }
            }
            for (key, value) in [
                ("within_days", rule.within_days),
                ("half_life_days", rule.half_life_days),
            ] {
                if let Some(days) = value
                    && !(days.is_finite() && days > 0.0)
                {
                    return Err(format!(
                        "`{key}` must be a positive number of days, got {days}"
                    ));
                }
            }
            Ok(Condition::Event(EventRule {
                event: event.clone(),
                once,
                max: rule.max,
                within_days: rule.within_days,
                half_life_days: rule.half_life_days,
            }))
        }
    }
}
