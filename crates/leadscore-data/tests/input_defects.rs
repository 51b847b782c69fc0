//! Every defect of an input file gives an error naming the file, the column and the line.

use std::path::{Path, PathBuf};

use leadscore_data::{
    ColumnKind, DataError, EventLog, EventsOptions, LeadsOptions, LeadsTable, MissingTokens,
    Outcome, Position, Severity, Value,
};

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).expect("write fixture");
        path
    }
}

fn load(path: &Path) -> Result<LeadsTable, DataError> {
    LeadsTable::load(path, &LeadsOptions::default())
}

fn write_parquet(path: &Path, mut frame: polars::prelude::DataFrame) {
    use polars::prelude::ParquetWriter;
    let file = std::fs::File::create(path).expect("create");
    ParquetWriter::new(file)
        .finish(&mut frame)
        .expect("write parquet");
}

const GOOD: &str = "lead_id,created_at,closed_at,outcome,industry,employees\n\
    a,2024-01-01,2024-02-01,won,software,120\n\
    b,2024-01-03,2024-02-10,lost,retail,\n\
    c,2024-01-05,,open,Select,40\n";

#[test]
fn a_good_file_loads_with_types_outcomes_and_dates() {
    let f = Fixture::new();
    let leads = load(&f.file("leads.csv", GOOD)).expect("loads");
    assert_eq!(leads.ids, ["a", "b", "c"]);
    assert_eq!(leads.outcomes, [Outcome::Won, Outcome::Lost, Outcome::Open]);
    assert_eq!(
        leads.column("industry").map(|c| c.kind()),
        Some(ColumnKind::Categorical)
    );
    assert_eq!(
        leads.column("employees").map(|c| c.kind()),
        Some(ColumnKind::Numeric)
    );
    assert_eq!(
        leads.column("industry").map(|c| c.missing_count()),
        Some(1),
        "Select is missing"
    );
    assert_eq!(
        leads.column("employees").map(|c| c.missing_count()),
        Some(1)
    );
    assert_eq!(leads.closed_at.as_ref().map(|c| c[2]), Some(None));
}

#[test]
fn an_empty_file_is_an_error() {
    let f = Fixture::new();
    assert!(matches!(
        load(&f.file("empty.csv", "")),
        Err(DataError::EmptyFile { .. })
    ));
    assert!(matches!(
        load(&f.file("blank.csv", "\n\n")),
        Err(DataError::EmptyFile { .. })
    ));
}

#[test]
fn a_header_without_rows_is_an_error() {
    let f = Fixture::new();
    let error = load(&f.file("header.csv", "lead_id,outcome\n")).expect_err("no rows");
    assert!(matches!(error, DataError::NoRows { .. }), "{error}");
}

#[test]
fn a_missing_outcome_column_names_the_column_and_suggests_a_fix() {
    let f = Fixture::new();
    let error =
        load(&f.file("leads.csv", "lead_id,Outcome\na,won\nb,lost\n")).expect_err("no outcome");
    let message = error.to_string();
    assert!(message.contains("no outcome column `outcome`"), "{message}");
    assert!(message.contains("did you mean `Outcome`"), "{message}");
}

#[test]
fn a_missing_id_column_is_an_error_when_asked_for_and_row_numbers_otherwise() {
    let f = Fixture::new();
    let path = f.file("leads.csv", "outcome,x\nwon,1\nlost,2\n");
    let options = LeadsOptions {
        id_column: Some("customer_id".to_owned()),
        ..LeadsOptions::default()
    };
    let error = LeadsTable::load(&path, &options).expect_err("no id");
    assert!(
        error.to_string().contains("no id column `customer_id`"),
        "{error}"
    );
    let leads = load(&path).expect("row numbers");
    assert_eq!(leads.ids, ["1", "2"]);
    assert_eq!(leads.id_column, None);
}

#[test]
fn duplicate_lead_ids_name_both_lines() {
    let f = Fixture::new();
    let error = load(&f.file("leads.csv", "lead_id,outcome\na,won\nb,lost\na,lost\n"))
        .expect_err("duplicate");
    assert_eq!(
        error.to_string(),
        format!(
            "{}, line 4: lead id `a` in column `lead_id` already appeared at {}, line 2",
            f.dir.path().join("leads.csv").display(),
            f.dir.path().join("leads.csv").display()
        )
    );
}

