//! The rules engine: each condition kind, decay, caps, once, negative points, grades, and every
//! validation error with its line.

use std::path::Path;

use leadscore_data::{
    ColumnKind, EventLog, EventsOptions, LeadsOptions, LeadsTable, Outcome, Value,
    time::SECONDS_PER_DAY,
};
use leadscore_metrics::roc_auc;
use leadscore_points::{Group, PointsError, PointsRules, ScorecardParams};
use leadscore_synth::GeneratorParams;

const DAY: i64 = SECONDS_PER_DAY;
const NOW: i64 = 1_000 * DAY;

fn rules(text: &str) -> PointsRules {
    PointsRules::parse(Path::new("rules.toml"), text).unwrap_or_else(|e| panic!("{e}"))
}

fn error(text: &str) -> String {
    PointsRules::parse(Path::new("rules.toml"), text)
        .expect_err("should be rejected")
        .to_string()
}

fn attributes<'a>(pairs: &'a [(&'a str, Value<'a>)]) -> impl Fn(&str) -> Value<'a> + 'a {
    move |name| {
        pairs
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(Value::Missing, |(_, v)| *v)
    }
}

const FIELDS: &str = r#"
mql_threshold = 30
[[rule]]
name = "Decision maker"
group = "fit"
field = "job_level"
in = ["C-Level", "VP"]
points = 20
[[rule]]
name = "Student"
group = "fit"
field = "job_level"
equals = "student"
points = -30
[[rule]]
name = "Outside core markets"
group = "fit"
field = "country"
not_in = ["US", "DE"]
points = -5
[[rule]]
name = "Mid revenue"
group = "fit"
field = "revenue"
at_least = 1000
below = 5000
points = 10
[[rule]]
name = "No revenue given"
group = "fit"
field = "revenue"
missing = true
points = -2
"#;

#[test]
fn field_conditions_match_ignoring_case_and_missing_only_matches_missing() {
    let r = rules(FIELDS);
    let score = r.score(
        attributes(&[
            ("job_level", Value::Text("vp")),
            ("country", Value::Text("FR")),
            ("revenue", Value::Number(1000.0)),
        ]),
        [],
        NOW,
    );
    let hits: Vec<(&str, f64)> = score
        .breakdown
        .iter()
        .map(|h| (h.rule.as_str(), h.points))
        .collect();
    assert_eq!(
        hits,
        [
            ("Decision maker", 20.0),
            ("Outside core markets", -5.0),
            ("Mid revenue", 10.0)
        ]
    );
    assert_eq!(score.total, 25.0);
    assert!(!score.mql);

    let score = r.score(
        attributes(&[
            ("job_level", Value::Text("Student")),
            ("revenue", Value::Number(5000.0)),
        ]),
        [],
        NOW,
    );
    assert_eq!(score.total, -30.0, "{score:?}");
    assert!(
        score
            .breakdown
            .iter()
            .all(|h| h.rule != "Outside core markets"),
        "a missing country is not `not in` the list"
    );

    let score = r.score(attributes(&[("revenue", Value::Missing)]), [], NOW);
    assert_eq!(score.total, -2.0);
    let score = r.score(attributes(&[("revenue", Value::Text("2500"))]), [], NOW);
    assert_eq!(score.total, 10.0, "numeric text still matches a range");
}

const EVENTS: &str = r#"
mql_threshold = 10
[grades]
fit = [30, 20, 10]
engagement = [30, 20, 10]
[[rule]]
name = "Pricing"
group = "engagement"
event = "pricing_view"
points = 5
max = 12
[[rule]]
name = "Demo"
group = "engagement"
event = "demo_request"
once = true
points = 30
half_life_days = 10
[[rule]]
name = "Recent opens"
group = "engagement"
event = "email_open"
within_days = 7
points = 1
[[rule]]
name = "Unsubscribed"
group = "engagement"
event = "unsubscribe"
once = true
points = -40
"#;

