//! Every route and error case through `oneshot`, with the committed golden model and the starter
//! rules; reloads, API keys and the scores database for real.

use std::path::{Path, PathBuf};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use leadscore_server::{AppState, ServerConfig, app};
use serde_json::{Value, json};
use tower::ServiceExt;

fn repo(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative)
}

fn config() -> ServerConfig {
    ServerConfig {
        model: Some(repo("tests/fixtures/golden-gbdt.json")),
        rules: Some(repo("data/starter-rules.toml")),
        api_keys: vec!["secret".to_owned()],
        max_batch: 5,
        max_body_bytes: 64 * 1024,
        ..ServerConfig::default()
    }
}

async fn call(router: &Router, request: Request<Body>) -> (StatusCode, Value, String) {
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let bytes = to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    let text = String::from_utf8_lossy(&bytes).into_owned();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    )
}

fn post(path: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.into())
        .expect("request")
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).expect("request")
}

fn lead(id: &str) -> Value {
    json!({
        "lead_id": id,
        "attributes": {
            "industry": "software", "job_level": "vp", "company_size": "201-1000",
            "country": "US", "email_domain": "business", "annual_revenue": 25000000,
            "lead_source": "referral"
        },
        "events": [
            {"type": "pricing_view", "timestamp": "2025-06-28"},
            {"type": "demo_request", "timestamp": "2025-06-30T10:00:00Z"},
            {"type": "pricing_view", "timestamp": "2025-07-05"}
        ],
        "as_of": "2025-07-01"
    })
}

fn error_field(body: &Value) -> &str {
    body["field"].as_str().unwrap_or("")
}

#[tokio::test]
async fn score_gives_probability_points_and_reasons_that_add_up() {
    let router = app(AppState::new(config()).expect("state"));
    let mut request = lead("L1");
    request["attributes"]["shoe_size"] = json!(42);
    request["channel"] = json!("web");
    request["events"][0]["colour"] = json!("red");
    let (status, body, text) = call(&router, post("/v1/score", request.to_string())).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let probability = body["probability"].as_f64().expect("probability");
    assert!(probability > 0.0 && probability < 1.0);
    assert_eq!(body["model"], "golden-gbdt");
    assert!(["A", "B", "C", "D"].contains(&body["tier"].as_str().expect("tier")));
    assert_eq!(body["as_of"], "2025-07-01T00:00:00Z");

    let reasons = &body["reasons"];
    let base = reasons["base_logit"].as_f64().expect("base");
    assert!(!reasons["positive"].as_array().expect("positive").is_empty());
    let top_positive = reasons["positive"][0]["contribution"].as_f64().expect("c");
    assert!(top_positive > 0.0 && base < 0.0);

    let points = &body["points"];
    let breakdown: f64 = points["breakdown"]
        .as_array()
        .expect("breakdown")
        .iter()
        .map(|h| h["points"].as_f64().expect("points"))
        .sum();
    assert!((breakdown - points["total"].as_f64().expect("total")).abs() < 1e-9);
    assert!(
        points["breakdown"]
            .as_array()
            .expect("breakdown")
            .iter()
            .any(|h| h["rule"] == "Viewed pricing"
                && h["detail"].as_str().expect("detail").starts_with("1 ")),
        "the pricing view after as_of must not count: {points}"
    );
    let warnings = body["warnings"].as_array().expect("warnings");
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().expect("text").contains("shoe_size"))
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().expect("text").contains("channel"))
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().expect("text").contains("colour"))
    );

    let minimal = json!({"lead_id": "L2"});
    let (status, body, text) = call(&router, post("/v1/score", minimal.to_string())).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "missing fields are missing values: {text}"
    );
    assert!(body["probability"].as_f64().is_some());
}

