//! Synthetic B2B leads and behaviour events with a known true conversion probability.
//!
//! `leadscore generate` uses this crate to produce realistic data for demos, tests and benchmarks:
//! a leads table (industry, company size, job level, country, lead source, e-mail domain type,
//! annual revenue with gaps, created/closed dates over many months, won/lost/open outcomes), an
//! events table (page views, pricing views, e-mails, webinars, whitepapers, forms, demo requests,
//! unsubscribes, bounces — with exact duplicates and a few events of deleted leads, as real
//! exports have), and a separate truth file holding each lead's true probability. Generation is
//! seeded and deterministic whatever the number of threads: each lead draws from its own stream.

mod error;
mod world;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

pub use error::SynthError;
pub use world::EventKind;
use world::{
    Attributes, COMPANY_SIZES, COUNTRIES, DAY, EMAIL_DOMAINS, INDUSTRIES, JOB_LEVELS, LEAD_SOURCES,
    RawEvent,
};

/// Settings of the generator, with documented defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratorParams {
    leads: usize,
    seed: u64,
    start: i64,
    months: u32,
    activity: f64,
    duplicate_rate: f64,
    stray_rate: f64,
    deal_values: bool,
}

impl Default for GeneratorParams {
    /// 10,000 leads, seed 42, created from 2024-01-01 over 18 months, activity 1.0 (about 10 events
    /// per lead), 1% duplicated events, 0.2% events of deleted leads.
    fn default() -> Self {
        Self {
            leads: 10_000,
            seed: 42,
            start: 1_704_067_200,
            months: 18,
            activity: 1.0,
            duplicate_rate: 0.01,
            stray_rate: 0.002,
            deal_values: false,
        }
    }
}

impl GeneratorParams {
    /// Default settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leads.
    pub fn leads(mut self, leads: usize) -> Self {
        self.leads = leads;
        self
    }

    /// Random seed; the same seed gives byte-identical files.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// First creation time (epoch seconds).
    pub fn start(mut self, start: i64) -> Self {
        self.start = start;
        self
    }

    /// Months over which leads are created; the export happens at the end.
    pub fn months(mut self, months: u32) -> Self {
        self.months = months;
        self
    }

    /// Multiplier of every event rate (1.0 ≈ 10 events per lead).
    pub fn activity(mut self, activity: f64) -> Self {
        self.activity = activity;
        self
    }

    /// Share of events written twice (tracking double-fires).
    pub fn duplicate_rate(mut self, rate: f64) -> Self {
        self.duplicate_rate = rate;
        self
    }

    /// Share of extra events whose lead is not in the leads file.
    pub fn stray_rate(mut self, rate: f64) -> Self {
        self.stray_rate = rate;
        self
    }

    /// Adds a `deal_value` column (won leads' amounts) to the leads and each lead's expected deal
    /// value to the truth. Values come from their own random stream: everything else is the same
    /// with or without them.
    pub fn deal_values(mut self, on: bool) -> Self {
        self.deal_values = on;
        self
    }

    /// Validates the settings.
    pub fn check(self) -> Result<ValidGeneratorParams, SynthError> {
        let invalid = |name, value: String, reason| {
            Err(SynthError::InvalidParam {
                name,
                value,
                reason,
            })
        };
        if self.leads == 0 || self.leads > 50_000_000 {
            return invalid("leads", self.leads.to_string(), "between 1 and 50,000,000");
        }
        if !(1..=120).contains(&self.months) {
            return invalid("months", self.months.to_string(), "between 1 and 120");
        }
        if !(self.activity.is_finite() && self.activity > 0.0 && self.activity <= 100.0) {
            return invalid(
                "activity",
                self.activity.to_string(),
                "a number in (0, 100]",
            );
        }
        for (name, rate) in [
            ("duplicate_rate", self.duplicate_rate),
            ("stray_rate", self.stray_rate),
        ] {
            if !(0.0..=0.5).contains(&rate) {
                return invalid(name, rate.to_string(), "a share in [0, 0.5]");
            }
        }
        Ok(ValidGeneratorParams(self))
    }
}

/// Checked generator settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidGeneratorParams(GeneratorParams);

