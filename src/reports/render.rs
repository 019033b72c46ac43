//! Text and CSV views of reports (JSON is their serde form).

use std::fmt::Write as _;

use super::trend::{TrendChange, TrendReport};
use super::wave::WaveReport;
use crate::stats::{Change, Gated, Interval, QuestionSummary, SuppressionReason};

/// Neutralises a text cell that a spreadsheet would run as a formula. Spreadsheets
/// skip leading spaces and read full-width signs (＝＋－＠) as their ASCII forms, so the
/// cell is checked as NFKC-normalised and trimmed.
pub fn csv_text(cell: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let formula = cell.starts_with(['\t', '\r', '\n'])
        || cell
            .nfkc()
            .find(|c| !c.is_whitespace())
            .is_some_and(|c| matches!(c, '=' | '+' | '-' | '@' | '\u{2212}'));
    if formula {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}

/// A CSV writer for spreadsheets: UTF-8 with a byte order mark (without it Excel reads
/// the file in the local code page) and CRLF line ends.
fn spreadsheet_csv() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(b"\xEF\xBB\xBF".to_vec())
}

fn num(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(String::new, |v| format!("{v:.decimals$}"))
}

fn pct(value: Option<f64>) -> String {
    value.map_or_else(|| "-".into(), |v| format!("{:.0}%", v * 100.0))
}

/// A mean's interval as the reports write it: "no interval" where there is none (one
/// answer, or all alike), "(clipped)" where it was cut at the scale's ends.
pub fn mean_interval(s: &crate::stats::ScaleSummary) -> String {
    match s.mean_ci {
        None if s.n > 0 => "(no interval)".into(),
        None => String::new(),
        Some(i) if s.mean_ci_clipped() => format!("[{:.2}, {:.2}] (clipped)", i.lo, i.hi),
        Some(i) => format!("[{:.2}, {:.2}]", i.lo, i.hi),
    }
}

fn interval(i: Option<Interval>, f: impl Fn(f64) -> String) -> String {
    i.map_or_else(String::new, |i| format!("[{}, {}]", f(i.lo), f(i.hi)))
}

/// Lays out rows as aligned columns (terminal tables of every command).
pub fn table(rows: &[Vec<String>], indent: &str) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, cell)| format!("{cell:<w$}", w = widths[c]))
            .collect();
        let _ = writeln!(out, "{indent}{}", line.join("  ").trim_end());
    }
    out
}

fn summary_cells(summary: &QuestionSummary) -> Vec<String> {
    match summary {
        QuestionSummary::Scale(s) => vec![
            s.n.to_string(),
            match &s.hours {
                // lost_time: the mean hours say more than the mean band.
                Some(h) => format!(
                    "{} h lost {}",
                    num(h.mean_hours, 2),
                    interval(h.mean_hours_ci, |v| format!("{v:.2}"))
                ),
                None => format!("{} {}", num(s.mean, 2), mean_interval(s)),
            },
            format!(
                "{} {}",
                pct(s.favorable),
                interval(s.favorable_ci, |v| format!("{:.0}%", v * 100.0))
            ),
        ],
        QuestionSummary::Nps(s) => vec![
            s.n.to_string(),
            format!(
                "NPS {} {}",
                num(s.enps, 1),
                interval(s.enps_ci, |v| format!("{v:.1}"))
            ),
            format!("{}+ {}= {}-", s.promoters, s.passives, s.detractors),
        ],
        QuestionSummary::Choice(c) => vec![
            c.n.to_string(),
            c.options
                .iter()
                .map(|o| format!("{} {}", o.option, pct(o.share)))
                .collect::<Vec<_>>()
                .join(", "),
            String::new(),
        ],
        QuestionSummary::Text(t) => vec![t.n.to_string(), "comments".into(), String::new()],
    }
}

