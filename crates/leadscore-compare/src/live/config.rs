//! The experiments file: experiments, their arms, traffic shares and routing policies.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::ExperimentsError;

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

/// Reads and checks an experiments file (TOML).
pub fn load(
    path: &Path,
    has_model: bool,
    has_rules: bool,
) -> Result<Vec<Experiment>, ExperimentsError> {
    let invalid = |message: String| ExperimentsError {
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
}
