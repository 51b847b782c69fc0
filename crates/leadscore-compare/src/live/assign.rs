//! Stable assignment of leads to arms, and each arm's routing decision.
//!
//! A lead's arm comes from a stable hash of (experiment, lead id), so the same lead always lands
//! in the same arm — across requests, restarts, machines and leadscore versions — and an
//! assignment lost in a crash is re-derived identically.

use leadscore_score::LeadScore;
use serde::{Deserialize, Serialize};

use crate::live::config::{Arm, Experiment, Policy};

/// The arm a lead is in and what its policy decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
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