#[test]
fn an_empty_lead_id_is_an_error() {
    let f = Fixture::new();
    let error =
        load(&f.file("leads.csv", "lead_id,outcome\na,won\n,lost\n")).expect_err("empty id");
    assert!(
        matches!(error, DataError::MissingId { ref at, .. } if at.position == Position::Line(3)),
        "{error}"
    );
}

#[test]
fn an_outcome_that_is_neither_positive_nor_negative_is_an_error() {
    let f = Fixture::new();
    let path = f.file("leads.csv", "lead_id,outcome\na,won\nb,lost\nc,maybe\n");
    let options = LeadsOptions {
        positive: vec!["won".to_owned()],
        negative: vec!["lost".to_owned()],
        ..LeadsOptions::default()
    };
    let error = LeadsTable::load(&path, &options).expect_err("unknown outcome");
    let message = error.to_string();
    assert!(
        message.contains("line 4") && message.contains("`maybe`"),
        "{message}"
    );
    // Without --negative, three values are ambiguous: the error lists them.
    let error = load(&path).expect_err("ambiguous");
    assert!(error.to_string().contains("`maybe` (1)"), "{error}");
}

#[test]
fn outcome_values_match_case_insensitively_and_can_be_numbers() {
    let f = Fixture::new();
    let leads = load(&f.file("leads.csv", "lead_id,outcome\na,1\nb,0\nc,\n")).expect("1/0 outcome");
    assert_eq!(leads.outcomes, [Outcome::Won, Outcome::Lost, Outcome::Open]);
    let path = f.file(
        "converted.csv",
        "lead_id,outcome\na,Converted\nb,Not Converted\n",
    );
    let options = LeadsOptions {
        positive: vec!["converted".to_owned()],
        ..LeadsOptions::default()
    };
    let leads = LeadsTable::load(&path, &options).expect("named values");
    assert_eq!(leads.outcomes, [Outcome::Won, Outcome::Lost]);
}

#[test]
fn a_value_listed_as_positive_and_negative_is_an_error() {
    let f = Fixture::new();
    let options = LeadsOptions {
        positive: vec!["won".to_owned()],
        negative: vec!["WON".to_owned()],
        ..LeadsOptions::default()
    };
    let error = LeadsTable::load(&f.file("leads.csv", GOOD), &options).expect_err("conflict");
    assert!(
        matches!(error, DataError::ConflictingOutcomeValue { .. }),
        "{error}"
    );
}

#[test]
fn only_one_class_is_reported_before_training() {
    let f = Fixture::new();
    let leads = load(&f.file(
        "leads.csv",
        "lead_id,outcome,x\na,won,1\nb,won,2\nc,open,3\n",
    ))
    .expect("loads");
    let error = leads.require_both_classes().expect_err("single class");
    assert!(error.to_string().contains("2 won, 0 lost"), "{error}");
}

#[test]
fn an_unparseable_date_names_line_column_and_value() {
    let f = Fixture::new();
    let path = f.file(
        "leads.csv",
        "lead_id,created_at,outcome\na,2024-01-01,won\nb,31/01/2024,lost\n",
    );
    let error = load(&path).expect_err("bad date");
    let message = error.to_string();
    assert!(
        message.contains("line 3")
            && message.contains("`31/01/2024`")
            && message.contains("created_at"),
        "{message}"
    );
}

#[test]
fn a_wrong_separator_is_detected() {
    let f = Fixture::new();
    let path = f.file("leads.csv", "lead_id;outcome;x\na;won;1\nb;lost;2\n");
    let options = LeadsOptions {
        separator: Some(b','),
        ..LeadsOptions::default()
    };
    let error = LeadsTable::load(&path, &options).expect_err("wrong separator");
    assert!(
        matches!(error, DataError::WrongSeparator { guess: ';', .. }),
        "{error}"
    );
    let leads = load(&path).expect("sniffed");
    assert_eq!(leads.len(), 2);
}

