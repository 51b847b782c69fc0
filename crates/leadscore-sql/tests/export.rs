//! What the SQL export refuses, and what it promises about the query it writes. Running the
//! queries in real engines is the root `warehouse` test's job.

use std::path::{Path, PathBuf};

use leadscore_artifact::ModelArtifact;
use leadscore_points::PointsRules;
use leadscore_sql::{Dialect, ExportOptions, ScoringTime, SqlError, ddl, export};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../tests/fixtures/{name}"))
}

fn golden(kind: &str) -> ModelArtifact {
    ModelArtifact::load(&fixture(&format!("golden-{kind}.json"))).expect("golden model")
}

fn rules(text: &str) -> PointsRules {
    PointsRules::parse(Path::new("rules.toml"), text).expect("rules")
}

fn with_events() -> ExportOptions {
    ExportOptions {
        events_table: Some("events".to_owned()),
        ..ExportOptions::default()
    }
}

const FIT_RULE: &str = "mql_threshold = 10\n[[rule]]\nname = \"Retail\"\ngroup = \"fit\"\nfield = \"industry\"\nequals = \"retail\"\npoints = 10\n";

#[test]
fn an_unknown_dialect_names_the_ones_there_are() {
    let error = "sybase".parse::<Dialect>().expect_err("unknown");
    assert!(matches!(error, SqlError::UnknownDialect(_)));
    let message = error.to_string();
    assert!(message.contains("`sybase`") && message.contains("postgres, duckdb or spark"));
}

#[test]
fn nothing_to_export_is_refused() {
    let error = export(None, None, &with_events()).expect_err("nothing");
    assert!(matches!(error, SqlError::NothingToExport));
    assert!(matches!(
        ddl(None, None, &with_events()),
        Err(SqlError::NothingToExport)
    ));
}

#[test]
fn a_model_that_reads_events_needs_an_events_table() {
    let model = golden("logistic");
    let error = export(Some(&model), None, &ExportOptions::default()).expect_err("no events");
    assert!(matches!(error, SqlError::NeedsEvents("the model")));
    assert!(error.to_string().contains("--events-table"));
}

#[test]
fn a_mapping_must_name_a_column_that_is_read() {
    let model = golden("gbdt");
    let options = ExportOptions {
        columns: vec!["industri=crm_industry".to_owned()],
        ..with_events()
    };
    let error = export(Some(&model), None, &options).expect_err("unknown column");
    let message = error.to_string();
    assert!(
        message.contains("`industri`") && message.contains("industry"),
        "{message}"
    );
    for malformed in ["industry", "=crm_industry", "industry= "] {
        let options = ExportOptions {
            columns: vec![malformed.to_owned()],
            ..with_events()
        };
        let error = export(Some(&model), None, &options).expect_err("malformed");
        assert!(matches!(error, SqlError::BadMapping(_)), "{malformed}");
        assert!(error.to_string().contains("NAME=WAREHOUSE_COLUMN"));
    }
}

#[test]
fn rules_alone_need_open_leads_only() {
    let rules = rules(FIT_RULE);
    let error = export(None, Some(&rules), &with_events()).expect_err("no outcome");
    assert!(matches!(error, SqlError::RulesNeedOutcome));
    assert!(error.to_string().contains("--open-leads-only"));
    let options = ExportOptions {
        open_leads_only: true,
        ..with_events()
    };
    let query = export(None, Some(&rules), &options).expect("open leads");
    assert!(query.contains("\"industry\""));
}

#[test]
fn mapped_columns_are_read_under_their_warehouse_name() {
    let model = golden("tree");
    let options = ExportOptions {
        dialect: Dialect::DuckDb,
        leads_table: "crm.leads".to_owned(),
        columns: vec!["industry=Industry Name".to_owned()],
        scoring_time: ScoringTime::Column("scored_at".to_owned()),
        ..with_events()
    };
    let query = export(Some(&model), None, &options).expect("query");
    assert!(query.contains("\"Industry Name\""));
    assert!(!query.contains("\"industry\""));
    assert!(query.contains("FROM \"crm\".\"leads\""));
    assert!(query.contains("\"scored_at\""));
    let tables = ddl(Some(&model), None, &options).expect("ddl");
    assert!(tables.contains("CREATE TABLE \"crm\".\"leads\""));
    assert!(tables.contains("\"Industry Name\" VARCHAR"));
}

#[test]
fn the_same_inputs_give_the_same_query_in_every_dialect() {
    let model = golden("gbdt");
    let rules = rules(FIT_RULE);
    for dialect in [Dialect::Postgres, Dialect::DuckDb, Dialect::Spark] {
        let options = ExportOptions {
            dialect,
            scoring_time: ScoringTime::At(1_752_537_600),
            ..with_events()
        };
        let first = export(Some(&model), Some(&rules), &options).expect("query");
        let second = export(Some(&model), Some(&rules), &options).expect("query");
        assert_eq!(first, second, "{dialect}");
        assert!(
            first.contains(model.version()),
            "{dialect}: names the model version"
        );
    }
}
