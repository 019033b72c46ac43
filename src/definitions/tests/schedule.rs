//! Wave openings, closing and reminder times across month ends and daylight saving.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Europe::Berlin;
use chrono_tz::Tz;

use super::super::{resolve_local, wave_label, Period, Schedule, ScheduleKind};

fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .and_then(|date| date.and_hms_opt(h, min, 0))
        .expect("a valid test date")
}

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.from_utc_datetime(&local(y, m, d, h, min))
}

fn schedule(kind: ScheduleKind, opens: NaiveDateTime, timezone: Tz) -> Schedule {
    Schedule {
        kind,
        opens,
        timezone,
        open_for: Period::Days(7),
        reminders: vec![Period::Days(3)],
    }
}

fn monthly_pulse() -> Schedule {
    schedule(
        ScheduleKind::Pulse {
            every: Period::Months(1),
            sample: Some(0.25),
        },
        local(2027, 1, 31, 9, 0),
        Berlin,
    )
}

fn days_in_month(year: i32, month: u32) -> u32 {
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    };
    next.and_then(|d| d.pred_opt()).map_or(0, |d| d.day())
}

#[test]
fn monthly_pulse_from_the_31st_lands_on_month_ends_at_nine_local() {
    let pulse = monthly_pulse();
    let openings = pulse.openings(utc(2027, 1, 1, 0, 0), utc(2029, 1, 1, 0, 0));
    assert_eq!(openings.len(), 24);
    for (k, opening) in openings.iter().enumerate() {
        let k = u32::try_from(k).expect("small");
        let (year, month) = (2027 + i32::try_from(k / 12).expect("small"), k % 12 + 1);
        let local = opening.with_timezone(&Berlin);
        // No drift: the 31st where the month has one, else the month's last day.
        assert_eq!(local.day(), days_in_month(year, month).min(31), "{local}");
        assert_eq!((local.year(), local.month()), (year, month), "{local}");
        assert_eq!((local.hour(), local.minute()), (9, 0), "{local}");
        assert_eq!(
            pulse.wave_label(*opening),
            local.format("%Y-%m-%d").to_string()
        );
    }
    // Winter time is UTC+1, summer time UTC+2.
    assert_eq!(openings[0], utc(2027, 1, 31, 8, 0));
    assert_eq!(openings[1], utc(2027, 2, 28, 8, 0));
    assert_eq!(openings[2], utc(2027, 3, 31, 7, 0)); // DST began on March 28
    assert_eq!(openings[9], utc(2027, 10, 31, 8, 0)); // DST ended that very night
    assert_eq!(openings[13], utc(2028, 2, 29, 8, 0)); // leap year
    assert_eq!(openings[14], utc(2028, 3, 31, 7, 0));
    assert_eq!(pulse.wave_label(openings[13]), "2028-02-29");
    assert_eq!(pulse.opening(0), Some(openings[0]));
    assert_eq!(pulse.opening(23), Some(openings[23]));
}

#[test]
fn openings_are_half_open_and_next_opening_is_strictly_after() {
    let pulse = monthly_pulse();
    let feb = utc(2027, 2, 28, 8, 0);
    let mar = utc(2027, 3, 31, 7, 0);
    assert_eq!(pulse.openings(feb, mar), vec![feb]);
    assert_eq!(pulse.openings(feb, feb), Vec::<DateTime<Utc>>::new());
    assert_eq!(pulse.next_opening(feb), Some(mar));
    assert_eq!(pulse.next_opening(utc(2027, 2, 28, 7, 59)), Some(feb));
    assert_eq!(
        pulse.next_opening(utc(2000, 1, 1, 0, 0)),
        Some(utc(2027, 1, 31, 8, 0))
    );
}

