//! Inline SVG charts drawn on the server: no scripts, no fonts, no network. The offline report
//! ([`crate::html`]) and the web console of `leadscore serve` draw with these pieces, so a chart
//! looks and reads the same everywhere.

use std::fmt::Write as _;

/// Width of a chart, in SVG units (it scales down with the page through its `viewBox`).
pub const WIDTH: f64 = 420.0;
/// Height of a chart, in SVG units.
pub const HEIGHT: f64 = 300.0;
/// Space around the plot area for ticks and labels.
pub const MARGIN: f64 = 45.0;

/// Text made safe for HTML and SVG element content and attribute values.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A plot area mapping data ranges to pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    /// Data range of the horizontal axis.
    pub x: (f64, f64),
    /// Data range of the vertical axis.
    pub y: (f64, f64),
}

impl Frame {
    /// Horizontal pixel of a data value.
    pub fn px(&self, x: f64) -> f64 {
        MARGIN
            + (x - self.x.0) / (self.x.1 - self.x.0).max(f64::MIN_POSITIVE) * (WIDTH - 2.0 * MARGIN)
    }

    /// Vertical pixel of a data value.
    pub fn py(&self, y: f64) -> f64 {
        HEIGHT
            - MARGIN
            - (y - self.y.0) / (self.y.1 - self.y.0).max(f64::MIN_POSITIVE)
                * (HEIGHT - 2.0 * MARGIN)
    }

    /// A line through data points.
    pub fn polyline(&self, points: &[(f64, f64)], color: &str, dashed: bool) -> String {
        let coordinates: Vec<String> = points
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", self.px(x), self.py(y)))
            .collect();
        format!(
            r#"<polyline fill="none" stroke="{color}" stroke-width="2"{} points="{}"/>"#,
            if dashed {
                r#" stroke-dasharray="4 3""#
            } else {
                ""
            },
            coordinates.join(" ")
        )
    }
}

/// Axes with five numeric ticks each and their labels.
pub fn axes(frame: &Frame, x_label: &str, y_label: &str) -> String {
    axes_with(frame, x_label, y_label, &tick, &tick)
}

/// Axes whose tick texts come from `x_tick` and `y_tick` (dates, percentages); an empty text
/// leaves a tick unlabelled.
pub fn axes_with(
    frame: &Frame,
    x_label: &str,
    y_label: &str,
    x_tick: &dyn Fn(f64) -> String,
    y_tick: &dyn Fn(f64) -> String,
) -> String {
    let mut out = String::new();
    let (left, right) = (MARGIN, WIDTH - MARGIN);
    let (top, bottom) = (MARGIN, HEIGHT - MARGIN);
    let _ = write!(
        out,
        r##"<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#333"/><line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" stroke="#333"/>"##
    );
    for k in 0..=4 {
        let t = f64::from(k) / 4.0;
        let (x, y) = (
            frame.x.0 + t * (frame.x.1 - frame.x.0),
            frame.y.0 + t * (frame.y.1 - frame.y.0),
        );
        let _ = write!(
            out,
            r##"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle">{}</text><text x="{:.1}" y="{:.1}" font-size="10" text-anchor="end">{}</text>"##,
            frame.px(x),
            bottom + 14.0,
            escape(&x_tick(x)),
            left - 4.0,
            frame.py(y) + 3.0,
            escape(&y_tick(y))
        );
    }
    let _ = write!(
        out,
        r##"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle">{}</text><text x="12" y="{:.1}" font-size="11" text-anchor="middle" transform="rotate(-90 12 {:.1})">{}</text>"##,
        WIDTH / 2.0,
        HEIGHT - 8.0,
        escape(x_label),
        HEIGHT / 2.0,
        HEIGHT / 2.0,
        escape(y_label)
    );
    out
}

