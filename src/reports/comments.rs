//! The comments of a wave as a report may show them: only when the group they are read
//! for reaches the comment threshold (`min_comment_group_size`, with the same
//! differencing rule as figures), naming the writer's department only where that
//! department alone reaches it, in an order that says nothing about when they were
//! written. Every output of comments (pages, JSON, exports) reads them here.

use diesel::prelude::*;

use super::org::Org;
use super::wave::{self, unlinkable_order, Comment};
use super::{counts, ReportError};
use crate::db::schema::{answers, responses};
use crate::db::Conn;
use crate::definitions::{Definition, QuestionKind};
use crate::stats::{self, Group};

/// The shown comments of a wave for the whole audience (`scope` None) or a department
/// subtree, each with its question's id; `None` when the group's comments are withheld
/// (they are then not read at all).
pub fn shown(
    conn: &mut Conn,
    wave_id: i64,
    definition: &Definition,
    org: &Org,
    scope: Option<i64>,
) -> Result<Option<Vec<Comment>>, ReportError> {
    let text_questions: Vec<String> = definition
        .questions()
        .filter(|(_, q)| matches!(q.kind, QuestionKind::Text { .. }))
        .map(|(_, q)| q.id.value.clone())
        .collect();
    if text_questions.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let wave_counts = counts::current(conn, wave_id, definition)?;
    let plan = stats::plan(
        &wave::org_units(org, &wave_counts),
        wave::threshold(definition)?,
    )?;
    let group = scope.map_or(Group::Audience, Group::Department);
    if !plan.comments(&group, ()).is_shown() {
        return Ok(None);
    }
    let members = scope.map(|id| org.subtree(id));
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