#[test]
fn event_rules_cap_count_once_decay_window_and_subtract() {
    let r = rules(EVENTS);
    let none = attributes(&[]);
    let score = r.score(
        &none,
        [
            ("pricing_view", NOW - DAY),
            ("pricing_view", NOW - 2 * DAY),
            ("pricing_view", NOW - 2 * DAY),
            ("pricing_view", NOW - 3 * DAY),
            ("pricing_view", NOW + DAY),
        ],
        NOW,
    );
    let pricing = &score.breakdown[0];
    assert_eq!(
        pricing.points, 12.0,
        "3 distinct past events × 5 capped at 12"
    );
    assert!(pricing.detail.contains("3 pricing_view events") && pricing.detail.contains("capped"));

    let score = r.score(
        &none,
        [
            ("demo_request", NOW - 10 * DAY),
            ("demo_request", NOW - 30 * DAY),
        ],
        NOW,
    );
    assert_eq!(
        score.total, 15.0,
        "once: the newest demo, decayed by one half-life"
    );

    let score = r.score(
        &none,
        [("email_open", NOW - 6 * DAY), ("email_open", NOW - 8 * DAY)],
        NOW,
    );
    assert_eq!(score.total, 1.0, "only the open within 7 days counts");

    let score = r.score(
        &none,
        [("unsubscribe", NOW - DAY), ("demo_request", NOW - DAY)],
        NOW,
    );
    let demo = 30.0 * 0.5_f64.powf(0.1);
    assert_eq!(score.total, ((demo - 40.0) * 10.0).round() / 10.0);
    assert_eq!(score.fit, 0.0);
    assert!(score.breakdown.iter().all(|h| h.group == Group::Engagement));
}

#[test]
fn totals_are_exactly_the_sum_of_the_breakdown_and_grades_follow_the_cut_points() {
    let r = rules(EVENTS);
    let score = r.score(
        attributes(&[]),
        [
            ("pricing_view", NOW - DAY),
            ("demo_request", NOW - 3 * DAY),
            ("email_open", NOW - DAY),
        ],
        NOW,
    );
    let sum: f64 = score.breakdown.iter().map(|h| h.points).sum();
    assert!((score.total - sum).abs() < 1e-9, "{score:?}");
    assert_eq!(score.grade.as_deref(), Some("D1"));
    assert_eq!(score.tier.as_deref(), Some("cold"));
    assert!(score.mql);
}

#[test]
fn every_validation_error_names_the_line_and_rule() {
    let duplicate = format!(
        "{FIELDS}[[rule]]\nname = \"student\"\ngroup = \"fit\"\nfield = \"x\"\nmissing = true\npoints = 1\n"
    );
    let message = error(&duplicate);
    assert!(
        message.contains("line 34") && message.contains("already used by the rule on line 9"),
        "{message}"
    );

    let cases = [
        (
            "name = \"A\"\ngroup = \"fit\"\npoints = 1",
            "needs a `field` or an `event`",
        ),
        (
            "name = \"A\"\ngroup = \"fit\"\nfield = \"x\"\nevent = \"y\"\npoints = 1",
            "not both",
        ),
        (
            "name = \"A\"\ngroup = \"fit\"\nfield = \"x\"\npoints = 1",
            "needs a condition",
        ),
        (
            "name = \"A\"\ngroup = \"fit\"\nfield = \"x\"\nequals = \"a\"\nmissing = true\npoints = 1",
            "several conditions",
        ),
        (
            "name = \"A\"\ngroup = \"fit\"\nfield = \"x\"\nat_least = 5\nbelow = 5\npoints = 1",
            "empty range",
        ),
        (
            "name = \"A\"\ngroup = \"fit\"\nfield = \"x\"\nin = []\npoints = 1",
            "`in` is empty",
        ),
        (
            "name = \"A\"\ngroup = \"fit\"\nfield = \"x\"\nequals = \"a\"\nonce = true\npoints = 1",
            "applies to event rules",
        ),
        (
            "name = \"A\"\ngroup = \"engagement\"\nevent = \"x\"\nequals = \"a\"\npoints = 1",
            "applies to field rules",
        ),
        (
            "name = \"A\"\ngroup = \"engagement\"\nevent = \"x\"\npoints = 5\nmax = -10",
            "sign of `points`",
        ),
        (
            "name = \"A\"\ngroup = \"engagement\"\nevent = \"x\"\npoints = 5\nmax = 10\nonce = true",
            "no effect with `once",
        ),
        (
            "name = \"A\"\ngroup = \"engagement\"\nevent = \"x\"\npoints = 5\nhalf_life_days = 0",
            "positive number of days",
        ),
        (
            "name = \"\"\ngroup = \"fit\"\nfield = \"x\"\nmissing = true\npoints = 1",
            "name is empty",
        ),
    ];
    for (rule, expected) in cases {
        let message = error(&format!("mql_threshold = 1\n\n[[rule]]\n{rule}\n"));
        assert!(
            message.contains("line 3") && message.contains(expected),
            "{expected}: {message}"
        );
    }

    let message = error(
        "mql_threshold = 1\n[[rule]]\nname = \"A\"\ngroup = \"fitness\"\nfield = \"x\"\nmissing = true\npoints = 1\n",
    );
    assert!(
        message.contains("line 4") && message.contains("fitness"),
        "{message}"
    );
    let message = error(
        "mql_threshold = 1\n[[rule]]\nname = \"A\"\ngroup = \"fit\"\nfeild = \"x\"\npoints = 1\n",
    );
    assert!(
        message.contains("line 5") && message.contains("feild"),
        "{message}"
    );
    let message = error(
        "mql_threshold = 1\n[grades]\nfit = [1, 2, 3]\nengagement = [3, 2, 1]\n[[rule]]\nname = \"A\"\ngroup = \"fit\"\nfield = \"x\"\nmissing = true\npoints = 1\n",
    );
    assert!(message.contains("strictly decreasing"), "{message}");
    let message = error("mql_threshold = 1\n");
    assert!(message.contains("no `[[rule]]`"), "{message}");
    let message = error(
        "mql_threshold = 1\n[[tier]]\nname = \"hot\"\ngrades = [\"A9\"]\n[[rule]]\nname = \"A\"\ngroup = \"fit\"\nfield = \"x\"\nmissing = true\npoints = 1\n",
    );
    assert!(
        message.contains("line 2") && message.contains("A9"),
        "{message}"
    );
}

