//! Reading `[schedule]`.

use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use chrono_tz::Tz;
use toml::de::DeValue;

use super::period::Period;
use super::reader::{closest, Reader, Table, Value};
use super::schedule::{Schedule, ScheduleKind};

const SCHEDULE_KEYS: &[&str] = &[
    "kind",
    "opens",
    "timezone",
    "open_for",
    "reminders",
    "every",
    "sample",
];

const OPENS_HELP: &str = "write the local time as YYYY-MM-DDTHH:MM, e.g. \"2027-03-01T09:00\"";

/// `kind`, `opens` and `open_for` are required; `timezone` defaults to UTC and
/// `reminders` to none; `every` is required for a pulse and refused otherwise (annual
/// means every 12 months); `sample` only for a pulse (default: everyone).
pub(super) fn read_schedule(r: &mut Reader<'_>, value: &Value<'_>) -> Option<Schedule> {
    let table = r.table(value, "\"schedule\"", "[schedule]".to_owned())?;
    r.check_keys(&table, SCHEDULE_KEYS, |_| None);

    let kind = r.required(&table, "kind").and_then(|v| {
        let name = r.string(v, "\"kind\" of [schedule]")?;
        if !["once", "annual", "pulse"].contains(&name) {
            r.error(
                &v.span(),
                format!(
                    "schedule kind \"{name}\" is not known; use \"once\", \"annual\" or \"pulse\""
                ),
            );
            return None;
        }
        Some(name)
    });
    let opens = r.required(&table, "opens").and_then(|v| read_opens(r, v));
    let timezone = match table.get("timezone") {
        None => Some(Tz::UTC),
        Some(v) => read_timezone(r, v, "\"timezone\" of [schedule]"),
    };
    let open_for = r
        .required(&table, "open_for")
        .and_then(|v| read_period(r, v, "\"open_for\" of [schedule]"));
    let reminders = match table.get("reminders") {
        None => Some(Vec::new()),
        Some(v) => read_reminders(r, v, open_for),
    };
    let kind = kind.and_then(|name| read_kind(r, &table, name, open_for));
    Some(Schedule {
        kind: kind?,
        opens: opens?,
        timezone: timezone?,
        open_for: open_for?,
        reminders: reminders?,
    })
}

fn read_kind(
    r: &mut Reader<'_>,
    table: &Table<'_, '_>,
    name: &str,
    open_for: Option<Period>,
) -> Option<ScheduleKind> {
    if name != "pulse" {
        let why = if name == "annual" {
            "an annual survey opens every 12 months"
        } else {
            "a \"once\" survey opens a single wave"
        };
        let mut ok = true;
        for key in ["every", "sample"] {
            if let Some(span) = table.key_span(key) {
                r.error(
                    &span,
                    format!("\"{key}\" applies only to kind = \"pulse\"; {why}"),
                );
                ok = false;
            }
        }
        return match (ok, name) {
            (false, _) => None,
            (true, "annual") => Some(ScheduleKind::Annual),
            (true, _) => Some(ScheduleKind::Once),
        };
    }
    let every = r.required(table, "every").and_then(|v| {
        let every = read_period(r, v, "\"every\" of [schedule]")?;
        if let Some(open_for) = open_for {
            if !every.always_at_least(open_for) {
                let note = month_note(every, open_for);
                r.error(
                    &v.span(),
                    format!(
                        "every = \"{every}\" is shorter than open_for = \"{open_for}\"{note}; a wave must close before the next one opens"
                    ),
                );
                return None;
            }
        }
        Some(every)
    });
    let sample = match table.get("sample") {
        None => Some(None),
        Some(v) => r.number(v, "\"sample\" of [schedule]").and_then(|share| {
            if share > 0.0 && share <= 1.0 {
                Some(Some(share))
            } else {
                r.error(
                    &v.span(),
                    format!("sample is {share}; it must be more than 0 and at most 1 (the share of the audience asked in each wave)"),
                );
                None
            }
        }),
    };
    Some(ScheduleKind::Pulse {
        every: every?,
        sample: sample?,
    })
}

/// Explains why a month-based comparison failed: months vary in length.
fn month_note(a: Period, b: Period) -> &'static str {
    let months = |p| matches!(p, Period::Months(_));
    if months(a) != months(b) {
        " in some months (a month can be as short as 28 days and as long as 31)"
    } else {
        ""
    }
}

