//! Top-level keys, translations and the audience.

use super::*;

// ---- top level ----

invalid!(
    unknown_top_level_key_with_suggestion,
    r#"id = "pulse-check"
title = "Pulse check"
titel = "Typo"

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
    1,
    "unknown key \"titel\" in the top level; expected one of: id, title, intro, anonymity, min_group_size, min_comment_group_size, report_by, tenure_bands, release_every, share_comments, language, languages, schedule, timezone, audience, scales, sections (did you mean \"title\"?)"
);

invalid!(
    missing_id,
    r#"title = "Pulse check"

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
    1,
    1,
    "missing required key \"id\" in the top level"
);

invalid!(
    missing_title,
    r#"id = "pulse-check"

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
    1,
    1,
    "missing required key \"title\" in the top level"
);

invalid!(
    missing_audience,
    r#"id = "pulse-check"
title = "Pulse check"

[[sections]]
id = "you"
title = "Working here"

[[sections.questions]]
id = "enps"
type = "enps"
text = "Would you recommend us?"
"#,
    1,
    1,
    "missing required key \"audience\" in the top level"
);

invalid!(
    missing_sections,
    r#"id = "pulse-check"
title = "Pulse check"

[audience]
departments = ["*"]
"#,
    1,
    1,
    "missing required key \"sections\" in the top level"
);

invalid!(
    id_wrong_type,
    r#"id = 2027
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
"#,
    1,
    6,
    "\"id\" must be a string, found an integer"
);

invalid!(
    survey_id_not_a_slug,
    r#"id = "Pulse Check"
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
"#,
    1,
    6,
    "survey id \"Pulse Check\" is not a valid id: use 3 to 64 lowercase letters, digits and hyphens"
);

invalid!(
    survey_id_too_short,
    r#"id = "pc"
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
"#,
    1,
    6,
    "survey id \"pc\" is not a valid id"
);

invalid!(
    anonymity_unknown,
    r#"id = "pulse-check"
title = "Pulse check"
anonymity = "secret"

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
    13,
    "anonymity \"secret\" is not known; use \"anonymous\" or \"confidential\""
);

invalid!(
    min_group_size_below_three,
    r#"id = "pulse-check"
title = "Pulse check"
min_group_size = 2

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
    18,
    "\"min_group_size\" is 2; it must be at least 3"
);

invalid!(
    min_group_size_wrong_type,
    r#"id = "pulse-check"
title = "Pulse check"
min_group_size = "5"

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
    18,
    "\"min_group_size\" must be an integer, found a string"
);

invalid!(
    min_comment_group_size_below_min_group_size,
    r#"id = "pulse-check"
title = "Pulse check"
min_group_size = 8
min_comment_group_size = 6

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
    4,
    26,
    "\"min_comment_group_size\" is 6; it must be at least min_group_size (8)"
);

invalid!(
    language_not_a_code,
    r#"id = "pulse-check"
title = "Pulse check"
language = "English"

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
    "\"English\" is not a language code"
);

invalid!(
    languages_without_default,
    r#"id = "pulse-check"
title = "Pulse check"
language = "en"
languages = ["de", "fr"]

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
    4,
    13,
    "\"languages\" must include the default language \"en\""
);

invalid!(
    languages_listed_twice,
    r#"id = "pulse-check"
title = "Pulse check"
languages = ["en", "de", "de"]

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
    26,
    "language \"de\" is listed twice in \"languages\""
);

// ---- translations ----

invalid!(
    translation_missing,
    r#"id = "pulse-check"
title = { en = "Pulse check" }
languages = ["en", "de"]

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
    2,
    9,
    "\"title\" has no \"de\" translation; every language of languages = [\"en\", \"de\"] needs one"
);

invalid!(
    translation_in_unlisted_language,
    r#"id = "pulse-check"
title = "Pulse check"
languages = ["en", "de"]

[audience]
departments = ["*"]

[[sections]]
id = "you"
title = "Working here"

[[sections.questions]]
id = "enps"
type = "enps"
text = { en = "Recommend us?", de = "Empfehlen?", fr = "Recommander ?" }
"#,
    15,
    51,
    "unknown language \"fr\" in \"text\" of question \"enps\"; it is not one of languages = [\"en\", \"de\"]"
);

