//! `icsat wave list`: each wave with its status, response rate and mail.

use diesel::prelude::*;
use serde::Serialize;

use super::Wave;
use crate::db::schema::{invitations, surveys, waves};
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
    pub invited: u64,
    pub responded: u64,
    pub rate: Option<f64>,
    pub mail_queued: u64,
    pub mail_sent: u64,
    pub mail_failed: u64,
}

pub fn list(conn: &mut Conn) -> Result<Vec<WaveStatus>, super::WaveError> {
    let rows: Vec<(Wave, String)> = crate::with_conn!(*conn, c => waves::table
        .inner_join(surveys::table)
        .order((surveys::slug, waves::opens_at))
        .select((Wave::as_select(), surveys::slug))
        .load(c))
    .map_err(DbError::from)?;
    let invited: Vec<(i64, i64)> = crate::with_conn!(*conn, c => invitations::table
        .group_by(invitations::wave_id)
        .select((invitations::wave_id, diesel::dsl::count_star()))
        .load(c))
    .map_err(DbError::from)?;
    let responded: Vec<(i64, i64)> = crate::with_conn!(*conn, c => invitations::table
        .filter(invitations::responded_on.is_not_null())
        .group_by(invitations::wave_id)
        .select((invitations::wave_id, diesel::dsl::count_star()))
        .load(c))
    .map_err(DbError::from)?;
    let mail = crate::mail::counts_by_wave(conn)?;
    let lookup = |list: &[(i64, i64)], id: i64| {
        list.iter()
            .find(|(w, _)| *w == id)
            .map_or(0, |(_, n)| *n as u64)
    };
    Ok(rows
        .into_iter()
        .map(|(wave, survey)| {
            let invited = lookup(&invited, wave.id);
            let responded = lookup(&responded, wave.id);
            let counts = mail.get(&wave.id);
            WaveStatus {
                id: wave.id,
                survey,
                label: wave.label,
                status: wave.status,
                origin: wave.origin,
                opens_at: wave.opens_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                closes_at: wave
                    .closes_at
                    .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()),
                invited,
                responded,
                rate: (invited > 0).then(|| responded as f64 / invited as f64),
                mail_queued: counts.map_or(0, |c| c.queued),
                mail_sent: counts.map_or(0, |c| c.sent),
                mail_failed: counts.map_or(0, |c| c.failed),
            }
        })
        .collect())
}
