//! The comments of a wave as a report may show them: only when the group they are read
//! for reaches the comment threshold (`min_comment_group_size`, with the same
//! differencing rule as figures), naming the writer's department only where that
//! department alone reaches it, in an order that says nothing about when they were
//! written.

use diesel::prelude::*;

use super::{find_wave, ExportError, ExportQuery};
use crate::db::schema::{answers, responses};
use crate::db::Conn;
use crate::definitions::QuestionKind;
use crate::reports::org::Org;
use crate::reports::wave::{unlinkable_order, Comment};
use crate::reports::{self, counts, wave};
use crate::stats::{self, Group};

/// The shown comments of a wave for the whole audience or a department subtree; `None`
/// when the group's comments are withheld.
pub fn wave_comments(
    conn: &mut Conn,
    query: &ExportQuery,
) -> Result<Option<Vec<Comment>>, ExportError> {
    let (waves, index) = find_wave(conn, query.survey, query.wave)?;
    let wave_row = &waves[index];
    let definition = reports::wave_definition(conn, wave_row.version_id)?;
    let text_questions: Vec<String> = definition
        .questions()
        .filter(|(_, q)| matches!(q.kind, QuestionKind::Text { .. }))
        .map(|(_, q)| q.id.value.clone())
        .collect();
    if text_questions.is_empty() {
        return Ok(Some(Vec::new()));
    }
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
    let wave_counts = counts::current(conn, wave_row.id, &definition)?;
    let plan = stats::plan(
        &wave::org_units(&org, &wave_counts),
        wave::threshold(&definition)?,
    )?;
    let group = scope.map_or(Group::Audience, Group::Department);
    if !plan.comments(&group, ()).is_shown() {
        return Ok(None);
    }
    let members = scope.map(|id| org.subtree(id));
    let wave_id = wave_row.id;
    let rows: Vec<(Option<i64>, String, Option<String>)> = crate::with_conn!(*conn, c => {
        let mut q = answers::table
            .inner_join(responses::table)
            .filter(responses::wave_id.eq(wave_id))
            .filter(answers::question_id.eq_any(&text_questions))
            .filter(answers::text.is_not_null())
            .select((responses::department_id, answers::question_id, answers::text))
            .into_boxed();
        if let Some(members) = &members {
            q = q.filter(responses::department_id.eq_any(members));
        }
        q.load(c)
    })
    .map_err(crate::db::DbError::from)?;
    let mut comments: Vec<Comment> = rows
        .into_iter()
        .filter_map(|(department, question, text)| {
            let text = text?;
            if text.trim().is_empty() {
                return None;
            }
            let department = department
                .filter(|d| plan.comment_department_shown(d))
                .and_then(|d| org.name(d))
                .map(str::to_string);
            Some(Comment {
                question,
                text,
                department,
            })
        })
        .collect();
    unlinkable_order(&mut comments);
    Ok(Some(comments))
}

/// Each question's wording in the wave's definition, and its comment threshold.
pub fn question_texts(
    conn: &mut Conn,
    survey: &str,
    wave_label: &str,
) -> Result<(std::collections::BTreeMap<String, String>, u64), ExportError> {
    let (waves, index) = find_wave(conn, survey, wave_label)?;
    let definition = reports::wave_definition(conn, waves[index].version_id)?;
    let texts = definition
        .questions()
        .map(|(_, q)| (q.id.value.clone(), q.text.default.clone()))
        .collect();
    Ok((texts, u64::from(definition.min_comment_group_size)))
}