invalid!(
    translation_without_languages,
    r#"id = "pulse-check"
title = "Pulse check"

[audience]
departments = ["*"]

[[sections]]
id = "you"
title = { en = "Working here", de = "Arbeiten hier" }

[[sections.questions]]
id = "enps"
type = "enps"
text = "Would you recommend us?"
"#,
    9,
    32,
    "unknown language \"de\" in \"title\" of section \"you\"; add languages = [\"en\", \"de\"] at the top level to translate"
);

invalid!(
    translated_lists_of_unequal_length,
    r#"id = "pulse-check"
title = "Pulse check"
languages = ["en", "de"]

[audience]
departments = ["*"]

[[sections]]
id = "you"
title = "Working here"

[[sections.questions]]
id = "channel"
type = "choice"
text = "How do you ask for help?"
options = { en = ["Email", "Chat", "Phone"], de = ["E-Mail", "Chat"] }
"#,
    16,
    51,
    "the \"de\" list of \"options\" of question \"channel\" has 2 entries but the \"en\" list has 3"
);

invalid!(
    empty_text,
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
text = "  "
"#,
    14,
    8,
    "\"text\" of question \"enps\" must not be empty"
);

// ---- audience ----

invalid!(
    audience_unknown_key,
    r#"id = "pulse-check"
title = "Pulse check"

[audience]
departments = ["*"]
exclude_department = ["Contractors"]

[[sections]]
id = "you"
title = "Working here"

[[sections.questions]]
id = "enps"
type = "enps"
text = "Would you recommend us?"
"#,
    6,
    1,
    "unknown key \"exclude_department\" in [audience]; expected one of: departments, exclude_departments, where (did you mean \"exclude_departments\"?)"
);

invalid!(
    audience_without_departments,
    r#"id = "pulse-check"
title = "Pulse check"

[audience]
where = { location = ["Berlin"] }

[[sections]]
id = "you"
title = "Working here"

[[sections.questions]]
id = "enps"
type = "enps"
text = "Would you recommend us?"
"#,
    4,
    1,
    "missing required key \"departments\" in [audience]"
);

invalid!(
    audience_departments_empty,
    r#"id = "pulse-check"
title = "Pulse check"

[audience]
departments = []

[[sections]]
id = "you"
title = "Working here"

[[sections.questions]]
id = "enps"
type = "enps"
text = "Would you recommend us?"
"#,
    5,
    15,
    "\"departments\" of [audience] is empty"
);

invalid!(
    audience_star_with_names,
    r#"id = "pulse-check"
title = "Pulse check"

[audience]
departments = ["*", "Sales"]

[[sections]]
id = "you"
title = "Working here"

[[sections.questions]]
id = "enps"
type = "enps"
text = "Would you recommend us?"
"#,
    5,
    15,
    "\"*\" already means every department; list either \"*\" or department names"
);

invalid!(
    audience_exclude_everyone,
    r#"id = "pulse-check"
title = "Pulse check"

[audience]
departments = ["*"]
exclude_departments = ["Contractors", "*"]

[[sections]]
id = "you"
title = "Working here"

[[sections.questions]]
id = "enps"
type = "enps"
text = "Would you recommend us?"
"#,
    6,
    39,
    "\"*\" would exclude everyone"
);

invalid!(
    audience_department_twice,
    r#"id = "pulse-check"
title = "Pulse check"

[audience]
departments = ["Sales", "Marketing", "Sales"]

[[sections]]
id = "you"
title = "Working here"

[[sections.questions]]
id = "enps"
type = "enps"
text = "Would you recommend us?"
"#,
    5,
    38,
    "\"Sales\" is listed twice in \"departments\" of [audience]"
);

invalid!(
    audience_where_not_a_list,
    r#"id = "pulse-check"
title = "Pulse check"

[audience]
departments = ["*"]
where = { location = "Berlin" }

[[sections]]
id = "you"
title = "Working here"

[[sections.questions]]
id = "enps"
type = "enps"
text = "Would you recommend us?"
"#,
    6,
    22,
    "\"location\" of audience.where must be an array, found a string"
);
