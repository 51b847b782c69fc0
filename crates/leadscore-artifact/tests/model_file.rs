//! Model files: the committed golden models load and round-trip, and every kind of bad file is
//! refused with a typed error naming the file, never loaded to crash or hang a server later.

use std::path::{Path, PathBuf};

use leadscore_artifact::{ArtifactError, ModelArtifact};
use serde_json::{Value, json};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../tests/fixtures/{name}"))
}

fn golden(kind: &str) -> Value {
    let text = std::fs::read_to_string(fixture(&format!("golden-{kind}.json"))).expect("fixture");
    serde_json::from_str(&text).expect("json")
}

fn load(bytes: &[u8]) -> Result<ModelArtifact, ArtifactError> {
    ModelArtifact::from_bytes(Path::new("models/edited.json"), bytes)
}

fn load_value(value: &Value) -> Result<ModelArtifact, ArtifactError> {
    load(&serde_json::to_vec(value).expect("serialise"))
}

fn inconsistency(value: &Value) -> String {
    match load_value(value) {
        Err(ArtifactError::Inconsistent { path, message }) => {
            assert_eq!(path, Path::new("models/edited.json"));
            message
        }
        other => panic!("expected an inconsistent model, got {other:?}"),
    }
}

#[test]
fn golden_models_load_and_round_trip() {
    for kind in ["logistic", "tree", "gbdt"] {
        let model = ModelArtifact::load(&fixture(&format!("golden-{kind}.json"))).expect(kind);
        let saved = serde_json::to_vec(&model).expect("serialise");
        assert_eq!(load(&saved).expect("reload"), model, "{kind}");
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("nested/model.json");
        model.save(&path).expect("saves");
        assert_eq!(ModelArtifact::load(&path).expect("loads"), model);
    }
}

#[test]
fn unreadable_and_foreign_files_are_refused_by_kind() {
    let text = serde_json::to_string(&golden("logistic")).expect("json");
    assert!(matches!(load(b"  \n"), Err(ArtifactError::Empty { .. })));
    match load(&text.as_bytes()[..text.len() / 2]) {
        Err(ArtifactError::Corrupt { line, column, .. }) => assert!(line >= 1 && column > 0),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        load(br#"{"hello": 1}"#),
        Err(ArtifactError::WrongFormat { found: None, .. })
    ));
    assert!(matches!(
        load(b"[1, 2]"),
        Err(ArtifactError::WrongFormat { .. })
    ));
    let future = text.replacen("\"format_version\":1", "\"format_version\":99", 1);
    let error = load(future.as_bytes()).expect_err("future");
    assert!(matches!(
        error,
        ArtifactError::UnsupportedVersion {
            found: 99,
            supported: 1,
            ..
        }
    ));
    assert!(error.to_string().contains("retrain the model"), "{error}");
    let missing = ModelArtifact::load(Path::new("no/such/model.json")).expect_err("absent");
    assert!(matches!(missing, ArtifactError::Read { .. }));
    assert!(missing.to_string().contains("no/such/model.json"));
}

#[test]
fn wrong_types_name_the_line() {
    let mut model = golden("logistic");
    model["percentiles"] = json!("many");
    let pretty = serde_json::to_string_pretty(&model).expect("json");
    match load(pretty.as_bytes()) {
        Err(ArtifactError::Contents { line, message, .. }) => {
            let expected = pretty
                .lines()
                .position(|l| l.contains("\"percentiles\""))
                .expect("line")
                + 1;
            assert_eq!(line, expected, "{message}");
        }
        other => panic!("{other:?}"),
    }
    let huge = serde_json::to_string(&golden("gbdt"))
        .expect("json")
        .replacen("\"base_score\":", "\"base_score\":1e999,\"ignored\":", 1);
    assert!(matches!(
        load(huge.as_bytes()),
        Err(ArtifactError::Contents { .. })
    ));
}

#[test]
fn inconsistent_parts_are_refused_with_the_reason() {
    let mut unsorted = golden("gbdt");
    unsorted["percentiles"][0] = json!(0.99);
    assert!(inconsistency(&unsorted).contains("percentile table"));

    let mut fewer = golden("gbdt");
    fewer["feature_info"].as_array_mut().expect("list").pop();
    assert!(inconsistency(&fewer).contains("features that differ"));

    let mut tiers = golden("logistic");
    tiers["tiers"] = json!([]);
    assert!(inconsistency(&tiers).contains("tiers"));

    let mut coefficients = golden("logistic");
    coefficients["model"]["coefficients"]
        .as_array_mut()
        .expect("list")
        .pop();
    assert!(inconsistency(&coefficients).contains("coefficients"));

    let mut unsorted_events = golden("gbdt");
    let types = unsorted_events["features"]["events"]["event_types"]
        .as_array_mut()
        .expect("types");
    types.swap(0, 1);
    assert!(inconsistency(&unsorted_events).contains("event types are not sorted"));
}

