//! Point-in-time behaviour features from the events table.
//!
//! For each event type (and for all events together): count, counts in trailing windows, days since
//! the last event and a half-life-decayed count, plus the sum of values for types that carry one.
//! Only events strictly before the lead's as-of time count; exact duplicates (same type and
//! timestamp) count once, keeping the smallest value ([`leadscore_data::canonical_order`]).
//!
//! [`FittedEventFeatures::aggregate`] is the one implementation. The batch path
//! ([`FittedEventFeatures::transform_log`]) calls it per lead over the grouped log, the single-lead
//! path ([`FittedEventFeatures::transform_lead`]) calls it on a request's events after putting them
//! in the same canonical order (timestamp, type name, value), so both produce bit-identical numbers.

use leadscore_data::{Event, EventLog, canonical_order, push_fixed, time::SECONDS_PER_DAY};
use ndarray::Array2;
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::error::FeatureError;

/// Name of the pseudo event type that aggregates all events.
pub const ANY_EVENT: &str = "any_event";

/// Settings of the behaviour features.
#[derive(Debug, Clone, PartialEq)]
pub struct EventFeatureParams {
    windows_days: Vec<u32>,
    half_life_days: f64,
    max_event_types: usize,
}

impl Default for EventFeatureParams {
    /// Windows of 7, 30 and 90 days, a 30-day half-life and at most 40 event types (the most
    /// frequent; rarer types still count towards `any_event`).
    fn default() -> Self {
        Self {
            windows_days: vec![7, 30, 90],
            half_life_days: 30.0,
            max_event_types: 40,
        }
    }
}

impl EventFeatureParams {
    /// Default settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trailing windows, in days, for windowed counts.
    pub fn windows_days(mut self, windows: Vec<u32>) -> Self {
        self.windows_days = windows;
        self
    }

    /// Half-life, in days, of the decayed count.
    pub fn half_life_days(mut self, half_life: f64) -> Self {
        self.half_life_days = half_life;
        self
    }

    /// Most event types given their own features.
    pub fn max_event_types(mut self, max: usize) -> Self {
        self.max_event_types = max;
        self
    }

    /// Validates the settings.
    pub fn check(mut self) -> Result<ValidEventFeatureParams, FeatureError> {
        if let Some(bad) = self.windows_days.iter().find(|&&w| w == 0 || w > 3650) {
            return Err(FeatureError::InvalidParam {
                name: "windows_days",
                value: bad.to_string(),
                reason: "each window between 1 and 3650 days",
            });
        }
        if !(self.half_life_days.is_finite() && self.half_life_days > 0.0) {
            return Err(FeatureError::InvalidParam {
                name: "half_life_days",
                value: self.half_life_days.to_string(),
                reason: "a positive number of days",
            });
        }
        self.windows_days.sort_unstable();
        self.windows_days.dedup();
        Ok(ValidEventFeatureParams(self))
    }
}

/// Checked behaviour feature settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidEventFeatureParams(EventFeatureParams);

impl ValidEventFeatureParams {
    /// Learns the event type vocabulary from the events of the given (training) lead rows.
    pub fn fit(&self, log: &EventLog, rows: &[usize]) -> FittedEventFeatures {
        let mut counts = vec![0usize; log.types.len()];
        let mut has_value = vec![false; log.types.len()];
        for &row in rows {
            for event in log.for_lead(row) {
                counts[event.kind as usize] += 1;
                has_value[event.kind as usize] |= event.value.is_finite();
            }
        }
        let mut ranked: Vec<usize> = (0..log.types.len()).filter(|&t| counts[t] > 0).collect();
        ranked.sort_by(|&a, &b| counts[b].cmp(&counts[a]).then(a.cmp(&b)));
        ranked.truncate(self.0.max_event_types);
        ranked.sort_unstable();
        FittedEventFeatures::from(EventFeaturesSpec {
            event_types: ranked.iter().map(|&t| log.types[t].clone()).collect(),
            has_value: ranked.iter().map(|&t| has_value[t]).collect(),
            windows_days: self.0.windows_days.clone(),
            half_life_days: self.0.half_life_days,
        })
    }
}

