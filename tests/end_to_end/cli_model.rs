//! `leadscore train`, `evaluate` and `score` run as a user runs them, on the bundled data.

use crate::common::{
    failure, full_bank_marketing, json, on_sample, repo_file, success, write_landing_page_export,
};
use std::path::Path;

fn train_sample(dir: &Path, extra: &[&str]) -> serde_json::Value {
    let model = dir.join("sample.json");
    let mut args = on_sample(
        &["train"],
        &["--out", model.to_str().expect("utf-8 path"), "--json"],
    );
    args.extend_from_slice(extra);
    json(&success(dir, &args))
}

#[test]
fn train_evaluate_and_score_the_bundled_sample() {
    let dir = tempfile::tempdir().expect("temp dir");
    let report = train_sample(dir.path(), &["--test-fraction", "0.2"]);
    let leaderboard = report["leaderboard"].as_array().expect("leaderboard");
    for kind in ["logistic", "tree", "gbdt"] {
        assert!(
            leaderboard.iter().any(|c| c["kind"] == kind),
            "{kind} missing from {leaderboard:?}"
        );
    }
    assert_eq!(
        leaderboard.iter().filter(|c| c["chosen"] == true).count(),
        1
    );
    let test_auc = report["test"]["auc"].as_f64().expect("test AUC");
    assert!(test_auc > 0.72, "test AUC {test_auc}");
    // Every stage is timed, loading included, so they cover the library's own total.
    let stages = report["stages"].as_array().expect("stages");
    let names: Vec<&str> = stages
        .iter()
        .map(|s| s["stage"].as_str().expect("stage name"))
        .collect();
    for stage in [
        "loading leads and events",
        "building the fold's features",
        "fitting the candidates",
        "fitting the chosen model on all development leads",
    ] {
        assert!(names.contains(&stage), "{stage} missing from {names:?}");
    }
    let staged: f64 = stages
        .iter()
        .map(|s| s["seconds"].as_f64().expect("seconds"))
        .sum();
    let total = report["report"]["seconds"]
        .as_f64()
        .expect("training seconds");
    assert!(staged >= total, "stages {staged} s, training {total} s");
    assert!(report["peak_memory_bytes"].as_u64().is_some_and(|b| b > 0));
    assert!(
        report["importance"]
            .as_array()
            .is_some_and(|i| !i.is_empty())
    );

    let evaluation = json(&success(
        dir.path(),
        &on_sample(&["evaluate", "--model", "sample.json"], &["--json"]),
    ));
    for key in [
        "auc",
        "pr_auc",
        "log_loss",
        "brier",
        "ece",
        "rows",
        "positives",
    ] {
        assert!(evaluation[key].is_number(), "{key} missing: {evaluation}");
    }
    assert_eq!(evaluation["rows"], 2767);
    assert_eq!(evaluation["is_training_data"], true);

    let summary = json(&success(
        dir.path(),
        &on_sample(
            &["score", "--model", "sample.json"],
            &["--as-of", "2025-07-15", "--out", "scores.csv", "--json"],
        ),
    ));
    assert_eq!(summary["leads"], 3000);
    let mut reader = csv::Reader::from_path(dir.path().join("scores.csv")).expect("scores");
    let headers = reader.headers().expect("headers").clone();
    assert_eq!(
        headers.iter().collect::<Vec<_>>(),
        [
            "lead_id",
            "probability",
            "percentile",
            "tier",
            "top_positive",
            "top_negative",
            "model_version"
        ]
    );
    let mut rows = 0;
    for record in reader.records() {
        let record = record.expect("row");
        let probability: f64 = record[1].parse().expect("probability");
        let percentile: f64 = record[2].parse().expect("percentile");
        assert!((0.0..=1.0).contains(&probability), "{record:?}");
        assert!((0.0..=100.0).contains(&percentile), "{record:?}");
        assert!(["A", "B", "C", "D"].contains(&&record[3]), "{record:?}");
        rows += 1;
    }
    assert_eq!(rows, 3000);
}

#[test]
fn score_writes_parquet() {
    let dir = tempfile::tempdir().expect("temp dir");
    train_sample(dir.path(), &["--models", "logistic"]);
    success(
        dir.path(),
        &on_sample(
            &["score", "--model", "sample.json"],
            &["--reasons", "0", "--out", "scores.parquet"],
        ),
    );
    let bytes = std::fs::read(dir.path().join("scores.parquet")).expect("parquet written");
    assert_eq!(&bytes[..4], b"PAR1");
}

