//! Real exports the project had never seen, as a newcomer meets them: files to score that are a
//! few rows long or whose columns are constant, empty header cells, leaks that hide each other,
//! date and id columns under other names, weak models. Each fixture is built here.

use std::path::{Path, PathBuf};

use crate::common::{failure, json, on_sample, repo_file, success};

/// Trains the logistic model on the sample, once per test folder.
fn sample_model(dir: &Path) -> PathBuf {
    let model = dir.join("model.json");
    success(
        dir,
        &on_sample(
            &["train", "--models", "logistic"],
            &["--out", model.to_str().expect("utf-8")],
        ),
    );
    model
}

/// The sample's header and its first `rows` leads, with `edit` applied to each row's cells.
fn sample_rows(rows: usize, edit: impl Fn(&mut Vec<String>)) -> String {
    let text = std::fs::read_to_string(repo_file("data/sample/leads.csv")).expect("sample");
    let mut lines = text.lines();
    let mut out = format!("{}\n", lines.next().expect("header"));
    for line in lines.take(rows) {
        let mut cells: Vec<String> = line.split(',').map(str::to_owned).collect();
        edit(&mut cells);
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

/// `lead_id → probability` of a scored file.
fn probabilities(path: &Path) -> Vec<(String, f64)> {
    csv::Reader::from_path(path)
        .expect("scores")
        .records()
        .map(|r| {
            let r = r.expect("row");
            (r[0].to_owned(), r[1].parse().expect("probability"))
        })
        .collect()
}

fn score(dir: &Path, model: &Path, leads: &Path, extra: &[&str]) -> Vec<(String, f64)> {
    let out = dir.join("scores.csv");
    let mut args = vec![
        "score",
        "--model",
        model.to_str().expect("utf-8"),
        "--leads",
        leads.to_str().expect("utf-8"),
        "--events",
        crate::common::SAMPLE[3],
        "--as-of",
        "2025-07-15",
        "--out",
        out.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(extra);
    success(dir, &args);
    probabilities(&out)
}

/// A file being scored is read under the model's schema: a one-row file, a five-row file and a
/// file whose `email_domain` is the same in every row used to fail with "column `email_domain`
/// used by the model is missing" (the loader dropped single-valued columns from every file).
#[test]
fn tiny_and_constant_files_score_like_the_same_leads_in_the_full_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    let model = sample_model(dir);
    let full = score(dir, &model, &repo_file("data/sample/leads.csv"), &[]);
    let rules = repo_file("data/starter-rules.toml").display().to_string();
    for rows in [1, 5] {
        let path = dir.join(format!("{rows}.csv"));
        std::fs::write(&path, sample_rows(rows, |_| {})).expect("write");
        let scored = score(dir, &model, &path, &["--rules", &rules]);
        assert_eq!(scored, full[..rows], "{rows} rows");
    }
    // `email_domain` is column 10: "business" in every row of an 1,800-lead file.
    let constant = dir.join("constant.csv");
    std::fs::write(
        &constant,
        sample_rows(1_800, |cells| cells[9] = "business".to_owned()),
    )
    .expect("write");
    let scored = score(dir, &model, &constant, &["--rules", &rules]);
    assert_eq!(scored.len(), 1_800);
    let evaluated = json(&success(
        dir,
        &[
            "evaluate",
            "--model",
            model.to_str().expect("utf-8"),
            "--leads",
            constant.to_str().expect("utf-8"),
            "--events",
            crate::common::SAMPLE[3],
            "--json",
        ],
    ));
    assert!(evaluated["auc"].as_f64().expect("auc") > 0.6, "{evaluated}");
    let compared = json(&success(
        &repo_file(""),
        &[
            "compare",
            "--model",
            model.to_str().expect("utf-8"),
            "--rules",
            "data/starter-rules.toml",
            "--leads",
            constant.to_str().expect("utf-8"),
            "--events",
            crate::common::SAMPLE[3],
            "--whole-file",
            "--resamples",
            "20",
            "--json",
        ],
    ));
    assert!(
        compared["leads"].as_u64().expect("leads") > 1_000,
        "{compared}"
    );
    // An all-empty numeric column is read as missing values of the model's numeric column.
    let empty = dir.join("empty.csv");
    std::fs::write(&empty, sample_rows(50, |cells| cells[10].clear())).expect("write");
    assert_eq!(score(dir, &model, &empty, &[]).len(), 50);
}

/// An empty header cell keeps its column under a positional name instead of shifting or
/// losing it, and says so.
#[test]
fn an_empty_header_cell_keeps_its_column() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("export.csv");
    let mut text = String::from("lead_id,,segment,outcome\n");
    for i in 0..400 {
        let won = i % 4 == 0;
        text.push_str(&format!(
            "L{i},{},{},{}\n",
            if won { "hot" } else { "cold" },
            ["a", "b"][i % 2],
            if won { "won" } else { "lost" }
        ));
    }
    std::fs::write(&path, text).expect("write");
    let described = json(&success(
        dir.path(),
        &[
            "describe",
            "--leads",
            path.to_str().expect("utf-8"),
            "--json",
        ],
    ));
    let columns = described["columns"].as_array().expect("columns");
    let mut names: Vec<&str> = columns.iter().filter_map(|c| c["name"].as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["lead_id", "outcome", "segment", "unnamed_2"]);
    let notices = described["notices"].to_string();
    assert!(
        notices.contains("column 2 has an empty header"),
        "{notices}"
    );
    let message = failure(
        dir.path(),
        &[
            "describe",
            "--leads",
            path.to_str().expect("utf-8"),
            "--exclude",
            "nope",
        ],
    );
    assert!(message.contains("unnamed_2"), "{message}");
}

/// A generated export with the shapes seen in the field: dates under other names (one of them a
/// close date, known only after the outcome and strongly "predictive"), and a sequential id.
fn export_with_dates_and_ids(dir: &Path) -> PathBuf {
    let path = dir.join("export.csv");
    let mut text =
        String::from("Lead Number,engage_date,close_date,first_contact_date,source,Converted\n");
    for i in 0..1_500u64 {
        let hash = i.wrapping_mul(2_654_435_761) % 1_000;
        let source = ["web", "referral", "event", "partner"][(hash % 4) as usize];
        let chance = if source == "referral" { 450 } else { 180 };
        let won = (i * 7_919 + 13) % 1_000 < chance;
        // Sales records won deals as closed within days and lost ones weeks later: a leak.
        let close_day = if won { 1 + i % 9 } else { 10 + i % 19 };
        text.push_str(&format!(
            "{},2024-{:02}-{:02},2024-{:02}-{:02},{:02}/{:02}/2024,{source},{}\n",
            660_737 - i,
            1 + i % 12,
            1 + i % 28,
            1 + i % 12,
            close_day,
            1 + i % 28,
            1 + i % 12,
            u8::from(won)
        ));
    }
    std::fs::write(&path, text).expect("write");
    path
}

/// Dates under any name are never features (a close date least of all), sequential ids neither;
/// `describe` and `train` say so with the flag to use instead.
#[test]
fn dates_and_ids_under_other_names_are_not_features() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = export_with_dates_and_ids(dir.path());
    let path = path.to_str().expect("utf-8");
    let described = json(&success(
        dir.path(),
        &[
            "describe",
            "--leads",
            path,
            "--target",
            "Converted",
            "--json",
        ],
    ));
    let excluded = |name: &str| -> String {
        described["columns"]
            .as_array()
            .expect("columns")
            .iter()
            .find(|c| c["name"] == name)
            .filter(|c| c["role"] == "excluded")
            .map(|c| c["summary"].as_str().unwrap_or_default().to_owned())
            .unwrap_or_else(|| panic!("{name} is not excluded: {described}"))
    };
    assert!(excluded("close_date").contains("known only after the outcome"));
    assert!(excluded("engage_date").contains("--created-at engage_date"));
    assert!(excluded("first_contact_date").contains("looks like a date"));
    assert!(excluded("Lead Number").contains("identifier"));
    let model = dir.path().join("m.json");
    let train_logistic = |extra: &[&str]| {
        let mut args = vec![
            "train",
            "--leads",
            path,
            "--target",
            "Converted",
            "--models",
            "logistic",
            "--out",
            model.to_str().expect("utf-8"),
        ];
        args.extend_from_slice(extra);
        success(dir.path(), &args)
    };
    let report = json(&train_logistic(&["--json"]));
    let sources = report["importance"].to_string();
    assert!(sources.contains("\"source\""), "{sources}");
    for name in ["close_date", "engage_date", "Lead Number"] {
        assert!(!sources.contains(name), "{name} is a feature: {sources}");
    }
    let warnings = report["warnings"].to_string();
    assert!(warnings.contains("--closed-at close_date"), "{warnings}");
    // The explicit opt-in still works, with a warning.
    let human = train_logistic(&["--categorical", "close_date"]);
    assert!(
        human.contains("--categorical makes it a feature"),
        "{human}"
    );
}