#[test]
fn a_row_with_too_few_or_too_many_fields_names_its_line() {
    let f = Fixture::new();
    let error =
        load(&f.file("short.csv", "lead_id,outcome,x\na,won,1\nb,lost\n")).expect_err("short row");
    assert!(
        matches!(error, DataError::RaggedRow { ref at, expected: 3, found: 2 } if at.position == Position::Line(3)),
        "{error}"
    );
    let error = load(&f.file("long.csv", "lead_id,outcome,x\na,won,1,9\n")).expect_err("long row");
    assert!(
        matches!(error, DataError::RaggedRow { found: 4, .. }),
        "{error}"
    );
}

#[test]
fn a_leads_file_of_many_read_groups_keeps_every_row_and_reports_its_first_defect() {
    // About 13 MiB: more than one group of blocks, so rows are encoded while later ones are
    // parsed, and the distinct ids and times outgrow the room sized from the first group.
    let f = Fixture::new();
    let rows = 260_000;
    let mut contents =
        String::from("lead_id,created_at,outcome,industry,annual_revenue,note_of_a_sales_rep\n");
    for i in 0..rows {
        contents.push_str(&format!(
            "lead-{i:07},2024-{:02}-{:02}T{:02}:{:02}:{:02}Z,{},{},{},a fairly long free-text note\n",
            1 + i % 12,
            1 + i % 28,
            i % 24,
            i % 60,
            (i / 60) % 60,
            ["won", "lost", "open"][i % 3],
            ["software", "retail", "media"][i % 3],
            1_000 * (i % 977),
        ));
    }
    assert!(contents.len() > 9 << 20, "{} bytes", contents.len());
    let leads = load(&f.file("leads.csv", &contents)).expect("loads");
    assert_eq!(leads.len(), rows);
    assert_eq!(leads.ids[rows - 1], format!("lead-{:07}", rows - 1));
    assert_eq!(
        leads.location(rows - 1).position,
        Position::Line(rows as u64 + 1)
    );
    let revenue = leads.column("annual_revenue").expect("revenue column");
    assert_eq!(revenue.kind(), ColumnKind::Numeric);
    assert!(
        matches!(revenue.value(rows - 1), Value::Number(v) if v == (1_000 * ((rows - 1) % 977)) as f64)
    );

    // Two defects in later groups: the earlier one is reported, with its line.
    let mut lines: Vec<String> = contents.lines().map(str::to_owned).collect();
    lines[200_001] = "short,row".to_owned();
    lines[250_001] = "too,many,fields,in,this,row,here".to_owned();
    let message = load(&f.file("leads.csv", &(lines.join("\n") + "\n")))
        .expect_err("a short row")
        .to_string();
    assert!(
        message.contains("line 200002") && message.contains("2 fields"),
        "{message}"
    );
}

#[test]
fn infinity_in_a_numeric_column_is_an_error_and_nan_is_missing() {
    let f = Fixture::new();
    let error =
        load(&f.file("inf.csv", "lead_id,outcome,x\na,won,1\nb,lost,inf\n")).expect_err("infinite");
    assert!(
        matches!(error, DataError::NotFinite { ref column, .. } if column == "x"),
        "{error}"
    );
    let leads = load(&f.file(
        "nan.csv",
        "lead_id,outcome,x\na,won,1\nb,lost,NaN\nc,lost,3\n",
    ))
    .expect("NaN is missing");
    assert_eq!(leads.column("x").map(|c| c.missing_count()), Some(1));
}

#[test]
fn type_overrides_are_checked() {
    let f = Fixture::new();
    let path = f.file(
        "leads.csv",
        "lead_id,outcome,zip,score\na,won,01234,1\nb,lost,98765,abc\nc,lost,11111,2\n",
    );
    let forced = LeadsOptions {
        categorical: vec!["zip".to_owned()],
        numeric: vec!["score".to_owned()],
        ..LeadsOptions::default()
    };
    let error = LeadsTable::load(&path, &forced).expect_err("text in a numeric column");
    assert!(
        error.to_string().contains("line 3") && error.to_string().contains("`abc`"),
        "{error}"
    );
    let only_zip = LeadsOptions {
        categorical: vec!["zip".to_owned()],
        ..LeadsOptions::default()
    };
    let leads = LeadsTable::load(&path, &only_zip).expect("zip as text");
    assert_eq!(
        leads.column("zip").map(|c| c.kind()),
        Some(ColumnKind::Categorical)
    );
    let both = LeadsOptions {
        categorical: vec!["zip".to_owned()],
        numeric: vec!["zip".to_owned()],
        ..LeadsOptions::default()
    };
    assert!(matches!(
        LeadsTable::load(&path, &both),
        Err(DataError::ConflictingOverride { .. })
    ));
    let typo = LeadsOptions {
        exclude: vec!["scroe".to_owned()],
        ..LeadsOptions::default()
    };
    let error = LeadsTable::load(&path, &typo).expect_err("unknown column");
    assert!(
        error.to_string().contains("did you mean `score`"),
        "{error}"
    );
}