#[test]
fn rules_are_checked_against_the_data_they_score() {
    let r = rules(FIELDS);
    let columns = vec![
        ("job_level".to_owned(), ColumnKind::Categorical),
        ("country".to_owned(), ColumnKind::Categorical),
        ("revenue".to_owned(), ColumnKind::Categorical),
    ];
    let message = r
        .check_against(&columns, None)
        .expect_err("range on text")
        .to_string();
    assert!(
        message.contains("line 21") && message.contains("`revenue` is categorical"),
        "{message}"
    );
    let message = r
        .check_against(&columns[..1], None)
        .expect_err("unknown field")
        .to_string();
    assert!(message.contains("unknown field `country`"), "{message}");

    let events = rules(EVENTS);
    let types = vec!["pricing_view".to_owned(), "email_open".to_owned()];
    let warnings = events
        .check_against(&[], Some(&types))
        .expect("an event type the data lacks is not an error");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("counts `demo_request` events") && w.contains("line ")),
        "{warnings:?}"
    );
    assert!(matches!(
        PointsRules::load(Path::new("no/such/rules.toml")),
        Err(PointsError::Io { .. })
    ));
}

#[test]
fn written_rules_read_back_identically() {
    for text in [FIELDS, EVENTS] {
        let original = rules(text);
        let written = original.to_toml("round trip");
        let mut reread = rules(&written);
        assert_eq!(reread.rules.len(), original.rules.len());
        for (a, b) in reread.rules.iter_mut().zip(&original.rules) {
            a.line = b.line;
        }
        assert_eq!(reread.rules, original.rules);
        assert_eq!(reread.mql_threshold, original.mql_threshold);
        assert_eq!(reread.grades, original.grades);
    }
}

#[test]
fn a_learned_scorecard_ranks_unseen_leads_and_reloads() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = GeneratorParams::new()
        .leads(4_000)
        .seed(5)
        .check()
        .expect("valid")
        .generate();
    let [leads_path, events_path, _] = data.write(dir.path()).expect("write");
    let leads = LeadsTable::load(&leads_path, &LeadsOptions::default()).expect("leads");
    let events = EventLog::load(&events_path, &EventsOptions::default(), &leads).expect("events");
    let as_of = leadscore_features::AsOfPolicy::CloseDate.for_table(&leads, data.export_time);
    let closed: Vec<usize> = (0..leads.len())
        .filter(|&r| leads.outcomes[r] != Outcome::Open)
        .collect();
    let (train, test) = closed.split_at(closed.len() * 3 / 4);
    let learned = ScorecardParams::new()
        .check()
        .expect("valid")
        .fit(&leads, Some(&events), &as_of, train)
        .expect("learns");
    assert!(
        learned.rules.iter().any(|r| r.points < 0.0),
        "negative points are learned too"
    );
    let scores = learned.score_table(&leads, Some(&events), &as_of);
    let totals: Vec<f64> = test.iter().map(|&r| scores[r].total).collect();
    let won: Vec<bool> = test
        .iter()
        .map(|&r| leads.outcomes[r] == Outcome::Won)
        .collect();
    let auc = roc_auc(&totals, &won).expect("two classes");
    assert!(auc > 0.75, "scorecard AUC {auc}");

    let path = dir.path().join("learned.toml");
    std::fs::write(&path, learned.to_toml("test")).expect("write");
    let reloaded = PointsRules::load(&path).expect("a learned file is a valid rules file");
    let again = reloaded.score_table(&leads, Some(&events), &as_of);
    assert_eq!(again, scores);
}

