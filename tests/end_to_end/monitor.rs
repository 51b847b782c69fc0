//! `leadscore monitor` on twelve weeks of served history: steady, it says ok and exits 0; with a
//! drift injected half-way (other leads arrive and the score no longer predicts who buys), it
//! alerts on both score drift and the backtest and exits 3. The history goes through the real
//! scorer, recorder and SQLite file; only the timestamps are set in the past.

use std::path::Path;

use leadscore_artifact::ModelArtifact;
use leadscore_data::{EventLog, EventsOptions, LeadsOptions, LeadsTable, Outcome, time};
use leadscore_score::Scorer;
use leadscore_store::{OutcomeRecord, OutcomeValue, Recorder, ScoreRecord, record_outcomes};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::common::{json, leadscore, repo_file};

const WEEKS: i64 = 12;
const LEADS_PER_WEEK: usize = 300;
const DAYS_TO_CLOSE: i64 = 10;
/// The golden logistic model's name and version (its file says so).
const CHAMPION: (&str, &str) = ("golden-logistic", "20261123-103245");
/// The golden boosted model's version.
const CHALLENGER_VERSION: &str = "20261123-103246";

/// Every sample lead scored by the champion (and the challenger in shadow), as
/// (id, probability, tier, challenger probability, won).
fn scored_sample() -> Vec<(String, f64, String, f64, Option<bool>)> {
    let champion =
        ModelArtifact::load(&repo_file("tests/fixtures/golden-logistic.json")).expect("model");
    let challenger =
        ModelArtifact::load(&repo_file("tests/fixtures/golden-gbdt.json")).expect("model");
    let leads = LeadsTable::load(
        &repo_file("data/sample/leads.csv"),
        &champion.leads_options(&LeadsOptions::default()),
    )
    .expect("leads");
    let events = EventLog::load(
        &repo_file("data/sample/events.csv"),
        &EventsOptions::default(),
        &leads,
    )
    .expect("events");
    let now = time::now();
    let scores = |model: ModelArtifact| {
        Scorer::new(Some(model), None, 0)
            .expect("scorer")
            .score_table(&leads, Some(&events), now)
            .expect("scores")
    };
    let (champion, challenger) = (scores(champion), scores(challenger));
    champion
        .into_iter()
        .zip(challenger)
        .enumerate()
        .map(|(row, (score, shadow))| {
            let prediction = score.prediction.expect("model score");
            let won = match leads.outcomes[row] {
                Outcome::Won => Some(true),
                Outcome::Lost => Some(false),
                Outcome::Open => None,
            };
            let shadow = shadow.prediction.expect("model score").probability;
            (
                score.lead_id,
                prediction.probability,
                prediction.tier,
                shadow,
                won,
            )
        })
        .collect()
}

/// Records `WEEKS` weeks of scores ending yesterday and the outcomes of the closed leads. From
/// week `drift_from` on, leads come mostly from the lower half of the score range and their
/// outcomes are coin flips at the usual conversion rate.
fn write_history(db: &Path, drift_from: Option<i64>, seed: u64) {
    let sample = scored_sample();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut by_score: Vec<usize> = (0..sample.len()).collect();
    by_score.sort_by(|&a, &b| sample[a].1.total_cmp(&sample[b].1));
    let lower_half = &by_score[..by_score.len() / 2];
    let closed: Vec<bool> = sample.iter().filter_map(|s| s.4).collect();
    let base_rate = closed.iter().filter(|&&w| w).count() as f64 / closed.len() as f64;

    let recorder = Recorder::start(db).expect("recorder");
    let mut outcomes = Vec::new();
    let start = time::now() - WEEKS * 7 * time::SECONDS_PER_DAY;
    for week in 0..WEEKS {
        let drifted = drift_from.is_some_and(|from| week >= from);
        let mut records = Vec::new();
        for k in 0..LEADS_PER_WEEK {
            let index = if drifted && rng.random::<f64>() < 0.8 {
                lower_half[rng.random_range(0..lower_half.len())]
            } else {
                rng.random_range(0..sample.len())
            };
            let (id, probability, tier, shadow, won) = &sample[index];
            let scored_at = start
                + week * 7 * time::SECONDS_PER_DAY
                + rng.random_range(0..7 * time::SECONDS_PER_DAY);
            // Each draw is its own lead: the same sample lead may come twice.
            let lead_id = format!("W{week:02}-{k:04}-{id}");
            records.push(ScoreRecord {
                lead_id: lead_id.clone(),
                scored_at: time::format_timestamp(scored_at),
                model: Some((CHAMPION.0.to_owned(), CHAMPION.1.to_owned())),
                probability: Some(*probability),
                tier: Some(tier.clone()),
                points: None,
                grade: None,
                mql: None,
                decisions: Vec::new(),
                answer: None,
                shadow: Some((CHALLENGER_VERSION.to_owned(), *shadow)),
                signals: Vec::new(),
            });
            let Some(won) = won else { continue };
            let won = if drifted {
                rng.random::<f64>() < base_rate
            } else {
                *won
            };
            outcomes.push(OutcomeRecord {
                lead_id,
                outcome: if won {
                    OutcomeValue::Won
                } else {
                    OutcomeValue::Lost
                },
                closed_at: Some(time::format_date(
                    scored_at + DAYS_TO_CLOSE * time::SECONDS_PER_DAY,
                )),
                amount: None,
            });
        }
        records.shuffle(&mut rng);
        recorder.record(records).expect("recorded");
    }
    recorder.close();
    record_outcomes(db, &outcomes).expect("outcomes");
}

