//! The summary export: the wave report as one row per (group, question), with the change
//! of each figure from the wave before and its p-value.

use std::collections::HashMap;
use std::io::Write;

use super::{find_wave, spreadsheet_writer, ExportError, ExportQuery};
use crate::db::Conn;
use crate::reports::org::Org;
use crate::reports::render::csv_text;
use crate::reports::trend::{self, TrendChange, TrendWave};
use crate::reports::{self, WaveQuery};
use crate::stats::{Change, Interval, QuestionSummary, SuppressionReason};

pub const SUMMARY_COLUMNS: [&str; 37] = [
    "survey",
    "wave",
    "department",
    "question",
    "type",
    "suppressed",
    "note",
    "respondents",
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
    "previous_wave",
    "delta_mean",
    "p_mean",
    "delta_favorable",
    "p_favorable",
    "delta_enps",
    "p_enps",
    "significant",
    // lost_time questions only: hours of work lost, from the bands' midpoints.
    "mean_hours",
    "sd_hours",
    "mean_hours_ci_low",
    "mean_hours_ci_high",
    "delta_hours",
    "p_hours",
    "question_text",
    "option",
    "share",
];

/// Where `question_text` is: the columns after it only fill the rows of a choice
/// question's options.
const QUESTION_TEXT: usize = 34;

/// A figure rounded to what it means: means, sds and index points to 3 decimals, shares
/// and p-values to 4, net scores to 1; trailing zeros left out. Empty when undefined.
fn fixed(value: Option<f64>, decimals: usize) -> String {
    match value {
        Some(v) if v.is_finite() => {
            let text = format!("{v:.decimals$}");
            let text = if text.contains('.') {
                text.trim_end_matches('0').trim_end_matches('.').to_string()
            } else {
                text
            };
            // "-0" after rounding a tiny negative
            if text == "-0" {
                "0".into()
            } else {
                text
            }
        }
        _ => String::new(),
    }
}

const MEAN: usize = 3;
const SHARE: usize = 4;
const NET: usize = 1;

fn lo(i: Option<Interval>, decimals: usize) -> String {
    fixed(i.map(|i| i.lo), decimals)
}

fn hi(i: Option<Interval>, decimals: usize) -> String {
    fixed(i.map(|i| i.hi), decimals)
}

/// Each question's change from the previous wave, for one group (`scope`).
fn changes(
    previous: &TrendWave,
    current: &TrendWave,
    org: &Org,
    scope: Option<i64>,
) -> Result<HashMap<String, TrendChange>, ExportError> {
    let trend = trend::build(
        &[
            TrendWave {
                label: previous.label.clone(),
                definition: previous.definition,
                figures: previous.figures,
            },
            TrendWave {
                label: current.label.clone(),
                definition: current.definition,
                figures: current.figures,
            },
        ],
        org,
        scope,
    )?;
    Ok(trend
        .questions
        .into_iter()
        .filter_map(|q| {
            let change = q.waves.into_iter().nth(1)?.change?;
            Some((q.id, change))
        })
        .collect())
}

