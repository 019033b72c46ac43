//! Charts drawn on the server as SVG: trend lines with interval whiskers, and interval
//! ("forest") plots. Pure functions of their inputs; every chart carries a `<title>` and
//! a `<desc>` for screen readers, and the pages show the same figures in a table.

use std::fmt::Write;

/// How a series' values read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A share 0..1, drawn as 0-100 %.
    Share,
    /// Net score points, -100..100.
    Points,
}

impl Unit {
    pub fn format(self, value: f64) -> String {
        match self {
            Unit::Share => format!("{:.0}%", value * 100.0),
            Unit::Points => format!("{value:+.0}"),
        }
    }

    fn range(self) -> (f64, f64) {
        match self {
            Unit::Share => (0.0, 1.0),
            Unit::Points => (-100.0, 100.0),
        }
    }
}

/// One wave of a trend.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendPoint {
    pub label: String,
    /// `None`: not shown (suppressed, or not asked).
    pub value: Option<f64>,
    pub interval: Option<(f64, f64)>,
    /// The change from the previous shown wave is significant.
    pub significant: bool,
    /// The wave is open: its figure may still move. Drawn hollow, never ringed.
    pub provisional: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TrendSeries {
    pub title: String,
    pub unit: Unit,
    pub points: Vec<TrendPoint>,
    /// A series to compare with (e.g. the whole company), one value per point; empty
    /// for none.
    pub comparison: Vec<Option<f64>>,
    /// What the comparison is, e.g. "Whole company".
    pub comparison_label: String,
}

/// Text safe inside SVG (XML) content and attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The colour class of a favourable share (or a score mapped to 0..1): `h0` (low, red)
/// to `h10` (high, green); the stylesheet holds the colours.
pub fn heat_class(share: f64) -> String {
    let bucket = (share.clamp(0.0, 1.0) * 10.0).round() as u8;
    format!("h{bucket}")
}

/// A sentence describing the trend, for `<desc>` and for the text around the chart.
pub fn describe(series: &TrendSeries) -> String {
    let mut parts = Vec::new();
    for p in &series.points {
        if p.provisional && p.value.is_some() {
            if let Some(v) = p.value {
                parts.push(format!(
                    "{}: {} so far (the wave is open)",
                    p.label,
                    series.unit.format(v)
                ));
            }
            continue;
        }
        let text = match (p.value, p.interval) {
            (Some(v), Some((lo, hi))) => format!(
                "{}: {} (95% interval {} to {}){}",
                p.label,
                series.unit.format(v),
                series.unit.format(lo),
                series.unit.format(hi),
                if p.significant {
                    ", a significant change"
                } else {
                    ""
                }
            ),
            (Some(v), None) => format!(
                "{}: {}{}",
                p.label,
                series.unit.format(v),
                if p.significant {
                    ", a significant change"
                } else {
                    ""
                }
            ),
            (None, _) => format!("{}: not shown", p.label),
        };
        parts.push(text);
    }
    let mut text = format!("{}. {}.", series.title, parts.join("; "));
    if series.comparison.iter().any(Option::is_some) {
        let compared: Vec<String> = series
            .points
            .iter()
            .zip(&series.comparison)
            .filter_map(|(p, v)| v.map(|v| format!("{}: {}", p.label, series.unit.format(v))))
            .collect();
        text.push_str(&format!(
            " {}: {}.",
            series.comparison_label,
            compared.join("; ")
        ));
    }
    text
}

const WIDTH: f64 = 560.0;
/// Pixels per viewBox unit at full size: a chart is drawn this large where the page has
/// room (text at 15 px), and narrower ones shrink it (CSS `max-width: 100%`).
const SCALE: f64 = 1.25;
const HEIGHT: f64 = 250.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 60.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 44.0;

