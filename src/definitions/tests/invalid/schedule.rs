//! The `[schedule]` table.

use super::*;

// ---- schedule ----

/// A valid file whose `[schedule]` table is `schedule` (placed at line 7).
fn with_schedule(schedule: &str) -> String {
    format!(
        r#"id = "pulse-check"
title = "Pulse check"

[audience]
departments = ["*"]

{schedule}

[[sections]]
id = "you"
title = "Working here"

[[sections.questions]]
id = "enps"
type = "enps"
text = "Would you recommend us?"
"#
    )
}

macro_rules! invalid_schedule {
    ($name:ident, $schedule:expr, $line:expr, $column:expr, $message:expr) => {
        #[test]
        fn $name() {
            assert_error(&with_schedule($schedule), $line, $column, $message);
        }
    };
}

invalid_schedule!(
    schedule_unknown_key,
    "[schedule]\nkind = \"annual\"\nopens = \"2027-03-01T09:00\"\nopen_for = \"14d\"\nreminder = [\"4d\"]",
    11,
    1,
    "unknown key \"reminder\" in [schedule]; expected one of: kind, opens, timezone, open_for, reminders, every, sample (did you mean \"reminders\"?)"
);

invalid_schedule!(
    schedule_missing_kind,
    "[schedule]\nopens = \"2027-03-01T09:00\"\nopen_for = \"14d\"",
    7,
    1,
    "missing required key \"kind\" in [schedule]"
);

invalid_schedule!(
    schedule_missing_open_for,
    "[schedule]\nkind = \"once\"\nopens = \"2027-03-01T09:00\"",
    7,
    1,
    "missing required key \"open_for\" in [schedule]"
);

invalid_schedule!(
    schedule_kind_unknown,
    "[schedule]\nkind = \"weekly\"\nopens = \"2027-03-01T09:00\"\nopen_for = \"14d\"",
    8,
    8,
    "schedule kind \"weekly\" is not known; use \"once\", \"annual\" or \"pulse\""
);

invalid_schedule!(
    opens_not_a_date,
    "[schedule]\nkind = \"once\"\nopens = \"2027-02-30T09:00\"\nopen_for = \"14d\"",
    9,
    9,
    "opens \"2027-02-30T09:00\" is not a valid local date-time; write the local time as YYYY-MM-DDTHH:MM"
);

invalid_schedule!(
    opens_with_offset,
    "[schedule]\nkind = \"once\"\nopens = \"2027-03-01T09:00:00+01:00\"\nopen_for = \"14d\"",
    9,
    9,
    "\"opens\" is a local time in the schedule's timezone; remove the UTC offset"
);

invalid_schedule!(
    opens_toml_datetime_with_offset,
    "[schedule]\nkind = \"once\"\nopens = 2027-03-01T09:00:00Z\nopen_for = \"14d\"",
    9,
    9,
    "remove the UTC offset"
);

invalid_schedule!(
    opens_without_time,
    "[schedule]\nkind = \"once\"\nopens = \"2027-03-01\"\nopen_for = \"14d\"",
    9,
    9,
    "opens \"2027-03-01\" needs a time of day"
);

invalid_schedule!(
    timezone_unknown,
    "[schedule]\nkind = \"once\"\nopens = \"2027-03-01T09:00\"\ntimezone = \"Europe/Berln\"\nopen_for = \"14d\"",
    10,
    12,
    "timezone \"Europe/Berln\" is not an IANA time zone name; did you mean \"Europe/Berlin\"?"
);

invalid_schedule!(
    open_for_bad_unit,
    "[schedule]\nkind = \"once\"\nopens = \"2027-03-01T09:00\"\nopen_for = \"2x\"",
    10,
    12,
    "\"open_for\" of [schedule]: \"2x\" has an unknown unit 'x'; write a whole number followed by d (days), w (weeks) or m (calendar months)"
);

invalid_schedule!(
    open_for_zero,
    "[schedule]\nkind = \"once\"\nopens = \"2027-03-01T09:00\"\nopen_for = \"0d\"",
    10,
    12,
    "\"0d\" is out of range; the number must be from 1 to 1000"
);

