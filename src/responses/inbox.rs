//! The inbox: where a submitted response waits to be sealed.
//!
//! A submission writes one row here, in the transaction that marks its invitation
//! answered, so these rows lie in the order of answering, as the invitations' marks do.
//! Sealing moves them into `responses` and `answers` under fresh random ids, in the order
//! of those ids: what the response tables keep (row order, where SQLite puts a cell
//! within a page, PostgreSQL's per-row transaction id) then tells nothing about when a
//! response came, beyond which seal took it in. A seal takes every row present when it
//! starts (its crowd) and moves them in chunks of consecutive new ids, each chunk in a
//! short transaction of its own, so SQLite's one writer is never held for long; as the
//! ids are drawn at random, each chunk is a random sample of the crowd.
//!
//! The response tables are written once per response, rewritten only when its wave
//! closes (`super::generalise`, in random-id order as well). Counts, reports
//! and exports read them only, so a response counts from its seal on: the seal marks the
//! waves it fills `counts_stale`, as a submission did before.

use std::collections::{BTreeSet, HashMap};

use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::store::{self, AnswerRow, ResponseRow};
use super::NewResponse;
use crate::db::schema::response_inbox;
use crate::db::{Conn, Db, DbError};

/// Responses moved per transaction on SQLite: a chunk holds the one writer (and, in
/// `serve`, the group of submissions committing with it) for a few milliseconds; see the
/// README's benchmark section for how this was chosen.
pub const SQLITE_CHUNK: usize = 100;

/// Responses moved per transaction on PostgreSQL, where a chunk holds no lock that a
/// submission waits for, and each costs round trips: larger chunks keep sealing ahead
/// of answering.
pub const POSTGRES_CHUNK: usize = 2000;

/// PostgreSQL advisory lock taken by every chunk's transaction, so that two processes
/// sealing at once move each row exactly once (the second waits, then finds the rows
/// gone) and never deadlock on each other's row locks.
const SEAL_LOCK: i64 = 0x6963_7361_745f_736c;

#[derive(Insertable)]
#[diesel(table_name = response_inbox, treat_none_as_default_value = false)]
struct InboxRow<'a> {
    wave_id: i64,
    department_id: Option<i64>,
    attributes: &'a str,
    employee_id: Option<i64>,
    answers: &'a str,
}

/// An answer as the inbox holds it: `[question_id, ordinal, value, text]`.
type HeldAnswer = (String, i32, Option<i32>, Option<String>);

/// A row waiting in the inbox.
#[derive(Queryable, Selectable)]
#[diesel(table_name = response_inbox)]
struct Waiting {
    id: i64,
    wave_id: i64,
    department_id: Option<i64>,
    attributes: String,
    employee_id: Option<i64>,
    answers: String,
}

/// Puts a submitted response in the inbox; call inside the transaction that marks its
/// invitation answered.
pub fn deposit(conn: &mut Conn, wave_id: i64, response: &NewResponse) -> Result<(), DbError> {
    let answers = held_json(&response.answers)?;
    let row = InboxRow {
        wave_id,
        department_id: response.department_id,
        attributes: &response.attributes,
        employee_id: response.employee_id,
        answers: &answers,
    };
    crate::with_conn!(*conn, c => diesel::insert_into(response_inbox::table).values(&row).execute(c))?;
    Ok(())
}

/// Answers as an inbox row holds them: a JSON array of `[question_id, ordinal, value,
/// text]`.
pub(super) fn held_json(answers: &[super::AnswerValue]) -> Result<String, DbError> {
    let held: Vec<(&str, i32, Option<i32>, Option<&str>)> = answers
        .iter()
        .map(|a| {
            (
                a.question_id.as_str(),
                a.ordinal,
                a.value,
                a.text.as_deref(),
            )
        })
        .collect();
    serde_json::to_string(&held)
        .map_err(|e| DbError::Query(diesel::result::Error::SerializationError(Box::new(e))))
}

/// One chunk of a seal: inbox rows with the ids their responses get, in id order.
type Chunk = Vec<(String, i64)>;

