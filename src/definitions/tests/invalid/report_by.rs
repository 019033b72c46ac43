//! `report_by` and `tenure_bands`: what a response may keep of the roster.

use super::*;

/// A valid file with `keys` on line 3 (and the lines after it).
fn with_report_by(keys: &str) -> String {
    format!(
        r#"id = "pulse-check"
title = "Pulse check"
{keys}

[audience]
departments = ["*"]

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

macro_rules! invalid_report_by {
    ($name:ident, $keys:expr, $line:expr, $column:expr, $message:expr) => {
        #[test]
        fn $name() {
            assert_error(&with_report_by($keys), $line, $column, $message);
        }
    };
}

invalid_report_by!(
    report_by_not_a_list,
    r#"report_by = "location""#,
    3,
    13,
    "\"report_by\" must be an array, found a string"
);

invalid_report_by!(
    report_by_email_identifies,
    r#"report_by = ["location", "email"]"#,
    3,
    26,
    "report_by can't keep \"email\": an email address identifies the respondent"
);

invalid_report_by!(
    report_by_name_identifies,
    r#"report_by = ["name"]"#,
    3,
    14,
    "report_by can't keep \"name\": a name identifies the respondent"
);

invalid_report_by!(
    report_by_manager_identifies,
    r#"report_by = ["manager_email"]"#,
    3,
    14,
    "report_by can't keep \"manager_email\": the manager identifies a team"
);

invalid_report_by!(
    report_by_department_is_kept_anyway,
    r#"report_by = ["department"]"#,
    3,
    14,
    "report_by can't keep \"department\": every response keeps its department already"
);

invalid_report_by!(
    report_by_hire_date_only_in_bands,
    r#"report_by = ["hire_date"]"#,
    3,
    14,
    "report_by can't keep \"hire_date\": an exact date can single out one person; report it in bands instead: add \"tenure\" to report_by with tenure_bands = [\"1y\", \"3y\", \"5y\"]"
);

invalid_report_by!(
    report_by_not_a_slug,
    r#"report_by = ["Contract Type"]"#,
    3,
    14,
    "\"Contract Type\" in report_by is not a column name as report_by writes it: use 1 to 64 lowercase letters, digits, '_' and '-'"
);

invalid_report_by!(
    report_by_listed_twice,
    r#"report_by = ["location", "contract", "location"]"#,
    3,
    38,
    "\"location\" is listed twice in report_by"
);

invalid_report_by!(
    report_by_empty_entry,
    r#"report_by = ["location", ""]"#,
    3,
    26,
    "each entry of \"report_by\" must not be empty"
);

invalid_report_by!(
    tenure_needs_bands,
    r#"report_by = ["location", "tenure"]"#,
    3,
    26,
    "\"tenure\" in report_by needs tenure_bands: tenure is kept only as a band"
);

invalid_report_by!(
    bands_need_tenure,
    "report_by = [\"location\"]\ntenure_bands = [\"1y\"]",
    4,
    1,
    "\"tenure_bands\" is set but report_by has no \"tenure\""
);

invalid_report_by!(
    bands_without_report_by,
    r#"tenure_bands = ["1y"]"#,
    3,
    1,
    "\"tenure_bands\" is set but report_by has no \"tenure\""
);

invalid_report_by!(
    bands_empty,
    "report_by = [\"tenure\"]\ntenure_bands = []",
    4,
    16,
    "\"tenure_bands\" is empty; list at least one bound"
);

invalid_report_by!(
    band_not_a_duration,
    "report_by = [\"tenure\"]\ntenure_bands = [\"1y\", \"2 years\"]",
    4,
    23,
    "tenure band \"2 years\" is not a duration; write a whole number followed by y (years) or m (months)"
);

invalid_report_by!(
    band_in_days,
    "report_by = [\"tenure\"]\ntenure_bands = [\"90d\"]",
    4,
    17,
    "tenure band \"90d\" is not a duration"
);

invalid_report_by!(
    band_out_of_range,
    "report_by = [\"tenure\"]\ntenure_bands = [\"0y\"]",
    4,
    17,
    "tenure band \"0y\" is out of range; bands run from 1m to 60y"
);

invalid_report_by!(
    bands_not_ascending,
    "report_by = [\"tenure\"]\ntenure_bands = [\"1y\", \"5y\", \"3y\"]",
    4,
    29,
    "tenure band \"3y\" does not come after \"5y\"; list the bounds from shortest to longest"
);

invalid_report_by!(
    bands_equal_in_months,
    "report_by = [\"tenure\"]\ntenure_bands = [\"12m\", \"1y\"]",
    4,
    24,
    "tenure band \"1y\" does not come after \"12m\""
);

invalid_report_by!(
    band_not_a_string,
    "report_by = [\"tenure\"]\ntenure_bands = [1]",
    4,
    17,
    "each entry of \"tenure_bands\" must be a string, found an integer"
);

#[test]
fn every_refused_column_is_reported_at_once() {
    let got: Vec<String> = errors(&with_report_by(
        r#"report_by = ["email", "grade", "hire_date", "name"]"#,
    ))
    .iter()
    .map(ToString::to_string)
    .collect();
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got[0].starts_with("3:14: report_by can't keep \"email\""));
    assert!(got[1].starts_with("3:32: report_by can't keep \"hire_date\""));
    assert!(got[2].starts_with("3:45: report_by can't keep \"name\""));
}