/// A registry folder serving the logistic golden model with the boosted one in shadow.
fn registry(dir: &Path) -> std::path::PathBuf {
    let folder = dir.join("models/golden-logistic");
    std::fs::create_dir_all(&folder).expect("folder");
    for (kind, version) in [("logistic", CHAMPION.1), ("gbdt", CHALLENGER_VERSION)] {
        std::fs::copy(
            repo_file(&format!("tests/fixtures/golden-{kind}.json")),
            folder.join(format!("{version}.json")),
        )
        .expect("copy");
    }
    std::fs::write(
        folder.join("registry.json"),
        format!(
            r#"{{"format":"leadscore-registry","champion":"{}","challenger":"{CHALLENGER_VERSION}","lineage":["{}"],"log":[]}}"#,
            CHAMPION.1, CHAMPION.1
        ),
    )
    .expect("pointer");
    folder
}

fn monitor(dir: &Path, db: &Path, model: &Path) -> (Option<i32>, serde_json::Value) {
    let output = leadscore(
        dir,
        &[
            "monitor",
            "--db",
            db.to_str().expect("utf-8"),
            "--model",
            model.to_str().expect("utf-8"),
            "--json",
        ],
    );
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    (output.status.code(), json(&stdout))
}

#[test]
fn a_steady_history_is_ok_and_a_drift_half_way_alerts() {
    let work = tempfile::tempdir().expect("tempdir");
    let model = repo_file("tests/fixtures/golden-logistic.json");

    let steady = work.path().join("steady.db");
    write_history(&steady, None, 1);
    let (code, report) = monitor(work.path(), &steady, &model);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(report["status"], "ok", "{report:#}");
    let drift = report["drift"].as_array().expect("weeks");
    assert!(drift.len() >= WEEKS as usize - 1, "{drift:?}");
    for week in drift.iter().filter(|w| w["scores"].as_u64() >= Some(100)) {
        assert!(
            week["psi"].as_f64() < Some(0.1),
            "steady week drifted: {week}"
        );
    }
    for month in report["backtest"].as_array().expect("months") {
        if month["status"] != "too_few" {
            assert_eq!(month["status"], "ok", "{month}");
        }
    }

    let drifted = work.path().join("drifted.db");
    write_history(&drifted, Some(WEEKS / 2), 2);
    let (code, report) = monitor(work.path(), &drifted, &model);
    assert_eq!(code, Some(3), "an alert fails the cron job: {report:#}");
    assert_eq!(report["status"], "alert", "{report:#}");
    let weeks = report["drift"].as_array().expect("weeks");
    let before = &weeks[..weeks.len() / 2 - 1];
    let after = &weeks[weeks.len() / 2 + 1..];
    assert!(
        before.iter().all(|w| w["psi"].as_f64() < Some(0.1)),
        "{weeks:?}"
    );
    assert!(
        after.iter().all(|w| w["psi"].as_f64() > Some(0.25)),
        "{weeks:?}"
    );
    let months = report["backtest"].as_array().expect("months");
    let last = months
        .iter()
        .rev()
        .find(|m| m["status"] != "too_few")
        .expect("a judged month");
    assert_eq!(last["status"], "alert", "{last}");
    let high = last["auc_interval"][1].as_f64().expect("interval");
    assert!(
        high < report["validation_auc"].as_f64().expect("auc") - 0.05,
        "{last}"
    );
    let reasons = report["reasons"].to_string();
    assert!(reasons.contains("scores drifted"), "{reasons}");
    assert!(reasons.contains("has weakened"), "{reasons}");

    // The human table says the same, and `--fail-on warn` is stricter than the default.
    let text = leadscore(
        work.path(),
        &[
            "monitor",
            "--db",
            steady.to_str().expect("utf-8"),
            "--model",
            model.to_str().expect("utf-8"),
        ],
    );
    let printed = String::from_utf8(text.stdout).expect("utf-8");
    assert!(printed.contains("verdict: ok"), "{printed}");

    // Served from a registry folder, the challenger in shadow is compared on the same leads.
    let folder = registry(work.path());
    let (_, report) = monitor(work.path(), &steady, &folder);
    let shadow = &report["shadow"];
    assert_eq!(shadow["challenger"], CHALLENGER_VERSION, "{shadow}");
    assert!(shadow["leads"].as_u64() > Some(1_000), "{shadow}");
    let difference = shadow["difference"].as_f64().expect("difference");
    let (low, high) = (
        shadow["interval"][0].as_f64().expect("low"),
        shadow["interval"][1].as_f64().expect("high"),
    );
    assert!(low <= difference && difference <= high, "{shadow}");
}

#[test]
fn monitor_refusals_name_what_to_fix() {
    let work = tempfile::tempdir().expect("tempdir");
    let model = repo_file("tests/fixtures/golden-logistic.json");
    let model = model.to_str().expect("utf-8");
    let output = leadscore(
        work.path(),
        &["monitor", "--db", "absent.db", "--model", model],
    );
    assert_eq!(output.status.code(), Some(1));
    let error = String::from_utf8(output.stderr).expect("utf-8");
    assert!(error.contains("absent.db"), "{error}");
    let output = leadscore(
        work.path(),
        &[
            "monitor",
            "--db",
            "absent.db",
            "--model",
            model,
            "--fail-on",
            "sometimes",
        ],
    );
    let error = String::from_utf8(output.stderr).expect("utf-8");
    assert!(error.contains("--fail-on sometimes"), "{error}");
    let output = leadscore(
        work.path(),
        &[
            "monitor",
            "--db",
            "absent.db",
            "--model",
            model,
            "--psi-warn",
            "0.5",
            "--psi-alert",
            "0.2",
        ],
    );
    let error = String::from_utf8(output.stderr).expect("utf-8");
    assert!(error.contains("psi_alert"), "{error}");
}