/// One generated lead.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticLead {
    /// Lead id (`L0000001`).
    pub id: String,
    /// Creation time.
    pub created_at: i64,
    /// Close date (midnight UTC), `None` while open at export time.
    pub closed_at: Option<i64>,
    /// Won (`Some(true)`), lost (`Some(false)`) or open.
    pub outcome: Option<bool>,
    /// True conversion probability at the lead's as-of time (close date, or export time if open).
    pub true_probability: f64,
    /// The outcome drawn from that probability (for open leads: the one they will have).
    pub would_convert: bool,
    /// The amount this lead buys if it wins (written for won leads with deal values on).
    pub deal_value: f64,
    /// The true mean amount of leads like it that win.
    pub expected_deal_value: f64,
    attributes: Attributes,
}

/// One generated event.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticEvent {
    /// Lead id (possibly of a lead missing from the leads file).
    pub lead_id: String,
    /// Epoch seconds.
    pub timestamp: i64,
    /// Event type.
    pub kind: EventKind,
    /// Seconds on page for page views.
    pub value: Option<f64>,
}

/// A generated data set.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticData {
    /// Leads, in creation order of their ids.
    pub leads: Vec<SyntheticLead>,
    /// Events, sorted by time as a tracking export would be.
    pub events: Vec<SyntheticEvent>,
    /// Export time: open leads are those not closed by then.
    pub export_time: i64,
    /// Whether the files carry deal values.
    pub deal_values: bool,
}

/// Counts printed after generation.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct GenerationSummary {
    /// Leads generated.
    pub leads: usize,
    /// Won leads.
    pub won: usize,
    /// Lost leads.
    pub lost: usize,
    /// Open leads.
    pub open: usize,
    /// Events written (including duplicates and stray events).
    pub events: usize,
    /// Won share of closed leads.
    pub conversion_rate: f64,
    /// AUC of the true probability on the drawn outcomes of closed leads: the best any model can do.
    pub oracle_auc: f64,
}

impl ValidGeneratorParams {
    /// Generates leads, events and truth.
    pub fn generate(&self) -> SyntheticData {
        let params = &self.0;
        let export_time =
            params.start + i64::from(params.months) * 30 * DAY + i64::from(params.months) * DAY / 2;
        let creation_span = export_time - params.start - DAY;
        let per_lead: Vec<(SyntheticLead, Vec<RawEvent>)> = (0..params.leads)
            .into_par_iter()
            .map(|index| {
                let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
                rng.set_stream(index as u64);
                generate_lead(&mut rng, index, params, creation_span, export_time)
            })
            .collect();

        let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
        rng.set_stream(u64::MAX);
        let mut events = Vec::new();
        for (lead, raw_events) in &per_lead {
            for event in raw_events {
                let copies = if rng.random::<f64>() < params.duplicate_rate {
                    2
                } else {
                    1
                };
                for _ in 0..copies {
                    events.push(SyntheticEvent {
                        lead_id: lead.id.clone(),
                        timestamp: event.timestamp,
                        kind: event.kind,
                        value: event.value,
                    });
                }
            }
        }
        let strays = (events.len() as f64 * params.stray_rate).round() as usize;
        for i in 0..strays {
            events.push(SyntheticEvent {
                lead_id: format!("DELETED-{:05}", i % 97),
                timestamp: params.start + rng.random_range(0..creation_span),
                kind: EventKind::PageView,
                value: None,
            });
        }
        events.sort_by(|a, b| {
            a.timestamp
                .cmp(&b.timestamp)
                .then_with(|| a.lead_id.cmp(&b.lead_id))
        });
        SyntheticData {
            leads: per_lead.into_iter().map(|(lead, _)| lead).collect(),
            events,
            export_time,
            deal_values: params.deal_values,
        }
    }
}

