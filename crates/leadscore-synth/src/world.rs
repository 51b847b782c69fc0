//! The simulated B2B funnel: who the leads are, how they behave, and how likely they are to buy.
//!
//! The true conversion probability depends only on what a model can observe at the lead's as-of
//! time (its attributes and its events strictly before it), so the oracle AUC is the ceiling a
//! perfect model could reach. Effects include negative signals, two interactions a linear model
//! cannot express (decision maker × company size, pricing interest × e-mail type) and recency.

use rand::Rng;
use rand_distr::{Distribution, LogNormal, Normal, Poisson};

/// Seconds in a day.
pub(crate) const DAY: i64 = 86_400;

/// Behaviour event types the funnel produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A website page view; value = seconds on page.
    PageView,
    /// A view of the pricing page.
    PricingView,
    /// A marketing e-mail opened.
    EmailOpen,
    /// A link in a marketing e-mail clicked.
    EmailClick,
    /// A webinar attended.
    WebinarAttended,
    /// A whitepaper downloaded.
    WhitepaperDownload,
    /// A web form submitted.
    FormSubmit,
    /// A demo requested.
    DemoRequest,
    /// Unsubscribed from e-mails.
    Unsubscribe,
    /// An e-mail bounced.
    EmailBounce,
}

impl EventKind {
    /// All kinds, in output order.
    pub const ALL: [Self; 10] = [
        Self::PageView,
        Self::PricingView,
        Self::EmailOpen,
        Self::EmailClick,
        Self::WebinarAttended,
        Self::WhitepaperDownload,
        Self::FormSubmit,
        Self::DemoRequest,
        Self::Unsubscribe,
        Self::EmailBounce,
    ];

    /// Name written to the events file.
    pub fn name(self) -> &'static str {
        match self {
            Self::PageView => "page_view",
            Self::PricingView => "pricing_view",
            Self::EmailOpen => "email_open",
            Self::EmailClick => "email_click",
            Self::WebinarAttended => "webinar_attended",
            Self::WhitepaperDownload => "whitepaper_download",
            Self::FormSubmit => "form_submit",
            Self::DemoRequest => "demo_request",
            Self::Unsubscribe => "unsubscribe",
            Self::EmailBounce => "email_bounce",
        }
    }
}

pub(crate) const INDUSTRIES: [(&str, f64, f64); 10] = [
    ("software", 0.21, 0.40),
    ("financial services", 0.12, 0.30),
    ("healthcare", 0.11, 0.15),
    ("manufacturing", 0.13, 0.0),
    ("retail", 0.10, -0.10),
    ("education", 0.08, -0.40),
    ("government", 0.06, -0.30),
    ("media", 0.06, -0.10),
    ("other", 0.10, -0.20),
    // An untouched CRM drop-down: read as missing by leadscore.
    ("Select", 0.03, 0.0),
];

pub(crate) const COMPANY_SIZES: [(&str, f64, f64, f64); 6] = [
    // (band, share, size effect, median annual revenue)
    ("1-10", 0.20, -0.50, 4e5),
    ("11-50", 0.25, -0.20, 3e6),
    ("51-200", 0.22, 0.0, 1.5e7),
    ("201-1000", 0.17, 0.30, 8e7),
    ("1001-5000", 0.10, 0.40, 4e8),
    ("5000+", 0.06, 0.30, 3e9),
];

/// Won deals' size: `ln(value) ~ Normal(ln 20,000 + effects, DEAL_SIGMA²)`. Bigger companies buy
/// much more while converting little more, so ranking by probability alone misses revenue.
const DEAL_BASE: f64 = 9.903_487_552; // ln 20,000
/// Spread of ln(value) around its mean.
pub(crate) const DEAL_SIGMA: f64 = 0.6;
const DEAL_SIZE: [f64; 6] = [-1.2, -0.6, 0.0, 0.8, 1.5, 2.1];
const DEAL_INDUSTRY: [f64; 10] = [0.2, 0.5, 0.3, 0.1, -0.2, -0.5, 0.4, -0.3, -0.2, 0.0];
const DEAL_JOB: [f64; 6] = [0.3, 0.25, 0.15, 0.0, -0.1, -0.3];