#[tokio::test]
async fn batch_scores_in_order_and_names_the_bad_lead() {
    let router = app(AppState::new(config()).expect("state"));
    let leads: Vec<Value> = (0..3).map(|i| lead(&format!("L{i}"))).collect();
    let (status, body, text) = call(
        &router,
        post("/v1/score/batch", json!({ "leads": leads }).to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let results = body["results"].as_array().expect("results");
    assert_eq!(
        results
            .iter()
            .map(|r| r["lead_id"].clone())
            .collect::<Vec<_>>(),
        [json!("L0"), json!("L1"), json!("L2")]
    );
    let single = call(&router, post("/v1/score", lead("L1").to_string()))
        .await
        .1;
    assert_eq!(results[1]["probability"], single["probability"]);

    let mut bad = leads.clone();
    bad[1]["attributes"]["annual_revenue"] = json!("lots");
    let (status, body, _) = call(
        &router,
        post("/v1/score/batch", json!({ "leads": bad }).to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_field(&body), "leads[1].attributes.annual_revenue");

    let many: Vec<Value> = (0..6).map(|i| lead(&format!("L{i}"))).collect();
    let (status, body, _) = call(
        &router,
        post("/v1/score/batch", json!({ "leads": many }).to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        body["detail"]
            .as_str()
            .expect("message")
            .contains("limit is 5")
    );
}

#[tokio::test]
async fn client_errors_are_json_4xx_naming_the_field() {
    let router = app(AppState::new(config()).expect("state"));
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (
            json!({"lead_id": 5}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "lead_id",
        ),
        (
            json!({"attributes": {}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "lead_id",
        ),
        (
            json!({"lead_id": " "}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "lead_id",
        ),
        (
            json!({"lead_id": "a", "attributes": {"annual_revenue": "inf"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "attributes.annual_revenue",
        ),
        (
            json!({"lead_id": "a", "attributes": {"industry": ["software"]}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "attributes.industry",
        ),
        (
            json!({"lead_id": "a", "events": [{"type": "x", "timestamp": "yesterday"}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "events[0].timestamp",
        ),
        (
            json!({"lead_id": "a", "events": [{"type": "x", "timestamp": 20250101}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "events[0].timestamp",
        ),
        (
            json!({"lead_id": "a", "as_of": "soon"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "as_of",
        ),
        (
            json!({"lead_id": "a", "events": "none"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "events",
        ),
    ];
    for (request, expected, field) in cases {
        let (status, body, text) = call(&router, post("/v1/score", request.to_string())).await;
        assert_eq!(status, expected, "{request}: {text}");
        assert_eq!(error_field(&body), field, "{request}: {text}");
        assert!(body["detail"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let (status, body, _) = call(&router, post("/v1/score", "{\"lead_id\": \"a\",")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["detail"].as_str().expect("message").contains("EOF"));
    let huge = format!("{{\"lead_id\": \"{}\"}}", "x".repeat(100_000));
    let response = router
        .clone()
        .oneshot(post("/v1/score", huge.clone()))
        .await
        .expect("infallible");
    assert_eq!(
        response
            .headers()
            .get(header::CONNECTION)
            .map(|v| v.as_bytes()),
        Some(&b"close"[..]),
        "a 413 leaves the body unread, so the connection must close"
    );
    let (status, body, _) = call(&router, post("/v1/score", huge)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        body["detail"]
            .as_str()
            .expect("message")
            .contains("too large")
    );
    let (status, body, _) = call(&router, get("/v1/nothing")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["status"], 404);
}

/// Oversized fields are refused before anything is scored, stored or echoed: the id that would
/// fill the score database, texts, attribute and event counts, unparseable times.
#[tokio::test]
async fn oversized_fields_are_refused_naming_the_field_and_nothing_is_recorded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("scores.db");
    let state = AppState::new(ServerConfig {
        db: Some(db.clone()),
        max_body_bytes: 4 << 20,
        ..config()
    })
    .expect("state");
    let router = app(state.clone());
    let many_attributes: serde_json::Map<String, Value> =
        (0..1_001).map(|i| (format!("a{i}"), json!(1))).collect();
    let many_events: Vec<Value> = (0..10_001)
        .map(|_| json!({"type": "page_view", "timestamp": "2025-06-01"}))
        .collect();
    let cases: Vec<(Value, &str)> = vec![
        (json!({"lead_id": "x".repeat(257)}), "lead_id"),
        (
            json!({"lead_id": "a", "attributes": {"industry": "y".repeat(4_097)}}),
            "attributes.industry",
        ),
        (
            json!({"lead_id": "a", "attributes": many_attributes}),
            "attributes",
        ),
        (json!({"lead_id": "a", "events": many_events}), "events"),
        (
            json!({"lead_id": "a", "events": [{"type": "t".repeat(4_097), "timestamp": "2025-06-01"}]}),
            "events[0].type",
        ),
        (
            json!({"lead_id": "a", "as_of": "9".repeat(100_000)}),
            "as_of",
        ),
    ];
    for (request, field) in cases {
        let (status, body, text) = call(&router, post("/v1/score", request.to_string())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {text}");
        assert_eq!(error_field(&body), field, "{text}");
        assert!(text.len() < 1_000, "the answer echoes the input: {text}");
    }
    let batch = json!({"leads": [lead("ok"), {"lead_id": "z".repeat(300)}]});
    let (status, body, _) = call(&router, post("/v1/score/batch", batch.to_string())).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_field(&body), "leads[1].lead_id");
    let outcome = json!({"outcomes": [{"lead_id": "o".repeat(300), "outcome": "won"}]});
    let (status, body, _) = call(
        &router,
        Request::post("/v1/outcomes")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, "Bearer secret")
            .body(Body::from(outcome.to_string()))
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_field(&body), "outcomes[0].lead_id");
    let unknown = json!({"lead_id": "a", "k".repeat(3_000): 1});
    let (status, body, _) = call(&router, post("/v1/score", unknown.to_string())).await;
    assert_eq!(status, StatusCode::OK);
    let warning = body["warnings"][0].as_str().expect("warning");
    assert!(warning.len() < 200, "{warning}");
    state.close();
    let recorded: i64 = leadscore_store::open(&db)
        .expect("db")
        .query_row("SELECT COUNT(*) FROM scores", [], |row| row.get(0))
        .expect("count");
    assert_eq!(recorded, 1, "only the valid lead is recorded");
}

/// The default body limit takes a full batch: 1,000 leads with 100 events each.
#[tokio::test]
async fn a_full_batch_with_100_events_per_lead_fits_the_default_limits() {
    let router = app(AppState::new(ServerConfig {
        model: config().model,
        rules: config().rules,
        ..ServerConfig::default()
    })
    .expect("state"));
    let events: Vec<Value> = (0..100)
        .map(|day| json!({"type": "page_view", "timestamp": format!("2025-03-{:02}T10:00:00Z", day % 28 + 1), "value": 12.5}))
        .collect();
    let leads: Vec<Value> = (0..1_000)
        .map(|i| {
            let mut lead = lead(&format!("lead-{i:06}"));
            lead["events"] = json!(events);
            lead
        })
        .collect();
    let body = json!({ "leads": leads }).to_string();
    assert!(body.len() > 2 << 20, "the batch is {} bytes", body.len());
    let (status, answer, text) = call(&router, post("/v1/score/batch?reasons=0", body)).await;
    assert_eq!(status, StatusCode::OK, "{}", &text[..text.len().min(300)]);
    assert_eq!(answer["results"].as_array().expect("results").len(), 1_000);
}

#[tokio::test]
async fn read_routes_describe_the_service() {
    let router = app(AppState::new(config()).expect("state"));
    let (status, body, _) = call(&router, get("/healthz")).await;
    assert_eq!(
        (status, body["status"].clone()),
        (StatusCode::OK, json!("ok"))
    );
    let (status, body, _) = call(&router, get("/readyz")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body["model"]
            .as_str()
            .expect("model")
            .starts_with("golden-gbdt")
    );
    let (_, body, _) = call(&router, get("/v1/models")).await;
    assert_eq!(body["model"]["name"], "golden-gbdt");
    assert_eq!(body["model"]["kind"], "gbdt");
    assert_eq!(body["rules"]["mql_threshold"], 50.0);

    call(&router, post("/v1/score", lead("L1").to_string())).await;
    let (status, _, text) = call(&router, get("/metrics")).await;
    assert_eq!(status, StatusCode::OK);
    for expected in [
        "leadscore_requests_total{route=\"/v1/score\",status=\"200\"} 1",
        "leadscore_request_duration_seconds_count",
        "leadscore_scored_leads_total 1",
        "leadscore_model_info{model=\"golden-gbdt\"",
    ] {
        assert!(text.contains(expected), "{expected} missing:\n{text}");
    }
    let (status, body, _) = call(&router, get("/openapi.json")).await;
    assert_eq!(status, StatusCode::OK);
    for path in [
        "/v1/score",
        "/v1/score/batch",
        "/v1/models",
        "/v1/models/reload",
        "/metrics",
    ] {
        assert!(
            body["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
    let schema = &body["components"]["schemas"]["ScoreRequest"];
    assert!(schema["properties"]["lead_id"].is_object(), "{schema}");
    // The answer is one object, as on the wire: the model's fields present but not required.
    let answer = &body["components"]["schemas"]["ScoreResponse"];
    for field in [
        "lead_id",
        "probability",
        "tier",
        "reasons",
        "points",
        "as_of",
    ] {
        assert!(answer["properties"][field].is_object(), "{field}: {answer}");
    }
    assert_eq!(answer["required"], json!(["lead_id", "as_of"]), "{answer}");
    assert!(!body.to_string().contains("allOf"));
}

#[tokio::test]
async fn api_keys_guard_writes_and_optionally_reads() {
    let router = app(AppState::new(config()).expect("state"));
    let reload = |key: Option<&str>| {
        let mut request = Request::post("/v1/models/reload");
        if let Some(key) = key {
            request = request.header(header::AUTHORIZATION, format!("Bearer {key}"));
        }
        request.body(Body::empty()).expect("request")
    };
    assert_eq!(
        call(&router, reload(None)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&router, reload(Some("guess"))).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&router, reload(Some("secret"))).await.0,
        StatusCode::OK
    );

    let open = app(AppState::new(ServerConfig {
        api_keys: vec![],
        ..config()
    })
    .expect("state"));
    let (status, body, _) = call(&open, reload(Some("secret"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        body["detail"]
            .as_str()
            .expect("message")
            .contains("--api-key")
    );

    let closed = app(AppState::new(ServerConfig {
        keys_for_reads: true,
        ..config()
    })
    .expect("state"));
    let (status, _, _) = call(&closed, post("/v1/score", lead("L1").to_string())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let request = Request::post("/v1/score")
        .header(header::AUTHORIZATION, "Bearer secret")
        .body(Body::from(lead("L1").to_string()))
        .expect("request");
    assert_eq!(call(&closed, request).await.0, StatusCode::OK);
}

/// In folder mode a model copied in the slow way (written in pieces, not renamed) is refused while
/// half-written and served once complete.
#[tokio::test]
async fn a_model_copied_into_the_folder_in_pieces_is_served_once_complete() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(
        repo("tests/fixtures/golden-gbdt.json"),
        dir.path().join("a-first.json"),
    )
    .expect("copy");
    let state = AppState::new(ServerConfig {
        model: Some(dir.path().to_owned()),
        ..config()
    })
    .expect("state");
    let router = app(state.clone());
    let served_model = || async {
        let answer = call(&router, post("/v1/score", lead("L1").to_string()))
            .await
            .1;
        answer["model"].as_str().unwrap_or_default().to_owned()
    };
    assert_eq!(served_model().await, "golden-gbdt");

    let text = std::fs::read(repo("tests/fixtures/golden-logistic.json")).expect("model");
    let arriving = dir.path().join("b-new.json");
    std::fs::write(&arriving, &text[..text.len() / 2]).expect("first half");
    state.reload_if_changed();
    assert_eq!(
        served_model().await,
        "golden-gbdt",
        "a half-written file is refused"
    );

    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::OpenOptions::new()
        .append(true)
        .open(&arriving)
        .and_then(|mut file| std::io::Write::write_all(&mut file, &text[text.len() / 2..]))
        .expect("second half");
    state.reload_if_changed();
    assert_eq!(
        served_model().await,
        "golden-logistic",
        "the completed copy is served"
    );
}

#[tokio::test]
async fn a_bad_model_file_is_refused_and_the_current_model_keeps_serving() {
    let dir = tempfile::tempdir().expect("temp dir");
    let model = dir.path().join("model.json");
    std::fs::copy(repo("tests/fixtures/golden-gbdt.json"), &model).expect("copy");
    let state = AppState::new(ServerConfig {
        model: Some(model.clone()),
        ..config()
    })
    .expect("state");
    let router = app(state.clone());
    let before = call(&router, post("/v1/score", lead("L1").to_string()))
        .await
        .1;

    std::fs::write(&model, "{\"format\": \"leadscore-model\", \"format_ver").expect("truncate");
    let request = Request::post("/v1/models/reload")
        .header(header::AUTHORIZATION, "Bearer secret")
        .body(Body::empty())
        .expect("request");
    let (status, body, _) = call(&router, request).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["detail"]
            .as_str()
            .expect("message")
            .contains("still serving")
    );
    state.reload_if_changed();
    let after = call(&router, post("/v1/score", lead("L1").to_string()))
        .await
        .1;
    assert_eq!(after["probability"], before["probability"]);
    assert_eq!(after["model"], "golden-gbdt");

    std::fs::copy(repo("tests/fixtures/golden-logistic.json"), &model).expect("new model");
    state.reload_if_changed();
    let swapped = call(&router, post("/v1/score", lead("L1").to_string()))
        .await
        .1;
    assert_eq!(
        swapped["model"], "golden-logistic",
        "a changed file is picked up"
    );
}

#[tokio::test]
async fn every_scored_lead_is_recorded_by_shutdown() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("scores.db");
    let state = AppState::new(ServerConfig {
        db: Some(db.clone()),
        ..config()
    })
    .expect("state");
    let router = app(state.clone());
    for i in 0..4 {
        let (status, _, _) = call(
            &router,
            post("/v1/score", lead(&format!("S{i}")).to_string()),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
    let leads: Vec<Value> = (0..5).map(|i| lead(&format!("B{i}"))).collect();
    call(
        &router,
        post("/v1/score/batch", json!({ "leads": leads }).to_string()),
    )
    .await;
    call(
        &router,
        post("/v1/score", json!({"lead_id": 1}).to_string()),
    )
    .await;
    state.close();

    let connection = leadscore_store::open(&db).expect("db");
    let (count, with_points, mql): (i64, i64, i64) = connection
        .query_row(
            "SELECT count(*), count(points), sum(mql) FROM scores WHERE probability BETWEEN 0 AND 1 AND model_version IS NOT NULL",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .expect("query");
    assert_eq!((count, with_points), (9, 9));
    assert_eq!(mql, 9, "these leads are all MQLs by the starter rules");
}

#[tokio::test]
async fn bad_outcomes_are_refused_naming_the_field() {
    let dir = tempfile::tempdir().expect("temp dir");
    let router = app(AppState::new(ServerConfig {
        db: Some(dir.path().join("scores.db")),
        ..config()
    })
    .expect("state"));
    let outcomes = |body: Value| {
        Request::post("/v1/outcomes")
            .header(header::AUTHORIZATION, "Bearer secret")
            .body(Body::from(body.to_string()))
            .expect("request")
    };
    let cases = [
        (
            json!({"outcomes": [{"lead_id": "L1", "outcome": "maybe"}]}),
            "outcomes[0].outcome",
        ),
        (
            json!({"outcomes": [{"lead_id": " ", "outcome": "won"}]}),
            "outcomes[0].lead_id",
        ),
        (
            json!({"outcomes": [{"lead_id": "L1", "outcome": "won", "closed_at": "last week"}]}),
            "outcomes[0].closed_at",
        ),
        (json!({"outcome": []}), "outcome"),
    ];
    for (body, field) in cases {
        let (status, answer, text) = call(&router, outcomes(body.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {text}");
        assert_eq!(error_field(&answer), field, "{body}: {text}");
    }
    let (status, answer, _) = call(
        &router,
        outcomes(
            json!({"outcomes": [{"lead_id": "L1", "outcome": "won", "closed_at": "2025-07-01"}]}),
        ),
    )
    .await;
    assert_eq!(
        (status, answer["inserted"].clone()),
        (StatusCode::OK, json!(1))
    );

    let without_db = app(AppState::new(config()).expect("state"));
    let (status, _, _) = call(&without_db, outcomes(json!({"outcomes": []}))).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "no database, nothing to record into"
    );
    let (status, _, _) = call(&without_db, get("/v1/experiments/none")).await;
    assert_eq!(status, StatusCode::CONFLICT);
}

/// Browsers may call the API only from configured origins; a malformed origin stops start-up.
#[tokio::test]
async fn cors_allows_only_the_configured_origins() {
    let preflight = |origin: &str| {
        Request::options("/v1/score")
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(
                header::ACCESS_CONTROL_REQUEST_HEADERS,
                "content-type,authorization",
            )
            .body(Body::empty())
            .expect("request")
    };
    let allowed_origin = |response: &axum::response::Response| {
        response
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .map(|v| v.to_str().expect("ascii").to_owned())
    };
    let router = app(AppState::new(ServerConfig {
        cors_origins: vec!["https://crm.example.com".to_owned()],
        ..config()
    })
    .expect("state"));
    let answer = router
        .clone()
        .oneshot(preflight("https://crm.example.com"))
        .await
        .expect("infallible");
    assert_eq!(
        allowed_origin(&answer).as_deref(),
        Some("https://crm.example.com")
    );
    let answer = router
        .clone()
        .oneshot(preflight("https://evil.example.net"))
        .await
        .expect("infallible");
    assert_eq!(allowed_origin(&answer), None);

    let closed = app(AppState::new(config()).expect("state"));
    let answer = closed
        .oneshot(preflight("https://crm.example.com"))
        .await
        .expect("infallible");
    assert_eq!(allowed_origin(&answer), None, "no origins: no CORS");

    for bad in ["crm.example.com", "https://crm.example.com/path", "ftp://x"] {
        let error = AppState::new(ServerConfig {
            cors_origins: vec![bad.to_owned()],
            ..config()
        })
        .expect_err("malformed origin");
        assert!(error.to_string().contains(bad), "{error}");
    }
}

/// A report whose request times out is a counted 408, and its query is interrupted rather than
/// left running on a blocking thread.
#[tokio::test]
async fn a_timed_out_report_is_a_counted_408_and_its_query_stops() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("scores.db");
    leadscore_store::open(&db)
        .expect("db")
        .execute_batch(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000)
             INSERT INTO assignments (experiment, lead_id, arm, routed, assigned_at)
             SELECT 'big', 'L' || i, CASE i % 2 WHEN 0 THEN 'model' ELSE 'points' END, i % 3 = 0,
                    '2025-07-01' FROM n;
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 2 FROM n WHERE i < 300000)
             INSERT INTO outcomes (lead_id, won, recorded_at)
             SELECT 'L' || i, i % 5 = 0, '2025-08-01' FROM n;",
        )
        .expect("a large experiment");
    let state = AppState::new(ServerConfig {
        db: Some(db),
        timeout: std::time::Duration::from_millis(1),
        ..config()
    })
    .expect("state");
    let router = app(state.clone());

    let (status, answer, text) = call(&router, get("/v1/experiments/big")).await;
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT, "{text}");
    assert_eq!(answer["status"], json!(408), "a problem body: {text}");

    let metric = |text: &str, name: &str| -> Option<f64> {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let metrics = loop {
        let metrics = state.metrics().render(None, None, None);
        // The blocking task may not have started yet: wait for its end, not just for no task.
        let running = metric(&metrics, "leadscore_report_queries_running ");
        let cancelled = metric(&metrics, "leadscore_report_queries_cancelled_total ");
        if (running == Some(0.0) && cancelled == Some(1.0)) || std::time::Instant::now() > deadline
        {
            break metrics;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(
        metric(&metrics, "leadscore_report_queries_running "),
        Some(0.0),
        "{metrics}"
    );
    assert_eq!(
        metric(&metrics, "leadscore_report_queries_cancelled_total "),
        Some(1.0),
        "the query was interrupted, not run to its end: {metrics}"
    );
    assert_eq!(
        metric(
            &metrics,
            "leadscore_requests_total{route=\"/v1/experiments/{name}\",status=\"408\"} "
        ),
        Some(1.0),
        "{metrics}"
    );
}

/// The request parser on bodies nobody wrote by hand: any JSON, any field of a valid lead replaced
/// by any value, and raw bytes. Never a 5xx; every refusal is a problem naming its status, and a
/// 422 names the field.
mod properties {
    use proptest::prelude::*;

    use super::*;

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            prop_oneof![
                Just("2025-07-01".to_owned()),
                Just("2025-02-30T25:00:00Z".to_owned()),
                Just("\u{0}".to_owned()),
                "[a-z_]{0,12}",
                any::<String>(),
            ]
            .prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
                proptest::collection::btree_map("[a-z_]{0,10}", inner, 0..6)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    /// A JSON pointer into the valid lead and a value to put there.
    fn mutated_lead() -> impl Strategy<Value = Value> {
        let paths = prop_oneof![
            Just("/lead_id"),
            Just("/attributes"),
            Just("/attributes/industry"),
            Just("/attributes/annual_revenue"),
            Just("/attributes/"),
            Just("/events"),
            Just("/events/0"),
            Just("/events/1/type"),
            Just("/events/1/timestamp"),
            Just("/events/2/value"),
            Just("/as_of"),
        ];
        (paths, any_json()).prop_map(|(pointer, value)| {
            let mut body = lead("P1");
            match body.pointer_mut(pointer) {
                Some(slot) => *slot = value,
                None => {
                    if let Some(Value::Object(attributes)) = body.pointer_mut("/attributes") {
                        attributes
                            .insert(pointer.trim_start_matches("/attributes/").to_owned(), value);
                    }
                }
            }
            body
        })
    }

    fn check(
        runtime: &tokio::runtime::Runtime,
        router: &Router,
        path: &str,
        body: Vec<u8>,
    ) -> Result<(), TestCaseError> {
        let (status, answer, text) = runtime.block_on(call(router, post(path, body.clone())));
        prop_assert!(!status.is_server_error(), "{status}: {text}");
        if !status.is_success() {
            prop_assert_eq!(
                answer["status"].as_u64(),
                Some(u64::from(status.as_u16())),
                "{}",
                text
            );
            prop_assert!(
                answer["detail"].as_str().is_some_and(|d| !d.is_empty()),
                "{}",
                text
            );
        }
        if status == StatusCode::UNPROCESSABLE_ENTITY {
            // Only a body whose first JSON value is not an object has no field to name.
            let whole_body_is_not_an_object = body
                .iter()
                .find(|b| !b.is_ascii_whitespace())
                .is_some_and(|&first| first != b'{');
            prop_assert!(
                !error_field(&answer).is_empty() || whole_body_is_not_an_object,
                "a 422 names its field: {}",
                text
            );
            prop_assert!(!text.contains("struct "), "no Rust type names: {}", text);
        }
        Ok(())
    }

    fn served() -> (tokio::runtime::Runtime, Router) {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let router = app(AppState::new(config()).expect("state"));
        (runtime, router)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn any_json_body_is_answered_without_a_server_error(body in any_json()) {
            let (runtime, router) = served();
            check(&runtime, &router, "/v1/score", body.to_string().into_bytes())?;
            check(&runtime, &router, "/v1/score/batch", serde_json::json!({"leads": [body]}).to_string().into_bytes())?;
        }

        #[test]
        fn any_field_of_a_lead_replaced_by_any_value_is_scored_or_named(body in mutated_lead()) {
            let (runtime, router) = served();
            check(&runtime, &router, "/v1/score", body.to_string().into_bytes())?;
        }

        #[test]
        fn raw_bytes_are_answered_without_a_server_error(body in proptest::collection::vec(any::<u8>(), 0..256)) {
            let (runtime, router) = served();
            check(&runtime, &router, "/v1/score", body)?;
        }
    }
}
