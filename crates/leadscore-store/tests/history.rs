//! The console's queries on a database written by the recorder: volume per day, the tier and
//! grade mix of each lead's latest score, a lead's history, and routed conversion per week.

use leadscore_compare::live::{Decision, Policy};
use leadscore_store::{
    AnswerJson, Cancellation, OutcomeRecord, OutcomeValue, Recorder, ScoreRecord, daily_volume,
    experiment_weeks, lead_history, record_outcomes, score_mix,
};

fn record(lead: &str, at: &str, tier: &str, grade: &str, mql: bool, arm: &str) -> ScoreRecord {
    ScoreRecord {
        lead_id: lead.to_owned(),
        scored_at: at.to_owned(),
        model: Some(("m".to_owned(), "v1".to_owned())),
        probability: Some(0.3),
        tier: Some(tier.to_owned()),
        points: Some(if mql { 60.0 } else { 10.0 }),
        grade: Some(grade.to_owned()),
        mql: Some(mql),
        decisions: vec![Decision {
            experiment: "ab".to_owned(),
            arm: arm.to_owned(),
            routed: mql,
            policy: Policy::PointsThreshold,
        }],
        answer: Some(
            AnswerJson::parse(format!(r#"{{"lead_id":"{lead}","tier":"{tier}"}}"#)).expect("JSON"),
        ),
        shadow: None,
        signals: Vec::new(),
    }
}

#[test]
fn the_console_reads_back_what_was_recorded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("scores.db");
    let recorder = Recorder::start(&db).expect("start");
    recorder
        .record(vec![
            // Monday 2026-11-23 and Tuesday 2026-11-24: one week; Monday 2026-11-30 the next.
            record("L1", "2026-11-23T09:00:00Z", "C", "B2", false, "points"),
            record("L1", "2026-11-24T09:00:00Z", "A", "A1", true, "points"),
            record("L2", "2026-11-24T10:00:00Z", "B", "A1", true, "points"),
            record("L3", "2026-11-30T10:00:00Z", "A", "B2", true, "model"),
            record("L4", "2026-11-01T10:00:00Z", "D", "C3", false, "model"),
        ])
        .expect("record");
    recorder.close();
    let outcome = |lead: &str, won: bool| OutcomeRecord {
        lead_id: lead.to_owned(),
        outcome: if won {
            OutcomeValue::Won
        } else {
            OutcomeValue::Lost
        },
        closed_at: Some("2026-11-29".to_owned()),
        amount: None,
    };
    record_outcomes(&db, &[outcome("L1", true), outcome("L2", false)]).expect("outcomes");
    let none = Cancellation::default();

    let days = daily_volume(&db, "2026-11-20", &none).expect("volume");
    let days: Vec<_> = days
        .iter()
        .map(|d| (d.day.as_str(), d.scores, d.leads, d.mql))
        .collect();
    assert_eq!(
        days,
        [
            ("2026-11-23", 1, 1, 0),
            ("2026-11-24", 2, 2, 2),
            ("2026-11-30", 1, 1, 1)
        ]
    );

    // L1's latest score counts once; L4 is older than the period.
    let mix = score_mix(&db, "2026-11-20", &none).expect("mix");
    assert_eq!(mix.leads, 3);
    assert_eq!(mix.tiers, [("A".to_owned(), 2), ("B".to_owned(), 1)]);
    assert_eq!(mix.grades, [("A1".to_owned(), 2), ("B2".to_owned(), 1)]);
    assert_eq!((mix.with_points, mix.mql), (3, 3));

    let history = lead_history(&db, "L1", 10, &none).expect("history");
    assert_eq!(history.total_scores, 2);
    assert_eq!(history.scores[0].scored_at, "2026-11-24T09:00:00Z");
    assert_eq!(
        history.scores[0].answer.as_ref().expect("answer")["tier"],
        "A"
    );
    assert_eq!(history.assignments.len(), 1);
    assert_eq!(history.assignments[0].arm, "points");
    let outcome = history.outcome.expect("outcome");
    assert!(outcome.won);
    assert_eq!(outcome.closed_at.as_deref(), Some("2026-11-29"));
    let unknown = lead_history(&db, "nobody", 10, &none).expect("history");
    assert_eq!(unknown, leadscore_store::LeadHistory::default());

    // Assignment happens at a lead's first score: L1 in the week of 2026-11-23, unrouted then.
    let weeks = experiment_weeks(&db, "ab", &none).expect("weeks");
    let weeks: Vec<_> = weeks
        .iter()
        .map(|w| {
            (
                w.arm.as_str(),
                w.week.as_str(),
                w.routed,
                w.routed_closed,
                w.routed_won,
            )
        })
        .collect();
    assert_eq!(
        weeks,
        [
            ("points", "2026-11-23", 1, 1, 0),
            ("model", "2026-11-30", 1, 0, 0)
        ]
    );
}

#[test]
fn a_cancelled_query_stops_and_a_missing_database_is_not_created() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("missing.db");
    let none = Cancellation::default();
    assert!(daily_volume(&missing, "2026-01-01", &none).is_err());
    assert!(!missing.exists());
    let db = dir.path().join("scores.db");
    Recorder::start(&db).expect("start").close();
    let cancelled = Cancellation::default();
    cancelled.cancel();
    assert!(matches!(
        score_mix(&db, "2026-01-01", &cancelled),
        Err(leadscore_store::StoreError::Cancelled)
    ));
}

#[test]
fn a_journal_line_written_before_answers_were_kept_still_reads() {
    let line = r#"{"lead_id":"L1","scored_at":"2026-01-01T00:00:00Z","model":null,"probability":null,"tier":null,"points":1.0,"grade":null,"mql":false,"decisions":[]}"#;
    let record: ScoreRecord = serde_json::from_str(line).expect("old record");
    assert_eq!(record.answer, None);
}