#[test]
fn leak_check_names_duration_on_bank_marketing_and_excludes_it_on_request() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bank = repo_file("data/bank-marketing-sample.csv");
    let bank = bank.to_str().expect("utf-8");
    let output = crate::common::leadscore(
        dir.path(),
        &[
            "train", "--leads", bank, "--target", "y", "--models", "gbdt", "--out", "a.json",
        ],
    );
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        format!("{stdout}{stderr}").contains("duration"),
        "no leak warning naming duration:\n{stdout}\n{stderr}"
    );

    let report = json(&success(
        dir.path(),
        &[
            "train",
            "--leads",
            bank,
            "--target",
            "y",
            "--models",
            "gbdt",
            "--exclude-leaks",
            "--out",
            "b.json",
            "--json",
        ],
    ));
    let warnings = report["report"]["leak_warnings"]
        .as_array()
        .expect("warnings");
    assert!(
        warnings
            .iter()
            .any(|w| w["column"] == "duration" && w["excluded"] == true),
        "{warnings:?}"
    );
    let model = std::fs::read_to_string(dir.path().join("b.json")).expect("model");
    let model = json(&model);
    let columns = model["features"]["columns"].as_array().expect("columns");
    assert!(columns.iter().all(|c| c["name"] != "duration"));
}

/// The bar: test AUC ≥ 0.800 on an 80/20 stratified split of the full Bank Marketing set.
#[test]
#[ignore = "needs the full UCI Bank Marketing set in ../shared/data/bank-marketing (CI runs it: cargo test -- --include-ignored)"]
fn bank_marketing_full_reaches_peer_auc() {
    let bank = full_bank_marketing();
    let dir = tempfile::tempdir().expect("temp dir");
    let report = json(&success(
        dir.path(),
        &[
            "train",
            "--leads",
            bank.to_str().expect("utf-8"),
            "--target",
            "y",
            "--exclude",
            "duration",
            "--test-fraction",
            "0.2",
            "--test-split",
            "random",
            "--models",
            "gbdt",
            "--out",
            "bank.json",
            "--json",
        ],
    ));
    let auc = report["test"]["auc"].as_f64().expect("test AUC");
    assert!(auc >= 0.80, "Bank Marketing test AUC {auc:.4}");
}

#[test]
fn model_commands_reject_bad_input_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = repo_file("");
    std::fs::write(
        dir.path().join("truncated.json"),
        "{\"format\": \"leadscore-model\", \"form",
    )
    .expect("write");
    let message = failure(
        &root,
        &[
            "score",
            "--model",
            dir.path().join("truncated.json").to_str().expect("utf-8"),
            "--leads",
            "data/sample/leads.csv",
            "--out",
            dir.path().join("s.csv").to_str().expect("utf-8"),
        ],
    );
    assert!(message.contains("truncated.json"), "{message}");

    std::fs::write(dir.path().join("other.json"), "{\"hello\": 1}").expect("write");
    let message = failure(
        &root,
        &[
            "evaluate",
            "--model",
            dir.path().join("other.json").to_str().expect("utf-8"),
            "--leads",
            "data/sample/leads.csv",
        ],
    );
    assert!(message.contains("not a leadscore model"), "{message}");

    let fixture =
        std::fs::read_to_string(root.join("tests/fixtures/golden-logistic.json")).expect("fixture");
    let future = fixture.replacen("\"format_version\":1", "\"format_version\":99", 1);
    assert_ne!(future, fixture, "fixture layout changed");
    std::fs::write(dir.path().join("future.json"), future).expect("write");
    let message = failure(
        &root,
        &[
            "evaluate",
            "--model",
            dir.path().join("future.json").to_str().expect("utf-8"),
            "--leads",
            "data/sample/leads.csv",
        ],
    );
    assert!(message.contains("version 99"), "{message}");

    let single_class = dir.path().join("won-only.csv");
    std::fs::write(
        &single_class,
        "lead_id,industry,outcome\nA,retail,won\nB,media,won\n",
    )
    .expect("write");
    let message = failure(
        &root,
        &[
            "train",
            "--leads",
            single_class.to_str().expect("utf-8"),
            "--out",
            dir.path().join("m.json").to_str().expect("utf-8"),
        ],
    );
    assert!(message.contains("lost"), "{message}");

    let few = dir.path().join("few.csv");
    let mut text = String::from("lead_id,industry,outcome\n");
    for i in 0..40 {
        let outcome = if i < 3 { "won" } else { "lost" };
        text.push_str(&format!("L{i},retail,{outcome}\n"));
    }
    std::fs::write(&few, text).expect("write");
    let message = failure(
        &root,
        &[
            "train",
            "--leads",
            few.to_str().expect("utf-8"),
            "--out",
            dir.path().join("m.json").to_str().expect("utf-8"),
        ],
    );
    assert!(
        message.contains('3') && message.contains("won"),
        "{message}"
    );
}

