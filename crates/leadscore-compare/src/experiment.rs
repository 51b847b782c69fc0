//! The statistics of a live A/B experiment: per-arm conversion, the difference with a 95%
//! interval, a two-proportion z-test, and how many outcomes are still needed.

use serde::Serialize;

/// What is known about one arm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArmCounts {
    /// Arm name.
    pub arm: String,
    /// Leads assigned.
    pub leads: u64,
    /// Leads the arm's policy routed to sales.
    pub routed: u64,
    /// Routed leads with a recorded outcome.
    pub routed_closed: u64,
    /// Routed leads won.
    pub routed_won: u64,
    /// Leads with a recorded outcome.
    pub closed: u64,
    /// Leads won.
    pub won: u64,
}

/// One arm with its rates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArmReport {
    /// Counts.
    #[serde(flatten)]
    pub counts: ArmCounts,
    /// Won share of routed leads with an outcome.
    pub routed_conversion: Option<f64>,
    /// Won share of all leads with an outcome.
    pub overall_conversion: Option<f64>,
}

/// Arm B against arm A on the conversion of routed leads.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArmDifference {
    /// Compared arms (b − a).
    pub arms: (String, String),
    /// Conversion of routed leads, b − a.
    pub difference: f64,
    /// 95% interval of the difference.
    pub interval: (f64, f64),
    /// Two-sided p-value of the two-proportion z-test.
    pub p_value: f64,
    /// Whether p < 0.05.
    pub significant: bool,
    /// Outcomes of routed leads per arm needed to detect the observed difference (80% power).
    pub outcomes_needed_per_arm: Option<u64>,
    /// A plain sentence.
    pub verdict: String,
}

/// The experiment report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExperimentReport {
    /// Experiment name.
    pub experiment: String,
    /// Every arm.
    pub arms: Vec<ArmReport>,
    /// The second arm against the first, when both have routed outcomes.
    pub difference: Option<ArmDifference>,
}

fn rate(numerator: u64, denominator: u64) -> Option<f64> {
    (denominator > 0).then(|| numerator as f64 / denominator as f64)
}

/// Standard normal CDF (Abramowitz–Stegun 7.1.26 erf, |error| < 1.5e-7).
fn normal_cdf(z: f64) -> f64 {
    let x = z.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-x * x).exp();
    if z >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

const Z_95: f64 = 1.959_963_985;
const Z_80_POWER: f64 = 0.841_621_234;

/// Compares arms; the first arm is the baseline.
pub fn experiment_report(experiment: &str, arms: Vec<ArmCounts>) -> ExperimentReport {
    let reports: Vec<ArmReport> = arms
        .into_iter()
        .map(|counts| ArmReport {
            routed_conversion: rate(counts.routed_won, counts.routed_closed),
            overall_conversion: rate(counts.won, counts.closed),
            counts,
        })
        .collect();
    let difference = match reports.as_slice() {
        [a, b, ..] if a.counts.routed_closed > 0 && b.counts.routed_closed > 0 => {
            Some(compare_arms(a, b))
        }
        _ => None,
    };
    ExperimentReport {
        experiment: experiment.to_owned(),
        arms: reports,
        difference,
    }
}

fn compare_arms(a: &ArmReport, b: &ArmReport) -> ArmDifference {
    let (na, nb) = (a.counts.routed_closed as f64, b.counts.routed_closed as f64);
    let (pa, pb) = (
        a.counts.routed_won as f64 / na,
        b.counts.routed_won as f64 / nb,
    );
    let difference = pb - pa;
    let se = (pa * (1.0 - pa) / na + pb * (1.0 - pb) / nb).sqrt();
    let pooled = (a.counts.routed_won + b.counts.routed_won) as f64 / (na + nb);
    let pooled_se = (pooled * (1.0 - pooled) * (1.0 / na + 1.0 / nb)).sqrt();
    let p_value = if pooled_se > 0.0 {
        2.0 * (1.0 - normal_cdf((difference / pooled_se).abs()))
    } else {
        1.0
    };
    let significant = p_value < 0.05;
    let outcomes_needed_per_arm = (difference != 0.0).then(|| {
        let variance = pa * (1.0 - pa) + pb * (1.0 - pb);
        ((Z_95 + Z_80_POWER).powi(2) * variance / (difference * difference)).ceil() as u64
    });
    let (better, worse) = if difference >= 0.0 {
        (&b.counts.arm, &a.counts.arm)
    } else {
        (&a.counts.arm, &b.counts.arm)
    };
    let verdict = if significant {
        format!(
            "`{better}` routes leads that convert better than `{worse}`: {:.1} points more of its routed leads won (p = {p_value:.3})",
            100.0 * difference.abs()
        )
    } else {
        match outcomes_needed_per_arm {
            Some(needed) => format!(
                "too small to decide: the observed difference of {:.1} points is not significant (p = {p_value:.2}); about {needed} routed outcomes per arm are needed to confirm an effect of that size ({} and {} so far)",
                100.0 * difference.abs(),
                a.counts.routed_closed,
                b.counts.routed_closed
            ),
            None => "too small to decide: no difference observed yet".to_owned(),
        }
    };
    ArmDifference {
        arms: (b.counts.arm.clone(), a.counts.arm.clone()),
        difference,
        interval: (difference - Z_95 * se, difference + Z_95 * se),
        p_value,
        significant,
        outcomes_needed_per_arm,
        verdict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arm(name: &str, routed_closed: u64, routed_won: u64) -> ArmCounts {
        ArmCounts {
            arm: name.to_owned(),
            leads: routed_closed * 5,
            routed: routed_closed,
            routed_closed,
            routed_won,
            closed: routed_closed * 5,
            won: routed_won * 2,
        }
    }

    #[test]
    fn a_large_gap_on_many_leads_is_significant() {
        let report =
            experiment_report("e", vec![arm("points", 2000, 600), arm("model", 2000, 800)]);
        let d = report.difference.expect("difference");
        assert!((d.difference - 0.1).abs() < 1e-12);
        assert!(d.significant && d.p_value < 1e-6, "{d:?}");
        assert!(d.interval.0 > 0.0);
        assert!(
            d.verdict
                .starts_with("`model` routes leads that convert better"),
            "{}",
            d.verdict
        );
        assert_eq!(report.arms[0].routed_conversion, Some(0.3));
    }

    #[test]
    fn a_small_sample_is_too_small_to_decide_and_says_how_many_are_needed() {
        let report = experiment_report("e", vec![arm("points", 20, 6), arm("model", 20, 8)]);
        let d = report.difference.expect("difference");
        assert!(!d.significant);
        assert!(
            d.verdict.starts_with("too small to decide"),
            "{}",
            d.verdict
        );
        let needed = d.outcomes_needed_per_arm.expect("needed");
        assert!((300..400).contains(&needed), "{needed}");
    }

    #[test]
    fn the_normal_cdf_is_accurate() {
        assert!((normal_cdf(1.959_964) - 0.975).abs() < 1e-6);
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-9);
        assert!((normal_cdf(-1.0) - 0.158_655_25).abs() < 1e-6);
    }
}
