//! Reading `[[sections]]` and their `[[sections.questions]]`.

use std::collections::BTreeMap;

use toml::de::DeValue;

use super::diagnostic::{Located, Pos};
use super::model::{Measure, Question, QuestionKind, Section, SeenAbout};
use super::parse_scales::{read_likert, Scales};
use super::reader::{check_slug, Reader, Table, Value};
use super::text::TextList;
use super::translations::Languages;

const SECTION_KEYS: &[&str] = &["id", "title", "about", "service", "skip_label", "questions"];
const QUESTION_KEYS: &[&str] = &["id", "type", "text", "label", "required"];

/// The longest short label a question may give for table headers.
pub const MAX_LABEL: usize = 24;
const QUESTION_TYPES: &[&str] = &[
    "likert",
    "rating",
    "enps",
    "nps",
    "choice",
    "text",
    "action_seen",
    "csat",
    "ces",
    "lost_time",
];

/// Keys each question type takes besides [`QUESTION_KEYS`].
fn type_keys(question_type: &str) -> &'static [&'static str] {
    match question_type {
        "likert" => &["scale", "scale_labels", "favorable"],
        "rating" => &["max"],
        "choice" => &["options", "multiple"],
        "text" => &["max_length"],
        "action_seen" => &["service", "questions"],
        _ => &[],
    }
}

pub const MIN_CHOICE_OPTIONS: usize = 2;
pub const MAX_CHOICE_OPTIONS: usize = 50;
pub const DEFAULT_TEXT_MAX_LENGTH: u32 = 2000;

/// Ids already used, with where they were first written.
#[derive(Default)]
struct Seen {
    sections: BTreeMap<String, Pos>,
    questions: BTreeMap<String, Pos>,
    abouts: BTreeMap<String, String>,
    /// `action_seen` targets, checked once every section is read.
    seen_targets: Vec<(std::ops::Range<usize>, SeenAbout)>,
    /// Ids of the questions an `action_seen` may name (likert, rating, enps, nps, choice).
    answerable: Vec<String>,
}

