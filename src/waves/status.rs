//! `icsat wave list`: each wave with its status, response rate and mail.

use std::collections::HashMap;

use diesel::prelude::*;
use serde::Serialize;

use super::Wave;
use crate::db::schema::{invitations, surveys, wave_participation, waves};
use crate::db::{Conn, DbError};

#[derive(Debug, Clone, Serialize)]
pub struct WaveStatus {
    pub id: i64,
    pub survey: String,
    pub label: String,
    pub status: String,
    pub origin: String,
    pub opens_at: String,
    pub closes_at: Option<String>,
    /// When it opened and closes (UTC), for pages that show the survey's own time zone.
    #[serde(skip)]
    pub opens_at_utc: chrono::NaiveDateTime,
    #[serde(skip)]
    pub closes_at_utc: Option<chrono::NaiveDateTime>,
    pub invited: u64,
    pub responded: u64,
    pub rate: Option<f64>,
    pub mail_queued: u64,
    pub mail_sent: u64,
    pub mail_failed: u64,
}

/// A wave's invitations and how many of them were answered, per department.
///
/// A closed wave's counts are in `wave_participation`, written when it closed, which
/// erased the invitations' answered marks (`responses::generalise`); an open wave (or a
/// closed one its closing has not finished yet) still has its marks.
pub fn answered_by_department(
    conn: &mut Conn,
    wave_id: i64,
) -> Result<HashMap<i64, (u64, u64)>, DbError> {
    let counted: Vec<(i64, i64, i64)> = crate::with_conn!(*conn, c => wave_participation::table
        .filter(wave_participation::wave_id.eq(wave_id))
        .select((
            wave_participation::department_id,
            wave_participation::invited,
            wave_participation::answered,
        ))
        .load(c))?;
    if !counted.is_empty() {
        return Ok(counted
            .into_iter()
            .map(|(department, invited, answered)| {
                let count = |n: i64| u64::try_from(n).unwrap_or(0);
                (department, (count(invited), count(answered)))
            })
            .collect());
    }
    answered_marks(conn, wave_id)
}

/// [`answered_by_department`] from the invitations' answered marks.
///
/// The answered mark is in no index (marking it would rewrite index pages on every
/// submission; migration 000011), so this reads the rows. A wave's invitations are written
/// together and lie in one run of ids: the query reads that run in id order (`wave_id + 0`
/// keeps the planner off the wave index, whose order would jump about the table).
fn answered_marks(conn: &mut Conn, wave_id: i64) -> Result<HashMap<i64, (u64, u64)>, DbError> {
    let (first, last): (Option<i64>, Option<i64>) = crate::with_conn!(*conn, c => invitations::table
        .filter(invitations::wave_id.eq(wave_id))
        .select((diesel::dsl::min(invitations::id), diesel::dsl::max(invitations::id)))
        .get_result(c))?;
    let (Some(first), Some(last)) = (first, last) else {
        return Ok(HashMap::new());
    };
    let rows: Vec<(i64, i64, i64)> = crate::with_conn!(*conn, c => invitations::table
        .filter(invitations::id.between(first, last))
        .filter((invitations::wave_id + 0).eq(wave_id))
        .group_by(invitations::department_id)
        .select((
            invitations::department_id,
            diesel::dsl::count_star(),
            diesel::dsl::count(invitations::responded_on),
        ))
        .load(c))?;
    Ok(rows
        .into_iter()
        .map(|(department, invited, responded)| (department, (invited as u64, responded as u64)))
        .collect())
}

pub fn list(conn: &mut Conn) -> Result<Vec<WaveStatus>, super::WaveError> {
    let rows: Vec<(Wave, String)> = crate::with_conn!(*conn, c => waves::table
        .inner_join(surveys::table)
        .order((surveys::slug, waves::opens_at))
        .select((Wave::as_select(), surveys::slug))
        .load(c))
    .map_err(DbError::from)?;
    let mail = crate::mail::counts_by_wave(conn)?;
    rows.into_iter()
        .map(|(wave, survey)| {
            let (invited, responded) = answered_by_department(conn, wave.id)?
                .values()
                .fold((0, 0), |(i, r), (di, dr)| (i + di, r + dr));
            let counts = mail.get(&wave.id);
            Ok(WaveStatus {
                id: wave.id,
                survey,
                label: wave.label,
                status: wave.status,
                origin: wave.origin,
                opens_at: wave.opens_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                closes_at: wave
                    .closes_at
                    .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()),
                opens_at_utc: wave.opens_at,
                closes_at_utc: wave.closes_at,
                invited,
                responded,
                rate: (invited > 0).then(|| responded as f64 / invited as f64),
                mail_queued: counts.map_or(0, |c| c.queued),
                mail_sent: counts.map_or(0, |c| c.sent),
                mail_failed: counts.map_or(0, |c| c.failed),
            })
        })
        .collect()
}
