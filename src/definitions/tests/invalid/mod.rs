//! One broken rule per file (a small valid file with one change), each asserting the
//! message and the exact line and column; and a file with many errors.

use super::*;

macro_rules! invalid {
    ($name:ident, $source:expr, $line:expr, $column:expr, $message:expr) => {
        #[test]
        fn $name() {
            assert_error($source, $line, $column, $message);
        }
    };
}

mod report_by;
mod schedule;
mod sections;
mod top_level;

// ---- TOML syntax ----

invalid!(
    syntax_unclosed_string,
    "id = \"pulse-check\"\ntitle = \"Pulse check\n",
    2,
    21,
    "TOML syntax error: invalid basic string"
);

invalid!(
    syntax_duplicate_key,
    "id = \"pulse-check\"\nid = \"other\"\n",
    2,
    1,
    "TOML syntax error: duplicate key"
);

// ---- several errors at once ----

#[test]
fn every_error_of_a_file_is_reported() {
    let source = r#"id = "Pulse"
title = "Pulse check"
min_group_size = 1

[schedule]
kind = "pulse"
every = "1w"
opens = "2027-13-01T09:00"
timezone = "Mars/Olympus"
open_for = "14d"

[audience]
departments = ["*"]

[scales.agree5]
labels = ["No", "Yes"]
favorable = [3]

[[sections]]
id = "it"
title = "IT"
qestions = []

[[sections]]
id = "you"
title = "Working here"

[[sections.questions]]
id = "q"
type = "likert"
scale = "agree7"
text = "I like it here."

[[sections.questions]]
id = "q"
type = "rating"
max = 12
text = "Rate us."
"#;
    let got: Vec<String> = errors(source).iter().map(ToString::to_string).collect();
    let expected = [
        "1:6: survey id \"Pulse\" is not a valid id",
        "3:18: \"min_group_size\" is 1; it must be at least 3",
        "7:9: every = \"1w\" is shorter than open_for = \"14d\"",
        "8:9: opens \"2027-13-01T09:00\" is not a valid local date-time",
        "9:12: timezone \"Mars/Olympus\" is not an IANA time zone name",
        "17:14: favorable value 3 is outside the scale's values 1..2",
        "19:1: missing required key \"questions\" in section \"it\"",
        "22:1: unknown key \"qestions\" in section \"it\"; expected one of: id, title, about, service, skip_label, questions (did you mean \"questions\"?)",
        "31:9: scale \"agree7\" is not defined; defined scales: agree5",
        "35:6: question id \"q\" is used twice (first on line 29)",
        "37:7: \"max\" of question \"q\" is 12",
    ];
    assert_eq!(got.len(), expected.len(), "got:\n{}", got.join("\n"));
    for (got, expected) in got.iter().zip(expected) {
        assert!(
            got.starts_with(expected),
            "{got:?} does not start with {expected:?}"
        );
    }
}