fn read_period(r: &mut Reader<'_>, value: &Value<'_>, what: &str) -> Option<Period> {
    let text = r.string(value, what)?;
    match Period::parse(text) {
        Ok(period) => Some(period),
        Err(e) => {
            r.error(&value.span(), format!("{what}: {e}"));
            None
        }
    }
}

fn read_reminders(
    r: &mut Reader<'_>,
    value: &Value<'_>,
    open_for: Option<Period>,
) -> Option<Vec<Period>> {
    let items = r.array(value, "\"reminders\" of [schedule]")?;
    let mut out: Vec<Period> = Vec::with_capacity(items.len());
    let mut ok = true;
    for item in items {
        let Some(reminder) = read_period(r, item, "each entry of \"reminders\"") else {
            ok = false;
            continue;
        };
        if out.contains(&reminder) {
            r.error(
                &item.span(),
                format!("reminder \"{reminder}\" is listed twice"),
            );
            ok = false;
        } else if let Some(open_for) = open_for {
            if !reminder.always_shorter_than(open_for) {
                let note = month_note(reminder, open_for);
                r.error(
                    &item.span(),
                    format!(
                        "reminder \"{reminder}\" is not inside open_for = \"{open_for}\"{note}; a reminder must go out before the wave closes"
                    ),
                );
                ok = false;
            }
        }
        out.push(reminder);
    }
    ok.then_some(out)
}

/// `opens` as a string (`"2027-03-01T09:00"`) or a TOML local date-time
/// (`2027-03-01T09:00:00`); an offset is refused, since `timezone` gives the zone.
fn read_opens(r: &mut Reader<'_>, value: &Value<'_>) -> Option<NaiveDateTime> {
    let parsed = match value.get_ref() {
        DeValue::String(text) => parse_local(text),
        DeValue::Datetime(dt) => {
            if dt.offset.is_some() {
                Err(offset_error())
            } else {
                match (dt.date, dt.time) {
                    (Some(d), Some(t)) => {
                        NaiveDate::from_ymd_opt(d.year.into(), d.month.into(), d.day.into())
                            .zip(NaiveTime::from_hms_opt(
                                t.hour.into(),
                                t.minute.into(),
                                t.second.unwrap_or(0).into(),
                            ))
                            .map(|(d, t)| d.and_time(t))
                            .ok_or_else(|| {
                                format!("\"opens\" is not a valid local date-time; {OPENS_HELP}")
                            })
                    }
                    (Some(_), None) => Err(format!("\"opens\" needs a time of day; {OPENS_HELP}")),
                    _ => Err(format!("\"opens\" needs a date; {OPENS_HELP}")),
                }
            }
        }
        _ => return r.wrong_type(value, "\"opens\" of [schedule]", "a local date-time string"),
    };
    match parsed {
        Ok(local) => Some(local),
        Err(message) => {
            r.error(&value.span(), message);
            None
        }
    }
}

fn offset_error() -> String {
    "\"opens\" is a local time in the schedule's timezone; remove the UTC offset".to_owned()
}

fn parse_local(text: &str) -> Result<NaiveDateTime, String> {
    const FORMATS: [&str; 4] = [
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S",
    ];
    if let Some(local) = FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
    {
        return Ok(local);
    }
    if chrono::DateTime::parse_from_rfc3339(text).is_ok() {
        return Err(offset_error());
    }
    if NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok() {
        return Err(format!(
            "opens \"{text}\" needs a time of day; {OPENS_HELP}"
        ));
    }
    Err(format!(
        "opens \"{text}\" is not a valid local date-time; {OPENS_HELP}"
    ))
}

pub(crate) fn read_timezone(r: &mut Reader<'_>, value: &Value<'_>, what: &str) -> Option<Tz> {
    let name = r.string(value, what)?;
    match Tz::from_str(name) {
        Ok(tz) => Some(tz),
        Err(_) => {
            let hint = closest(name, chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()))
                .map_or_else(
                    || "use an IANA name such as \"Europe/Berlin\" or \"UTC\"".to_owned(),
                    |close| format!("did you mean \"{close}\"?"),
                );
            r.error(
                &value.span(),
                format!("timezone \"{name}\" is not an IANA time zone name; {hint}"),
            );
            None
        }
    }
}
