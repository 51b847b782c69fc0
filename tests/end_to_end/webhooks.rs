//! Threshold webhooks against faults, with real parts: the real `leadscore serve` process, a
//! local HTTP receiver that is down at first and then fails at random, and the server killed
//! with SIGKILL while it delivers, and again right after answering scores, and started again. Every event arrives, signed, under one
//! idempotency key per crossing; a lead hovering at the threshold fires once; a webhook whose
//! receiver never answers dead-letters its events, and `leadscore webhooks requeue` revives them.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::common::{json as parse, leadscore, repo_file, success};

const SECRET: &str = "a-receiver-shares-this-secret";
const KEY: &str = "webhook-test-key";
const AS_OF: &str = "2026-06-01T00:00:00Z";

/// One POST the receiver answered 2xx.
#[derive(Debug, Clone)]
struct Received {
    key: String,
    kind: String,
    signature: String,
    body: String,
}

/// A receiver on a fixed port: down until `up` is set, then answering 500 to a quarter of the
/// requests and hanging up on another twentieth, at random.
struct Receiver {
    address: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    attempts: Arc<Mutex<u64>>,
    up: Arc<AtomicBool>,
}

impl Receiver {
    fn start() -> Self {
        let address = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port");
        let receiver = Self {
            address,
            received: Arc::default(),
            attempts: Arc::default(),
            up: Arc::default(),
        };
        let (received, attempts, up) = (
            receiver.received.clone(),
            receiver.attempts.clone(),
            receiver.up.clone(),
        );
        std::thread::spawn(move || {
            // Not listening at all while down: connections are refused.
            while !up.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(20));
            }
            let listener = TcpListener::bind(address).expect("rebind the receiver's port");
            let mut rng = ChaCha8Rng::seed_from_u64(17);
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let roll: f64 = rng.random();
                *attempts.lock().expect("lock") += 1;
                if let Some(request) = serve_one(stream, roll) {
                    received.lock().expect("lock").push(request);
                }
            }
        });
        receiver
    }

    fn url(&self) -> String {
        format!("http://{}/hooks/leadscore", self.address)
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }
}