#[test]
fn far_future_openings_are_found_without_walking_from_the_start() {
    let daily = schedule(
        ScheduleKind::Pulse {
            every: Period::Days(1),
            sample: None,
        },
        local(2027, 1, 1, 9, 0),
        Berlin,
    );
    assert_eq!(
        daily.next_opening(utc(2036, 6, 15, 12, 0)),
        Some(utc(2036, 6, 16, 7, 0))
    );
    let opens = daily.openings(utc(2036, 6, 15, 0, 0), utc(2036, 6, 18, 0, 0));
    assert_eq!(opens.len(), 3);
}

#[test]
fn opening_inside_the_spring_forward_gap_moves_to_the_end_of_the_gap() {
    // On 2027-03-28 Berlin's clocks jump from 02:00 to 03:00; 02:30 does not exist.
    let once = schedule(ScheduleKind::Once, local(2027, 3, 28, 2, 30), Berlin);
    let first = once.opening(0).expect("one opening");
    assert_eq!(first, utc(2027, 3, 28, 1, 0));
    assert_eq!(
        first.with_timezone(&Berlin).naive_local(),
        local(2027, 3, 28, 3, 0)
    );
    assert_eq!(once.wave_label(first), "2027-03-28");
}

#[test]
fn pulse_crossing_the_gap_keeps_its_wall_clock_time_elsewhere() {
    let weekly = schedule(
        ScheduleKind::Pulse {
            every: Period::Weeks(1),
            sample: None,
        },
        local(2027, 3, 21, 2, 30),
        Berlin,
    );
    let openings = weekly.openings(utc(2027, 3, 1, 0, 0), utc(2027, 4, 5, 0, 0));
    assert_eq!(
        openings,
        vec![
            utc(2027, 3, 21, 1, 30), // 02:30 CET
            utc(2027, 3, 28, 1, 0),  // 02:30 doesn't exist: 03:00 CEST
            utc(2027, 4, 4, 0, 30),  // 02:30 CEST
        ]
    );
}

#[test]
fn ambiguous_local_time_takes_the_earlier_instant() {
    // On 2027-10-31 Berlin's clocks go back from 03:00 to 02:00; 02:30 happens twice.
    assert_eq!(
        resolve_local(Berlin, local(2027, 10, 31, 2, 30)),
        utc(2027, 10, 31, 0, 30)
    );
}

#[test]
fn annual_opens_every_twelve_months() {
    let annual = schedule(ScheduleKind::Annual, local(2027, 3, 1, 9, 0), Berlin);
    let openings = annual.openings(utc(2027, 1, 1, 0, 0), utc(2032, 1, 1, 0, 0));
    let labels: Vec<String> = openings.iter().map(|o| annual.wave_label(*o)).collect();
    assert_eq!(
        labels,
        [
            "2027-03-01",
            "2028-03-01",
            "2029-03-01",
            "2030-03-01",
            "2031-03-01"
        ]
    );
    assert!(openings
        .iter()
        .all(|o| o.with_timezone(&Berlin).hour() == 9));
    assert_eq!(
        annual.next_opening(utc(2029, 3, 1, 8, 0)),
        Some(utc(2030, 3, 1, 8, 0))
    );
}

#[test]
fn annual_from_a_leap_day_clamps_without_drifting() {
    let annual = schedule(ScheduleKind::Annual, local(2028, 2, 29, 9, 0), Berlin);
    let labels: Vec<String> = annual
        .openings(utc(2028, 1, 1, 0, 0), utc(2033, 1, 1, 0, 0))
        .iter()
        .map(|o| annual.wave_label(*o))
        .collect();
    assert_eq!(
        labels,
        [
            "2028-02-29",
            "2029-02-28",
            "2030-02-28",
            "2031-02-28",
            "2032-02-29"
        ]
    );
}

