//! Load benchmark on 127.0.0.1: single-lead `POST /v1/score` against each given model, next to a
//! bare axum route returning a constant (the stack's limit), measured in the same run: the full
//! answer; the full answer and the bare route at half the rate the full answer reached (each
//! client sending on a schedule, latency counted from each request's sending, the rate reached
//! printed); the answer without reasons; the full answer from a server that does not keep
//! answers with their scores (`--no-answers`); and the full answer from a server that records no
//! score at all (no `--db`), which prices the recording. The clients cycle through 10,000
//! different leads (attribute levels drawn uniformly, 0-8 events of any type over two months), so
//! that no cache of the server sees one lead over and over.
//!
//! ```sh
//! cargo run --release -p leadscore-server --example load -- \
//!     --model tests/fixtures/golden-logistic.json --model tests/fixtures/golden-gbdt.json
//! ```
//! Options: `--rules FILE` (default data/starter-rules.toml), `--seconds N` per target (default
//! 5), `--connections N` keep-alive clients (default 8).
//!
//! Besides requests/s, each target's CPU time per request is printed: the whole process's
//! (server, score recorder and clients) over the run, divided by its requests (Linux). On a
//! shared machine it moves less than requests/s, since waiting for a core costs no CPU time, so
//! it is the figure to compare two builds by.
//!
//! `--in-process N` sends N requests per model through the router itself instead (no sockets,
//! one at a time, scores recorded with their answers) and prints the time per request. Under
//! `valgrind --tool=callgrind` it counts instructions per request, a figure the machine's load
//! does not move; subtract a run with `--in-process 1` for the start-up:
//!
//! ```sh
//! valgrind --tool=callgrind target/release/examples/load \
//!     --model tests/fixtures/golden-logistic.json --in-process 20000
//! ```

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use leadscore_server::{AppState, ServerConfig, app};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The allocator of the `leadscore` binary, so that the server measured is the one shipped.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Distinct leads the clients cycle through.
const LEADS: usize = 10_000;

/// Request bodies of `LEADS` different leads, the same in every run.
fn lead_bodies() -> Vec<String> {
    const INDUSTRIES: [&str; 9] = [
        "software",
        "financial services",
        "healthcare",
        "manufacturing",
        "retail",
        "education",
        "government",
        "media",
        "other",
    ];
    const SIZES: [&str; 6] = ["1-10", "11-50", "51-200", "201-1000", "1001-5000", "5000+"];
    const LEVELS: [&str; 6] = [
        "c-level",
        "vp",
        "director",
        "manager",
        "individual contributor",
        "student",
    ];
    const COUNTRIES: [&str; 10] = ["US", "UK", "DE", "FR", "IN", "BR", "CA", "AU", "NL", "SG"];
    const SOURCES: [&str; 8] = [
        "organic_search",
        "paid_search",
        "referral",
        "webinar",
        "trade_show",
        "outbound",
        "partner",
        "content_syndication",
    ];
    const DOMAINS: [&str; 3] = ["business", "free", "edu"];
    const EVENTS: [&str; 10] = [
        "page_view",
        "pricing_view",
        "email_open",
        "email_click",
        "webinar_attended",
        "whitepaper_download",
        "form_submit",
        "demo_request",
        "unsubscribe",
        "email_bounce",
    ];
    // splitmix64: a fixed sequence without a dependency.
    let mut state = 0x5eed_u64;
    let mut next = move |n: usize| {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) % n as u64) as usize
    };
    (0..LEADS)
        .map(|i| {
            let events: Vec<String> = (0..next(9))
                .map(|_| {
                    format!(
                        r#"{{"type":"{}","timestamp":"2025-{:02}-{:02}T{:02}:00:00Z"}}"#,
                        EVENTS[next(EVENTS.len())],
                        5 + next(2),
                        1 + next(30),
                        next(24)
                    )
                })
                .collect();
            format!(
                r#"{{"lead_id":"L{i}","attributes":{{"industry":"{}","job_level":"{}","company_size":"{}","country":"{}","email_domain":"{}","annual_revenue":{},"lead_source":"{}"}},"events":[{}],"as_of":"2025-07-01"}}"#,
                INDUSTRIES[next(INDUSTRIES.len())],
                LEVELS[next(LEVELS.len())],
                SIZES[next(SIZES.len())],
                COUNTRIES[next(COUNTRIES.len())],
                DOMAINS[next(DOMAINS.len())],
                100_000 * (1 + next(10_000)),
                SOURCES[next(SOURCES.len())],
                events.join(",")
            )
        })
        .collect()
}

