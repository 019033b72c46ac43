//! Files that must parse, and what they mean.

use chrono::NaiveDate;

use super::super::{Anonymity, Period, Pos, QuestionKind, ScheduleKind, DEFAULT_TEXT_MAX_LENGTH};
use super::*;

#[test]
fn spec_example_parses() {
    let def = parsed(include_str!("spec_example.toml"));
    assert_eq!(def.id.value, "internal-services-2027");
    assert_eq!(def.id.pos, Pos { line: 1, column: 6 });
    assert_eq!(def.title.default, "Internal services survey");
    assert!(def
        .intro
        .as_ref()
        .is_some_and(|i| i.default.starts_with("Your answers help HR")));
    assert_eq!(def.anonymity.value, Anonymity::Anonymous);
    assert_eq!(
        def.anonymity.pos,
        Pos {
            line: 7,
            column: 13
        }
    );
    assert_eq!((def.min_group_size, def.min_comment_group_size), (5, 10));
    assert_eq!(def.language, "en");
    assert_eq!(def.languages, vec!["en"]);

    let schedule = def.schedule.as_ref().expect("the example has a schedule");
    assert_eq!(schedule.kind, ScheduleKind::Annual);
    assert_eq!(
        schedule.opens,
        NaiveDate::from_ymd_opt(2027, 3, 1)
            .and_then(|d| d.and_hms_opt(9, 0, 0))
            .expect("valid date")
    );
    assert_eq!(schedule.timezone, chrono_tz::Europe::Berlin);
    assert_eq!(schedule.open_for, Period::Days(14));
    assert_eq!(schedule.reminders, vec![Period::Days(4), Period::Days(10)]);

    assert!(def.audience.is_everyone());
    assert_eq!(def.audience.exclude_departments[0].value, "Contractors");
    assert_eq!(
        def.audience.exclude_departments[0].pos,
        Pos {
            line: 26,
            column: 24
        }
    );
    assert_eq!(def.scales["agree5"].favorable, vec![4, 5]);
    assert_eq!(def.scales["agree5"].labels.len(), 5);

    assert_eq!(def.sections.len(), 2);
    let it = &def.sections[0];
    assert_eq!(
        it.about.as_ref().map(|a| a.pos),
        Some(Pos {
            line: 36,
            column: 9
        })
    );
    assert_eq!(
        it.skip_label.as_ref().map(|s| s.default.as_str()),
        Some("I have not used IT's services this year")
    );
    assert_eq!(def.services(), vec!["IT"]);
    assert_eq!(
        def.service_section("IT").map(|s| s.id.value.as_str()),
        Some("it")
    );

    let ids: Vec<&str> = def.questions().map(|(_, q)| q.id.value.as_str()).collect();
    assert_eq!(
        ids,
        [
            "it-responsive",
            "it-quality",
            "it-recommend",
            "it-comment",
            "enps",
            "tools",
            "channel"
        ]
    );
    let responsive = def.question("it-responsive").expect("defined");
    assert_eq!(
        responsive.id.pos,
        Pos {
            line: 42,
            column: 8
        }
    );
    assert!(matches!(
        &responsive.kind,
        QuestionKind::Likert { scale: Some(name), favorable, .. } if name == "agree5" && favorable == &vec![4, 5]
    ));
    assert!(responsive.required);
    let comment = def.question("it-comment").expect("defined");
    assert_eq!(comment.kind, QuestionKind::Text { max_length: 2000 });
    assert!(!comment.required);
    assert!(!comment.is_numeric());
    let (section, tools) = def.question_with_section("tools").expect("defined");
    assert_eq!(section.id.value, "you");
    assert_eq!(tools.value_range(), Some(1..=5));
    assert_eq!(tools.favorable_values(), Some(vec![4, 5]));
    assert_eq!(
        def.question("enps").and_then(|q| q.value_range()),
        Some(0..=10)
    );
    assert_eq!(
        def.question("it-recommend").and_then(|q| q.value_range()),
        Some(0..=10)
    );
    assert_eq!(responsive.value_range(), Some(1..=5));
    assert!(matches!(
        &def.question("channel").expect("defined").kind,
        QuestionKind::Choice { options, multiple: false } if options.len() == 5
    ));
    assert!(def.question("nope").is_none());
}