#[test]
fn once_opens_a_single_wave() {
    let once = schedule(ScheduleKind::Once, local(2027, 6, 1, 10, 0), chrono_tz::UTC);
    let first = utc(2027, 6, 1, 10, 0);
    assert_eq!(
        once.openings(utc(2000, 1, 1, 0, 0), utc(2100, 1, 1, 0, 0)),
        vec![first]
    );
    assert_eq!(once.next_opening(utc(2027, 1, 1, 0, 0)), Some(first));
    assert_eq!(once.next_opening(first), None);
    assert_eq!(once.opening(1), None);
    assert_eq!(once.period(), None);
}

#[test]
fn closing_and_reminders_keep_local_time_across_daylight_saving() {
    let annual = Schedule {
        kind: ScheduleKind::Annual,
        opens: local(2027, 3, 22, 9, 0),
        timezone: Berlin,
        open_for: Period::Days(14),
        reminders: vec![Period::Days(4), Period::Days(10)],
    };
    let opening = annual.opening(0).expect("first opening");
    assert_eq!(opening, utc(2027, 3, 22, 8, 0));
    // Closes at 09:00 local two weeks later, which is summer time by then.
    assert_eq!(annual.closes(opening), utc(2027, 4, 5, 7, 0));
    assert_eq!(
        annual.reminder_times(opening),
        vec![utc(2027, 3, 26, 8, 0), utc(2027, 4, 1, 7, 0)]
    );
}

#[test]
fn adding_a_month_clamps_the_day() {
    let jan31 = resolve_local(Berlin, local(2027, 1, 31, 9, 0));
    assert_eq!(
        Period::Months(1).add_to(jan31, Berlin),
        utc(2027, 2, 28, 8, 0)
    );
    let jan31_leap = resolve_local(Berlin, local(2028, 1, 31, 9, 0));
    assert_eq!(
        Period::Months(1).add_to(jan31_leap, Berlin),
        utc(2028, 2, 29, 8, 0)
    );
    assert_eq!(
        Period::Weeks(2).add_to(jan31, Berlin),
        utc(2027, 2, 14, 8, 0)
    );
}

#[test]
fn wave_label_is_the_local_date() {
    // 23:30 UTC on March 1 is already March 2 in Berlin.
    assert_eq!(wave_label(utc(2027, 3, 1, 23, 30), Berlin), "2027-03-02");
    assert_eq!(
        wave_label(utc(2027, 3, 1, 23, 30), chrono_tz::UTC),
        "2027-03-01"
    );
}

#[test]
fn periods_parse_and_print() {
    assert_eq!(Period::parse("14d"), Ok(Period::Days(14)));
    assert_eq!(Period::parse("2w"), Ok(Period::Weeks(2)));
    assert_eq!(Period::parse("1m"), Ok(Period::Months(1)));
    for bad in [
        "", "d", "14", "1.5d", "-1d", "1y", "0w", "1001d", "14 d", "1é",
    ] {
        assert!(Period::parse(bad).is_err(), "{bad:?} should not parse");
    }
    assert!(Period::parse("14")
        .is_err_and(|e| e.starts_with("\"14\" has no unit; write a whole number followed by d")));
    for text in ["14d", "2w", "12m"] {
        assert_eq!(
            Period::parse(text).map(|p| p.to_string()).as_deref(),
            Ok(text)
        );
    }
}

#[test]
fn period_comparisons_allow_for_month_lengths() {
    let (d30, w4, m1, m2) = (
        Period::Days(30),
        Period::Weeks(4),
        Period::Months(1),
        Period::Months(2),
    );
    assert_eq!((m1.shortest_days(), m1.longest_days()), (28, 31));
    assert_eq!((m2.shortest_days(), m2.longest_days()), (59, 62));
    assert!(m1.always_at_least(w4));
    assert!(!m1.always_at_least(d30));
    assert!(m2.always_at_least(d30));
    assert!(!w4.always_shorter_than(m1));
    assert!(Period::Days(27).always_shorter_than(m1));
    assert!(m1.always_shorter_than(m2));
    assert!(!m1.always_shorter_than(m1));
}