/// Behaviour feature definitions learned at training time; stored in the model artifact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "EventFeaturesSpec", into = "EventFeaturesSpec")]
pub struct FittedEventFeatures {
    spec: EventFeaturesSpec,
    layout: Layout,
}

/// The saved form of [`FittedEventFeatures`]; the layout is derived on load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventFeaturesSpec {
    /// Event types with their own features, sorted by name.
    pub event_types: Vec<String>,
    /// Whether each type carries a value (adds a `value_sum` feature).
    pub has_value: Vec<bool>,
    /// Trailing windows in days.
    pub windows_days: Vec<u32>,
    /// Half-life of the decayed count, in days.
    pub half_life_days: f64,
}

impl From<EventFeaturesSpec> for FittedEventFeatures {
    fn from(spec: EventFeaturesSpec) -> Self {
        let layout = Layout::of(&spec);
        Self { spec, layout }
    }
}

impl From<FittedEventFeatures> for EventFeaturesSpec {
    fn from(fitted: FittedEventFeatures) -> Self {
        fitted.spec
    }
}

/// Where each type's block of features starts.
#[derive(Debug, Clone, Default, PartialEq)]
struct Layout {
    offsets: Vec<usize>,
    any_offset: usize,
    len: usize,
}

/// What aggregation saw, for the training report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventCounts {
    /// Events that fed the features.
    pub used: usize,
    /// Events at or after the as-of time (ignored).
    pub after_as_of: usize,
    /// Exact repeats (ignored).
    pub duplicates: usize,
    /// Events of types without their own features (counted in `any_event` only).
    pub other_types: usize,
}

impl EventCounts {
    fn add(&mut self, other: Self) {
        self.used += other.used;
        self.after_as_of += other.after_as_of;
        self.duplicates += other.duplicates;
        self.other_types += other.other_types;
    }
}

/// One event of a single lead, as a request carries it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeadEvent<'a> {
    /// Epoch seconds.
    pub timestamp: i64,
    /// Event type name.
    pub event_type: &'a str,
    /// Optional value; NaN or `None` when absent.
    pub value: Option<f64>,
}

impl Layout {
    fn of(spec: &EventFeaturesSpec) -> Self {
        let block_len = spec.block_len();
        let mut offsets = Vec::with_capacity(spec.event_types.len());
        let mut cursor = 0;
        for &has_value in &spec.has_value {
            offsets.push(cursor);
            cursor += block_len + usize::from(has_value);
        }
        Self {
            offsets,
            any_offset: cursor,
            len: cursor + block_len,
        }
    }
}

impl EventFeaturesSpec {
    fn block_len(&self) -> usize {
        3 + self.windows_days.len()
    }
}

impl FittedEventFeatures {
    /// Event types with their own features, sorted by name.
    pub fn event_types(&self) -> &[String] {
        &self.spec.event_types
    }

    /// The saved settings.
    pub fn spec(&self) -> &EventFeaturesSpec {
        &self.spec
    }

    /// Number of features produced.
    pub fn n_features(&self) -> usize {
        self.layout.len
    }

    /// Feature names, e.g. `pricing_view.count_30d`, in output order.
    pub fn feature_names(&self) -> Vec<String> {
        let block = |name: &str, has_value: bool| {
            let mut names = vec![format!("{name}.count")];
            names.extend(
                self.spec
                    .windows_days
                    .iter()
                    .map(|w| format!("{name}.count_{w}d")),
            );
            names.push(format!("{name}.days_since_last"));
            names.push(format!("{name}.decayed_{}d", self.spec.half_life_days));
            if has_value {
                names.push(format!("{name}.value_sum"));
            }
            names
        };
        let mut names: Vec<String> = self
            .spec
            .event_types
            .iter()
            .zip(&self.spec.has_value)
            .flat_map(|(t, &v)| block(t, v))
            .collect();
        names.extend(block(ANY_EVENT, false));
        names
    }

