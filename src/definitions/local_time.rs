//! Turning local wall-clock times of a survey's timezone into instants.

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// The instant at which the wall clocks of `tz` show `local`.
///
/// An ambiguous time (clocks going back) takes the earlier instant, so a wave never
/// opens an hour late. A time that does not exist (clocks going forward) moves to the
/// first instant after the gap, i.e. the moment of the change, so a 02:30 opening on
/// the night of spring-forward opens at 03:00.
pub fn resolve_local(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(a, b) => a.min(b).with_timezone(&Utc),
        LocalResult::None => first_instant_at_or_after(tz, local),
    }
}

/// The earliest instant whose local time is at or after `local`, found by bisection.
/// Offsets lie within ±26 hours of UTC, which bounds the search; local time only
/// moves forward across a gap, so the predicate is monotonic in that window.
fn first_instant_at_or_after(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let as_utc = local.and_utc().timestamp();
    let window = 26 * 3600;
    let (mut lo, mut hi) = (as_utc - window, as_utc + window);
    let reached = |secs: i64| {
        DateTime::<Utc>::from_timestamp(secs, 0)
            .is_some_and(|t| t.with_timezone(&tz).naive_local() >= local)
    };
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if reached(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    // Whole seconds suffice: `opens` has no fractional seconds.
    DateTime::<Utc>::from_timestamp(hi, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The wall-clock time of `t` in `tz`.
pub fn to_local(t: DateTime<Utc>, tz: Tz) -> NaiveDateTime {
    t.with_timezone(&tz).naive_local()
}
