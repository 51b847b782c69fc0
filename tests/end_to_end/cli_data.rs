//! `leadscore generate` and `leadscore describe`, run as a user would.

use crate::common::{failure, full_bank_marketing, json, on_sample, repo_file, success};

#[test]
fn generate_is_deterministic_for_a_seed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = |seed: &str, out: &str| {
        success(
            dir.path(),
            &[
                "generate", "--leads", "1500", "--seed", seed, "--out", out, "--json",
            ],
        );
        ["leads.csv", "events.csv", "truth.csv"]
            .map(|f| std::fs::read(dir.path().join(out).join(f)).expect("file"))
    };
    let first = run("5", "a");
    assert_eq!(first, run("5", "b"));
    assert_ne!(first, run("6", "c"));
}

#[test]
fn generate_reports_a_funnel_with_an_oracle_auc() {
    let dir = tempfile::tempdir().expect("temp dir");
    let report = json(&success(
        dir.path(),
        &["generate", "--leads", "2000", "--out", "g", "--json"],
    ));
    let rate = report["conversion_rate"].as_f64().expect("rate");
    assert!((0.05..=0.20).contains(&rate), "{report}");
    let oracle = report["oracle_auc"].as_f64().expect("oracle");
    assert!(oracle > 0.75, "{report}");
    let truth = std::fs::read_to_string(dir.path().join("g/truth.csv")).expect("truth");
    let leads = std::fs::read_to_string(dir.path().join("g/leads.csv")).expect("leads");
    assert!(truth.starts_with("lead_id,true_probability"));
    assert!(
        !leads
            .lines()
            .next()
            .unwrap_or_default()
            .contains("probability"),
        "truth leaked into leads"
    );
}

#[test]
fn describe_the_bundled_sample_with_events() {
    let root = repo_file("");
    let out = json(&success(&root, &on_sample(&["describe"], &["--json"])));
    assert_eq!(out["rows"], 3000);
    let columns = out["columns"].as_array().expect("columns");
    let kind_of = |name: &str| {
        columns
            .iter()
            .find(|c| c["name"] == name)
            .map(|c| c["kind"].clone())
            .unwrap_or_default()
    };
    assert_eq!(kind_of("annual_revenue"), "numeric");
    assert_eq!(kind_of("job_level"), "categorical");
    let events = &out["events"];
    assert!(events["unknown_lead_rows"].as_u64().expect("count") > 0);
    assert!(events["duplicate_rows"].as_u64().expect("count") > 0);
    let human = success(&root, &on_sample(&["describe"], &[]));
    assert!(
        human.contains("annual_revenue") && human.contains("pricing_view"),
        "{human}"
    );
}

#[test]
fn describe_bank_marketing_with_only_target_and_positive() {
    let root = repo_file("");
    let sample = json(&success(
        &root,
        &[
            "describe",
            "--leads",
            "data/bank-marketing-sample.csv",
            "--target",
            "y",
            "--positive",
            "yes",
            "--json",
        ],
    ));
    assert_eq!(sample["balance"]["won"], 226);
    assert_eq!(sample["id_column"], "(row number)");
    let kinds: Vec<(String, String)> = sample["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .filter(|c| c["role"] == "feature")
        .map(|c| {
            (
                c["name"].as_str().unwrap_or_default().to_owned(),
                c["kind"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(kinds.len(), 20);
    for numeric in [
        "age",
        "duration",
        "campaign",
        "pdays",
        "previous",
        "emp.var.rate",
        "euribor3m",
        "nr.employed",
    ] {
        assert!(
            kinds.contains(&(numeric.to_owned(), "numeric".to_owned())),
            "{numeric}: {kinds:?}"
        );
    }
    for categorical in ["job", "marital", "education", "month", "poutcome"] {
        assert!(
            kinds.contains(&(categorical.to_owned(), "categorical".to_owned())),
            "{categorical}"
        );
    }
}

#[test]
#[ignore = "needs the full UCI Bank Marketing set in ../shared/data/bank-marketing (CI runs it: cargo test -- --include-ignored)"]
fn describe_the_full_bank_marketing_set() {
    let human = success(
        &repo_file(""),
        &[
            "describe",
            "--leads",
            full_bank_marketing().to_str().expect("path"),
            "--target",
            "y",
            "--positive",
            "yes",
        ],
    );
    assert!(
        human.contains("41188 leads") && human.contains("11.27%"),
        "{human}"
    );
}

#[test]
fn errors_are_one_line_with_a_non_zero_exit() {
    let root = repo_file("");
    let message = failure(
        &root,
        &[
            "describe",
            "--leads",
            "data/sample/leads.csv",
            "--target",
            "converted",
        ],
    );
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(
        message.starts_with("error: ") && message.contains("no outcome column `converted`"),
        "{message}"
    );
    let message = failure(&root, &["describe", "--leads", "no/such/file.csv"]);
    assert!(message.contains("no/such/file.csv"), "{message}");
    let message = failure(
        &root,
        &[
            "describe",
            "--leads",
            "data/bank-marketing-sample.csv",
            "--sep",
            ",",
            "--target",
            "y",
        ],
    );
    assert!(message.contains("looks ';'-separated"), "{message}");
}

/// `serve --demo` on a folder without a leads file stops before listening, naming the folder and
/// the bundled one; nothing is seeded.
#[test]
fn a_demo_folder_without_leads_is_refused_before_serving() {
    let dir = tempfile::tempdir().expect("temp dir");
    let empty = dir.path().join("no-sample");
    std::fs::create_dir(&empty).expect("folder");
    let db = dir.path().join("demo.db");
    let model = repo_file("tests/fixtures/golden-logistic.json");
    let stderr = failure(
        dir.path(),
        &[
            "serve",
            "--model",
            model.to_str().expect("utf-8"),
            "--db",
            db.to_str().expect("utf-8"),
            "--demo",
            empty.to_str().expect("utf-8"),
            "--listen",
            "127.0.0.1:0",
        ],
    );
    assert!(
        stderr
            .contains("no-sample: no leads.csv in that folder (the bundled sample is data/sample)"),
        "{stderr}"
    );
}
