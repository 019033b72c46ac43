//! The raw export: one row per response, streamed.
//!
//! A row shows no column that identifies a person (no employee, no attributes, no time),
//! and rows come in the order of their random ids, which says nothing about when they
//! were written. A row's department is the respondent's own department only where the
//! report would show everything in the row for that department: the group itself, every
//! question the row answers, and (for a row with a comment) the group's comments.
//! Otherwise the row is labelled with the nearest parent department that passes, or left
//! empty (the whole audience). An answer that even the top of the export (the whole
//! audience, or `--department`) would not show is left out.

use std::collections::HashMap;
use std::io::Write;

use diesel::prelude::*;

use super::{find_wave, spreadsheet_writer, ExportError, ExportQuery};
use crate::db::schema::answers;
use crate::db::Conn;
use crate::definitions::{Question, QuestionKind};
use crate::reports;
use crate::reports::org::Org;
use crate::reports::render::csv_text;
use crate::stats::{self, Group};

/// Responses read per query: small enough for flat memory, large enough to be quick.
const PAGE: i64 = 1000;

/// One level a row may be labelled with: what the report shows at that level.
struct Level {
    /// `None`: the whole audience (empty department cell).
    name: Option<String>,
    group_shown: bool,
    /// Per question (in column order): whether its figures are shown for this group.
    item_shown: Vec<bool>,
    comments_shown: bool,
}

/// Every department's labelling chain: itself, then its parents up to the top of the
/// export.
struct RawLabels {
    levels: Vec<Level>,
    chains: HashMap<i64, Vec<usize>>,
    /// The chain of a response without a department: the top alone.
    top: Vec<usize>,
}

impl RawLabels {
    fn build(
        org: &Org,
        plan: &stats::Disclosure<i64>,
        questions: &[&Question],
        scope: Option<i64>,
    ) -> RawLabels {
        let level = |group: &Group<i64>, name: Option<String>| Level {
            name,
            group_shown: plan.group(group, ()).is_shown(),
            item_shown: questions
                .iter()
                .map(|q| plan.item(group, &q.id.value, ()).is_shown())
                .collect(),
            comments_shown: plan.comments(group, ()).is_shown(),
        };
        let mut levels = Vec::new();
        let mut index_of: HashMap<Option<i64>, usize> = HashMap::new();
        for d in &org.departments {
            index_of.insert(Some(d.id), levels.len());
            levels.push(level(&Group::Department(d.id), Some(d.name.clone())));
        }
        index_of.insert(None, levels.len());
        levels.push(level(&Group::Audience, None));
        let parents: HashMap<i64, Option<i64>> = org
            .departments
            .iter()
            .map(|d| (d.id, d.parent_id))
            .collect();
        let top = vec![index_of[&scope]];
        let mut chains = HashMap::new();
        for d in &org.departments {
            let mut chain = Vec::new();
            let mut at = Some(d.id);
            loop {
                chain.push(index_of[&at]);
                if at == scope || at.is_none() {
                    break;
                }
                at = at.and_then(|id| parents.get(&id).copied().flatten());
            }
            chains.insert(d.id, chain);
        }
        RawLabels {
            levels,
            chains,
            top,
        }
    }

    /// The level a row is labelled with, given which questions it answers (numbers and
    /// choices) and whether it has a comment.
    fn label(&self, department: Option<i64>, answered: &[bool], commented: bool) -> &Level {
        let chain = department
            .and_then(|d| self.chains.get(&d))
            .unwrap_or(&self.top);
        let fits = |level: &Level| {
            level.group_shown
                && (!commented || level.comments_shown)
                && answered
                    .iter()
                    .zip(&level.item_shown)
                    .all(|(a, shown)| !a || *shown)
        };
        let last = chain[chain.len() - 1];
        chain
            .iter()
            .map(|i| &self.levels[*i])
            .find(|l| fits(l))
            .unwrap_or(&self.levels[last])
    }
}

/// One response's answers, per question column.
#[derive(Default, Clone)]
struct Cells {
    values: Vec<Vec<i32>>,
    text: Vec<Option<String>>,
}

fn cell(question: &Question, values: &[i32], text: Option<&str>) -> String {
    match &question.kind {
        QuestionKind::Text { .. } => text.map(csv_text).unwrap_or_default(),
        QuestionKind::Choice { options, .. } => {
            let chosen: Vec<&str> = values
                .iter()
                .filter_map(|v| usize::try_from(*v).ok())
                .filter_map(|i| options.default.get(i).map(String::as_str))
                .collect();
            csv_text(&chosen.join("; "))
        }
        _ => values.first().map(i32::to_string).unwrap_or_default(),
    }
}

#[derive(QueryableByName)]
struct PageRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    department_id: Option<i64>,
}