pub(super) fn read_sections(
    r: &mut Reader<'_>,
    value: &Value<'_>,
    scales: &Scales,
    langs: &Languages,
) -> Option<Vec<Section>> {
    if matches!(value.get_ref(), DeValue::Table(_)) {
        r.error(
            &value.span(),
            "\"sections\" must be an array of tables: write [[sections]], not [sections]",
        );
        return None;
    }
    let items = r.array(value, "\"sections\"")?;
    if items.is_empty() {
        r.error(&value.span(), "a survey needs at least one [[sections]]");
        return None;
    }
    let mut seen = Seen::default();
    let mut sections = Vec::with_capacity(items.len());
    let mut ok = true;
    for (index, item) in items.iter().enumerate() {
        match read_section(r, item, index, scales, langs, &mut seen) {
            Some(section) => sections.push(section),
            None => ok = false,
        }
    }
    for (span, target) in std::mem::take(&mut seen.seen_targets) {
        match &target {
            SeenAbout::Service(service) if !seen.abouts.contains_key(service) => {
                r.error(
                    &span,
                    format!(
                        "no section is about \"{service}\"; an action_seen question names a service a section rates ({})",
                        seen.abouts.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                );
                ok = false;
            }
            SeenAbout::Questions(ids) => {
                for id in ids {
                    if !seen.answerable.contains(id) {
                        r.error(
                            &span,
                            format!("\"{id}\" is not a likert, rating, enps, nps or choice question of this survey"),
                        );
                        ok = false;
                    }
                }
            }
            SeenAbout::Service(_) => {}
        }
    }
    ok.then_some(sections)
}

/// The fixed answers of an `action_seen` question, in every language of the survey (the
/// product's words: `i18n`).
fn seen_options(langs: &Languages) -> TextList {
    let list = |lang: &str| -> Vec<String> {
        let words = crate::i18n::words(lang);
        ["yes", "somewhat", "no", "unsure"]
            .iter()
            .map(|k| words.get(&format!("form.seen_{k}")).to_string())
            .collect()
    };
    TextList {
        default: list(&langs.default),
        translations: langs
            .all
            .iter()
            .filter(|l| **l != langs.default)
            .map(|l| (l.clone(), list(l)))
            .collect(),
    }
}

/// The scale of a fixed measure: the product's labels in every language of the survey
/// (`i18n`), and the measure's favourable values.
fn measure_scale(measure: Measure, langs: &Languages) -> QuestionKind {
    let list = |lang: &str| -> Vec<String> {
        let words = crate::i18n::words(lang);
        measure
            .label_keys()
            .iter()
            .map(|k| words.get(&format!("form.{k}")).to_string())
            .collect()
    };
    QuestionKind::Likert {
        scale: None,
        labels: TextList {
            default: list(&langs.default),
            translations: langs
                .all
                .iter()
                .filter(|l| **l != langs.default)
                .map(|l| (l.clone(), list(l)))
                .collect(),
        },
        favorable: measure.favorable(),
    }
}

/// What an `action_seen` question asks about: `service`, `questions`, or its section's
/// `about`.
fn read_seen(
    r: &mut Reader<'_>,
    table: &Table<'_, '_>,
    context: &QuestionContext<'_>,
    seen: &mut Seen,
) -> Option<SeenAbout> {
    match (table.get("service"), table.get("questions")) {
        (Some(v), Some(_)) => {
            r.error(
                &v.span(),
                format!(
                    "{} names a service and questions; give one of them",
                    table.name
                ),
            );
            None
        }
        (Some(v), None) => {
            let service = r.string(v, &table.describe("service"))?.to_string();
            let target = SeenAbout::Service(service);
            seen.seen_targets.push((v.span(), target.clone()));
            Some(target)
        }
        (None, Some(v)) => {
            let items = r.array(v, &table.describe("questions"))?;
            let mut ids = Vec::new();
            for item in items.iter() {
                ids.push(r.string(item, &table.describe("questions"))?.to_string());
            }
            if ids.is_empty() {
                r.error(
                    &v.span(),
                    format!("{} names no question", table.describe("questions")),
                );
                return None;
            }
            let target = SeenAbout::Questions(ids);
            seen.seen_targets.push((v.span(), target.clone()));
            Some(target)
        }
        (None, None) => match context.about {
            Some(about) => Some(SeenAbout::Service(about.to_string())),
            None => {
                r.error(
                    &table.span,
                    format!(
                        "{} asks whether changes were seen, but about what? Add service = \"IT\" or questions = [\"...\"], or put it in a section with \"about\"",
                        table.name
                    ),
                );
                None
            }
        },
    }
}

/// How messages name a table with an `id`: by the id when it is a string, else by
/// its number.
fn name_of(table: &toml::de::DeTable<'_>, noun: &str, index: usize, parent: &str) -> String {
    match table.get("id").map(|v| v.get_ref()) {
        Some(DeValue::String(id)) => format!("{noun} \"{id}\""),
        _ => format!("{noun} {}{parent}", index + 1),
    }
}

fn read_section(
    r: &mut Reader<'_>,
    value: &Value<'_>,
    index: usize,
    scales: &Scales,
    langs: &Languages,
    seen: &mut Seen,
) -> Option<Section> {
    let name = match value.get_ref() {
        DeValue::Table(t) => name_of(t, "section", index, ""),
        _ => format!("section {}", index + 1),
    };
    let table = r.table(value, &format!("each entry of \"sections\" ({name})"), name)?;
    r.check_keys(&table, SECTION_KEYS, |_| None);

    let id = r
        .required(&table, "id")
        .and_then(|v| read_id(r, v, "section", &mut seen.sections));
    let title = r
        .required(&table, "title")
        .and_then(|v| r.text(v, &table.describe("title"), langs));
    let about = match table.get("about") {
        None => Some(None),
        Some(v) => r
            .located_string(v, &table.describe("about"))
            .and_then(|about| {
                claim_service(r, seen, v, "", &about.value, &table.name).then_some(Some(about))
            }),
    };
    let service = match table.get("service") {
        None => Some(None),
        Some(v) => r
            .located_string(v, &table.describe("service"))
            .and_then(|service| {
                if let Err(e) = check_slug(&service, 2) {
                    r.error(
                        &v.span(),
                        format!("service {e}; name an id of services.toml"),
                    );
                    return None;
                }
                // Without `about`, the service id is what reports key the section by.
                if table.get("about").is_none()
                    && !claim_service(r, seen, v, "service ", &service.value, &table.name)
                {
                    return None;
                }
                Some(Some(service))
            }),
    };
    let skip_label = match table.get("skip_label") {
        None => Some(None),
        Some(v) => r.text(v, &table.describe("skip_label"), langs).map(Some),
    };
    let has_about = table.get("about").is_some() || table.get("service").is_some();
    let about_name: Option<String> = match table
        .get("about")
        .or_else(|| table.get("service"))
        .map(|v| v.get_ref())
    {
        Some(DeValue::String(name)) => Some(name.to_string()),
        _ => None,
    };
    let questions = r.required(&table, "questions").and_then(|v| {
        if matches!(v.get_ref(), DeValue::Table(_)) {
            r.error(
                &v.span(),
                format!(
                    "{} must be an array of tables: write [[sections.questions]], not [sections.questions]",
                    table.describe("questions")
                ),
            );
            return None;
        }
        let items = r.array(v, &table.describe("questions"))?;
        if items.is_empty() {
            r.error(&v.span(), format!("{} has no questions", table.name));
            return None;
        }
        let mut questions = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            let context = QuestionContext {
                section: &table.name,
                has_about,
                about: about_name.as_deref(),
                index: i,
            };
            match read_question(r, item, &context, scales, langs, seen) {
                Some(q) => questions.push(q),
                None => ok = false,
            }
        }
        ok.then_some(questions)
    });
    Some(Section {
        id: id?,
        title: title?,
        about: about?,
        service: service?,
        skip_label: skip_label?,
        questions: questions?,
    })
}

