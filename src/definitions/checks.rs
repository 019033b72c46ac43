//! Checks of a parsed definition against things outside the file: the roster, and
//! the earlier versions of the same survey that already ran waves.

use std::collections::BTreeMap;

use super::diagnostic::{Diagnostic, Located};
use super::model::{Definition, Question, QuestionKind};
use super::reader::closest;
use super::report_by::{refusal, TENURE};

/// Reports every section `about` and audience department (`departments` other than
/// `"*"`, and `exclude_departments`) that `known` says is not in the roster.
pub fn check_departments(def: &Definition, known: &dyn Fn(&str) -> bool) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut check = |name: &Located<String>, context: String| {
        if !known(name) {
            out.push(Diagnostic::new(
                name.pos,
                format!(
                    "department \"{}\" ({context}) is not in the roster; check the spelling against the roster's department names",
                    name.value
                ),
            ));
        }
    };
    for section in &def.sections {
        if let Some(about) = &section.about {
            check(about, format!("about of section \"{}\"", section.id.value));
        }
    }
    for department in def.audience.departments.iter().filter(|d| d.value != "*") {
        check(department, "in audience.departments".to_owned());
    }
    for department in &def.audience.exclude_departments {
        check(department, "in audience.exclude_departments".to_owned());
    }
    out.sort();
    out
}

/// Reports every `report_by` dimension a roster lacks: a column that is not among
/// `columns` (the roster's column names as slugs, see `column_slug`), or `tenure`
/// without a `hire_date` column.
pub fn check_report_by(def: &Definition, columns: &[String]) -> Vec<Diagnostic> {
    let has = |name: &str| columns.iter().any(|c| c == name);
    let usable: Vec<&str> = columns
        .iter()
        .map(String::as_str)
        .filter(|c| refusal(c).is_none())
        .collect();
    let mut out = Vec::new();
    for dimension in &def.report_by.dimensions {
        let name = dimension.value.as_str();
        if name == TENURE {
            if !has("hire_date") {
                out.push(Diagnostic::new(
                    dimension.pos,
                    "\"tenure\" in report_by is worked out from the roster's hire_date column, which the roster does not have",
                ));
            }
            continue;
        }
        if has(name) {
            continue;
        }
        let mut message = format!("report_by column \"{name}\" is not in the roster; ");
        if usable.is_empty() {
            message.push_str("the roster has no column a report can keep besides the department");
        } else {
            message.push_str(&format!("its columns are: {}", usable.join(", ")));
            if let Some(close) = closest(name, usable.iter().copied()) {
                message.push_str(&format!(" (did you mean \"{close}\"?)"));
            }
        }
        out.push(Diagnostic::new(dimension.pos, message));
    }
    out.sort();
    out
}

/// What must stay equal for a question id to keep meaning the same thing across
/// waves: its type and, for scored questions, the number of points and the
/// favourable set (scale names and label wording may change).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    Likert { points: usize, favorable: Vec<u32> },
    Rating { max: u32 },
    Other(&'static str),
}

impl Shape {
    fn of(question: &Question) -> Shape {
        // A fixed measure keeps its own scale: a likert question of the same points
        // turned into csat (or back) still changes what the answers mean.
        if question.measure.is_some() {
            return Shape::Other(question.type_name());
        }
        match &question.kind {
            QuestionKind::Likert {
                labels, favorable, ..
            } => Shape::Likert {
                points: labels.len(),
                favorable: favorable.clone(),
            },
            QuestionKind::Rating { max } => Shape::Rating { max: *max },
            other => Shape::Other(other.type_name()),
        }
    }

    fn describe(&self) -> String {
        match self {
            Shape::Likert { points, favorable } => {
                let fav: Vec<String> = favorable.iter().map(u32::to_string).collect();
                format!(
                    "a likert question with {points} points (favourable: {})",
                    fav.join(", ")
                )
            }
            Shape::Rating { max } => format!("a rating question from 1 to {max}"),
            Shape::Other(name) => format!("a {name} question"),
        }
    }
}

/// Checks `next` against `previous`, the earlier versions that already ran waves
/// (oldest first): `anonymity` can't change; a question id keeps its type and scale;
/// an id removed in a later version may come back only as the same question (same
/// type, scale and default-language text). New questions may be added and old ones
/// retired. Errors point at `next`'s `anonymity` and question ids.
pub fn check_evolution(previous: &[Definition], next: &Definition) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if let Some(earlier) = previous
        .iter()
        .find(|p| p.anonymity.value != next.anonymity.value)
    {
        out.push(Diagnostic::new(
            next.anonymity.pos,
            format!(
                "anonymity can't change once a survey has waves: it was \"{}\" and is now \"{}\"; keep anonymity = \"{}\" or start a new survey with a new id",
                earlier.anonymity.value.as_str(),
                next.anonymity.value.as_str(),
                earlier.anonymity.value.as_str()
            ),
        ));
    }

    // The latest earlier question of each id, and whether the latest version has it.
    let mut latest: BTreeMap<&str, &Question> = BTreeMap::new();
    for version in previous {
        for (_, question) in version.questions() {
            latest.insert(question.id.value.as_str(), question);
        }
    }
    let live = previous.last();

    for (_, question) in next.questions() {
        let id = question.id.value.as_str();
        let Some(before) = latest.get(id) else {
            continue;
        };
        let (was, now) = (Shape::of(before), Shape::of(question));
        let retired = live.is_some_and(|v| v.question(id).is_none());
        if retired {
            if was != now || before.text.default != question.text.default {
                out.push(Diagnostic::new(
                    question.id.pos,
                    format!(
                        "question id \"{id}\" was retired and earlier meant a different question ({}: \"{}\"); a retired id may come back only as the same question, so give this one a new id",
                        was.describe(),
                        before.text.default
                    ),
                ));
            }
        } else if was != now {
            out.push(Diagnostic::new(
                question.id.pos,
                format!(
                    "question \"{id}\" was {} in earlier waves and is now {}; a question keeps its type and scale so trends compare like with like, so give the changed question a new id",
                    was.describe(),
                    now.describe()
                ),
            ));
        }
    }
    out.sort();
    out
}
