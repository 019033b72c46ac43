//! Writing responses. Ids are random (UUID v4): no sequence tells their order.

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Integer, Nullable, Text};

use super::NewResponse;
use crate::db::schema::{answers, responses};
use crate::db::{Conn, DbError};

/// Rows per INSERT on PostgreSQL, and ids per `IN (...)` list when sealing (below both
/// backends' limits on bound parameters).
const BATCH: usize = 2000;

// `treat_none_as_default_value = false`: None is written as NULL, which is also these
// nullable columns' default, so rows are stored as before; but the statement no longer
// depends on which fields are None, so diesel prepares it once per connection instead of
// once per row (SQLite has no DEFAULT in VALUES, so diesel wrote such rows one by one
// inside a savepoint).
#[derive(Insertable)]
#[diesel(table_name = responses, treat_none_as_default_value = false)]
struct ResponseRow<'a> {
    id: String,
    wave_id: i64,
    department_id: Option<i64>,
    attributes: &'a str,
    employee_id: Option<i64>,
    sealed: bool,
}

#[derive(Insertable)]
#[diesel(table_name = answers, treat_none_as_default_value = false)]
struct AnswerRow<'a> {
    response_id: &'a str,
    question_id: &'a str,
    ordinal: i32,
    value: Option<i32>,
    text: Option<&'a str>,
}

