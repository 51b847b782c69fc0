//! Revenue, not only conversions: on generated leads whose deal sizes depend on company size,
//! industry and seniority, a model trained with `--value` ranks an independent holdout by
//! expected value and routes more revenue to the top 20% than ranking by probability, with a
//! bootstrap interval above 0, as the generator's truth says it should.

use std::path::Path;

use leadscore_metrics::Ranking;

use serde_json::json;

use crate::common::{failure, json, repo_file, success};

/// Columns of a CSV file by name.
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_path(path).expect("csv");
    let headers = reader
        .headers()
        .expect("headers")
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.expect("row").iter().map(str::to_owned).collect())
        .collect();
    (headers, rows)
}

fn column(headers: &[String], name: &str) -> usize {
    headers
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name}"))
}

#[test]
fn ranking_by_expected_value_routes_more_revenue_than_by_probability() {
    let work = tempfile::tempdir().expect("tempdir");
    let dir = work.path();
    for (folder, leads, seed) in [("train", "8000", "5"), ("holdout", "4000", "6")] {
        success(
            dir,
            &[
                "generate",
                "--leads",
                leads,
                "--seed",
                seed,
                "--deal-values",
                "--out",
                folder,
            ],
        );
    }

    // The truth: on the holdout's closed leads, true expected value ranks revenue better than the
    // true probability alone (otherwise the test would prove nothing).
    let (headers, leads) = read_csv(&dir.join("holdout/leads.csv"));
    let (truth_headers, truth) = read_csv(&dir.join("holdout/truth.csv"));
    let (outcome, value) = (column(&headers, "outcome"), column(&headers, "deal_value"));
    let (probability, expected) = (
        column(&truth_headers, "true_probability"),
        column(&truth_headers, "expected_deal_value"),
    );
    let closed: Vec<usize> = (0..leads.len())
        .filter(|&r| leads[r][outcome] != "open")
        .collect();
    let revenue: Vec<f64> = closed
        .iter()
        .map(|&r| leads[r][value].parse().unwrap_or(0.0))
        .collect();
    let true_p: Vec<f64> = closed
        .iter()
        .map(|&r| truth[r][probability].parse().expect("p"))
        .collect();
    let true_ev: Vec<f64> = closed
        .iter()
        .zip(&true_p)
        .map(|(&r, p)| p * truth[r][expected].parse::<f64>().expect("value"))
        .collect();
    let share = |scores: &[f64]| {
        let ranked = Ranking::weighted(scores, &revenue);
        ranked.positives_in_top(0.2) / ranked.total()
    };
    assert!(
        share(&true_ev) > share(&true_p) + 0.05,
        "the truth rewards expected value"
    );

    let report = json(&success(
        dir,
        &[
            "train",
            "--leads",
            "train/leads.csv",
            "--events",
            "train/events.csv",
            "--value",
            "deal_value",
            "--models",
            "logistic",
            "--out",
            "model.json",
            "--json",
        ],
    ));
    assert!(report["model_file"].is_string());
    let model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("model.json")).expect("model"))
            .expect("JSON");
    let validation = &model["value"]["model"]["validation"];
    assert_eq!(model["value"]["column"], "deal_value");
    assert_eq!(validation["chosen"], "regression", "{validation}");
    // The generator's spread of ln(value) is 0.6: the regression gets close; the mean does not,
    // and the best segment mean (company size alone) does worse than the regression.
    let rmse = |name: &str| {
        validation["candidates"]
            .as_array()
            .expect("candidates")
            .iter()
            .find(|c| c["name"] == name)
            .and_then(|c| c["rmse_log"].as_f64())
            .unwrap_or_else(|| panic!("no candidate {name}: {validation}"))
    };
    assert!(rmse("regression") < 0.7, "{validation}");
    assert!(rmse("mean") > 1.0, "{validation}");
    assert!(
        rmse("mean per company_size") > rmse("regression"),
        "{validation}"
    );

    let rules = repo_file("data/starter-rules.toml");
    let comparison = json(&success(
        dir,
        &[
            "compare",
            "--model",
            "model.json",
            "--rules",
            rules.to_str().expect("utf-8"),
            "--leads",
            "holdout/leads.csv",
            "--events",
            "holdout/events.csv",
            "--value",
            "deal_value",
            "--json",
        ],
    ));
    let revenue_report = &comparison["revenue"];
    let by_value = &revenue_report["differences"][0];
    assert_eq!(
        by_value["what"],
        "share of revenue in the top 20%: expected value minus probability"
    );
    let (estimate, low, high) = (
        by_value["estimate"].as_f64().expect("estimate"),
        by_value["low"].as_f64().expect("low"),
        by_value["high"].as_f64().expect("high"),
    );
    assert!(
        low > 0.0 && low <= estimate && estimate <= high,
        "{by_value}"
    );
    assert_eq!(
        by_value["verdict"],
        "ranking by expected value is better (95% interval above 0)"
    );
    let top = &revenue_report["captured"][2];
    assert_eq!(top["share"], 0.2);
    assert!(
        (top["by_expected_value"].as_f64().expect("ev")
            - top["by_probability"].as_f64().expect("p")
            - estimate)
            .abs()
            < 1e-12,
        "{top}"
    );
    eprintln!(
        "revenue in the top 20%: by expected value {:.3}, by probability {:.3}, by points {:.3}; difference {estimate:+.3} [{low:+.3}, {high:+.3}]",
        top["by_expected_value"], top["by_probability"], top["by_points"]
    );

    // Every scored lead carries its expected value, and the same model scores without it
    // when no value model is in the file.
    success(
        dir,
        &[
            "score",
            "--model",
            "model.json",
            "--leads",
            "holdout/leads.csv",
            "--events",
            "holdout/events.csv",
            "--out",
            "scores.csv",
        ],
    );
    let (score_headers, scores) = read_csv(&dir.join("scores.csv"));
    let (p, value_if_won, ev) = (
        column(&score_headers, "probability"),
        column(&score_headers, "value_if_won"),
        column(&score_headers, "expected_value"),
    );
    for row in scores.iter().take(50) {
        let parse = |i: usize| row[i].parse::<f64>().expect("number");
        assert!((parse(p) * parse(value_if_won) - parse(ev)).abs() <= 1e-9 * parse(ev).max(1.0));
    }
}