struct Options {
    models: Vec<PathBuf>,
    rules: Option<PathBuf>,
    seconds: u64,
    connections: usize,
    in_process: Option<usize>,
}

fn options() -> Options {
    let mut options = Options {
        models: Vec::new(),
        rules: Some(PathBuf::from("data/starter-rules.toml")),
        seconds: 5,
        connections: 8,
        in_process: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_default();
        match flag.as_str() {
            "--model" => options.models.push(value.into()),
            "--rules" if value == "none" => options.rules = None,
            "--rules" => options.rules = Some(value.into()),
            "--seconds" => options.seconds = value.parse().unwrap_or(5),
            "--connections" => options.connections = value.parse().unwrap_or(8),
            "--in-process" => options.in_process = value.parse().ok(),
            other => eprintln!("ignoring unknown option {other}"),
        }
    }
    if options.models.is_empty() {
        options.models = vec![
            "tests/fixtures/golden-logistic.json".into(),
            "tests/fixtures/golden-gbdt.json".into(),
        ];
    }
    options
}

async fn start(router: Router) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    address
}

/// The length of a complete `200` answer at the start of `received` (head and body), `None`
/// while more is to come. Both clients read answers with it.
fn answer_length(received: &[u8]) -> Option<usize> {
    let end = received.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&received[..end]).to_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("content-length");
    (received.len() >= end + 4 + length).then_some(end + 4 + length)
}

/// One keep-alive client sending `requests` back to back, in turn from the `first`, until
/// `until`; returns latencies in µs.
async fn client(
    address: std::net::SocketAddr,
    requests: Arc<Vec<String>>,
    first: usize,
    until: Instant,
) -> Vec<u32> {
    let mut stream = TcpStream::connect(address).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let mut latencies = Vec::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut turn = first;
    while Instant::now() < until {
        let started = Instant::now();
        let request = &requests[turn % requests.len()];
        turn += 1;
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut filled = 0;
        loop {
            let read = stream.read(&mut buffer[filled..]).await.expect("read");
            assert!(read > 0, "server closed the connection");
            filled += read;
            if answer_length(&buffer[..filled]).is_some() {
                break;
            }
        }
        latencies.push(started.elapsed().as_micros() as u32);
    }
    latencies
}

/// One keep-alive client on a thread of its own sending a request at `start`, then one every
/// `interval` until `until`, or as soon as the answer is in when that is later; returns latencies
/// in µs, each from the moment its request was sent. A late wake-up before sending only lowers
/// the rate (the rate reached is what is printed) instead of adding to the next latency, since
/// sleeps on a virtual machine overshoot by up to milliseconds; the wake-ups of the server and of
/// the client waiting for its answer are in the latency, as they are for the bare route sent the
/// same schedule. Tokio's timer ticks in milliseconds, too coarse for these intervals, hence a
/// thread.
fn paced_client(
    address: std::net::SocketAddr,
    requests: &[String],
    first: usize,
    (start, interval, until): (Instant, Duration, Instant),
) -> Vec<u32> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let mut latencies = Vec::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut due = start;
    let mut turn = first;
    while due < until {
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        let sent = Instant::now();
        let request = &requests[turn % requests.len()];
        turn += 1;
        stream.write_all(request.as_bytes()).expect("write");
        let mut filled = 0;
        loop {
            let read = stream.read(&mut buffer[filled..]).expect("read");
            assert!(read > 0, "server closed the connection");
            filled += read;
            if answer_length(&buffer[..filled]).is_some() {
                break;
            }
        }
        latencies.push(sent.elapsed().as_micros() as u32);
        due = (due + interval).max(Instant::now());
    }
    latencies
}

