//! The statistics of a live A/B experiment: per-arm conversion of routed leads, the difference
//! with a Newcombe interval and the p-value of the same interval, a warning when arms route
//! different volumes, and an always-valid interval for people who look every day.

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
    /// Share of the arm's leads its policy routed to sales.
    pub routed_share: Option<f64>,
    /// Won share of routed leads with an outcome.
    pub routed_conversion: Option<f64>,
    /// Wilson 95% interval of the routed conversion.
    pub routed_conversion_interval: Option<(f64, f64)>,
    /// Won share of all leads with an outcome.
    pub overall_conversion: Option<f64>,
}

/// An always-valid 95% interval (a confidence sequence): it may be looked at after every outcome
/// and stopped on as soon as it excludes 0, without inflating the error rate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SequentialInterval {
    /// The interval of the difference, b − a.
    pub interval: (f64, f64),
    /// Always-valid p-value at this look.
    pub p_value: f64,
    /// Whether the interval excludes 0.
    pub decided: bool,
    /// Standard deviation of the normal mixture over effects (the effect size the test is tuned
    /// for), in conversion points.
    pub tuned_for: f64,
}

/// Arm B against arm A on the conversion of routed leads.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArmDifference {
    /// Compared arms (b − a).
    pub arms: (String, String),
    /// Conversion of routed leads, b − a.
    pub difference: f64,
    /// Newcombe (hybrid Wilson score) 95% interval of the difference.
    pub interval: (f64, f64),
    /// Two-sided p-value of the same interval: the smallest level at which it excludes 0, so
    /// `p < 0.05` exactly when the 95% interval excludes 0.
    pub p_value: f64,
    /// Whether the 95% interval excludes 0.
    pub significant: bool,
    /// Outcomes of routed leads per arm needed to detect the observed difference (80% power).
    pub outcomes_needed_per_arm: Option<u64>,
    /// For people who look every day: an interval valid at any look.
    pub sequential: SequentialInterval,
    /// A plain sentence that agrees with the interval.
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
    /// What makes the comparison less fair than it looks (arms routing different volumes).
    pub warnings: Vec<String>,
    /// Revenue routed per arm, when outcomes were recorded with amounts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revenue: Option<super::ExperimentRevenue>,
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
/// The sequential interval is tuned for differences of about 5 conversion points.
const SEQUENTIAL_TAU: f64 = 0.05;
/// Routed shares differing by more than this (relative) make routed conversion unfair to compare.
const VOLUME_TOLERANCE: f64 = 0.2;

