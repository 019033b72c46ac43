//! Writing responses and answers: imports write them at once, submissions through the
//! inbox (`super::inbox`). Ids are random (UUID v4): no sequence tells their order.

use diesel::prelude::*;
#[cfg(feature = "postgres")]
use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text};

use super::NewResponse;
use crate::db::schema::{answers, responses};
use crate::db::{Conn, DbError};

/// Rows per INSERT on PostgreSQL (below its limit on bound parameters).
const BATCH: usize = 2000;

// `treat_none_as_default_value = false`: None is written as NULL, which is also these
// nullable columns' default, so rows are stored as before; but the statement no longer
// depends on which fields are None, so diesel prepares it once per connection instead of
// once per row (SQLite has no DEFAULT in VALUES, so diesel wrote such rows one by one
// inside a savepoint).
#[derive(Insertable)]
#[diesel(table_name = responses, treat_none_as_default_value = false)]
pub(super) struct ResponseRow<'a> {
    pub id: String,
    pub wave_id: i64,
    pub department_id: Option<i64>,
    pub attributes: &'a str,
    pub employee_id: Option<i64>,
}

#[derive(Insertable)]
#[diesel(table_name = answers, treat_none_as_default_value = false)]
pub(super) struct AnswerRow<'a> {
    pub response_id: &'a str,
    pub question_id: &'a str,
    pub ordinal: i32,
    pub value: Option<i32>,
    pub text: Option<&'a str>,
}

/// Stores responses of one wave, in the order given; call inside [`Conn::transaction`]
/// with the rest of the work (creating the wave, say) so it is all or nothing. For bulk
/// imports; a single submission goes through the inbox (`super::inbox`), so that the
/// order of rows does not follow the order of answering.
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
    write_rows(conn, &rows, &answer_rows)
}

/// Inserts responses, then answers: on PostgreSQL as arrays (one round trip per `BATCH`
/// rows, one statement kept prepared for any count); on SQLite, where a statement costs
/// no round trip, row by row with one prepared statement per table, the cheapest way
/// SQLite inserts.
pub(super) fn write_rows(
    conn: &mut Conn,
    rows: &[ResponseRow],
    answer_rows: &[AnswerRow],
) -> Result<(), DbError> {
    match conn {
        #[cfg(feature = "sqlite")]
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
        #[cfg(feature = "postgres")]
        Conn::Postgres(c) => {
            let c: &mut diesel::PgConnection = c;
            for chunk in rows.chunks(BATCH) {
                PgInsertResponses {
                    ids: chunk.iter().map(|r| r.id.clone()).collect(),
                    wave_ids: chunk.iter().map(|r| r.wave_id).collect(),
                    department_ids: chunk.iter().map(|r| r.department_id).collect(),
                    attributes: chunk.iter().map(|r| r.attributes.to_string()).collect(),
                    employee_ids: chunk.iter().map(|r| r.employee_id).collect(),
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
// which sealing relies on (`super::inbox`).
#[cfg(feature = "postgres")]
crate::cached_statement! {
    /// Inserts responses, one array element per row.
    struct PgInsertResponses {
        ids: Vec<String> => Array<Text>,
        wave_ids: Vec<i64> => Array<BigInt>,
        department_ids: Vec<Option<i64>> => Array<Nullable<BigInt>>,
        attributes: Vec<String> => Array<Text>,
        employee_ids: Vec<Option<i64>> => Array<Nullable<BigInt>>,
    }
    "INSERT INTO responses (id, wave_id, department_id, attributes, employee_id) \
     SELECT * FROM unnest(", ids: Array<Text>, ", ", wave_ids: Array<BigInt>, ", ",
    department_ids: Array<Nullable<BigInt>>, ", ", attributes: Array<Text>, ", ",
    employee_ids: Array<Nullable<BigInt>>, ")"
}

#[cfg(feature = "postgres")]
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