/// An export without events whose levels differ in case and whose numeric edges are decimals —
/// the shape on which learned scorecards used to print an MQL threshold of −24, engagement cut
/// points `[-0, -0.1, -0.2]`, a rule named `rate 1.1 to 1.4000000000000001`, two rules with one
/// condition that failed to reload, and a "hot" tier covering half of the leads.
#[test]
fn a_scorecard_without_events_reads_as_a_marketer_expects() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("export.csv");
    let mut text = String::from("lead_id,job,rate,outcome\n");
    for i in 0..3_000u64 {
        let job = ["VP", "vp", "analyst", "student", "intern"][(i % 5) as usize];
        let rate = [-3.4, -1.8, 1.1, 1.4, 1.4000000000000001][((i / 5) % 5) as usize];
        let hash = i.wrapping_mul(2_654_435_761) % 1000;
        let chance = match job {
            "VP" | "vp" => 300,
            "analyst" => 120,
            _ => 40,
        } + if rate < 0.0 { 150 } else { 0 };
        let outcome = if hash < chance { "won" } else { "lost" };
        text.push_str(&format!("L{i},{job},{rate},{outcome}\n"));
    }
    std::fs::write(&path, text).expect("write");
    let options = LeadsOptions {
        text_rule: leadscore_data::TextRule::legacy(),
        ..LeadsOptions::default()
    };
    let leads = LeadsTable::load(&path, &options).expect("leads");
    let as_of = vec![NOW; leads.len()];
    let rows: Vec<usize> = (0..leads.len()).collect();
    let learned = ScorecardParams::new()
        .check()
        .expect("valid")
        .fit(&leads, None, &as_of, &rows)
        .expect("learns");

    let grades = learned.grades.as_ref().expect("grades");
    assert_eq!(
        grades.engagement, None,
        "no engagement rules, no engagement grade"
    );
    assert!(
        learned.mql_threshold >= 0.0,
        "threshold {}",
        learned.mql_threshold
    );
    assert!(
        learned.rules.iter().all(|r| r.points > 0.0),
        "fit points start at 0"
    );
    let vp_rules = learned
        .rules
        .iter()
        .filter(|r| r.name.to_lowercase() == "job is vp")
        .count();
    assert_eq!(vp_rules, 1, "one rule per condition: {:?}", learned.rules);
    for rule in &learned.rules {
        assert!(!rule.name.contains("0000"), "round edges: {}", rule.name);
    }
    let file = learned.to_toml("test");
    assert!(!file.contains("-0\n") && !file.contains("= -0,"), "{file}");
    let reloaded = PointsRules::parse(Path::new("learned.toml"), &file).expect("reloads");
    let scores = learned.score_table(&leads, None, &as_of);
    assert_eq!(reloaded.score_table(&leads, None, &as_of), scores);
    let hot = scores
        .iter()
        .filter(|s| s.tier.as_deref() == Some("hot"))
        .count();
    assert!(
        hot * 4 <= scores.len(),
        "hot covers {hot} of {}",
        scores.len()
    );
    for score in &scores {
        assert!(score.breakdown.iter().all(|h| h.points != 0.0));
        assert!(score.total.to_string() != "-0");
    }
}

/// The rules parser on files a person half-edited: any line replaced, deleted or repeated never
/// panics, every refusal names the file, and whatever is accepted scores finite totals that are
/// the sum of their breakdown.
mod properties {
    use proptest::prelude::*;

    use super::*;

    const STARTER: &str = include_str!("../../../data/starter-rules.toml");

