//! The model registry on real files: register, promote, rollback, shadow, diff, and every refusal
//! naming what to fix.

use std::path::{Path, PathBuf};

use leadscore_artifact::{
    ArtifactError, ModelArtifact, ModelDiff, POINTER_FILE, Pointer, Registry, served_files,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../tests/fixtures/{name}"))
}

/// A golden model renamed `acme` at `version`, as training would write it.
fn model(kind: &str, version: &str, dir: &Path) -> ModelArtifact {
    let text = std::fs::read_to_string(fixture(&format!("golden-{kind}.json"))).expect("fixture");
    let mut json: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    json["name"] = "acme".into();
    json["version"] = version.into();
    let path = dir.join(format!("{kind}-{version}.json"));
    std::fs::write(&path, json.to_string()).expect("write");
    ModelArtifact::load(&path).expect("loads")
}

#[test]
fn the_first_version_is_champion_and_promote_rollback_and_shadow_move_the_pointer() {
    let work = tempfile::tempdir().expect("tempdir");
    let registry = Registry::new(work.path().join("models"));
    assert!(registry.names().expect("empty registry").is_empty());

    let first = registry
        .register(
            &model("logistic", "20260101-000000", work.path()),
            "2026-01-01T00:00:00Z",
        )
        .expect("registered");
    assert!(first.champion);
    assert_eq!(
        first.file,
        work.path().join("models/acme/20260101-000000.json")
    );
    let second = registry
        .register(
            &model("gbdt", "20260201-000000", work.path()),
            "2026-02-01T00:00:00Z",
        )
        .expect("registered");
    assert!(!second.champion, "a later version waits for promote");
    assert_eq!(registry.names().expect("names"), ["acme"]);

    let folder = work.path().join("models/acme");
    let served = served_files(&folder).expect("pointer").expect("has one");
    assert_eq!(served, (folder.join("20260101-000000.json"), None));

    registry
        .shadow("acme", Some("20260201-000000"), "2026-02-02T00:00:00Z")
        .expect("shadow");
    let served = served_files(&folder).expect("pointer").expect("has one");
    assert_eq!(served.1, Some(folder.join("20260201-000000.json")));

    let line = registry
        .promote("acme", "20260201-000000", "2026-02-03T00:00:00Z")
        .expect("promoted");
    assert_eq!(line.pointer.champion.as_deref(), Some("20260201-000000"));
    assert_eq!(
        line.pointer.challenger, None,
        "the promoted challenger leaves the shadow"
    );
    let line = registry
        .rollback("acme", "2026-02-04T00:00:00Z")
        .expect("rolled back");
    assert_eq!(line.pointer.champion.as_deref(), Some("20260101-000000"));
    let actions: Vec<&str> = line.pointer.log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["register", "register", "shadow", "promote", "rollback"]
    );
    assert_eq!(
        line.pointer.log[4].previous.as_deref(),
        Some("20260201-000000")
    );

    // The pointer is data: it survives a round trip, and the file on disk reads back equal.
    let text = std::fs::read_to_string(folder.join(POINTER_FILE)).expect("pointer file");
    let read: Pointer = serde_json::from_str(&text).expect("pointer JSON");
    assert_eq!(read, line.pointer);
    let again: Pointer =
        serde_json::from_str(&serde_json::to_string(&read).expect("serialise")).expect("parse");
    assert_eq!(again, read);
}

#[test]
fn refusals_name_what_to_fix() {
    let work = tempfile::tempdir().expect("tempdir");
    let registry = Registry::new(work.path().join("models"));
    let v1 = model("logistic", "v1", work.path());
    registry
        .register(&v1, "2026-01-01T00:00:00Z")
        .expect("registered");

    let unknown = registry
        .promote("acme", "v9", "now")
        .expect_err("no such version");
    assert!(matches!(unknown, ArtifactError::UnknownVersion { .. }));
    assert!(unknown.to_string().contains("versions: v1"), "{unknown}");

    let nothing = registry
        .rollback("acme", "now")
        .expect_err("only one champion");
    assert!(
        nothing.to_string().contains("no earlier champion"),
        "{nothing}"
    );

    let twice = registry
        .register(&v1, "now")
        .expect_err("never overwritten");
    assert!(twice.to_string().contains("never overwritten"), "{twice}");

    let missing = registry.line("other").expect_err("no such model");
    assert!(missing.to_string().contains("models: acme"), "{missing}");

    let mut json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("golden-logistic.json")).expect("fixture"),
    )
    .expect("JSON");
    json["name"] = "../escape".into();
    let path = work.path().join("escape.json");
    std::fs::write(&path, json.to_string()).expect("write");
    let escaping = registry
        .register(&ModelArtifact::load(&path).expect("loads"), "now")
        .expect_err("a name with a separator");
    assert!(
        escaping.to_string().contains("cannot name a file"),
        "{escaping}"
    );

    // A broken model file is never promoted: the pointer stays where it was.
    std::fs::write(work.path().join("models/acme/v2.json"), "{ truncated").expect("write");
    let broken = registry
        .promote("acme", "v2", "now")
        .expect_err("corrupt file");
    assert!(broken.to_string().contains("v2.json"), "{broken}");
    let line = registry.line("acme").expect("line");
    assert_eq!(line.pointer.champion.as_deref(), Some("v1"));

    // A hand-edited pointer that is not JSON names its file and position.
    std::fs::write(
        work.path().join("models/acme").join(POINTER_FILE),
        "{\"format\": ",
    )
    .expect("write");
    let corrupt = registry.line("acme").expect_err("corrupt pointer");
    assert!(corrupt.to_string().contains(POINTER_FILE), "{corrupt}");
    assert!(corrupt.to_string().contains("line 1"), "{corrupt}");
}

#[test]
fn a_diff_shows_metrics_models_and_features_side_by_side() {
    let work = tempfile::tempdir().expect("tempdir");
    let old = model("logistic", "v1", work.path());
    let new = model("gbdt", "v2", work.path());
    let diff = ModelDiff::between(&old, &new);
    assert_eq!(
        (diff.old_version.as_str(), diff.new_version.as_str()),
        ("v1", "v2")
    );
    let row = |what: &str| {
        diff.rows
            .iter()
            .find(|r| r.what == what)
            .unwrap_or_else(|| panic!("no row {what}: {:?}", diff.rows))
    };
    let auc = row("validation AUC");
    let expected = new.validation().metrics.auc - old.validation().metrics.auc;
    assert!((auc.change.expect("numeric") - expected).abs() < 1e-12);
    assert!(
        row("model").old.starts_with("logistic"),
        "{:?}",
        row("model")
    );
    assert!(row("model").new.starts_with("gbdt"), "{:?}", row("model"));
    assert_eq!(row("training leads").change, Some(0.0));
    let same = ModelDiff::between(&old, &old);
    assert!(same.features_added.is_empty() && same.features_removed.is_empty());
}
