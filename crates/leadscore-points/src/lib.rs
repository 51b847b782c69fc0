//! Points-based lead scoring, the rule baseline marketers know: a TOML rules file of fit and
//! engagement rules (field conditions, per-event points with caps, once, windows and decay), a
//! scoring engine whose every point is traceable to a rule, A1–D4 grades and tiers, MQL threshold
//! advice from history, and scorecards learned from closed leads.
//!
//! One function, [`PointsRules::score`], scores a lead; the batch ([`PointsRules::score_table`])
//! and server ([`PointsRules::score_input`]) paths both call it.

mod engine;
mod error;
mod rules;
mod scorecard;
mod threshold;

pub use engine::{LeadView, PointsScore, RuleHit, learn_grade_cuts, rule_columns};
pub use error::PointsError;
pub use rules::{
    Condition, EventRule, FieldCondition, GradeCuts, Group, PointsRules, Rule, TierGrades,
    default_tiers, tiers_for,
};
pub use scorecard::{ScorecardParams, ValidScorecardParams};
pub use threshold::{ScoreBand, ThresholdAdvice, ThresholdGoal, recommend_threshold, score_bands};
