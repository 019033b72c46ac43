//! An invited employee's answers: found by the link's token, stored once.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Timestamp};

use super::{dimensions, AnswerValue, NewResponse};
use crate::db::schema::{employees, invitation_tokens, invitations, survey_versions, waves};
use crate::db::{Conn, Db, DbError};
use crate::waves::{tokens, Wave};

/// An invitation as the form needs it.
#[derive(Debug, Clone)]
pub struct Invitation {
    pub id: i64,
    pub employee_id: i64,
    pub department_id: i64,
    pub responded_on: Option<NaiveDate>,
    pub name: String,
    /// What the response stores besides its department (a JSON object): the dimensions
    /// the wave's definition declares in `report_by`, nothing else of the roster (see
    /// `super::dimensions`); read with the invitation so the shared writer need not.
    pub attributes: String,
    pub wave: Wave,
}

/// The employee's roster attributes with their location, for callers that build an
/// [`Invitation`] themselves. Not what a response keeps: [`submit`] replaces them with
/// the wave's declared dimensions.
pub fn attributes_of(conn: &mut Conn, employee_id: i64) -> Result<String, DbError> {
    let (attributes, location): (String, Option<String>) = crate::with_conn!(*conn, c => employees::table
        .find(employee_id)
        .select((employees::attributes, employees::location))
        .get_result(c))?;
    let mut attributes: BTreeMap<String, String> =
        serde_json::from_str(&attributes).unwrap_or_default();
    if let Some(location) = location {
        attributes.insert("location".into(), location);
    }
    Ok(dimensions::to_json(&attributes))
}

/// The invitation a link's token belongs to; `None` for an unknown token. Its
/// `attributes` are the dimensions as of today (tenure is a band that can change with
/// the day; the answers are stored moments later).
pub fn find_by_token(conn: &mut Conn, token: &str) -> Result<Option<Invitation>, DbError> {
    if !tokens::plausible(token) {
        return Ok(None);
    }
    let hash = tokens::hash(token);
    type Row = (
        (i64, i64, i64, Option<NaiveDate>),
        (String, String, Option<String>, Option<NaiveDate>),
        String,
        Wave,
    );
    let row: Option<Row> = crate::with_conn!(*conn, c => invitation_tokens::table
        .inner_join(invitations::table.inner_join(waves::table).inner_join(employees::table))
        .inner_join(survey_versions::table.on(survey_versions::id.eq(waves::version_id)))
        .filter(invitation_tokens::token_hash.eq(&hash))
        .select((
            (
                invitations::id,
                invitations::employee_id,
                invitations::department_id,
                invitations::responded_on,
            ),
            (
                employees::name,
                employees::attributes,
                employees::location,
                employees::hire_date,
            ),
            survey_versions::source_hash,
            Wave::as_select(),
        ))
        // At most one row (token_hash is the key): no LIMIT, which SQLite (3.50) would
        // take as a reason to compile the statement afresh on every execution.
        .get_result(c)
        .optional())?;
    let Some((
        (id, employee_id, department_id, responded_on),
        (name, attributes, location, hire_date),
        source_hash,
        wave,
    )) = row
    else {
        return Ok(None);
    };
    let report_by = dimensions::report_by_of(conn, wave.version_id, &source_hash)?;
    let facts = dimensions::RosterFacts::from_row(&attributes, location, hire_date);
    Ok(Some(Invitation {
        id,
        employee_id,
        department_id,
        responded_on,
        name,
        attributes: dimensions::stored_attributes(&report_by, &facts, crate::db::now().date()),
        wave,
    }))
}

crate::cached_statement! {
    /// Marks an unanswered invitation of a wave open at `now` answered on `day`; changes
    /// nothing (0 rows) when it was answered before or its wave is not open. Kept
    /// prepared (see `db::cached`): every submission runs it.
    struct MarkAnswered { day: NaiveDate => Date, invitation_id: i64 => BigInt, now: NaiveDateTime => Timestamp }
    "UPDATE invitations SET responded_on = ", day: Date, " WHERE id = ", invitation_id: BigInt,
    " AND responded_on IS NULL AND EXISTS (SELECT 1 FROM waves \
     WHERE waves.id = invitations.wave_id AND waves.status = 'open' \
     AND (waves.closes_at IS NULL OR waves.closes_at > ", now: Timestamp, ") AND waves.opens_at <= ", now: Timestamp, ")"
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Stored,
    /// Answered before (a double click, the back button, a replay): nothing stored.
    AlreadyAnswered,
    /// The wave closed meanwhile: nothing stored.
    Closed,
}

