//! Training/serving parity: every lead of a generated file scored through the HTTP API and
//! through `leadscore score` gets the same probability, bit for bit, and the same points.

use std::collections::HashMap;

use crate::common::success;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use leadscore_server::{AppState, ServerConfig, app};
use serde_json::{Value, json};
use tower::ServiceExt;

const AS_OF: &str = "2025-07-15";

#[tokio::test(flavor = "multi_thread")]
async fn http_and_batch_scores_are_identical() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = |name: &str| dir.path().join(name).to_str().expect("utf-8").to_owned();
    let rules = crate::common::repo_file("data/starter-rules.toml");
    let rules = rules.to_str().expect("utf-8");
    success(
        dir.path(),
        &[
            "generate", "--leads", "1500", "--seed", "9", "--out", "data",
        ],
    );
    success(
        dir.path(),
        &[
            "train",
            "--leads",
            &path("data/leads.csv"),
            "--events",
            &path("data/events.csv"),
            "--models",
            "gbdt",
            "--out",
            &path("model.json"),
        ],
    );
    success(
        dir.path(),
        &[
            "score",
            "--model",
            &path("model.json"),
            "--rules",
            rules,
            "--leads",
            &path("data/leads.csv"),
            "--events",
            &path("data/events.csv"),
            "--as-of",
            AS_OF,
            "--out",
            &path("scores.csv"),
        ],
    );

    let mut batch_scores: HashMap<String, (f64, f64)> = HashMap::new();
    let mut reader = csv::Reader::from_path(path("scores.csv")).expect("scores");
    let headers = reader.headers().expect("headers").clone();
    let column = |name: &str| headers.iter().position(|h| h == name).expect("column");
    let (probability, points) = (column("probability"), column("points"));
    for record in reader.records() {
        let record = record.expect("row");
        batch_scores.insert(
            record[0].to_owned(),
            (
                record[probability].parse().expect("probability"),
                record[points].parse().expect("points"),
            ),
        );
    }

    let mut events: HashMap<String, Vec<Value>> = HashMap::new();
    for record in csv::Reader::from_path(path("data/events.csv"))
        .expect("events")
        .records()
    {
        let record = record.expect("event");
        let mut event = json!({ "type": &record[2], "timestamp": &record[1] });
        if let Some(value) = record.get(3).filter(|v| !v.is_empty()) {
            event["value"] = json!(value.parse::<f64>().expect("value"));
        }
        events.entry(record[0].to_owned()).or_default().push(event);
    }
    let mut leads = csv::Reader::from_path(path("data/leads.csv")).expect("leads");
    let names: Vec<String> = leads
        .headers()
        .expect("headers")
        .iter()
        .map(str::to_owned)
        .collect();
    let mut requests = Vec::new();
    for record in leads.records() {
        let record = record.expect("lead");
        let field = |name: &str| &record[names.iter().position(|n| n == name).expect("column")];
        let attributes: serde_json::Map<String, Value> = names
            .iter()
            .zip(record.iter())
            .filter(|(name, _)| {
                !["lead_id", "created_at", "closed_at", "outcome"].contains(&name.as_str())
            })
            .map(|(name, value)| (name.clone(), json!(value)))
            .collect();
        // The batch scores a closed lead at its close date and an open one at --as-of.
        let as_of = match field("outcome") {
            "open" | "" => AS_OF,
            _ => field("closed_at"),
        };
        let id = field("lead_id").to_owned();
        requests.push(json!({
            "lead_id": id,
            "attributes": attributes,
            "events": events.remove(&id).unwrap_or_default(),
            "as_of": as_of,
        }));
    }

    let router = app(AppState::new(ServerConfig {
        model: Some(dir.path().join("model.json")),
        rules: Some(crate::common::repo_file("data/starter-rules.toml")),
        max_batch: 500,
        max_body_bytes: 64 << 20,
        ..ServerConfig::default()
    })
    .expect("server state"));
    let mut compared = 0;
    for chunk in requests.chunks(500) {
        let request = Request::post("/v1/score/batch")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json!({ "leads": chunk }).to_string()))
            .expect("request");
        let response = router.clone().oneshot(request).await.expect("infallible");
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = serde_json::from_slice(
            &to_bytes(response.into_body(), usize::MAX)
                .await
                .expect("body"),
        )
        .expect("json");
        for result in body["results"].as_array().expect("results") {
            let id = result["lead_id"].as_str().expect("id");
            let (batch_probability, batch_points) = batch_scores[id];
            let served = result["probability"].as_f64().expect("probability");
            assert_eq!(
                served.to_bits(),
                batch_probability.to_bits(),
                "{id}: {served} vs {batch_probability}"
            );
            assert_eq!(
                result["points"]["total"].as_f64(),
                Some(batch_points),
                "{id}"
            );
            compared += 1;
        }
    }
    assert_eq!(compared, 1500);
}
