//! The recorder's guarantee: an acknowledged score survives the process dying, exactly once.

use std::path::Path;

use leadscore_compare::live::{Decision, Policy};
use leadscore_store::{
    AnswerJson, RecordError, Recorder, ScoreRecord, StoreError, journal_path, lock_path, open,
};

fn record(lead: &str) -> ScoreRecord {
    ScoreRecord {
        lead_id: lead.to_owned(),
        scored_at: "2026-11-30T00:00:00Z".to_owned(),
        model: Some(("m".to_owned(), "v1".to_owned())),
        probability: Some(0.25),
        tier: Some("B".to_owned()),
        points: None,
        grade: None,
        mql: None,
        decisions: vec![Decision {
            experiment: "e".to_owned(),
            arm: "model".to_owned(),
            routed: true,
            policy: Policy::ModelTopShare,
        }],
        answer: Some(AnswerJson::parse(r#"{"probability":0.25}"#.to_owned()).expect("JSON")),
        shadow: None,
        signals: Vec::new(),
    }
}

/// The lead ids of the recorded scores, in row order.
fn leads_in_row_order(db: &Path) -> Vec<String> {
    open(db)
        .expect("open")
        .prepare("SELECT lead_id FROM scores ORDER BY id")
        .expect("query")
        .query_map([], |row| row.get(0))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("leads")
}

fn count(db: &Path, table: &str) -> i64 {
    open(db)
        .expect("open")
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .expect("count")
}

#[test]
fn scores_are_written_and_the_journal_emptied() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("scores.db");
    let recorder = Recorder::start(&db).expect("start");
    for i in 0..250 {
        recorder
            .record(vec![record(&format!("L{i}"))])
            .expect("recorded");
    }
    recorder.flush();
    assert_eq!(count(&db, "scores"), 250);
    assert_eq!(count(&db, "assignments"), 250);
    let status = recorder.status();
    assert_eq!(
        (status.written, status.pending, status.failing),
        (250, 0, None)
    );
    assert_eq!(
        std::fs::metadata(journal_path(&db)).expect("journal").len(),
        0
    );
    recorder.close();
    assert!(
        !journal_path(&db).exists() && !second_journal(&db).exists(),
        "an empty journal is removed on close"
    );
}

/// The journal's second file, which takes new records while the first is emptied.
fn second_journal(db: &Path) -> std::path::PathBuf {
    let mut name = journal_path(db).into_os_string();
    name.push("-2");
    name.into()
}

/// A process killed while both journal files held records: the file holding the older records
/// (here the second) is replayed first, so the rows keep the order the leads were scored in.
#[test]
fn both_journal_files_are_replayed_older_records_first() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("scores.db");
    let line = |n: u32| {
        let id = format!("18d2c0ffee-4d2-{n:016x}");
        format!(
            "{}\n",
            serde_json::json!({"id": id, "record": record(&format!("K{n}"))})
        )
    };
    std::fs::write(journal_path(&db), line(3) + &line(4)).expect("first file");
    std::fs::write(second_journal(&db), line(1) + &line(2)).expect("second file");
    let recorder = Recorder::start(&db).expect("restart");
    assert_eq!(recorder.status().written, 4);
    recorder.close();
    let leads = leads_in_row_order(&db);
    assert_eq!(leads, ["K1", "K2", "K3", "K4"]);
    assert!(!journal_path(&db).exists() && !second_journal(&db).exists());
}

/// A flood from several threads, more than one transaction takes: the writer switches to long
/// bursts and, once behind, writes on without pausing; every score lands once.
#[test]
fn a_flood_of_scores_larger_than_a_transaction_is_written_in_full() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("scores.db");
    let recorder = Recorder::start(&db).expect("start");
    std::thread::scope(|scope| {
        for thread in 0..2 {
            let recorder = &recorder;
            scope.spawn(move || {
                for call in 0..200 {
                    let records = (0..100)
                        .map(|i| record(&format!("L{thread}-{call}-{i}")))
                        .collect();
                    recorder.record(records).expect("recorded");
                }
            });
        }
    });
    recorder.flush();
    assert_eq!(count(&db, "scores"), 40_000);
    let distinct: i64 = open(&db)
        .expect("open")
        .query_row("SELECT count(DISTINCT lead_id) FROM scores", [], |r| {
            r.get(0)
        })
        .expect("count");
    assert_eq!(distinct, 40_000);
    let status = recorder.status();
    assert_eq!((status.written, status.pending), (40_000, 0));
    recorder.close();
}