/// A deterministic pseudo-random share in [0, 1) for (row, salt).
fn unit(row: usize, salt: u64) -> f64 {
    let mix = |mut h: u64| {
        h = (h ^ (h >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        h = (h ^ (h >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        h ^ (h >> 31)
    };
    (mix(mix(salt) ^ row as u64) >> 11) as f64 / (1u64 << 53) as f64
}

fn pick<'a>(u: f64, options: &[(&'a str, f64)]) -> &'a str {
    let mut cumulative = 0.0;
    for (value, share) in options {
        cumulative += share;
        if u < cumulative {
            return value;
        }
    }
    options[options.len() - 1].0
}

/// Three columns sales fills in after contact — a tag, a quality grade, the last notable activity —
/// on closed leads only (no open lead to give them away): each alone is only good, together they
/// are near-perfect, and the old check flagged none of them.
#[test]
fn leaks_that_mask_each_other_are_all_flagged() {
    let dir = tempfile::tempdir().expect("temp dir");
    let generated = dir.path().join("generated");
    success(
        dir.path(),
        &[
            "generate",
            "--leads",
            "6000",
            "--seed",
            "7",
            "--out",
            generated.to_str().expect("utf-8"),
        ],
    );
    let text = std::fs::read_to_string(generated.join("leads.csv")).expect("leads");
    let mut lines = text.lines();
    let mut out = format!(
        "{},tags,lead_quality,last_notable_activity\n",
        lines.next().expect("header")
    );
    for (row, line) in lines.enumerate() {
        let won = line.contains(",won,");
        if !won && !line.contains(",lost,") {
            continue;
        }
        let (tags, quality, activity) = if won {
            (
                pick(
                    unit(row, 1),
                    &[
                        ("Will revert after reading the email", 0.55),
                        ("Closed by Horizzon", 0.2),
                        ("", 0.25),
                    ],
                ),
                pick(
                    unit(row, 2),
                    &[("High in Relevance", 0.45), ("Might be", 0.35), ("", 0.2)],
                ),
                pick(
                    unit(row, 3),
                    &[("SMS Sent", 0.6), ("Modified", 0.2), ("Email Opened", 0.2)],
                ),
            )
        } else {
            (
                pick(
                    unit(row, 1),
                    &[
                        ("Ringing", 0.35),
                        ("Interested in other courses", 0.2),
                        ("Will revert after reading the email", 0.15),
                        ("", 0.3),
                    ],
                ),
                pick(
                    unit(row, 2),
                    &[
                        ("Might be", 0.25),
                        ("Not Sure", 0.25),
                        ("Worst", 0.15),
                        ("", 0.35),
                    ],
                ),
                pick(
                    unit(row, 3),
                    &[
                        ("SMS Sent", 0.1),
                        ("Modified", 0.55),
                        ("Email Opened", 0.35),
                    ],
                ),
            )
        };
        out.push_str(&format!("{line},{tags},{quality},{activity}\n"));
    }
    let leads = dir.path().join("export.csv");
    std::fs::write(&leads, out).expect("write");
    let leads = leads.to_str().expect("utf-8");
    let model = dir.path().join("m.json");
    let model = model.to_str().expect("utf-8");
    let report = json(&success(
        dir.path(),
        &[
            "train", "--leads", leads, "--models", "logistic", "--out", model, "--json",
        ],
    ));
    let mut flagged: Vec<&str> = report["report"]["leak_warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter_map(|w| w["column"].as_str())
        .collect();
    flagged.sort_unstable();
    assert_eq!(
        flagged,
        ["last_notable_activity", "lead_quality", "tags"],
        "{report}"
    );
    let human = success(
        dir.path(),
        &[
            "train", "--leads", leads, "--models", "logistic", "--out", model,
        ],
    );
    assert!(
        human.contains("pass --exclude tags,lead_quality,last_notable_activity"),
        "{human}"
    );
    let cleaned = json(&success(
        dir.path(),
        &[
            "train",
            "--leads",
            leads,
            "--models",
            "logistic",
            "--exclude-leaks",
            "--out",
            model,
            "--json",
        ],
    ));
    let auc = cleaned["validation"]["metrics"]["auc"]
        .as_f64()
        .expect("auc");
    assert!(
        auc < 0.9,
        "without the leaks the model is honest again: {auc}"
    );
}

/// Outcomes that nothing predicts: the model is no better than chance, and `train` says so and
/// exits non-zero instead of writing tiers and a model file.
#[test]
fn a_model_no_better_than_chance_is_refused_unless_allowed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("noise.csv");
    let mut text = String::from("lead_id,segment,size,outcome\n");
    for row in 0..1_200 {
        text.push_str(&format!(
            "L{row},{},{},{}\n",
            ["a", "b", "c"][row % 3],
            (unit(row, 9) * 100.0).round(),
            if unit(row, 4) < 0.3 { "won" } else { "lost" }
        ));
    }
    std::fs::write(&path, text).expect("write");
    let model = dir.path().join("m.json");
    let args = [
        "train",
        "--leads",
        path.to_str().expect("utf-8"),
        "--models",
        "logistic",
        "--out",
        model.to_str().expect("utf-8"),
    ];
    let message = failure(dir.path(), &args);
    assert!(
        message.contains("no better than chance") && message.contains("--allow-weak"),
        "{message}"
    );
    assert!(!model.exists(), "no model file is written");
    let allowed = json(&success(
        dir.path(),
        &[&args[..], &["--allow-weak", "--json"]].concat(),
    ));
    assert!(
        allowed["report"]["weak"]
            .as_str()
            .is_some_and(|w| w.contains("includes 0.5")),
        "{allowed}"
    );
    assert!(model.exists());
}