/// Guards the artifact format and scoring: committed models must keep giving the committed scores.
/// Regenerate with `tests/fixtures/regenerate.sh` only when a change is meant to alter scores.
#[test]
fn golden_scores_of_the_committed_models() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = repo_file("");
    let read = |path: &Path| -> Vec<(String, f64, String, String, String)> {
        csv::Reader::from_path(path)
            .expect("scores")
            .records()
            .map(|r| {
                let r = r.expect("row");
                (
                    r[0].to_owned(),
                    r[1].parse().expect("probability"),
                    r[3].to_owned(),
                    r[4].to_owned(),
                    r[5].to_owned(),
                )
            })
            .collect()
    };
    for kind in ["logistic", "tree", "gbdt"] {
        let out = dir.path().join(format!("{kind}.csv"));
        success(
            &root,
            &[
                "score",
                "--model",
                &format!("tests/fixtures/golden-{kind}.json"),
                "--leads",
                "tests/fixtures/golden-leads.csv",
                "--events",
                "data/sample/events.csv",
                "--as-of",
                "2025-07-15",
                "--out",
                out.to_str().expect("utf-8"),
            ],
        );
        let actual = read(&out);
        let golden = read(&root.join(format!("tests/fixtures/golden-{kind}-scores.csv")));
        assert_eq!(actual.len(), 300);
        assert_eq!(actual.len(), golden.len());
        for (a, g) in actual.iter().zip(&golden) {
            assert_eq!(a.0, g.0);
            assert!(
                (a.1 - g.1).abs() < 1e-12,
                "{kind} {}: {} vs golden {}",
                a.0,
                a.1,
                g.1
            );
            assert_eq!((&a.2, &a.3, &a.4), (&g.2, &g.3, &g.4), "{kind} {}", a.0);
        }
    }
}

/// A landing page with a thousand levels: the model keeps the 50 most frequent as codes and
/// learns every page's won log-odds (out of fold), so it beats the page alone instead of being
/// refused as weaker than its own baseline; its validation AUC is within the test AUC's interval
/// on an independent export.
#[test]
fn a_high_cardinality_column_lifts_the_model_and_validation_tells_the_truth() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (train, test) = (dir.path().join("train.csv"), dir.path().join("test.csv"));
    write_landing_page_export(&train, 8_000, 1_000, 1);
    write_landing_page_export(&test, 4_000, 1_000, 2);
    let model = dir.path().join("pages.json");
    let data = ["--target", "Converted", "--id", "Lead Number"];
    let mut args = vec!["train", "--leads", train.to_str().expect("utf-8")];
    args.extend(data);
    args.extend(["--out", model.to_str().expect("utf-8"), "--json"]);
    let report = json(&success(dir.path(), &args));
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&model).expect("model")).expect("json");
    let page = saved["features"]["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .find(|c| c["name"] == "Landing Page")
        .expect("the page column");
    assert!(
        page["rates"]["levels"]
            .as_object()
            .expect("statistics")
            .len()
            > 300,
        "{page}"
    );
    let mut args = vec![
        "evaluate",
        "--model",
        model.to_str().expect("utf-8"),
        "--leads",
        test.to_str().expect("utf-8"),
    ];
    args.extend(data);
    args.push("--json");
    let evaluation = json(&success(dir.path(), &args));
    let validation = report["validation"]["metrics"]["auc"]
        .as_f64()
        .expect("auc");
    let tested = evaluation["auc"].as_f64().expect("auc");
    let interval = &evaluation["auc_interval"];
    let (low, high) = (
        interval[0].as_f64().expect("low"),
        interval[1].as_f64().expect("high"),
    );
    assert!(tested > 0.70, "test AUC {tested}");
    assert!(
        (low..=high).contains(&validation),
        "validation AUC {validation} outside the test interval [{low}, {high}]"
    );
}
