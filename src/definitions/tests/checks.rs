//! Cross-checks against the roster and against earlier versions of a survey.

use super::super::{check_departments, check_evolution, check_report_by, Pos};
use super::*;

#[test]
fn departments_missing_from_the_roster_are_reported_where_written() {
    let def = parsed(
        r#"id = "services"
title = "Services"

[audience]
departments = ["Sales", "Marketting"]
exclude_departments = ["Contractors"]

[[sections]]
id = "it"
title = "IT"
about = "IT"

[[sections.questions]]
id = "it-nps"
type = "nps"
text = "Would you recommend IT?"

[[sections]]
id = "fm"
title = "Facilities"
about = "Facility Management"

[[sections.questions]]
id = "fm-nps"
type = "nps"
text = "Would you recommend Facilities?"
"#,
    );
    let roster = ["Sales", "Marketing", "IT", "Facilities"];
    let known = |name: &str| roster.contains(&name);
    let got: Vec<String> = check_departments(&def, &known)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        got,
        [
            "5:25: department \"Marketting\" (in audience.departments) is not in the roster; check the spelling against the roster's department names",
            "6:24: department \"Contractors\" (in audience.exclude_departments) is not in the roster; check the spelling against the roster's department names",
            "21:9: department \"Facility Management\" (about of section \"fm\") is not in the roster; check the spelling against the roster's department names",
        ]
    );
}

#[test]
fn everyone_needs_no_roster_entry() {
    let def = parsed(include_str!("spec_example.toml"));
    let known = |name: &str| ["IT", "Contractors"].contains(&name);
    assert!(check_departments(&def, &known).is_empty());
}

/// A survey version with `anonymity` and the given questions in one section about IT.
fn version(anonymity: &str, questions: &str) -> Definition {
    parsed(&format!(
        r#"id = "it-pulse"
title = "IT pulse"
{anonymity}

[audience]
departments = ["*"]

[scales.agree5]
labels = ["Strongly disagree", "Disagree", "Neither", "Agree", "Strongly agree"]

[scales.agree5-renamed]
labels = ["No", "Rather no", "Neither", "Rather yes", "Yes"]

[scales.agree5-strict]
labels = ["No", "Rather no", "Neither", "Rather yes", "Yes"]
favorable = [5]

[scales.agree7]
labels = ["1", "2", "3", "4", "5", "6", "7"]

[[sections]]
id = "it"
title = "IT"
about = "IT"
{questions}"#
    ))
}

const FAST: &str = r#"
[[sections.questions]]
id = "it-fast"
type = "likert"
scale = "agree5"
text = "IT is fast."
"#;

const NPS: &str = r#"
[[sections.questions]]
id = "it-nps"
type = "nps"
text = "Would you recommend IT?"
"#;

/// Line of the `id` key of the first question in a [`version`]: the section's `about`
/// is on line 24, then a blank line and the `[[sections.questions]]` header.
const FIRST_QUESTION_ID_LINE: usize = 27;

#[test]
fn unchanged_version_passes() {
    let v1 = version("", &format!("{FAST}{NPS}"));
    assert!(check_evolution(std::slice::from_ref(&v1), &v1).is_empty());
    assert!(check_evolution(&[], &v1).is_empty());
}

#[test]
fn questions_may_be_added_and_retired() {
    let v1 = version("", &format!("{FAST}{NPS}"));
    let v2 = version(
        "",
        &format!("{NPS}\n[[sections.questions]]\nid = \"it-kind\"\ntype = \"rating\"\nmax = 5\ntext = \"IT is kind.\"\n"),
    );
    assert!(check_evolution(&[v1], &v2).is_empty());
}

#[test]
fn anonymity_cannot_change() {
    let v1 = version("anonymity = \"confidential\"", FAST);
    let v2 = version("anonymity = \"anonymous\"", FAST);
    let errors = check_evolution(std::slice::from_ref(&v1), &v2);
    assert_eq!(errors.len(), 1);
    assert_eq!((errors[0].line, errors[0].column), (3, 13));
    assert!(errors[0].message.starts_with(
        "anonymity can't change once a survey has waves: it was \"confidential\" and is now \"anonymous\""
    ));
    // Omitting the key means anonymous: still a change, reported at the file start.
    let v3 = version("", FAST);
    let errors = check_evolution(&[v1], &v3);
    assert_eq!(errors.len(), 1);
    assert_eq!(
        Pos {
            line: errors[0].line,
            column: errors[0].column
        },
        Pos::START
    );
}