/// Writes the summary CSV of one wave; returns the number of rows written.
pub fn summary(conn: &mut Conn, query: &ExportQuery, out: impl Write) -> Result<u64, ExportError> {
    let (waves, index) = find_wave(conn, query.survey, query.wave)?;
    let (report, order) = reports::wave_report(
        conn,
        &WaveQuery {
            survey: query.survey,
            wave: Some(query.wave),
            department: query.department,
            filters: &[],
        },
    )?;
    let wave = &waves[index];
    let definition = reports::wave_definition(conn, wave.version_id)?;
    let org = Org::load(conn)?;
    // The wave before, loaded once for every group's changes.
    let previous = match index.checked_sub(1).map(|i| &waves[i]) {
        Some(before) => {
            let before_definition = reports::wave_definition(conn, before.version_id)?;
            let before_counts =
                reports::release::figures(conn, before.id, &before_definition, &org)?;
            let current_counts = reports::release::figures(conn, wave.id, &definition, &org)?;
            Some((
                before.label.clone(),
                before_definition,
                before_counts,
                current_counts,
            ))
        }
        None => None,
    };
    let mut writer = spreadsheet_writer(std::io::BufWriter::new(out))?;
    writer.write_record(SUMMARY_COLUMNS)?;
    let mut rows = 0;
    let threshold = report.min_group_size;
    for group in &report.groups {
        let department = group.department();
        let scope = department.and_then(|name| org.by_name(name)).map(|d| d.id);
        let group_changes = match (&previous, group.content()) {
            (Some((label, before_definition, before_counts, current_counts)), Some(_)) => changes(
                &TrendWave {
                    label: label.clone(),
                    definition: before_definition,
                    figures: before_counts.as_ref(),
                },
                &TrendWave {
                    label: wave.label.clone(),
                    definition: &definition,
                    figures: current_counts.as_ref(),
                },
                &org,
                scope,
            )?,
            _ => HashMap::new(),
        };
        let previous_label = previous.as_ref().map_or("", |p| p.0.as_str());
        for id in &order {
            let Some(question) = definition.question(id) else {
                continue;
            };
            let mut row: Vec<String> = vec![
                csv_text(query.survey),
                csv_text(&wave.label),
                csv_text(department.unwrap_or("")),
                csv_text(id),
                question.type_name().to_string(),
            ];
            let figures = group.content().and_then(|f| f.questions.get(id));
            let shown = figures.and_then(|g| g.shown());
            match shown {
                None => {
                    let reason = figures
                        .and_then(|g| g.suppression())
                        .or(group.suppression());
                    let note = match reason {
                        Some(SuppressionReason::TooFew { threshold }) => {
                            if group.content().is_some() {
                                format!("fewer than {threshold} answers")
                            } else {
                                format!("fewer than {threshold} responses")
                            }
                        }
                        Some(SuppressionReason::GroupSuppressed) | None => {
                            format!("fewer than {threshold} responses")
                        }
                        Some(SuppressionReason::Differencing) => {
                            crate::stats::suppression::DIFFERENCING_WORDING.to_string()
                        }
                    };
                    row.extend(["true".to_string(), note]);
                    row.resize(QUESTION_TEXT, String::new());
                }
                Some(summary) => {
                    row.extend([
                        "false".to_string(),
                        String::new(),
                        group.respondents().map_or(String::new(), |n| n.to_string()),
                    ]);
                    match summary {
                        QuestionSummary::Scale(s) => {
                            row.extend([
                                s.n.to_string(),
                                fixed(s.mean, MEAN),
                                fixed(s.sd, MEAN),
                                lo(s.mean_ci, MEAN),
                                hi(s.mean_ci, MEAN),
                                fixed(s.favorable, SHARE),
                                lo(s.favorable_ci, SHARE),
                                hi(s.favorable_ci, SHARE),
                                fixed(s.index, MEAN),
                            ]);
                            row.resize(20, String::new());
                        }
                        QuestionSummary::Nps(s) => {
                            row.push(s.n.to_string());
                            row.resize(17, String::new());
                            row.extend([
                                fixed(s.enps, NET),
                                lo(s.enps_ci, NET),
                                hi(s.enps_ci, NET),
                            ]);
                        }
                        QuestionSummary::Choice(c) => {
                            row.push(c.n.to_string());
                            row.resize(20, String::new());
                        }
                        QuestionSummary::Text(t) => {
                            row.push(t.n.to_string());
                            row.resize(20, String::new());
                        }
                    }
                    row.push(csv_text(previous_label));
                    let none = Change {
                        delta: None,
                        p_value: None,
                        significant: false,
                    };
                    let (mean, favorable, enps, hours) = match group_changes.get(id) {
                        Some(TrendChange::Scale(c)) => {
                            (c.mean, c.favorable, none, c.hours.unwrap_or(none))
                        }
                        Some(TrendChange::Net { enps }) => (none, none, *enps, none),
                        None => (none, none, none, none),
                    };
                    for (c, decimals) in [(mean, MEAN), (favorable, SHARE), (enps, NET)] {
                        row.push(fixed(c.delta, decimals));
                        row.push(fixed(c.p_value, SHARE));
                    }
                    let hours_cells: Option<[String; 6]> = match summary {
                        QuestionSummary::Scale(s) => s.hours.map(|h| {
                            [
                                fixed(h.mean_hours, MEAN),
                                fixed(h.sd_hours, MEAN),
                                lo(h.mean_hours_ci, MEAN),
                                hi(h.mean_hours_ci, MEAN),
                                fixed(hours.delta, MEAN),
                                fixed(hours.p_value, SHARE),
                            ]
                        }),
                        _ => None,
                    };
                    let changes = [mean, favorable, enps, hours];
                    let tested = changes.iter().any(|c| c.delta.is_some());
                    let significant = changes.iter().any(|c| c.significant);
                    row.push(if tested {
                        significant.to_string()
                    } else {
                        String::new()
                    });
                    row.extend(hours_cells.unwrap_or_default());
                }
            }
            row.push(csv_text(&question.text.default));
            row.resize(SUMMARY_COLUMNS.len(), String::new());
            writer.write_record(&row)?;
            rows += 1;
            // A choice question: a row per option after its own, `n` its count.
            if let Some(QuestionSummary::Choice(c)) = shown {
                for option in &c.options {
                    let mut line = row.clone();
                    line[8] = option.count.to_string();
                    line[QUESTION_TEXT + 1] = csv_text(&option.option);
                    line[QUESTION_TEXT + 2] = fixed(option.share, SHARE);
                    writer.write_record(&line)?;
                    rows += 1;
                }
            }
        }
    }
    writer.flush()?;
    Ok(rows)
}