fn generate_lead(
    rng: &mut ChaCha8Rng,
    index: usize,
    params: &GeneratorParams,
    creation_span: i64,
    export_time: i64,
) -> (SyntheticLead, Vec<RawEvent>) {
    let attributes = world::draw_attributes(rng);
    let engagement = world::draw_engagement(rng, &attributes);
    let created_at = params.start + rng.random_range(0..creation_span);
    let cycle_days = (35.0 * (0.6 * standard_normal(rng)).exp()).clamp(3.0, 240.0);
    let close_time = created_at + (cycle_days * DAY as f64) as i64;
    let close_date = close_time - close_time.rem_euclid(DAY);
    let is_open = close_date >= export_time;
    let as_of = if is_open { export_time } else { close_date };

    let mut events = vec![RawEvent {
        timestamp: created_at,
        kind: EventKind::FormSubmit,
        value: None,
    }];
    if attributes_source_is_webinar(&attributes) {
        events.push(RawEvent {
            timestamp: created_at + 3600,
            kind: EventKind::WebinarAttended,
            value: None,
        });
    }
    events.extend(world::draw_behaviour(
        rng,
        &attributes,
        engagement,
        params.activity,
        created_at,
        as_of,
    ));
    let true_probability = sigmoid(world::true_logit(&attributes, &events, as_of));
    let would_convert = rng.random::<f64>() < true_probability;
    if !is_open {
        let onboarding_end = (close_date + 45 * DAY).min(export_time);
        events.extend(world::draw_after_close(
            rng,
            would_convert,
            close_date,
            onboarding_end,
        ));
    }
    // Its own stream, so that turning deal values on changes nothing else.
    let mut value_rng = ChaCha8Rng::seed_from_u64(params.seed ^ 0x6465_616c_7661_6c75);
    value_rng.set_stream(index as u64);
    let log_mean = world::deal_log_mean(&attributes);
    let deal_value = (log_mean + world::DEAL_SIGMA * standard_normal(&mut value_rng))
        .exp()
        .round();
    let expected_deal_value = (log_mean + world::DEAL_SIGMA * world::DEAL_SIGMA / 2.0).exp();
    let lead = SyntheticLead {
        id: format!("L{:07}", index + 1),
        created_at,
        closed_at: (!is_open).then_some(close_date),
        outcome: (!is_open).then_some(would_convert),
        true_probability,
        would_convert,
        deal_value,
        expected_deal_value,
        attributes,
    };
    (lead, events)
}

fn attributes_source_is_webinar(attributes: &Attributes) -> bool {
    LEAD_SOURCES[attributes.lead_source].0 == "webinar"
}

fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    // Box–Muller keeps the draw count per call fixed, which keeps streams reproducible.
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl SyntheticData {
    /// Counts and the oracle AUC.
    pub fn summary(&self) -> GenerationSummary {
        let closed: Vec<&SyntheticLead> =
            self.leads.iter().filter(|l| l.outcome.is_some()).collect();
        let won = closed.iter().filter(|l| l.outcome == Some(true)).count();
        let scores: Vec<f64> = closed.iter().map(|l| l.true_probability).collect();
        let labels: Vec<bool> = closed.iter().map(|l| l.outcome == Some(true)).collect();
        GenerationSummary {
            leads: self.leads.len(),
            won,
            lost: closed.len() - won,
            open: self.leads.len() - closed.len(),
            events: self.events.len(),
            conversion_rate: won as f64 / closed.len().max(1) as f64,
            oracle_auc: leadscore_metrics::roc_auc(&scores, &labels).unwrap_or(f64::NAN),
        }
    }

    /// Writes `leads.csv`, `events.csv` and `truth.csv` into `dir` (created if needed).
    pub fn write(&self, dir: &Path) -> Result<[PathBuf; 3], SynthError> {
        std::fs::create_dir_all(dir).map_err(|source| SynthError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let paths = [
            dir.join("leads.csv"),
            dir.join("events.csv"),
            dir.join("truth.csv"),
        ];
        write_file(&paths[0], |out| self.write_leads(out))?;
        write_file(&paths[1], |out| self.write_events(out))?;
        write_file(&paths[2], |out| self.write_truth(out))?;
        Ok(paths)
    }

    /// Writes the leads table as CSV.
    pub fn write_leads(&self, out: &mut impl Write) -> std::io::Result<()> {
        writeln!(
            out,
            "lead_id,created_at,closed_at,outcome,industry,company_size,job_level,country,lead_source,email_domain,annual_revenue{}",
            if self.deal_values { ",deal_value" } else { "" }
        )?;
        for lead in &self.leads {
            let a = &lead.attributes;
            let outcome = match lead.outcome {
                Some(true) => "won",
                Some(false) => "lost",
                None => "open",
            };
            let value = match (self.deal_values, lead.outcome) {
                (true, Some(true)) => format!(",{:.0}", lead.deal_value),
                (true, _) => ",".to_owned(),
                (false, _) => String::new(),
            };
            writeln!(
                out,
                "{},{},{},{},{},{},{},{},{},{},{}{value}",
                lead.id,
                leadscore_data::time::format_timestamp(lead.created_at),
                lead.closed_at
                    .map(leadscore_data::time::format_date)
                    .unwrap_or_default(),
                outcome,
                INDUSTRIES[a.industry].0,
                COMPANY_SIZES[a.company_size].0,
                JOB_LEVELS[a.job_level].0,
                COUNTRIES[a.country].0,
                LEAD_SOURCES[a.lead_source].0,
                EMAIL_DOMAINS[a.email_domain].0,
                a.annual_revenue
                    .map(|r| format!("{r:.0}"))
                    .unwrap_or_default(),
            )?;
        }
        Ok(())
    }

    /// Writes the events table as CSV.
    pub fn write_events(&self, out: &mut impl Write) -> std::io::Result<()> {
        writeln!(out, "lead_id,timestamp,event_type,value")?;
        for event in &self.events {
            writeln!(
                out,
                "{},{},{},{}",
                event.lead_id,
                leadscore_data::time::format_timestamp(event.timestamp),
                event.kind.name(),
                event.value.map(|v| format!("{v:.0}")).unwrap_or_default()
            )?;
        }
        Ok(())
    }

    /// Writes the truth file: true probability and drawn outcome per lead.
    pub fn write_truth(&self, out: &mut impl Write) -> std::io::Result<()> {
        writeln!(
            out,
            "lead_id,true_probability,would_convert{}",
            if self.deal_values {
                ",expected_deal_value"
            } else {
                ""
            }
        )?;
        for lead in &self.leads {
            let value = if self.deal_values {
                format!(",{:.2}", lead.expected_deal_value)
            } else {
                String::new()
            };
            writeln!(
                out,
                "{},{:.6},{}{value}",
                lead.id,
                lead.true_probability,
                u8::from(lead.would_convert)
            )?;
        }
        Ok(())
    }
}

fn write_file(
    path: &Path,
    body: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<(), SynthError> {
    let io_error = |source| SynthError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path).map_err(io_error)?);
    body(&mut out).map_err(io_error)?;
    out.flush().map_err(io_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> SyntheticData {
        GeneratorParams::new()
            .leads(3_000)
            .seed(7)
            .check()
            .expect("valid params")
            .generate()
    }

    #[test]
    fn same_seed_gives_identical_files() {
        let render = |data: &SyntheticData| {
            let mut bytes = Vec::new();
            data.write_leads(&mut bytes).expect("in memory");
            data.write_events(&mut bytes).expect("in memory");
            data.write_truth(&mut bytes).expect("in memory");
            bytes
        };
        let first = render(&small());
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .expect("pool");
        let single_threaded = pool.install(|| render(&small()));
        assert_eq!(first, single_threaded);
        let other_seed = GeneratorParams::new()
            .leads(3_000)
            .seed(8)
            .check()
            .expect("valid")
            .generate();
        assert_ne!(first, render(&other_seed));
    }

    #[test]
    fn looks_like_a_b2b_funnel() {
        let data = small();
        let summary = data.summary();
        assert!(
            (0.05..=0.20).contains(&summary.conversion_rate),
            "{summary:?}"
        );
        assert!(
            summary.open > 0 && summary.open < summary.leads / 4,
            "{summary:?}"
        );
        let per_lead = summary.events as f64 / summary.leads as f64;
        assert!(
            (5.0..=20.0).contains(&per_lead),
            "{per_lead} events per lead"
        );
        assert!(
            summary.oracle_auc > 0.75 && summary.oracle_auc < 0.95,
            "{summary:?}"
        );
        let missing_revenue = data
            .leads
            .iter()
            .filter(|l| l.attributes.annual_revenue.is_none())
            .count();
        assert!(missing_revenue > 0);
        let created: Vec<i64> = data.leads.iter().map(|l| l.created_at).collect();
        let span_days =
            (created.iter().max().unwrap_or(&0) - created.iter().min().unwrap_or(&0)) / DAY;
        assert!(span_days > 365, "created over {span_days} days");
    }

    #[test]
    fn rejects_bad_parameters() {
        assert!(GeneratorParams::new().leads(0).check().is_err());
        assert!(GeneratorParams::new().activity(f64::NAN).check().is_err());
        assert!(GeneratorParams::new().duplicate_rate(0.9).check().is_err());
        assert!(GeneratorParams::new().months(0).check().is_err());
    }
}
