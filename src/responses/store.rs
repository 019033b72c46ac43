//! Writing responses. Ids are random (UUID v4): no sequence tells their order.

use diesel::prelude::*;

use super::NewResponse;
use crate::db::schema::{answers, responses};
use crate::db::{Conn, DbError};

/// Rows per INSERT, below both backends' limits on bound parameters.
const BATCH: usize = 2000;

#[derive(Insertable)]
#[diesel(table_name = responses)]
struct ResponseRow<'a> {
    id: String,
    wave_id: i64,
    department_id: Option<i64>,
    attributes: &'a str,
    employee_id: Option<i64>,
}

#[derive(Insertable)]
#[diesel(table_name = answers)]
struct AnswerRow<'a> {
    response_id: &'a str,
    question_id: &'a str,
    ordinal: i32,
    value: Option<i32>,
    text: Option<&'a str>,
}

/// Stores responses of one wave; call inside [`Conn::transaction`] with the rest of the
/// work (marking the invitation, creating the wave) so it is all or nothing.
pub fn insert(conn: &mut Conn, wave_id: i64, new: &[NewResponse]) -> Result<(), DbError> {
    let rows: Vec<ResponseRow> = new
        .iter()
        .map(|r| ResponseRow {
            id: uuid::Uuid::new_v4().to_string(),
            wave_id,
            department_id: r.department_id,
            attributes: &r.attributes,
            employee_id: r.employee_id,
        })
        .collect();
    let answer_rows: Vec<AnswerRow> = rows
        .iter()
        .zip(new)
        .flat_map(|(row, r)| {
            r.answers.iter().map(move |a| AnswerRow {
                response_id: &row.id,
                question_id: &a.question_id,
                ordinal: a.ordinal,
                value: a.value,
                text: a.text.as_deref(),
            })
        })
        .collect();
    for chunk in rows.chunks(BATCH) {
        crate::with_conn!(*conn, c => diesel::insert_into(responses::table).values(chunk).execute(c))?;
    }
    for chunk in answer_rows.chunks(BATCH) {
        crate::with_conn!(*conn, c => diesel::insert_into(answers::table).values(chunk).execute(c))?;
    }
    Ok(())
}