#[test]
fn deal_values_that_cannot_be_amounts_name_their_line() {
    let work = tempfile::tempdir().expect("tempdir");
    let dir = work.path();
    success(
        dir,
        &[
            "generate",
            "--leads",
            "600",
            "--seed",
            "3",
            "--deal-values",
            "--out",
            "data",
        ],
    );
    let text = std::fs::read_to_string(dir.join("data/leads.csv")).expect("leads");
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let won = lines
        .iter()
        .position(|l| l.contains(",won,"))
        .expect("a won lead");
    let (head, _) = lines[won].rsplit_once(',').expect("value cell");
    lines[won] = format!("{head},-500");
    std::fs::write(dir.join("data/bad.csv"), lines.join("\n") + "\n").expect("write");
    let error = failure(
        dir,
        &[
            "train",
            "--leads",
            "data/bad.csv",
            "--value",
            "deal_value",
            "--out",
            "m.json",
        ],
    );
    assert!(error.contains(&format!("line {}", won + 1)), "{error}");
    assert!(
        error.contains("deal_value") && error.contains("above 0"),
        "{error}"
    );
    let error = failure(
        dir,
        &[
            "train",
            "--leads",
            "data/leads.csv",
            "--value",
            "amount",
            "--out",
            "m.json",
        ],
    );
    assert!(
        error.contains("amount") && error.contains("deal_value"),
        "{error}"
    );
}