/// A seal's order: every row waiting now, each given a fresh random response id, sorted
/// by that id and cut into chunks.
fn plan(conn: &mut Conn) -> Result<Vec<Chunk>, DbError> {
    let waiting: Vec<i64> =
        crate::with_conn!(*conn, c => response_inbox::table.select(response_inbox::id).load(c))?;
    let mut drawn: Vec<(String, i64)> = waiting
        .into_iter()
        .map(|id| (uuid::Uuid::new_v4().to_string(), id))
        .collect();
    drawn.sort_unstable();
    let size = match conn {
        #[cfg(feature = "sqlite")]
        Conn::Sqlite(_) => SQLITE_CHUNK,
        #[cfg(feature = "postgres")]
        Conn::Postgres(_) => POSTGRES_CHUNK,
    };
    Ok(drawn.chunks(size).map(<[_]>::to_vec).collect())
}

/// Moves one chunk into the response tables; call inside a transaction. Rows another
/// process moved meanwhile are skipped; a row whose answers cannot be read (which only
/// a hand edit of the database could cause) stays in the inbox, with a warning that
/// names its inbox id only. Returns how many were moved.
fn move_chunk(conn: &mut Conn, chunk: &[(String, i64)]) -> Result<usize, DbError> {
    #[cfg(feature = "postgres")]
    if let Conn::Postgres(c) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
            .bind::<BigInt, _>(SEAL_LOCK)
            .execute(&mut **c)?;
    }
    let ids: Vec<i64> = chunk.iter().map(|(_, id)| *id).collect();
    let rows: Vec<Waiting> = crate::with_conn!(*conn, c => response_inbox::table
        .filter(response_inbox::id.eq_any(&ids))
        .select(Waiting::as_select())
        .load(c))?;
    let mut waiting: HashMap<i64, Waiting> = rows.into_iter().map(|r| (r.id, r)).collect();
    // Each row to move, with its new id and its answers, in the order of the new ids.
    let mut moving: Vec<(&str, Waiting, Vec<HeldAnswer>)> = Vec::with_capacity(waiting.len());
    for (response_id, inbox_id) in chunk {
        let Some(row) = waiting.remove(inbox_id) else {
            continue;
        };
        let mut answers: Vec<HeldAnswer> = match serde_json::from_str(&row.answers) {
            Ok(answers) => answers,
            Err(e) => {
                tracing::warn!(inbox_id, error = %e, "a waiting response's answers cannot be read; it stays in the inbox");
                continue;
            }
        };
        answers.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        moving.push((response_id, row, answers));
    }
    let moved: Vec<i64> = moving.iter().map(|(_, row, _)| row.id).collect();
    crate::with_conn!(*conn, c => diesel::delete(response_inbox::table.filter(response_inbox::id.eq_any(&moved))).execute(c))?;
    let rows: Vec<ResponseRow> = moving
        .iter()
        .map(|(id, row, _)| ResponseRow {
            id: id.to_string(),
            wave_id: row.wave_id,
            department_id: row.department_id,
            attributes: &row.attributes,
            employee_id: row.employee_id,
        })
        .collect();
    let answer_rows: Vec<AnswerRow> = moving
        .iter()
        .flat_map(|(id, _, answers)| {
            answers
                .iter()
                .map(|(question_id, ordinal, value, text)| AnswerRow {
                    response_id: id,
                    question_id,
                    ordinal: *ordinal,
                    value: *value,
                    text: text.as_deref(),
                })
        })
        .collect();
    store::write_rows(conn, &rows, &answer_rows)?;
    let waves: BTreeSet<i64> = moving.iter().map(|(_, row, _)| row.wave_id).collect();
    for wave_id in waves {
        crate::with_conn!(*conn, c => MarkStale { wave_id }.execute(c))?;
    }
    Ok(moving.len())
}

crate::cached_statement! {
    /// Marks a wave's stored counts out of date, when not marked yet (how this stays
    /// exact while a recount clears the flag: `reports::counts::claim`).
    struct MarkStale { wave_id: i64 => BigInt }
    "UPDATE waves SET counts_stale = TRUE WHERE id = ", wave_id: BigInt, " AND counts_stale = FALSE"
}

/// Seals every response waiting now, a chunk per transaction; returns how many. For
/// commands and tests; `icsat serve` uses [`seal_grouped`].
pub fn seal(conn: &mut Conn) -> Result<usize, DbError> {
    let mut sealed = 0;
    for chunk in plan(conn)? {
        sealed += conn.transaction(|conn| move_chunk(conn, &chunk))?;
    }
    Ok(sealed)
}

