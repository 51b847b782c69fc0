//! Threshold webhooks: `[[webhook]]` entries of a TOML file, the signals each score gives them
//! (recorded with the score, so the store's outbox fires them exactly once per crossing), and
//! the delivery worker: POSTs signed with HMAC-SHA256, an idempotency key, exponential backoff
//! and a dead letter after the last attempt.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use hmac::{Hmac, Mac};
use leadscore_data::time;
use leadscore_score::{LeadScore, Scorer};
use leadscore_store::{Delivery, Outbox, WebhookSignal};
use serde::Deserialize;
use sha2::Sha256;

/// What a webhook fires on.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    /// The lead's points reach the rules' MQL threshold.
    Mql,
    /// The lead's model tier enters one of these.
    Tier(Vec<String>),
}

/// One configured webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    /// Its name: part of every event and of its idempotency key.
    pub name: String,
    /// Where events are POSTed.
    pub url: String,
    /// The HMAC-SHA256 key of the `X-Leadscore-Signature` header.
    secret: String,
    /// What fires it.
    pub trigger: Trigger,
    /// Share below the level at which a fired trigger re-arms (0.1: 10% below).
    pub hysteresis: f64,
    /// Attempts before an event is dead-lettered.
    pub max_attempts: u32,
    /// Wait before the second attempt; doubles each time, at most an hour.
    pub retry_base: Duration,
    /// Longest wait for the receiver's answer.
    pub timeout: Duration,
}

/// The webhooks file: `[[webhook]]` entries.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhooksFile {
    #[serde(default)]
    webhook: Vec<WebhookSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookSpec {
    name: String,
    url: String,
    /// The key itself, or `env:NAME` to read it from an environment variable.
    secret: String,
    on: String,
    #[serde(default)]
    tiers: Vec<String>,
    #[serde(default = "default_hysteresis")]
    hysteresis: f64,
    #[serde(default = "default_max_attempts")]
    max_attempts: u32,
    #[serde(default = "default_retry_base")]
    retry_base_seconds: f64,
    #[serde(default = "default_timeout")]
    timeout_seconds: f64,
}

fn default_hysteresis() -> f64 {
    0.1
}

fn default_max_attempts() -> u32 {
    10
}

fn default_retry_base() -> f64 {
    1.0
}

fn default_timeout() -> f64 {
    10.0
}

/// A webhooks file that cannot be used: the file, the webhook and what to change.
#[derive(Debug, thiserror::Error)]
#[error("webhooks file {}: {message}", path.display())]
pub struct WebhooksError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong.
    pub message: String,
}