/// What `kill -9` leaves: journaled records the writer never committed, and a torn last line
/// that was never acknowledged; with the row ids journals carry now and the text ids of older
/// versions.
#[test]
fn a_journal_left_by_a_killed_process_is_replayed_once() {
    let row_ids = |i: i64| serde_json::json!(1_000 + i);
    let text_ids = |i: i64| serde_json::json!(format!("crashed-{i}"));
    for id in [&row_ids as &dyn Fn(i64) -> serde_json::Value, &text_ids] {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("scores.db");
        {
            let recorder = Recorder::start(&db).expect("start");
            recorder
                .record(vec![record("committed")])
                .expect("recorded");
            recorder.close();
        }
        let journal = journal_path(&db);
        let lines: Vec<String> = (0..3)
            .map(|i| {
                serde_json::json!({"id": id(i), "record": record(&format!("K{i}"))}).to_string()
            })
            .collect();
        std::fs::write(
            &journal,
            format!("{}\n{}\n{}\n{{\"id\": \"torn", lines[0], lines[1], lines[2]),
        )
        .expect("journal");
        {
            let recorder = Recorder::start(&db).expect("restart");
            assert_eq!(recorder.status().written, 3);
            recorder.close();
        }
        assert_eq!(count(&db, "scores"), 4);
        {
            let recorder = Recorder::start(&db).expect("restart");
            assert_eq!(recorder.status().written, 0, "nothing left to replay");
            recorder.close();
        }
        // A crash between a commit and the journal being emptied: the id makes the replay skip
        // it.
        std::fs::write(&journal, format!("{}\n", lines[0])).expect("journal");
        Recorder::start(&db).expect("restart").close();
        assert_eq!(
            count(&db, "scores"),
            4,
            "a record already committed is not written twice ({})",
            lines[0]
        );
    }
}

/// Scores recorded now are identified by their row id alone, counted up from above every row:
/// a restart continues after the last one, in the order they were scored, and leaves the text
/// id of older versions empty.
#[test]
fn record_ids_are_row_ids_that_count_on_across_restarts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("scores.db");
    for run in 0..2 {
        let recorder = Recorder::start(&db).expect("start");
        for i in 0..3 {
            recorder
                .record(vec![record(&format!("R{run}-{i}"))])
                .expect("recorded");
        }
        recorder.close();
    }
    let rows: Vec<(i64, String, Option<String>)> = open(&db)
        .expect("open")
        .prepare("SELECT id, lead_id, record_id FROM scores ORDER BY id")
        .expect("query")
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows");
    let leads: Vec<&str> = rows.iter().map(|(_, lead, _)| lead.as_str()).collect();
    assert_eq!(leads, ["R0-0", "R0-1", "R0-2", "R1-0", "R1-1", "R1-2"]);
    assert!(rows.iter().all(|(_, _, text)| text.is_none()));
    assert!(rows.windows(2).all(|w| w[0].0 < w[1].0), "{rows:?}");
}

/// A file whose unique index on text ids covers every row (written by an older version) gets
/// the partial index, which still makes the replay of an older journal skip committed rows.
#[test]
fn older_files_get_the_partial_index_of_text_ids() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("scores.db");
    open(&db)
        .expect("create")
        .execute_batch(
            "DROP INDEX scores_by_record;
             CREATE UNIQUE INDEX scores_by_record ON scores (record_id);",
        )
        .expect("the older index");
    let index_sql = || -> String {
        open(&db)
            .expect("open")
            .query_row(
                "SELECT sql FROM sqlite_master WHERE name = 'scores_by_record'",
                [],
                |row| row.get(0),
            )
            .expect("index")
    };
    assert!(index_sql().contains("WHERE record_id IS NOT NULL"));
    let line = serde_json::json!({"id": "older-1", "record": record("T1")}).to_string() + "\n";
    for _ in 0..2 {
        std::fs::write(journal_path(&db), &line).expect("journal");
        Recorder::start(&db).expect("replay").close();
    }
    assert_eq!(count(&db, "scores"), 1);
}

