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

/// The golden logistic model with column profiles of the bundled sample, as training now writes
/// them, saved in `dir`; and the sample's leads.
fn profiled_model(dir: &Path) -> (PathBuf, leadscore_data::LeadsTable) {
    let model = ModelArtifact::load(&repo("tests/fixtures/golden-logistic.json")).expect("model");
    let leads = leadscore_data::LeadsTable::load(
        &repo("data/sample/leads.csv"),
        &model.leads_options(&leadscore_data::LeadsOptions::default()),
    )
    .expect("leads");
    let events = leadscore_data::EventLog::load(
        &repo("data/sample/events.csv"),
        &leadscore_data::EventsOptions::default(),
        &leads,
    )
    .expect("events");
    let matrix = model
        .features()
        .transform_table(&leads, Some(&events), leadscore_data::time::now())
        .expect("features");
    let profiles = leadscore_artifact::profile_columns(model.features(), matrix.values.view());
    assert_eq!(profiles.len(), model.features().columns.len());
    let path = dir.join("profiled.json");
    model
        .with_column_profiles(profiles)
        .save(&path)
        .expect("saved");
    let reloaded = ModelArtifact::load(&path).expect("profiles survive a round trip");
    assert!(!reloaded.column_profiles().is_empty());
    (path, leads)
}

/// The monitor of a server that scored the first 300 sample leads, changed by `change`.
async fn monitored(
    dir: &Path,
    model: &Path,
    leads: &leadscore_data::LeadsTable,
    change: impl Fn(&mut serde_json::Map<String, Value>),
) -> Value {
    let state = AppState::new(ServerConfig {
        model: Some(model.to_owned()),
        db: Some(dir.join("scores.db")),
        api_keys: vec![KEY.to_owned()],
        ..ServerConfig::default()
    })
    .expect("state");
    let router = app(state);
    let columns: Vec<String> = leads.columns.iter().map(|c| c.name.clone()).collect();
    for row in 0..300 {
        let mut attributes = serde_json::Map::new();
        for name in &columns {
            let value = match leads.column(name).map(|c| c.value(row)) {
                Some(leadscore_data::Value::Number(n)) => json!(n),
                Some(leadscore_data::Value::Text(t)) => json!(t),
                _ => continue,
            };
            attributes.insert(name.clone(), value);
        }
        change(&mut attributes);
        let lead = json!({"lead_id": leads.ids[row], "attributes": attributes});
        let request = Request::post("/v1/score")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(lead.to_string()))
            .expect("request");
        let (status, answer) = call(&router, request).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let (status, report) = call(&router, get("/v1/monitor")).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    serde_json::from_str(&report).expect("JSON")
}

#[tokio::test]
async fn the_monitor_sees_the_scored_leads_columns_drift_from_training() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (model, leads) = profiled_model(dir.path());
    let steady_dir = dir.path().join("steady");
    std::fs::create_dir_all(&steady_dir).expect("dir");
    let steady = monitored(&steady_dir, &model, &leads, |_| {}).await;
    let columns = steady["columns"].as_array().expect("columns");
    let explicit = ModelArtifact::load(&model)
        .expect("model")
        .features()
        .columns
        .len();
    assert_eq!(columns.len(), explicit, "{steady:#}");
    for column in columns {
        assert_eq!(column["rows"], 300, "{column}");
        assert_eq!(
            column["status"], "ok",
            "the sample's own leads do not drift: {column}"
        );
    }

    let drifted_dir = dir.path().join("drifted");
    std::fs::create_dir_all(&drifted_dir).expect("dir");
    let drifted = monitored(&drifted_dir, &model, &leads, |attributes| {
        // Revenue now arrives in cents, a new job title appears, company size is no longer filled.
        if let Some(revenue) = attributes.get("annual_revenue").and_then(Value::as_f64) {
            attributes.insert("annual_revenue".to_owned(), json!(revenue * 100.0));
        }
        attributes.insert("job_level".to_owned(), json!("astronaut"));
        attributes.remove("company_size");
    })
    .await;
    let column = |name: &str| {
        drifted["columns"]
            .as_array()
            .expect("columns")
            .iter()
            .find(|c| c["column"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no column {name}: {drifted:#}"))
    };
    let revenue = column("annual_revenue");
    assert_eq!(revenue["status"], "alert", "{revenue}");
    assert!(revenue["psi"].as_f64() > Some(1.0), "{revenue}");
    let job = column("job_level");
    assert_eq!(job["unlearned_share"], 1.0, "{job}");
    assert_eq!(job["status"], "alert", "{job}");
    let size = column("company_size");
    assert_eq!(size["missing_share"], 1.0, "{size}");
    assert_eq!(size["status"], "alert", "{size}");
    assert_eq!(column("industry")["status"], "ok");
    assert_eq!(drifted["status"], "alert");
    let reasons = drifted["reasons"].to_string();
    for needle in [
        "column `annual_revenue`",
        "column `job_level`",
        "unknown to the model",
        "100% missing",
    ] {
        assert!(reasons.contains(needle), "{needle}: {reasons}");
    }
}