/// [`seal`] for the web service: each chunk shares a transaction with the submissions
/// arriving meanwhile ([`Db::write_grouped`]), so on SQLite sealing never waits for the
/// write lock nor makes submissions wait for it.
pub async fn seal_grouped(db: &Db) -> Result<usize, DbError> {
    let chunks = db.run(plan).await?;
    let mut sealed = 0;
    for chunk in chunks {
        sealed += db
            .write_grouped(move |conn| move_chunk(conn, &chunk))
            .await?;
    }
    Ok(sealed)
}

/// How many responses wait to be sealed.
pub fn waiting(conn: &mut Conn) -> Result<i64, DbError> {
    Ok(crate::with_conn!(*conn, c => response_inbox::table.count().get_result(c))?)
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    use diesel::sql_types::{Integer, Text};
    use diesel_migrations::MigrationHarness;

    use super::HeldAnswer;

    #[derive(QueryableByName, Debug, PartialEq)]
    struct Waiting {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        wave_id: i64,
        #[diesel(sql_type = Text)]
        attributes: String,
        #[diesel(sql_type = Text)]
        answers: String,
    }

    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        id: String,
        #[diesel(sql_type = Integer)]
        sealed: i32,
    }

    /// Whether the migration numbered `number` has been applied.
    fn applied(c: &mut SqliteConnection, number: &str) -> bool {
        c.applied_migrations()
            .expect("applied")
            .iter()
            .any(|v| v.to_string().ends_with(number))
    }

    /// Responses an earlier version stored unsealed move into the inbox on upgrade (and
    /// back, as unsealed responses, on a downgrade); sealed ones stay where they are.
    #[test]
    fn unsealed_responses_of_an_earlier_version_wait_in_the_inbox() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("old.db");
        let mut c = SqliteConnection::establish(&path.display().to_string()).expect("open");
        while !applied(&mut c, "000009") {
            c.run_next_migration(crate::db::SQLITE_MIGRATIONS)
                .expect("migrate");
        }
        // Foreign keys off, so the rows need no wave or roster.
        c.batch_execute(
            "PRAGMA foreign_keys = OFF; \
             INSERT INTO responses (id, wave_id, department_id, attributes, employee_id, sealed) \
             VALUES ('a', 1, 2, '{\"site\":\"Berlin\"}', NULL, 0), ('b', 1, 2, '{}', NULL, 1); \
             INSERT INTO answers VALUES ('a', 'enps', 0, 7, NULL), ('a', 'c', 0, NULL, 'so \"so\"'), \
             ('b', 'enps', 0, 3, NULL);",
        )
        .expect("old rows");
        c.run_pending_migrations(crate::db::SQLITE_MIGRATIONS)
            .expect("upgrade");

        let waiting: Vec<Waiting> =
            diesel::sql_query("SELECT wave_id, attributes, answers FROM response_inbox")
                .load(&mut c)
                .expect("inbox");
        assert_eq!(waiting.len(), 1);
        assert_eq!(waiting[0].wave_id, 1);
        assert_eq!(waiting[0].attributes, "{\"site\":\"Berlin\"}");
        let mut answers: Vec<HeldAnswer> =
            serde_json::from_str(&waiting[0].answers).expect("answers as the inbox holds them");
        answers.sort();
        assert_eq!(
            answers,
            vec![
                ("c".to_string(), 0, None, Some("so \"so\"".to_string())),
                ("enps".to_string(), 0, Some(7), None),
            ]
        );
        let kept: Vec<Row> = diesel::sql_query("SELECT id, 1 AS sealed FROM responses")
            .load(&mut c)
            .expect("responses");
        assert_eq!(
            kept.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["b"]
        );

        // Back to before the inbox, past any later migration.
        while applied(&mut c, "000010") {
            c.revert_last_migration(crate::db::SQLITE_MIGRATIONS)
                .expect("downgrade");
        }
        let back: Vec<Row> = diesel::sql_query("SELECT id, sealed FROM responses ORDER BY sealed")
            .load(&mut c)
            .expect("responses");
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].sealed, 0);
        assert!(uuid::Uuid::parse_str(&back[0].id).is_ok(), "{}", back[0].id);
        let answers: Vec<Row> = diesel::sql_query(
            "SELECT question_id AS id, 0 AS sealed FROM answers WHERE response_id <> 'b' ORDER BY 1",
        )
        .load(&mut c)
        .expect("answers");
        assert_eq!(
            answers.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["c", "enps"]
        );
    }
}
