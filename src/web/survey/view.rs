//! The survey form as the template sees it.

use serde::Serialize;
use tera::Context;

use super::form::{Entered, FormErrors};
use crate::definitions::{Anonymity, Definition, QuestionKind};
use crate::i18n::{self, Words};
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
    low_label: Option<String>,
    high_label: Option<String>,
    text_value: String,
    max_length: u32,
    limit_hint: String,
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

/// The language to show: the one asked for (the link from the email carries the
/// roster's, the form's switch another), else the browser's first the survey has, else
/// the survey's default.
pub fn language(definition: &Definition, asked: Option<&str>, accept: Option<&str>) -> String {
    let mut wanted: Vec<&str> = asked.into_iter().collect();
    wanted.extend(accept.map(i18n::accept_language).unwrap_or_default());
    i18n::pick(&definition.languages, &definition.language, &wanted)
}

/// The product's words for a page in `lang`, and the page's direction.
pub fn page_words(context: &mut Context, lang: &str) -> &'static Words {
    let words = i18n::words(lang);
    context.insert("lang", lang);
    context.insert("dir", i18n::direction(lang));
    context.insert("p", &words.section("page", &[]));
    words
}

pub fn form_context(input: &FormInput) -> Context {
    let d = input.definition;
    let lang = input.lang;
    let mut context = Context::new();
    let words = page_words(&mut context, lang);
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
                        low_label: ends.then(|| words.get("form.nps_low").to_string()),
                        high_label: ends.then(|| words.get("form.nps_high").to_string()),
                        text_value: if kind == "text" {
                            given.first().cloned().unwrap_or_default()
                        } else {
                            String::new()
                        },
                        max_length,
                        limit_hint: words.fill("form.text_limit", &[("max", &max_length)]),
                        error: input
                            .errors
                            .and_then(|e| e.fields.get(&q.id.value))
                            .map(|p| p.say(words)),
                    }
                })
                .collect(),
        })
        .collect();
    let general: Vec<String> = input
        .errors
        .map(|e| e.general.iter().map(|p| p.say(words)).collect())
        .unwrap_or_default();
    let error_count = general.len() + input.errors.map_or(0, |e| e.fields.len());
    let kept = words.kept(&d.report_by);
    let min = d.min_group_size;
    let (privacy_heading, privacy) = match d.anonymity.value {
        Anonymity::Anonymous => (
            words.get("privacy.anonymous_heading"),
            words.fill("privacy.anonymous", &[("kept", &kept), ("min", &min)]),
        ),
        Anonymity::Confidential => (
            words.get("privacy.confidential_heading"),
            words.fill("privacy.confidential", &[("min", &min)]),
        ),
    };
    let deadline = input.invitation.wave.closes_at.map_or_else(
        || words.get("date.none").to_string(),
        |t| words.date_time(&t.and_utc().with_timezone(&timezone(d))),
    );
    let check = if error_count == 1 {
        words.get("form.check_one").to_string()
    } else {
        words.fill("form.check_many", &[("count", &error_count)])
    };
    context.insert("page_title", d.title.get(lang));
    context.insert("title", d.title.get(lang));
    context.insert("intro", &d.intro.as_ref().map(|t| t.get(lang).to_string()));
    context.insert("f", &words.section("form", &[("deadline", &deadline)]));
    context.insert("privacy_label", words.get("privacy.label"));
    context.insert("check_answers", &check);
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
    context.insert("token", input.token);
    context.insert("csrf", input.csrf);
    context.insert("sections", &sections);
    context.insert("general_errors", &general);
    context.insert("error_count", &error_count);
    context.insert("help", input.help);
    context
}