/// Mean of ln(deal value) of a lead that wins.
pub(crate) fn deal_log_mean(attributes: &Attributes) -> f64 {
    DEAL_BASE
        + DEAL_SIZE[attributes.company_size]
        + DEAL_INDUSTRY[attributes.industry]
        + DEAL_JOB[attributes.job_level]
}

pub(crate) const JOB_LEVELS: [(&str, f64, f64); 6] = [
    ("c-level", 0.08, 0.50),
    ("vp", 0.08, 0.50),
    ("director", 0.14, 0.35),
    ("manager", 0.25, 0.10),
    ("individual contributor", 0.37, -0.30),
    ("student", 0.08, -2.00),
];

pub(crate) const COUNTRIES: [(&str, f64, f64); 10] = [
    ("US", 0.36, 0.10),
    ("UK", 0.12, 0.05),
    ("DE", 0.10, 0.0),
    ("FR", 0.07, -0.05),
    ("IN", 0.10, -0.30),
    ("BR", 0.06, -0.20),
    ("CA", 0.06, 0.05),
    ("AU", 0.05, 0.0),
    ("NL", 0.04, 0.05),
    ("SG", 0.04, -0.10),
];

pub(crate) const LEAD_SOURCES: [(&str, f64, f64); 8] = [
    ("organic_search", 0.24, 0.15),
    ("paid_search", 0.18, 0.0),
    ("referral", 0.08, 0.80),
    ("webinar", 0.10, 0.35),
    ("trade_show", 0.07, 0.20),
    ("outbound", 0.15, -0.40),
    ("partner", 0.06, 0.50),
    ("content_syndication", 0.12, -0.60),
];

pub(crate) const EMAIL_DOMAINS: [(&str, f64); 3] =
    [("business", 0.0), ("free", -0.60), ("edu", -0.80)];

/// Intercept chosen so that about 12% of closed leads convert.
const INTERCEPT: f64 = -3.05;

/// The explicit attributes of one lead (indices into the tables above).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Attributes {
    pub industry: usize,
    pub company_size: usize,
    pub job_level: usize,
    pub country: usize,
    pub lead_source: usize,
    pub email_domain: usize,
    pub annual_revenue: Option<f64>,
}

impl Attributes {
    fn is_decision_maker(&self) -> bool {
        self.job_level <= 2
    }

    fn is_student(&self) -> bool {
        self.job_level == 5
    }
}

fn pick<R: Rng>(rng: &mut R, shares: impl Iterator<Item = f64> + Clone) -> usize {
    let total: f64 = shares.clone().sum();
    let mut u = rng.random::<f64>() * total;
    let mut last = 0;
    for (i, share) in shares.enumerate() {
        if u < share {
            return i;
        }
        u -= share;
        last = i;
    }
    last
}

pub(crate) fn draw_attributes<R: Rng>(rng: &mut R) -> Attributes {
    let company_size = pick(rng, COMPANY_SIZES.iter().map(|s| s.1));
    // Small companies have more founders and fewer middle managers.
    let job_level = pick(
        rng,
        JOB_LEVELS
            .iter()
            .enumerate()
            .map(|(i, j)| match (i, company_size) {
                (0, 0 | 1) => j.1 * 3.0,
                (3, 0) => j.1 * 0.4,
                _ => j.1,
            }),
    );
    let email_domain = match job_level {
        5 => pick(rng, [0.05, 0.35, 0.60].into_iter()),
        _ if company_size == 0 => pick(rng, [0.55, 0.43, 0.02].into_iter()),
        _ => pick(rng, [0.76, 0.22, 0.02].into_iter()),
    };
    let (industry, country, lead_source) = (
        pick(rng, INDUSTRIES.iter().map(|s| s.1)),
        pick(rng, COUNTRIES.iter().map(|s| s.1)),
        pick(rng, LEAD_SOURCES.iter().map(|s| s.1)),
    );
    let missing_revenue = rng.random::<f64>() < if company_size <= 1 { 0.40 } else { 0.18 };
    let annual_revenue = (!missing_revenue).then(|| {
        let median = COMPANY_SIZES[company_size].3;
        let spread = LogNormal::new(median.ln(), 0.6).map_or(median, |d| d.sample(rng));
        (spread / 1000.0).round() * 1000.0
    });
    Attributes {
        industry,
        company_size,
        job_level,
        country,
        lead_source,
        email_domain,
        annual_revenue,
    }
}

