//! Scales, sections and questions.

use super::*;

// ---- scales ----

invalid!(
    scale_with_one_label,
    r#"id = "pulse-check"
title = "Pulse check"

[audience]
departments = ["*"]

[scales.yes]
labels = ["Yes"]

[[sections]]
id = "you"
title = "Working here"

[[sections.questions]]
id = "enps"
type = "enps"
text = "Would you recommend us?"
"#,
    8,
    10,
    "scale \"yes\" has 1 labels; a scale has 2 to 11"
);

invalid!(
    scale_with_twelve_labels,
    r#"id = "pulse-check"
title = "Pulse check"

[audience]
departments = ["*"]

[scales.twelve]
labels = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"]

[[sections]]
id = "you"
title = "Working here"

[[sections.questions]]
id = "enps"
type = "enps"
text = "Would you recommend us?"
"#,
    8,
    10,
    "scale \"twelve\" has 12 labels; a scale has 2 to 11"
);

invalid!(
    scale_favorable_out_of_range,
    r#"id = "pulse-check"
title = "Pulse check"

[audience]
departments = ["*"]

[scales.agree5]
labels = ["No", "Rather no", "Neither", "Rather yes", "Yes"]
favorable = [5, 6]

[[sections]]
id = "you"
title = "Working here"

[[sections.questions]]
id = "enps"
type = "enps"
text = "Would you recommend us?"
"#,
    9,
    17,
    "favorable value 6 is outside the scale's values 1..5"
);

invalid!(
    scale_favorable_twice,
    r#"id = "pulse-check"
title = "Pulse check"

[audience]
departments = ["*"]

[scales.agree5]
labels = ["No", "Rather no", "Neither", "Rather yes", "Yes"]
favorable = [4, 4]

[[sections]]
id = "you"
title = "Working here"

[[sections.questions]]
id = "enps"
type = "enps"
text = "Would you recommend us?"
"#,
    9,
    17,
    "favorable value 4 is listed twice"
);

invalid!(
    scale_unknown_key,
    r#"id = "pulse-check"
title = "Pulse check"

[audience]
departments = ["*"]

[scales.agree5]
labels = ["No", "Rather no", "Neither", "Rather yes", "Yes"]
favourable = [4, 5]

[[sections]]
id = "you"
title = "Working here"

[[sections.questions]]
id = "enps"
type = "enps"
text = "Would you recommend us?"
"#,
    9,
    1,
    "unknown key \"favourable\" in scale \"agree5\"; expected one of: labels, favorable (did you mean \"favorable\"?)"
);

invalid!(
    scale_label_twice,
    r#"id = "pulse-check"
title = "Pulse check"

[audience]
departments = ["*"]

[scales.agree3]
labels = ["No", "Maybe", "No"]

[[sections]]
id = "you"
title = "Working here"

[[sections.questions]]
id = "enps"
type = "enps"
text = "Would you recommend us?"
"#,
    8,
    26,
    "\"No\" appears twice in the labels of scale \"agree3\""
);

// ---- sections ----

invalid!(
    section_id_not_a_slug,
    r#"id = "pulse-check"
title = "Pulse check"

[audience]
departments = ["*"]

[[sections]]
id = "Working_Here"
title = "Working here"

[[sections.questions]]
id = "enps"
type = "enps"
text = "Would you recommend us?"
"#,
    8,
    6,
    "section id \"Working_Here\" is not a valid id: use 1 to 64 lowercase letters, digits and hyphens"
);

invalid!(
    section_id_twice,
    r#"id = "pulse-check"
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

[[sections]]
id = "you"
title = "Working here, again"

[[sections.questions]]
id = "growth"
type = "rating"
max = 5
text = "How do you rate your chances to grow?"
"#,
    17,
    6,
    "section id \"you\" is used twice (first on line 8)"
);

invalid!(
    service_rated_by_two_sections,
    r#"id = "pulse-check"
title = "Pulse check"

[audience]
departments = ["*"]

[[sections]]
id = "it"
title = "IT"
about = "IT"

[[sections.questions]]
id = "it-nps"
type = "nps"
text = "Would you recommend IT?"

[[sections]]
id = "it-again"
title = "IT again"
about = "IT"

[[sections.questions]]
id = "it-nps-again"
type = "nps"
text = "Would you still recommend IT?"
"#,
    20,
    9,
    "\"IT\" is already rated by section \"it\"; one section per service"
);

invalid!(
    sections_empty,
    r#"id = "pulse-check"
title = "Pulse check"
sections = []

[audience]
departments = ["*"]
"#,
    3,
    12,
    "a survey needs at least one [[sections]]"
);

invalid!(
    section_without_questions,
    r#"id = "pulse-check"
title = "Pulse check"

[audience]
departments = ["*"]

[[sections]]
id = "you"
title = "Working here"
questions = []
"#,
    10,
    13,
    "section \"you\" has no questions"
);

invalid!(
    section_missing_title,
    r#"id = "pulse-check"
title = "Pulse check"

[audience]
departments = ["*"]

[[sections]]
id = "you"

[[sections.questions]]
id = "enps"
type = "enps"
text = "Would you recommend us?"
"#,
    7,
    1,
    "missing required key \"title\" in section \"you\""
);