/// A tick's text: whole numbers from 10 up, two decimals below.
pub fn tick(value: f64) -> String {
    if value.abs() >= 10.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

/// A tick as a percentage of 1.
pub fn percent_tick(value: f64) -> String {
    format!("{:.0}%", 100.0 * value)
}

/// The chart around a drawn body: a white background, the title, and a legend of
/// `(name, color)` entries in the top right corner.
pub fn svg(id: &str, title: &str, body: &str, legend: &[(&str, &str)]) -> String {
    let mut keys = String::new();
    let mut right = WIDTH - 8.0;
    for (name, color) in legend.iter().rev() {
        // About 6 units per character at font size 11.
        let width = 14.0 + 6.0 * name.chars().count() as f64;
        right -= width + 10.0;
        let _ = write!(
            keys,
            r##"<rect x="{right:.1}" y="8" width="10" height="10" fill="{color}"/><text x="{:.1}" y="17" font-size="11">{}</text>"##,
            right + 14.0,
            escape(name)
        );
    }
    format!(
        r##"<figure><svg id="{id}" class="chart" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{t}"><rect width="100%" height="100%" fill="#fff"/><text x="{MARGIN}" y="{title_y}" font-size="13" font-weight="bold">{t}</text>{keys}{body}</svg></figure>"##,
        t = escape(title),
        title_y = if legend.is_empty() { 30 } else { 36 },
    )
}

/// One bar of a [`bar_chart`].
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// Text under the bar (left out when bars are too many to label each).
    pub label: String,
    /// Height.
    pub value: f64,
    /// Fill color.
    pub color: String,
    /// Text shown on hover.
    pub tooltip: String,
}

/// The smallest of 1, 2, 2.5, 4, 5 or 8 times a power of ten at or above `value`, so the four
/// axis intervals fall on round numbers.
pub fn nice_ceiling(value: f64) -> f64 {
    if value.is_nan() || value <= 0.0 || value.is_infinite() {
        return 1.0;
    }
    let power = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 2.5, 4.0, 5.0, 8.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|&top| top >= value * (1.0 - 1e-12))
        .unwrap_or(10.0 * power)
}

/// Vertical bars over categories (tiers, days); the value axis starts at 0 and reads as a
/// percentage of 1 when `percent` is set.
pub fn bar_chart(id: &str, title: &str, y_label: &str, bars: &[Bar], percent: bool) -> String {
    let largest = bars.iter().map(|b| b.value).fold(0.0, f64::max);
    let top = nice_ceiling(if percent {
        largest.max(0.01)
    } else {
        largest.max(4.0)
    });
    let frame = Frame {
        x: (0.0, bars.len().max(1) as f64),
        y: (0.0, top),
    };
    let y_tick: &dyn Fn(f64) -> String = if percent {
        &percent_tick
    } else {
        &|v: f64| {
            if v.fract().abs() < 1e-9 {
                format!("{v:.0}")
            } else {
                format!("{v:.1}")
            }
        }
    };
    let mut body = axes_with(&frame, "", y_label, &|_| String::new(), y_tick);
    let slot = (WIDTH - 2.0 * MARGIN) / bars.len().max(1) as f64;
    let every = bars.len().div_ceil(8).max(1);
    for (k, bar) in bars.iter().enumerate() {
        let x = frame.px(k as f64) + slot * 0.1;
        let y = frame.py(bar.value);
        let _ = write!(
            body,
            r#"<rect class="bar" x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{}</title></rect>"#,
            slot * 0.8,
            frame.py(0.0) - y,
            escape(&bar.color),
            escape(&bar.tooltip)
        );
        if k % every == 0 {
            let _ = write!(
                body,
                r#"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle">{}</text>"#,
                x + slot * 0.4,
                HEIGHT - MARGIN + 14.0,
                escape(&bar.label)
            );
        }
    }
    svg(id, title, &body, &[])
}

/// One line of a [`line_chart`].
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Name in the legend.
    pub name: String,
    /// Stroke color.
    pub color: String,
    /// Value at each position of the horizontal axis; `None` leaves a position out.
    pub values: Vec<Option<f64>>,
}