/// Reads and checks a webhooks file against what the server scores with: MQL webhooks need
/// rules, tier webhooks a model with those tiers.
pub fn load(path: &Path, scorer: &Scorer) -> Result<Vec<Webhook>, WebhooksError> {
    let error = |message: String| WebhooksError {
        path: path.to_owned(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| error(format!("cannot read it: {e}")))?;
    let file: WebhooksFile = toml::from_str(&text).map_err(|e| error(e.to_string()))?;
    if file.webhook.is_empty() {
        return Err(error("no [[webhook]] entry".to_owned()));
    }
    let mut webhooks: Vec<Webhook> = Vec::new();
    for spec in file.webhook {
        let name = spec.name.clone();
        let bad = |message: String| error(format!("webhook `{name}`: {message}"));
        if name.is_empty() || webhooks.iter().any(|w| w.name == name) {
            return Err(bad("names must be given and unique".to_owned()));
        }
        if !(spec.url.starts_with("http://") || spec.url.starts_with("https://")) {
            return Err(bad(format!(
                "url `{}` must start with http:// or https://",
                spec.url
            )));
        }
        let secret = match spec.secret.strip_prefix("env:") {
            Some(variable) => std::env::var(variable).map_err(|_| {
                bad(format!(
                    "secret: environment variable {variable} is not set"
                ))
            })?,
            None => spec.secret.clone(),
        };
        if secret.len() < 16 {
            return Err(bad(
                "secret must be at least 16 characters (receivers verify signatures with it)"
                    .to_owned(),
            ));
        }
        let trigger = match spec.on.as_str() {
            "mql" => {
                if scorer.rules().is_none() {
                    return Err(bad("on = \"mql\" needs a rules file (--rules)".to_owned()));
                }
                Trigger::Mql
            }
            "tier" => {
                let Some(model) = scorer.model() else {
                    return Err(bad("on = \"tier\" needs a model (--model)".to_owned()));
                };
                let known: Vec<&str> = model.tiers().iter().map(|t| t.name.as_str()).collect();
                if spec.tiers.is_empty() {
                    return Err(bad(format!(
                        "on = \"tier\" needs tiers = [...], from {known:?}"
                    )));
                }
                if let Some(unknown) = spec.tiers.iter().find(|t| !known.contains(&t.as_str())) {
                    return Err(bad(format!(
                        "tier `{unknown}` is not a tier of the served model ({})",
                        known.join(", ")
                    )));
                }
                Trigger::Tier(spec.tiers.clone())
            }
            other => {
                return Err(bad(format!(
                    "on = \"{other}\": expected \"mql\" or \"tier\""
                )));
            }
        };
        if !(0.0..1.0).contains(&spec.hysteresis) {
            return Err(bad(format!(
                "hysteresis {} must be in [0, 1)",
                spec.hysteresis
            )));
        }
        if spec.max_attempts == 0 {
            return Err(bad("max_attempts must be at least 1".to_owned()));
        }
        let seconds = |what: &str, value: f64| {
            if value.is_finite() && value > 0.0 && value <= 3_600.0 {
                Ok(Duration::from_secs_f64(value))
            } else {
                Err(bad(format!(
                    "{what} {value} must be above 0 and at most 3600"
                )))
            }
        };
        webhooks.push(Webhook {
            name: spec.name,
            url: spec.url,
            secret,
            trigger,
            hysteresis: spec.hysteresis,
            max_attempts: spec.max_attempts,
            retry_base: seconds("retry_base_seconds", spec.retry_base_seconds)?,
            timeout: seconds("timeout_seconds", spec.timeout_seconds)?,
        });
    }
    Ok(webhooks)
}

/// What each webhook sees in one score.
pub(crate) fn signals(
    webhooks: &[Webhook],
    scorer: &Scorer,
    score: &LeadScore,
) -> Vec<WebhookSignal> {
    webhooks
        .iter()
        .filter_map(|webhook| {
            let (kind, firing, rearm) = match &webhook.trigger {
                Trigger::Mql => {
                    let points = score.points.as_ref()?;
                    let threshold = scorer.rules()?.mql_threshold;
                    (
                        "mql",
                        points.mql,
                        points.total < threshold * (1.0 - webhook.hysteresis),
                    )
                }
                Trigger::Tier(tiers) => {
                    let prediction = score.prediction.as_ref()?;
                    let model = scorer.model()?;
                    let floor = model
                        .tiers()
                        .iter()
                        .filter(|t| tiers.contains(&t.name))
                        .map(|t| t.min_probability)
                        .fold(f64::INFINITY, f64::min);
                    (
                        "tier",
                        tiers.contains(&prediction.tier),
                        prediction.probability < floor * (1.0 - webhook.hysteresis),
                    )
                }
            };
            Some(WebhookSignal {
                webhook: webhook.name.clone(),
                kind: kind.to_owned(),
                firing,
                rearm,
            })
        })
        .collect()
}

/// `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, as the receiver recomputes it.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(format!("{timestamp}.{body}").as_bytes());
    let digest: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("t={timestamp},v1={digest}")
}

