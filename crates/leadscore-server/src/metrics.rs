//! Prometheus text metrics: requests by route and status (timeouts and panics included), a
//! latency histogram, scored and unrecorded leads, running and cancelled report queries, the
//! recorder's backlog, and the serving model.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use leadscore_compare::monitor::{MonitorReport, Status};

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5,
];

/// Counters updated by the request middleware.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<String, BTreeMap<u16, u64>>>,
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_nanos: AtomicU64,
    scored: AtomicU64,
    unrecorded: AtomicU64,
    reports_running: AtomicU64,
    reports_cancelled: AtomicU64,
    monitor: Mutex<Option<MonitorGauges>>,
    webhooks: std::sync::Arc<WebhookMetrics>,
}

/// Webhook deliveries, counted by the delivery worker.
#[derive(Debug, Default)]
pub struct WebhookMetrics {
    delivered: AtomicU64,
    failed: AtomicU64,
    dead: AtomicU64,
    pending: AtomicU64,
    dead_letters: AtomicU64,
}

impl WebhookMetrics {
    /// An event the receiver acknowledged.
    pub fn delivered(&self) {
        self.delivered.fetch_add(1, Ordering::Relaxed);
    }

    /// An attempt that failed and will be retried.
    pub fn failed(&self) {
        self.failed.fetch_add(1, Ordering::Relaxed);
    }

    /// An event given up.
    pub fn dead(&self) {
        self.dead.fetch_add(1, Ordering::Relaxed);
    }

    /// The outbox's pending and dead-lettered events now.
    pub fn set_outbox(&self, pending: u64, dead: u64) {
        self.pending.store(pending, Ordering::Relaxed);
        self.dead_letters.store(dead, Ordering::Relaxed);
    }
}

/// The latest monitor's figures, for scraping.
#[derive(Debug, Clone, Copy, PartialEq)]
struct MonitorGauges {
    status: f64,
    psi: Option<f64>,
    backtest_auc: Option<f64>,
    shadow_difference: Option<f64>,
}

/// Counts a report query as running until dropped.
#[derive(Debug)]
pub struct RunningReport<'a>(&'a AtomicU64);

