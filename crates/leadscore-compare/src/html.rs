//! The comparison as one HTML file: tables and inline SVG charts, no scripts, no network.

use std::fmt::Write as _;

use crate::chart::{Frame, HEIGHT, MARGIN, WIDTH, axes, escape, svg};
use crate::{Band, Comparison};

const MODEL_COLOR: &str = "#1f77b4";
const POINTS_COLOR: &str = "#ff7f0e";
const LEGEND: [(&str, &str); 2] = [
    ("predictive model", MODEL_COLOR),
    ("points rules", POINTS_COLOR),
];

fn roc_chart(c: &Comparison) -> String {
    let frame = Frame {
        x: (0.0, 1.0),
        y: (0.0, 1.0),
    };
    let body = format!(
        "{}{}{}{}",
        axes(&frame, "false positive rate", "true positive rate"),
        frame.polyline(&[(0.0, 0.0), (1.0, 1.0)], "#999", true),
        frame.polyline(&c.model.roc, MODEL_COLOR, false),
        frame.polyline(&c.points.roc, POINTS_COLOR, false)
    );
    svg(
        "roc",
        &format!("ROC — AUC {:.3} vs {:.3}", c.model.auc, c.points.auc),
        &body,
        &LEGEND,
    )
}

fn gains_chart(c: &Comparison) -> String {
    let frame = Frame {
        x: (0.0, 1.0),
        y: (0.0, 1.0),
    };
    let curve = |gains: &[f64]| -> Vec<(f64, f64)> {
        std::iter::once((0.0, 0.0))
            .chain(
                gains
                    .iter()
                    .enumerate()
                    .map(|(d, &g)| ((d + 1) as f64 / 10.0, g)),
            )
            .collect()
    };
    let body = format!(
        "{}{}{}{}",
        axes(&frame, "share of leads worked", "share of wins reached"),
        frame.polyline(&[(0.0, 0.0), (1.0, 1.0)], "#999", true),
        frame.polyline(&curve(&c.model.gains), MODEL_COLOR, false),
        frame.polyline(&curve(&c.points.gains), POINTS_COLOR, false)
    );
    svg("gains", "Cumulative gains", &body, &LEGEND)
}

fn calibration_chart(c: &Comparison) -> String {
    let top = c
        .calibration
        .iter()
        .map(|b| b.predicted.max(b.observed))
        .fold(0.05, f64::max)
        * 1.1;
    let frame = Frame {
        x: (0.0, top),
        y: (0.0, top),
    };
    let mut body = axes(&frame, "predicted probability", "observed conversion");
    body.push_str(&frame.polyline(&[(0.0, 0.0), (top, top)], "#999", true));
    let points: Vec<(f64, f64)> = c
        .calibration
        .iter()
        .map(|b| (b.predicted, b.observed))
        .collect();
    body.push_str(&frame.polyline(&points, MODEL_COLOR, false));
    for (x, y) in points {
        let _ = write!(
            body,
            r#"<circle cx="{:.1}" cy="{:.1}" r="4" fill="{MODEL_COLOR}"/>"#,
            frame.px(x),
            frame.py(y)
        );
    }
    svg("calibration", "Model calibration (deciles)", &body, &[])
}

fn deciles_chart(c: &Comparison) -> String {
    let top = c
        .model
        .deciles
        .iter()
        .chain(&c.points.deciles)
        .map(|b| b.conversion)
        .fold(0.05, f64::max)
        * 1.1;
    let frame = Frame {
        x: (0.0, 10.0),
        y: (0.0, top),
    };
    let mut body = axes(&frame, "score decile (best first)", "conversion rate");
    let width = (WIDTH - 2.0 * MARGIN) / 10.0 / 2.0 - 2.0;
    for (d, (m, p)) in c.model.deciles.iter().zip(&c.points.deciles).enumerate() {
        for (k, (band, color)) in [(m, MODEL_COLOR), (p, POINTS_COLOR)]
            .into_iter()
            .enumerate()
        {
            let x = frame.px(d as f64) + 1.0 + k as f64 * (width + 1.0);
            let y = frame.py(band.conversion);
            let _ = write!(
                body,
                r#"<rect class="bar" x="{x:.1}" y="{y:.1}" width="{width:.1}" height="{:.1}" fill="{color}"><title>{}: {} of {} won</title></rect>"#,
                frame.py(0.0) - y,
                escape(&band.label),
                count(band.won),
                count(band.leads)
            );
        }
    }
    svg("deciles", "Conversion by score decile", &body, &LEGEND)
}

fn scatter_chart(c: &Comparison) -> String {
    let (low, high) = c
        .scatter
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), p| {
            (l.min(p.0), h.max(p.0))
        });
    let top = c.scatter.iter().map(|p| p.1).fold(0.05, f64::max);
    let frame = Frame {
        x: (low.min(0.0), high.max(low + 1.0)),
        y: (0.0, top),
    };
    let mut body = axes(&frame, "points", "model probability");
    let threshold = frame.px(c.threshold.mql_threshold);
    let _ = write!(
        body,
        r##"<line x1="{threshold:.1}" y1="{MARGIN}" x2="{threshold:.1}" y2="{:.1}" stroke="{POINTS_COLOR}" stroke-dasharray="4 3"/>"##,
        HEIGHT - MARGIN
    );
    for &(points, probability, won) in &c.scatter {
        let _ = write!(
            body,
            r##"<circle cx="{:.1}" cy="{:.1}" r="2" fill="{}" fill-opacity="0.6"/>"##,
            frame.px(points),
            frame.py(probability),
            if won { "#2ca02c" } else { "#888" }
        );
    }
    svg("scatter", "Points vs probability (green: won)", &body, &[])
}

