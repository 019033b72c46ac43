//! Lengths of time written as `14d`, `2w` or `1m`, counted in local calendar time.

use std::fmt;

use chrono::{DateTime, Days, Months, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::local_time::{resolve_local, to_local};

/// A length of time in the survey's local calendar: `N` days, weeks or calendar months.
///
/// Days and weeks keep the wall-clock time across daylight-saving changes (a wave
/// opening at 09:00 closes at 09:00); months clamp the day to the month's length
/// (Jan 31 + 1m = Feb 28, or 29 in a leap year).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    Days(u32),
    Weeks(u32),
    Months(u32),
}

/// The largest count accepted in a period; keeps date arithmetic far from overflow.
pub const MAX_PERIOD_COUNT: u32 = 1000;

impl Period {
    /// Parses `14d`, `2w`, `1m` (count from 1 to [`MAX_PERIOD_COUNT`]). The error says
    /// what a valid period looks like.
    pub fn parse(text: &str) -> Result<Period, String> {
        let help = "write a whole number followed by d (days), w (weeks) or m (calendar months), e.g. \"14d\"";
        let Some(unit) = text.chars().last() else {
            return Err(format!("empty duration; {help}"));
        };
        if unit.is_ascii_digit() {
            return Err(format!("\"{text}\" has no unit; {help}"));
        }
        let digits = &text[..text.len() - unit.len_utf8()];
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!("\"{text}\" is not a duration; {help}"));
        }
        let count: u32 = match digits.parse() {
            Ok(n) if (1..=MAX_PERIOD_COUNT).contains(&n) => n,
            _ => {
                return Err(format!(
                    "\"{text}\" is out of range; the number must be from 1 to {MAX_PERIOD_COUNT}"
                ))
            }
        };
        match unit {
            'd' => Ok(Period::Days(count)),
            'w' => Ok(Period::Weeks(count)),
            'm' => Ok(Period::Months(count)),
            _ => Err(format!("\"{text}\" has an unknown unit '{unit}'; {help}")),
        }
    }

    /// This period repeated `k` times (the offset of the k-th opening), or `None` on
    /// overflow.
    pub fn times(self, k: u32) -> Option<Period> {
        Some(match self {
            Period::Days(n) => Period::Days(n.checked_mul(k)?),
            Period::Weeks(n) => Period::Weeks(n.checked_mul(k)?),
            Period::Months(n) => Period::Months(n.checked_mul(k)?),
        })
    }

    /// `local + self` on the calendar, or `None` past the representable range.
    pub fn add_to_local(self, local: NaiveDateTime) -> Option<NaiveDateTime> {
        match self {
            Period::Days(n) => local.checked_add_days(Days::new(u64::from(n))),
            Period::Weeks(n) => local.checked_add_days(Days::new(u64::from(n) * 7)),
            Period::Months(n) => local.checked_add_months(Months::new(n)),
        }
    }

    /// `t + self` counted on the wall clocks of `tz` (for closing times and reminders).
    /// Saturates at the largest representable instant, which no real survey reaches.
    pub fn add_to(self, t: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        self.add_to_local(to_local(t, tz))
            .map_or(DateTime::<Utc>::MAX_UTC, |local| resolve_local(tz, local))
    }

    /// The fewest calendar days this period can span (months: the shortest run of
    /// months, e.g. 28 days for `1m`).
    pub fn shortest_days(self) -> u64 {
        self.day_bounds().0
    }

    /// The most calendar days this period can span (31 days for `1m`).
    pub fn longest_days(self) -> u64 {
        self.day_bounds().1
    }

    fn day_bounds(self) -> (u64, u64) {
        match self {
            Period::Days(n) => (u64::from(n), u64::from(n)),
            Period::Weeks(n) => (u64::from(n) * 7, u64::from(n) * 7),
            Period::Months(n) => month_day_bounds(n),
        }
    }

    /// True when this period ends before `other` whatever the start date: months are
    /// compared by count, and against days or weeks by their shortest and longest
    /// possible length (so `30d` is not safely shorter than `1m`: February).
    pub fn always_shorter_than(self, other: Period) -> bool {
        match (self, other) {
            (Period::Months(a), Period::Months(b)) => a < b,
            _ => self.longest_days() < other.shortest_days(),
        }
    }

    /// True when this period is at least as long as `other` whatever the start date.
    pub fn always_at_least(self, other: Period) -> bool {
        match (self, other) {
            (Period::Months(a), Period::Months(b)) => a >= b,
            _ => self.shortest_days() >= other.longest_days(),
        }
    }
}

/// Shortest and longest span in days of `n` calendar months, over every start day of a
/// four-year cycle (which includes a leap year, and so every month-length pattern).
fn month_day_bounds(n: u32) -> (u64, u64) {
    let mut bounds = (u64::MAX, 0);
    let Some(first) = NaiveDate::from_ymd_opt(2000, 1, 1) else {
        return (28 * u64::from(n), 31 * u64::from(n));
    };
    for start in first.iter_days().take(4 * 365 + 1) {
        if let Some(end) = start.checked_add_months(Months::new(n)) {
            let days = u64::try_from((end - start).num_days()).unwrap_or(0);
            bounds = (bounds.0.min(days), bounds.1.max(days));
        }
    }
    bounds
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Days(n) => write!(f, "{n}d"),
            Period::Weeks(n) => write!(f, "{n}w"),
            Period::Months(n) => write!(f, "{n}m"),
        }
    }
}

/// Serializes as written in the file (`"14d"`).
impl Serialize for Period {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}
