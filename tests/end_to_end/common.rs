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

/// The first of `names` on the `PATH`; the test fails with `install` as the remedy otherwise.
pub fn executable(names: &[&str], install: &str) -> PathBuf {
    names
        .iter()
        .find_map(|name| {
            let found = Command::new("which").arg(name).output().ok()?;
            found
                .status
                .success()
                .then(|| PathBuf::from(String::from_utf8_lossy(&found.stdout).trim()))
        })
        .unwrap_or_else(|| panic!("{} is not installed ({install})", names[0]))
}

/// Headless Chromium, which CI installs (Debian's `chromium`).
pub fn chromium() -> PathBuf {
    executable(
        &["chromium", "chromium-browser", "google-chrome"],
        "apt-get install chromium",
    )
}

/// A marketing-qualified-lead export as such exports come: a lead source, a landing page among
/// `pages` whose popularity follows a power law and which decides conversion, and nothing else.
/// Page names may hold quotes and non-ASCII letters. Deterministic for a seed.
pub fn write_landing_page_export(path: &Path, leads: usize, pages: u64, seed: u64) {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    let mut next = move || {
        // SplitMix64: a fixed, dependency-free stream.
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) as f64 / u64::MAX as f64
    };
    // The page effect is a fixed function of the page, the same for every seed.
    let effect =
        |page: u64| ((page.wrapping_mul(2_654_435_761) % 1_000) as f64 / 1_000.0 - 0.5) * 3.0;
    let sources = ["organic", "paid", "social", "referral"];
    let mut writer = csv::Writer::from_path(path).expect("csv");
    writer
        .write_record(["Lead Number", "Lead Source", "Landing Page", "Converted"])
        .expect("header");
    for i in 0..leads {
        // Power-law popularity: page ≈ pages^u − 1 for a uniform u.
        let page = ((pages as f64).powf(next()) - 1.0).floor() as u64;
        let source = (next() * sources.len() as f64) as usize % sources.len();
        let logit = -1.3 + effect(page) + [0.4, -0.2, -0.4, 0.6][source];
        let won = next() < 1.0 / (1.0 + (-logit).exp());
        let name = match page % 97 {
            0 => format!("l'offre n°{page}"),
            1 => format!("Übersicht-{page}"),
            _ => format!("lp-{page:04}"),
        };
        writer
            .write_record([
                format!("{}", 600_000 + i),
                sources[source].to_owned(),
                name,
                if won { "yes" } else { "no" }.to_owned(),
            ])
            .expect("row");
    }
    writer.flush().expect("flush");
}
