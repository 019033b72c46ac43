//! Reading a submitted survey form against its definition. Pure: bytes in, either the
//! answers to store or every problem beside its question, and what was entered so the
//! form can come back filled in.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::definitions::{Definition, QuestionKind};
use crate::i18n::Phrase;
use crate::responses::AnswerValue;

/// More fields than any survey can have: a body with more is refused unread.
const MAX_FIELDS: usize = 2000;

/// What the respondent entered, by question id and skipped section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entered {
    pub values: HashMap<String, Vec<String>>,
    pub skipped: HashSet<String>,
    pub csrf: Option<String>,
    pub lang: Option<String>,
}

/// Problems of a submission: beside their question, or about the form as a whole; said
/// in the respondent's language when the form comes back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormErrors {
    pub general: Vec<Phrase>,
    pub fields: BTreeMap<String, Phrase>,
}

impl FormErrors {
    pub fn is_empty(&self) -> bool {
        self.general.is_empty() && self.fields.is_empty()
    }
}

/// The answers to store, in definition order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    pub answers: Vec<AnswerValue>,
}

/// Reads a form body (`application/x-www-form-urlencoded`).
pub fn read(body: &[u8]) -> Result<Entered, FormErrors> {
    let mut entered = Entered::default();
    let mut errors = FormErrors::default();
    let mut seen_single: HashSet<String> = HashSet::new();
    for (index, (name, value)) in form_urlencoded::parse(body).enumerate() {
        if index >= MAX_FIELDS {
            errors.general.push(Phrase::new("error.too_many_fields"));
            break;
        }
        let name = name.into_owned();
        let value = value.into_owned();
        if value.contains('\0') {
            errors
                .general
                .push(Phrase::new("error.bad_character").with("name", &name));
            continue;
        }
        if let Some(question) = name.strip_prefix("q.") {
            entered
                .values
                .entry(question.to_string())
                .or_default()
                .push(value);
            continue;
        }
        if !seen_single.insert(name.clone()) {
            errors
                .general
                .push(Phrase::new("error.field_twice").with("name", &name));
            continue;
        }
        match name.as_str() {
            "csrf" => entered.csrf = Some(value),
            "lang" => entered.lang = Some(value),
            _ => match name.strip_prefix("skip.") {
                Some(section) => {
                    entered.skipped.insert(section.to_string());
                }
                None => errors
                    .general
                    .push(Phrase::new("error.unexpected_field").with("name", format!("{name:?}"))),
            },
        }
    }
    if errors.is_empty() {
        Ok(entered)
    } else {
        Err(errors)
    }
}

