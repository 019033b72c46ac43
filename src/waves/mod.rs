//! Waves: each opening of a survey, labelled by its opening date (or a given label), run
//! with the definition version it opened with.

pub mod audience;
pub mod lifecycle;
pub mod scheduler;
pub mod status;
pub mod tokens;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{surveys, waves};
use crate::db::{Conn, DbError};

#[derive(Debug, thiserror::Error)]
pub enum WaveError {
    #[error("{0}")]
    Label(String),
    #[error("there is no survey {0:?}")]
    UnknownSurvey(String),
    #[error("no wave matches {spec:?}; waves: {known}")]
    UnknownWave { spec: String, known: String },
    #[error("{spec:?} matches several waves ({matches}); write SURVEY/LABEL")]
    AmbiguousWave { spec: String, matches: String },
    #[error("wave {0} is not open")]
    NotOpen(String),
    #[error(transparent)]
    Survey(#[from] crate::surveys::SurveyError),
    #[error(transparent)]
    Report(#[from] crate::reports::ReportError),
    #[error(transparent)]
    Mail(#[from] crate::mail::MailError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for WaveError {
    fn from(e: diesel::result::Error) -> Self {
        WaveError::Db(DbError::Query(e))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Schedule,
    Manual,
    Import,
    /// A month of continuous feedback, opened by its first request.
    Feedback,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Schedule => "schedule",
            Origin::Manual => "manual",
            Origin::Import => "import",
            Origin::Feedback => "feedback",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = waves)]
pub struct Wave {
    pub id: i64,
    pub survey_id: i64,
    pub version_id: i64,
    pub label: String,
    pub origin: String,
    pub status: String,
    pub opens_at: NaiveDateTime,
    pub closes_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
    pub reminders_done: i32,
    pub created_at: NaiveDateTime,
    pub counts_stale: bool,
    pub counts_at: Option<NaiveDateTime>,
}

pub struct NewWave<'a> {
    pub survey_id: i64,
    pub version_id: i64,
    pub label: &'a str,
    pub origin: Origin,
    pub status: &'a str,
    pub opens_at: NaiveDateTime,
    pub closes_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
}

/// A wave label: what people type after `--wave`, so short and printable.
pub fn check_label(label: &str) -> Result<(), String> {
    if label.trim().is_empty() || label.len() > 64 || label.chars().any(char::is_control) {
        Err(format!(
            "the wave label {label:?} must be 1 to 64 printable characters, e.g. 2025-03-01"
        ))
    } else {
        Ok(())
    }
}

pub fn survey_id(conn: &mut Conn, slug: &str) -> Result<Option<i64>, DbError> {
    Ok(crate::with_conn!(*conn, c => surveys::table
        .filter(surveys::slug.eq(slug))
        .select(surveys::id)
        .first(c)
        .optional())?)
}

pub fn find(conn: &mut Conn, survey_id: i64, label: &str) -> Result<Option<Wave>, DbError> {
    Ok(crate::with_conn!(*conn, c => waves::table
        .filter(waves::survey_id.eq(survey_id))
        .filter(waves::label.eq(label))
        .select(Wave::as_select())
        .first(c)
        .optional())?)
}

/// A wave by its id, with its survey's id (slug).
pub fn by_id(conn: &mut Conn, id: i64) -> Result<Option<(Wave, String)>, DbError> {
    Ok(crate::with_conn!(*conn, c => waves::table
        .inner_join(surveys::table)
        .filter(waves::id.eq(id))
        .select((Wave::as_select(), surveys::slug))
        .first(c)
        .optional())?)
}

/// Every wave of a survey, oldest first (by opening time, then label).
pub fn of_survey(conn: &mut Conn, survey_id: i64) -> Result<Vec<Wave>, DbError> {
    Ok(crate::with_conn!(*conn, c => waves::table
        .filter(waves::survey_id.eq(survey_id))
        .order((waves::opens_at, waves::label))
        .select(Wave::as_select())
        .load(c))?)
}

/// Inserts a wave; `None` when one with the same label exists already (whoever
/// inserted it first, in this process or another, wins).
pub fn insert(conn: &mut Conn, wave: &NewWave) -> Result<Option<i64>, DbError> {
    let now = crate::db::now();
    let id: Option<i64> = crate::with_conn!(*conn, c => diesel::insert_into(waves::table)
        .values((
            waves::survey_id.eq(wave.survey_id),
            waves::version_id.eq(wave.version_id),
            waves::label.eq(wave.label),
            waves::origin.eq(wave.origin.as_str()),
            waves::status.eq(wave.status),
            waves::opens_at.eq(wave.opens_at),
            waves::closes_at.eq(wave.closes_at),
            waves::closed_at.eq(wave.closed_at),
            waves::created_at.eq(now),
        ))
        .on_conflict((waves::survey_id, waves::label))
        .do_nothing()
        .returning(waves::id)
        .get_result(c)
        .optional())?;
    Ok(id)
}

/// Finds a wave by `SURVEY/LABEL`, by its id, or by a label only one survey uses.
pub fn find_spec(conn: &mut Conn, spec: &str) -> Result<Wave, WaveError> {
    let all: Vec<(Wave, String)> = crate::with_conn!(*conn, c => waves::table
        .inner_join(surveys::table)
        .order(waves::id)
        .select((Wave::as_select(), surveys::slug))
        .load(c))?;
    let matches: Vec<&(Wave, String)> = all
        .iter()
        .filter(|(wave, slug)| {
            format!("{slug}/{}", wave.label) == spec
                || wave.id.to_string() == spec
                || wave.label == spec
        })
        .collect();
    match matches.as_slice() {
        [(wave, _)] => Ok(wave.clone()),
        [] => Err(WaveError::UnknownWave {
            spec: spec.to_string(),
            known: all
                .iter()
                .map(|(w, s)| format!("{s}/{}", w.label))
                .collect::<Vec<_>>()
                .join(", "),
        }),
        many => Err(WaveError::AmbiguousWave {
            spec: spec.to_string(),
            matches: many
                .iter()
                .map(|(w, s)| format!("{s}/{}", w.label))
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}
