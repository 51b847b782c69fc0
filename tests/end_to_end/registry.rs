//! The README's monthly retrain with the real binary: train into the registry, diff, shadow,
//! promote, rollback, and the refusals a user meets on the way.

use std::path::Path;

use crate::common::{failure, json, success};

fn train(dir: &Path, export: &str, models: &str) -> serde_json::Value {
    json(&success(
        dir,
        &[
            "train",
            "--leads",
            &format!("exports/{export}/leads.csv"),
            "--events",
            &format!("exports/{export}/events.csv"),
            "--name",
            "acme",
            "--models",
            models,
            "--registry",
            "models",
            "--json",
        ],
    ))
}

#[test]
fn a_monthly_retrain_goes_through_diff_shadow_promote_and_rollback() {
    let work = tempfile::tempdir().expect("tempdir");
    let dir = work.path();
    for (export, seed) in [("march", "1"), ("april", "2")] {
        success(
            dir,
            &[
                "generate",
                "--leads",
                "1500",
                "--seed",
                seed,
                "--out",
                &format!("exports/{export}"),
            ],
        );
    }
    let listed = json(&success(dir, &["models", "list", "--json"]));
    assert_eq!(listed, serde_json::json!([]));

    let march = train(dir, "march", "logistic");
    assert_eq!(march["champion"], true, "{march}");
    let first = march["version"].as_str().expect("version").to_owned();
    assert!(
        Path::new(march["model_file"].as_str().expect("file"))
            .ends_with(format!("models/acme/{first}.json")),
        "{march}"
    );
    // Versions are the training time to the second: the next one must not collide.
    std::thread::sleep(std::time::Duration::from_millis(1_100));
    let april = train(dir, "april", "gbdt");
    assert_eq!(april["champion"], false, "{april}");
    let second = april["version"].as_str().expect("version").to_owned();

    let listed = json(&success(dir, &["models", "list", "--json"]));
    assert_eq!(listed[0]["champion"], first.as_str());
    assert_eq!(listed[0]["versions"][1]["version"], second.as_str());
    assert_eq!(listed[0]["versions"][1]["kind"], "gbdt");

    let diff = json(&success(dir, &["models", "diff", "acme", "--json"]));
    assert_eq!(
        diff["old_version"],
        first.as_str(),
        "champion first by default"
    );
    assert_eq!(
        diff["new_version"],
        second.as_str(),
        "newest second by default"
    );
    let auc = diff["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["what"] == "validation AUC")
        .cloned()
        .expect("AUC row");
    let expected = april["validation"]["metrics"]["auc"].as_f64().expect("auc")
        - march["validation"]["metrics"]["auc"].as_f64().expect("auc");
    assert!(
        (auc["change"].as_f64().expect("change") - expected).abs() < 1e-12,
        "{auc}"
    );
    let table = success(dir, &["models", "diff", "acme"]);
    assert!(
        table.contains("validation AUC") && table.contains("features added"),
        "{table}"
    );

    let shadow = json(&success(
        dir,
        &["models", "shadow", "acme", &second, "--json"],
    ));
    assert_eq!(shadow["challenger"], second.as_str());
    let promoted = json(&success(
        dir,
        &["models", "promote", "acme", &second, "--json"],
    ));
    assert_eq!(promoted["champion"], second.as_str());
    assert_eq!(promoted["challenger"], serde_json::Value::Null);
    let rolled = success(dir, &["models", "rollback", "acme"]);
    assert!(rolled.contains(&format!("champion {first}")), "{rolled}");

    let shown = json(&success(dir, &["models", "show", "acme", "--json"]));
    let actions: Vec<&str> = shown["log"]
        .as_array()
        .expect("log")
        .iter()
        .map(|e| e["action"].as_str().expect("action"))
        .collect();
    assert_eq!(
        actions,
        ["register", "register", "shadow", "promote", "rollback"]
    );
    assert_eq!(shown["versions"][0]["role"], "champion");

    let unknown = failure(dir, &["models", "promote", "acme", "20990101-000000"]);
    assert!(
        unknown.contains(&format!("versions: {first}, {second}")),
        "{unknown}"
    );
    let again = failure(dir, &["models", "rollback", "acme"]);
    assert!(again.contains("no earlier champion"), "{again}");
    let other = failure(dir, &["models", "show", "other"]);
    assert!(
        other.contains("no model named `other`") && other.contains("acme"),
        "{other}"
    );
    let both = failure(dir, &["train", "--registry", "models", "--out", "x.json"]);
    assert!(both.contains("cannot be used with"), "{both}");

    // A broken file in the folder is listed with its problem; it hides nothing else.
    std::fs::write(dir.join("models/acme/20990101-000000.json"), "{ truncated").expect("write");
    let listed = json(&success(dir, &["models", "list", "--json"]));
    let versions = listed[0]["versions"].as_array().expect("versions");
    assert_eq!(versions.len(), 3);
    assert_eq!(versions[0]["kind"], "logistic");
    let problem = versions[2]["problem"].as_str().expect("a problem");
    assert!(problem.contains("20990101-000000.json"), "{problem}");
    let table = success(dir, &["models", "show", "acme"]);
    assert!(table.contains("unreadable"), "{table}");
}
