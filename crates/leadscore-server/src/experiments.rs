//! Live experiments: arms with traffic shares and routing policies, assigned by a stable hash of
//! (experiment, lead id) so that a lead always lands in the same arm.

use std::path::Path;

use leadscore_score::LeadScore;
use serde::{Deserialize, Serialize};

use crate::error::ServerError;

/// How an arm decides that a lead goes to sales.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// The model's top `value` share of leads (by percentile among training leads).
    ModelTopShare,
    /// Model probability at least `value`.
    ModelCutoff,
    /// Points at least `value` (default: the rules' MQL threshold).
    PointsThreshold,
}

/// One arm of an experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Arm {
    /// Arm name.
    pub name: String,
    /// Share of traffic (arms' shares add up to 1).
    pub share: f64,
    /// Routing policy.
    pub policy: Policy,
    /// The policy's parameter.
    #[serde(default)]
    pub value: Option<f64>,
}

/// One experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    /// Experiment name.
    pub name: String,
    /// Arms; the first is the baseline of the report.
    #[serde(rename = "arm")]
    pub arms: Vec<Arm>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExperimentsFile {
    #[serde(rename = "experiment")]
    experiments: Vec<Experiment>,
}

/// The arm a lead is in and what its policy decided.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Decision {
    /// Experiment name.
    pub experiment: String,
    /// Arm name.
    pub arm: String,
    /// Whether the arm's policy sends the lead to sales.
    pub routed: bool,
    /// The policy applied.
    pub policy: Policy,
}

/// Reads and checks an experiments file (TOML).
pub fn load(path: &Path, has_model: bool, has_rules: bool) -> Result<Vec<Experiment>, ServerError> {
    let invalid = |message: String| ServerError::Experiments {
        path: path.to_owned(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| invalid(e.to_string()))?;
    let file: ExperimentsFile = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    for experiment in &file.experiments {
        let total: f64 = experiment.arms.iter().map(|a| a.share).sum();
        if experiment.arms.len() < 2 || (total - 1.0).abs() > 1e-9 {
            return Err(invalid(format!(
                "experiment `{}` needs two or more arms whose shares add up to 1 (they add up to {total})",
                experiment.name
            )));
        }
        for arm in &experiment.arms {
            let needs = match arm.policy {
                Policy::ModelTopShare | Policy::ModelCutoff => (!has_model).then_some("model"),
                Policy::PointsThreshold => (!has_rules).then_some("rules file"),
            };
            if let Some(missing) = needs {
                return Err(invalid(format!(
                    "arm `{}` of `{}` routes by {:?} but the server has no {missing}",
                    arm.name, experiment.name, arm.policy
                )));
            }
            let value_ok = match (arm.policy, arm.value) {
                (Policy::ModelTopShare | Policy::ModelCutoff, Some(v)) => v > 0.0 && v <= 1.0,
                (Policy::ModelTopShare | Policy::ModelCutoff, None) => false,
                (Policy::PointsThreshold, v) => v.is_none_or(f64::is_finite),
            };
            if !(value_ok && arm.share > 0.0) {
                return Err(invalid(format!(
                    "arm `{}` of `{}`: share must be positive and `value` a share in (0, 1] for model policies",
                    arm.name, experiment.name
                )));
            }
        }
    }
    Ok(file.experiments)
}

/// FNV-1a then the SplitMix64 finaliser: stable across platforms, processes and versions
/// (unlike the standard hasher), and well mixed in the high bits even for ids like `L1`, `L2`.
fn stable_hash(parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash = (hash ^ (hash >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    hash = (hash ^ (hash >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    hash ^ (hash >> 31)
}

impl Experiment {
    /// The arm of a lead: its hash position in [0, 1) against the cumulative shares.
    pub fn arm_of(&self, lead_id: &str) -> &Arm {
        let position = (stable_hash(&[&self.name, lead_id]) >> 11) as f64 / (1u64 << 53) as f64;
        let mut cumulative = 0.0;
        for arm in &self.arms {
            cumulative += arm.share;
            if position < cumulative {
                return arm;
            }
        }
        &self.arms[self.arms.len() - 1]
    }

    /// Assigns a scored lead and applies its arm's policy.
    pub fn decide(&self, score: &LeadScore, mql_threshold: Option<f64>) -> Decision {
        let arm = self.arm_of(&score.lead_id);
        let prediction = score.prediction.as_ref();
        let routed = match arm.policy {
            Policy::ModelTopShare => {
                prediction.is_some_and(|p| p.percentile >= 100.0 * (1.0 - arm.value.unwrap_or(0.2)))
            }
            Policy::ModelCutoff => {
                prediction.is_some_and(|p| p.probability >= arm.value.unwrap_or(0.5))
            }
            Policy::PointsThreshold => score.points.as_ref().is_some_and(|p| {
                arm.value
                    .or(mql_threshold)
                    .is_some_and(|threshold| p.total >= threshold)
            }),
        };
        Decision {
            experiment: self.name.clone(),
            arm: arm.name.clone(),
            routed,
            policy: arm.policy,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str, has_model: bool) -> Result<Vec<Experiment>, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let path = dir.path().join("experiments.toml");
        std::fs::write(&path, text).map_err(|e| e.to_string())?;
        load(&path, has_model, true).map_err(|e| e.to_string())
    }

    const ARMS: &str = "[[experiment]]\nname = \"e\"\n[[experiment.arm]]\nname = \"points\"\nshare = 0.5\npolicy = \"points_threshold\"\n[[experiment.arm]]\nname = \"model\"\nshare = SHARE\npolicy = \"model_top_share\"\nvalue = VALUE\n";

    #[test]
    fn bad_experiment_files_are_refused_with_the_reason() {
        let file = |share: &str, value: &str| ARMS.replace("SHARE", share).replace("VALUE", value);
        assert_eq!(
            load_text(&file("0.5", "0.2"), true).expect("valid").len(),
            1
        );
        let cases = [
            (file("0.6", "0.2"), true, "add up to 1"),
            (file("0.5", "1.5"), true, "share in (0, 1]"),
            (file("0.5", "0.2"), false, "has no model"),
            (
                file("0.5", "0.2")
                    .replace("policy = \"points_threshold\"", "policy = \"gut_feeling\""),
                true,
                "gut_feeling",
            ),
            (
                file("0.5", "0.2").replace("share = 0.5", "share = 0.5\ncolour = 1"),
                true,
                "colour",
            ),
        ];
        for (text, has_model, expected) in cases {
            let message = load_text(&text, has_model).expect_err("refused");
            assert!(
                message.contains("experiments file") && message.contains(expected),
                "{expected}: {message}"
            );
        }
    }

    #[test]
    fn assignment_is_stable_and_follows_the_shares() {
        let experiment = Experiment {
            name: "e".into(),
            arms: vec![
                Arm {
                    name: "a".into(),
                    share: 0.3,
                    policy: Policy::ModelTopShare,
                    value: Some(0.2),
                },
                Arm {
                    name: "b".into(),
                    share: 0.7,
                    policy: Policy::PointsThreshold,
                    value: None,
                },
            ],
        };
        let in_a = (0..10_000)
            .filter(|i| experiment.arm_of(&format!("L{i}")).name == "a")
            .count();
        assert!((2_800..3_200).contains(&in_a), "{in_a}");
        assert_eq!(experiment.arm_of("L42").name, experiment.arm_of("L42").name);
        // Pinned: a change of hash would move every running experiment's leads between arms.
        assert_eq!(stable_hash(&["e", "L1"]), 0x2f7e_3495_398c_7767);
    }
}
