//! The web console in a real browser: `leadscore serve --demo` seeds a history from the bundled
//! sample, and headless Chromium (driven through chromedriver) opens every page at a desktop
//! width (1280 px) and a phone width (390 px), checks that the numbers on the page are the JSON
//! API's, uses the lead lookup, the what-if panel and the reload button as a person would, walks
//! the page with the keyboard, checks text contrast, and inspects a screenshot of every page.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

use crate::common::repo_file;
use crate::webdriver::{Browser, Driver, ENTER, TAB, free_address, get_json, http, wait_for_port};

const KEY: &str = "console-test-key";

/// `leadscore serve --demo` on a free port, killed when dropped.
struct Console {
    child: Child,
    address: std::net::SocketAddr,
}

impl Console {
    fn start(dir: &Path) -> Self {
        let models = dir.join("models");
        std::fs::create_dir_all(&models).expect("models folder");
        std::fs::copy(
            repo_file("tests/fixtures/golden-logistic.json"),
            models.join("golden-logistic.json"),
        )
        .expect("model");
        let address = free_address();
        let mut child = Command::new(env!("CARGO_BIN_EXE_leadscore"))
            .arg("serve")
            .arg("--model")
            .arg(&models)
            .arg("--rules")
            .arg(repo_file("data/starter-rules.toml"))
            .arg("--experiments")
            .arg(repo_file("data/demo-experiments.toml"))
            .arg("--db")
            .arg(dir.join("demo.db"))
            .arg("--demo")
            .arg(repo_file("data/sample"))
            .args(["--api-key", KEY, "--listen", &address.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start leadscore serve");
        wait_for_port(address, "leadscore serve", &mut child);
        Self { child, address }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where screenshots are kept for people to look at.
fn screenshot_folder() -> PathBuf {
    let folder = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
    std::fs::create_dir_all(&folder).expect("screenshot folder");
    folder
}

/// Decodes a screenshot and checks what a person would see: the viewport's width, a page that is
/// not blank (text and boxes over a good share of it), and, when asked, a chart color drawn.
fn inspect(png_bytes: &[u8], width: u32, name: &str, chart_color: Option<[u8; 3]>) {
    std::fs::write(screenshot_folder().join(format!("{name}.png")), png_bytes).expect("save");
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut pixels = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut pixels).expect("pixels");
    assert_eq!(frame.width, width, "{name}: screenshot width");
    let channels = frame.line_size / frame.width as usize;
    assert!(channels >= 3, "{name}: {channels} channels");
    let rgb: Vec<[u8; 3]> = pixels[..frame.buffer_size()]
        .chunks(channels)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    let background = [0xf6, 0xf7, 0xf9];
    let drawn = rgb.iter().filter(|p| **p != background).count() as f64 / rgb.len() as f64;
    assert!(
        drawn > 0.10,
        "{name}: only {:.1}% of the screenshot differs from the page background",
        100.0 * drawn
    );
    // The dark navigation bar spans the top of every page.
    let top_row = &rgb[5 * frame.width as usize..6 * frame.width as usize];
    let dark = top_row
        .iter()
        .filter(|p| p.iter().all(|&c| c < 0x40))
        .count();
    assert!(
        dark as f64 > 0.5 * f64::from(frame.width),
        "{name}: no navigation bar"
    );
    if let Some(color) = chart_color {
        let near = |p: &[u8; 3]| p.iter().zip(color).all(|(&a, b)| a.abs_diff(b) <= 8);
        let count = rgb.iter().filter(|p| near(p)).count();
        assert!(count > 300, "{name}: chart color drawn on {count} pixels");
    }
}

/// Text whose contrast with its background is below WCAG AA (4.5:1), as `selector: ratio`.
const LOW_CONTRAST: &str = r#"
const luminance = (rgb) => {
  const c = rgb.map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
  return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
};
const parse = (color) => (color.match(/[\d.]+/g) || []).map(Number);
const background = (el) => {
  for (let e = el; e; e = e.parentElement) {
    const c = parse(getComputedStyle(e).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
  }
  return [255, 255, 255];
};
const bad = [];
for (const el of document.querySelectorAll("body *:not(svg):not(svg *)")) {
  const text = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
  if (!text || el.offsetParent === null) continue;
  const fg = parse(getComputedStyle(el).color).slice(0, 3);
  const [a, b] = [luminance(fg), luminance(background(el))];
  const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  if (ratio < 4.5) bad.push(el.tagName + "." + el.className + " '" + el.textContent.trim().slice(0, 30) + "': " + ratio.toFixed(2));
}
return bad;
"#;

/// Pages, their names in screenshots, and a chart color each must draw.
const PAGES: [(&str, &str, Option<[u8; 3]>); 6] = [
    ("/", "overview", Some([0x1f, 0x77, 0xb4])),
    ("/experiments", "experiments", Some([0xd4, 0x60, 0x0b])),
    ("/leads?id=L0000007", "lead", None),
    ("/rules", "rules", None),
    ("/monitor", "monitor", Some([0x1f, 0x77, 0xb4])),
    ("/models", "models", None),
];

fn data_value(browser: &Browser, selector: &str) -> Value {
    browser.script(&format!(
        "const e = document.querySelector('{selector}'); return e ? e.dataset.value : null;"
    ))
}

fn number(value: &Value) -> f64 {
    value
        .as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| value.as_f64())
        .unwrap_or_else(|| panic!("not a number: {value}"))
}

/// Every page at one width: no sideways scrolling, readable contrast, a screenshot that shows
/// the page.
fn every_page(console: &Console, browser: &Browser, width: u32) {
    for (path, name, chart) in PAGES {
        browser.open(&console.url(path));
        browser.wait_for("return document.readyState === 'complete'", "the page");
        if path == "/rules" {
            browser.wait_for(
                "return document.getElementById('what-if-probability')",
                "the what-if answer",
            );
        }
        let overflow = browser.script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
        );
        assert!(
            overflow.as_i64().unwrap_or(1) <= 0,
            "{name} at {width} px scrolls sideways by {overflow} px"
        );
        let low = browser.script(LOW_CONTRAST);
        assert_eq!(
            low.as_array().map(Vec::len),
            Some(0),
            "{name} at {width} px: {low}"
        );
        inspect(
            &browser.screenshot(),
            width,
            &format!("{name}-{width}"),
            chart,
        );
    }
}

#[test]
#[ignore = "needs headless Chromium and chromedriver (CI installs both and runs it: cargo test -- --include-ignored)"]
fn the_console_shows_the_apis_numbers_in_a_real_browser_at_desktop_and_phone_widths() {
    let dir = tempfile::tempdir().expect("temp dir");
    let console = Console::start(dir.path());
    let driver = Driver::start();
    let desktop = driver.browser(1280, 900);
    desktop.open(&console.url("/"));
    assert_eq!(
        desktop.script("return window.innerWidth"),
        json!(1280),
        "viewport"
    );

    // Overview: the model card and the activity are /v1/models' and /v1/activity's.
    desktop.open(&console.url("/"));
    let models = get_json(console.address, "/v1/models");
    let activity = get_json(console.address, "/v1/activity");
    let shown_version = desktop
        .script("return document.querySelector('#model-card [data-field=version]').textContent");
    assert_eq!(shown_version, models["model"]["version"]);
    assert_eq!(
        number(&data_value(&desktop, "[data-field=validation_auc]")),
        models["model"]["validation"]["metrics"]["auc"]
            .as_f64()
            .expect("auc")
    );
    let scores: u64 = activity["days"]
        .as_array()
        .expect("days")
        .iter()
        .map(|d| d["scores"].as_u64().expect("scores"))
        .sum();
    assert_eq!(scores, 3_000, "the whole sample was seeded within 30 days");
    assert_eq!(
        number(&data_value(&desktop, "[data-field=scores]")),
        scores as f64
    );
    assert_eq!(
        desktop.script("return document.querySelector('[data-field=scores]').textContent"),
        json!("3,000"),
        "thousands separators"
    );
    assert_eq!(
        number(&data_value(&desktop, "[data-field=leads_scored]")),
        activity["mix"]["leads"].as_f64().expect("leads")
    );

    // Keyboard: the first Tab reaches the skip link, Enter moves the focus to the content, and
    // further Tabs walk the navigation in order.
    desktop.press(TAB);
    assert_eq!(
        desktop.script("return document.activeElement.textContent"),
        json!("Skip to content")
    );
    desktop.press(ENTER);
    desktop.wait_for(
        "return document.activeElement.id === 'main'",
        "focus on the content",
    );
    desktop.open(&console.url("/"));
    desktop.press(&TAB.repeat(3));
    assert_eq!(
        desktop.script("return document.activeElement.getAttribute('href')"),
        json!("/"),
        "skip link, brand, then the navigation"
    );

    // Experiments: every arm's counts are the report's.
    desktop.open(&console.url("/experiments"));
    let report = get_json(console.address, "/v1/experiments/points-vs-predictive");
    for arm in report["arms"].as_array().expect("arms") {
        let name = arm["arm"].as_str().expect("arm name");
        for field in [
            "leads",
            "routed",
            "routed_closed",
            "routed_won",
            "routed_conversion",
        ] {
            let shown = data_value(
                &desktop,
                &format!("tr[data-arm={name}] [data-field={field}]"),
            );
            assert_eq!(
                number(&shown),
                arm[field].as_f64().expect("count"),
                "{name} {field}"
            );
        }
    }
    let verdict = desktop.script("return document.querySelector('.verdict').textContent");
    let expected = report["difference"]["verdict"].as_str().expect("verdict");
    assert!(
        verdict
            .as_str()
            .is_some_and(|v| v.to_lowercase() == expected.to_lowercase()),
        "{verdict} vs {expected}"
    );

    // Lead: typed into the lookup box; the page shows the recorded answer.
    desktop.open(&console.url("/leads"));
    desktop.find("#lead-id").type_text("L0000007");
    desktop.find("form.lookup button").click();
    desktop.wait_for(
        "return document.getElementById('lead')",
        "the lead's history",
    );
    let history = get_json(console.address, "/v1/leads/L0000007");
    assert_eq!(
        number(&data_value(&desktop, "#latest [data-field=probability]")),
        history["scores"][0]["probability"]
            .as_f64()
            .expect("probability")
    );
    assert_eq!(
        data_value(&desktop, "[data-field=outcome]"),
        json!(match history["outcome"]["won"].as_bool() {
            Some(true) => "won",
            Some(false) => "lost",
            None => "open",
        })
    );
    let reasons = desktop.script("return document.querySelectorAll('#reasons-positive tbody tr, #reasons-negative tbody tr').length");
    assert!(reasons.as_u64().unwrap_or(0) >= 2, "{reasons}");

    // Rules: the what-if panel answers as the API does, and follows every change.
    desktop.open(&console.url("/rules"));
    let what_if = |browser: &Browser| -> (f64, f64) {
        let probability = browser.wait_for(
            "const e = document.getElementById('what-if-probability'); return e && e.dataset.value",
            "a what-if probability",
        );
        let points = data_value(browser, "#what-if-points");
        (number(&probability), number(&points))
    };
    let attributes = || {
        desktop.script(
            "return Object.fromEntries([...document.querySelectorAll('[data-attribute]')]
               .filter((e) => e.value !== '')
               .map((e) => [e.dataset.attribute, e.dataset.numeric ? Number(e.value) : e.value]))",
        )
    };
    let api = |attributes: &Value, events: Value| -> Value {
        let lead = json!({"lead_id": "check", "attributes": attributes, "events": events});
        let (status, body) = http(
            console.address,
            "POST",
            "/v1/score?record=false",
            Some(&lead),
        );
        assert_eq!(status, 200);
        serde_json::from_slice(&body).expect("JSON")
    };
    let (first, _) = what_if(&desktop);
    let answer = api(&attributes(), json!([]));
    assert!((first - answer["probability"].as_f64().expect("p")).abs() < 1e-12);

    desktop
        .find("select[data-attribute=job_level] option[value=vp]")
        .click();
    desktop.wait_for(
        &format!("const e = document.getElementById('what-if-probability'); return e && Number(e.dataset.value) !== {first}"),
        "the answer for a vp",
    );
    let (as_vp, points_as_vp) = what_if(&desktop);
    let answer = api(&attributes(), json!([]));
    assert!((as_vp - answer["probability"].as_f64().expect("p")).abs() < 1e-12);
    assert!(
        (points_as_vp - answer["points"]["total"].as_f64().expect("points")).abs() < 1e-9,
        "the Decision maker rule: {points_as_vp}"
    );

    desktop.find("#what-if-add-event").click();
    desktop
        .find("#what-if-events li select option[value=demo_request]")
        .click();
    let days = desktop.find("#what-if-events li input");
    days.clear();
    days.type_text("1");
    desktop.wait_for(
        "return [...document.querySelectorAll('#what-if-breakdown th')].some((t) => t.textContent === 'Requested a demo')",
        "the demo request's points",
    );
    let one_day_ago = json!([{"type": "demo_request", "timestamp": format_days_ago(1)}]);
    let answer = api(&attributes(), one_day_ago);
    let expected = answer["probability"].as_f64().expect("p");
    // The page answers every edit: the cleared field (a demo request just now) shows the demo's
    // points too, so on a slow machine the answer for "1" may still be on its way.
    desktop.wait_for(
        &format!("const e = document.getElementById('what-if-probability'); return e && Math.abs(Number(e.dataset.value) - {expected}) < 1e-4"),
        "the answer for a demo request one day ago, the API's",
    );
    let (with_demo, points_with_demo) = what_if(&desktop);
    assert!(with_demo > as_vp, "a demo request raises the probability");
    assert!((with_demo - expected).abs() < 1e-4);
    assert!((points_with_demo - answer["points"]["total"].as_f64().expect("points")).abs() < 1e-3);
    assert!(
        points_with_demo - points_as_vp > 29.0,
        "{points_as_vp} → {points_with_demo}"
    );

    // Models: sign in with the key, then reload from the page.
    desktop.open(&console.url("/models"));
    desktop.find("a[href='/login?next=/models']").click();
    desktop.find("#key").type_text(KEY);
    desktop.find("form.login button").click();
    desktop.wait_for(
        "return document.getElementById('reload-form')",
        "the reload form",
    );
    assert!(desktop.url().ends_with("/models"), "{}", desktop.url());
    desktop.find("#reload-form button").click();
    let notice = desktop.wait_for(
        "const e = document.querySelector('.notice.ok'); return e && e.textContent",
        "the reload notice",
    );
    assert!(
        notice
            .as_str()
            .is_some_and(|n| n.starts_with("Reloaded: now serving golden-logistic")),
        "{notice}"
    );

    every_page(&console, &desktop, 1280);
    drop(desktop);

    let phone = driver.browser(390, 844);
    phone.open(&console.url("/"));
    assert_eq!(
        phone.script("return window.innerWidth"),
        json!(390),
        "viewport"
    );
    every_page(&console, &phone, 390);
}

/// An RFC 3339 time `days` days before now.
fn format_days_ago(days: i64) -> String {
    use leadscore_data::time;
    time::format_timestamp(time::now() - days * time::SECONDS_PER_DAY)
}