#[test]
fn positions_of_question_ids_are_kept() {
    let def = parsed(include_str!("spec_example.toml"));
    let source = include_str!("spec_example.toml");
    for (_, question) in def.questions() {
        let line = source
            .lines()
            .nth(question.id.pos.line - 1)
            .unwrap_or_default();
        let written = format!("id = \"{}\"", question.id.value);
        assert!(line.trim_start().starts_with(&written), "{line:?}");
        assert_eq!(
            question.id.pos.column,
            line.find('"').unwrap_or_default() + 1
        );
    }
}

const MINIMAL: &str = r#"id = "pulse-check"
title = "Pulse check"

[audience]
departments = ["*"]

[[sections]]
id = "you"
title = "Working here"

[[sections.questions]]
id = "enps"
type = "enps"
text = "Would you recommend us?"
"#;

#[test]
fn defaults_of_a_minimal_file() {
    let def = parsed(MINIMAL);
    assert_eq!(def.anonymity.value, Anonymity::Anonymous);
    assert_eq!(def.anonymity.pos, Pos::START);
    assert_eq!((def.min_group_size, def.min_comment_group_size), (5, 10));
    assert_eq!(def.language, "en");
    assert_eq!(def.languages, vec!["en"]);
    assert!(def.schedule.is_none());
    assert!(def.scales.is_empty());
    assert!(def.intro.is_none());
    assert!(def.services().is_empty());
    assert!(def.audience.where_.is_empty());
}

#[test]
fn comment_threshold_defaults_to_at_least_the_group_threshold() {
    let def = parsed(&MINIMAL.replace(
        "title = \"Pulse check\"\n",
        "title = \"Pulse check\"\nmin_group_size = 12\n",
    ));
    assert_eq!((def.min_group_size, def.min_comment_group_size), (12, 12));
}

#[test]
fn confidential_with_thresholds() {
    let def = parsed(&MINIMAL.replace(
        "title = \"Pulse check\"\n",
        "title = \"Pulse check\"\nanonymity = \"confidential\"\nmin_group_size = 3\nmin_comment_group_size = 3\n",
    ));
    assert_eq!(def.anonymity.value, Anonymity::Confidential);
    assert_eq!(
        def.anonymity.pos,
        Pos {
            line: 3,
            column: 13
        }
    );
    assert_eq!((def.min_group_size, def.min_comment_group_size), (3, 3));
}

#[test]
fn translated_texts_and_lists() {
    let def = parsed(
        r#"id = "pulse-check"
title = { en = "Pulse check", de = "Stimmungsbarometer" }
intro = "ACME"
language = "en"
languages = ["de", "en"]

[audience]
departments = ["Sales", "Zürich office"]
where = { location = ["Berlin", "Lyon"] }

[scales.agree3]
labels = { en = ["Disagree", "Neither", "Agree"], de = ["Nein", "Teils", "Ja"] }

[[sections]]
id = "it"
title = { en = "IT", de = "IT" }
about = "IT"
skip_label = { en = "I have not used IT", de = "Ich habe die IT nicht genutzt" }

[[sections.questions]]
id = "it-fast"
type = "likert"
scale = "agree3"
text = { en = "IT is fast.", de = "Die IT ist schnell." }

[[sections.questions]]
id = "channel"
type = "choice"
multiple = true
text = { en = "How do you ask IT?", de = "Wie fragen Sie die IT?" }
options = { en = ["Email", "Chat"], de = ["E-Mail", "Chat"] }
required = false
"#,
    );
    assert_eq!(def.language, "en");
    assert_eq!(def.languages, vec!["en", "de"]);
    assert_eq!(def.title.get("de"), "Stimmungsbarometer");
    assert_eq!(def.title.get("en"), "Pulse check");
    assert_eq!(def.title.get("fr"), "Pulse check");
    // A plain string serves every language.
    assert_eq!(def.intro.as_ref().map(|i| i.get("de")), Some("ACME"));
    assert_eq!(def.audience.where_["location"], vec!["Berlin", "Lyon"]);
    assert_eq!(def.audience.departments[1].value, "Zürich office");

    let scale = &def.scales["agree3"];
    assert_eq!(scale.labels.get("de"), ["Nein", "Teils", "Ja"]);
    assert_eq!(scale.labels.get("fr"), ["Disagree", "Neither", "Agree"]);
    // Three labels: only the top one is favourable by default.
    assert_eq!(scale.favorable, vec![3]);

    let section = &def.sections[0];
    assert_eq!(
        section.skip_label.as_ref().map(|s| s.get("de")),
        Some("Ich habe die IT nicht genutzt")
    );
    let fast = def.question("it-fast").expect("defined");
    assert_eq!(fast.text.get("de"), "Die IT ist schnell.");
    assert!(fast.text.is_translated());
    match &def.question("channel").expect("defined").kind {
        QuestionKind::Choice { options, multiple } => {
            assert!(*multiple);
            assert_eq!(options.default, ["Email", "Chat"]);
            assert_eq!(options.get("de"), ["E-Mail", "Chat"]);
        }
        other => panic!("expected a choice, got {other:?}"),
    }
}