invalid!(
    sections_written_as_a_single_table,
    r#"id = "pulse-check"
title = "Pulse check"

[audience]
departments = ["*"]

[sections]
id = "you"
title = "Working here"
"#,
    7,
    1,
    "\"sections\" must be an array of tables: write [[sections]], not [sections]"
);

invalid!(
    questions_written_as_a_single_table,
    r#"id = "pulse-check"
title = "Pulse check"

[audience]
departments = ["*"]

[[sections]]
id = "you"
title = "Working here"

[sections.questions]
id = "enps"
type = "enps"
text = "Would you recommend us?"
"#,
    11,
    1,
    "\"questions\" of section \"you\" must be an array of tables: write [[sections.questions]], not [sections.questions]"
);

// ---- questions ----

invalid!(
    question_missing_type,
    r#"id = "pulse-check"
title = "Pulse check"

[audience]
departments = ["*"]

[[sections]]
id = "you"
title = "Working here"

  [[sections.questions]]
  id = "enps"
  text = "Would you recommend us?"
"#,
    11,
    3,
    "missing required key \"type\" in question \"enps\""
);

invalid!(
    question_type_unknown,
    r#"id = "pulse-check"
title = "Pulse check"

[audience]
departments = ["*"]

[[sections]]
id = "you"
title = "Working here"

[[sections.questions]]
id = "tools"
type = "stars"
text = "How do you rate your tools?"
"#,
    13,
    8,
    "question type \"stars\" is not known; use one of: likert, rating, enps, nps, choice, text"
);

invalid!(
    question_id_twice_across_sections,
    r#"id = "pulse-check"
title = "Pulse check"

[audience]
departments = ["*"]

[[sections]]
id = "it"
title = "IT"
about = "IT"

[[sections.questions]]
id = "recommend"
type = "nps"
text = "Would you recommend IT?"

[[sections]]
id = "you"
title = "Working here"

[[sections.questions]]
id = "recommend"
type = "enps"
text = "Would you recommend us?"
"#,
    22,
    6,
    "question id \"recommend\" is used twice (first on line 13); ids must be unique in the survey"
);

invalid!(
    question_id_not_a_slug,
    r#"id = "pulse-check"
title = "Pulse check"

[audience]
departments = ["*"]

[[sections]]
id = "you"
title = "Working here"

[[sections.questions]]
id = "Q_1"
type = "enps"
text = "Would you recommend us?"
"#,
    12,
    6,
    "question id \"Q_1\" is not a valid id"
);

invalid!(
    scale_not_defined,
    r#"id = "pulse-check"
title = "Pulse check"

[audience]
departments = ["*"]

[scales.agree5]
labels = ["No", "Rather no", "Neither", "Rather yes", "Yes"]

[[sections]]
id = "you"
title = "Working here"

  [[sections.questions]]
  id = "tools"
  type = "likert"
  scale = "agree7"
  text = "I have the tools I need."
"#,
    17,
    11,
    "scale \"agree7\" is not defined; defined scales: agree5"
);

invalid!(
    scale_named_without_any_scales,
    r#"id = "pulse-check"
title = "Pulse check"

[audience]
departments = ["*"]

[[sections]]
id = "you"
title = "Working here"

[[sections.questions]]
id = "tools"
type = "likert"
scale = "agree5"
text = "I have the tools I need."
"#,
    14,
    9,
    "scale \"agree5\" is not defined; no scales are defined; add a [scales.agree5] table"
);

invalid!(
    likert_with_scale_and_scale_labels,
    r#"id = "pulse-check"
title = "Pulse check"

[audience]
departments = ["*"]

[scales.agree5]
labels = ["No", "Rather no", "Neither", "Rather yes", "Yes"]

[[sections]]
id = "you"
title = "Working here"

[[sections.questions]]
id = "tools"
type = "likert"
scale = "agree5"
scale_labels = ["No", "Yes"]
text = "I have the tools I need."
"#,
    18,
    1,
    "question \"tools\" has both \"scale\" and \"scale_labels\"; use one of them"
);

invalid!(
    likert_without_scale,
    r#"id = "pulse-check"
title = "Pulse check"

[audience]
departments = ["*"]

[[sections]]
id = "you"
title = "Working here"

[[sections.questions]]
id = "tools"
type = "likert"
text = "I have the tools I need."
"#,
    11,
    1,
    "question \"tools\" needs \"scale\" (the name of a [scales] table) or \"scale_labels\""
);

invalid!(
    likert_favorable_beside_named_scale,
    r#"id = "pulse-check"
title = "Pulse check"

[audience]
departments = ["*"]

[scales.agree5]
labels = ["No", "Rather no", "Neither", "Rather yes", "Yes"]

[[sections]]
id = "you"
title = "Working here"

[[sections.questions]]
id = "tools"
type = "likert"
scale = "agree5"
favorable = [5]
text = "I have the tools I need."
"#,
    18,
    1,
    "\"favorable\" of question \"tools\" belongs on the scale: set it in [scales.agree5], or use scale_labels"
);

