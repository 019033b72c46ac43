//! The survey form as the template sees it.

use serde::Serialize;
use tera::Context;

use super::form::{Entered, FormErrors};
use crate::definitions::{Anonymity, Definition, QuestionKind};
use crate::responses::submit::Invitation;
use crate::waves::lifecycle::timezone;

#[derive(Serialize)]
struct LanguageLink {
    code: String,
    current: bool,
}

#[derive(Serialize)]
struct OptionView {
    value: String,
    label: String,
    checked: bool,
}

#[derive(Serialize)]
struct QuestionView {
    id: String,
    text: String,
    required: bool,
    kind: &'static str,
    multiple: bool,
    options: Vec<OptionView>,
    low_label: Option<&'static str>,
    high_label: Option<&'static str>,
    text_value: String,
    max_length: u32,
    error: Option<String>,
}

#[derive(Serialize)]
struct SectionView {
    id: String,
    title: String,
    skip_label: Option<String>,
    skipped: bool,
    questions: Vec<QuestionView>,
}

pub struct FormInput<'a> {
    pub definition: &'a Definition,
    pub invitation: &'a Invitation,
    pub token: &'a str,
    pub csrf: &'a str,
    pub lang: &'a str,
    pub entered: Option<&'a Entered>,
    pub errors: Option<&'a FormErrors>,
    pub help: &'a str,
}

/// The language to show: the one asked for when the survey has it, else the default.
pub fn language(definition: &Definition, asked: Option<&str>) -> String {
    asked
        .filter(|l| definition.languages.iter().any(|have| have == l))
        .unwrap_or(&definition.language)
        .to_string()
}

pub fn form_context(input: &FormInput) -> Context {
    let d = input.definition;
    let lang = input.lang;
    let entered = |id: &str| -> Vec<String> {
        input
            .entered
            .and_then(|e| e.values.get(id))
            .cloned()
            .unwrap_or_default()
    };
    let sections: Vec<SectionView> = d
        .sections
        .iter()
        .map(|s| SectionView {
            id: s.id.value.clone(),
            title: s.title.get(lang).to_string(),
            skip_label: s.skip_label.as_ref().map(|t| t.get(lang).to_string()),
            skipped: input
                .entered
                .is_some_and(|e| e.skipped.contains(&s.id.value)),
            questions: s
                .questions
                .iter()
                .map(|q| {
                    let given = entered(&q.id.value);
                    let options = |pairs: Vec<(String, String)>| -> Vec<OptionView> {
                        pairs
                            .into_iter()
                            .map(|(value, label)| OptionView {
                                checked: given.contains(&value),
                                value,
                                label,
                            })
                            .collect()
                    };
                    let (kind, multiple, opts, ends, max_length) = match &q.kind {
                        QuestionKind::Likert { labels, .. } => (
                            "likert",
                            false,
                            options(
                                labels
                                    .get(lang)
                                    .iter()
                                    .enumerate()
                                    .map(|(i, l)| ((i + 1).to_string(), l.clone()))
                                    .collect(),
                            ),
                            false,
                            0,
                        ),
                        QuestionKind::Rating { max } => (
                            "rating",
                            false,
                            options((1..=*max).map(|v| (v.to_string(), v.to_string())).collect()),
                            false,
                            0,
                        ),
                        QuestionKind::Enps | QuestionKind::Nps => (
                            if matches!(q.kind, QuestionKind::Enps) {
                                "enps"
                            } else {
                                "nps"
                            },
                            false,
                            options((0..=10).map(|v| (v.to_string(), v.to_string())).collect()),
                            true,
                            0,
                        ),
                        QuestionKind::Choice {
                            options: list,
                            multiple,
                        } => (
                            "choice",
                            *multiple,
                            options(
                                list.get(lang)
                                    .iter()
                                    .enumerate()
                                    .map(|(i, l)| (i.to_string(), l.clone()))
                                    .collect(),
                            ),
                            false,
                            0,
                        ),
                        QuestionKind::Text { max_length } => {
                            ("text", false, Vec::new(), false, *max_length)
                        }
                    };
                    QuestionView {
                        id: q.id.value.clone(),
                        text: q.text.get(lang).to_string(),
                        required: q.required,
                        kind,
                        multiple,
                        options: opts,
                        low_label: ends.then_some("not at all likely"),
                        high_label: ends.then_some("extremely likely"),
                        text_value: if kind == "text" {
                            given.first().cloned().unwrap_or_default()
                        } else {
                            String::new()
                        },
                        max_length,
                        error: input
                            .errors
                            .and_then(|e| e.fields.get(&q.id.value).cloned()),
                    }
                })
                .collect(),
        })
        .collect();
    let general: Vec<String> = input.errors.map(|e| e.general.clone()).unwrap_or_default();
    let error_count = general.len() + input.errors.map_or(0, |e| e.fields.len());
    let (privacy_heading, privacy) = match d.anonymity.value {
        Anonymity::Anonymous => (
            "Your answers are anonymous.".to_string(),
            format!(
                "They are stored with {}, but without your name, any link to this invitation or the time you answered. Results are only shown as totals for groups of at least {} people, and change only once enough people have answered that no one answer can be picked out, so nobody, HR included, can see what you answered.",
                d.report_by.described(),
                d.min_group_size
            ),
        ),
        Anonymity::Confidential => (
            "Your answers are confidential.".to_string(),
            format!(
                "HR can link answers to the people who gave them, but results are only shown for groups of at least {} people, and nobody else can see what you answered.",
                d.min_group_size
            ),
        ),
    };
    let deadline = input
        .invitation
        .wave
        .closes_at
        .map(|t| {
            t.and_utc()
                .with_timezone(&timezone(d))
                .format("%A %-d %B %Y, %H:%M %Z")
                .to_string()
        })
        .unwrap_or_else(|| "further notice".into());
    let mut context = Context::new();
    context.insert("page_title", d.title.get(lang));
    context.insert("title", d.title.get(lang));
    context.insert("intro", &d.intro.as_ref().map(|t| t.get(lang).to_string()));
    context.insert("lang", lang);
    context.insert(
        "languages",
        &d.languages
            .iter()
            .map(|l| LanguageLink {
                code: l.clone(),
                current: l == lang,
            })
            .collect::<Vec<_>>(),
    );
    context.insert("privacy_heading", &privacy_heading);
    context.insert("privacy", &privacy);
    context.insert("deadline", &deadline);
    context.insert("token", input.token);
    context.insert("csrf", input.csrf);
    context.insert("sections", &sections);
    context.insert("general_errors", &general);
    context.insert("error_count", &error_count);
    context.insert("help", input.help);
    context
}