#[test]
fn inline_scale_labels_and_default_favourable_sets() {
    let def = parsed(
        r#"id = "pulse-check"
title = "Pulse check"

[audience]
departments = ["*"]

[[sections]]
id = "you"
title = "Working here"

[[sections.questions]]
id = "five"
type = "likert"
scale_labels = ["1", "2", "3", "4", "5"]
text = "Five points."

[[sections.questions]]
id = "two"
type = "likert"
scale_labels = ["No", "Yes"]
text = "Two points."

[[sections.questions]]
id = "seven"
type = "likert"
scale_labels = ["1", "2", "3", "4", "5", "6", "7"]
favorable = [7, 5, 6]
text = "Seven points."

[[sections.questions]]
id = "stars"
type = "rating"
max = 10
text = "Stars."

[[sections.questions]]
id = "note"
type = "text"
text = "Anything else?"
"#,
    );
    let favorable = |id: &str| def.question(id).and_then(|q| q.favorable_values());
    assert_eq!(favorable("five"), Some(vec![4, 5]));
    assert_eq!(favorable("two"), Some(vec![2]));
    assert_eq!(favorable("seven"), Some(vec![5, 6, 7]));
    assert_eq!(favorable("stars"), Some(vec![9, 10]));
    assert_eq!(favorable("note"), None);
    assert!(matches!(
        def.question("five").map(|q| &q.kind),
        Some(QuestionKind::Likert { scale: None, .. })
    ));
    let note = def.question("note").expect("defined");
    assert_eq!(
        note.kind,
        QuestionKind::Text {
            max_length: DEFAULT_TEXT_MAX_LENGTH
        }
    );
    assert!(!note.required);
    assert_eq!(note.value_range(), None);
}

fn with_schedule(schedule: &str) -> Definition {
    parsed(&MINIMAL.replace("[audience]", &format!("{schedule}\n\n[audience]")))
}

#[test]
fn schedule_once_with_defaults() {
    let def = with_schedule(
        "[schedule]\nkind = \"once\"\nopens = \"2027-06-01T10:30\"\nopen_for = \"2w\"",
    );
    let schedule = def.schedule.expect("scheduled");
    assert_eq!(schedule.kind, ScheduleKind::Once);
    assert_eq!(schedule.timezone, chrono_tz::UTC);
    assert_eq!(schedule.open_for, Period::Weeks(2));
    assert!(schedule.reminders.is_empty());
    assert!((schedule.sample() - 1.0).abs() < f64::EPSILON);
}

#[test]
fn schedule_annual_with_toml_datetime() {
    let def = with_schedule(
        "[schedule]\nkind = \"annual\"\nopens = 2027-03-01T09:00:00\ntimezone = \"Europe/Berlin\"\nopen_for = \"14d\"\nreminders = [\"4d\", \"1w\"]",
    );
    let schedule = def.schedule.expect("scheduled");
    assert_eq!(schedule.kind, ScheduleKind::Annual);
    assert_eq!(schedule.opens.to_string(), "2027-03-01 09:00:00");
    assert_eq!(schedule.period(), Some(Period::Months(12)));
    assert_eq!(schedule.reminders, vec![Period::Days(4), Period::Weeks(1)]);
}