/// Sends a request to the router; the status and the JSON answer.
async fn call(
    router: &axum::Router,
    request: axum::http::Request<axum::body::Body>,
) -> (axum::http::StatusCode, serde_json::Value) {
    use tower::ServiceExt;
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    (status, serde_json::from_slice(&bytes).expect("JSON"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_live_experiment_reports_revenue_per_routed_lead_when_outcomes_carry_amounts() {
    use axum::body::Body;
    use axum::http::{Request, StatusCode, header};
    use leadscore_data::{EventLog, EventsOptions, LeadsOptions, LeadsTable, time};
    use leadscore_server::{AppState, ServerConfig, app, seed_demo};

    let work = tempfile::tempdir().expect("tempdir");
    let dir = work.path();
    success(
        dir,
        &[
            "generate",
            "--leads",
            "3000",
            "--seed",
            "8",
            "--deal-values",
            "--out",
            "data",
        ],
    );
    let state = AppState::new(ServerConfig {
        model: Some(repo_file("tests/fixtures/golden-logistic.json")),
        rules: Some(repo_file("data/starter-rules.toml")),
        experiments: Some(repo_file("data/demo-experiments.toml")),
        db: Some(dir.join("scores.db")),
        api_keys: vec!["k".to_owned()],
        ..ServerConfig::default()
    })
    .expect("state");
    let engine = state.engine();
    let options = LeadsOptions {
        value: Some("deal_value".to_owned()),
        ..leadscore_score::scoring_leads_options(
            &LeadsOptions::default(),
            engine.scorer.model(),
            engine.scorer.rules(),
        )
    };
    let leads = LeadsTable::load(&dir.join("data/leads.csv"), &options).expect("leads");
    let events = EventLog::load(
        &dir.join("data/events.csv"),
        &EventsOptions::default(),
        &leads,
    )
    .expect("events");
    // The demo history records the won leads' amounts with their outcomes.
    seed_demo(&state, &leads, Some(&events), time::now())
        .expect("seeded")
        .expect("an empty database");
    let router = app(state);
    let (status, report) = call(
        &router,
        Request::get("/v1/experiments/points-vs-predictive")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let revenue = &report["revenue"];
    let arms = revenue["arms"].as_array().expect("arms");
    assert_eq!(arms.len(), 2, "{revenue}");
    for (arm, counts) in arms.iter().zip(report["arms"].as_array().expect("arms")) {
        assert_eq!(arm["arm"], counts["arm"]);
        assert_eq!(arm["routed_closed"], counts["routed_closed"]);
        let per_lead = arm["per_routed_lead"].as_f64().expect("mean");
        let total = arm["revenue"].as_f64().expect("revenue");
        let closed = arm["routed_closed"].as_f64().expect("count");
        assert!(
            (per_lead - total / closed).abs() < 1e-6 * per_lead.max(1.0),
            "{arm}"
        );
        let (low, high) = (
            arm["interval"][0].as_f64().expect("low"),
            arm["interval"][1].as_f64().expect("high"),
        );
        assert!(low <= per_lead && per_lead <= high && low >= 0.0, "{arm}");
    }
    let difference = &revenue["difference"];
    let estimate = difference["difference"].as_f64().expect("difference");
    let (low, high) = (
        difference["interval"][0].as_f64().expect("low"),
        difference["interval"][1].as_f64().expect("high"),
    );
    assert!(low <= estimate && estimate <= high, "{difference}");
    let verdict = difference["verdict"].as_str().expect("verdict");
    assert_eq!(
        low > 0.0 || high < 0.0,
        !verdict.starts_with("too close"),
        "{difference}"
    );
    eprintln!(
        "experiment revenue per routed lead: {} {:.0} [{:.0}, {:.0}], {} {:.0} [{:.0}, {:.0}]; {verdict}",
        arms[0]["arm"],
        arms[0]["per_routed_lead"].as_f64().unwrap_or_default(),
        arms[0]["interval"][0].as_f64().unwrap_or_default(),
        arms[0]["interval"][1].as_f64().unwrap_or_default(),
        arms[1]["arm"],
        arms[1]["per_routed_lead"].as_f64().unwrap_or_default(),
        arms[1]["interval"][0].as_f64().unwrap_or_default(),
        arms[1]["interval"][1].as_f64().unwrap_or_default(),
    );

    // The command line reads the same report from the same database.
    let printed = json(&success(
        dir,
        &[
            "experiment",
            "report",
            "--name",
            "points-vs-predictive",
            "--db",
            "scores.db",
            "--json",
        ],
    ));
    assert_eq!(printed["revenue"], *revenue);

    // Amounts are checked like every field: named, and never on a lost deal.
    for (outcome, amount, problem) in [
        ("lost", json!(1200.0), "a lost deal has no amount"),
        ("won", json!(-5.0), "above 0"),
    ] {
        let body =
            json!({"outcomes": [{"lead_id": "L0000001", "outcome": outcome, "amount": amount}]});
        let (status, answer) = call(
            &router,
            Request::post("/v1/outcomes")
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::AUTHORIZATION, "Bearer k")
                .body(Body::from(body.to_string()))
                .expect("request"),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        assert_eq!(answer["field"], "outcomes[0].amount");
        assert!(
            answer["detail"]
                .as_str()
                .is_some_and(|d| d.contains(problem)),
            "{answer}"
        );
    }
}