/// A journal line whose id is neither a whole row id nor a text id (edited by hand, or written
/// by something else) is skipped like a torn line, without a panic and without costing the
/// lines around it their rows.
#[test]
fn journal_lines_with_ids_of_the_wrong_kind_are_skipped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("scores.db");
    let ids = [
        serde_json::json!(7),
        serde_json::json!(1.5),
        serde_json::json!({"row": 8}),
        serde_json::json!(u64::MAX),
        serde_json::json!(null),
        serde_json::json!("text-9"),
    ];
    let journal: String = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            serde_json::json!({"id": id, "record": record(&format!("W{i}"))}).to_string() + "\n"
        })
        .collect();
    std::fs::write(journal_path(&db), journal).expect("journal");
    let recorder = Recorder::start(&db).expect("replay");
    assert_eq!(recorder.status().written, 2);
    recorder.close();
    let leads = leads_in_row_order(&db);
    assert_eq!(leads, ["W0", "W5"]);
}

#[test]
fn a_closed_recorder_refuses_scores() {
    let dir = tempfile::tempdir().expect("temp dir");
    let recorder = Recorder::start(&dir.path().join("scores.db")).expect("start");
    recorder.close();
    assert!(recorder.record(vec![record("late")]).is_err());
}

/// A new database takes 16 KiB pages (the recorder's transactions rewrite fewer index pages); a
/// file written before keeps its 4 KiB pages, and scores are recorded into it as before.
#[test]
fn new_databases_take_large_pages_and_older_files_keep_theirs() {
    let page_size = |db: &Path| -> i64 {
        open(db)
            .expect("open")
            .query_row("PRAGMA page_size", [], |row| row.get(0))
            .expect("page size")
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let new = dir.path().join("new.db");
    let recorder = Recorder::start(&new).expect("start");
    recorder.record(vec![record("N1")]).expect("recorded");
    recorder.close();
    assert_eq!(page_size(&new), 16_384);

    let older = dir.path().join("older.db");
    rusqlite::Connection::open(&older)
        .expect("create")
        .execute_batch("PRAGMA page_size = 4096; CREATE TABLE earlier (x INTEGER);")
        .expect("an older file");
    let recorder = Recorder::start(&older).expect("start");
    recorder.record(vec![record("O1")]).expect("recorded");
    recorder.close();
    assert_eq!(page_size(&older), 4096);
    assert_eq!(count(&older, "scores"), 1);
}

/// Whatever sits where a journal file belongs is read or refused with its path, never a panic: a
/// directory stops the start and names itself; a file of garbage is skipped line by line.
#[test]
fn a_journal_file_that_is_not_a_journal_is_refused_or_skipped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("scores.db");
    std::fs::create_dir(second_journal(&db)).expect("a directory");
    let error = Recorder::start(&db).expect_err("a directory is no journal");
    let message = error.to_string();
    assert!(
        message.contains("pending-scores-2") && message.contains("not a regular file"),
        "{message}"
    );
    std::fs::remove_dir(second_journal(&db)).expect("removed");
    std::fs::write(second_journal(&db), "not json\n\u{0}\u{0}{\"id\":\n").expect("garbage");
    let recorder = Recorder::start(&db).expect("garbage lines are skipped");
    assert_eq!(recorder.status().written, 0);
    recorder.close();
    assert_eq!(count(&db, "scores"), 0);
}

/// One recorder per database: a second one is refused with both paths while the first lives,
/// and the database is free again once the first is closed; a lock file that cannot be taken
/// is named.
#[test]
fn a_second_recorder_on_the_same_database_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("scores.db");
    let first = Recorder::start(&db).expect("start");
    first.record(vec![record("L1")]).expect("recorded");
    let error = Recorder::start(&db).expect_err("the database is in use");
    assert!(
        matches!(&error, StoreError::InUse { path, lock } if path == &db && lock == &lock_path(&db)),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("scores.db.recorder-lock") && message.contains("--db"),
        "{message}"
    );
    let other = dir.path().join("other.db");
    Recorder::start(&other).expect("another database").close();
    first.close();
    let again = Recorder::start(&db).expect("free once the first is closed");
    assert!(
        matches!(first.record(vec![record("L2")]), Err(RecordError::Stopped)),
        "a closed recorder takes no more scores"
    );
    again.record(vec![record("L3")]).expect("recorded");
    again.close();
    drop(first);
    assert_eq!(count(&db, "scores"), 2);

    let unlockable = dir.path().join("unlockable.db");
    std::fs::create_dir(lock_path(&unlockable)).expect("a directory where the lock goes");
    let message = Recorder::start(&unlockable)
        .expect_err("a directory cannot be locked")
        .to_string();
    assert!(
        message.contains("cannot lock") && message.contains("unlockable.db.recorder-lock"),
        "{message}"
    );
}