pub fn wave_text(report: &WaveReport, order: &[String]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} — wave {}  (figures need at least {} responses)",
        report.survey, report.wave, report.min_group_size
    );
    if !report.filters.is_empty() {
        let _ = writeln!(out, "filtered: {}", report.filters.join(", "));
    }
    for group in &report.groups {
        let name = group.department().unwrap_or("Whole audience");
        let _ = writeln!(out);
        let Some(figures) = group.content() else {
            let why = match group.suppression() {
                Some(SuppressionReason::TooFew { threshold }) => {
                    format!("fewer than {threshold} responses")
                }
                _ => crate::stats::suppression::DIFFERENCING_WORDING.to_string(),
            };
            let _ = writeln!(out, "{name}: {why}");
            continue;
        };
        let _ = writeln!(
            out,
            "{name}: {} respondents",
            group.respondents().unwrap_or(0)
        );
        let mut rows = vec![vec![
            "QUESTION".into(),
            "N".into(),
            "MEAN / SCORE [95% CI]".into(),
            "FAVOURABLE [95% CI]".into(),
        ]];
        for id in order {
            let Some(gated) = figures.questions.get(id) else {
                continue;
            };
            let mut row = vec![id.clone()];
            match gated.shown() {
                Some(summary) => row.extend(summary_cells(summary)),
                None => row.push(format!("fewer than {} answers", report.min_group_size)),
            }
            rows.push(row);
        }
        out.push_str(&table(&rows, "  "));
        if !figures.services.is_empty() {
            let mut rows = vec![vec![
                "SERVICE".into(),
                "N".into(),
                "SATISFACTION".into(),
                "FAVOURABLE".into(),
                "NPS".into(),
            ]];
            for (service, gated) in &figures.services {
                match gated.shown() {
                    Some(s) => rows.push(vec![
                        service.clone(),
                        s.n.to_string(),
                        num(s.satisfaction, 1),
                        pct(s.favorable),
                        num(s.nps, 1),
                    ]),
                    None => rows.push(vec![
                        service.clone(),
                        format!("fewer than {} answers", report.min_group_size),
                    ]),
                }
            }
            out.push_str(&table(&rows, "  "));
        }
        if let Some(drivers) = figures.drivers.as_ref().and_then(Gated::shown) {
            if !drivers.is_empty() {
                let list: Vec<String> = drivers
                    .iter()
                    .take(crate::stats::SHOWN_DRIVERS)
                    .map(|d| {
                        format!(
                            "{} (r {:.2}, {} favourable)",
                            d.question,
                            d.r,
                            pct(Some(d.favorable))
                        )
                    })
                    .collect();
                let _ = writeln!(out, "  key drivers of eNPS: {}", list.join("; "));
            }
        }
    }
    out
}

const WAVE_CSV_HEADER: [&str; 26] = [
    "department",
    "item",
    "type",
    "suppressed",
    "n",
    "mean",
    "sd",
    "mean_ci_low",
    "mean_ci_high",
    "favorable",
    "favorable_ci_low",
    "favorable_ci_high",
    "index",
    "enps",
    "enps_ci_low",
    "enps_ci_high",
    "promoters",
    "passives",
    "detractors",
    "satisfaction",
    "nps",
    "mean_hours",
    "sd_hours",
    "mean_hours_ci_low",
    "mean_hours_ci_high",
    // The definition's type (`csat`, `lost_time`, ...); `type` is the kind of row.
    "question_type",
];

/// Where the hours columns start (lost_time rows only).
const WAVE_CSV_HOURS: usize = 21;

fn f(v: Option<f64>) -> String {
    v.map_or_else(String::new, |v| format!("{v}"))
}

fn lo(i: Option<Interval>) -> String {
    f(i.map(|i| i.lo))
}

fn hi(i: Option<Interval>) -> String {
    f(i.map(|i| i.hi))
}

