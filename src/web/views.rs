//! View models of the results pages: heatmaps, eNPS, drivers and trend charts, built
//! from reports that the anonymity plan and the account's rights have already cut.
//! Pure: easy to test, and nothing here can show more than its input holds.

use serde::Serialize;

use super::charts::{self, IntervalRow, TrendPoint, TrendSeries, Unit};
use crate::auth::rights::ScopedReport;
use crate::definitions::{Definition, QuestionKind};
use crate::reports::trend::{TrendChange, TrendReport};
use crate::stats::suppression::DIFFERENCING_WORDING;
use crate::stats::{QuestionSummary, SuppressionReason};

#[derive(Debug, Clone, Serialize)]
pub struct Column {
    pub key: String,
    pub label: String,
    /// The question's text, shortened for a column heading.
    pub short: String,
    pub full: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub text: String,
    pub sub: String,
    pub class: String,
    /// The figure, for sorting by a column.
    #[serde(skip)]
    pub value: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HeatRow {
    pub name: String,
    pub depth: usize,
    pub note: Option<String>,
    pub cells: Vec<Cell>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Heatmap {
    pub caption: String,
    /// The column the rows are sorted by (highest first), if any.
    pub sorted_by: Option<String>,
    /// Headings over runs of columns (a survey's sections: its services); empty when
    /// there is one.
    pub sections: Vec<ColumnGroup>,
    pub columns: Vec<Column>,
    pub rows: Vec<HeatRow>,
}

/// A heading over `span` consecutive columns.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnGroup {
    pub title: String,
    pub span: usize,
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max - 1).collect();
        format!("{}…", cut.trim_end())
    }
}

/// What a withheld figure says instead.
pub fn withheld(reason: Option<SuppressionReason>, min_group_size: u64) -> String {
    match reason {
        Some(SuppressionReason::TooFew { threshold }) => format!("fewer than {threshold}"),
        Some(SuppressionReason::Differencing) => DIFFERENCING_WORDING.into(),
        Some(SuppressionReason::GroupSuppressed) | None => format!("fewer than {min_group_size}"),
    }
}

fn hidden_cell(reason: Option<SuppressionReason>, min: u64) -> Cell {
    Cell {
        value: None,
        text: "–".into(),
        sub: withheld(reason, min),
        class: "hs".into(),
    }
}

fn group_name(name: Option<&str>) -> String {
    name.map_or_else(|| "Whole company".to_string(), str::to_string)
}

fn depth_of(definition_org: &crate::reports::org::Org, name: Option<&str>) -> usize {
    name.and_then(|n| definition_org.by_name(n))
        .map_or(0, |d| d.depth + 1)
}

