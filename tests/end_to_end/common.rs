//! Helpers for tests that run the real `leadscore` binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A file under the repository root.
pub fn repo_file(relative: &str) -> PathBuf {
    root().join(relative)
}

/// Why the tests on the full Bank Marketing set are ignored by default.
pub const NEEDS_BANK: &str = "needs the full UCI Bank Marketing set in ../shared/data/bank-marketing (CI runs it: cargo test -- --include-ignored)";

/// The full Bank Marketing file beside the repository; a test that needs it fails when it is
/// absent (such tests are `#[ignore]`d, so a plain `cargo test` lists them as ignored).
pub fn full_bank_marketing() -> PathBuf {
    let path = root().join("../shared/data/bank-marketing/bank-additional-full.csv");
    assert!(
        path.is_file(),
        "{} is missing: {NEEDS_BANK}",
        path.display()
    );
    path
}

/// `--leads` and `--events` of the bundled sample (absolute paths, so any folder works).
pub const SAMPLE: [&str; 4] = [
    "--leads",
    concat!(env!("CARGO_MANIFEST_DIR"), "/data/sample/leads.csv"),
    "--events",
    concat!(env!("CARGO_MANIFEST_DIR"), "/data/sample/events.csv"),
];

/// A command line: `command`, the bundled sample's files, then `rest`.
pub fn on_sample<'a>(command: &[&'a str], rest: &[&'a str]) -> Vec<&'a str> {
    [command, &SAMPLE[..], rest].concat()
}

/// Runs `leadscore` with arguments in `dir`.
pub fn leadscore(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_leadscore"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run leadscore")
}

/// Runs `leadscore` and returns stdout, failing the test with stderr if it fails.
pub fn success(dir: &Path, args: &[&str]) -> String {
    let output = leadscore(dir, args);
    assert!(
        output.status.success(),
        "leadscore {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 output")
}

/// Runs `leadscore`, expects failure, and returns stderr.
pub fn failure(dir: &Path, args: &[&str]) -> String {
    let output = leadscore(dir, args);
    assert!(!output.status.success(), "leadscore {args:?} should fail");
    String::from_utf8(output.stderr).expect("utf-8 output")
}

/// Parses JSON printed by a command.
pub fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Headless Chromium, which CI installs (Debian's `chromium`).
pub fn chromium() -> PathBuf {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            let found = Command::new("which").arg(name).output().ok()?;
            found
                .status
                .success()
                .then(|| PathBuf::from(String::from_utf8_lossy(&found.stdout).trim()))
        })
        .expect("chromium is not installed (apt-get install chromium)")
}
