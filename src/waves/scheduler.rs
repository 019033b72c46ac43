//! The scheduler: what is due at a given moment (pure), and the tick that does it. Time
//! is always an argument, so tests run years of schedule in milliseconds; every action
//! is idempotent across processes (see `lifecycle`).

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};

use super::lifecycle::{self, Mailer, Opened};
use super::{Origin, WaveError};
use crate::db::Conn;
use crate::definitions::Schedule;

/// A wave that should be open now: its label, opening and closing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueWave {
    pub label: String,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
}

/// Openings at or before `now` whose waves would still be open and that have no wave
/// yet. An opening missed entirely (the service was down for the whole window) is not
/// opened late.
pub fn due_openings(
    schedule: &Schedule,
    existing_labels: &HashSet<String>,
    now: DateTime<Utc>,
) -> Vec<DueWave> {
    let lookback = Duration::days(schedule.open_for.longest_days() as i64 + 1);
    schedule
        .openings(now - lookback, now + Duration::seconds(1))
        .into_iter()
        .filter(|t| *t <= now)
        .map(|t| DueWave {
            label: schedule.wave_label(t),
            opens_at: t,
            closes_at: schedule.closes(t),
        })
        .filter(|w| w.closes_at > now && !existing_labels.contains(&w.label))
        .collect()
}

/// How many of a wave's scheduled reminders are due at `now`.
pub fn reminders_due(schedule: &Schedule, opens_at: DateTime<Utc>, now: DateTime<Utc>) -> usize {
    schedule
        .reminder_times(opens_at)
        .iter()
        .filter(|t| **t <= now)
        .count()
}

/// What one tick did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TickReport {
    pub opened: Vec<String>,
    pub reminded: Vec<String>,
    pub closed: Vec<String>,
    /// Responses sealed (see `responses::inbox`).
    pub sealed: usize,
    /// Waves released (see `reports::release::due`).
    pub released: Vec<String>,
}

/// Seals the responses waiting in the inbox (`responses::inbox`), then does the
/// [`due`] work.
pub fn tick(conn: &mut Conn, mailer: &Mailer, now: DateTime<Utc>) -> Result<TickReport, WaveError> {
    let sealed = crate::responses::inbox::seal(conn)?;
    Ok(TickReport {
        sealed,
        ..due(conn, mailer, now)?
    })
}

/// Opens due waves, sends due reminders and closes ended waves, as of `now`; then makes
/// the releases that are due (`reports::release::due`: views read releases and never
/// count). `icsat serve` seals through its shared writer first, then calls this.
pub fn due(conn: &mut Conn, mailer: &Mailer, now: DateTime<Utc>) -> Result<TickReport, WaveError> {
    use crate::db::schema::{surveys, waves};
    use diesel::prelude::*;

    let mut report = TickReport::default();
    let slugs: Vec<String> = crate::with_conn!(*conn, c => surveys::table.select(surveys::slug).order(surveys::slug).load(c))
        .map_err(crate::db::DbError::from)?;
    for slug in slugs {
        let (_, definition) = crate::surveys::current(conn, &slug)?;
        let Some(schedule) = &definition.schedule else {
            continue;
        };
        let Some(survey_id) = super::survey_id(conn, &slug)? else {
            continue;
        };
        let labels: HashSet<String> = super::of_survey(conn, survey_id)?
            .into_iter()
            .map(|w| w.label)
            .collect();
        for due in due_openings(schedule, &labels, now) {
            if let Opened::New { .. } = lifecycle::open(
                conn,
                mailer,
                &slug,
                &due.label,
                due.opens_at,
                due.closes_at,
                Origin::Schedule,
            )? {
                report.opened.push(format!("{slug}/{}", due.label));
            }
        }
    }
    let open: Vec<super::Wave> = crate::with_conn!(*conn, c => waves::table
        .filter(waves::status.eq("open"))
        .select(super::Wave::as_select())
        .order(waves::id)
        .load(c))
    .map_err(crate::db::DbError::from)?;
    for wave in open {
        if wave.closes_at.is_some_and(|t| t.and_utc() <= now) {
            if lifecycle::close(conn, &wave)? {
                report.closed.push(wave.label.clone());
            }
            continue;
        }
        let definition = crate::reports::wave_definition(conn, wave.version_id)?;
        let Some(schedule) = &definition.schedule else {
            continue;
        };
        let due = reminders_due(schedule, wave.opens_at.and_utc(), now) as i32;
        // Reminders missed while the service was down collapse into one.
        if due > wave.reminders_done
            && lifecycle::scheduled_reminder(conn, mailer, &wave, &definition, due)?
        {
            report.reminded.push(wave.label.clone());
        }
    }
    report.released = crate::reports::release::due(conn, now.naive_utc())?;
    // Last: a closed wave's final figures come before generalising its responses.
    finish_closed(conn)?;
    Ok(report)
}

