//! The web console through `oneshot`: pages on a seeded database, sign-in with a session cookie,
//! anti-forgery tokens on the reload form, `--keys-for-reads`, what-if scores that are not
//! recorded, and the JSON routes the pages are built from.

use std::path::{Path, PathBuf};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, Response, StatusCode, header};
use leadscore_data::{EventLog, EventsOptions, LeadsOptions, LeadsTable, time};
use leadscore_server::{AppState, ServerConfig, app, seed_demo};
use serde_json::{Value, json};
use tower::ServiceExt;

fn repo(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative)
}

const KEY: &str = "console-key";

/// A server on a fresh database, with the demo experiment, seeded from the first 400 leads of
/// the bundled sample.
fn seeded(dir: &Path, keys_for_reads: bool) -> (AppState, Router) {
    let state = AppState::new(ServerConfig {
        model: Some(repo("tests/fixtures/golden-logistic.json")),
        rules: Some(repo("data/starter-rules.toml")),
        db: Some(dir.join("scores.db")),
        experiments: Some(repo("data/demo-experiments.toml")),
        api_keys: vec![KEY.to_owned()],
        keys_for_reads,
        ..ServerConfig::default()
    })
    .expect("state");
    let engine = state.engine();
    let options = leadscore_score::scoring_leads_options(
        &LeadsOptions::default(),
        engine.scorer.model(),
        engine.scorer.rules(),
    );
    let leads =
        LeadsTable::load(&repo("tests/fixtures/golden-leads.csv"), &options).expect("leads");
    let events = EventLog::load(
        &repo("data/sample/events.csv"),
        &EventsOptions::default(),
        &leads,
    )
    .expect("events");
    let summary = seed_demo(&state, &leads, Some(&events), time::now())
        .expect("seeded")
        .expect("an empty database is seeded");
    assert_eq!(summary.scores, leads.len());
    assert!(summary.outcomes > 100, "{summary:?}");
    // A second seeding of the same database adds nothing.
    assert_eq!(
        seed_demo(&state, &leads, Some(&events), time::now()).expect("seeding"),
        None
    );
    let router = app(state.clone());
    (state, router)
}

async fn send(router: &Router, request: Request<Body>) -> (StatusCode, Response<()>, String) {
    let response = router.clone().oneshot(request).await.expect("infallible");
    let (parts, body) = response.into_parts();
    let bytes = to_bytes(body, usize::MAX).await.expect("body");
    let text = String::from_utf8_lossy(&bytes).into_owned();
    (parts.status, Response::from_parts(parts, ()), text)
}

fn get(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut request = Request::get(path);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.body(Body::empty()).expect("request")
}