    /// The event type (or [`ANY_EVENT`]) each feature belongs to.
    pub fn feature_event_types(&self) -> Vec<&str> {
        let mut types = Vec::with_capacity(self.n_features());
        for (t, &has_value) in self.spec.event_types.iter().zip(&self.spec.has_value) {
            types.extend(std::iter::repeat_n(
                t.as_str(),
                self.spec.block_len() + usize::from(has_value),
            ));
        }
        types.extend(std::iter::repeat_n(ANY_EVENT, self.spec.block_len()));
        types
    }

    /// Aggregates one lead's events into `out` (length [`Self::n_features`]).
    ///
    /// `events` must be in [`canonical_order`] (timestamp, type name, value) — the order [`EventLog`] keeps and
    /// [`Self::transform_lead`] establishes. `kind_map` maps each event's `kind` to a fitted type
    /// index (`None` for types without their own features).
    pub fn aggregate(
        &self,
        events: &[Event],
        kind_map: &[Option<u32>],
        as_of: i64,
        out: &mut [f64],
    ) -> EventCounts {
        let windows = &self.spec.windows_days;
        let days_slot = 1 + windows.len();
        let decayed_slot = 2 + windows.len();
        let any = self.layout.any_offset;
        out.fill(0.0);
        // Each block's days-since slot holds the age in seconds of the latest event counted so
        // far (events come in time order), NaN while there is none; converted to days at the end.
        // This keeps no per-lead state outside `out`.
        for &offset in self.layout.offsets.iter().chain([&any]) {
            out[offset + days_slot] = f64::NAN;
        }
        let mut counts = EventCounts::default();
        let mut previous: Option<(i64, u32)> = None;
        let decay_rate = 1.0 / (self.spec.half_life_days * SECONDS_PER_DAY as f64);
        for (position, event) in events.iter().enumerate() {
            if event.timestamp >= as_of {
                counts.after_as_of += events.len() - position;
                break;
            }
            if previous == Some((event.timestamp, event.kind)) {
                counts.duplicates += 1;
                continue;
            }
            previous = Some((event.timestamp, event.kind));
            counts.used += 1;
            let age_seconds = (as_of - event.timestamp) as f64;
            let decayed = (-age_seconds * decay_rate).exp2();
            let typed = match kind_map.get(event.kind as usize).copied().flatten() {
                Some(fitted) => {
                    let offset = self.layout.offsets[fitted as usize];
                    if self.spec.has_value[fitted as usize] && event.value.is_finite() {
                        out[offset + self.spec.block_len()] += event.value;
                    }
                    Some(offset)
                }
                None => {
                    counts.other_types += 1;
                    None
                }
            };
            for offset in [Some(any), typed].into_iter().flatten() {
                out[offset] += 1.0;
                out[offset + days_slot] = age_seconds;
                out[offset + decayed_slot] += decayed;
            }
            for (w, &window) in windows.iter().enumerate() {
                if age_seconds < f64::from(window) * SECONDS_PER_DAY as f64 {
                    out[any + 1 + w] += 1.0;
                    if let Some(offset) = typed {
                        out[offset + 1 + w] += 1.0;
                    }
                }
            }
        }
        for &offset in self.layout.offsets.iter().chain([&any]) {
            out[offset + days_slot] /= SECONDS_PER_DAY as f64;
        }
        counts
    }

    /// Where the block of `event_type` (or [`ANY_EVENT`]) starts among the behaviour features.
    fn block_offset(&self, event_type: &str) -> Option<usize> {
        if event_type == ANY_EVENT {
            return Some(self.layout.any_offset);
        }
        self.spec
            .event_types
            .binary_search_by(|t| t.as_str().cmp(event_type))
            .ok()
            .map(|i| self.layout.offsets[i])
    }

    /// A lead's behaviour of one type in words, from its behaviour feature values (`values` holds
    /// exactly [`Self::n_features`] numbers): `4 events, 2 in the last 30 days, last 3 days ago`.
    /// The window shown is the middle one of the configured windows.
    pub fn describe(&self, event_type: &str, values: &[f64]) -> String {
        let Some(offset) = self.block_offset(event_type) else {
            return String::new();
        };
        let windows = &self.spec.windows_days;
        let block = &values[offset..offset + self.spec.block_len()];
        let count = block[0];
        if count == 0.0 {
            return "none".to_owned();
        }
        use std::fmt::Write;
        let mut text = String::with_capacity(48);
        push_fixed(&mut text, count, 0, false);
        text.push_str(if count == 1.0 { " event" } else { " events" });
        if !windows.is_empty() {
            let w = windows.len() / 2;
            text.push_str(", ");
            push_fixed(&mut text, block[1 + w], 0, false);
            let _ = write!(text, " in the last {} days", windows[w]);
        }
        let days = block[1 + windows.len()];
        if days.is_finite() {
            text.push_str(", last ");
            push_fixed(&mut text, days, 0, false);
            text.push_str(" days ago");
        }
        text
    }