/// Reads one request and answers it by `roll`: below 0.25 a 500, below 0.3 a hang-up, else 204.
fn serve_one(mut stream: TcpStream, roll: f64) -> Option<Received> {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut headers = HashMap::new();
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    loop {
        line.clear();
        reader.read_line(&mut line).ok()?;
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        if let Some((name, value)) = trimmed.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    let length: usize = headers.get("content-length")?.parse().ok()?;
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    if roll < 0.25 {
        let _ = stream.write_all(
            b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
        return None;
    }
    if roll < 0.3 {
        return None;
    }
    stream
        .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
        .ok()?;
    Some(Received {
        key: headers.get("idempotency-key")?.clone(),
        kind: headers.get("x-leadscore-event")?.clone(),
        signature: headers.get("x-leadscore-signature")?.clone(),
        body: String::from_utf8(body).ok()?,
    })
}

struct Server {
    child: Child,
    address: SocketAddr,
}

impl Server {
    fn start(dir: &Path, env: &[(&str, &str)]) -> Self {
        let address = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port");
        let child = Command::new(env!("CARGO_BIN_EXE_leadscore"))
            .current_dir(dir)
            .args(["serve", "--model"])
            .arg(repo_file("tests/fixtures/golden-logistic.json"))
            .arg("--rules")
            .arg(repo_file("data/starter-rules.toml"))
            .args([
                "--db",
                "scores.db",
                "--webhooks",
                "webhooks.toml",
                "--api-key",
                KEY,
            ])
            .args(["--listen", &address.to_string()])
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start leadscore serve");
        let started = Instant::now();
        while TcpStream::connect(address).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "server did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, address }
    }

    /// Scores a batch; returns each lead's answer.
    fn score(&self, leads: &[Value]) -> Vec<Value> {
        let body = json!({ "leads": leads }).to_string();
        let mut stream = TcpStream::connect(self.address).expect("connect");
        write!(
            stream,
            "POST /v1/score/batch HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .expect("send");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("answer");
        let (head, body) = answer.split_once("\r\n\r\n").expect("HTTP answer");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}\n{body}");
        let body = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(body)
        } else {
            body.to_owned()
        };
        parse(&body)["results"].as_array().expect("results").clone()
    }

    fn kill_9(mut self) {
        let killed = Command::new("kill")
            .args(["-KILL", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(killed.success());
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.push_str(&tail[..size]);
        rest = &tail[size + 2..];
    }
    out
}

/// Engagement levels against the MQL threshold of 50 (re-armed below 45): every lead has 35
/// fit points (c-level, 201-1000 employees); `Low` adds nothing, `Hover` three pricing views
/// the day before [`AS_OF`] (about 49.7 in all), `High` a demo request (about 64.7).
#[derive(Clone, Copy)]
enum Level {
    Low,
    Hover,
    High,
}

fn lead(id: usize, level: Level) -> Value {
    // Distinct times: identical events are one event counted once.
    let event = |kind: &str, hour: u32| json!({"type": kind, "timestamp": format!("2026-05-31T{hour:02}:00:00Z")});
    let events = match level {
        Level::Low => vec![],
        Level::Hover => (0..3).map(|hour| event("pricing_view", hour)).collect(),
        Level::High => vec![event("demo_request", 0)],
    };
    let industries = [
        "software",
        "retail",
        "financial services",
        "manufacturing",
        "healthcare",
    ];
    json!({
        "lead_id": format!("L{id:04}"),
        "as_of": AS_OF,
        "attributes": {
            "job_level": "c-level",
            "company_size": "201-1000",
            "industry": industries[id % industries.len()],
            "country": if id.is_multiple_of(2) { "US" } else { "DE" },
        },
        "events": events,
    })
}

/// The state machine of the triggers, replayed from the answers: (webhook, lead) → armed.
#[derive(Default)]
struct Expected {
    armed: HashMap<(String, String), bool>,
    events: BTreeMap<(String, String), usize>,
}

impl Expected {
    fn observe(&mut self, answers: &[Value], watched_floor: f64) {
        for answer in answers {
            let lead = answer["lead_id"].as_str().expect("id").to_owned();
            let points = answer["points"]["total"].as_f64().expect("points");
            let probability = answer["probability"].as_f64().expect("probability");
            for (webhook, firing, rearm) in [
                (
                    "crm-mql",
                    answer["points"]["mql"] == true,
                    points < 50.0 * 0.9,
                ),
                (
                    "nowhere",
                    answer["points"]["mql"] == true,
                    points < 50.0 * 0.9,
                ),
                (
                    "sales-top-tiers",
                    answer["tier"] == "A" || answer["tier"] == "B",
                    probability < watched_floor * 0.9,
                ),
            ] {
                let armed = self
                    .armed
                    .entry((webhook.to_owned(), lead.clone()))
                    .or_insert(true);
                if *armed && firing {
                    *armed = false;
                    *self
                        .events
                        .entry((webhook.to_owned(), lead.clone()))
                        .or_default() += 1;
                } else if !*armed && rearm {
                    *armed = true;
                }
            }
        }
    }

    fn count(&self, webhook: &str) -> usize {
        self.events
            .iter()
            .filter(|((w, _), _)| w == webhook)
            .map(|(_, n)| n)
            .sum()
    }
}

fn verify(received: &Received) {
    let (t, v1) = received
        .signature
        .split_once(",v1=")
        .expect("t=…,v1=… signature");
    let timestamp = t.strip_prefix("t=").expect("t=");
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(SECRET.as_bytes()).expect("key");
    mac.update(format!("{timestamp}.{}", received.body).as_bytes());
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(v1, expected, "signature of {}", received.body);
}

fn outbox_status(dir: &Path) -> Value {
    parse(&success(
        dir,
        &["webhooks", "status", "--db", "scores.db", "--json"],
    ))
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn every_event_arrives_once_per_crossing_through_failures_and_kill_9() {
    let work = tempfile::tempdir().expect("tempdir");
    let dir = work.path();
    let receiver = Receiver::start();
    let closed = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a port nobody listens on");
    std::fs::write(
        dir.join("webhooks.toml"),
        format!(
            r#"
[[webhook]]
name = "crm-mql"
url = "{url}"
secret = "{SECRET}"
on = "mql"
retry_base_seconds = 0.05
max_attempts = 100
timeout_seconds = 2

[[webhook]]
name = "sales-top-tiers"
url = "{url}"
secret = "env:LEADSCORE_TEST_WEBHOOK_SECRET"
on = "tier"
tiers = ["A", "B"]
retry_base_seconds = 0.05
max_attempts = 100
timeout_seconds = 2

[[webhook]]
name = "nowhere"
url = "http://{closed}/gone"
secret = "{SECRET}"
on = "mql"
retry_base_seconds = 0.05
max_attempts = 2
"#,
            url = receiver.url()
        ),
    )
    .expect("webhooks file");
    let start = || Server::start(dir, &[("LEADSCORE_TEST_WEBHOOK_SECRET", SECRET)]);
    let tier_floor = {
        let model: Value = serde_json::from_str(
            &std::fs::read_to_string(repo_file("tests/fixtures/golden-logistic.json"))
                .expect("model"),
        )
        .expect("JSON");
        // Tier B's floor: the lower of the two watched tiers.
        model["tiers"][1]["min_probability"]
            .as_f64()
            .expect("tier B floor")
    };
    let mut expected = Expected::default();

    // Phase 1: 240 leads, a third of them MQLs, scored while the receiver is still down.
    let server = start();
    for batch in (0..240).collect::<Vec<_>>().chunks(60) {
        let levels = [Level::Low, Level::Hover, Level::High];
        let leads: Vec<Value> = batch.iter().map(|&i| lead(i, levels[i % 3])).collect();
        expected.observe(&server.score(&leads), tier_floor);
    }
    receiver.up.store(true, Ordering::Relaxed);
    wait_for("the first deliveries", Duration::from_secs(60), || {
        receiver.received().len() >= 10
    });
    server.kill_9();
    let delivered_at_kill = receiver.received().len();

    // Phase 2, after a restart: MQLs hover just under the threshold and come back (no new
    // event); a sixth of the leads fall to nothing and cross again (a new event each).
    let server = start();
    let mql: Vec<usize> = (0..240).filter(|i| i % 3 == 2).collect();
    for level in [Level::Hover, Level::High] {
        let leads: Vec<Value> = mql.iter().map(|&i| lead(i, level)).collect();
        expected.observe(&server.score(&leads), tier_floor);
    }
    let again: Vec<usize> = mql.iter().copied().filter(|i| i % 2 == 0).collect();
    for level in [Level::Low, Level::High] {
        let leads: Vec<Value> = again.iter().map(|&i| lead(i, level)).collect();
        expected.observe(&server.score(&leads), tier_floor);
    }
    // Phase 3: new MQLs scored and the server killed the moment they are answered, before its
    // recorder may have written them: the journal replay at the next start enqueues them.
    let late: Vec<Value> = (240..270).map(|i| lead(i, Level::High)).collect();
    expected.observe(&server.score(&late), tier_floor);
    server.kill_9();
    let server = start();

    let mql_events = expected.count("crm-mql");
    let tier_events = expected.count("sales-top-tiers");
    assert_eq!(
        mql_events,
        mql.len() + again.len() + late.len(),
        "hovering must not fire"
    );
    assert!(
        tier_events >= mql.len(),
        "MQLs enter the top tiers: {tier_events}"
    );
    let total = mql_events + tier_events;
    // Done when every event is either delivered or (for `nowhere`) dead-lettered.
    let settled = (total + expected.count("nowhere")) as u64;
    wait_for("every event delivered", Duration::from_secs(120), || {
        let status = outbox_status(dir);
        let done = status["delivered"].as_u64().unwrap_or(0) + status["dead"].as_u64().unwrap_or(0);
        status["pending"].as_u64() == Some(0) && done >= settled
    });
    drop(server);

    let received = receiver.received();
    let mut by_key: HashMap<String, Vec<&Received>> = HashMap::new();
    for r in &received {
        verify(r);
        by_key.entry(r.key.clone()).or_default().push(r);
    }
    let mut per_crossing: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (key, copies) in &by_key {
        assert!(
            copies.iter().all(|c| c.body == copies[0].body),
            "one key, one body: {key}"
        );
        let event: Value = serde_json::from_str(&copies[0].body).expect("event JSON");
        assert_eq!(event["event_id"], key.as_str());
        assert_eq!(event["kind"], copies[0].kind.as_str());
        let webhook = event["webhook"].as_str().expect("webhook").to_owned();
        let lead = event["lead_id"].as_str().expect("lead").to_owned();
        *per_crossing.entry((webhook, lead)).or_default() += 1;
    }
    let mut wanted = expected.events.clone();
    wanted.retain(|(webhook, _), _| webhook != "nowhere");
    assert_eq!(
        per_crossing, wanted,
        "one idempotency key per crossing, every crossing delivered"
    );
    let status = outbox_status(dir);
    assert_eq!(status["delivered"].as_u64(), Some(total as u64), "{status}");
    assert_eq!(
        status["dead"].as_u64(),
        Some(expected.count("nowhere") as u64),
        "{status}"
    );
    assert!(
        status["dead_letters"][0]["last_error"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "{status}"
    );
    let duplicates = received.len() - by_key.len();
    let attempts = *receiver.attempts.lock().expect("lock");
    eprintln!(
        "webhooks: {total} events, {} deliveries acknowledged ({duplicates} repeated after kill -9 or a lost answer), {attempts} attempts reached the receiver, {delivered_at_kill} before the kill",
        received.len()
    );

    let requeued = parse(&success(
        dir,
        &["webhooks", "requeue", "--db", "scores.db", "--json"],
    ));
    assert_eq!(
        requeued["requeued"].as_u64(),
        Some(expected.count("nowhere") as u64)
    );
    assert_eq!(
        outbox_status(dir)["pending"].as_u64(),
        Some(expected.count("nowhere") as u64)
    );
}

#[test]
fn a_webhooks_file_that_cannot_work_is_refused_before_serving() {
    let work = tempfile::tempdir().expect("tempdir");
    let dir = work.path();
    let model = repo_file("tests/fixtures/golden-logistic.json");
    let model = model.to_str().expect("utf-8");
    for (file, needle) in [
        (
            "[[webhook]]\nname = \"a\"\nurl = \"ftp://x\"\nsecret = \"0123456789abcdef\"\non = \"tier\"\ntiers = [\"A\"]\n",
            "http:// or https://",
        ),
        (
            "[[webhook]]\nname = \"a\"\nurl = \"http://x\"\nsecret = \"short\"\non = \"tier\"\ntiers = [\"A\"]\n",
            "at least 16",
        ),
        (
            "[[webhook]]\nname = \"a\"\nurl = \"http://x\"\nsecret = \"0123456789abcdef\"\non = \"tier\"\ntiers = [\"Z\"]\n",
            "tier `Z` is not a tier",
        ),
        (
            "[[webhook]]\nname = \"a\"\nurl = \"http://x\"\nsecret = \"0123456789abcdef\"\non = \"mql\"\n",
            "needs a rules file",
        ),
        (
            "[[webhook]]\nname = \"a\"\nurl = \"http://x\"\nsecret = \"env:LEADSCORE_SURELY_UNSET\"\non = \"tier\"\ntiers = [\"A\"]\n",
            "LEADSCORE_SURELY_UNSET is not set",
        ),
        (
            "[[webhook]]\nname = \"a\"\nurl = \"http://x\"\nsecret = \"0123456789abcdef\"\non = \"tier\"\ntiers = [\"A\"]\nretries = 3\n",
            "unknown field `retries`",
        ),
    ] {
        std::fs::write(dir.join("webhooks.toml"), file).expect("write");
        let output = leadscore(
            dir,
            &[
                "serve",
                "--model",
                model,
                "--db",
                "s.db",
                "--webhooks",
                "webhooks.toml",
                "--listen",
                "127.0.0.1:0",
            ],
        );
        assert!(!output.status.success());
        let error = String::from_utf8(output.stderr).expect("utf-8");
        assert!(
            error.contains("webhooks.toml") && error.contains(needle),
            "{needle}: {error}"
        );
    }
    // The library refuses webhooks without a database for their outbox (the command line
    // always has one: --db defaults to leadscore.db).
    let refused = leadscore_server::AppState::new(leadscore_server::ServerConfig {
        model: Some(repo_file("tests/fixtures/golden-logistic.json")),
        webhooks: Some(dir.join("webhooks.toml")),
        ..leadscore_server::ServerConfig::default()
    })
    .expect_err("no database");
    assert!(
        refused.to_string().contains("give a database (--db)"),
        "{refused}"
    );
}
