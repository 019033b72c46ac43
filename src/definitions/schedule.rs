//! When a survey's waves open, close and send reminders. Pure: "now" is always an
//! argument.

use chrono::{DateTime, Datelike, NaiveDateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::local_time::{resolve_local, to_local};
use super::period::Period;

/// The `[schedule]` table. A survey without one is only run by hand (`icsat wave open`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Schedule {
    pub kind: ScheduleKind,
    /// Local time of the first wave, in `timezone`.
    pub opens: NaiveDateTime,
    #[serde(serialize_with = "serialize_tz")]
    pub timezone: Tz,
    /// How long each wave accepts answers.
    pub open_for: Period,
    /// Reminder times after each opening, as written (all shorter than `open_for`).
    pub reminders: Vec<Period>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ScheduleKind {
    /// A single wave at `opens`.
    Once,
    /// A wave every 12 calendar months from `opens`.
    Annual,
    /// A wave every `every`; `sample` is the share of the audience asked per wave
    /// (`None`: everyone).
    Pulse { every: Period, sample: Option<f64> },
}

fn serialize_tz<S: serde::Serializer>(tz: &Tz, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(tz.name())
}

impl Schedule {
    /// Time between two openings; `None` for a one-off survey.
    pub fn period(&self) -> Option<Period> {
        match self.kind {
            ScheduleKind::Once => None,
            ScheduleKind::Annual => Some(Period::Months(12)),
            ScheduleKind::Pulse { every, .. } => Some(every),
        }
    }

    /// Share of the audience asked in each wave (1.0 unless a pulse samples).
    pub fn sample(&self) -> f64 {
        match self.kind {
            ScheduleKind::Pulse {
                sample: Some(share),
                ..
            } => share,
            _ => 1.0,
        }
    }

    /// Local time of opening `k` (0 = the first). Always computed from `opens`, never
    /// from the previous opening, so clamped month ends don't drift (Jan 31, Feb 28,
    /// Mar 31, ...).
    pub fn opening_local(&self, k: u32) -> Option<NaiveDateTime> {
        if k == 0 {
            return Some(self.opens);
        }
        self.period()?.times(k)?.add_to_local(self.opens)
    }

    /// Instant of opening `k`.
    pub fn opening(&self, k: u32) -> Option<DateTime<Utc>> {
        self.opening_local(k)
            .map(|local| resolve_local(self.timezone, local))
    }

    /// Every opening `t` with `from <= t < to`, in order. Half-open, so consecutive
    /// windows (a scheduler's ticks) see each opening exactly once.
    pub fn openings(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let mut found = Vec::new();
        let mut k = self.index_before(from);
        while let Some(t) = self.opening(k) {
            if t >= to {
                break;
            }
            if t >= from {
                found.push(t);
            }
            match k.checked_add(1) {
                Some(next) => k = next,
                None => break,
            }
        }
        found
    }

    /// The first opening strictly after `after`, if any.
    pub fn next_opening(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut k = self.index_before(after);
        loop {
            let t = self.opening(k)?;
            if t > after {
                return Some(t);
            }
            k = k.checked_add(1)?;
        }
    }

    /// When the wave opened at `opening` stops accepting answers.
    pub fn closes(&self, opening: DateTime<Utc>) -> DateTime<Utc> {
        self.open_for.add_to(opening, self.timezone)
    }

    /// When the reminders of the wave opened at `opening` go out, in the order written.
    pub fn reminder_times(&self, opening: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        self.reminders
            .iter()
            .map(|r| r.add_to(opening, self.timezone))
            .collect()
    }

    /// The label of the wave opened at `opening`: its local date, `YYYY-MM-DD`.
    pub fn wave_label(&self, opening: DateTime<Utc>) -> String {
        wave_label(opening, self.timezone)
    }

    /// An index whose opening is safely before `t` (by more than a day of local time,
    /// which outweighs any offset change), so iteration need not start at 0 for
    /// long-running pulses.
    fn index_before(&self, t: DateTime<Utc>) -> u32 {
        let Some(period) = self.period() else {
            return 0;
        };
        let local = to_local(t, self.timezone);
        let estimate = match period {
            Period::Days(n) | Period::Weeks(n) => {
                let step = if matches!(period, Period::Weeks(_)) {
                    i64::from(n) * 7
                } else {
                    i64::from(n)
                };
                (local.date() - self.opens.date()).num_days() / step
            }
            Period::Months(n) => {
                let months = |d: NaiveDateTime| i64::from(d.year()) * 12 + i64::from(d.month0());
                (months(local) - months(self.opens)) / i64::from(n)
            }
        };
        u32::try_from(estimate.saturating_sub(2).max(0)).unwrap_or(u32::MAX)
    }
}

/// The label of a wave opened at `opening` in `tz`: its local date, `YYYY-MM-DD`.
pub fn wave_label(opening: DateTime<Utc>, tz: Tz) -> String {
    to_local(opening, tz).format("%Y-%m-%d").to_string()
}