invalid!(
    likert_inline_favorable_out_of_range,
    r#"id = "pulse-check"
title = "Pulse check"

[audience]
departments = ["*"]

[[sections]]
id = "you"
title = "Working here"

[[sections.questions]]
id = "tools"
type = "likert"
scale_labels = ["No", "Partly", "Yes"]
favorable = [0]
text = "I have the tools I need."
"#,
    15,
    14,
    "favorable value 0 is outside the scale's values 1..3"
);

invalid!(
    rating_max_too_large,
    r#"id = "pulse-check"
title = "Pulse check"

[audience]
departments = ["*"]

[[sections]]
id = "you"
title = "Working here"

[[sections.questions]]
id = "tools"
type = "rating"
max = 11
text = "How do you rate your tools?"
"#,
    14,
    7,
    "\"max\" of question \"tools\" is 11; a rating goes from 1 to max, with max from 2 to 10"
);

invalid!(
    rating_max_too_small,
    r#"id = "pulse-check"
title = "Pulse check"

[audience]
departments = ["*"]

[[sections]]
id = "you"
title = "Working here"

[[sections.questions]]
id = "tools"
type = "rating"
max = 1
text = "How do you rate your tools?"
"#,
    14,
    7,
    "is 1; a rating goes from 1 to max, with max from 2 to 10"
);

invalid!(
    rating_without_max,
    r#"id = "pulse-check"
title = "Pulse check"

[audience]
departments = ["*"]

[[sections]]
id = "you"
title = "Working here"

[[sections.questions]]
id = "tools"
type = "rating"
text = "How do you rate your tools?"
"#,
    11,
    1,
    "missing required key \"max\" in question \"tools\""
);

invalid!(
    choice_with_one_option,
    r#"id = "pulse-check"
title = "Pulse check"

[audience]
departments = ["*"]

[[sections]]
id = "you"
title = "Working here"

[[sections.questions]]
id = "channel"
type = "choice"
options = ["Email"]
text = "How do you ask for help?"
"#,
    14,
    11,
    "question \"channel\" has 1 option; a choice question has 2 to 50"
);

invalid!(
    choice_option_twice,
    r#"id = "pulse-check"
title = "Pulse check"

[audience]
departments = ["*"]

[[sections]]
id = "you"
title = "Working here"

[[sections.questions]]
id = "channel"
type = "choice"
options = ["Email", "Chat", "Email"]
text = "How do you ask for help?"
"#,
    14,
    29,
    "\"Email\" appears twice in \"options\" of question \"channel\"; entries must differ"
);

#[test]
fn choice_with_51_options() {
    let options: Vec<String> = (1..=51).map(|i| format!("\"Option {i}\"")).collect();
    let source = format!(
        r#"id = "pulse-check"
title = "Pulse check"

[audience]
departments = ["*"]

[[sections]]
id = "you"
title = "Working here"

[[sections.questions]]
id = "office"
type = "choice"
options = [{}]
text = "Which office do you work in?"
"#,
        options.join(", ")
    );
    assert_error(
        &source,
        14,
        11,
        "has 51 options; a choice question has 2 to 50",
    );
}

invalid!(
    text_max_length_zero,
    r#"id = "pulse-check"
title = "Pulse check"

[audience]
departments = ["*"]

[[sections]]
id = "you"
title = "Working here"

[[sections.questions]]
id = "comment"
type = "text"
max_length = 0
text = "Anything else?"
"#,
    14,
    14,
    "\"max_length\" of question \"comment\" is 0; it must be a positive number of characters"
);

invalid!(
    key_of_another_question_type,
    r#"id = "pulse-check"
title = "Pulse check"

[audience]
departments = ["*"]

[[sections]]
id = "you"
title = "Working here"

[[sections.questions]]
id = "tools"
type = "likert"
scale_labels = ["No", "Yes"]
max = 5
text = "I have the tools I need."
"#,
    15,
    1,
    "\"max\" does not apply to a likert question (only to rating); a likert question takes: id, type, text, label, required, scale, scale_labels, favorable"
);

invalid!(
    unknown_question_key,
    r#"id = "pulse-check"
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
requird = false
"#,
    15,
    1,
    "unknown key \"requird\" in question \"enps\"; expected one of: id, type, text, label, required (did you mean \"required\"?)"
);

invalid!(
    question_label_too_long,
    r#"id = "pulse-check"
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
label = "Would you recommend working here to a friend"
"#,
    15,
    9,
    "a label is the question's short name in table headers: one line of 1 to 24 characters (this one has 44)"
);

invalid!(
    nps_in_section_without_about,
    r#"id = "pulse-check"
title = "Pulse check"

[audience]
departments = ["*"]

[[sections]]
id = "you"
title = "Working here"

[[sections.questions]]
id = "recommend"
type = "nps"
text = "Would you recommend us?"
"#,
    13,
    8,
    "an nps question rates the section's service, but section \"you\" has no \"about\""
);

invalid!(
    required_not_a_boolean,
    r#"id = "pulse-check"
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
required = "no"
"#,
    15,
    12,
    "\"required\" of question \"enps\" must be a boolean (true or false), found a string"
);