/// Daily base rate, engagement sensitivity and attribute multiplier of each event kind.
fn event_rate(kind: EventKind, attributes: &Attributes) -> (f64, f64) {
    let free_email = attributes.email_domain == 1;
    match kind {
        EventKind::PageView => (0.10, 0.5),
        EventKind::PricingView => (
            0.010
                * if attributes.is_decision_maker() {
                    1.4
                } else {
                    1.0
                },
            0.9,
        ),
        EventKind::EmailOpen => (0.05 * if free_email { 0.6 } else { 1.0 }, 0.4),
        EventKind::EmailClick => (0.012, 0.8),
        EventKind::WebinarAttended => (0.003, 0.6),
        EventKind::WhitepaperDownload => (
            0.005
                * if attributes.lead_source == 7 {
                    1.5
                } else {
                    1.0
                },
            0.5,
        ),
        EventKind::FormSubmit => (0.002, 0.3),
        EventKind::DemoRequest => (
            0.0025
                * if attributes.company_size >= 2 {
                    1.6
                } else {
                    1.0
                },
            1.0,
        ),
        EventKind::Unsubscribe => (0.0012, -0.8),
        EventKind::EmailBounce => (0.0006 * if free_email { 3.0 } else { 1.0 }, 0.0),
    }
}

/// An event before de-duplication and output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RawEvent {
    pub timestamp: i64,
    pub kind: EventKind,
    pub value: Option<f64>,
}

/// Early-burst activity profile: intense right after creation, settling to a steady trickle.
fn activity_intensity(age_days: f64) -> f64 {
    0.5 + 1.5 * (-age_days / 15.0).exp()
}

fn poisson<R: Rng>(rng: &mut R, mean: f64) -> u64 {
    if mean <= 0.0 {
        return 0;
    }
    Poisson::new(mean).map_or(0, |d| d.sample(rng) as u64)
}

/// Draws a lead's behaviour between `start` and `end` (epoch seconds).
pub(crate) fn draw_behaviour<R: Rng>(
    rng: &mut R,
    attributes: &Attributes,
    engagement: f64,
    activity: f64,
    start: i64,
    end: i64,
) -> Vec<RawEvent> {
    let mut events = Vec::new();
    let span_days = (end - start) as f64 / DAY as f64;
    if span_days <= 0.0 {
        return events;
    }
    let integrated = 0.5 * span_days + 22.5 * (1.0 - (-span_days / 15.0).exp());
    let page_seconds = LogNormal::new(40f64.ln(), 0.8).ok();
    for kind in EventKind::ALL {
        let (rate, sensitivity) = event_rate(kind, attributes);
        let mean = activity * rate * (sensitivity * engagement).exp() * integrated;
        let mut count = poisson(rng, mean);
        if matches!(kind, EventKind::Unsubscribe | EventKind::EmailBounce) {
            count = count.min(1);
        }
        for _ in 0..count {
            let age_days = loop {
                let candidate = rng.random::<f64>() * span_days;
                if rng.random::<f64>() * 2.0 < activity_intensity(candidate) {
                    break candidate;
                }
            };
            let value = match (kind, &page_seconds) {
                (EventKind::PageView, Some(d)) => Some(d.sample(rng).round().max(1.0)),
                _ => None,
            };
            events.push(RawEvent {
                timestamp: start + (age_days * DAY as f64) as i64,
                kind,
                value,
            });
        }
    }
    events
}