#[test]
fn schedule_pulse_with_sample() {
    let def = with_schedule(
        "[schedule]\nkind = \"pulse\"\nevery = \"1m\"\nsample = 0.25\nopens = \"2027-01-04 09:00\"\ntimezone = \"Europe/Paris\"\nopen_for = \"4w\"\nreminders = [\"3d\"]",
    );
    let schedule = def.schedule.expect("scheduled");
    assert_eq!(
        schedule.kind,
        ScheduleKind::Pulse {
            every: Period::Months(1),
            sample: Some(0.25)
        }
    );
    assert!((schedule.sample() - 0.25).abs() < f64::EPSILON);
}

#[test]
fn schedule_pulse_whole_audience() {
    let def = with_schedule(
        "[schedule]\nkind = \"pulse\"\nevery = \"3m\"\nsample = 1\nopens = \"2027-01-04T09:00:00\"\nopen_for = \"1m\"\nreminders = [\"2w\", \"27d\"]",
    );
    let schedule = def.schedule.expect("scheduled");
    assert_eq!(
        schedule.kind,
        ScheduleKind::Pulse {
            every: Period::Months(3),
            sample: Some(1.0)
        }
    );
}

#[test]
fn crlf_line_endings_give_the_same_positions() {
    let source = MINIMAL
        .replace("id = \"enps\"", "id = \"Enps\"")
        .replace('\n', "\r\n");
    assert_error(&source, 12, 6, "question id \"Enps\" is not a valid id");
}

#[test]
fn columns_count_characters_not_bytes() {
    let source = MINIMAL.replace(
        "departments = [\"*\"]",
        "departments = [\"Zürich\", \"Zürich\"]",
    );
    // `departments = ["Zürich", ` is 25 characters but 26 bytes.
    assert_error(&source, 5, 26, "\"Zürich\" is listed twice");
}

#[test]
fn diagnostics_render_with_the_file_name() {
    let errors = errors(&MINIMAL.replace("type = \"enps\"", "type = \"nps\""));
    assert_eq!(errors.len(), 1);
    let rendered = errors[0].render("survey-definitions/pulse.toml");
    assert!(
        rendered.starts_with("survey-definitions/pulse.toml:13:8: an nps question"),
        "{rendered}"
    );
    assert!(errors[0].to_string().starts_with("13:8: "));
    let all = super::super::render_all("pulse.toml", &errors);
    assert_eq!(all.lines().count(), 1);
}

#[test]
fn definitions_serialize() {
    let def = parsed(include_str!("spec_example.toml"));
    let toml = toml::to_string(&def).expect("a definition serializes");
    assert!(toml.contains("id = \"internal-services-2027\""), "{toml}");
    assert!(toml.contains("open_for = \"14d\""), "{toml}");
    assert!(toml.contains("timezone = \"Europe/Berlin\""), "{toml}");
}

/// A file with the given top-level keys before `[audience]`.
fn with_top(keys: &str) -> Definition {
    parsed(&format!(
        "id = \"pulse-check\"\ntitle = \"Pulse check\"\n{keys}\n\n[audience]\ndepartments = [\"*\"]\n\n[[sections]]\nid = \"you\"\ntitle = \"Working here\"\n\n[[sections.questions]]\nid = \"enps\"\ntype = \"enps\"\ntext = \"Would you recommend us?\"\n"
    ))
}

#[test]
fn report_by_defaults_to_nothing() {
    let def = with_top("");
    assert!(def.report_by.is_empty());
    assert!(def.report_by.tenure_bands.is_empty());
}

#[test]
fn report_by_keeps_columns_in_file_order_with_tenure_bands() {
    let def = with_top(
        "report_by = [\"location\", \"contract-type\", \"tenure\"]\ntenure_bands = [\"6m\", \"1y\", \"3y\"]",
    );
    let names: Vec<&str> = def.report_by.names().collect();
    assert_eq!(names, ["location", "contract-type", "tenure"]);
    assert_eq!(
        def.report_by.dimensions[1].pos,
        Pos {
            line: 3,
            column: 26
        }
    );
    assert_eq!(
        def.report_by.tenure_labels(),
        ["<6m", "6m-1y", "1y-3y", "3y+"]
    );
    let months: Vec<u32> = def
        .report_by
        .tenure_bands
        .iter()
        .map(|b| b.months)
        .collect();
    assert_eq!(months, [6, 12, 36]);
}