/// How long to wait before attempt `attempts + 1`: the base doubled per attempt, at most an hour,
/// with ±20% jitter (from the event id, so it is reproducible) to spread retries of a burst.
fn backoff(webhook: &Webhook, delivery: &Delivery) -> Duration {
    let doubled = webhook
        .retry_base
        .saturating_mul(1 << delivery.attempts.min(20))
        .min(Duration::from_secs(3_600));
    let jitter = delivery
        .event_id
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    let factor = 0.8 + 0.4 * f64::from(jitter % 1_000) / 1_000.0;
    doubled.mul_f64(factor)
}

/// The delivery worker: one thread taking due events from the outbox.
#[derive(Debug)]
pub struct Dispatcher {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// How often an idle worker looks for due events.
const IDLE_POLL: Duration = Duration::from_millis(200);

impl Dispatcher {
    /// Starts delivering the events of the database at `db`.
    pub fn start(
        db: &Path,
        webhooks: Vec<Webhook>,
        metrics: Arc<crate::metrics::WebhookMetrics>,
    ) -> Result<Self, leadscore_store::StoreError> {
        let outbox = Outbox::open(db)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .user_agent(concat!("leadscore/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let thread = std::thread::Builder::new()
            .name("leadscore-webhooks".to_owned())
            .spawn(move || {
                while !stopping.load(Ordering::Relaxed) {
                    match deliver_due(&outbox, &agent, &webhooks, &metrics) {
                        Ok(0) => std::thread::sleep(IDLE_POLL),
                        Ok(_) => {}
                        Err(e) => {
                            tracing::error!(error = %e, "webhook outbox unavailable");
                            std::thread::sleep(IDLE_POLL);
                        }
                    }
                    if let Ok(status) = outbox.status() {
                        metrics.set_outbox(status.pending, status.dead);
                    }
                }
            })
            .map_err(|e| leadscore_store::StoreError::Database {
                path: db.to_owned(),
                message: format!("cannot start the webhook worker: {e}"),
            })?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops after the delivery in flight (what is left stays in the outbox for the next start).
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Dispatcher {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Delivers the events due now; returns how many were attempted.
fn deliver_due(
    outbox: &Outbox,
    agent: &ureq::Agent,
    webhooks: &[Webhook],
    metrics: &crate::metrics::WebhookMetrics,
) -> Result<usize, leadscore_store::StoreError> {
    let due = outbox.due(time::now_millis(), 32)?;
    for delivery in &due {
        let Some(webhook) = webhooks.iter().find(|w| w.name == delivery.webhook) else {
            outbox.failed(delivery, "the webhook is no longer configured", None)?;
            metrics.dead();
            continue;
        };
        let timestamp = time::now();
        let answer = agent
            .post(&webhook.url)
            .config()
            .timeout_global(Some(webhook.timeout))
            .build()
            .header("Content-Type", "application/json")
            .header("Idempotency-Key", &delivery.event_id)
            .header("X-Leadscore-Event", &delivery.kind)
            .header(
                "X-Leadscore-Signature",
                &signature(&webhook.secret, timestamp, &delivery.body),
            )
            .send(delivery.body.as_str());
        let failure = match answer {
            Ok(response) if response.status().is_success() => None,
            Ok(response) => Some(format!("the receiver answered {}", response.status())),
            Err(e) => Some(e.to_string()),
        };
        match failure {
            None => {
                outbox.delivered(delivery, &time::format_timestamp(timestamp))?;
                metrics.delivered();
            }
            Some(error) if delivery.attempts + 1 >= webhook.max_attempts => {
                tracing::warn!(webhook = %webhook.name, event = %delivery.event_id, %error, "webhook event dead-lettered");
                outbox.failed(delivery, &error, None)?;
                metrics.dead();
            }
            Some(error) => {
                let wait =
                    i64::try_from(backoff(webhook, delivery).as_millis()).unwrap_or(i64::MAX);
                outbox.failed(
                    delivery,
                    &error,
                    Some(time::now_millis().saturating_add(wait)),
                )?;
                metrics.failed();
            }
        }
    }
    Ok(due.len())
}