/// How long after closing a wave counts as unfinished when it has not been through
/// `responses::generalise::at_close`: the closing process may still be making its final
/// figures, which must come from the responses as answered.
const FINISH_AFTER: Duration = Duration::minutes(10);

/// Finishes closed waves whose closing stopped before generalising their responses (a
/// crash, a failed step, or closed by a version without the step): their responses and
/// answered marks are as answered until this runs. Goes by the real clock.
fn finish_closed(conn: &mut Conn) -> Result<(), WaveError> {
    let before = crate::db::now() - FINISH_AFTER;
    for (wave_id, version_id) in crate::responses::generalise::unfinished(conn, before)? {
        let definition = crate::reports::wave_definition(conn, version_id)?;
        let done = crate::responses::generalise::at_close(conn, wave_id, &definition)?;
        tracing::info!(
            wave_id,
            responses = done.responses,
            generalised = done.generalised,
            "finished closing: responses generalised, answered marks counted"
        );
    }
    for (wave_id, version_id) in crate::reports::cube::missing(conn)? {
        let definition = crate::reports::wave_definition(conn, version_id)?;
        crate::reports::cube::make(conn, wave_id, &definition)?;
        tracing::info!(
            wave_id,
            "finished closing: classes for filtered views counted"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definitions::parse_definition;
    use chrono::TimeZone;

    fn pulse() -> Schedule {
        let source = r#"
id = "pulse"
title = "Pulse"
[schedule]
kind = "pulse"
opens = "2027-01-04T09:00"
timezone = "Europe/Berlin"
every = "1m"
open_for = "7d"
reminders = ["3d"]
sample = 0.25
[audience]
departments = ["*"]
[[sections]]
id = "s"
title = "S"
  [[sections.questions]]
  id = "enps"
  type = "enps"
  text = "E"
"#;
        match parse_definition(source) {
            Ok(d) => d.schedule.expect("scheduled"),
            Err(e) => panic!("{e:?}"),
        }
    }

    #[test]
    fn two_years_of_a_monthly_pulse_open_on_local_dates_across_dst() {
        let schedule = pulse();
        let berlin = chrono_tz::Europe::Berlin;
        let mut labels = HashSet::new();
        let mut opened = Vec::new();
        // A tick every hour for two years: each wave opens once, at 09:00 Berlin time.
        let mut now = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
        let end = Utc.with_ymd_and_hms(2029, 1, 1, 0, 0, 0).unwrap();
        while now < end {
            for due in due_openings(&schedule, &labels, now) {
                labels.insert(due.label.clone());
                opened.push(due);
            }
            now += Duration::hours(1);
        }
        assert_eq!(opened.len(), 24);
        for (k, wave) in opened.iter().enumerate() {
            let local = wave.opens_at.with_timezone(&berlin);
            assert_eq!(local.format("%H:%M").to_string(), "09:00", "wave {k}");
            assert_eq!(wave.label, local.format("%Y-%m-%d").to_string());
            assert_eq!((wave.closes_at - wave.opens_at).num_days(), 7);
        }
        assert_eq!(opened[2].label, "2027-03-04");
        assert_eq!(
            opened[2].opens_at,
            Utc.with_ymd_and_hms(2027, 3, 4, 8, 0, 0).unwrap(),
            "winter: UTC+1"
        );
        assert_eq!(
            opened[3].opens_at,
            Utc.with_ymd_and_hms(2027, 4, 4, 7, 0, 0).unwrap(),
            "summer: UTC+2"
        );
        assert_eq!(opened[23].label, "2028-12-04");
    }

    #[test]
    fn a_restart_never_opens_a_wave_twice_and_missed_windows_stay_missed() {
        let schedule = pulse();
        let during = Utc.with_ymd_and_hms(2027, 2, 6, 12, 0, 0).unwrap();
        let due = due_openings(&schedule, &HashSet::new(), during);
        assert_eq!(due.len(), 1);
        let labels: HashSet<String> = due.iter().map(|d| d.label.clone()).collect();
        assert!(
            due_openings(&schedule, &labels, during).is_empty(),
            "already opened"
        );
        let after_window = Utc.with_ymd_and_hms(2027, 2, 20, 12, 0, 0).unwrap();
        assert!(due_openings(&schedule, &HashSet::new(), after_window).is_empty());
    }

    #[test]
    fn reminders_fall_due_at_their_offsets() {
        let schedule = pulse();
        let opens = Utc.with_ymd_and_hms(2027, 2, 4, 8, 0, 0).unwrap();
        assert_eq!(
            reminders_due(&schedule, opens, opens + Duration::days(2)),
            0
        );
        assert_eq!(
            reminders_due(&schedule, opens, opens + Duration::days(3)),
            1
        );
    }
}
