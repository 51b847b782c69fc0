//! The webhook outbox: hysteresis per webhook and lead, one event per crossing enqueued with its
//! score, and the delivery states (due, retried, delivered, dead, requeued).

use leadscore_store::{Outbox, Recorder, ScoreRecord, WebhookEvent, WebhookSignal};

/// A score of `lead` whose points are at the firing level (`firing`) or clearly below it
/// (`rearm`), for the webhook `crm`.
fn scored(lead: &str, second: u32, firing: bool, rearm: bool) -> ScoreRecord {
    ScoreRecord {
        lead_id: lead.to_owned(),
        scored_at: format!("2026-11-30T00:00:{second:02}Z"),
        model: None,
        probability: None,
        tier: None,
        points: Some(if firing {
            60.0
        } else if rearm {
            10.0
        } else {
            48.0
        }),
        grade: None,
        mql: Some(firing),
        decisions: Vec::new(),
        answer: None,
        shadow: None,
        signals: vec![WebhookSignal {
            webhook: "crm".to_owned(),
            kind: "mql".to_owned(),
            firing,
            rearm,
        }],
    }
}

#[test]
fn a_hovering_lead_fires_once_and_again_only_after_falling_clearly_below() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("scores.db");
    let recorder = Recorder::start(&db).expect("recorder");
    // Up, hovering just below, up again, clearly below, up: two crossings.
    let history = [
        (true, false),
        (false, false),
        (true, false),
        (false, false),
        (false, true),
        (true, false),
    ];
    for (second, &(firing, rearm)) in history.iter().enumerate() {
        recorder
            .record(vec![scored("L1", second as u32, firing, rearm)])
            .expect("recorded");
        recorder.flush();
    }
    // Another lead is independent of the first.
    recorder
        .record(vec![scored("L2", 9, true, false)])
        .expect("recorded");
    recorder.close();

    let outbox = Outbox::open(&db).expect("outbox");
    let due = outbox.due(i64::MAX, 100).expect("due");
    let events: Vec<WebhookEvent> = due
        .iter()
        .map(|d| serde_json::from_str(&d.body).expect("event JSON"))
        .collect();
    let fired: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e.lead_id.as_str(), e.occurred_at.as_str()))
        .collect();
    assert_eq!(
        fired,
        [
            ("L1", "2026-11-30T00:00:00Z"),
            ("L1", "2026-11-30T00:00:05Z"),
            ("L2", "2026-11-30T00:00:09Z")
        ]
    );
    assert!(events.iter().all(|e| e.webhook == "crm" && e.kind == "mql"));
    assert_eq!(events[0].points, Some(60.0));
    let mut keys: Vec<&str> = due.iter().map(|d| d.event_id.as_str()).collect();
    keys.dedup();
    assert_eq!(keys.len(), 3, "every crossing has its own idempotency key");
    assert!(
        due.iter()
            .zip(&events)
            .all(|(d, e)| d.event_id == e.event_id)
    );
}

#[test]
fn deliveries_are_retried_then_delivered_or_dead_lettered_and_requeued() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("scores.db");
    let recorder = Recorder::start(&db).expect("recorder");
    recorder
        .record(vec![
            scored("L1", 0, true, false),
            scored("L2", 1, true, false),
        ])
        .expect("recorded");
    recorder.close();

    let outbox = Outbox::open(&db).expect("outbox");
    let now = leadscore_data::time::now_millis();
    let due = outbox.due(now, 10).expect("due");
    assert_eq!(due.len(), 2);
    outbox
        .failed(&due[0], "the receiver answered 500", Some(now + 60_000))
        .expect("retry later");
    outbox
        .delivered(&due[1], "2026-11-30T00:00:02Z")
        .expect("delivered");
    assert!(
        outbox.due(now, 10).expect("due").is_empty(),
        "the retry waits"
    );
    assert_eq!(outbox.next_due_ms().expect("next"), Some(now + 60_000));
    let retried = outbox.due(now + 60_000, 10).expect("due");
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0].attempts, 1);
    assert_eq!(
        retried[0].body, due[0].body,
        "every attempt sends the same bytes"
    );
    outbox
        .failed(&retried[0], "connection refused", None)
        .expect("dead");

    let status = outbox.status().expect("status");
    assert_eq!((status.pending, status.delivered, status.dead), (0, 1, 1));
    assert_eq!(status.dead_letters[0].lead_id, "L1");
    assert_eq!(status.dead_letters[0].attempts, 2);
    assert_eq!(
        status.dead_letters[0].last_error.as_deref(),
        Some("connection refused")
    );
    assert_eq!(outbox.requeue_dead(now).expect("requeued"), 1);
    let again = outbox.due(now, 10).expect("due");
    assert_eq!(again.len(), 1);
    assert_eq!(
        again[0].event_id, due[0].event_id,
        "the key survives a requeue"
    );
}
