//! A server on a registry folder, through `oneshot`: it serves the champion, scores the
//! challenger in shadow (recorded, never answered), follows promote and rollback, and monitors
//! the served model on `/v1/monitor` and `/metrics`.

use std::path::{Path, PathBuf};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use leadscore_artifact::{ModelArtifact, Registry};
use leadscore_server::{AppState, ServerConfig, app};
use serde_json::{Value, json};
use tower::ServiceExt;

fn repo(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative)
}

const KEY: &str = "registry-key";

/// The golden models registered as versions of `acme`: logistic first (the champion), then gbdt.
fn registry(dir: &Path) -> Registry {
    let registry = Registry::new(dir.join("models"));
    for (kind, version) in [("logistic", "v1"), ("gbdt", "v2")] {
        let text = std::fs::read_to_string(repo(&format!("tests/fixtures/golden-{kind}.json")))
            .expect("fixture");
        let mut model: Value = serde_json::from_str(&text).expect("JSON");
        model["name"] = "acme".into();
        model["version"] = version.into();
        let path = dir.join(format!("{kind}.json"));
        std::fs::write(&path, model.to_string()).expect("write");
        registry
            .register(
                &ModelArtifact::load(&path).expect("model"),
                "2026-01-01T00:00:00Z",
            )
            .expect("registered");
    }
    registry
}

async fn call(router: &Router, request: Request<Body>) -> (StatusCode, String) {
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let bytes = to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

fn score(lead_id: &str) -> Request<Body> {
    let lead =
        json!({"lead_id": lead_id, "attributes": {"job_level": "vp", "industry": "software"}});
    Request::post("/v1/score")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(lead.to_string()))
        .expect("request")
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).expect("request")
}

fn served_version(models: &str) -> String {
    let models: Value = serde_json::from_str(models).expect("JSON");
    models["model"]["version"]
        .as_str()
        .expect("version")
        .to_owned()
}

#[tokio::test]
async fn the_champion_is_served_the_challenger_shadowed_and_promote_followed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let registry = registry(dir.path());
    registry
        .shadow("acme", Some("v2"), "2026-01-02T00:00:00Z")
        .expect("shadow");
    let db = dir.path().join("scores.db");
    let state = AppState::new(ServerConfig {
        model: Some(dir.path().join("models/acme")),
        db: Some(db.clone()),
        api_keys: vec![KEY.to_owned()],
        ..ServerConfig::default()
    })
    .expect("state");
    let router = app(state.clone());

    let (status, models) = call(&router, get("/v1/models")).await;
    assert_eq!(status, StatusCode::OK, "{models}");
    assert_eq!(served_version(&models), "v1");

    let (status, answer) = call(&router, score("lead-1")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(
        !answer.contains("shadow") && !answer.contains("\"v2\""),
        "{answer}"
    );
    let answered: Value = serde_json::from_str(&answer).expect("JSON");
    let champion = answered["probability"].as_f64().expect("probability");

    state.recorder().expect("recorder").flush();
    let connection = rusqlite::Connection::open(&db).expect("db");
    let (probability, shadow_version, shadow): (f64, String, f64) = connection
        .query_row(
            "SELECT probability, shadow_version, shadow_probability FROM scores WHERE lead_id = 'lead-1'",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .expect("row");
    assert_eq!(probability, champion);
    assert_eq!(shadow_version, "v2");

    registry
        .promote("acme", "v2", "2026-01-03T00:00:00Z")
        .expect("promoted");
    state.reload_if_changed();
    let (_, models) = call(&router, get("/v1/models")).await;
    assert_eq!(served_version(&models), "v2");
    // The shadow kept what the challenger answers once it serves the same lead.
    let (_, answer) = call(&router, score("lead-2")).await;
    let answered: Value = serde_json::from_str(&answer).expect("JSON");
    assert_eq!(answered["probability"].as_f64(), Some(shadow));
    assert_eq!(answered["model_version"], "v2");
    registry
        .rollback("acme", "2026-01-04T00:00:00Z")
        .expect("rolled back");
    state.reload_if_changed();
    let (_, models) = call(&router, get("/v1/models")).await;
    assert_eq!(served_version(&models), "v1");

    // A pointer naming a version whose file is broken keeps the server on what it served.
    std::fs::write(dir.path().join("models/acme/v3.json"), "{ truncated").expect("write");
    let pointer = dir.path().join("models/acme/registry.json");
    let mut edited: Value =
        serde_json::from_str(&std::fs::read_to_string(&pointer).expect("pointer")).expect("JSON");
    assert_eq!(edited["champion"], "v1");
    edited["champion"] = "v3".into();
    std::fs::write(&pointer, edited.to_string()).expect("edit");
    state.reload_if_changed();
    let (status, models) = call(&router, get("/v1/models")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(served_version(&models), "v1");
}

#[tokio::test]
async fn the_monitor_route_judges_the_served_model_and_feeds_metrics() {
    let dir = tempfile::tempdir().expect("temp dir");
    registry(dir.path());
    let state = AppState::new(ServerConfig {
        model: Some(dir.path().join("models/acme")),
        db: Some(dir.path().join("scores.db")),
        api_keys: vec![KEY.to_owned()],
        ..ServerConfig::default()
    })
    .expect("state");
    let router = app(state);
    for k in 0..150 {
        let (status, answer) = call(&router, score(&format!("lead-{k}"))).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let (status, report) = call(&router, get("/v1/monitor?weeks=4")).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let report: Value = serde_json::from_str(&report).expect("JSON");
    assert_eq!(report["version"], "v1");
    let week = report["drift"]
        .as_array()
        .expect("weeks")
        .last()
        .cloned()
        .expect("this week");
    assert_eq!(week["scores"], 150);
    // One lead profile 150 times lands in one training decile: as drifted as scores can be.
    assert_eq!(week["status"], "alert", "{week}");
    assert_eq!(report["status"], "alert");
    assert!(report["backtest"].as_array().expect("months").is_empty());

    let (_, metrics) = call(&router, get("/metrics")).await;
    assert!(metrics.contains("leadscore_monitor_status 2"), "{metrics}");
    let psi = week["psi"].as_f64().expect("psi");
    assert!(
        metrics.contains(&format!("leadscore_monitor_psi {psi}")),
        "{metrics}"
    );

    let (status, problem) = call(&router, get("/v1/monitor?weeks=0")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert!(problem.contains("\"field\":\"weeks\""), "{problem}");
}

#[tokio::test]
async fn monitoring_needs_a_database_and_a_model() {
    let state = AppState::new(ServerConfig {
        model: Some(repo("tests/fixtures/golden-logistic.json")),
        ..ServerConfig::default()
    })
    .expect("state");
    let (status, problem) = call(&app(state), get("/v1/monitor")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(problem.contains("--db"), "{problem}");

    let dir = tempfile::tempdir().expect("temp dir");
    let state = AppState::new(ServerConfig {
        rules: Some(repo("data/starter-rules.toml")),
        db: Some(dir.path().join("scores.db")),
        ..ServerConfig::default()
    })
    .expect("state");
    let (status, problem) = call(&app(state), get("/v1/monitor")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(problem.contains("--model"), "{problem}");
}