/// Records that `section` rates service `key` (its `about`, or its `service` without
/// one); false, with the error at `value`, when another section rates it already.
fn claim_service(
    r: &mut Reader<'_>,
    seen: &mut Seen,
    value: &Value<'_>,
    noun: &str,
    key: &str,
    section: &str,
) -> bool {
    if let Some(other) = seen.abouts.get(key) {
        r.error(
            &value.span(),
            format!(
                "{noun}\"{key}\" is already rated by {other}; one section per service, so its scores are not split"
            ),
        );
        return false;
    }
    seen.abouts.insert(key.to_string(), section.to_string());
    true
}

/// A section or question id: a slug, unique among its kind in the survey.
fn read_id(
    r: &mut Reader<'_>,
    value: &Value<'_>,
    noun: &str,
    seen: &mut BTreeMap<String, Pos>,
) -> Option<Located<String>> {
    let id = r.located_string(value, &format!("{noun} \"id\""))?;
    if let Err(e) = check_slug(&id, 1) {
        r.error(&value.span(), format!("{noun} id {e}"));
        return None;
    }
    if let Some(first) = seen.get(&id.value) {
        r.error(
            &value.span(),
            format!(
                "{noun} id \"{}\" is used twice (first on line {}); ids must be unique in the survey",
                id.value, first.line
            ),
        );
        return None;
    }
    seen.insert(id.value.clone(), id.pos);
    Some(id)
}

struct QuestionContext<'a> {
    section: &'a str,
    has_about: bool,
    /// The section's `about`, for an `action_seen` question that names nothing else.
    about: Option<&'a str>,
    index: usize,
}

fn read_question(
    r: &mut Reader<'_>,
    value: &Value<'_>,
    context: &QuestionContext<'_>,
    scales: &Scales,
    langs: &Languages,
    seen: &mut Seen,
) -> Option<Question> {
    let parent = format!(" of {}", context.section);
    let name = match value.get_ref() {
        DeValue::Table(t) => name_of(t, "question", context.index, &parent),
        _ => format!("question {}{parent}", context.index + 1),
    };
    let table = r.table(
        value,
        &format!("each entry of \"questions\" ({name})"),
        name,
    )?;

    let question_type = r.required(&table, "type").and_then(|v| {
        let t = r.string(v, &table.describe("type"))?;
        if !QUESTION_TYPES.contains(&t) {
            r.error(
                &v.span(),
                format!(
                    "question type \"{t}\" is not known; use one of: {}",
                    QUESTION_TYPES.join(", ")
                ),
            );
            return None;
        }
        Some((t, v))
    });
    check_question_keys(r, &table, question_type.map(|(t, _)| t));

    let id = r
        .required(&table, "id")
        .and_then(|v| read_id(r, v, "question", &mut seen.questions));
    let text = r
        .required(&table, "text")
        .and_then(|v| r.text(v, &table.describe("text"), langs));
    let label = match table.get("label") {
        None => Some(None),
        Some(v) => r.string(v, &table.describe("label")).and_then(|text| {
            let trimmed = text.trim();
            let length = trimmed.chars().count();
            if trimmed.is_empty() || length > MAX_LABEL || trimmed.contains('\n') {
                r.error(
                    &v.span(),
                    format!(
                        "a label is the question's short name in table headers: one line of 1 to {MAX_LABEL} characters (this one has {length})"
                    ),
                );
                None
            } else {
                Some(Some(trimmed.to_string()))
            }
        }),
    };
    let (question_type, type_value) = question_type?;
    let required = match table.get("required") {
        None => Some(question_type != "text"),
        Some(v) => r.bool(v, &table.describe("required")),
    };
    let kind = match question_type {
        "likert" => read_likert(r, &table, scales, langs),
        "rating" => r.required(&table, "max").and_then(|v| {
            r.integer_in(
                v,
                &table.describe("max"),
                2..11,
                "a rating goes from 1 to max, with max from 2 to 10",
            )
            .map(|max| QuestionKind::Rating { max })
        }),
        "enps" => Some(QuestionKind::Enps),
        "nps" => {
            if context.has_about {
                Some(QuestionKind::Nps)
            } else {
                r.error(
                    &type_value.span(),
                    format!(
                        "an nps question rates the section's service, but {} has no \"about\"; add about = \"DEPARTMENT\" to the section, or use type = \"enps\" for the company",
                        context.section
                    ),
                );
                None
            }
        }
        "choice" => read_choice(r, &table, langs),
        "action_seen" => Some(QuestionKind::Choice {
            options: seen_options(langs),
            multiple: false,
        }),
        "csat" | "ces" | "lost_time" => {
            Measure::of_type(question_type).map(|m| measure_scale(m, langs))
        }
        _ => match table.get("max_length") {
            None => Some(DEFAULT_TEXT_MAX_LENGTH),
            Some(v) => r.integer_in(
                v,
                &table.describe("max_length"),
                1..1_000_001,
                "it must be a positive number of characters (at most 1000000)",
            ),
        }
        .map(|max_length| QuestionKind::Text { max_length }),
    };
    let seen_about = if question_type == "action_seen" {
        Some(read_seen(r, &table, context, seen)?)
    } else {
        None
    };
    let question = Question {
        id: id?,
        text: text?,
        label: label?,
        required: required?,
        kind: kind?,
        seen: seen_about,
        measure: Measure::of_type(question_type),
    };
    if question.seen.is_none() && !matches!(question.kind, QuestionKind::Text { .. }) {
        seen.answerable.push(question.id.value.clone());
    }
    Some(question)
}