    /// Lines a hurried edit leaves behind: unknown keys, broken syntax, stray headers.
    fn edited_line() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            Just("[[rule]]".to_owned()),
            Just("[[tier]]".to_owned()),
            Just("unknown_key = 1".to_owned()),
            Just("\"unterminated".to_owned()),
            Just("[grades".to_owned()),
            "[a-z_]{1,10} = [0-9.e-]{1,6}",
            any::<String>(),
        ]
    }

    /// Values a hurried edit puts behind an existing key: wrong types, out-of-range or
    /// non-finite numbers, empty or reversed lists, unknown names.
    fn edited_value() -> impl Strategy<Value = &'static str> {
        prop_oneof![
            Just("\"ten\""),
            Just("1e400"),
            Just("nan"),
            Just("-inf"),
            Just("-3"),
            Just("0"),
            Just("1e18"),
            Just("true"),
            Just("[]"),
            Just("\"\""),
            Just("\"neither\""),
            Just("[10, 1]"),
            Just("[5, 15, 30]"),
            Just("[\"Z9\"]"),
            Just("[1, \"a\"]"),
        ]
    }

    #[derive(Debug, Clone)]
    enum Edit {
        Replace(usize, String),
        Revalue(usize, &'static str),
        Delete(usize),
        Repeat(usize),
    }

    fn edit() -> impl Strategy<Value = Edit> {
        let lines = STARTER.lines().count();
        prop_oneof![
            1 => (0..lines, edited_line()).prop_map(|(at, line)| Edit::Replace(at, line)),
            3 => (0..lines, edited_value()).prop_map(|(at, value)| Edit::Revalue(at, value)),
            1 => (0..lines).prop_map(Edit::Delete),
            1 => (0..lines).prop_map(Edit::Repeat),
        ]
    }

    fn apply(edits: &[Edit]) -> String {
        let mut lines: Vec<String> = STARTER.lines().map(str::to_owned).collect();
        for edit in edits {
            match edit {
                Edit::Replace(at, line) if *at < lines.len() => lines[*at] = line.clone(),
                Edit::Revalue(at, value) if *at < lines.len() => {
                    if let Some((key, _)) = lines[*at].split_once(" = ") {
                        lines[*at] = format!("{key} = {value}");
                    }
                }
                Edit::Delete(at) if *at < lines.len() => {
                    lines.remove(*at);
                }
                Edit::Repeat(at) if *at < lines.len() => {
                    let line = lines[*at].clone();
                    lines.insert(*at, line);
                }
                _ => {}
            }
        }
        lines.join("\n")
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1024, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn edited_rules_never_panic_and_accepted_rules_score_sums(
            edits in proptest::collection::vec(edit(), 1..4),
        ) {
            let text = apply(&edits);
            match PointsRules::parse(Path::new("rules.toml"), &text) {
                Err(e) => prop_assert!(e.to_string().starts_with("rules file rules.toml"), "{e}"),
                Ok(rules) => {
                    let lead = attributes(&[
                        ("job_level", Value::Text("vp")),
                        ("company_size", Value::Text("201-1000")),
                        ("email_domain", Value::Text("student")),
                    ]);
                    let score = rules.score(
                        lead,
                        [("pricing_view", NOW - DAY), ("demo_request", NOW - 40 * DAY)],
                        NOW,
                    );
                    let sum: f64 = score.breakdown.iter().map(|h| h.points).sum();
                    prop_assert!(score.total.is_finite(), "{score:?}\n{text}");
                    prop_assert!((score.total - sum).abs() < 1e-6, "{score:?}");
                }
            }
        }

        #[test]
        fn any_text_is_parsed_or_refused_without_panicking(text in any::<String>()) {
            if let Err(e) = PointsRules::parse(Path::new("rules.toml"), &text) {
                prop_assert!(e.to_string().starts_with("rules file rules.toml"), "{e}");
            }
        }
    }
}

#[test]
fn conditions_read_as_words_for_the_console() {
    let rules = rules(
        r#"
mql_threshold = 10
[[rule]]
name = "Decision maker"
group = "fit"
field = "job_level"
in = ["c-level", "VP", "director"]
points = 20
[[rule]]
name = "Mid-size"
group = "fit"
field = "annual_revenue"
at_least = 10000000
below = 100000000
points = 5
[[rule]]
name = "No country"
group = "fit"
field = "country"
missing = true
points = -5
[[rule]]
name = "Pricing"
group = "engagement"
event = "pricing_view"
points = 10
max = 30
within_days = 90
half_life_days = 30
"#,
    );
    let texts: Vec<String> = rules
        .rules
        .iter()
        .map(|r| r.condition.to_string())
        .collect();
    assert_eq!(
        texts,
        [
            "job_level is c-level, vp or director",
            "annual_revenue from 10000000 to below 100000000",
            "country is missing",
            "each pricing_view event, at most 30 points, within 90 days, halving every 30 days",
        ]
    );
}