/// One row per (group, question) and (group, service); suppressed rows carry no figure.
pub fn wave_csv(report: &WaveReport, order: &[String]) -> Result<Vec<u8>, csv::Error> {
    let mut writer = spreadsheet_csv();
    writer.write_record(WAVE_CSV_HEADER)?;
    let blank = |row: &mut Vec<String>| row.resize(WAVE_CSV_HEADER.len(), String::new());
    for group in &report.groups {
        let department = csv_text(group.department().unwrap_or(""));
        let Some(figures) = group.content() else {
            let mut row = vec![department, String::new(), "group".into(), "true".into()];
            blank(&mut row);
            writer.write_record(&row)?;
            continue;
        };
        for id in order {
            let Some(gated) = figures.questions.get(id) else {
                continue;
            };
            let mut row = vec![department.clone(), csv_text(id)];
            match gated.shown() {
                None => {
                    row.extend(["question".into(), "true".into()]);
                }
                Some(QuestionSummary::Scale(s)) => row.extend([
                    "scale".into(),
                    "false".into(),
                    s.n.to_string(),
                    f(s.mean),
                    f(s.sd),
                    lo(s.mean_ci),
                    hi(s.mean_ci),
                    f(s.favorable),
                    lo(s.favorable_ci),
                    hi(s.favorable_ci),
                    f(s.index),
                ]),
                Some(QuestionSummary::Nps(s)) => row.extend([
                    "nps".into(),
                    "false".into(),
                    s.n.to_string(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    f(s.enps),
                    lo(s.enps_ci),
                    hi(s.enps_ci),
                    s.promoters.to_string(),
                    s.passives.to_string(),
                    s.detractors.to_string(),
                ]),
                Some(QuestionSummary::Choice(c)) => {
                    row.extend(["choice".into(), "false".into(), c.n.to_string()])
                }
                Some(QuestionSummary::Text(t)) => {
                    row.extend(["text".into(), "false".into(), t.n.to_string()])
                }
            }
            if let Some(QuestionSummary::Scale(s)) = gated.shown() {
                if let Some(h) = &s.hours {
                    row.resize(WAVE_CSV_HOURS, String::new());
                    row.extend([
                        f(h.mean_hours),
                        f(h.sd_hours),
                        lo(h.mean_hours_ci),
                        hi(h.mean_hours_ci),
                    ]);
                }
            }
            if let Some(kind) = report.question_types.get(id) {
                row.resize(WAVE_CSV_HEADER.len() - 1, String::new());
                row.push(kind.to_string());
            }
            blank(&mut row);
            writer.write_record(&row)?;
        }
        for (service, gated) in &figures.services {
            let mut row = vec![department.clone(), csv_text(&format!("service:{service}"))];
            match gated.shown() {
                None => row.extend(["service".into(), "true".into()]),
                Some(s) => {
                    row.extend(["service".into(), "false".into(), s.n.to_string()]);
                    row.resize(9, String::new());
                    row.push(f(s.favorable));
                    row.resize(19, String::new());
                    row.extend([f(s.satisfaction), f(s.nps)]);
                }
            }
            blank(&mut row);
            writer.write_record(&row)?;
        }
    }
    writer
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))
}

fn change_mark(change: &Change) -> String {
    match change.delta {
        None => String::new(),
        Some(d) => {
            let arrow = if d > 0.0 {
                "↑"
            } else if d < 0.0 {
                "↓"
            } else {
                "→"
            };
            let star = if change.significant { "*" } else { "" };
            format!("{arrow}{star}")
        }
    }
}