/// Unknown keys, and keys of another question type (`max` on a likert question).
fn check_question_keys(r: &mut Reader<'_>, table: &Table<'_, '_>, question_type: Option<&str>) {
    let Some(question_type) = question_type else {
        // Without a valid type, accept any key some type takes: the type error is the
        // one to fix first.
        let all: Vec<&str> = QUESTION_KEYS
            .iter()
            .chain(QUESTION_TYPES.iter().flat_map(|t| type_keys(t)))
            .copied()
            .collect();
        r.check_keys(table, &all, |_| None);
        return;
    };
    let allowed: Vec<&str> = QUESTION_KEYS
        .iter()
        .chain(type_keys(question_type))
        .copied()
        .collect();
    let listing = allowed.join(", ");
    let measure = Measure::of_type(question_type);
    r.check_keys(table, &allowed, |key| {
        // A measure's scale is the product's: say so rather than list other types.
        if let Some(measure) = measure {
            if ["scale", "scale_labels", "favorable", "max"].contains(&key) {
                return Some(format!(
                    "\"{key}\" does not apply to a {question_type} question: its scale is fixed ({}); remove \"{key}\", or use type = \"likert\" for a scale of your own",
                    match measure {
                        Measure::Csat => "1 very dissatisfied to 5 very satisfied, favourable 4-5",
                        Measure::Ces => "1 strongly disagree to 7 strongly agree, favourable 5-7",
                        Measure::LostTime => "six bands from none to more than a day, favourable: none or under 30 minutes",
                    }
                ));
            }
        }
        let owners: Vec<&str> = QUESTION_TYPES
            .iter()
            .copied()
            .filter(|t| type_keys(t).contains(&key))
            .collect();
        (!owners.is_empty()).then(|| {
            format!(
                "\"{key}\" does not apply to a {question_type} question (only to {}); a {question_type} question takes: {listing}",
                owners.join(", ")
            )
        })
    });
}

fn read_choice(
    r: &mut Reader<'_>,
    table: &Table<'_, '_>,
    langs: &Languages,
) -> Option<QuestionKind> {
    let multiple = match table.get("multiple") {
        None => Some(false),
        Some(v) => r.bool(v, &table.describe("multiple")),
    };
    let options_value = r.required(table, "options")?;
    let options = r.text_list(options_value, &table.describe("options"), langs, true)?;
    let n = options.len();
    if !(MIN_CHOICE_OPTIONS..=MAX_CHOICE_OPTIONS).contains(&n) {
        r.error(
            &options_value.span(),
            format!(
                "{} has {n} option{}; a choice question has {MIN_CHOICE_OPTIONS} to {MAX_CHOICE_OPTIONS}",
                table.name,
                if n == 1 { "" } else { "s" }
            ),
        );
        return None;
    }
    Some(QuestionKind::Choice {
        options,
        multiple: multiple?,
    })
}