/// What a measured server keeps of each score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Recording {
    /// Scores with their answers (the default of `leadscore serve --db`).
    Answers,
    /// Scores without their answers (`--no-answers`).
    ScoresOnly,
    /// Nothing (no `--db`).
    Off,
}

struct Run {
    requests_per_second: f64,
    /// Sent on a schedule: its rate is the one sought, not the server's limit, so it is no
    /// share of the bare route's.
    paced: bool,
    p50_ms: f64,
    p99_ms: f64,
    /// One request in a thousand is slower: the pauses of a few milliseconds (the score
    /// recorder's, the machine's) that p99 can hide.
    p999_ms: f64,
    /// CPU time of the whole process (server, recorder and clients) per request, in µs.
    cpu_us: Option<f64>,
}

/// CPU time this process has used so far, all threads, user and kernel: fields 14 and 15 of
/// `/proc/self/stat`, in clock ticks of 1/100 s (Linux's `USER_HZ`); `None` elsewhere. Per
/// request, it moves less than requests/s when other work shares the machine, as time spent
/// waiting for a core does not count.
fn process_cpu_seconds() -> Option<f64> {
    const TICKS_PER_SECOND: f64 = 100.0;
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name, in parentheses, may hold spaces: count the fields after it (the
    // third field of the line first).
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    Some((user + system) as f64 / TICKS_PER_SECOND)
}

/// Loads `path` for `options.seconds` from `options.connections` clients: back to back, or, at
/// `rate` requests/s in all, each client sending on schedule (see [`paced_client`]).
async fn measure(
    address: std::net::SocketAddr,
    path: &'static str,
    options: &Options,
    rate: Option<f64>,
) -> Run {
    let requests: Arc<Vec<String>> = Arc::new(
        lead_bodies()
            .into_iter()
            .map(|body| {
                format!(
                    "POST {path} HTTP/1.1\r\nhost: bench\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                )
            })
            .collect(),
    );
    // Warm-up: connections, allocator, caches.
    let warm = Instant::now() + Duration::from_millis(500);
    client(address, requests.clone(), 0, warm).await;
    let started = Instant::now();
    let until = started + Duration::from_secs(options.seconds);
    let cpu_before = process_cpu_seconds();
    let connections = options.connections;
    let first = move |c: usize| c * LEADS / connections;
    let tasks: Vec<_> = match rate {
        None => (0..options.connections)
            .map(|c| tokio::spawn(client(address, requests.clone(), first(c), until)))
            .collect(),
        Some(rate) => {
            // Each client sends every `interval`, the clients' turns spread evenly over it.
            let interval = Duration::from_secs_f64(options.connections as f64 / rate);
            (0..options.connections)
                .map(|c| {
                    let requests = requests.clone();
                    let start = started + interval * c as u32 / options.connections as u32;
                    tokio::task::spawn_blocking(move || {
                        paced_client(address, &requests, first(c), (start, interval, until))
                    })
                })
                .collect()
        }
    };
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("client"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = process_cpu_seconds()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    latencies.sort_unstable();
    let at = |q: f64| f64::from(latencies[((latencies.len() - 1) as f64 * q) as usize]) / 1000.0;
    Run {
        requests_per_second: latencies.len() as f64 / elapsed,
        paced: rate.is_some(),
        p50_ms: at(0.5),
        p99_ms: at(0.99),
        p999_ms: at(0.999),
        cpu_us: cpu.map(|seconds| seconds * 1e6 / latencies.len() as f64),
    }
}

/// Sends `requests` single-lead requests through the router of a server keeping its scores in
/// `db`, one after the other; prints the time per request.
async fn in_process(model: &std::path::Path, rules: Option<PathBuf>, db: PathBuf, requests: usize) {
    let state = AppState::new(ServerConfig {
        model: Some(model.to_owned()),
        rules,
        db: Some(db),
        ..ServerConfig::default()
    })
    .expect("model loads");
    let router = app(state.clone());
    let bodies = lead_bodies();
    let started = Instant::now();
    for body in bodies.iter().cycle().take(requests) {
        let request = axum::http::Request::post("/v1/score")
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body.clone()))
            .expect("request");
        let response = tower::ServiceExt::oneshot(router.clone(), request)
            .await
            .expect("infallible");
        assert!(response.status().is_success(), "{}", response.status());
        axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("answer");
    }
    let elapsed = started.elapsed();
    state.close();
    println!(
        "{}: {requests} requests in process, {:.1} µs each",
        model.display(),
        elapsed.as_secs_f64() * 1e6 / requests.max(1) as f64
    );
}

#[tokio::main]
async fn main() {
    let options = options();
    let db = tempfile::tempdir().expect("temp dir");
    if let Some(requests) = options.in_process {
        for (k, model) in options.models.iter().enumerate() {
            let file = db.path().join(format!("in-process-{k}.db"));
            in_process(model, options.rules.clone(), file, requests).await;
        }
        return;
    }
    let bare = Router::new().route(
        "/v1/score",
        post(|| async { axum::Json(serde_json::json!({"probability": 0.5})) }),
    );
    let bare_address = start(bare).await;
    let mut rows = vec![(
        "bare axum route (constant)".to_owned(),
        measure(bare_address, "/v1/score", &options, None).await,
    )];
    for (k, model) in options.models.iter().enumerate() {
        for recording in [Recording::Answers, Recording::ScoresOnly, Recording::Off] {
            let state = AppState::new(ServerConfig {
                model: Some(model.clone()),
                rules: options.rules.clone(),
                db: (recording != Recording::Off)
                    .then(|| db.path().join(format!("scores-{k}-{recording:?}.db"))),
                keep_answers: recording == Recording::Answers,
                ..ServerConfig::default()
            })
            .expect("model loads");
            let label = state.engine().scorer.model().map_or_else(String::new, |m| {
                format!("leadscore {} ({})", m.model().kind(), m.name())
            });
            let address = start(app(state.clone())).await;
            match recording {
                Recording::Answers => {
                    let full = measure(address, "/v1/score", &options, None).await;
                    // The latency at half the rate reached, what a server is sized for; the bare
                    // route at the same rate is the latency the machine itself gives at that rate.
                    let half_rate = full.requests_per_second / 2.0;
                    let half = measure(address, "/v1/score", &options, Some(half_rate)).await;
                    let bare_half =
                        measure(bare_address, "/v1/score", &options, Some(half_rate)).await;
                    let bare_answer = measure(address, "/v1/score?reasons=0", &options, None).await;
                    rows.push((format!("{label}, full answer"), full));
                    let paced = format!("at half load ({half_rate:.0} req/s sought)");
                    rows.push((format!("{label}, full answer {paced}"), half));
                    rows.push((format!("bare axum route (constant) {paced}"), bare_half));
                    rows.push((format!("{label}, no reasons"), bare_answer));
                }
                Recording::ScoresOnly => {
                    let full = measure(address, "/v1/score", &options, None).await;
                    rows.push((format!("{label}, full answer, --no-answers"), full));
                }
                Recording::Off => {
                    let full = measure(address, "/v1/score", &options, None).await;
                    rows.push((format!("{label}, full answer, no score recording"), full));
                }
            }
            state.close();
        }
    }
    let bare_rps = rows[0].1.requests_per_second;
    println!(
        "{} keep-alive connections, {} s per target, single-lead POST /v1/score cycling through {} leads with 0-8 events each, rules: {}",
        options.connections,
        options.seconds,
        LEADS,
        options
            .rules
            .as_ref()
            .map_or("none".into(), |r| r.display().to_string())
    );
    println!(
        "{:<84}{:>10}{:>9}{:>9}{:>10}{:>9}{:>13}",
        "target", "req/s", "p50 ms", "p99 ms", "p99.9 ms", "vs bare", "CPU µs/req"
    );
    for (label, run) in &rows {
        println!(
            "{:<84}{:>10.0}{:>9.3}{:>9.3}{:>10.3}{:>9}{:>13}",
            label,
            run.requests_per_second,
            run.p50_ms,
            run.p99_ms,
            run.p999_ms,
            if run.paced {
                "-".to_owned()
            } else {
                format!("{:.0}%", 100.0 * run.requests_per_second / bare_rps)
            },
            run.cpu_us
                .map_or_else(|| "-".to_owned(), |us| format!("{us:.1}"))
        );
    }
}
