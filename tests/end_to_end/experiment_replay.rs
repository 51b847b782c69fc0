//! The live A/B workflow end to end: a generated set replayed through the server with a 50/50
//! experiment (starter points rules against the predictive model), the true outcomes imported,
//! and the report picking the better arm — or saying the sample is too small.

use std::path::Path;

use crate::common::{json, success};
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use leadscore_server::{AppState, ServerConfig, app};
use serde_json::{Value, json};
use tower::ServiceExt;

/// Both arms route about the top 20% of leads by their own ranking: the points arm at the threshold
/// `leadscore points threshold --capacity 0.2` recommends from history, so that the arms are
/// compared at the same sales capacity.
const EXPERIMENTS: &str = r#"
[[experiment]]
name = "points-vs-predictive"
[[experiment.arm]]
name = "points"
share = 0.5
policy = "points_threshold"
value = THRESHOLD
[[experiment.arm]]
name = "predictive"
share = 0.5
policy = "model_top_share"
value = 0.2
"#;

async fn call(router: &Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let bytes = to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn post(path: &str, body: &Value) -> Request<Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, "Bearer key")
        .body(Body::from(body.to_string()))
        .expect("request")
}

/// Closed leads of a generated file as score requests at their close date, with their outcomes.
fn closed_leads(folder: &Path) -> Vec<(Value, bool)> {
    let mut events: std::collections::HashMap<String, Vec<Value>> = Default::default();
    for record in csv::Reader::from_path(folder.join("events.csv"))
        .expect("events")
        .records()
    {
        let record = record.expect("event");
        events
            .entry(record[0].to_owned())
            .or_default()
            .push(json!({"type": &record[2], "timestamp": &record[1]}));
    }
    let mut reader = csv::Reader::from_path(folder.join("leads.csv")).expect("leads");
    let names: Vec<String> = reader
        .headers()
        .expect("headers")
        .iter()
        .map(str::to_owned)
        .collect();
    let mut leads = Vec::new();
    for record in reader.records() {
        let record = record.expect("lead");
        let field =
            |name: &str| record[names.iter().position(|n| n == name).expect("column")].to_owned();
        let outcome = field("outcome");
        if outcome != "won" && outcome != "lost" {
            continue;
        }
        let attributes: serde_json::Map<String, Value> = names
            .iter()
            .zip(record.iter())
            .filter(|(n, _)| {
                !["lead_id", "created_at", "closed_at", "outcome"].contains(&n.as_str())
            })
            .map(|(n, v)| (n.clone(), json!(v)))
            .collect();
        let id = field("lead_id");
        leads.push((
            json!({"lead_id": id, "attributes": attributes, "events": events.remove(&id).unwrap_or_default(),
                   "as_of": field("closed_at")}),
            outcome == "won",
        ));
    }
    leads
}