/// A line chart of one series across waves: points joined where consecutive waves are
/// shown, 95 % intervals as whiskers, significant changes ringed and marked ▲/▼.
pub fn trend_svg(series: &TrendSeries, id: &str) -> String {
    let (lo, hi) = series.unit.range();
    // Wider with more waves, so that 36 monthly waves keep room between points.
    let width = (LEFT + RIGHT + 34.0 * series.points.len() as f64).clamp(WIDTH, 1200.0);
    let plot_w = width - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let n = series.points.len().max(1);
    let x = |i: usize| -> f64 {
        if n == 1 {
            LEFT + plot_w / 2.0
        } else {
            LEFT + plot_w * (i as f64) / ((n - 1) as f64)
        }
    };
    let y = |v: f64| -> f64 { TOP + plot_h * (1.0 - (v.clamp(lo, hi) - lo) / (hi - lo)) };
    let id = escape(id);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {width} {HEIGHT}" width="{0:.0}" height="{1:.0}" role="img" aria-labelledby="{id}-t {id}-d" xmlns="http://www.w3.org/2000/svg"><title id="{id}-t">{2}</title><desc id="{id}-d">{3}</desc>"#,
        width * SCALE,
        HEIGHT * SCALE,
        escape(&series.title),
        escape(&describe(series))
    );
    // Grid and axis labels.
    for k in 0..=4 {
        let v = lo + (hi - lo) * (k as f64) / 4.0;
        let yy = y(v);
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#d0d0d0" stroke-width="1"/><text x="{:.1}" y="{:.1}" text-anchor="end" font-size="12" fill="#444">{}</text>"##,
            width - RIGHT,
            LEFT - 6.0,
            yy + 4.0,
            escape(&series.unit.format(v))
        );
    }
    if series.unit == Unit::Points {
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}" stroke="#777" stroke-width="1.5"/>"##,
            y(0.0),
            width - RIGHT
        );
    }
    // Axis labels thinned to fit: every k-th wave, the last one always.
    let longest = series
        .points
        .iter()
        .map(|p| p.label.chars().count())
        .max()
        .unwrap_or(1) as f64;
    let spacing = if n > 1 {
        plot_w / (n - 1) as f64
    } else {
        plot_w
    };
    let every = ((longest * 7.0 + 10.0) / spacing).ceil().max(1.0) as usize;
    for (i, p) in series.points.iter().enumerate() {
        let last = i + 1 == n;
        if i % every != 0 && !last {
            continue;
        }
        // The last label pushes out the one before it when they would touch.
        if !last && (n - 1 - i) < every && n > 1 {
            continue;
        }
        let _ = write!(
            svg,
            r##"<text class="axis-label" x="{:.1}" y="{:.1}" text-anchor="middle" font-size="12" fill="#444">{}</text>"##,
            x(i),
            HEIGHT - BOTTOM + 18.0,
            escape(&p.label)
        );
    }
    // Interval whiskers.
    for (i, p) in series.points.iter().enumerate() {
        if let (Some(_), Some((a, b))) = (p.value, p.interval) {
            let xx = x(i);
            let _ = write!(
                svg,
                r##"<g stroke="#6b8fc7" stroke-width="2"><line x1="{xx:.1}" y1="{:.1}" x2="{xx:.1}" y2="{:.1}"/><line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}"/><line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}"/></g>"##,
                y(a),
                y(b),
                xx - 6.0,
                y(a),
                xx + 6.0,
                y(a),
                xx - 6.0,
                y(b),
                xx + 6.0,
                y(b)
            );
        }
    }
    // The comparison, dashed and grey, under the series.
    if series.comparison.iter().any(Option::is_some) {
        let mut path = String::new();
        let mut pen_down = false;
        for (i, v) in series.comparison.iter().enumerate() {
            match v {
                Some(v) => {
                    let _ = write!(
                        path,
                        "{}{:.1},{:.1} ",
                        if pen_down { "L" } else { "M" },
                        x(i),
                        y(*v)
                    );
                    pen_down = true;
                }
                None => pen_down = false,
            }
        }
        let _ = write!(
            svg,
            r##"<path d="{}" fill="none" stroke="#8a8a8a" stroke-width="2" stroke-dasharray="6 4"/>"##,
            path.trim_end()
        );
        for (i, v) in series.comparison.iter().enumerate() {
            if let Some(v) = v {
                let _ = write!(
                    svg,
                    r##"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="#8a8a8a"/>"##,
                    x(i),
                    y(*v)
                );
            }
        }
        let _ = write!(
            svg,
            r##"<g font-size="12" fill="#444"><line x1="{0:.1}" y1="10" x2="{1:.1}" y2="10" stroke="#0b4fa8" stroke-width="2.5"/><text x="{2:.1}" y="14">this group</text><line x1="{3:.1}" y1="10" x2="{4:.1}" y2="10" stroke="#8a8a8a" stroke-width="2" stroke-dasharray="6 4"/><text x="{5:.1}" y="14">{6}</text></g>"##,
            LEFT,
            LEFT + 22.0,
            LEFT + 28.0,
            LEFT + 120.0,
            LEFT + 142.0,
            LEFT + 148.0,
            escape(&series.comparison_label)
        );
    }
    // The line, broken where a wave is not shown.
    let mut path = String::new();
    let mut pen_down = false;
    for (i, p) in series.points.iter().enumerate() {
        match p.value {
            Some(v) => {
                let _ = write!(
                    path,
                    "{}{:.1},{:.1} ",
                    if pen_down { "L" } else { "M" },
                    x(i),
                    y(v)
                );
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    if !path.is_empty() {
        let _ = write!(
            svg,
            r##"<path d="{}" fill="none" stroke="#0b4fa8" stroke-width="2.5"/>"##,
            path.trim_end()
        );
    }
    let mut previous: Option<f64> = None;
    // Value labels only where they do not run into the one before (the table under the
    // chart holds every figure); the last wave's always.
    let label_room = 40.0;
    let mut labelled_at = f64::NEG_INFINITY;
    for (i, p) in series.points.iter().enumerate() {
        let xx = x(i);
        match p.value {
            Some(v) => {
                let yy = y(v);
                if p.provisional {
                    let _ = write!(
                        svg,
                        r##"<circle class="provisional" cx="{xx:.1}" cy="{yy:.1}" r="5" fill="#fff" stroke="#0b4fa8" stroke-width="2" stroke-dasharray="2 2"/>"##
                    );
                } else {
                    let _ = write!(
                        svg,
                        r##"<circle cx="{xx:.1}" cy="{yy:.1}" r="5" fill="#0b4fa8"/>"##
                    );
                }
                let last = i + 1 == n;
                if last || (xx - labelled_at >= label_room && x(n - 1) - xx >= label_room) {
                    // The value beside the point (not above: the whisker is there).
                    let _ = write!(
                        svg,
                        r##"<text class="value-label" x="{:.1}" y="{:.1}" font-size="13" font-weight="600" fill="#1b1b1b">{}{}</text>"##,
                        xx + 8.0,
                        yy - 6.0,
                        escape(&series.unit.format(v)),
                        if p.provisional { " so far" } else { "" }
                    );
                    labelled_at = xx;
                }
                if p.significant && !p.provisional {
                    let up = previous.is_none_or(|before| v >= before);
                    let colour = if up { "#1e7d32" } else { "#b00020" };
                    let _ = write!(
                        svg,
                        r##"<circle cx="{xx:.1}" cy="{yy:.1}" r="10" fill="none" stroke="{colour}" stroke-width="2.5"/><text x="{:.1}" y="{:.1}" font-size="13" fill="{colour}">{}</text>"##,
                        xx + 10.0,
                        yy + 18.0,
                        if up { "▲" } else { "▼" }
                    );
                }
                previous = Some(v);
            }
            None => {
                let _ = write!(
                    svg,
                    r##"<text x="{xx:.1}" y="{:.1}" text-anchor="middle" font-size="12" fill="#777">not shown</text>"##,
                    TOP + plot_h / 2.0
                );
            }
        }
    }
    svg.push_str("</svg>");
    svg
}

/// A key driver on the drivers chart.
#[derive(Debug, Clone, PartialEq)]
pub struct DriverPoint {
    /// Its number in the list beside the chart.
    pub label: String,
    pub name: String,
    pub r: f64,
    pub favorable: f64,
}

/// Key drivers: correlation with the outcome across (0 to 1), favourable share up;
/// the lower right (strong link, little favourable) is where to act first.
pub fn drivers_svg(points: &[DriverPoint]) -> String {
    // The x labels sit well below the axis: "0.00" would touch the "0%" beside it.
    let (w, h, left, right, top, bottom) = (420.0, 270.0, 50.0, 20.0, 20.0, 50.0);
    let x = |r: f64| left + (w - left - right) * r.clamp(0.0, 1.0);
    let y = |f: f64| top + (h - top - bottom) * (1.0 - f.clamp(0.0, 1.0));
    let desc: Vec<String> = points
        .iter()
        .map(|p| {
            format!(
                "{} {}: correlation {:.2}, {} favourable",
                p.label,
                p.name,
                p.r,
                Unit::Share.format(p.favorable)
            )
        })
        .collect();
    let mut svg = format!(
        r#"<svg class="chart drivers" viewBox="0 0 {w} {h}" width="{0:.0}" height="{1:.0}" role="img" aria-labelledby="drivers-t drivers-d" xmlns="http://www.w3.org/2000/svg"><title id="drivers-t">Key drivers: correlation with eNPS against favourable share</title><desc id="drivers-d">{2}</desc>"#,
        w * SCALE,
        h * SCALE,
        escape(&desc.join("; "))
    );
    for k in 0..=4 {
        let v = k as f64 / 4.0;
        let _ = write!(
            svg,
            r##"<line x1="{left}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}" stroke="#e0e0e0"/><text x="{2:.1}" y="{3:.1}" text-anchor="end" font-size="11" fill="#444">{4}</text><line x1="{5:.1}" y1="{top}" x2="{5:.1}" y2="{6:.1}" stroke="#e0e0e0"/><text x="{5:.1}" y="{7:.1}" text-anchor="middle" font-size="11" fill="#444">{8:.2}</text>"##,
            y(v),
            w - right,
            left - 6.0,
            y(v) + 4.0,
            Unit::Share.format(v),
            x(v),
            h - bottom,
            h - bottom + 20.0,
            v
        );
    }
    let _ = write!(
        svg,
        r##"<text x="{0:.1}" y="{1:.1}" text-anchor="middle" font-size="12" fill="#1b1b1b">correlation with eNPS →</text>"##,
        left + (w - left - right) / 2.0,
        h - 6.0
    );
    // Numbered markers must not cover each other: a marker that would is moved up or
    // down to the nearest free place, and a line joins it to a dot at its true point.
    let mut placed: Vec<(f64, f64)> = Vec::with_capacity(points.len());
    for p in points {
        let (px, py) = (x(p.r), y(p.favorable));
        let free = |cy: f64| {
            placed
                .iter()
                .all(|(ox, oy)| (ox - px).hypot(oy - cy) >= 20.0)
        };
        let my = (0..40)
            .map(|k| {
                let step = f64::from((k + 1) / 2) * 20.0;
                if k % 2 == 1 {
                    py - step
                } else {
                    py + step
                }
            })
            .map(|cy| cy.clamp(top + 9.0, h - bottom - 9.0))
            .find(|cy| free(*cy))
            .unwrap_or(py);
        if (my - py).abs() > 0.5 {
            let _ = write!(
                svg,
                r##"<line x1="{px:.1}" y1="{py:.1}" x2="{px:.1}" y2="{my:.1}" stroke="#0b4fa8"/><circle cx="{px:.1}" cy="{py:.1}" r="2.5" fill="#0b4fa8"/>"##,
            );
        }
        placed.push((px, my));
        let _ = write!(
            svg,
            r##"<circle cx="{0:.1}" cy="{1:.1}" r="9" fill="#0b4fa8"/><text x="{0:.1}" y="{2:.1}" text-anchor="middle" font-size="11" font-weight="700" fill="#fff">{3}</text>"##,
            px,
            my,
            my + 4.0,
            escape(&p.label)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// One row of an interval plot.
#[derive(Debug, Clone, PartialEq)]
pub struct IntervalRow {
    pub label: String,
    pub value: f64,
    pub interval: Option<(f64, f64)>,
}

/// Values with their intervals on one axis, one row each (e.g. eNPS by department).
pub fn interval_svg(title: &str, unit: Unit, rows: &[IntervalRow], id: &str) -> String {
    let (lo, hi) = unit.range();
    let label_w = 170.0;
    let row_h = 28.0;
    let height = TOP + row_h * rows.len() as f64 + 30.0;
    let plot_w = WIDTH - label_w - RIGHT;
    let x = |v: f64| label_w + plot_w * (v.clamp(lo, hi) - lo) / (hi - lo);
    let id = escape(id);
    let desc = rows
        .iter()
        .map(|r| match r.interval {
            Some((a, b)) => format!(
                "{}: {} (95% interval {} to {})",
                r.label,
                unit.format(r.value),
                unit.format(a),
                unit.format(b)
            ),
            None => format!("{}: {}", r.label, unit.format(r.value)),
        })
        .collect::<Vec<_>>()
        .join("; ");
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {height:.0}" width="{0:.0}" height="{1:.0}" role="img" aria-labelledby="{id}-t {id}-d" xmlns="http://www.w3.org/2000/svg"><title id="{id}-t">{2}</title><desc id="{id}-d">{3}</desc>"#,
        WIDTH * SCALE,
        height * SCALE,
        escape(title),
        escape(&desc)
    );
    let axis_y = TOP + row_h * rows.len() as f64;
    for k in 0..=4 {
        let v = lo + (hi - lo) * (k as f64) / 4.0;
        let _ = write!(
            svg,
            r##"<line x1="{0:.1}" y1="{TOP}" x2="{0:.1}" y2="{axis_y:.1}" stroke="{1}" stroke-width="1"/><text x="{0:.1}" y="{2:.1}" text-anchor="middle" font-size="12" fill="#444">{3}</text>"##,
            x(v),
            if unit == Unit::Points && k == 2 {
                "#777"
            } else {
                "#d0d0d0"
            },
            axis_y + 18.0,
            escape(&unit.format(v))
        );
    }
    for (i, r) in rows.iter().enumerate() {
        let yy = TOP + row_h * (i as f64 + 0.5);
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end" font-size="13" fill="#1b1b1b">{}</text>"##,
            label_w - 10.0,
            yy + 4.0,
            escape(&truncate(&r.label, 24))
        );
        if let Some((a, b)) = r.interval {
            let _ = write!(
                svg,
                r##"<line x1="{:.1}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#6b8fc7" stroke-width="3"/>"##,
                x(a),
                x(b)
            );
        }
        let _ = write!(
            svg,
            r##"<circle cx="{:.1}" cy="{yy:.1}" r="5" fill="#0b4fa8"/>"##,
            x(r.value)
        );
    }
    svg.push_str("</svg>");
    svg
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max - 1).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn driver_markers_at_one_point_are_moved_apart_and_joined_to_it() {
        let point = |label: &str| DriverPoint {
            label: label.into(),
            name: format!("q{label}"),
            r: 0.5,
            favorable: 0.5,
        };
        let svg = drivers_svg(&[point("1"), point("2"), point("3")]);
        let centres: Vec<f64> = svg
            .match_indices(r#"r="9" fill"#)
            .map(|(at, _)| {
                let before = &svg[..at];
                let cy = before.rfind("cy=\"").unwrap() + 4;
                before[cy..cy + before[cy..].find('"').unwrap()]
                    .parse()
                    .unwrap()
            })
            .collect();
        assert_eq!(centres.len(), 3);
        for (i, a) in centres.iter().enumerate() {
            for b in &centres[i + 1..] {
                assert!((a - b).abs() >= 20.0, "{centres:?}");
            }
        }
        assert_eq!(
            svg.matches(r#"r="2.5""#).count(),
            2,
            "two moved markers keep a dot"
        );
    }

    fn series() -> TrendSeries {
        TrendSeries {
            title: "IT is <fast> & \"good\"".into(),
            unit: Unit::Share,
            points: vec![
                TrendPoint {
                    label: "2025".into(),
                    value: Some(0.5),
                    interval: Some((0.4, 0.6)),
                    significant: false,
                    provisional: false,
                },
                TrendPoint {
                    label: "2026".into(),
                    value: None,
                    interval: None,
                    significant: false,
                    provisional: false,
                },
                TrendPoint {
                    label: "2027".into(),
                    value: Some(0.7),
                    interval: Some((0.6, 0.8)),
                    significant: true,
                    provisional: false,
                },
            ],
            comparison: Vec::new(),
            comparison_label: String::new(),
        }
    }

    /// The x of every element of `class`, in order.
    fn xs_of(svg: &str, class: &str) -> Vec<f64> {
        let marker = format!("class=\"{class}\" x=\"");
        svg.match_indices(&marker)
            .map(|(at, _)| {
                let rest = &svg[at + marker.len()..];
                rest[..rest.find('"').unwrap()].parse().unwrap()
            })
            .collect()
    }

    #[test]
    fn thirty_six_monthly_waves_keep_their_labels_apart() {
        let points: Vec<TrendPoint> = (0..36)
            .map(|i| TrendPoint {
                label: format!("{}-{:02}", 2024 + i / 12, i % 12 + 1),
                value: Some(0.5 + (i % 5) as f64 * 0.05),
                interval: Some((0.4, 0.7)),
                significant: i == 35,
                provisional: i == 35,
            })
            .collect();
        let svg = trend_svg(
            &TrendSeries {
                title: "IT".into(),
                unit: Unit::Share,
                points,
                comparison: Vec::new(),
                comparison_label: String::new(),
            },
            "t",
        );
        // "2024-01" is 7 characters, about 7 px each at 12 px.
        let axis = xs_of(&svg, "axis-label");
        assert!(axis.len() >= 6 && axis.len() < 36, "{axis:?}");
        assert!(
            axis.windows(2).all(|w| w[1] - w[0] >= 49.0 + 10.0),
            "{axis:?}"
        );
        assert!(
            svg.contains(">2026-12</text>"),
            "the latest wave is labelled"
        );
        let values = xs_of(&svg, "value-label");
        assert!(values.windows(2).all(|w| w[1] - w[0] >= 40.0), "{values:?}");
        // The open wave: hollow, "so far", never ringed as significant.
        assert!(svg.contains("class=\"provisional\""));
        assert!(svg.contains("so far"));
        assert!(!svg.contains("r=\"10\""), "no ring on a provisional point");
        assert!(describe(&TrendSeries {
            title: String::new(),
            unit: Unit::Share,
            points: vec![TrendPoint {
                label: "2026-12".into(),
                value: Some(0.5),
                interval: None,
                significant: true,
                provisional: true,
            }],
            comparison: Vec::new(),
            comparison_label: String::new(),
        })
        .contains("2026-12: 50% so far (the wave is open)"));
    }

    #[test]
    fn a_comparison_is_drawn_and_described() {
        let mut s = series();
        s.comparison = vec![Some(0.6), None, Some(0.65)];
        s.comparison_label = "Whole company".into();
        let svg = trend_svg(&s, "c");
        assert!(svg.contains("stroke-dasharray"));
        assert!(svg.contains("Whole company: 2025: 60%; 2027: 65%."));
    }

    #[test]
    fn trend_chart_is_accessible_escaped_and_marks_changes() {
        let svg = trend_svg(&series(), "q1");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(
            svg.contains(r#"<title id="q1-t">IT is &lt;fast&gt; &amp; &quot;good&quot;</title>"#)
        );
        assert!(svg.contains("<desc id=\"q1-d\">"));
        assert!(svg.contains("2026: not shown"));
        assert!(svg.contains("2027: 70% (95% interval 60% to 80%), a significant change"));
        assert!(!svg.contains("<fast>"));
        assert!(svg.contains("▲"), "a significant rise is marked");
        // The hidden wave breaks the line: two separate moves, no line through it.
        assert_eq!(svg.matches('M').count() - svg.matches("M ").count(), 2);
        assert!(svg.contains(">not shown</text>"));
    }

    #[test]
    fn heat_classes_cover_the_range() {
        assert_eq!(heat_class(0.0), "h0");
        assert_eq!(heat_class(0.72), "h7");
        assert_eq!(heat_class(1.0), "h10");
        assert_eq!(heat_class(-3.0), "h0");
        assert_eq!(heat_class(f64::NAN.max(2.0)), "h10");
    }

    #[test]
    fn interval_plot_lists_every_row() {
        let rows = vec![
            IntervalRow {
                label: "Whole company".into(),
                value: 12.0,
                interval: Some((-9.1, 33.5)),
            },
            IntervalRow {
                label: "A <b>".into(),
                value: -20.0,
                interval: None,
            },
        ];
        let svg = interval_svg("eNPS", Unit::Points, &rows, "enps");
        assert!(svg.contains("Whole company: +12 (95% interval -9 to +34)"));
        assert!(svg.contains("A &lt;b&gt;"));
        assert_eq!(svg.matches("<circle").count(), 2);
    }
}