/// Scoring the bundled sample "now", long after its data ends, scores its open leads as gone
/// cold: `score` says so and names the --as-of to pass; with it, no warning.
#[test]
fn scoring_far_beyond_the_data_is_warned_about() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("s.csv");
    let rules = repo_file("data/starter-rules.toml").display().to_string();
    let args = on_sample(
        &["score", "--rules", &rules],
        &["--out", out.to_str().expect("utf-8"), "--json"],
    );
    let output = crate::common::leadscore(dir.path(), &args);
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("open leads are scored at") && stderr.contains("pass --as-of 2025-"),
        "{stderr}"
    );
    let summary = json(&String::from_utf8_lossy(&output.stdout));
    assert_eq!(summary["warnings"].as_array().map(Vec::len), Some(1));
    let quiet = crate::common::leadscore(
        dir.path(),
        &[&args[..], &["--as-of", "2025-07-01"]].concat(),
    );
    assert!(!String::from_utf8_lossy(&quiet.stderr).contains("open leads are scored"));
}

/// One normalisation rule for the model, the rules and the API: "VP", " vp" and "vp" are one
/// level everywhere (they scored 0.073 and 0.195 before), and a level the model never learned is
/// named in the answer's warnings.
#[tokio::test(flavor = "multi_thread")]
async fn levels_differing_in_case_score_the_same_everywhere() {
    use axum::body::{Body, to_bytes};
    use axum::http::{Request, header};
    use tower::ServiceExt;

    let dir = tempfile::tempdir().expect("temp dir");
    let model = sample_model(dir.path());
    let file = dir.path().join("case.csv");
    let row = |id: &str, level: &str| {
        format!("{id},2025-06-01,,,software,201-1000,{level},US,referral,business,25000000\n")
    };
    let header = "lead_id,created_at,closed_at,outcome,industry,company_size,job_level,country,lead_source,email_domain,annual_revenue\n";
    std::fs::write(
        &file,
        format!(
            "{header}{}{}{}",
            row("A", "VP"),
            row("B", " vp"),
            row("C", "vp")
        ),
    )
    .expect("write");
    let rules = repo_file("data/starter-rules.toml");
    let scored = score(
        dir.path(),
        &model,
        &file,
        &["--rules", rules.to_str().expect("utf-8")],
    );
    assert_eq!(scored[0].1, scored[2].1, "{scored:?}");
    assert_eq!(scored[1].1, scored[2].1, "{scored:?}");

    let state = leadscore_server::AppState::new(leadscore_server::ServerConfig {
        model: Some(model),
        rules: Some(rules),
        ..leadscore_server::ServerConfig::default()
    })
    .expect("state");
    let router = leadscore_server::app(state);
    let mut answers = Vec::new();
    for level in ["VP", " vp ", "vp", "astronaut"] {
        let body = serde_json::json!({
            "lead_id": "L1",
            "attributes": {"job_level": level, "industry": "software", "country": "US"},
            "as_of": "2025-07-15",
        });
        let response = router
            .clone()
            .oneshot(
                Request::post("/v1/score")
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(body.to_string()))
                    .expect("request"),
            )
            .await
            .expect("answer");
        let bytes = to_bytes(response.into_body(), 1 << 20).await.expect("body");
        answers.push(json(&String::from_utf8_lossy(&bytes)));
    }
    let probability = |a: &serde_json::Value| a["probability"].as_f64().expect("probability");
    assert_eq!(probability(&answers[0]), probability(&answers[2]));
    assert_eq!(probability(&answers[1]), probability(&answers[2]));
    assert_eq!(answers[0]["points"]["total"], answers[2]["points"]["total"]);
    assert_eq!(answers[0]["points"]["grade"], answers[2]["points"]["grade"]);
    let warnings = answers[3]["warnings"].to_string();
    assert!(
        warnings.contains("`job_level`") && warnings.contains("`astronaut`"),
        "{}",
        answers[3]
    );
    assert!(answers[2].get("warnings").is_none(), "{}", answers[2]);
}

/// The README's commands as written: `outcomes import FILE` takes the file as an argument, a
/// report on a database that does not exist fails instead of creating an empty one, and a model
/// is named after its `--out` file.
#[test]
fn readme_commands_work_as_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("scores.db");
    let db = db.to_str().expect("utf-8");
    let imported = json(&success(
        dir.path(),
        &[
            "outcomes",
            "import",
            crate::common::SAMPLE[1],
            "--db",
            db,
            "--json",
        ],
    ));
    assert_eq!(imported["inserted"], 2767, "{imported}");
    let missing = dir.path().join("missing.db");
    let message = failure(
        dir.path(),
        &[
            "experiment",
            "report",
            "--name",
            "e",
            "--db",
            missing.to_str().expect("utf-8"),
        ],
    );
    assert!(message.contains("does not exist"), "{message}");
    assert!(!missing.exists(), "no empty database is created");
    let model = dir.path().join("models/acme-2026.json");
    let report = json(&success(
        dir.path(),
        &on_sample(
            &["train", "--models", "logistic"],
            &["--out", model.to_str().expect("utf-8"), "--json"],
        ),
    ));
    assert_eq!(report["name"], "acme-2026");
}