/// Wilson score interval of `won` successes in `n` trials at normal quantile `z`.
pub fn wilson(won: u64, n: u64, z: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let n = n as f64;
    let p = won as f64 / n;
    let z2 = z * z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = z / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// Newcombe's hybrid score interval (method 10) of `p_b − p_a` at normal quantile `z`.
fn newcombe(a: (u64, u64), b: (u64, u64), z: f64) -> (f64, f64) {
    let (pa, pb) = (a.0 as f64 / a.1 as f64, b.0 as f64 / b.1 as f64);
    let (la, ua) = wilson(a.0, a.1, z);
    let (lb, ub) = wilson(b.0, b.1, z);
    let difference = pb - pa;
    (
        difference - ((pb - lb).powi(2) + (ua - pa).powi(2)).sqrt(),
        difference + ((ub - pb).powi(2) + (pa - la).powi(2)).sqrt(),
    )
}

/// The p-value of the Newcombe interval: `2(1 − Φ(z*))` for the `z*` at which its bound touches 0.
/// The interval widens with `z`, so bisection finds `z*`.
fn newcombe_p_value(a: (u64, u64), b: (u64, u64)) -> f64 {
    let difference = b.0 as f64 / b.1 as f64 - a.0 as f64 / a.1 as f64;
    if difference == 0.0 {
        return 1.0;
    }
    let excludes_zero = |z: f64| {
        let (low, high) = newcombe(a, b, z);
        low > 0.0 || high < 0.0
    };
    let (mut low, mut high) = (0.0_f64, 40.0_f64);
    if excludes_zero(high) {
        return 2.0 * (1.0 - normal_cdf(high));
    }
    for _ in 0..100 {
        let middle = 0.5 * (low + high);
        if excludes_zero(middle) {
            low = middle;
        } else {
            high = middle;
        }
    }
    (2.0 * (1.0 - normal_cdf(0.5 * (low + high)))).clamp(0.0, 1.0)
}

/// The normal-mixture confidence sequence of Howard et al. (2021) / the mSPRT of Johari et al.
/// (2017) for a difference estimated with variance `variance`.
fn sequential(difference: f64, variance: f64) -> SequentialInterval {
    let tau2 = SEQUENTIAL_TAU * SEQUENTIAL_TAU;
    let v = variance.max(1e-12);
    let radius =
        ((v * (v + tau2) / tau2) * (((v + tau2) / v).ln() + 2.0 * (1.0 / 0.05f64).ln())).sqrt();
    let likelihood_ratio =
        (v / (v + tau2)).sqrt() * (tau2 * difference * difference / (2.0 * v * (v + tau2))).exp();
    let interval = (difference - radius, difference + radius);
    SequentialInterval {
        interval,
        p_value: (1.0 / likelihood_ratio).min(1.0),
        decided: interval.0 > 0.0 || interval.1 < 0.0,
        tuned_for: SEQUENTIAL_TAU,
    }
}

/// Compares arms; the first arm is the baseline.
pub fn experiment_report(experiment: &str, arms: Vec<ArmCounts>) -> ExperimentReport {
    let reports: Vec<ArmReport> = arms
        .into_iter()
        .map(|counts| ArmReport {
            routed_share: rate(counts.routed, counts.leads),
            routed_conversion: rate(counts.routed_won, counts.routed_closed),
            routed_conversion_interval: (counts.routed_closed > 0)
                .then(|| wilson(counts.routed_won, counts.routed_closed, Z_95)),
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
    let mut warnings = Vec::new();
    if let [a, b, ..] = reports.as_slice()
        && let (Some(share_a), Some(share_b)) = (a.routed_share, b.routed_share)
        && share_a.max(share_b) > 0.0
        && (share_a - share_b).abs() / share_a.max(share_b) > VOLUME_TOLERANCE
    {
        warnings.push(format!(
            "the arms route different volumes (`{}` {:.1}% of its leads, `{}` {:.1}%): the arm routing fewer leads can convert better by being pickier; compare them at equal volume (set both policies to the same top share) before trusting the difference",
            a.counts.arm,
            100.0 * share_a,
            b.counts.arm,
            100.0 * share_b
        ));
    }
    ExperimentReport {
        experiment: experiment.to_owned(),
        arms: reports,
        difference,
        warnings,
        revenue: None,
    }
}

fn compare_arms(a: &ArmReport, b: &ArmReport) -> ArmDifference {
    let counts_a = (a.counts.routed_won, a.counts.routed_closed);
    let counts_b = (b.counts.routed_won, b.counts.routed_closed);
    let (na, nb) = (counts_a.1 as f64, counts_b.1 as f64);
    let (pa, pb) = (counts_a.0 as f64 / na, counts_b.0 as f64 / nb);
    let difference = pb - pa;
    let interval = newcombe(counts_a, counts_b, Z_95);
    let significant = interval.0 > 0.0 || interval.1 < 0.0;
    let p_value = newcombe_p_value(counts_a, counts_b);
    // Agresti–Caffo adjusted rates: a plug-in variance of 0 (no wins yet) would make the
    // sequential interval collapse to a point.
    let (qa, qb) = (
        (counts_a.0 as f64 + 1.0) / (na + 2.0),
        (counts_b.0 as f64 + 1.0) / (nb + 2.0),
    );
    let variance = qa * (1.0 - qa) / (na + 2.0) + qb * (1.0 - qb) / (nb + 2.0);
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
            "`{better}` routes leads that convert better than `{worse}`: {:.1} points more of its routed leads won (95% interval {:+.1} to {:+.1} points, excluding 0; p = {p_value:.3})",
            100.0 * difference.abs(),
            100.0 * interval.0,
            100.0 * interval.1
        )
    } else {
        match outcomes_needed_per_arm {
            Some(needed) => format!(
                "too small to decide: the 95% interval of the difference ({:+.1} to {:+.1} points) includes 0; about {needed} routed outcomes per arm are needed to confirm a difference of {:.1} points ({} and {} so far)",
                100.0 * interval.0,
                100.0 * interval.1,
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
        interval,
        p_value,
        significant,
        outcomes_needed_per_arm,
        sequential: sequential(difference, variance),
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
        assert!(d.sequential.decided && d.sequential.interval.0 > 0.0);
        assert!(
            d.verdict
                .starts_with("`model` routes leads that convert better"),
            "{}",
            d.verdict
        );
        assert_eq!(report.arms[0].routed_conversion, Some(0.3));
        assert!(report.warnings.is_empty());
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

    /// The defect seen in the field: "95% interval [-0.1, +20.8], p = 0.0495" followed by a
    /// winner. The verdict, the interval and the p-value must tell one story for every count.
    #[test]
    fn the_verdict_the_interval_and_the_p_value_always_agree() {
        for na in [8u64, 30, 97, 400] {
            for nb in [9u64, 31, 101, 380] {
                for wa in (0..=na).step_by((na as usize / 7).max(1)) {
                    for wb in (0..=nb).step_by((nb as usize / 7).max(1)) {
                        let report = experiment_report(
                            "e",
                            vec![arm("points", na, wa), arm("model", nb, wb)],
                        );
                        let d = report.difference.expect("difference");
                        let excludes = d.interval.0 > 0.0 || d.interval.1 < 0.0;
                        assert_eq!(d.significant, excludes, "{d:?}");
                        if d.p_value < 0.0499 {
                            assert!(excludes, "p {} but interval {:?}", d.p_value, d.interval);
                        }
                        if d.p_value > 0.0501 {
                            assert!(!excludes, "p {} but interval {:?}", d.p_value, d.interval);
                        }
                        assert_eq!(
                            d.verdict.starts_with("too small to decide"),
                            !excludes,
                            "{}",
                            d.verdict
                        );
                        // Looking every day costs width: the always-valid interval decides later.
                        let seq = &d.sequential;
                        if 0 < wa && wa < na && 0 < wb && wb < nb && seq.decided {
                            assert!(excludes, "{seq:?} vs {:?}", d.interval);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn arms_routing_different_volumes_are_flagged() {
        let mut picky = arm("model", 100, 40);
        picky.leads = 2_000;
        let report = experiment_report("e", vec![arm("points", 100, 30), picky]);
        assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
        assert!(report.warnings[0].contains("different volumes"));
    }

    #[test]
    fn the_normal_cdf_and_wilson_interval_are_accurate() {
        assert!((normal_cdf(1.959_964) - 0.975).abs() < 1e-6);
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-9);
        assert!((normal_cdf(-1.0) - 0.158_655_25).abs() < 1e-6);
        // Newcombe (1998), table I: 81/263 → 0.2553 to 0.3662.
        let (low, high) = wilson(81, 263, Z_95);
        assert!(
            (low - 0.2553).abs() < 1e-4 && (high - 0.3662).abs() < 1e-4,
            "{low} {high}"
        );
        // Newcombe (1998), table II, example (a): 56/70 − 48/80 = 0.2000, 0.0524 to 0.3339.
        let (low, high) = newcombe((48, 80), (56, 70), Z_95);
        assert!(
            (low - 0.0524).abs() < 1e-4 && (high - 0.3339).abs() < 1e-4,
            "{low} {high}"
        );
    }
}