fn form(path: &str, body: &str, cookie: Option<&str>, origin: Option<&str>) -> Request<Body> {
    let mut request = Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::HOST, "127.0.0.1:8080");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    if let Some(origin) = origin {
        request = request.header(header::ORIGIN, origin);
    }
    request.body(Body::from(body.to_owned())).expect("request")
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// The value of `data-field="…" data-value="…"` attributes in page order.
fn data_values(html: &str, field: &str) -> Vec<String> {
    let marker = format!(r#"data-field="{field}" data-value=""#);
    html.match_indices(&marker)
        .map(|(at, _)| {
            let rest = &html[at + marker.len()..];
            rest[..rest.find('"').expect("closing quote")].to_owned()
        })
        .collect()
}

/// Signs in and returns the cookie pair and the session's form token.
async fn sign_in(router: &Router) -> (String, String) {
    let (status, response, _) = send(
        router,
        form("/login", &format!("key={KEY}&next=%2Fmodels"), None, None),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[header::LOCATION], "/models");
    let set_cookie = response.headers()[header::SET_COOKIE]
        .to_str()
        .expect("ascii")
        .to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(!set_cookie.contains("Secure"), "plain HTTP: {set_cookie}");
    let cookie = set_cookie.split(';').next().expect("name=value").to_owned();
    let (status, _, page) = send(router, get("/models", Some(&cookie))).await;
    assert_eq!(status, StatusCode::OK);
    let marker = r#"name="csrf" value=""#;
    let at = page.find(marker).expect("a reload form with a token") + marker.len();
    let csrf = page[at..at + page[at..].find('"').expect("quote")].to_owned();
    (cookie, csrf)
}

#[tokio::test]
async fn every_page_shows_the_apis_numbers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_, router) = seeded(dir.path(), false);

    let (status, response, overview) = send(&router, get("/", None)).await;
    assert_eq!(status, StatusCode::OK);
    let headers = response.headers();
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    let policy = headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .expect("ascii");
    assert!(policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"));
    let (_, _, activity) = send(&router, get("/v1/activity", None)).await;
    let activity = json_of(&activity);
    let scores: u64 = activity["days"]
        .as_array()
        .expect("days")
        .iter()
        .map(|d| d["scores"].as_u64().expect("count"))
        .sum();
    assert_eq!(scores, 300);
    assert_eq!(data_values(&overview, "scores"), [scores.to_string()]);
    assert_eq!(
        data_values(&overview, "leads_scored"),
        [activity["mix"]["leads"].to_string()]
    );
    let (_, _, models) = send(&router, get("/v1/models", None)).await;
    let models = json_of(&models);
    assert!(overview.contains(&format!(
        r#"<span data-field="version">{}</span>"#,
        models["model"]["version"].as_str().expect("version")
    )));
    assert_eq!(
        data_values(&overview, "validation_auc"),
        [models["model"]["validation"]["metrics"]["auc"].to_string()]
    );
    assert!(overview.contains(r#"<svg id="volume""#) && overview.contains(r#"<svg id="tiers""#));

    let (status, _, experiments) = send(&router, get("/experiments", None)).await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, report) = send(&router, get("/v1/experiments/points-vs-predictive", None)).await;
    let report = json_of(&report);
    for field in ["leads", "routed", "routed_closed", "routed_won"] {
        let api: Vec<String> = report["arms"]
            .as_array()
            .expect("arms")
            .iter()
            .map(|arm| arm[field].to_string())
            .collect();
        assert_eq!(data_values(&experiments, field), api, "{field}");
    }
    assert!(experiments.contains(r#"<svg id="weeks-0""#));
    assert!(experiments.contains(r#"class="verdict""#));

    // A lead: its latest recorded probability and its outcome are the API's.
    let (_, _, history) = send(&router, get("/v1/leads/L0000007", None)).await;
    let history = json_of(&history);
    let (status, _, page) = send(&router, get("/leads?id=L0000007", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        data_values(&page, "probability"),
        [history["scores"][0]["probability"].to_string()]
    );
    assert!(page.contains(r#"id="breakdown""#) && page.contains(r#"id="reasons-positive""#));
    let (status, _, page) = send(&router, get("/leads?id=%3Cscript%3Enobody", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Nothing is recorded about lead “&lt;script&gt;nobody”"));
    assert!(!page.contains("<script>nobody"));
    let (status, _, _) = send(
        &router,
        get(&format!("/leads?id={}", "x".repeat(300)), None),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, _, rules) = send(&router, get("/rules", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(rules.contains("job_level is c-level, vp or director"));
    assert_eq!(data_values(&rules, "mql_threshold"), ["50"]);
    assert!(rules.contains(r#"<script src="/console/what-if.js" defer></script>"#));
    let (status, response, script) = send(&router, get("/console/what-if.js", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
    assert!(script.contains("record=false"));

    let (status, _, page) = send(&router, get("/models", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"<tr class="serving"><th scope="row">golden-logistic.json</th>"#));
    assert!(page.contains("Sign in with an API key"));

    // The monitor page draws the API's report: statuses, scores and PSI per week, the backtest.
    let (status, _, report) = send(&router, get("/v1/monitor", None)).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let report = json_of(&report);
    let (status, _, page) = send(&router, get("/monitor", None)).await;
    assert_eq!(status, StatusCode::OK);
    let weeks = report["drift"].as_array().expect("weeks");
    assert!(!weeks.is_empty(), "{report}");
    let field = |rows: &[Value], name: &str| -> Vec<String> {
        rows.iter().map(|r| r[name].to_string()).collect()
    };
    assert_eq!(data_values(&page, "scores"), field(weeks, "scores"));
    assert_eq!(data_values(&page, "psi"), field(weeks, "psi"));
    let months = report["backtest"].as_array().expect("months");
    assert!(!months.is_empty(), "the demo records outcomes: {report}");
    assert_eq!(data_values(&page, "closed"), field(months, "leads"));
    assert_eq!(data_values(&page, "auc"), field(months, "auc"));
    let statuses = data_values(&page, "status");
    assert_eq!(statuses[0], report["status"].as_str().expect("status"));
    assert_eq!(statuses.len(), 1 + weeks.len() + months.len());
    assert!(page.contains(r#"id="drift-chart""#));
    assert_eq!(page.contains(r#"id="backtest-chart""#), months.len() > 1);
}

#[tokio::test]
async fn reloading_needs_a_session_and_its_token() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_, router) = seeded(dir.path(), false);
    let (status, _, page) = send(&router, form("/models", "csrf=x", None, None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(page.contains("sign in with an API key to reload"));

    let (status, _, page) = send(&router, form("/login", "key=wrong&next=%2F", None, None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(page.contains("unknown API key"));
    // After sign-in only local paths are followed.
    let (status, response, _) = send(
        &router,
        form(
            "/login",
            &format!("key={KEY}&next=https%3A%2F%2Fevil.test"),
            None,
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[header::LOCATION], "/");

    // Another site cannot sign a browser in; a proxy that says where it was reached at can.
    let (status, _, page) = send(
        &router,
        form(
            "/login",
            &format!("key={KEY}"),
            None,
            Some("https://evil.test"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(page.contains("this form came from another site"), "{page}");
    let mut proxied = form(
        "/login",
        &format!("key={KEY}"),
        None,
        Some("https://leads.example.com"),
    );
    proxied.headers_mut().insert(
        "x-forwarded-host",
        axum::http::HeaderValue::from_static("leads.example.com"),
    );
    let (status, _, page) = send(&router, proxied).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");

    let (cookie, csrf) = sign_in(&router).await;
    let (status, _, page) =
        send(&router, form("/models", "csrf=forged", Some(&cookie), None)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("out of date or came from another site"));
    let (status, _, _) = send(
        &router,
        form(
            "/models",
            &format!("csrf={csrf}"),
            Some(&cookie),
            Some("https://evil.test"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, page) = send(
        &router,
        form(
            "/models",
            &format!("csrf={csrf}"),
            Some(&cookie),
            Some("http://127.0.0.1:8080"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Reloaded: now serving golden-logistic"));

    // A session is not a key for writes.
    let outcome = Request::post("/v1/outcomes")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::COOKIE, &cookie)
        .body(Body::from(
            json!({"outcomes": [{"lead_id": "L1", "outcome": "won"}]}).to_string(),
        ))
        .expect("request");
    let (status, _, _) = send(&router, outcome).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, response, _) = send(
        &router,
        form("/logout", &format!("csrf={csrf}"), Some(&cookie), None),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        response.headers()[header::SET_COOKIE]
            .to_str()
            .expect("ascii")
            .contains("Max-Age=0")
    );
    let (status, _, _) = send(
        &router,
        form("/models", &format!("csrf={csrf}"), Some(&cookie), None),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn keys_for_reads_put_every_page_behind_sign_in() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_, router) = seeded(dir.path(), true);
    for path in [
        "/",
        "/experiments",
        "/leads?id=L0000007",
        "/rules",
        "/monitor",
        "/models",
    ] {
        let (status, response, _) = send(&router, get(path, None)).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{path}");
        let location = response.headers()[header::LOCATION]
            .to_str()
            .expect("ascii");
        assert!(location.starts_with("/login?next=/"), "{path}: {location}");
    }
    for path in ["/v1/activity", "/v1/monitor"] {
        let (status, _, _) = send(&router, get(path, None)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
    }
    let (status, _, page) = send(&router, get("/login", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"type="password""#));
    let (cookie, _) = sign_in(&router).await;
    for path in [
        "/",
        "/experiments",
        "/leads?id=L0000007",
        "/rules",
        "/monitor",
        "/models",
        "/v1/activity",
        "/v1/monitor",
    ] {
        let (status, _, _) = send(&router, get(path, Some(&cookie))).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn a_what_if_score_is_neither_recorded_nor_assigned() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_, router) = seeded(dir.path(), false);
    let lead = json!({"lead_id": "what-if-1", "attributes": {"job_level": "vp"}});
    let score = |record: &str| {
        Request::post(format!("/v1/score?record={record}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(lead.to_string()))
            .expect("request")
    };
    let (status, _, answer) = send(&router, score("false")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(json_of(&answer).get("experiments").is_none(), "{answer}");
    let (status, _, problem) = send(&router, get("/v1/leads/what-if-1", None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");

    let (status, _, answer) = send(&router, score("true")).await;
    assert_eq!(status, StatusCode::OK);
    let answer = json_of(&answer);
    let (status, _, history) = send(&router, get("/v1/leads/what-if-1?limit=1", None)).await;
    assert_eq!(status, StatusCode::OK);
    let history = json_of(&history);
    assert_eq!(history["total_scores"], 1);
    assert_eq!(history["scores"][0]["probability"], answer["probability"]);
    // The answer is kept as given: reasons and the points breakdown.
    assert_eq!(history["scores"][0]["answer"]["reasons"], answer["reasons"]);
    assert_eq!(
        history["scores"][0]["answer"]["points"]["breakdown"],
        answer["points"]["breakdown"]
    );
    assert_eq!(
        history["assignments"][0]["experiment"],
        "points-vs-predictive"
    );

    for (path, field) in [
        ("/v1/leads/L1?limit=0", "limit"),
        ("/v1/leads/L1?limit=abc", ""),
        ("/v1/activity?days=400", "days"),
        (&format!("/v1/leads/{}", "x".repeat(300)), "lead_id"),
        ("/v1/score?record=maybe", ""),
    ] {
        let request = if path.starts_with("/v1/score") {
            score("maybe")
        } else {
            get(path, None)
        };
        let (status, response, problem) = send(&router, request).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {problem}");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json",
            "{path}"
        );
        assert_eq!(
            json_of(&problem)["field"].as_str().unwrap_or(""),
            field,
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_server_without_a_database_says_so_on_its_pages() {
    let state = AppState::new(ServerConfig {
        rules: Some(repo("data/starter-rules.toml")),
        ..ServerConfig::default()
    })
    .expect("state");
    let router = app(state);
    let (status, _, page) = send(&router, get("/", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("This server records nothing"), "{page}");
    assert!(page.contains("scores with points rules only"));
    let (status, _, page) = send(&router, get("/leads?id=L1", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("This server records nothing"));
    let (status, _, page) = send(&router, get("/experiments", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("No live experiment"));
    let (status, _, page) = send(&router, form("/models", "csrf=x", None, None)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("start it with --api-key"));
}

#[tokio::test]
async fn without_answers_a_score_is_kept_without_its_reasons() {
    let dir = tempfile::tempdir().expect("temp dir");
    let router = app(AppState::new(ServerConfig {
        model: Some(repo("tests/fixtures/golden-logistic.json")),
        db: Some(dir.path().join("scores.db")),
        keep_answers: false,
        ..ServerConfig::default()
    })
    .expect("state"));
    let request = Request::post("/v1/score")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"lead_id": "L1", "attributes": {"job_level": "vp"}}).to_string(),
        ))
        .expect("request");
    let (status, _, answer) = send(&router, request).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        json_of(&answer)["reasons"].is_object(),
        "the answer still has its reasons"
    );
    let (_, _, history) = send(&router, get("/v1/leads/L1", None)).await;
    let history = json_of(&history);
    assert_eq!(
        history["scores"][0]["probability"],
        json_of(&answer)["probability"]
    );
    assert!(history["scores"][0]["answer"].is_null(), "{history}");
    let (_, _, page) = send(&router, get("/leads?id=L1", None)).await;
    assert!(page.contains("recorded without its answer"), "{page}");
}