async fn replay(router: &Router, leads: &[(Value, bool)]) {
    for chunk in leads.chunks(1000) {
        let requests: Vec<&Value> = chunk.iter().map(|(r, _)| r).collect();
        let (status, body) = call(
            router,
            post("/v1/score/batch?reasons=0", &json!({"leads": requests})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let decision = &body["results"][0]["experiments"][0];
        assert_eq!(decision["experiment"], "points-vs-predictive", "{decision}");
    }
}

fn server(dir: &Path, db: &str) -> AppState {
    AppState::new(ServerConfig {
        model: Some(dir.join("model.json")),
        rules: Some(crate::common::repo_file("data/starter-rules.toml")),
        db: Some(dir.join(db)),
        experiments: Some(dir.join("experiments.toml")),
        api_keys: vec!["key".to_owned()],
        max_batch: 1000,
        max_body_bytes: 64 << 20,
        ..ServerConfig::default()
    })
    .expect("server state")
}

#[tokio::test(flavor = "multi_thread")]
async fn replay_picks_the_predictive_arm_and_a_tiny_sample_is_too_small() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let path = |name: &str| d.join(name).to_str().expect("utf-8").to_owned();
    success(
        d,
        &[
            "generate", "--leads", "20000", "--seed", "3", "--out", "history",
        ],
    );
    let rules = crate::common::repo_file("data/starter-rules.toml");
    let advice = json(&success(
        d,
        &[
            "points",
            "threshold",
            "--rules",
            rules.to_str().expect("utf-8"),
            "--leads",
            &path("history/leads.csv"),
            "--events",
            &path("history/events.csv"),
            "--capacity",
            "0.2",
            "--json",
        ],
    ));
    let threshold = advice["advice"]["threshold"].as_f64().expect("threshold");
    std::fs::write(
        d.join("experiments.toml"),
        EXPERIMENTS.replace("THRESHOLD", &threshold.to_string()),
    )
    .expect("experiments");
    success(
        d,
        &[
            "train",
            "--leads",
            &path("history/leads.csv"),
            "--events",
            &path("history/events.csv"),
            "--models",
            "gbdt",
            "--out",
            &path("model.json"),
        ],
    );
    success(
        d,
        &[
            "generate", "--leads", "40000", "--seed", "4", "--out", "live",
        ],
    );
    let live = closed_leads(&d.join("live"));

    let state = server(d, "live.db");
    let router = app(state.clone());
    replay(&router, &live).await;

    // Outcomes through the API are idempotent.
    let first: Vec<Value> = live
        .iter()
        .take(10)
        .map(|(r, won)| json!({"lead_id": r["lead_id"], "outcome": if *won { "won" } else { "lost" }}))
        .collect();
    let (_, once) = call(&router, post("/v1/outcomes", &json!({"outcomes": first}))).await;
    let (_, twice) = call(&router, post("/v1/outcomes", &json!({"outcomes": first}))).await;
    assert_eq!(
        (once["inserted"].clone(), twice["unchanged"].clone()),
        (json!(10), json!(10)),
        "{once} {twice}"
    );
    let (status, _) = call(
        &router,
        Request::post("/v1/outcomes")
            .body(Body::from(json!({"outcomes": first}).to_string()))
            .expect("request"),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "recording outcomes needs a key"
    );

    // The whole file through the CLI, twice: the second import changes nothing.
    let import = |db: &str| {
        json(&success(
            d,
            &[
                "outcomes",
                "import",
                "--leads",
                &path("live/leads.csv"),
                "--db",
                &path(db),
                "--json",
            ],
        ))
    };
    let imported = import("live.db");
    assert_eq!(
        imported["changed"], 10,
        "the 10 posted without a close date gain one: {imported}"
    );
    let again = import("live.db");
    assert_eq!(
        (again["inserted"].clone(), again["changed"].clone()),
        (json!(0), json!(0)),
        "{again}"
    );

    let (status, report) = call(
        &router,
        Request::get("/v1/experiments/points-vs-predictive")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let difference = &report["difference"];
    eprintln!("{report:#}");
    assert_eq!(difference["arms"][0], "predictive", "{report}");
    assert_eq!(difference["significant"], true, "{report}");
    assert!(
        difference["difference"].as_f64().is_some_and(|x| x > 0.0),
        "{report}"
    );
    let leads: u64 = report["arms"]
        .as_array()
        .expect("arms")
        .iter()
        .map(|a| a["leads"].as_u64().expect("leads"))
        .sum();
    assert_eq!(leads as usize, live.len());

    // A restart keeps assignments and outcomes.
    state.close();
    drop(router);
    let restarted = app(server(d, "live.db"));
    let (_, after) = call(
        &restarted,
        Request::get("/v1/experiments/points-vs-predictive")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(after, report);
    let cli = json(&success(
        d,
        &[
            "experiment",
            "report",
            "--name",
            "points-vs-predictive",
            "--db",
            &path("live.db"),
            "--json",
        ],
    ));
    assert_eq!(cli, report);

    // 150 leads cannot decide.
    let tiny_state = server(d, "tiny.db");
    let tiny = app(tiny_state.clone());
    replay(&tiny, &live[..150]).await;
    let outcomes: Vec<Value> = live[..150]
        .iter()
        .map(|(r, won)| json!({"lead_id": r["lead_id"], "outcome": if *won { "won" } else { "lost" }}))
        .collect();
    call(&tiny, post("/v1/outcomes", &json!({"outcomes": outcomes}))).await;
    let (_, small) = call(
        &tiny,
        Request::get("/v1/experiments/points-vs-predictive")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(small["difference"]["significant"], false, "{small}");
    assert!(
        small["difference"]["verdict"]
            .as_str()
            .expect("verdict")
            .starts_with("too small to decide"),
        "{small}"
    );
}