/// Checks every answer against the definition; `lang` is the language the form was shown
/// in (a problem may quote one of its texts).
pub fn validate(
    definition: &Definition,
    entered: &Entered,
    lang: &str,
) -> Result<Submission, FormErrors> {
    let mut errors = FormErrors::default();
    let mut answers = Vec::new();
    let known: HashSet<&str> = definition
        .questions()
        .map(|(_, q)| q.id.value.as_str())
        .collect();
    for id in entered.values.keys() {
        if !known.contains(id.as_str()) {
            errors
                .general
                .push(Phrase::new("error.unknown_question").with("name", format!("{id:?}")));
        }
    }
    for section in &entered.skipped {
        match definition.section(section) {
            Some(s) if s.skip_label.is_some() => {}
            _ => errors
                .general
                .push(Phrase::new("error.cannot_skip").with("name", format!("{section:?}"))),
        }
    }
    for (section, question) in definition.questions() {
        if entered.skipped.contains(&section.id.value) && section.skip_label.is_some() {
            // Ticked "not used" and answered as well: which one is meant is the
            // respondent's to say, not ours to guess.
            let answered = entered
                .values
                .get(&question.id.value)
                .is_some_and(|v| v.iter().any(|s| !s.trim().is_empty()));
            if answered {
                let label = section
                    .skip_label
                    .as_ref()
                    .map(|t| t.get(lang).to_string())
                    .unwrap_or_default();
                errors.fields.insert(
                    question.id.value.clone(),
                    Phrase::new("error.skipped_and_answered").with("label", label),
                );
            }
            continue;
        }
        let id = &question.id.value;
        let values: Vec<&str> = entered
            .values
            .get(id)
            .map(|v| {
                v.iter()
                    .map(String::as_str)
                    .filter(|s| !s.trim().is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let one = |value: Option<i32>, text: Option<String>, ordinal: i32| AnswerValue {
            question_id: id.clone(),
            ordinal,
            value,
            text,
        };
        if values.is_empty() {
            if question.required {
                errors
                    .fields
                    .insert(id.clone(), Phrase::new("error.answer"));
            }
            continue;
        }
        let multiple = matches!(question.kind, QuestionKind::Choice { multiple: true, .. });
        if values.len() > 1 && !multiple {
            errors
                .fields
                .insert(id.clone(), Phrase::new("error.only_one"));
            continue;
        }
        match &question.kind {
            QuestionKind::Text { max_length } => {
                let text = values[0].trim_end();
                let length = text.chars().count();
                if length > *max_length as usize {
                    errors.fields.insert(
                        id.clone(),
                        Phrase::new("error.too_long")
                            .with("max", max_length)
                            .with("length", length),
                    );
                } else {
                    answers.push(one(None, Some(text.to_string()), 0));
                }
            }
            QuestionKind::Choice { options, .. } => {
                let mut chosen = Vec::new();
                for value in &values {
                    match value.parse::<usize>() {
                        Ok(i) if i < options.len() && !chosen.contains(&i) => chosen.push(i),
                        Ok(i) if chosen.contains(&i) => {}
                        _ => {
                            errors
                                .fields
                                .insert(id.clone(), Phrase::new("error.option"));
                            break;
                        }
                    }
                }
                chosen.sort_unstable();
                answers.extend(
                    chosen
                        .iter()
                        .enumerate()
                        .map(|(ordinal, i)| one(Some(*i as i32), None, ordinal as i32)),
                );
            }
            _ => {
                let range = question.value_range().unwrap_or(0..=0);
                match values[0].trim().parse::<u32>() {
                    Ok(v) if range.contains(&v) => answers.push(one(Some(v as i32), None, 0)),
                    _ => {
                        errors.fields.insert(
                            id.clone(),
                            Phrase::new("error.range")
                                .with("low", range.start())
                                .with("high", range.end()),
                        );
                    }
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(Submission { answers })
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definitions::parse_definition;
    use proptest::prelude::*;

    const SURVEY: &str = r#"
id = "form-test"
title = "Form test"
[audience]
departments = ["*"]
[scales.agree5]
labels = ["1", "2", "3", "4", "5"]
[[sections]]
id = "it"
title = "IT"
about = "IT"
skip_label = "I have not used IT"
  [[sections.questions]]
  id = "fast"
  type = "likert"
  scale = "agree5"
  text = "Fast?"
  [[sections.questions]]
  id = "it-nps"
  type = "nps"
  text = "Recommend IT?"
[[sections]]
id = "you"
title = "You"
  [[sections.questions]]
  id = "enps"
  type = "enps"
  text = "Recommend us?"
  [[sections.questions]]
  id = "tools"
  type = "choice"
  multiple = true
  options = ["Laptop", "Phone", "Desk"]
  text = "Tools?"
  required = false
  [[sections.questions]]
  id = "say"
  type = "text"
  max_length = 5
  text = "Say"
"#;

    fn definition() -> Definition {
        parse_definition(SURVEY).expect("valid")
    }

    fn submit(body: &str) -> Result<Submission, FormErrors> {
        let entered = read(body.as_bytes())?;
        validate(&definition(), &entered, "en")
    }

    fn said(errors: &FormErrors, id: &str) -> Option<String> {
        errors
            .fields
            .get(id)
            .map(|p| p.say(crate::i18n::words("en")))
    }

    #[test]
    fn a_complete_answer_becomes_rows() {
        let s =
            submit("csrf=x&q.fast=4&q.it-nps=9&q.enps=10&q.tools=2&q.tools=0&q.say=hi").unwrap();
        let rows: Vec<(&str, i32, Option<i32>)> = s
            .answers
            .iter()
            .map(|a| (a.question_id.as_str(), a.ordinal, a.value))
            .collect();
        assert_eq!(
            rows,
            vec![
                ("fast", 0, Some(4)),
                ("it-nps", 0, Some(9)),
                ("enps", 0, Some(10)),
                ("tools", 0, Some(0)),
                ("tools", 1, Some(2)),
                ("say", 0, None)
            ]
        );
    }

    #[test]
    fn a_skipped_section_needs_no_answers_and_keeps_none() {
        let s = submit("skip.it=1&q.enps=3").unwrap();
        assert_eq!(s.answers.len(), 1);
        assert_eq!(s.answers[0].question_id, "enps");
    }

    #[test]
    fn a_skipped_section_with_an_answer_is_refused_beside_the_answer() {
        let errors = submit("skip.it=1&q.fast=4&q.enps=3").unwrap_err();
        assert_eq!(
            said(&errors, "fast").as_deref(),
            Some("You ticked \u{201c}I have not used IT\u{201d} and answered this question: untick the box or clear the answer.")
        );
        assert_eq!(errors.fields.len(), 1);
    }

    #[test]
    fn every_problem_is_reported_beside_its_question() {
        let errors = submit("q.fast=6&q.enps=x&q.tools=7&q.say=toolong").unwrap_err();
        assert_eq!(
            said(&errors, "fast").as_deref(),
            Some("Please choose a value from 1 to 5.")
        );
        assert_eq!(
            said(&errors, "it-nps").as_deref(),
            Some("Please answer this question.")
        );
        assert_eq!(
            said(&errors, "enps").as_deref(),
            Some("Please choose a value from 0 to 10.")
        );
        assert_eq!(
            said(&errors, "tools").as_deref(),
            Some("Please choose one of the options shown.")
        );
        assert!(said(&errors, "say").is_some_and(|m| m.contains("at most 5")));
    }

    #[test]
    fn tampered_forms_are_refused() {
        assert!(submit("q.fast=4&q.fast=5&q.it-nps=1&q.enps=1")
            .unwrap_err()
            .fields
            .contains_key("fast"));
        assert!(!submit("q.nope=1&q.fast=4&q.it-nps=1&q.enps=1")
            .unwrap_err()
            .general
            .is_empty());
        assert!(!submit("skip.you=1&q.fast=4&q.it-nps=1")
            .unwrap_err()
            .general
            .is_empty());
        assert!(!submit("csrf=a&csrf=b").unwrap_err().general.is_empty());
        assert!(!submit("evil=1").unwrap_err().general.is_empty());
        assert!(!submit("q.say=a%00b").unwrap_err().general.is_empty());
    }

    proptest! {
        #[test]
        fn arbitrary_bodies_never_panic_and_accepted_ones_are_valid(body in proptest::collection::vec(any::<u8>(), 0..400)) {
            let definition = definition();
            if let Ok(entered) = read(&body) {
                if let Ok(submission) = validate(&definition, &entered, "en") {
                    for answer in &submission.answers {
                        let question = definition.question(&answer.question_id).expect("known question");
                        if let Some(range) = question.value_range() {
                            prop_assert!(range.contains(&(answer.value.expect("a value") as u32)));
                        }
                    }
                }
            }
        }

        #[test]
        fn field_soup_never_panics(fields in proptest::collection::vec(("(q\\.(fast|it-nps|enps|tools|say|x)|skip\\.(it|you)|csrf|lang|zz)", "[0-9a-z%]{0,6}"), 0..30)) {
            let body: String = fields.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
            let definition = definition();
            if let Ok(entered) = read(body.as_bytes()) {
                let _ = validate(&definition, &entered, "en");
            }
        }
    }
}