/// Departments × questions: the favourable share of each likert and rating question,
/// eNPS and NPS as scores, with n; withheld cells say why.
pub fn question_heatmap(
    report: &ScopedReport,
    definition: &Definition,
    org: &crate::reports::org::Org,
) -> Heatmap {
    let mut sections: Vec<ColumnGroup> = Vec::new();
    let mut questions: Vec<(&str, String, bool)> = Vec::new();
    let mut columns: Vec<Column> = Vec::new();
    for section in &definition.sections {
        let before = questions.len();
        for q in &section.questions {
            let net = match q.kind {
                QuestionKind::Likert { .. } | QuestionKind::Rating { .. } => false,
                QuestionKind::Enps | QuestionKind::Nps => true,
                _ => continue,
            };
            let text = q.text.get(&definition.language).to_string();
            columns.push(Column {
                key: q.id.value.clone(),
                label: format!("Q{}", questions.len() + 1),
                // The definition's short label, else the text cut to fit a heading.
                short: q.label.clone().unwrap_or_else(|| shorten(&text, 28)),
                // A fixed measure says which, in the legend and on hover.
                full: match q.measure {
                    Some(m) => format!("{text} ({})", m.type_name()),
                    None => text.clone(),
                },
            });
            questions.push((q.id.value.as_str(), text, net));
        }
        if questions.len() > before {
            sections.push(ColumnGroup {
                title: section.title.get(&definition.language).to_string(),
                span: questions.len() - before,
            });
        }
    }
    if sections.len() < 2 {
        sections.clear();
    }
    let min = report.min_group_size;
    let rows = report
        .groups
        .iter()
        .map(|g| {
            let name = group_name(g.department());
            let depth = depth_of(org, g.department());
            match g.content() {
                None => HeatRow {
                    name,
                    depth,
                    note: Some(match g.suppression() {
                        Some(SuppressionReason::Differencing) => DIFFERENCING_WORDING.to_string(),
                        reason => format!("{} responses", withheld(reason, min)),
                    }),
                    cells: questions
                        .iter()
                        .map(|_| hidden_cell(g.suppression(), min))
                        .collect(),
                },
                Some(figures) => HeatRow {
                    name,
                    depth,
                    note: g.respondents().map(|n| format!("{n} responses")),
                    cells: questions
                        .iter()
                        .map(|(id, _, _)| match figures.questions.get(*id) {
                            None => hidden_cell(None, min),
                            Some(gated) => match gated.shown() {
                                None => hidden_cell(gated.suppression(), min),
                                Some(QuestionSummary::Scale(s)) => match s.favorable {
                                    // lost_time: favourable is losing under 30 minutes, so
                                    // the colour reads the right way; the hours go below.
                                    Some(f) => Cell {
                                        text: Unit::Share.format(f),
                                        sub: match s.hours.and_then(|h| h.mean_hours) {
                                            Some(h) => format!("n={} · {h:.1} h lost", s.n),
                                            None => format!("n={}", s.n),
                                        },
                                        class: charts::heat_class(f),
                                        value: Some(f),
                                    },
                                    None => Cell {
                                        text: "–".into(),
                                        sub: "no answers".into(),
                                        class: "hn".into(),
                                        value: None,
                                    },
                                },
                                Some(QuestionSummary::Nps(s)) => match s.enps {
                                    Some(e) => Cell {
                                        text: Unit::Points.format(e),
                                        sub: format!("n={}", s.n),
                                        class: charts::heat_class((e + 100.0) / 200.0),
                                        value: Some(e),
                                    },
                                    None => Cell {
                                        text: "–".into(),
                                        sub: "no answers".into(),
                                        class: "hn".into(),
                                        value: None,
                                    },
                                },
                                Some(_) => hidden_cell(None, min),
                            },
                        })
                        .collect(),
                },
            }
        })
        .collect();
    Heatmap {
        caption: "Favourable answers (agree or better) by department; eNPS and NPS as scores from −100 to +100".into(),
        sorted_by: None,
        sections,
        columns,
        rows: without_repeated_root(rows, report, org),
    }
}

impl Heatmap {
    /// The rows sorted by the column `key`, highest first, hidden cells last; the first
    /// row (the whole company, or the department viewed) stays on top. The tree's
    /// indentation goes: sorted rows are a ranking. An unknown key leaves the order.
    pub fn sorted(mut self, key: Option<&str>) -> Heatmap {
        let Some(key) = key else { return self };
        let Some(column) = self.columns.iter().position(|c| c.key == key) else {
            return self;
        };
        if self.rows.len() > 2 {
            let value = |r: &HeatRow| r.cells.get(column).and_then(|c| c.value);
            self.rows[1..].sort_by(|a, b| match (value(a), value(b)) {
                (Some(x), Some(y)) => y.total_cmp(&x),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            });
        }
        for row in &mut self.rows {
            row.depth = 0;
        }
        self.sorted_by = Some(key.to_string());
        self
    }
}

/// The whole company's row and the top department's say the same when the audience is
/// the whole tree: one row, named for both.
fn without_repeated_root(
    mut rows: Vec<HeatRow>,
    report: &ScopedReport,
    org: &crate::reports::org::Org,
) -> Vec<HeatRow> {
    let (Some(first), Some(second)) = (report.groups.first(), report.groups.get(1)) else {
        return rows;
    };
    let Some(root) = second.department() else {
        return rows;
    };
    let is_root = org.by_name(root).is_some_and(|d| d.parent_id.is_none());
    if first.department().is_none()
        && is_root
        && first.respondents().is_some()
        && first.respondents() == second.respondents()
        && rows.len() > 1
    {
        rows.remove(1);
        rows[0].name = format!("Whole company ({root})");
    }
    rows
}