/// A count that may be an expectation over tied scores: whole numbers without decimals.
fn count(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

/// One table row per difference: what, the estimate, its interval and the verdict.
fn difference_rows(out: &mut String, differences: &[crate::Difference]) {
    for d in differences {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{:+.4}</td><td>[{:+.4}, {:+.4}]</td><td class=\"verdict\">{}</td></tr>",
            escape(&d.what),
            d.estimate,
            d.low,
            d.high,
            escape(&d.verdict)
        );
    }
}

fn percent(value: f64) -> String {
    format!("{:.1}%", 100.0 * value)
}

fn band_table(title: &str, bands: &[Band]) -> String {
    let mut out = format!(
        "<h3>{}</h3><table><tr><th></th><th>leads</th><th>won</th><th>conversion</th></tr>",
        escape(title)
    );
    for band in bands {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&band.label),
            count(band.leads),
            count(band.won),
            percent(band.conversion)
        );
    }
    out.push_str("</table>");
    out
}

/// Renders the comparison; `title` names the model, rules and holdout.
pub fn render(c: &Comparison, title: &str) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{t}</title><style>
body{{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}}
table{{border-collapse:collapse;margin:8px 0 16px}}td,th{{border:1px solid #ccc;padding:4px 10px;text-align:right}}
th{{background:#f4f4f4}}td:first-child{{text-align:left}}.charts{{display:flex;flex-wrap:wrap;gap:12px}}
figure{{margin:0;border:1px solid #ddd}}.verdict{{font-weight:bold}}</style></head><body>
<h1>{t}</h1><p>{} holdout leads, {} won ({}).</p>"#,
        c.leads,
        c.won,
        percent(c.base_rate),
        t = escape(title)
    );
    out.push_str("<h2>Headline</h2><table id=\"headline\"><tr><th></th><th>predictive model</th><th>points rules</th></tr>");
    let row = |out: &mut String, name: &str, m: String, p: String| {
        let _ = write!(out, "<tr><td>{name}</td><td>{m}</td><td>{p}</td></tr>");
    };
    row(
        &mut out,
        "ROC AUC",
        format!("{:.4}", c.model.auc),
        format!("{:.4}", c.points.auc),
    );
    row(
        &mut out,
        "PR AUC",
        format!("{:.4}", c.model.pr_auc),
        format!("{:.4}", c.points.pr_auc),
    );
    for (m, p) in c.model.captured.iter().zip(&c.points.captured) {
        row(
            &mut out,
            &format!(
                "wins in the top {:.0}% ({} leads)",
                100.0 * m.share,
                count(m.leads)
            ),
            format!("{:.1} ({})", m.won, percent(m.share_of_wins)),
            format!("{:.1} ({})", p.won, percent(p.share_of_wins)),
        );
    }
    let t = &c.threshold;
    row(
        &mut out,
        &format!(
            "precision at the MQL volume ({} leads ≥ {} points)",
            t.mql_leads, t.mql_threshold
        ),
        percent(t.model_precision),
        percent(t.points_precision),
    );
    row(
        &mut out,
        "recall at the MQL volume",
        percent(t.model_recall),
        percent(t.points_recall),
    );
    out.push_str("</table><h2>Is the difference real?</h2><table id=\"differences\"><tr><th></th><th>model − points</th><th>95% bootstrap interval</th><th></th></tr>");
    difference_rows(&mut out, &c.differences);
    out.push_str("</table>");
    if let Some(revenue) = &c.revenue {
        let _ = write!(
            out,
            "<h2>Revenue routed</h2><p>{}.</p><table id=\"revenue\"><tr><th>sales work the top</th><th>model by probability</th><th>model by expected value</th><th>points</th></tr>",
            escape(&revenue.total_sentence())
        );
        for capture in &revenue.captured {
            let _ = write!(
                out,
                "<tr><td>{:.0}% of leads</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                100.0 * capture.share,
                percent(capture.by_probability),
                capture
                    .by_expected_value
                    .map_or_else(|| "—".to_owned(), percent),
                percent(capture.by_points)
            );
        }
        out.push_str("</table><table id=\"revenue-differences\"><tr><th></th><th>difference</th><th>95% bootstrap interval</th><th></th></tr>");
        difference_rows(&mut out, &revenue.differences);
        out.push_str("</table>");
    }
    out.push_str("<h2>Charts</h2><div class=\"charts\">");
    for chart in [
        roc_chart(c),
        gains_chart(c),
        calibration_chart(c),
        deciles_chart(c),
        scatter_chart(c),
    ] {
        out.push_str(&chart);
    }
    out.push_str("</div><h2>Lift by decile</h2><table><tr><th>decile</th>");
    for d in 1..=10 {
        let _ = write!(out, "<th>{d}</th>");
    }
    out.push_str("</tr>");
    for report in [&c.model, &c.points] {
        let _ = write!(out, "<tr><td>{}</td>", escape(&report.name));
        for lift in &report.lift {
            let _ = write!(out, "<td>{lift:.2}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
    out.push_str(&band_table("Conversion per model tier", &c.tiers));
    if !c.grades.is_empty() {
        out.push_str(&band_table("Conversion per points grade", &c.grades));
    }
    out.push_str("</body></html>\n");
    out
}