pub fn trend_text(report: &TrendReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} — trend for {}  (↑↓ change from the wave before; * significant at p < 0.05; ~ provisional: the wave is open)",
        report.survey,
        report.department.as_deref().unwrap_or("the whole audience")
    );
    // One row per wave and a column per question, in blocks as wide as a terminal:
    // 36 waves of 30 questions stay readable.
    let mut columns: Vec<Vec<String>> = Vec::new();
    columns.push(
        std::iter::once("WAVE".to_string())
            .chain(report.waves.iter().map(|w| {
                if w.provisional() {
                    format!("{}~", w.wave)
                } else {
                    w.wave.clone()
                }
            }))
            .collect(),
    );
    columns.push(
        std::iter::once("RESPONDENTS".to_string())
            .chain(report.waves.iter().map(|w| match w.respondents {
                Some(n) => n.to_string(),
                None => format!("<{}", report.min_group_size),
            }))
            .collect(),
    );
    for q in &report.questions {
        let mut column = vec![q.id.clone()];
        for (point, header) in q.waves.iter().zip(&report.waves) {
            // An open wave's change is not called significant: its figures may move.
            let mark = |change: &Change| {
                let mut change = *change;
                change.significant &= !header.provisional();
                change_mark(&change)
            };
            let cell = match point.figures.as_ref() {
                None => "—".to_string(),
                Some(gated) => match gated.shown() {
                    None => format!("<{}", report.min_group_size),
                    Some(QuestionSummary::Scale(s)) => {
                        let m = match &point.change {
                            Some(TrendChange::Scale(c)) => mark(&c.favorable),
                            _ => String::new(),
                        };
                        format!("{} {m}", pct(s.favorable)).trim_end().to_string()
                    }
                    Some(QuestionSummary::Nps(s)) => {
                        let m = match &point.change {
                            Some(TrendChange::Net { enps }) => mark(enps),
                            _ => String::new(),
                        };
                        format!("{} {m}", num(s.enps, 1)).trim_end().to_string()
                    }
                    Some(QuestionSummary::Choice(c)) => format!("n {}", c.n),
                    Some(QuestionSummary::Text(t)) => format!("n {}", t.n),
                },
            };
            column.push(cell);
        }
        columns.push(column);
    }
    out.push_str(&column_blocks(&columns, 2, TERMINAL_WIDTH));
    out.push_str("likert and rating: favourable share; eNPS/NPS: score from -100 to 100\n");
    out
}

/// The width text tables are laid out for.
const TERMINAL_WIDTH: usize = 100;

/// Lays out `columns` (each a header and its cells) as tables no wider than `width`,
/// each block repeating the first `keep` columns.
fn column_blocks(columns: &[Vec<String>], keep: usize, width: usize) -> String {
    let column_width = |c: &Vec<String>| c.iter().map(|s| s.chars().count()).max().unwrap_or(0) + 2;
    let kept_width: usize = columns.iter().take(keep).map(column_width).sum();
    let mut blocks: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut used = kept_width;
    for (i, c) in columns.iter().enumerate().skip(keep) {
        let w = column_width(c);
        if !current.is_empty() && used + w > width {
            blocks.push(std::mem::take(&mut current));
            used = kept_width;
        }
        current.push(i);
        used += w;
    }
    if !current.is_empty() || blocks.is_empty() {
        blocks.push(current);
    }
    let rows = columns.first().map_or(0, Vec::len);
    let mut out = String::new();
    for (b, block) in blocks.iter().enumerate() {
        if b > 0 {
            out.push('\n');
        }
        let chosen: Vec<&Vec<String>> = (0..keep.min(columns.len()))
            .chain(block.iter().copied())
            .map(|i| &columns[i])
            .collect();
        let table_rows: Vec<Vec<String>> = (0..rows)
            .map(|r| {
                chosen
                    .iter()
                    .map(|c| c.get(r).cloned().unwrap_or_default())
                    .collect()
            })
            .collect();
        out.push_str(&table(&table_rows, ""));
    }
    out
}