/// Departments × services: how each department rates each service it may be shown.
pub fn service_heatmap(report: &ScopedReport, org: &crate::reports::org::Org) -> Option<Heatmap> {
    let first = report.service_ratings.first()?;
    let columns = report
        .service_ratings
        .iter()
        .map(|s| Column {
            key: s.service.clone(),
            label: s.service.clone(),
            short: String::new(),
            full: format!("How each department rates {}", s.service),
        })
        .collect();
    let min = report.min_group_size;
    let rows = first
        .by_department
        .iter()
        .enumerate()
        .map(|(i, rating)| HeatRow {
            name: group_name(rating.department.as_deref()),
            depth: depth_of(org, rating.department.as_deref()),
            note: None,
            cells: report
                .service_ratings
                .iter()
                .map(
                    |s| match s.by_department.get(i).and_then(|r| r.figures.as_ref()) {
                        Some(f) => match (f.favorable, f.satisfaction) {
                            (Some(fav), satisfaction) => Cell {
                                text: Unit::Share.format(fav),
                                sub: match satisfaction {
                                    Some(sat) => format!("index {sat:.0} · n={}", f.n),
                                    None => format!("n={}", f.n),
                                },
                                class: charts::heat_class(fav),
                                value: Some(fav),
                            },
                            (None, _) => Cell {
                                text: "–".into(),
                                sub: format!("n={}", f.n),
                                class: "hn".into(),
                                value: None,
                            },
                        },
                        None => hidden_cell(None, min),
                    },
                )
                .collect(),
        })
        .collect();
    // Its rows follow the report's groups: the root folds into the whole company as it
    // does on the questions' heatmap.
    let aligned = first
        .by_department
        .iter()
        .map(|r| r.department.as_deref())
        .take(2)
        .eq(report.groups.iter().map(|g| g.department()).take(2));
    let rows = if aligned {
        without_repeated_root(rows, report, org)
    } else {
        rows
    };
    Some(Heatmap {
        caption: "How each department rates each service: favourable share, satisfaction index (0–100) and n".into(),
        sorted_by: None,
        sections: Vec::new(),
        columns,
        rows,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct EnpsRow {
    pub name: String,
    pub value: Option<String>,
    pub interval: Option<String>,
    pub n: Option<u64>,
    pub withheld: Option<String>,
}

/// eNPS of every shown group with its 95 % interval, as rows and as an interval plot.
/// A choice question of the viewed group, as bars.
#[derive(Debug, Clone, Serialize)]
pub struct ChoiceView {
    pub id: String,
    pub text: String,
    pub multiple: bool,
    /// Respondents who answered it; `None` when withheld.
    pub n: Option<u64>,
    pub options: Vec<ChoiceBar>,
    pub withheld: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChoiceBar {
    pub option: String,
    pub count: u64,
    /// The share as the page writes it, e.g. "45%".
    pub share: String,
    /// The bar's length, 0-100.
    pub length: f64,
}

/// Every choice question of the view's group (its first: the department or the whole
/// company), under the same rules as every other figure.
pub fn choices(report: &ScopedReport, definition: &Definition) -> Vec<ChoiceView> {
    let Some(group) = report.groups.first() else {
        return Vec::new();
    };
    let min = report.min_group_size;
    definition
        .questions()
        .filter_map(|(_, q)| match &q.kind {
            QuestionKind::Choice { multiple, .. } => Some((q, *multiple)),
            _ => None,
        })
        .map(|(q, multiple)| {
            let id = q.id.value.clone();
            let text = q.text.get(&definition.language).to_string();
            let gated = group.content().and_then(|f| f.questions.get(&id));
            match gated.and_then(|g| g.shown()) {
                Some(QuestionSummary::Choice(c)) => ChoiceView {
                    id,
                    text,
                    multiple,
                    n: Some(c.n),
                    options: c
                        .options
                        .iter()
                        .map(|o| ChoiceBar {
                            option: o.option.clone(),
                            count: o.count,
                            share: o
                                .share
                                .map_or_else(|| "–".into(), |s| format!("{:.0}%", s * 100.0)),
                            length: o.share.unwrap_or(0.0) * 100.0,
                        })
                        .collect(),
                    withheld: None,
                },
                _ => ChoiceView {
                    id,
                    text,
                    multiple,
                    n: None,
                    options: Vec::new(),
                    withheld: Some(format!(
                        "{} answers",
                        withheld(
                            gated.and_then(|g| g.suppression()).or(group.suppression()),
                            min
                        )
                    )),
                },
            }
        })
        .collect()
}

pub fn enps(report: &ScopedReport, definition: &Definition) -> Option<(Vec<EnpsRow>, String)> {
    let (_, question) = definition
        .questions()
        .find(|(_, q)| matches!(q.kind, QuestionKind::Enps))?;
    let id = question.id.value.as_str();
    let min = report.min_group_size;
    let mut rows = Vec::new();
    let mut plot = Vec::new();
    for g in &report.groups {
        let name = group_name(g.department());
        let gated = g.content().and_then(|f| f.questions.get(id));
        match gated.and_then(|q| q.shown()) {
            Some(QuestionSummary::Nps(s)) if s.enps.is_some() => {
                let value = s.enps.unwrap_or_default();
                let interval = s.enps_ci.map(|i| (i.lo.max(-100.0), i.hi.min(100.0)));
                plot.push(IntervalRow {
                    label: name.clone(),
                    value,
                    interval,
                });
                rows.push(EnpsRow {
                    name,
                    value: Some(Unit::Points.format(value)),
                    interval: interval.map(|(a, b)| {
                        format!("{} to {}", Unit::Points.format(a), Unit::Points.format(b))
                    }),
                    n: Some(s.n),
                    withheld: None,
                });
            }
            _ => rows.push(EnpsRow {
                name,
                value: None,
                interval: None,
                n: None,
                withheld: Some(withheld(
                    gated.and_then(|q| q.suppression()).or(g.suppression()),
                    min,
                )),
            }),
        }
    }
    let svg = charts::interval_svg(
        "eNPS by group, with 95% intervals",
        Unit::Points,
        &plot,
        "enps-chart",
    );
    Some((rows, svg))
}

#[derive(Debug, Clone, Serialize)]
pub struct DriverRow {
    pub question: String,
    pub r: String,
    pub favorable: String,
    #[serde(skip)]
    pub r_value: f64,
    #[serde(skip)]
    pub favorable_value: f64,
}

/// Key drivers of the first group shown in the view (the company, or the department):
/// the first [`crate::stats::SHOWN_DRIVERS`], as everywhere.
pub fn drivers(
    report: &ScopedReport,
    definition: &Definition,
    group: Option<&str>,
) -> Option<Vec<DriverRow>> {
    let g = report.groups.iter().find(|g| g.department() == group)?;
    let drivers = g.content()?.drivers.as_ref()?.shown()?;
    Some(
        drivers
            .iter()
            .take(crate::stats::SHOWN_DRIVERS)
            .map(|d| DriverRow {
                question: definition
                    .question(&d.question)
                    .map_or(d.question.clone(), |q| q.text.default.clone()),
                r: format!("{:.2}", d.r),
                favorable: Unit::Share.format(d.favorable),
                r_value: d.r,
                favorable_value: d.favorable,
            })
            .collect(),
    )
}

/// The drivers as a chart: correlation with eNPS across, favourable share up; the
/// numbers are the list's.
pub fn drivers_svg(rows: &[DriverRow]) -> String {
    let points: Vec<charts::DriverPoint> = rows
        .iter()
        .enumerate()
        .map(|(i, d)| charts::DriverPoint {
            label: format!("{}", i + 1),
            name: d.question.clone(),
            r: d.r_value,
            favorable: d.favorable_value,
        })
        .collect();
    charts::drivers_svg(&points)
}

#[derive(Debug, Clone, Serialize)]
pub struct TrendView {
    pub id: String,
    pub title: String,
    pub svg: String,
    pub rows: Vec<TrendRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrendRow {
    pub wave: String,
    pub value: String,
    pub interval: String,
    pub change: String,
}

/// The value a trend chart draws for one wave: favourable share or score.
fn point_value(p: &crate::reports::trend::TrendPoint) -> Option<f64> {
    match p.figures.as_ref().and_then(|f| f.shown()) {
        Some(QuestionSummary::Scale(s)) => s.favorable,
        Some(QuestionSummary::Nps(s)) => s.enps,
        _ => None,
    }
}

/// One chart per likert, rating, eNPS or NPS question, with its data table; with
/// `company`, the whole company's line to compare with.
pub fn trends(report: &TrendReport, company: Option<&TrendReport>) -> Vec<TrendView> {
    let min = report.min_group_size;
    report
        .questions
        .iter()
        .filter(|q| {
            matches!(
                q.kind,
                "likert" | "rating" | "csat" | "ces" | "lost_time" | "enps" | "nps"
            )
        })
        .enumerate()
        .map(|(i, q)| {
            let unit = if matches!(q.kind, "enps" | "nps") {
                Unit::Points
            } else {
                Unit::Share
            };
            let mut points = Vec::new();
            let mut rows = Vec::new();
            for (p, header) in q.waves.iter().zip(&report.waves) {
                let provisional = header.provisional();
                let shown = p.figures.as_ref().and_then(|f| f.shown());
                let (value, interval) = match shown {
                    Some(QuestionSummary::Scale(s)) => {
                        (s.favorable, s.favorable_ci.map(|c| (c.lo, c.hi)))
                    }
                    Some(QuestionSummary::Nps(s)) => (
                        s.enps,
                        s.enps_ci.map(|c| (c.lo.max(-100.0), c.hi.min(100.0))),
                    ),
                    _ => (None, None),
                };
                let change = match &p.change {
                    Some(TrendChange::Scale(c)) => Some(c.favorable),
                    Some(TrendChange::Net { enps }) => Some(*enps),
                    None => None,
                };
                // An open wave's figure may still move: never called significant.
                let significant = change.is_some_and(|c| c.significant) && !provisional;
                points.push(TrendPoint {
                    label: p.wave.clone(),
                    value,
                    interval,
                    significant,
                    provisional,
                });
                rows.push(TrendRow {
                    wave: p.wave.clone(),
                    value: match (value, &p.figures) {
                        (Some(v), _) => unit.format(v),
                        (None, None) => "not asked".into(),
                        (None, Some(f)) if f.is_shown() => "no answers".into(),
                        (None, Some(f)) => withheld(f.suppression(), min),
                    },
                    interval: interval
                        .map(|(a, b)| format!("{} to {}", unit.format(a), unit.format(b)))
                        .unwrap_or_default(),
                    change: match change.and_then(|c| c.delta) {
                        Some(d) => {
                            let text = match unit {
                                Unit::Share => format!("{:+.0} points", d * 100.0),
                                Unit::Points => format!("{d:+.0}"),
                            };
                            if significant {
                                format!("{text}, significant")
                            } else {
                                text
                            }
                        }
                        None => String::new(),
                    },
                });
            }
            let comparison: Vec<Option<f64>> = company
                .and_then(|c| c.questions.iter().find(|cq| cq.id == q.id))
                .map(|cq| {
                    q.waves
                        .iter()
                        .map(|p| {
                            cq.waves
                                .iter()
                                .find(|cp| cp.wave == p.wave)
                                .and_then(point_value)
                        })
                        .collect()
                })
                .unwrap_or_default();
            let series = TrendSeries {
                comparison,
                comparison_label: "Whole company".into(),
                title: format!(
                    "{} — {}",
                    q.text,
                    match unit {
                        Unit::Share => "favourable share",
                        Unit::Points => "score",
                    }
                ),
                unit,
                points,
            };
            let id = format!("trend-{i}");
            TrendView {
                svg: charts::trend_svg(&series, &id),
                id,
                title: q.text.clone(),
                rows,
            }
        })
        .collect()
}

/// What the comments explorer is asked for.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CommentFilter {
    /// A question id.
    pub question: Option<String>,
    /// A section's service (`about`) or, without one, its title.
    pub service: Option<String>,
    pub department: Option<String>,
    /// Words the comment must contain (case-insensitive).
    pub search: Option<String>,
    /// 1-based.
    pub page: usize,
}

/// One choice of a filter, with how many comments it holds.
#[derive(Debug, Clone, Serialize)]
pub struct FilterChoice {
    pub value: String,
    pub label: String,
    pub count: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct CommentItem {
    pub question: String,
    pub service: String,
    pub department: Option<String>,
    pub text: String,
}

/// The shown comments of a group, filtered, counted and paged. It works on comments
/// already cleared for the group, so no filter can show what the plain list would not.
#[derive(Debug, Clone, Serialize)]
pub struct CommentsView {
    pub total: usize,
    pub matching: usize,
    pub questions: Vec<FilterChoice>,
    pub services: Vec<FilterChoice>,
    pub departments: Vec<FilterChoice>,
    /// The matching comments per question (the counts under the filters).
    pub by_question: Vec<FilterChoice>,
    pub items: Vec<CommentItem>,
    pub page: usize,
    pub pages: usize,
}

/// Comments per page of the explorer.
pub const COMMENTS_PAGE: usize = 25;

pub fn comments_explorer(
    comments: &[crate::reports::wave::Comment],
    definition: &Definition,
    filter: &CommentFilter,
) -> CommentsView {
    let language = &definition.language;
    // Question id -> (text, service), in the definition's order.
    let order: Vec<(String, String, String)> = definition
        .sections
        .iter()
        .flat_map(|section| {
            let service = section
                .service_key()
                .map_or_else(|| section.title.get(language).to_string(), str::to_string);
            section.questions.iter().map(move |q| {
                (
                    q.id.value.clone(),
                    q.text.get(language).to_string(),
                    service.clone(),
                )
            })
        })
        .collect();
    let about = |id: &str| {
        order
            .iter()
            .find(|(q, _, _)| q == id)
            .map_or((id.to_string(), String::new()), |(_, text, service)| {
                (text.clone(), service.clone())
            })
    };
    let needle = filter.search.as_deref().map(str::to_lowercase);
    let matches = |c: &crate::reports::wave::Comment| {
        let (_, service) = about(&c.question);
        filter.question.as_deref().is_none_or(|q| q == c.question)
            && filter.service.as_deref().is_none_or(|s| s == service)
            && filter
                .department
                .as_deref()
                .is_none_or(|d| c.department.as_deref() == Some(d))
            && needle
                .as_deref()
                .is_none_or(|n| c.text.to_lowercase().contains(n))
    };
    let count = |pick: &dyn Fn(&crate::reports::wave::Comment) -> Option<(String, String)>,
                 only: &dyn Fn(&crate::reports::wave::Comment) -> bool| {
        let mut choices: Vec<FilterChoice> = Vec::new();
        for c in comments.iter().filter(|c| only(c)) {
            let Some((value, label)) = pick(c) else {
                continue;
            };
            match choices.iter_mut().find(|f| f.value == value) {
                Some(f) => f.count += 1,
                None => choices.push(FilterChoice {
                    value,
                    label,
                    count: 1,
                }),
            }
        }
        choices
    };
    let by_definition_order = |choices: &mut Vec<FilterChoice>| {
        choices.sort_by_key(|f| {
            order
                .iter()
                .position(|(q, _, s)| *q == f.value || *s == f.value)
                .unwrap_or(usize::MAX)
        })
    };
    let mut questions = count(
        &|c| Some((c.question.clone(), about(&c.question).0)),
        &|_| true,
    );
    by_definition_order(&mut questions);
    let mut services = count(
        &|c| {
            let service = about(&c.question).1;
            (!service.is_empty()).then(|| (service.clone(), service))
        },
        &|_| true,
    );
    by_definition_order(&mut services);
    let mut departments = count(&|c| c.department.clone().map(|d| (d.clone(), d)), &|_| true);
    departments.sort_by(|a, b| a.label.cmp(&b.label));
    let mut by_question = count(
        &|c| Some((c.question.clone(), about(&c.question).0)),
        &matches,
    );
    by_definition_order(&mut by_question);
    let matching: Vec<&crate::reports::wave::Comment> =
        comments.iter().filter(|c| matches(c)).collect();
    let pages = matching.len().div_ceil(COMMENTS_PAGE).max(1);
    let page = filter.page.clamp(1, pages);
    let items = matching
        .iter()
        .skip((page - 1) * COMMENTS_PAGE)
        .take(COMMENTS_PAGE)
        .map(|c| {
            let (question, service) = about(&c.question);
            CommentItem {
                question,
                service,
                department: c.department.clone(),
                text: c.text.clone(),
            }
        })
        .collect();
    CommentsView {
        total: comments.len(),
        matching: matching.len(),
        questions,
        services,
        departments,
        by_question,
        items,
        page,
        pages,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::wave::Comment;

    const SURVEY: &str = r#"id = "pulse"
title = "Pulse"

[audience]
departments = ["*"]

[[sections]]
id = "it"
title = "IT"
about = "IT"

  [[sections.questions]]
  id = "it-say"
  type = "text"
  text = "What should IT change?"

[[sections]]
id = "you"
title = "You"

  [[sections.questions]]
  id = "say"
  type = "text"
  text = "Anything else?"
"#;

    fn comment(question: &str, department: Option<&str>, text: &str) -> Comment {
        Comment {
            question: question.into(),
            text: text.into(),
            department: department.map(str::to_string),
        }
    }

    #[test]
    fn comments_are_filtered_counted_and_paged() {
        let definition = crate::definitions::parse_definition(SURVEY).unwrap();
        let mut comments = Vec::new();
        for i in 0..30 {
            comments.push(comment(
                "it-say",
                Some("Sales"),
                &format!("Laptop slow {i}"),
            ));
        }
        comments.push(comment("say", None, "More coffee"));
        comments.push(comment("say", Some("HR"), "laptop bag"));
        let all = comments_explorer(&comments, &definition, &CommentFilter::default());
        assert_eq!((all.total, all.matching, all.pages), (32, 32, 2));
        assert_eq!(all.items.len(), COMMENTS_PAGE);
        assert_eq!(
            all.questions
                .iter()
                .map(|q| (q.label.as_str(), q.count))
                .collect::<Vec<_>>(),
            [("What should IT change?", 30), ("Anything else?", 2)]
        );
        assert_eq!(
            all.services
                .iter()
                .map(|q| (q.value.as_str(), q.count))
                .collect::<Vec<_>>(),
            [("IT", 30), ("You", 2)]
        );
        let second = comments_explorer(
            &comments,
            &definition,
            &CommentFilter {
                page: 2,
                ..CommentFilter::default()
            },
        );
        assert_eq!(second.items.len(), 7);
        let found = comments_explorer(
            &comments,
            &definition,
            &CommentFilter {
                search: Some("LAPTOP".into()),
                service: Some("You".into()),
                page: 1,
                ..CommentFilter::default()
            },
        );
        assert_eq!(found.matching, 1);
        assert_eq!(found.items[0].text, "laptop bag");
        assert_eq!(found.items[0].department.as_deref(), Some("HR"));
        let by_department = comments_explorer(
            &comments,
            &definition,
            &CommentFilter {
                department: Some("Sales".into()),
                page: 9,
                ..CommentFilter::default()
            },
        );
        assert_eq!((by_department.matching, by_department.page), (30, 2));
    }
}

/// A question an action answers, with its change at this wave.
#[derive(Debug, Clone, Serialize)]
pub struct EffectRow {
    pub question: String,
    pub change: String,
    /// `up`, `down` or `flat` (no change shown).
    pub direction: &'static str,
    pub significant: bool,
}

/// An action of the period before a wave, with what moved where it acts.
#[derive(Debug, Clone, Serialize)]
pub struct EffectView {
    pub title: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub by: String,
    pub rows: Vec<EffectRow>,
}

/// The actions of the period before `wave`, each with the change since the wave
/// before of every question it answers, as the viewed group's trend gives it.
pub fn effects(
    period: &crate::actions::Period,
    trend: Option<&TrendReport>,
    wave: &str,
    definition: &Definition,
) -> Vec<EffectView> {
    let lang = &definition.language;
    period
        .actions
        .iter()
        .map(|a| {
            let questions: Vec<&String> = period
                .by_question
                .iter()
                .filter(|(_, ids)| ids.contains(&a.id))
                .map(|(q, _)| q)
                .collect();
            let rows = questions
                .iter()
                .map(|id| {
                    let text = definition
                        .question(id)
                        .map_or_else(|| id.to_string(), |q| q.text.get(lang).to_string());
                    let change = trend
                        .and_then(|t| t.questions.iter().find(|q| &q.id == *id))
                        .and_then(|q| q.waves.iter().find(|p| p.wave == wave))
                        .and_then(|p| p.change.as_ref());
                    let (delta, significant, unit) = match change {
                        Some(crate::reports::trend::TrendChange::Scale(s)) => (
                            s.favorable.delta.map(|d| d * 100.0),
                            s.favorable.significant,
                            "points favourable",
                        ),
                        Some(crate::reports::trend::TrendChange::Net { enps }) => {
                            (enps.delta, enps.significant, "points")
                        }
                        None => (None, false, ""),
                    };
                    match delta {
                        Some(d) => EffectRow {
                            question: text,
                            change: format!(
                                "{d:+.0} {unit} since the wave before{}",
                                if significant {
                                    ", significant"
                                } else {
                                    ", within chance"
                                }
                            ),
                            direction: if d > 0.0 {
                                "up"
                            } else if d < 0.0 {
                                "down"
                            } else {
                                "flat"
                            },
                            significant,
                        },
                        None => EffectRow {
                            question: text,
                            change: "no comparison with the wave before (not shown in both)".into(),
                            direction: "flat",
                            significant: false,
                        },
                    }
                })
                .collect();
            EffectView {
                title: a.title.clone(),
                status: a.status.words(),
                status_class: a.status.as_str(),
                by: match &a.service {
                    Some(s) => format!("{s} (service)"),
                    None => a.department.clone(),
                },
                rows,
            }
        })
        .collect()
}