#[test]
fn a_mostly_numeric_column_is_categorical_with_a_warning() {
    let f = Fixture::new();
    let mut text = String::from("lead_id,outcome,revenue\n");
    for i in 0..20 {
        text.push_str(&format!(
            "l{i},{},{}\n",
            if i % 2 == 0 { "won" } else { "lost" },
            if i == 7 {
                "1.2M".to_owned()
            } else {
                (i * 1000).to_string()
            }
        ));
    }
    let leads = load(&f.file("leads.csv", &text)).expect("loads");
    assert_eq!(
        leads.column("revenue").map(|c| c.kind()),
        Some(ColumnKind::Categorical)
    );
    assert!(leads.notices.iter().any(|n| n.severity == Severity::Warning
        && n.message.contains("`1.2M`")
        && n.message.contains("line 9")));
}

#[test]
fn constant_and_empty_columns_are_excluded_with_a_reason() {
    let f = Fixture::new();
    let leads = load(&f.file(
        "leads.csv",
        "lead_id,outcome,same,blank,x\na,won,k,,1\nb,lost,k,,2\n",
    ))
    .expect("loads");
    let reasons: Vec<&str> = leads.excluded.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(reasons, ["same", "blank"]);
    assert_eq!(leads.columns.len(), 1);
}

#[test]
fn a_utf8_bom_and_quoted_fields_are_read() {
    let f = Fixture::new();
    let leads = load(&f.file(
        "bom.csv",
        "\u{feff}lead_id,outcome,note\n\"a\",won,\"x, y\"\nb,lost,\"line\nbreak\"\n",
    ))
    .expect("loads");
    assert_eq!(leads.ids, ["a", "b"]);
}

#[test]
fn parquet_files_load_like_csv() {
    use polars::prelude::*;
    let f = Fixture::new();
    let path = f.dir.path().join("leads.parquet");
    write_parquet(
        &path,
        df!(
            "lead_id" => [1i64, 2, 3],
            "outcome" => ["won", "lost", "lost"],
            "employees" => [Some(10.0f64), None, Some(3.0)],
            "industry" => ["software", "retail", "software"],
        )
        .expect("frame"),
    );
    let leads = load(&path).expect("parquet loads");
    assert_eq!(leads.ids, ["1", "2", "3"]);
    assert_eq!(
        leads.column("employees").map(|c| c.missing_count()),
        Some(1)
    );
    assert_eq!(
        leads.column("industry").map(|c| c.kind()),
        Some(ColumnKind::Categorical)
    );
    let truncated = f.file("broken.parquet", "PAR1 not really");
    assert!(matches!(load(&truncated), Err(DataError::Parquet { .. })));
}

mod events {
    use super::*;

    fn leads(f: &Fixture) -> LeadsTable {
        load(&f.file("leads.csv", GOOD)).expect("leads")
    }