/// Post-close activity: customers keep visiting during onboarding, lost leads rarely come back.
/// These events are after the as-of time, so a correct point-in-time pipeline must ignore them.
pub(crate) fn draw_after_close<R: Rng>(
    rng: &mut R,
    won: bool,
    start: i64,
    end: i64,
) -> Vec<RawEvent> {
    let span = end - start;
    if span <= 0 {
        return Vec::new();
    }
    let mean = if won { 4.0 } else { 0.4 };
    (0..poisson(rng, mean))
        .map(|i| RawEvent {
            timestamp: start + rng.random_range(0..span),
            kind: if i % 2 == 0 {
                EventKind::PageView
            } else {
                EventKind::EmailOpen
            },
            value: None,
        })
        .collect()
}

/// Latent interest: drives how much a lead interacts (and only through that, whether it buys).
pub(crate) fn draw_engagement<R: Rng>(rng: &mut R, attributes: &Attributes) -> f64 {
    let noise = Normal::new(0.0, 1.0).map_or(0.0, |d| d.sample(rng));
    let mut engagement = noise;
    if attributes.is_decision_maker() && attributes.company_size >= 3 {
        engagement += 0.4;
    }
    if matches!(attributes.lead_source, 2 | 3 | 6) {
        engagement += 0.3;
    }
    if attributes.is_student() {
        engagement -= 0.5;
    }
    engagement
}

/// The true log-odds of conversion given attributes and the (unique) events before `as_of`.
pub(crate) fn true_logit(attributes: &Attributes, events: &[RawEvent], as_of: i64) -> f64 {
    let mut logit = INTERCEPT
        + INDUSTRIES[attributes.industry].2
        + COMPANY_SIZES[attributes.company_size].2
        + JOB_LEVELS[attributes.job_level].2
        + COUNTRIES[attributes.country].2
        + LEAD_SOURCES[attributes.lead_source].2
        + EMAIL_DOMAINS[attributes.email_domain].1;
    if attributes.is_decision_maker() {
        logit += match attributes.company_size {
            0 => -0.3,
            3.. => 0.7,
            _ => 0.0,
        };
    }
    logit += attributes
        .annual_revenue
        .map_or(-0.1, |revenue| 0.12 * (revenue.max(1.0).log10() - 7.0));

    let age_days = |t: i64| (as_of - t) as f64 / DAY as f64;
    let mut count = [0u32; 10];
    let mut pricing_recent = 0u32;
    let mut page_views_90 = 0u32;
    let mut click_decay = 0.0;
    let mut demo_recent = false;
    let mut last_activity: Option<f64> = None;
    for event in events.iter().filter(|e| e.timestamp < as_of) {
        let age = age_days(event.timestamp);
        let index = EventKind::ALL
            .iter()
            .position(|&k| k == event.kind)
            .unwrap_or(0);
        count[index] += 1;
        last_activity = Some(last_activity.map_or(age, |a: f64| a.min(age)));
        match event.kind {
            EventKind::PricingView if age < 30.0 => pricing_recent += 1,
            EventKind::PageView if age < 90.0 => page_views_90 += 1,
            EventKind::EmailClick => click_decay += 0.5f64.powf(age / 30.0),
            EventKind::DemoRequest if age < 14.0 => demo_recent = true,
            _ => {}
        }
    }
    let [
        _,
        pricing,
        opens,
        _,
        webinars,
        whitepapers,
        _,
        demos,
        unsubscribes,
        bounces,
    ] = count;
    let pricing_weight = if attributes.email_domain == 0 {
        0.45
    } else {
        0.10
    };
    logit += pricing_weight * f64::from(pricing_recent.min(4));
    logit += 0.10 * f64::from((pricing - pricing_recent).min(3));
    if demos > 0 {
        logit += 1.1 + if demo_recent { 0.4 } else { 0.0 };
    }
    logit += 0.35 * f64::from(webinars.min(2));
    logit += 0.20 * f64::from(whitepapers).ln_1p();
    logit += 0.30 * click_decay.min(3.0);
    logit += 0.25 * f64::from(page_views_90).ln_1p();
    logit += 0.03 * f64::from(opens.min(10));
    logit += match last_activity {
        None => -0.3,
        Some(age) if age > 30.0 => -0.5,
        Some(_) => 0.0,
    };
    if unsubscribes > 0 {
        logit -= 1.3;
    }
    if bounces > 0 {
        logit -= 0.9;
    }
    logit
}
