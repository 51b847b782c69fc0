//! Prometheus text metrics: requests by route and status (timeouts and panics included), a
//! latency histogram, scored and unrecorded leads, the recorder's backlog, and the serving model.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5,
];

/// Counters updated by the request middleware.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_nanos: AtomicU64,
    scored: AtomicU64,
    unrecorded: AtomicU64,
}

impl Metrics {
    /// Counts one finished request.
    pub fn observe(&self, route: &str, status: u16, elapsed: Duration) {
        if let Ok(mut requests) = self.requests.lock() {
            *requests.entry((route.to_owned(), status)).or_default() += 1;
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

    /// The exposition text; `model` is the serving model's (name, version).
    pub fn render(
        &self,
        model: Option<(&str, &str)>,
        rules: Option<&str>,
        recorder: Option<&leadscore_store::RecorderStatus>,
    ) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP leadscore_requests_total HTTP requests by route and status."
        );
        let _ = writeln!(out, "# TYPE leadscore_requests_total counter");
        let mut errors = 0;
        if let Ok(requests) = self.requests.lock() {
            for ((route, status), count) in requests.iter() {
                let _ = writeln!(
                    out,
                    "leadscore_requests_total{{route=\"{route}\",status=\"{status}\"}} {count}"
                );
                if *status >= 400 {
                    errors += count;
                }
            }
        }
        let _ = writeln!(
            out,
            "# HELP leadscore_errors_total Requests answered with a 4xx or 5xx status."
        );
        let _ = writeln!(out, "# TYPE leadscore_errors_total counter");
        let _ = writeln!(out, "leadscore_errors_total {errors}");
        let _ = writeln!(
            out,
            "# HELP leadscore_request_duration_seconds Request latency."
        );
        let _ = writeln!(out, "# TYPE leadscore_request_duration_seconds histogram");
        let mut cumulative = 0;
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            cumulative += bucket.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "leadscore_request_duration_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "leadscore_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "leadscore_request_duration_seconds_sum {}",
            self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9
        );
        let _ = writeln!(out, "leadscore_request_duration_seconds_count {count}");
        let _ = writeln!(out, "# HELP leadscore_scored_leads_total Leads scored.");
        let _ = writeln!(out, "# TYPE leadscore_scored_leads_total counter");
        let _ = writeln!(
            out,
            "leadscore_scored_leads_total {}",
            self.scored.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP leadscore_unrecorded_leads_total Scores refused (503) because they could not be recorded."
        );
        let _ = writeln!(out, "# TYPE leadscore_unrecorded_leads_total counter");
        let _ = writeln!(
            out,
            "leadscore_unrecorded_leads_total {}",
            self.unrecorded.load(Ordering::Relaxed)
        );
        if let Some(status) = recorder {
            let _ = writeln!(
                out,
                "# HELP leadscore_recorder_pending Scores acknowledged and journaled, not yet in the database."
            );
            let _ = writeln!(out, "# TYPE leadscore_recorder_pending gauge");
            let _ = writeln!(out, "leadscore_recorder_pending {}", status.pending);
            let _ = writeln!(
                out,
                "# HELP leadscore_recorder_written_total Scores written to the database."
            );
            let _ = writeln!(out, "# TYPE leadscore_recorder_written_total counter");
            let _ = writeln!(out, "leadscore_recorder_written_total {}", status.written);
            let _ = writeln!(
                out,
                "# HELP leadscore_recorder_failures_total Failed database writes (retried)."
            );
            let _ = writeln!(out, "# TYPE leadscore_recorder_failures_total counter");
            let _ = writeln!(out, "leadscore_recorder_failures_total {}", status.failures);
            let _ = writeln!(
                out,
                "# HELP leadscore_recorder_failing 1 while database writes keep failing."
            );
            let _ = writeln!(out, "# TYPE leadscore_recorder_failing gauge");
            let _ = writeln!(
                out,
                "leadscore_recorder_failing {}",
                u8::from(status.failing.is_some())
            );
        }
        let _ = writeln!(
            out,
            "# HELP leadscore_model_info The serving model and rules."
        );
        let _ = writeln!(out, "# TYPE leadscore_model_info gauge");
        let (name, version) = model.unwrap_or(("", ""));
        let _ = writeln!(
            out,
            "leadscore_model_info{{model=\"{}\",version=\"{}\",rules=\"{}\"}} 1",
            escape(name),
            escape(version),
            escape(rules.unwrap_or(""))
        );
        out
    }
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
