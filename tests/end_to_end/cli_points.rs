//! Points scoring from the command line: rules scoring, threshold advice and learned scorecards.

use crate::common::{failure, json, on_sample, repo_file, success};

#[test]
fn score_with_rules_writes_points_grade_mql_and_a_breakdown_that_adds_up() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("points.csv");
    let summary = json(&success(
        &repo_file(""),
        &on_sample(
            &["score", "--rules", "data/starter-rules.toml"],
            &[
                "--as-of",
                "2025-07-15",
                "--out",
                out.to_str().expect("utf-8"),
                "--json",
            ],
        ),
    ));
    assert_eq!(summary["leads"], 3000);
    assert!(
        summary["mql"].as_u64().is_some_and(|n| n > 0 && n < 3000),
        "{summary}"
    );
    let mut reader = csv::Reader::from_path(&out).expect("points file");
    assert_eq!(
        reader
            .headers()
            .expect("headers")
            .iter()
            .collect::<Vec<_>>(),
        [
            "lead_id",
            "points",
            "fit_points",
            "engagement_points",
            "grade",
            "points_tier",
            "mql",
            "points_breakdown"
        ]
    );
    for record in reader.records() {
        let record = record.expect("row");
        let total: f64 = record[1].parse().expect("points");
        let fit: f64 = record[2].parse().expect("fit");
        let engagement: f64 = record[3].parse().expect("engagement");
        assert!((total - fit - engagement).abs() < 1e-9, "{record:?}");
        let explained: f64 = record[7]
            .split("; ")
            .filter(|part| !part.is_empty())
            .map(|part| {
                part.rsplit(' ')
                    .next()
                    .and_then(|p| p.parse::<f64>().ok())
                    .expect("points per rule")
            })
            .sum();
        assert!(
            (explained - total).abs() < 1e-6,
            "{total} points, {explained} explained: {record:?}"
        );
        assert_eq!(record[6] == *"true", total >= 50.0, "{record:?}");
        assert!(record[4].len() == 2, "{record:?}");
    }
}

#[test]
fn threshold_advice_for_a_capacity_and_a_precision() {
    let root = repo_file("");
    let base = on_sample(
        &["points", "threshold", "--rules", "data/starter-rules.toml"],
        &["--json"],
    );
    let capacity = json(&success(
        &root,
        &[&base[..], &["--capacity", "0.2"]].concat(),
    ));
    let advice = &capacity["advice"];
    assert!(
        advice["passed_share"]
            .as_f64()
            .is_some_and(|s| s <= 0.2 && s > 0.1),
        "{advice}"
    );
    assert!(
        advice["precision"].as_f64() > advice["base_rate"].as_f64(),
        "{advice}"
    );
    let bands = capacity["bands"].as_array().expect("bands");
    assert_eq!(
        bands
            .iter()
            .map(|b| b["leads"].as_u64().expect("leads"))
            .sum::<u64>(),
        2767
    );
    let precision = json(&success(
        &root,
        &[&base[..], &["--precision", "0.4"]].concat(),
    ));
    assert!(
        precision["advice"]["precision"]
            .as_f64()
            .is_some_and(|p| p >= 0.4)
    );
    let message = failure(&root, &[&base[..], &["--precision", "0.999"]].concat());
    assert!(
        message.contains("reaches a conversion rate of 99.9%"),
        "{message}"
    );
}

/// The bar: on the bundled sample the learned scorecard beats the hand-written starter
/// rules and is within 0.03 AUC of the logistic model.
#[test]
fn learned_scorecard_beats_the_starter_rules_on_the_sample() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("learned.toml");
    let report = json(&success(
        &repo_file(""),
        &on_sample(
            &["scorecard"],
            &[
                "--compare",
                "data/starter-rules.toml",
                "--out",
                out.to_str().expect("utf-8"),
                "--json",
            ],
        ),
    ));
    let auc = |index: usize| report["contenders"][index]["auc"].as_f64().expect("auc");
    let (learned, starter, logistic) = (auc(0), auc(1), auc(2));
    assert!(
        learned > starter,
        "scorecard {learned:.4} vs starter rules {starter:.4}"
    );
    assert!(
        learned > logistic - 0.03,
        "scorecard {learned:.4} vs logistic {logistic:.4}"
    );
    let text = std::fs::read_to_string(&out).expect("rules written");
    assert!(
        text.starts_with("# Learned by `leadscore scorecard`"),
        "{text}"
    );
    success(
        &repo_file(""),
        &on_sample(
            &["score", "--rules", out.to_str().expect("utf-8")],
            &["--out", dir.path().join("s.csv").to_str().expect("utf-8")],
        ),
    );
}

#[test]
fn rules_that_do_not_fit_the_data_are_refused_with_the_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        "mql_threshold = 10\n\n[[rule]]\nname = \"Seniority\"\ngroup = \"fit\"\nfield = \"seniority\"\nequals = \"vp\"\npoints = 10\n",
    )
    .expect("write");
    let message = failure(
        &repo_file(""),
        &[
            "score",
            "--rules",
            rules.to_str().expect("utf-8"),
            "--leads",
            "data/sample/leads.csv",
            "--out",
            dir.path().join("s.csv").to_str().expect("utf-8"),
        ],
    );
    assert!(
        message.contains("line 3") && message.contains("unknown field `seniority`"),
        "{message}"
    );
    let message = failure(
        &repo_file(""),
        &[
            "score",
            "--leads",
            "data/sample/leads.csv",
            "--out",
            "x.csv",
        ],
    );
    assert!(message.contains("--model"), "{message}");
}