    #[test]
    fn events_join_sort_and_count_unknown_leads_and_duplicates() {
        let f = Fixture::new();
        let leads = leads(&f);
        let path = f.file(
            "events.csv",
            "lead_id,timestamp,event_type,value\n\
             b,2024-01-05T10:00:00Z,page_view,30\n\
             a,2024-01-02T10:00:00Z,pricing_view,\n\
             ghost,2024-01-02T10:00:00Z,page_view,\n\
             a,2024-01-01T09:00:00Z,page_view,12\n\
             a,2024-01-02T10:00:00Z,pricing_view,\n",
        );
        let log = EventLog::load(&path, &EventsOptions::default(), &leads).expect("events load");
        assert_eq!(log.stats.rows, 5);
        assert_eq!(log.stats.unknown_lead_rows, 1);
        assert_eq!(log.stats.unknown_lead_examples, ["ghost"]);
        assert_eq!(log.stats.duplicate_rows, 1);
        assert_eq!(log.types, ["page_view", "pricing_view"]);
        let a = log.for_lead(0);
        assert_eq!(a.len(), 3);
        assert!(a.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));
        assert_eq!(a[0].value, 12.0);
        assert!(log.for_lead(2).is_empty());
    }

    #[test]
    fn bad_event_rows_name_their_line() {
        let f = Fixture::new();
        let leads = leads(&f);
        let cases = [
            (
                "lead_id,timestamp,event_type\na,yesterday,page_view\n",
                "`yesterday`",
            ),
            (
                "lead_id,timestamp,event_type\na,,page_view\n",
                "empty value in required column `timestamp`",
            ),
            (
                "lead_id,timestamp,event_type\na,2024-01-01,\n",
                "empty value in required column `event_type`",
            ),
            (
                "lead_id,timestamp,event_type,value\na,2024-01-01,page_view,lots\n",
                "`lots` in column `value` is not a number",
            ),
            (
                "lead_id,timestamp,event_type,value\na,2024-01-01,page_view,inf\n",
                "not a finite number",
            ),
            (
                "lead_id,time,event_type\na,2024-01-01,page_view\n",
                "no timestamp column `timestamp`",
            ),
        ];
        for (contents, expected) in cases {
            let path = f.file("events.csv", contents);
            let error =
                EventLog::load(&path, &EventsOptions::default(), &leads).expect_err(expected);
            let message = error.to_string();
            assert!(message.contains(expected), "{message}");
            if !expected.starts_with("no ") {
                assert!(message.contains("line 2"), "{message}");
            }
        }
    }

    /// Events are parsed in batches on every core; the log and the first defect reported must
    /// be those of reading one row after the other.
    #[test]
    fn events_read_in_batches_keep_file_order_and_the_first_defect() {
        let f = Fixture::new();
        let leads = leads(&f);
        let mut contents = String::from("lead_id,timestamp,event_type,value\n");
        let rows = 50_000;
        for i in 0..rows {
            let (lead, kind) = match i % 7 {
                0 => (format!("ghost{}", i % 11), "page_view"),
                1 => ("a".to_owned(), "webinar"),
                _ => (["a", "b", "c"][i % 3].to_owned(), "email_open"),
            };
            contents.push_str(&format!(
                "{lead},2024-01-{:02}T10:00:00Z,{kind},{i}\n",
                1 + i % 28
            ));
        }
        let path = f.file("events.csv", &contents);
        let log = EventLog::load(&path, &EventsOptions::default(), &leads).expect("events load");
        assert_eq!(log.stats.rows, rows);
        assert_eq!(log.stats.unknown_lead_rows, rows.div_ceil(7));
        assert_eq!(
            log.stats.unknown_lead_examples,
            ["ghost0", "ghost7", "ghost3", "ghost10", "ghost6"]
        );
        assert_eq!(log.len(), rows - rows.div_ceil(7));
        assert_eq!(
            log.types,
            ["email_open", "webinar"],
            "unknown leads bring no types"
        );

        // Two defects in later batches: the earlier one is reported, with its line.
        let mut lines: Vec<&str> = contents.lines().collect();
        lines[30_001] = "a,2024-01-01,page_view,lots";
        lines[40_001] = "a,not a date,page_view,1";
        let path = f.file("events.csv", &(lines.join("\n") + "\n"));
        let message = EventLog::load(&path, &EventsOptions::default(), &leads)
            .expect_err("a bad value")
            .to_string();
        assert!(
            message.contains("`lots`") && message.contains("line 30002"),
            "{message}"
        );
        lines[30_001] = "a,2024-01-01,page_view";
        let path = f.file("events.csv", &(lines.join("\n") + "\n"));
        let message = EventLog::load(&path, &EventsOptions::default(), &leads)
            .expect_err("a short row")
            .to_string();
        assert!(message.contains("line 30002"), "{message}");
    }

    /// The events of a Parquet file with typed columns (datetimes, integer values with nulls)
    /// in parts on every core: the log of the same events written as text, and each defect
    /// reported at its row.
    #[test]
    fn parquet_events_are_the_events_of_their_text() {
        use polars::prelude::*;

        fn frame(
            ids: &[String],
            seconds: &[Option<i64>],
            kinds: &[&str],
            values: Column,
        ) -> DataFrame {
            let millis: Vec<Option<i64>> = seconds.iter().map(|s| s.map(|s| s * 1000)).collect();
            let timestamp = Series::new("timestamp".into(), millis)
                .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
                .expect("datetime");
            DataFrame::new(
                ids.len(),
                vec![
                    Column::new("lead_id".into(), ids),
                    timestamp.into(),
                    Column::new("event_type".into(), kinds),
                    values,
                ],
            )
            .expect("frame")
        }

        let f = Fixture::new();
        let leads = leads(&f);
        let rows = 100_000;
        let ids: Vec<String> = (0..rows)
            .map(|i| match i % 9 {
                0 => format!("ghost{}", i % 13),
                k => ["a", "b", "c"][k % 3].to_owned(),
            })
            .collect();
        // Times out of order, repeated, and one before 1900 (read through its text).
        let seconds: Vec<Option<i64>> = (0..rows)
            .map(|i| {
                Some(if i == 77 {
                    -2_500_000_000
                } else {
                    1_704_067_200 + (i as i64 * 7919) % 5_000_000
                })
            })
            .collect();
        let kinds: Vec<&str> = (0..rows)
            .map(|i| ["page_view", "webinar", "email_open"][i % 3])
            .collect();
        let values: Vec<Option<i64>> = (0..rows)
            .map(|i| (i % 5 != 0).then_some((i % 40) as i64))
            .collect();
        let mut text = String::from("lead_id,timestamp,event_type,value\n");
        for i in 0..rows {
            let time = leadscore_data::time::format_timestamp(seconds[i].unwrap_or_default());
            let value = values[i].map_or(String::new(), |v| v.to_string());
            text.push_str(&format!("{},{time},{},{value}\n", ids[i], kinds[i]));
        }
        let csv = f.file("events.csv", &text);
        let parquet = f.dir.path().join("events.parquet");
        write_parquet(
            &parquet,
            frame(&ids, &seconds, &kinds, Column::new("value".into(), &values)),
        );
        // A placeholder that is a number makes a value of 0 missing, read from text or not.
        for missing in [MissingTokens::default(), MissingTokens::new(["NaN", "0"])] {
            let options = EventsOptions {
                missing,
                ..EventsOptions::default()
            };
            let from_text = EventLog::load(&csv, &options, &leads).expect("csv events");
            let from_parquet = EventLog::load(&parquet, &options, &leads).expect("parquet events");
            assert_eq!(from_parquet.types, from_text.types);
            assert_eq!(from_parquet.type_counts, from_text.type_counts);
            assert_eq!(from_parquet.type_has_value, from_text.type_has_value);
            assert_eq!(from_parquet.stats, from_text.stats);
            for lead in 0..leads.len() {
                let bits = |log: &EventLog| -> Vec<(i64, u32, u64)> {
                    log.for_lead(lead)
                        .iter()
                        .map(|e| (e.timestamp, e.kind, e.value.to_bits()))
                        .collect()
                };
                assert_eq!(bits(&from_parquet), bits(&from_text), "lead {lead}");
            }
        }

        // Defects in later parts: the first one is reported, at its row.
        let first_defect = |frame: DataFrame| {
            write_parquet(&parquet, frame);
            EventLog::load(&parquet, &EventsOptions::default(), &leads)
                .expect_err("a defect")
                .to_string()
        };
        let mut broken = seconds.clone();
        broken[70_000] = None;
        broken[90_000] = None;
        let mut floats: Vec<Option<f64>> = values.iter().map(|v| v.map(|v| v as f64)).collect();
        floats[50_000] = Some(f64::INFINITY);
        let cases = [
            (
                &broken,
                Column::new("value".into(), &values),
                "`timestamp`",
                "row 70001",
            ),
            (
                &seconds,
                Column::new("value".into(), &floats),
                "not a finite number",
                "row 50001",
            ),
        ];
        for (times, values, defect, row) in cases {
            let message = first_defect(frame(&ids, times, &kinds, values));
            assert!(
                message.contains(defect) && message.contains(row),
                "{message}"
            );
        }
    }

    /// Integer lead ids in Parquet are joined as their text is: to leads of those ids, and a
    /// placeholder that is a number makes the id missing, read from text or not.
    #[test]
    fn parquet_integer_lead_ids_join_as_their_text() {
        use polars::prelude::*;

        let f = Fixture::new();
        let leads = load(&f.file(
            "leads.csv",
            "lead_id,outcome,x\n1,won,3\n2,lost,4\n30,lost,5\n",
        ))
        .expect("leads");
        let ids = [30i64, 1, 2, 7, 1];
        let mut text = String::from("lead_id,timestamp,event_type\n");
        for id in ids {
            text.push_str(&format!("{id},2024-01-02T03:04:05Z,visit\n"));
        }
        let csv = f.file("events.csv", &text);
        let parquet = f.dir.path().join("events.parquet");
        write_parquet(
            &parquet,
            df!(
                "lead_id" => ids,
                "timestamp" => ["2024-01-02T03:04:05Z"; 5],
                "event_type" => ["visit"; 5],
            )
            .expect("frame"),
        );
        let options = EventsOptions::default();
        let from_text = EventLog::load(&csv, &options, &leads).expect("csv events");
        let from_parquet = EventLog::load(&parquet, &options, &leads).expect("parquet events");
        assert_eq!(from_parquet.stats, from_text.stats);
        assert_eq!(from_parquet.stats.unknown_lead_examples, ["7"]);
        assert_eq!(
            (0..3)
                .map(|lead| from_parquet.for_lead(lead).len())
                .collect::<Vec<_>>(),
            [2, 1, 1]
        );
        let options = EventsOptions {
            missing: MissingTokens::new(["2"]),
            ..EventsOptions::default()
        };
        let from_text = EventLog::load(&csv, &options, &leads).expect_err("id 2 is missing");
        let from_parquet = EventLog::load(&parquet, &options, &leads).expect_err("id 2 is missing");
        assert_eq!(
            from_parquet
                .to_string()
                .replace("row 3", "line 4")
                .replace("events.parquet", "events.csv"),
            from_text.to_string()
        );
    }

    /// A Parquet events file that cannot be read, has no rows or lacks a column an event reads
    /// is an error naming the file (and the column), never a panic.
    #[test]
    fn defective_parquet_events_files_are_errors_naming_them() {
        use polars::prelude::*;

        let f = Fixture::new();
        let leads = leads(&f);
        let load_events = |path: &Path| {
            EventLog::load(path, &EventsOptions::default(), &leads)
                .expect_err("a defective file")
                .to_string()
        };
        let corrupt = f.file("corrupt.parquet", "PAR1 not really");
        assert!(load_events(&corrupt).contains("corrupt.parquet"));
        assert!(load_events(&f.file("empty.parquet", "")).contains("empty.parquet"));
        let path = f.dir.path().join("events.parquet");
        let no_rows: [&str; 0] = [];
        write_parquet(
            &path,
            df!("lead_id" => no_rows, "timestamp" => no_rows, "event_type" => no_rows)
                .expect("frame"),
        );
        let message = load_events(&path);
        assert!(message.contains("events.parquet"), "{message}");
        write_parquet(
            &path,
            df!("lead_id" => ["a"], "time" => ["2024-01-01"], "event_type" => ["visit"])
                .expect("frame"),
        );
        let message = load_events(&path);
        assert!(
            message.contains("timestamp") && message.contains("`time`"),
            "{message}"
        );
    }

    #[test]
    fn events_need_lead_ids() {
        let f = Fixture::new();
        let leads = load(&f.file("no_id.csv", "outcome,x\nwon,1\nlost,2\n")).expect("leads");
        let path = f.file(
            "events.csv",
            "lead_id,timestamp,event_type\n1,2024-01-01,page_view\n",
        );
        let error = EventLog::load(&path, &EventsOptions::default(), &leads).expect_err("no ids");
        assert!(error.to_string().contains("--id"), "{error}");
    }
}