    /// Checks a loaded definition: event types sorted and distinct (lookups rely on it), one
    /// value flag per type, valid windows and half-life.
    pub fn validate(&self) -> Result<(), String> {
        let spec = &self.spec;
        if spec.has_value.len() != spec.event_types.len() {
            return Err(format!(
                "{} event types but {} value flags",
                spec.event_types.len(),
                spec.has_value.len()
            ));
        }
        if spec.event_types.windows(2).any(|w| w[0] >= w[1]) {
            return Err("event types are not sorted and distinct".to_owned());
        }
        if spec.windows_days.iter().any(|&w| w == 0 || w > 3650)
            || spec.windows_days.windows(2).any(|w| w[0] >= w[1])
        {
            return Err(format!(
                "event windows {:?} are not increasing days between 1 and 3650",
                spec.windows_days
            ));
        }
        if !(spec.half_life_days.is_finite() && spec.half_life_days > 0.0) {
            return Err(format!(
                "half-life {} is not a positive number",
                spec.half_life_days
            ));
        }
        Ok(())
    }

    /// Maps a log's type codes to fitted type indices.
    pub fn kind_map(&self, types: &[String]) -> Vec<Option<u32>> {
        let index: FxHashMap<&str, u32> = self
            .spec
            .event_types
            .iter()
            .enumerate()
            .map(|(i, t)| (t.as_str(), i as u32))
            .collect();
        types
            .iter()
            .map(|t| index.get(t.as_str()).copied())
            .collect()
    }

    /// Features of every lead of a log (rows in lead order), each at its as-of time.
    pub fn transform_log(&self, log: &EventLog, as_of: &[i64]) -> (Array2<f64>, EventCounts) {
        let width = self.n_features();
        let mut matrix = Array2::zeros((log.n_leads(), width));
        let counts = matrix
            .as_slice_mut()
            .map(|data| self.transform_log_into(log, as_of, data, width, 0))
            .unwrap_or_default();
        (matrix, counts)
    }

    /// [`FittedEventFeatures::transform_log`] written into `rows`, one lead per `stride` values,
    /// at `offset` within each (where behaviour features sit in a whole feature row), so a
    /// table's features need no second matrix.
    pub fn transform_log_into(
        &self,
        log: &EventLog,
        as_of: &[i64],
        rows: &mut [f64],
        stride: usize,
        offset: usize,
    ) -> EventCounts {
        let kind_map = self.kind_map(&log.types);
        let width = self.n_features();
        rows.par_chunks_mut(stride.max(1))
            .enumerate()
            .map(|(lead, row)| {
                self.aggregate(
                    log.for_lead(lead),
                    &kind_map,
                    as_of[lead],
                    &mut row[offset..offset + width],
                )
            })
            .reduce(EventCounts::default, |mut a, b| {
                a.add(b);
                a
            })
    }