impl Drop for RunningReport<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    /// The webhook counters, shared with the delivery worker.
    pub fn webhooks(&self) -> std::sync::Arc<WebhookMetrics> {
        self.webhooks.clone()
    }

    /// Keeps the figures of the latest monitor run for `/metrics`.
    pub fn monitored(&self, report: &MonitorReport) {
        let gauges = MonitorGauges {
            status: match report.status {
                Status::TooFew => -1.0,
                Status::Ok => 0.0,
                Status::Warn => 1.0,
                Status::Alert => 2.0,
            },
            psi: report
                .drift
                .iter()
                .rev()
                .find(|w| w.status != Status::TooFew)
                .map(|w| w.psi),
            backtest_auc: report
                .backtest
                .iter()
                .rev()
                .find(|m| m.status != Status::TooFew)
                .and_then(|m| m.auc),
            shadow_difference: report.shadow.as_ref().and_then(|s| s.difference),
        };
        if let Ok(mut monitor) = self.monitor.lock() {
            *monitor = Some(gauges);
        }
    }

    /// Counts one finished request.
    pub fn observe(&self, route: &str, status: u16, elapsed: Duration) {
        if let Ok(mut requests) = self.requests.lock() {
            // Looked up by reference first: a route seen before costs no allocation.
            if !requests.contains_key(route) {
                requests.insert(route.to_owned(), BTreeMap::new());
            }
            if let Some(by_status) = requests.get_mut(route) {
                *by_status.entry(status).or_default() += 1;
            }
        }
        let seconds = elapsed.as_secs_f64();
        if let Some(bucket) = BUCKETS.iter().position(|&b| seconds <= b) {
            self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_nanos
            .fetch_add(elapsed.as_nanos() as u64, Ordering::Relaxed);
    }

    /// Counts scored leads.
    pub fn scored(&self, leads: usize) {
        self.scored.fetch_add(leads as u64, Ordering::Relaxed);
    }

    /// Counts scores refused because they could not be recorded.
    pub fn unrecorded(&self, leads: usize) {
        self.unrecorded.fetch_add(leads as u64, Ordering::Relaxed);
    }

    /// Counts a report query as running until the returned guard is dropped.
    pub fn report_started(&self) -> RunningReport<'_> {
        self.reports_running.fetch_add(1, Ordering::Relaxed);
        RunningReport(&self.reports_running)
    }

    /// Counts a report query stopped because its request ended unanswered.
    pub fn report_cancelled(&self) {
        self.reports_cancelled.fetch_add(1, Ordering::Relaxed);
    }

    /// The exposition text; `model` is the serving model's (name, version).
    pub fn render(
        &self,
        model: Option<(&str, &str)>,
        rules: Option<&str>,
        recorder: Option<&leadscore_store::RecorderStatus>,
    ) -> String {
        let mut out = String::new();
        let mut errors = 0;
        let mut requests = Vec::new();
        if let Ok(counts) = self.requests.lock() {
            let pairs = counts
                .iter()
                .flat_map(|(route, by_status)| by_status.iter().map(move |(s, c)| (route, s, c)));
            for (route, status, count) in pairs {
                requests.push((
                    format!("{{route=\"{route}\",status=\"{status}\"}}"),
                    *count as f64,
                ));
                if *status >= 400 {
                    errors += count;
                }
            }
        }
        family(
            &mut out,
            "leadscore_requests_total",
            "counter",
            "HTTP requests by route and status (timeouts and panics included).",
            &requests,
        );
        family(
            &mut out,
            "leadscore_errors_total",
            "counter",
            "Requests answered with a 4xx or 5xx status.",
            &[(String::new(), errors as f64)],
        );
        let mut histogram = Vec::new();
        let mut cumulative = 0;
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            cumulative += bucket.load(Ordering::Relaxed);
            histogram.push((format!("_bucket{{le=\"{bound}\"}}"), cumulative as f64));
        }
        let count = self.count.load(Ordering::Relaxed) as f64;
        histogram.extend([
            ("_bucket{le=\"+Inf\"}".to_owned(), count),
            (
                "_sum".to_owned(),
                self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9,
            ),
            ("_count".to_owned(), count),
        ]);
        family(
            &mut out,
            "leadscore_request_duration_seconds",
            "histogram",
            "Request latency.",
            &histogram,
        );
        let counter = |value: &AtomicU64| [(String::new(), value.load(Ordering::Relaxed) as f64)];
        family(
            &mut out,
            "leadscore_scored_leads_total",
            "counter",
            "Leads scored.",
            &counter(&self.scored),
        );
        family(
            &mut out,
            "leadscore_unrecorded_leads_total",
            "counter",
            "Scores refused (503) because they could not be recorded.",
            &counter(&self.unrecorded),
        );
        family(
            &mut out,
            "leadscore_report_queries_running",
            "gauge",
            "Experiment report queries running on blocking threads.",
            &counter(&self.reports_running),
        );
        family(
            &mut out,
            "leadscore_report_queries_cancelled_total",
            "counter",
            "Report queries stopped because their request timed out or was abandoned.",
            &counter(&self.reports_cancelled),
        );
        let hooks = &self.webhooks;
        let deliveries: Vec<(String, f64)> = [
            ("delivered", &hooks.delivered),
            ("failed", &hooks.failed),
            ("dead", &hooks.dead),
        ]
        .into_iter()
        .map(|(result, count)| {
            (
                format!("{{result=\"{result}\"}}"),
                count.load(Ordering::Relaxed) as f64,
            )
        })
        .collect();
        family(
            &mut out,
            "leadscore_webhook_attempts_total",
            "counter",
            "Webhook delivery attempts: delivered, failed (retried later) and dead (given up).",
            &deliveries,
        );
        family(
            &mut out,
            "leadscore_webhook_outbox_pending",
            "gauge",
            "Webhook events waiting for their (next) attempt.",
            &counter(&hooks.pending),
        );
        family(
            &mut out,
            "leadscore_webhook_outbox_dead",
            "gauge",
            "Webhook events given up after their last attempt (`leadscore webhooks requeue`).",
            &counter(&hooks.dead_letters),
        );
        let monitor = self.monitor.lock().ok().and_then(|m| *m);
        if let Some(gauges) = monitor {
            for (name, help, value) in [
                (
                    "leadscore_monitor_status",
                    "Latest monitor verdict: -1 too few data, 0 ok, 1 warn, 2 alert.",
                    Some(gauges.status),
                ),
                (
                    "leadscore_monitor_psi",
                    "Score drift (PSI against training) of the latest judged week.",
                    gauges.psi,
                ),
                (
                    "leadscore_monitor_backtest_auc",
                    "AUC of the latest judged month of scores on their recorded outcomes.",
                    gauges.backtest_auc,
                ),
                (
                    "leadscore_monitor_shadow_auc_difference",
                    "Challenger minus champion AUC on the same closed leads.",
                    gauges.shadow_difference,
                ),
            ] {
                if let Some(value) = value {
                    family(&mut out, name, "gauge", help, &[(String::new(), value)]);
                }
            }
        }
        if let Some(status) = recorder {
            for (name, kind, help, value) in [
                (
                    "leadscore_recorder_pending",
                    "gauge",
                    "Scores acknowledged and journaled, not yet in the database.",
                    status.pending as f64,
                ),
                (
                    "leadscore_recorder_written_total",
                    "counter",
                    "Scores written to the database.",
                    status.written as f64,
                ),
                (
                    "leadscore_recorder_failures_total",
                    "counter",
                    "Failed database writes (retried).",
                    status.failures as f64,
                ),
                (
                    "leadscore_recorder_failing",
                    "gauge",
                    "1 while database writes keep failing.",
                    f64::from(u8::from(status.failing.is_some())),
                ),
            ] {
                family(&mut out, name, kind, help, &[(String::new(), value)]);
            }
        }
        let (name, version) = model.unwrap_or(("", ""));
        let labels = format!(
            "{{model=\"{}\",version=\"{}\",rules=\"{}\"}}",
            escape(name),
            escape(version),
            escape(rules.unwrap_or(""))
        );
        family(
            &mut out,
            "leadscore_model_info",
            "gauge",
            "The serving model and rules.",
            &[(labels, 1.0)],
        );
        out
    }
}

/// Writes one metric family: its help and type lines, then each (suffix and labels, value).
fn family(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(String, f64)]) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    for (suffix, value) in samples {
        let _ = writeln!(out, "{name}{suffix} {value}");
    }
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