#[test]
fn a_question_keeps_its_type() {
    let v1 = version("", FAST);
    let v2 = version(
        "",
        &FAST.replace(
            "type = \"likert\"\nscale = \"agree5\"",
            "type = \"rating\"\nmax = 5",
        ),
    );
    let errors = check_evolution(&[v1], &v2);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(
        (errors[0].line, errors[0].column),
        (FIRST_QUESTION_ID_LINE, 6)
    );
    assert_eq!(
        errors[0].message,
        "question \"it-fast\" was a likert question with 5 points (favourable: 4, 5) in earlier waves and is now a rating question from 1 to 5; a question keeps its type and scale so trends compare like with like, so give the changed question a new id"
    );
}

#[test]
fn a_question_keeps_its_number_of_points() {
    let v1 = version("", FAST);
    let v2 = version("", &FAST.replace("agree5", "agree7"));
    let errors = check_evolution(&[v1], &v2);
    assert_eq!(errors.len(), 1);
    assert!(errors[0]
        .message
        .contains("is now a likert question with 7 points"));
}

#[test]
fn a_question_keeps_its_favourable_set() {
    let v1 = version("", FAST);
    let v2 = version("", &FAST.replace("agree5", "agree5-strict"));
    let errors = check_evolution(&[v1], &v2);
    assert_eq!(errors.len(), 1);
    assert!(errors[0]
        .message
        .contains("is now a likert question with 5 points (favourable: 5)"));
}

#[test]
fn renaming_a_scale_or_rewording_is_allowed() {
    let v1 = version("", FAST);
    let v2 = version(
        "",
        &FAST
            .replace("agree5", "agree5-renamed")
            .replace("IT is fast.", "IT responds quickly."),
    );
    assert!(check_evolution(&[v1], &v2).is_empty());
}

#[test]
fn a_rating_keeps_its_maximum() {
    let rating = "\n[[sections.questions]]\nid = \"it-stars\"\ntype = \"rating\"\nmax = 5\ntext = \"Stars for IT.\"\n";
    let v1 = version("", rating);
    let v2 = version("", &rating.replace("max = 5", "max = 10"));
    let errors = check_evolution(&[v1], &v2);
    assert_eq!(errors.len(), 1);
    assert!(errors[0]
        .message
        .contains("was a rating question from 1 to 5"));
}

#[test]
fn a_retired_id_may_come_back_as_the_same_question() {
    let v1 = version("", &format!("{FAST}{NPS}"));
    let v2 = version("", NPS);
    let v3 = version("", &format!("{NPS}{FAST}"));
    assert!(check_evolution(&[v1, v2], &v3).is_empty());
}

#[test]
fn a_retired_id_cannot_name_a_different_question() {
    let v1 = version("", &format!("{FAST}{NPS}"));
    let v2 = version("", NPS);
    let reworded = version(
        "",
        &format!("{NPS}{}", FAST.replace("IT is fast.", "IT is friendly.")),
    );
    let errors = check_evolution(&[v1.clone(), v2.clone()], &reworded);
    assert_eq!(errors.len(), 1, "{errors:?}");
    // NPS takes 5 lines, so the returning question's id is 5 lines further down.
    assert_eq!(
        (errors[0].line, errors[0].column),
        (FIRST_QUESTION_ID_LINE + 5, 6)
    );
    assert_eq!(
        errors[0].message,
        "question id \"it-fast\" was retired and earlier meant a different question (a likert question with 5 points (favourable: 4, 5): \"IT is fast.\"); a retired id may come back only as the same question, so give this one a new id"
    );
    let retyped = version(
        "",
        &format!(
            "{NPS}{}",
            FAST.replace("type = \"likert\"\nscale = \"agree5\"", "type = \"text\"")
        ),
    );
    assert_eq!(check_evolution(&[v1, v2], &retyped).len(), 1);
}

#[test]
fn report_by_columns_missing_from_the_roster_are_reported_where_written() {
    let def = parsed(
        r#"id = "services"
title = "Services"
report_by = ["locaton", "contract", "tenure"]
tenure_bands = ["1y", "3y"]

[audience]
departments = ["*"]

[[sections]]
id = "you"
title = "You"

[[sections.questions]]
id = "enps"
type = "enps"
text = "Would you recommend us?"
"#,
    );
    let columns: Vec<String> = ["email", "name", "department", "location", "grade"]
        .map(String::from)
        .to_vec();
    let got: Vec<String> = check_report_by(&def, &columns)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        got,
        [
            "3:14: report_by column \"locaton\" is not in the roster; its columns are: location, grade (did you mean \"location\"?)",
            "3:25: report_by column \"contract\" is not in the roster; its columns are: location, grade",
            "3:37: \"tenure\" in report_by is worked out from the roster's hire_date column, which the roster does not have",
        ]
    );
    let full: Vec<String> = ["name", "locaton", "contract", "hire_date"]
        .map(String::from)
        .to_vec();
    assert!(check_report_by(&def, &full).is_empty());
}