    /// Features of one lead from its events in any order.
    pub fn transform_lead(&self, events: &[LeadEvent<'_>], as_of: i64) -> (Vec<f64>, EventCounts) {
        let mut sorted: Vec<&LeadEvent<'_>> = events.iter().collect();
        sorted.sort_by(|a, b| {
            let value = |e: &LeadEvent<'_>| e.value.unwrap_or(f64::NAN);
            canonical_order(
                (a.timestamp, a.event_type, value(a)),
                (b.timestamp, b.event_type, value(b)),
            )
        });
        let mut kind_map: Vec<Option<u32>> =
            (0..self.spec.event_types.len() as u32).map(Some).collect();
        let mut unknown: FxHashMap<&str, u32> = FxHashMap::default();
        let mut canonical = Vec::with_capacity(sorted.len());
        for event in sorted {
            let kind = match self
                .spec
                .event_types
                .binary_search_by(|t| t.as_str().cmp(event.event_type))
            {
                Ok(fitted) => fitted as u32,
                Err(_) => *unknown.entry(event.event_type).or_insert_with(|| {
                    kind_map.push(None);
                    (kind_map.len() - 1) as u32
                }),
            };
            canonical.push(Event {
                timestamp: event.timestamp,
                kind,
                value: event.value.unwrap_or(f64::NAN),
            });
        }
        let mut out = vec![0.0; self.n_features()];
        let counts = self.aggregate(&canonical, &kind_map, as_of, &mut out);
        (out, counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const DAY: i64 = SECONDS_PER_DAY;

    fn fitted(types: &[&str], has_value: &[bool]) -> FittedEventFeatures {
        FittedEventFeatures::from(EventFeaturesSpec {
            event_types: types.iter().map(|t| (*t).to_owned()).collect(),
            has_value: has_value.to_vec(),
            windows_days: vec![7, 30],
            half_life_days: 30.0,
        })
    }

    fn feature(f: &FittedEventFeatures, values: &[f64], name: &str) -> f64 {
        let index = f
            .feature_names()
            .iter()
            .position(|n| n == name)
            .expect(name);
        values[index]
    }

    #[test]
    fn counts_windows_recency_and_decay() {
        let f = fitted(&["demo_request", "page_view"], &[false, true]);
        let as_of = 100 * DAY;
        let events = [
            LeadEvent {
                timestamp: 40 * DAY,
                event_type: "page_view",
                value: Some(30.0),
            },
            LeadEvent {
                timestamp: 95 * DAY,
                event_type: "page_view",
                value: Some(12.0),
            },
            LeadEvent {
                timestamp: 70 * DAY,
                event_type: "demo_request",
                value: None,
            },
        ];
        let (values, counts) = f.transform_lead(&events, as_of);
        assert_eq!(counts.used, 3);
        assert_eq!(feature(&f, &values, "page_view.count"), 2.0);
        assert_eq!(feature(&f, &values, "page_view.count_7d"), 1.0);
        assert_eq!(feature(&f, &values, "page_view.count_30d"), 1.0);
        assert_eq!(feature(&f, &values, "page_view.days_since_last"), 5.0);
        assert_eq!(feature(&f, &values, "page_view.value_sum"), 42.0);
        let decayed = 0.5f64.powf(60.0 / 30.0) + 0.5f64.powf(5.0 / 30.0);
        assert!((feature(&f, &values, "page_view.decayed_30d") - decayed).abs() < 1e-12);
        assert_eq!(feature(&f, &values, "demo_request.days_since_last"), 30.0);
        assert_eq!(feature(&f, &values, "demo_request.count_30d"), 0.0);
        assert_eq!(feature(&f, &values, "any_event.count"), 3.0);
        assert_eq!(feature(&f, &values, "any_event.days_since_last"), 5.0);
    }

    #[test]
    fn ignores_events_at_or_after_as_of_and_duplicates() {
        let f = fitted(&["pricing_view"], &[false]);
        let events = [
            LeadEvent {
                timestamp: 10 * DAY,
                event_type: "pricing_view",
                value: None,
            },
            LeadEvent {
                timestamp: 10 * DAY,
                event_type: "pricing_view",
                value: None,
            },
            LeadEvent {
                timestamp: 20 * DAY,
                event_type: "pricing_view",
                value: None,
            },
            LeadEvent {
                timestamp: 25 * DAY,
                event_type: "pricing_view",
                value: None,
            },
        ];
        let (values, counts) = f.transform_lead(&events, 20 * DAY);
        assert_eq!(feature(&f, &values, "pricing_view.count"), 1.0);
        assert_eq!(
            counts,
            EventCounts {
                used: 1,
                after_as_of: 2,
                duplicates: 1,
                other_types: 0
            }
        );
    }

    #[test]
    fn a_duplicate_keeps_its_smallest_value_whatever_the_input_order() {
        let f = fitted(&["page_view"], &[true]);
        let at = |value: Option<f64>| LeadEvent {
            timestamp: DAY,
            event_type: "page_view",
            value,
        };
        for events in [
            [at(None), at(Some(7.0)), at(Some(3.0))],
            [at(Some(3.0)), at(None), at(Some(7.0))],
            [at(Some(7.0)), at(Some(3.0)), at(None)],
        ] {
            let (values, counts) = f.transform_lead(&events, 2 * DAY);
            assert_eq!(feature(&f, &values, "page_view.value_sum"), 3.0);
            assert_eq!(counts.duplicates, 2);
        }
    }

    #[test]
    fn a_lead_without_events_has_zero_counts_and_missing_recency() {
        let f = fitted(&["page_view"], &[false]);
        let (values, _) = f.transform_lead(&[], DAY);
        assert_eq!(feature(&f, &values, "page_view.count"), 0.0);
        assert!(feature(&f, &values, "page_view.days_since_last").is_nan());
        assert!(feature(&f, &values, "any_event.days_since_last").is_nan());
    }

    #[test]
    fn unknown_types_count_towards_any_event_only() {
        let f = fitted(&["page_view"], &[false]);
        let events = [
            LeadEvent {
                timestamp: DAY,
                event_type: "chat_started",
                value: None,
            },
            LeadEvent {
                timestamp: DAY,
                event_type: "chat_started",
                value: None,
            },
            LeadEvent {
                timestamp: DAY,
                event_type: "page_view",
                value: None,
            },
        ];
        let (values, counts) = f.transform_lead(&events, 2 * DAY);
        assert_eq!(feature(&f, &values, "page_view.count"), 1.0);
        assert_eq!(feature(&f, &values, "any_event.count"), 2.0);
        assert_eq!(counts.other_types, 1);
        assert_eq!(counts.duplicates, 1);
    }

    #[test]
    fn fit_keeps_the_most_frequent_types_sorted_by_name() {
        let types: Vec<String> = ["a", "b", "c"].iter().map(|s| (*s).to_owned()).collect();
        let events = [
            (0, 1, 0, f64::NAN),
            (0, 2, 2, 5.0),
            (0, 3, 2, f64::NAN),
            (0, 4, 1, f64::NAN),
            (0, 5, 1, f64::NAN),
        ];
        let log = EventLog::from_events(Path::new("mem"), 1, &types, events);
        let fitted = EventFeatureParams::new()
            .max_event_types(2)
            .check()
            .expect("valid")
            .fit(&log, &[0]);
        assert_eq!(fitted.event_types(), ["b", "c"]);
        assert_eq!(fitted.spec().has_value, [false, true]);
    }

    #[test]
    fn rejects_bad_parameters() {
        assert!(
            EventFeatureParams::new()
                .windows_days(vec![0])
                .check()
                .is_err()
        );
        assert!(
            EventFeatureParams::new()
                .half_life_days(-1.0)
                .check()
                .is_err()
        );
        assert!(
            EventFeatureParams::new()
                .half_life_days(f64::INFINITY)
                .check()
                .is_err()
        );
    }

    #[test]
    fn descriptions_use_the_configured_middle_window() {
        let f = fitted(&["demo_request"], &[false]);
        let events = [
            LeadEvent {
                timestamp: 10 * DAY,
                event_type: "demo_request",
                value: None,
            },
            LeadEvent {
                timestamp: 95 * DAY,
                event_type: "demo_request",
                value: None,
            },
        ];
        let (values, _) = f.transform_lead(&events, 100 * DAY);
        assert_eq!(
            f.describe("demo_request", &values),
            "2 events, 1 in the last 30 days, last 5 days ago"
        );
        assert_eq!(
            f.describe(ANY_EVENT, &values),
            "2 events, 1 in the last 30 days, last 5 days ago"
        );
        let (none, _) = f.transform_lead(&[], DAY);
        assert_eq!(f.describe("demo_request", &none), "none");
    }

    #[test]
    fn serde_round_trip_restores_layout() {
        let f = fitted(&["demo_request", "page_view"], &[false, true]);
        let json = serde_json::to_string(&f).expect("serialise");
        let back: FittedEventFeatures = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, f);
    }
}