/// The next `PAGE` responses of a wave after the id `after`, in id order. Each page
/// must continue along the primary key: sorting the whole wave for every page would
/// make an export quadratic. On SQLite the `+` keeps the planner off the
/// (wave, department) index, which it would otherwise pick and then sort.
fn next_page(
    conn: &mut Conn,
    wave_id: i64,
    after: &str,
) -> Result<Vec<(String, Option<i64>)>, ExportError> {
    use diesel::sql_types::{BigInt, Text};
    let rows: Vec<PageRow> = match conn {
        #[cfg(feature = "sqlite")]
        Conn::Sqlite(c) => diesel::sql_query(
            "SELECT id, department_id FROM responses \
             WHERE +wave_id = ? AND id > ? ORDER BY id LIMIT ?",
        )
        .bind::<BigInt, _>(wave_id)
        .bind::<Text, _>(after)
        .bind::<BigInt, _>(PAGE)
        .load(&mut **c),
        #[cfg(feature = "postgres")]
        Conn::Postgres(c) => diesel::sql_query(
            "SELECT id, department_id FROM responses \
             WHERE wave_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind::<BigInt, _>(wave_id)
        .bind::<Text, _>(after)
        .bind::<BigInt, _>(PAGE)
        .load(&mut **c),
    }
    .map_err(crate::db::DbError::from)?;
    Ok(rows.into_iter().map(|r| (r.id, r.department_id)).collect())
}

/// Streams the raw CSV of one wave to `out`; `progress(done, total)` is called after
/// every page. Returns the number of rows written.
pub fn raw(
    conn: &mut Conn,
    query: &ExportQuery,
    out: impl Write,
    progress: &dyn Fn(u64, u64),
) -> Result<u64, ExportError> {
    // Each page continues along the primary key; after a bulk import or seal the planner
    // needs current statistics to see that (see `db::planner`).
    crate::db::planner::refresh_if_stale(conn)?;
    let (waves, index) = find_wave(conn, query.survey, query.wave)?;
    let wave_row = &waves[index];
    let definition = reports::wave_definition(conn, wave_row.version_id)?;
    let org = Org::load(conn)?;
    let scope = match query.department {
        None => None,
        Some(name) => Some(
            org.by_name(name)
                .ok_or_else(|| reports::ReportError::UnknownDepartment {
                    name: name.to_string(),
                    known: org.known_names(),
                })?
                .id,
        ),
    };
    // Rows are single answers: only a closed wave's final release, with no group
    // keeping interim figures, says which departments they may be labelled with.
    let released =
        reports::release::exact_final(conn, wave_row.id, &wave_row.label, &org, "a raw export")?;
    let plan = &released.disclosure;
    let top_group = scope.map_or(Group::Audience, Group::Department);
    if !plan.group(&top_group, ()).is_shown() {
        return Err(ExportError::TooFew {
            group: query
                .department
                .map_or_else(|| "the whole audience".to_string(), str::to_string),
            threshold: u64::from(definition.min_group_size),
            wave: wave_row.label.clone(),
        });
    }
    let questions: Vec<&Question> = definition.questions().map(|(_, q)| q).collect();
    let column: HashMap<&str, usize> = questions
        .iter()
        .enumerate()
        .map(|(i, q)| (q.id.value.as_str(), i))
        .collect();
    let labels = RawLabels::build(&org, plan, &questions, scope);
    let members: Option<Vec<i64>> = scope.map(|id| org.subtree(id));
    let total: u64 = plan.respondents(&top_group);

    let mut writer = spreadsheet_writer(std::io::BufWriter::new(out))?;
    let mut header = vec!["response".to_string(), "department".to_string()];
    header.extend(questions.iter().map(|q| csv_text(&q.id.value)));
    writer.write_record(&header)?;

    let wave_id = wave_row.id;
    let mut after = String::new();
    let mut written = 0u64;
    let mut row: Vec<String> = Vec::with_capacity(header.len());
    loop {
        let page = next_page(conn, wave_id, &after)?;
        let Some((last, _)) = page.last() else {
            break;
        };
        after = last.clone();
        let page_len = page.len();
        // Rows outside the department subtree are skipped here rather than in the query,
        // which must stay a plain walk along the id index.
        let page: Vec<(String, Option<i64>)> = match &members {
            None => page,
            Some(members) => page
                .into_iter()
                .filter(|(_, d)| d.is_some_and(|d| members.contains(&d)))
                .collect(),
        };
        let ids: Vec<&str> = page.iter().map(|(id, _)| id.as_str()).collect();
        let stored: Vec<(String, String, Option<i32>, Option<String>)> =
            crate::with_conn!(*conn, c => answers::table
            .filter(answers::response_id.eq_any(&ids))
            .order((answers::response_id, answers::question_id, answers::ordinal))
            .select((answers::response_id, answers::question_id, answers::value, answers::text))
            .load(c))
            .map_err(crate::db::DbError::from)?;
        let mut by_response: HashMap<&str, Cells> = HashMap::with_capacity(page.len());
        let empty = Cells {
            values: vec![Vec::new(); questions.len()],
            text: vec![None; questions.len()],
        };
        for (response_id, question_id, value, text) in &stored {
            let Some(&i) = column.get(question_id.as_str()) else {
                continue;
            };
            let cells = by_response
                .entry(response_id.as_str())
                .or_insert_with(|| empty.clone());
            if let Some(v) = value {
                cells.values[i].push(*v);
            }
            if let Some(t) = text {
                cells.text[i] = Some(t.clone());
            }
        }
        let mut answered = vec![false; questions.len()];
        for (id, department) in &page {
            let cells = by_response.get(id.as_str()).unwrap_or(&empty);
            let mut commented = false;
            for (i, q) in questions.iter().enumerate() {
                let is_text = matches!(q.kind, QuestionKind::Text { .. });
                let has = !cells.values[i].is_empty() || cells.text[i].is_some();
                answered[i] = has && !is_text;
                commented |= has && is_text;
            }
            let level = labels.label(*department, &answered, commented);
            row.clear();
            row.push(id.clone());
            row.push(level.name.as_deref().map(csv_text).unwrap_or_default());
            for (i, q) in questions.iter().enumerate() {
                let is_text = matches!(q.kind, QuestionKind::Text { .. });
                let allowed = if is_text {
                    level.comments_shown
                } else {
                    level.item_shown[i]
                };
                row.push(if allowed {
                    cell(q, &cells.values[i], cells.text[i].as_deref())
                } else {
                    String::new()
                });
            }
            writer.write_record(&row)?;
            written += 1;
        }
        progress(written, total);
        if (page_len as i64) < PAGE {
            break;
        }
    }
    writer.flush()?;
    Ok(written)
}