/// The loaders on inputs nobody wrote by hand: random bytes never panic, and every error names
/// the file; a well-formed file with random cells keeps every row and outcome.
mod properties {
    use proptest::prelude::*;

    use super::*;

    /// Bytes biased towards what breaks CSV readers: separators, quotes, line ends, a BOM and
    /// invalid UTF-8.
    fn csv_like_bytes() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            Just(b",".to_vec()),
            Just(b";".to_vec()),
            Just(b"\t".to_vec()),
            Just(b"\"".to_vec()),
            Just(b"\n".to_vec()),
            Just(b"\r\n".to_vec()),
            Just(b"\xEF\xBB\xBF".to_vec()),
            Just(b"\xFF\xFE".to_vec()),
            Just(b"lead_id,outcome,created_at\n".to_vec()),
            Just(b"won".to_vec()),
            Just(b"2024-02-30".to_vec()),
            Just(b"1e309".to_vec()),
            Just(b"NaN".to_vec()),
            proptest::collection::vec(any::<u8>(), 0..8),
            "[a-z0-9 .-]{0,6}".prop_map(String::into_bytes),
        ];
        proptest::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
    }

    /// A cell as exports write them: numbers, text, missing tokens, dates, quoted separators.
    fn cell() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            Just("NA".to_owned()),
            Just("Select".to_owned()),
            Just("\"a, b\"".to_owned()),
            Just("\"say \"\"hi\"\"\"".to_owned()),
            Just("2024-01-31".to_owned()),
            Just("31/01/2024 10:00".to_owned()),
            any::<i32>().prop_map(|n| n.to_string()),
            any::<f64>().prop_map(|x| x.to_string()),
            "[A-Za-z][A-Za-z0-9 ]{0,8}",
        ]
    }

    fn outcome() -> impl Strategy<Value = &'static str> {
        prop_oneof![Just("won"), Just("lost"), Just("open"), Just("")]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn random_bytes_never_panic_and_errors_name_the_file(bytes in csv_like_bytes()) {
            let f = Fixture::new();
            let path = f.dir.path().join("export.csv");
            std::fs::write(&path, &bytes).expect("write");
            if let Err(e) = load(&path) {
                prop_assert!(e.to_string().contains("export.csv"), "{e}");
            }
            let leads = f.file("leads.csv", "lead_id,outcome\na,won\nb,lost\n");
            let leads = load(&leads).expect("leads");
            if let Err(e) = EventLog::load(&path, &EventsOptions::default(), &leads) {
                prop_assert!(e.to_string().contains("export.csv"), "{e}");
            }
        }

        #[test]
        fn every_row_and_outcome_of_a_well_formed_file_is_kept(
            columns in proptest::collection::btree_set("[a-z][a-z_]{0,7}", 0..6),
            rows in proptest::collection::vec(
                (outcome(), proptest::collection::vec(cell(), 6)),
                1..40,
            ),
        ) {
            let columns: Vec<String> = columns
                .into_iter()
                .filter(|c| !["lead_id", "outcome", "created_at", "closed_at"].contains(&c.as_str()))
                .collect();
            let line = |first: [&str; 2], rest: &[&str]| {
                let mut fields = first.to_vec();
                fields.extend_from_slice(rest);
                fields.join(",") + "\n"
            };
            let names: Vec<&str> = columns.iter().map(String::as_str).collect();
            let mut text = line(["lead_id", "outcome"], &names);
            for (index, (outcome, cells)) in rows.iter().enumerate() {
                let cells: Vec<&str> = cells.iter().take(columns.len()).map(String::as_str).collect();
                text.push_str(&line([&format!("L{index}"), outcome], &cells));
            }
            let f = Fixture::new();
            let options = LeadsOptions {
                positive: vec!["won".to_owned()],
                negative: vec!["lost".to_owned()],
                ..LeadsOptions::default()
            };
            let leads = LeadsTable::load(&f.file("leads.csv", &text), &options)
                .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
            let ids: Vec<String> = (0..rows.len()).map(|i| format!("L{i}")).collect();
            prop_assert_eq!(&leads.ids, &ids);
            let outcomes: Vec<Outcome> = rows
                .iter()
                .map(|(o, _)| match *o {
                    "won" => Outcome::Won,
                    "lost" => Outcome::Lost,
                    _ => Outcome::Open,
                })
                .collect();
            prop_assert_eq!(&leads.outcomes, &outcomes);
        }
    }
}