invalid_schedule!(
    open_for_not_a_string,
    "[schedule]\nkind = \"once\"\nopens = \"2027-03-01T09:00\"\nopen_for = 14",
    10,
    12,
    "\"open_for\" of [schedule] must be a string, found an integer"
);

invalid_schedule!(
    reminder_not_a_duration,
    "[schedule]\nkind = \"once\"\nopens = \"2027-03-01T09:00\"\nopen_for = \"14d\"\nreminders = [\"4d\", \"ten days\"]",
    11,
    20,
    "each entry of \"reminders\": \"ten days\" is not a duration"
);

invalid_schedule!(
    reminder_at_closing,
    "[schedule]\nkind = \"annual\"\nopens = \"2027-03-01T09:00\"\nopen_for = \"14d\"\nreminders = [\"4d\", \"2w\"]",
    11,
    20,
    "reminder \"2w\" is not inside open_for = \"14d\"; a reminder must go out before the wave closes"
);

invalid_schedule!(
    reminder_days_against_a_month,
    "[schedule]\nkind = \"annual\"\nopens = \"2027-03-01T09:00\"\nopen_for = \"1m\"\nreminders = [\"30d\"]",
    11,
    14,
    "reminder \"30d\" is not inside open_for = \"1m\" in some months (a month can be as short as 28 days and as long as 31)"
);

invalid_schedule!(
    reminder_twice,
    "[schedule]\nkind = \"annual\"\nopens = \"2027-03-01T09:00\"\nopen_for = \"14d\"\nreminders = [\"4d\", \"4d\"]",
    11,
    20,
    "reminder \"4d\" is listed twice"
);

invalid_schedule!(
    pulse_without_every,
    "[schedule]\nkind = \"pulse\"\nopens = \"2027-03-01T09:00\"\nopen_for = \"7d\"",
    7,
    1,
    "missing required key \"every\" in [schedule]"
);

invalid_schedule!(
    every_on_annual,
    "[schedule]\nkind = \"annual\"\nopens = \"2027-03-01T09:00\"\nopen_for = \"14d\"\nevery = \"12m\"",
    11,
    1,
    "\"every\" applies only to kind = \"pulse\"; an annual survey opens every 12 months"
);

invalid_schedule!(
    sample_on_once,
    "[schedule]\nkind = \"once\"\nopens = \"2027-03-01T09:00\"\nopen_for = \"14d\"\nsample = 0.5",
    11,
    1,
    "\"sample\" applies only to kind = \"pulse\"; a \"once\" survey opens a single wave"
);

invalid_schedule!(
    sample_zero,
    "[schedule]\nkind = \"pulse\"\nevery = \"1m\"\nopens = \"2027-03-01T09:00\"\nopen_for = \"7d\"\nsample = 0",
    12,
    10,
    "sample is 0; it must be more than 0 and at most 1"
);

invalid_schedule!(
    sample_above_one,
    "[schedule]\nkind = \"pulse\"\nevery = \"1m\"\nopens = \"2027-03-01T09:00\"\nopen_for = \"7d\"\nsample = 1.5",
    12,
    10,
    "sample is 1.5; it must be more than 0 and at most 1"
);

invalid_schedule!(
    every_shorter_than_open_for,
    "[schedule]\nkind = \"pulse\"\nevery = \"1w\"\nopens = \"2027-03-01T09:00\"\nopen_for = \"14d\"",
    9,
    9,
    "every = \"1w\" is shorter than open_for = \"14d\"; a wave must close before the next one opens"
);

invalid_schedule!(
    every_month_shorter_than_30_days,
    "[schedule]\nkind = \"pulse\"\nevery = \"1m\"\nopens = \"2027-03-01T09:00\"\nopen_for = \"30d\"",
    9,
    9,
    "every = \"1m\" is shorter than open_for = \"30d\" in some months"
);

invalid!(
    schedule_not_a_table,
    r#"id = "pulse-check"
title = "Pulse check"
schedule = "annual"

[audience]
departments = ["*"]

[[sections]]
id = "you"
title = "Working here"

[[sections.questions]]
id = "enps"
type = "enps"
text = "Would you recommend us?"
"#,
    3,
    12,
    "\"schedule\" must be a table, found a string"
);