/// Stores the answers (in the inbox, until sealed: `super::inbox`) and marks the
/// invitation answered, in one transaction. The mark is a conditional update, so of
/// racing submissions exactly one stores anything. In an anonymous survey the response
/// carries no employee and no time; the invitation keeps only the day (until its wave
/// closes: `super::generalise`).
///
/// For commands and tests, which may build the invitation themselves: the stored
/// attributes are worked out here from the roster and the wave's definition, whatever
/// `invitation.attributes` holds.
pub fn submit(
    conn: &mut Conn,
    invitation: &Invitation,
    anonymous: bool,
    answers: Vec<AnswerValue>,
    now: NaiveDateTime,
) -> Result<Outcome, DbError> {
    let invitation = Invitation {
        attributes: dimensions::of_employee(
            conn,
            invitation.employee_id,
            invitation.wave.version_id,
            now.date(),
        )?,
        ..invitation.clone()
    };
    conn.transaction(|conn| store_answers(conn, &invitation, anonymous, answers, now))
}

/// How the web service stores submissions: [`submit`]'s work, in a transaction shared
/// with the other submissions arriving meanwhile, answered once it has committed. On
/// SQLite each submission runs in a savepoint of the one writer's transaction
/// ([`Db::write_grouped`]); on PostgreSQL writer threads store whole batches with a
/// statement or two each (`super::batched`).
pub enum SubmissionWriter {
    Grouped(Db),
    #[cfg(feature = "postgres")]
    Batched(super::batched::Batcher),
}

impl SubmissionWriter {
    /// The writer for this database (PostgreSQL's starts its threads and their pool).
    pub fn start(db: &Db) -> Result<SubmissionWriter, DbError> {
        Ok(match db.backend() {
            #[cfg(feature = "postgres")]
            crate::db::Backend::Postgres => {
                SubmissionWriter::Batched(super::batched::Batcher::start(db)?)
            }
            _ => SubmissionWriter::Grouped(db.clone()),
        })
    }

    /// Stores `invitation.attributes` as [`find_by_token`] worked them out; returns once
    /// the answers are committed, or that nothing was stored.
    pub async fn submit(
        &self,
        invitation: Invitation,
        anonymous: bool,
        answers: Vec<AnswerValue>,
        now: NaiveDateTime,
    ) -> Result<Outcome, DbError> {
        match self {
            SubmissionWriter::Grouped(db) => {
                db.write_grouped(move |conn| {
                    store_answers(conn, &invitation, anonymous, answers, now)
                })
                .await
            }
            #[cfg(feature = "postgres")]
            SubmissionWriter::Batched(batcher) => {
                batcher.submit(invitation, anonymous, answers, now).await
            }
        }
    }
}

/// The work of [`submit`], inside the caller's transaction.
pub(super) fn store_answers(
    conn: &mut Conn,
    invitation: &Invitation,
    anonymous: bool,
    answers: Vec<AnswerValue>,
    now: NaiveDateTime,
) -> Result<Outcome, DbError> {
    let marked = crate::with_conn!(*conn, c => MarkAnswered {
        day: now.date(),
        invitation_id: invitation.id,
        now,
    }
    .execute(c))?;
    if marked == 0 {
        let answered: Option<NaiveDate> = crate::with_conn!(*conn, c => invitations::table
            .find(invitation.id)
            .select(invitations::responded_on)
            .get_result(c))?;
        return Ok(if answered.is_some() {
            Outcome::AlreadyAnswered
        } else {
            Outcome::Closed
        });
    }
    let response = NewResponse {
        department_id: Some(invitation.department_id),
        attributes: invitation.attributes.clone(),
        employee_id: (!anonymous).then_some(invitation.employee_id),
        answers,
    };
    super::inbox::deposit(conn, invitation.wave.id, &response)?;
    Ok(Outcome::Stored)
}