/// A boosted model whose first tree is replaced by `tree`.
fn gbdt_with_tree(tree: Value) -> Value {
    let mut model = golden("gbdt");
    model["model"]["trees"][0] = tree;
    model
}

fn chain(depth: usize, edit: impl Fn(usize, &mut Value)) -> Value {
    let mut nodes: Vec<Value> = Vec::new();
    for level in 0..depth {
        let split = 2 * level;
        let mut node = json!({"feature": 0, "threshold": 0.5, "category_set": -1,
            "default_left": false, "left": split + 1, "right": split + 2, "value": 0.0, "cover": 1.0});
        edit(split, &mut node);
        nodes.push(node);
        nodes.push(
            json!({"feature": u32::MAX, "threshold": 0.0, "category_set": -1,
            "default_left": false, "left": 0, "right": 0, "value": 0.1, "cover": 1.0}),
        );
    }
    nodes.push(
        json!({"feature": u32::MAX, "threshold": 0.0, "category_set": -1,
        "default_left": false, "left": 0, "right": 0, "value": 0.1, "cover": 1.0}),
    );
    let column = |key: &str| Value::Array(nodes.iter().map(|n| n[key].clone()).collect());
    json!({
        "feature": column("feature"), "threshold": column("threshold"),
        "category_set": column("category_set"), "category_sets": [],
        "default_left": column("default_left"), "left": column("left"),
        "right": column("right"), "value": column("value"), "cover": column("cover"),
    })
}

#[test]
fn trees_that_could_crash_or_hang_a_server_are_refused() {
    assert!(load_value(&gbdt_with_tree(chain(3, |_, _| {}))).is_ok());

    let deep = gbdt_with_tree(chain(20_000, |_, _| {}));
    assert!(inconsistency(&deep).contains("levels deep"));

    let cyclic = gbdt_with_tree(chain(3, |split, node| {
        if split == 2 {
            node["right"] = json!(0);
        }
    }));
    assert!(inconsistency(&cyclic).contains("must come after their parent"));

    let out_of_range = gbdt_with_tree(chain(3, |split, node| {
        if split == 0 {
            node["left"] = json!(1_000_000);
        }
    }));
    assert!(inconsistency(&out_of_range).contains("must come after their parent"));

    let bad_feature = gbdt_with_tree(chain(3, |split, node| {
        if split == 2 {
            node["feature"] = json!(4_000_000);
        }
    }));
    assert!(inconsistency(&bad_feature).contains("splits on feature 4000000"));

    let bad_set = gbdt_with_tree(chain(3, |split, node| {
        if split == 0 {
            node["category_set"] = json!(7);
        }
    }));
    assert!(inconsistency(&bad_set).contains("category set 7"));

    let mut ragged = gbdt_with_tree(chain(3, |_, _| {}));
    ragged["model"]["trees"][0]["value"]
        .as_array_mut()
        .expect("values")
        .pop();
    assert!(inconsistency(&ragged).contains("different lengths"));
}

/// Reasons stay exact under a non-linear (isotonic) calibration: base + contributions equals the
/// calibrated log-odds of every lead.
#[test]
fn reasons_add_up_under_an_isotonic_calibration() {
    use leadscore_data::{EventLog, EventsOptions, LeadsOptions, LeadsTable};

    let mut value = golden("gbdt");
    value["calibration"] = json!({
        "method": "isotonic",
        "raw": [-4.0, -2.5, -1.0, 0.5, 2.0],
        "calibrated": [-5.0, -2.0, -1.5, 0.0, 3.0],
        "tail_slope": 0.7
    });
    let model = load_value(&value).expect("an isotonic model loads");
    let options = model.leads_options(&LeadsOptions {
        require_target: false,
        ..LeadsOptions::default()
    });
    let leads = LeadsTable::load(&fixture("golden-leads.csv"), &options).expect("leads");
    let events = EventLog::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/sample/events.csv"),
        &EventsOptions::default(),
        &leads,
    )
    .expect("events");
    let matrix = model
        .features()
        .transform_table(&leads, Some(&events), 1_750_000_000)
        .expect("features");
    for row in matrix.values.rows() {
        let row = row.to_vec();
        let (base, sources) = model.source_contributions(&row);
        let total = base + sources.iter().map(|(_, c)| c).sum::<f64>();
        let probability = model.probability(&row);
        let logit = (probability / (1.0 - probability)).ln();
        assert!((total - logit).abs() < 1e-9, "{total} vs {logit}");
    }
}