/// One row per (question, wave) with the change from the wave before.
pub fn trend_csv(report: &TrendReport) -> Result<Vec<u8>, csv::Error> {
    let mut writer = spreadsheet_csv();
    writer.write_record([
        "department",
        "question",
        "type",
        "wave",
        "asked",
        "suppressed",
        "n",
        "mean",
        "favorable",
        "enps",
        "delta_favorable",
        "p_favorable",
        "delta_mean",
        "p_mean",
        "delta_enps",
        "p_enps",
        "significant",
        "mean_hours",
        "delta_hours",
        "p_hours",
    ])?;
    let department = csv_text(report.department.as_deref().unwrap_or(""));
    for q in &report.questions {
        for point in &q.waves {
            let mut row = vec![
                department.clone(),
                csv_text(&q.id),
                q.kind.to_string(),
                csv_text(&point.wave),
            ];
            let Some(gated) = &point.figures else {
                row.push("false".into());
                row.resize(20, String::new());
                writer.write_record(&row)?;
                continue;
            };
            row.push("true".into());
            match gated.shown() {
                None => {
                    row.push("true".into());
                    row.resize(20, String::new());
                }
                Some(summary) => {
                    row.push("false".into());
                    match summary {
                        QuestionSummary::Scale(s) => {
                            row.extend([s.n.to_string(), f(s.mean), f(s.favorable), String::new()])
                        }
                        QuestionSummary::Nps(s) => {
                            row.extend([s.n.to_string(), String::new(), String::new(), f(s.enps)])
                        }
                        QuestionSummary::Choice(c) => row.extend([
                            c.n.to_string(),
                            String::new(),
                            String::new(),
                            String::new(),
                        ]),
                        QuestionSummary::Text(t) => row.extend([
                            t.n.to_string(),
                            String::new(),
                            String::new(),
                            String::new(),
                        ]),
                    }
                    let (fav, mean, enps) = match &point.change {
                        Some(TrendChange::Scale(c)) => (Some(c.favorable), Some(c.mean), None),
                        Some(TrendChange::Net { enps }) => (None, None, Some(*enps)),
                        None => (None, None, None),
                    };
                    for c in [fav, mean, enps] {
                        row.push(f(c.and_then(|c| c.delta)));
                        row.push(f(c.and_then(|c| c.p_value)));
                    }
                    let hours = match &point.change {
                        Some(TrendChange::Scale(c)) => c.hours,
                        _ => None,
                    };
                    let significant = [fav, mean, enps, hours]
                        .iter()
                        .flatten()
                        .any(|c| c.significant);
                    row.push(significant.to_string());
                    let mean_hours = match summary {
                        QuestionSummary::Scale(s) => s.hours.and_then(|h| h.mean_hours),
                        _ => None,
                    };
                    row.extend([
                        f(mean_hours),
                        f(hours.and_then(|c| c.delta)),
                        f(hours.and_then(|c| c.p_value)),
                    ]);
                }
            }
            writer.write_record(&row)?;
        }
    }
    writer
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(csv_text("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        for risky in ["+1", "-1", "@x", "\tx", "\rx"] {
            assert!(csv_text(risky).starts_with('\''), "{risky}");
        }
        assert_eq!(csv_text("Sales"), "Sales");
    }

    #[test]
    fn formulas_behind_spaces_or_in_full_width_are_neutralised() {
        for formula in [
            " =1+1",
            "\u{FF1D}1+1",
            "\u{3000}\u{FF0B}1",
            "\u{FF20}SUM(1)",
            "\u{FF0D}2",
            "\u{2212}2",
        ] {
            assert_eq!(csv_text(formula), format!("'{formula}"), "{formula:?}");
        }
        for plain in ["a=b", "", "  ok", "\u{FF21}"] {
            assert_eq!(csv_text(plain), plain);
        }
    }

    #[test]
    fn csv_starts_with_a_bom_and_ends_lines_with_crlf() {
        let report = TrendReport {
            survey: "s".into(),
            department: Some("=cmd|' /C calc'!A0".into()),
            min_group_size: 5,
            waves: Vec::new(),
            questions: Vec::new(),
        };
        let bytes = trend_csv(&report).unwrap();
        assert!(bytes.starts_with(b"\xEF\xBB\xBFdepartment,"));
        assert!(bytes.ends_with(b"p_hours\r\n"));
    }
}