/// Stores responses of one wave; call inside [`Conn::transaction`] with the rest of the
/// work (marking the invitation, creating the wave) so it is all or nothing. `sealed`:
/// false for a single submission (see [`seal`]), true for bulk imports.
pub fn insert(
    conn: &mut Conn,
    wave_id: i64,
    new: &[NewResponse],
    sealed: bool,
) -> Result<(), DbError> {
    let rows: Vec<ResponseRow> = new
        .iter()
        .map(|r| ResponseRow {
            id: uuid::Uuid::new_v4().to_string(),
            wave_id,
            department_id: r.department_id,
            attributes: &r.attributes,
            employee_id: r.employee_id,
            sealed,
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
    write_rows(conn, &rows, &answer_rows)
}

/// Inserts responses, then answers: on PostgreSQL as arrays (one round trip per `BATCH`
/// rows, one statement kept prepared for any count); on SQLite, where a statement costs
/// no round trip, row by row with one prepared statement per table, the cheapest way
/// SQLite inserts.
fn write_rows(
    conn: &mut Conn,
    rows: &[ResponseRow],
    answer_rows: &[AnswerRow],
) -> Result<(), DbError> {
    match conn {
        Conn::Sqlite(c) => {
            let c: &mut diesel::SqliteConnection = c;
            for row in rows {
                diesel::insert_into(responses::table)
                    .values(row)
                    .execute(c)?;
            }
            for row in answer_rows {
                diesel::insert_into(answers::table).values(row).execute(c)?;
            }
        }
        Conn::Postgres(c) => {
            let c: &mut diesel::PgConnection = c;
            for chunk in rows.chunks(BATCH) {
                PgInsertResponses {
                    ids: chunk.iter().map(|r| r.id.clone()).collect(),
                    wave_ids: chunk.iter().map(|r| r.wave_id).collect(),
                    department_ids: chunk.iter().map(|r| r.department_id).collect(),
                    attributes: chunk.iter().map(|r| r.attributes.to_string()).collect(),
                    employee_ids: chunk.iter().map(|r| r.employee_id).collect(),
                    sealed: chunk.iter().map(|r| r.sealed).collect(),
                }
                .execute(c)?;
            }
            for chunk in answer_rows.chunks(BATCH) {
                PgInsertAnswers {
                    response_ids: chunk.iter().map(|a| a.response_id.to_string()).collect(),
                    question_ids: chunk.iter().map(|a| a.question_id.to_string()).collect(),
                    ordinals: chunk.iter().map(|a| a.ordinal).collect(),
                    values: chunk.iter().map(|a| a.value).collect(),
                    texts: chunk.iter().map(|a| a.text.map(str::to_string)).collect(),
                }
                .execute(c)?;
            }
        }
    }
    Ok(())
}

// PostgreSQL: rows go in as one array per column, so the statement is the same for any
// number of rows and stays prepared (diesel parses and plans a multi-row VALUES afresh
// every time, as its SQL changes with the count). unnest yields the rows in array order,
// which sealing relies on (see [`seal`]).
crate::cached_statement! {
    /// Inserts responses, one array element per row.
    struct PgInsertResponses {
        ids: Vec<String> => Array<Text>,
        wave_ids: Vec<i64> => Array<BigInt>,
        department_ids: Vec<Option<i64>> => Array<Nullable<BigInt>>,
        attributes: Vec<String> => Array<Text>,
        employee_ids: Vec<Option<i64>> => Array<Nullable<BigInt>>,
        sealed: Vec<bool> => Array<Bool>,
    }
    "INSERT INTO responses (id, wave_id, department_id, attributes, employee_id, sealed) \
     SELECT * FROM unnest(", ids: Array<Text>, ", ", wave_ids: Array<BigInt>, ", ",
    department_ids: Array<Nullable<BigInt>>, ", ", attributes: Array<Text>, ", ",
    employee_ids: Array<Nullable<BigInt>>, ", ", sealed: Array<Bool>, ")"
}

crate::cached_statement! {
    /// Inserts answers, one array element per row.
    struct PgInsertAnswers {
        response_ids: Vec<String> => Array<Text>,
        question_ids: Vec<String> => Array<Text>,
        ordinals: Vec<i32> => Array<Integer>,
        values: Vec<Option<i32>> => Array<Nullable<Integer>>,
        texts: Vec<Option<String>> => Array<Nullable<Text>>,
    }
    "INSERT INTO answers (response_id, question_id, ordinal, value, text) \
     SELECT * FROM unnest(", response_ids: Array<Text>, ", ", question_ids: Array<Text>, ", ",
    ordinals: Array<Integer>, ", ", values: Array<Nullable<Integer>>, ", ",
    texts: Array<Nullable<Text>>, ")"
}

type StoredResponse = (String, i64, Option<i64>, String, Option<i64>);
type StoredAnswer = (String, String, i32, Option<i32>, Option<String>);

/// Rewrites every unsealed response, with its answers, in one transaction and in
/// random-id order: afterwards nothing the database keeps per row (physical order,
/// PostgreSQL's xmin) tells which invitation, marked answered at the same moment, a
/// response came with. Returns how many were sealed.
pub fn seal(conn: &mut Conn) -> Result<usize, DbError> {
    conn.transaction(|conn| {
        let mut rows: Vec<StoredResponse> = crate::with_conn!(*conn, c => responses::table
            // Written as the partial index's condition, so both databases use it.
            .filter(diesel::dsl::not(responses::sealed))
            .select((responses::id, responses::wave_id, responses::department_id, responses::attributes, responses::employee_id))
            .load(c))?;
        if rows.is_empty() {
            return Ok(0);
        }
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        let ids: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        let mut answer_rows: Vec<StoredAnswer> = Vec::new();
        for chunk in ids.chunks(BATCH) {
            let part: Vec<StoredAnswer> = crate::with_conn!(*conn, c => answers::table
                .filter(answers::response_id.eq_any(chunk))
                .select((answers::response_id, answers::question_id, answers::ordinal, answers::value, answers::text))
                .load(c))?;
            answer_rows.extend(part);
        }
        answer_rows.sort_by(|a, b| (&a.0, &a.1, a.2).cmp(&(&b.0, &b.1, b.2)));
        for chunk in ids.chunks(BATCH) {
            crate::with_conn!(*conn, c => {
                diesel::delete(answers::table.filter(answers::response_id.eq_any(chunk))).execute(c)?;
                diesel::delete(responses::table.filter(responses::id.eq_any(chunk))).execute(c)
            })?;
        }
        let fresh: Vec<ResponseRow> = rows
            .iter()
            .map(|(id, wave_id, department_id, attributes, employee_id)| ResponseRow {
                id: id.clone(),
                wave_id: *wave_id,
                department_id: *department_id,
                attributes,
                employee_id: *employee_id,
                sealed: true,
            })
            .collect();
        let fresh_answers: Vec<AnswerRow> = answer_rows
            .iter()
            .map(|(response_id, question_id, ordinal, value, text)| AnswerRow {
                response_id,
                question_id,
                ordinal: *ordinal,
                value: *value,
                text: text.as_deref(),
            })
            .collect();
        write_rows(conn, &fresh, &fresh_answers)?;
        Ok(rows.len())
    })
}