/// Lines over labelled positions (weeks, days); the value axis starts at 0 and reads as a
/// percentage when every value is at most 1 and `percent` is set.
pub fn line_chart(
    id: &str,
    title: &str,
    y_label: &str,
    positions: &[String],
    series: &[Series],
    percent: bool,
) -> String {
    let top = nice_ceiling(
        series
            .iter()
            .flat_map(|s| s.values.iter().flatten())
            .fold(0.0, |a: f64, &b| a.max(b))
            .max(if percent { 0.05 } else { 1.0 }),
    );
    let last = positions.len().saturating_sub(1).max(1) as f64;
    let frame = Frame {
        x: (0.0, last),
        y: (0.0, top),
    };
    let y_tick: &dyn Fn(f64) -> String = if percent { &percent_tick } else { &tick };
    let mut body = axes_with(&frame, "", y_label, &|_| String::new(), y_tick);
    let every = positions.len().div_ceil(6).max(1);
    for (k, position) in positions.iter().enumerate().step_by(every) {
        let _ = write!(
            body,
            r#"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle">{}</text>"#,
            frame.px(k as f64),
            HEIGHT - MARGIN + 14.0,
            escape(position)
        );
    }
    for s in series {
        let points: Vec<(f64, f64)> = s
            .values
            .iter()
            .enumerate()
            .filter_map(|(k, v)| v.map(|v| (k as f64, v)))
            .collect();
        body.push_str(&frame.polyline(&points, &s.color, false));
        for &(x, y) in &points {
            let _ = write!(
                body,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{}"><title>{}: {}</title></circle>"#,
                frame.px(x),
                frame.py(y),
                escape(&s.color),
                escape(&s.name),
                y_tick(y)
            );
        }
    }
    let legend: Vec<(&str, &str)> = series
        .iter()
        .map(|s| (s.name.as_str(), s.color.as_str()))
        .collect();
    svg(id, title, &body, &legend)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_bars_scale_to_the_largest() {
        let bars = [
            Bar {
                label: "<A>".into(),
                value: 10.0,
                color: "#123456".into(),
                tooltip: "A & co".into(),
            },
            Bar {
                label: "B".into(),
                value: 5.0,
                color: "#123456".into(),
                tooltip: "B".into(),
            },
        ];
        let chart = bar_chart("bars", "Tiers", "leads", &bars, false);
        assert!(chart.contains("&lt;A&gt;") && chart.contains("A &amp; co"));
        assert!(!chart.contains("<A>"));
        let heights: Vec<f64> = chart
            .split("height=\"")
            .skip(2)
            .filter_map(|s| s.split('"').next()?.parse().ok())
            .collect();
        assert_eq!(heights.len(), 2, "{chart}");
        assert!((heights[0] / heights[1] - 2.0).abs() < 0.01, "{heights:?}");
    }

    #[test]
    fn axes_end_on_round_numbers() {
        for (value, top) in [
            (134.0, 200.0),
            (0.44, 0.5),
            (0.07, 0.08),
            (1.0, 1.0),
            (3.1, 4.0),
            (0.0, 1.0),
        ] {
            assert!(
                (nice_ceiling(value) - top).abs() < 1e-12,
                "{value} → {}",
                nice_ceiling(value)
            );
        }
    }

    #[test]
    fn lines_skip_missing_positions_and_label_the_axis() {
        let chart = line_chart(
            "weeks",
            "Conversion",
            "conversion",
            &["W1".into(), "W2".into(), "W3".into()],
            &[Series {
                name: "points".into(),
                color: "#ff7f0e".into(),
                values: vec![Some(0.1), None, Some(0.2)],
            }],
            true,
        );
        assert_eq!(chart.matches("<circle").count(), 2);
        assert!(chart.contains(">W1<") && chart.contains(">W3<"));
        assert!(chart.contains(">points<"));
    }
}
