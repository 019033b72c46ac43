//! A wave's counts per class of its stored responses: a class is a department (or the
//! whole audience) with one combination of report dimensions (`report_by`). Counted in
//! one pass over the wave's answers, response by response. A release adds the classes up
//! per department (`counts::count`); a closed wave's classes, counted once after closing
//! has generalised its responses (so every class holds at least `min_group_size`), are
//! stored: filtered views (`location=Munich`) are sums of classes, so no request ever
//! counts answers.

use std::collections::{BTreeMap, HashMap};

use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::counts::outcome_question;
use super::ReportError;
use crate::db::schema::{answers, responses, wave_cubes, wave_participation, wave_releases, waves};
use crate::db::{Conn, DbError};
use crate::definitions::{Definition, QuestionKind};
use crate::stats::PairSums;

/// The counts of one class of responses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassCounts {
    /// `None`: responses rolled up to the whole audience.
    pub department: Option<i64>,
    /// The report dimensions the class's responses keep (empty when dropped).
    pub attributes: BTreeMap<String, String>,
    pub respondents: u64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, BTreeMap<i32, u64>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub answered: BTreeMap<String, u64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub services: BTreeMap<String, u64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pairs: BTreeMap<String, PairSums>,
}

impl ClassCounts {
    /// Whether every `key=value` of `filters` is among the class's dimensions.
    pub fn matches(&self, filters: &[(String, String)]) -> bool {
        filters
            .iter()
            .all(|(k, v)| self.attributes.get(k).is_some_and(|mine| mine == v))
    }
}

/// A closed wave's classes, in a fixed order (their index is the audit's atom).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cube {
    pub classes: Vec<ClassCounts>,
}

/// What the counting needs of the definition, worked out once.
struct Shape {
    outcome: Option<String>,
    numeric: Vec<String>,
    /// Service → its rated questions.
    services: Vec<(String, Vec<String>)>,
}

impl Shape {
    fn of(definition: &Definition) -> Shape {
        let numeric = definition
            .questions()
            .filter(|(_, q)| {
                matches!(
                    q.kind,
                    QuestionKind::Likert { .. } | QuestionKind::Rating { .. }
                )
            })
            .map(|(_, q)| q.id.value.clone())
            .collect();
        let services = definition
            .sections
            .iter()
            .filter_map(|section| {
                let service = section.about.as_ref()?;
                let rated = section
                    .questions
                    .iter()
                    .filter(|q| {
                        matches!(
                            q.kind,
                            QuestionKind::Likert { .. }
                                | QuestionKind::Rating { .. }
                                | QuestionKind::Nps
                        )
                    })
                    .map(|q| q.id.value.clone())
                    .collect();
                Some((service.value.clone(), rated))
            })
            .collect();
        Shape {
            outcome: outcome_question(definition),
            numeric,
            services,
        }
    }

    /// Adds one response's answers (question, ordinal, value) to its class.
    fn add(&self, class: &mut ClassCounts, answers: &[Answer]) {
        class.respondents += 1;
        for (question, ordinal, value) in answers {
            if *ordinal == 0 {
                *class.answered.entry(question.clone()).or_default() += 1;
            }
            if let Some(v) = value {
                *class
                    .values
                    .entry(question.clone())
                    .or_default()
                    .entry(*v)
                    .or_default() += 1;
            }
        }
        for (service, rated) in &self.services {
            if answers.iter().any(|(q, _, _)| rated.contains(q)) {
                *class.services.entry(service.clone()).or_default() += 1;
            }
        }
        let outcome = self.outcome.as_ref().and_then(|o| {
            answers
                .iter()
                .find(|(q, ordinal, _)| q == o && *ordinal == 0)
                .and_then(|(_, _, v)| *v)
        });
        if let Some(y) = outcome {
            for (question, ordinal, value) in answers {
                let (Some(x), true) = (value, *ordinal == 0 && self.numeric.contains(question))
                else {
                    continue;
                };
                let (x, y) = (*x as u64, y as u64);
                let sums = class.pairs.entry(question.clone()).or_default();
                sums.n += 1;
                sums.sx += x;
                sums.sy += y;
                sums.sxx += x * x;
                sums.syy += y * y;
                sums.sxy += x * y;
            }
        }
    }
}

/// One answer of a response: question, ordinal (choices), value.
type Answer = (String, i32, Option<i32>);

/// Responses read per page: each page's answers are one range of the answers' key.
const PAGE: usize = 2_000;

/// Counts a wave's stored responses per class.
pub fn count(conn: &mut Conn, wave_id: i64, definition: &Definition) -> Result<Cube, DbError> {
    let shape = Shape::of(definition);
    let mut rows: Vec<(String, Option<i64>, String)> = crate::with_conn!(*conn, c => responses::table
        .filter(responses::wave_id.eq(wave_id))
        .select((responses::id, responses::department_id, responses::attributes))
        .load(c))?;
    rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut index: HashMap<(Option<i64>, String), usize> = HashMap::new();
    let mut classes: Vec<ClassCounts> = Vec::new();
    let mut class_of: Vec<usize> = Vec::with_capacity(rows.len());
    for (_, department, attributes) in &rows {
        let key = (*department, attributes.clone());
        let at = *index.entry(key).or_insert_with(|| {
            classes.push(ClassCounts {
                department: *department,
                // A response's attributes are a JSON object of strings; anything else
                // keeps no dimension.
                attributes: serde_json::from_str(attributes).unwrap_or_default(),
                ..ClassCounts::default()
            });
            classes.len() - 1
        });
        class_of.push(at);
    }
    for (page, classes_of_page) in rows.chunks(PAGE).zip(class_of.chunks(PAGE)) {
        // Answers are keyed by response id, random across every wave: the page's ids,
        // looked up one by one, read this wave's answers only.
        let ids: Vec<&str> = page.iter().map(|(id, _, _)| id.as_str()).collect();
        let found: Vec<(String, String, i32, Option<i32>)> = crate::with_conn!(*conn, c => answers::table
            .filter(answers::response_id.eq_any(&ids))
            .select((answers::response_id, answers::question_id, answers::ordinal, answers::value))
            .load(c))?;
        let mut by_response: HashMap<&str, Vec<Answer>> = HashMap::with_capacity(page.len());
        for (response, question, ordinal, value) in &found {
            by_response
                .entry(response.as_str())
                .or_default()
                .push((question.clone(), *ordinal, *value));
        }
        for ((id, _, _), &class) in page.iter().zip(classes_of_page) {
            let answers = by_response.remove(id.as_str()).unwrap_or_default();
            shape.add(&mut classes[class], &answers);
        }
    }
    classes.sort_by(|a, b| (a.department, &a.attributes).cmp(&(b.department, &b.attributes)));
    Ok(Cube { classes })
}

/// Counts a closed wave's responses per class and stores the result (once: a later
/// call leaves the stored cube as it is).
pub fn make(conn: &mut Conn, wave_id: i64, definition: &Definition) -> Result<(), ReportError> {
    let cube = count(conn, wave_id, definition)?;
    let content = serde_json::to_string(&cube)
        .map_err(|e| ReportError::Corrupt(format!("a wave's classes could not be written: {e}")))?;
    crate::with_conn!(*conn, c => diesel::insert_into(wave_cubes::table)
        .values((wave_cubes::wave_id.eq(wave_id), wave_cubes::content.eq(&content)))
        .on_conflict_do_nothing()
        .execute(c))
    .map_err(DbError::from)?;
    Ok(())
}

/// The stored classes of a closed wave; `None` before they are made.
pub fn load(conn: &mut Conn, wave_id: i64) -> Result<Option<Cube>, ReportError> {
    let content: Option<String> = crate::with_conn!(*conn, c => wave_cubes::table
        .find(wave_id)
        .select(wave_cubes::content)
        .first(c)
        .optional())
    .map_err(DbError::from)?;
    content
        .map(|text| {
            serde_json::from_str(&text)
                .map_err(|e| ReportError::Corrupt(format!("a wave's classes cannot be read: {e}")))
        })
        .transpose()
}

/// Closed waves whose classes are still to be counted: finished closing (generalised,
/// their answered marks counted) and finally released, but without stored classes.
/// (wave id, definition version.)
pub fn missing(conn: &mut Conn) -> Result<Vec<(i64, i64)>, ReportError> {
    use diesel::dsl::{exists, not};
    Ok(crate::with_conn!(*conn, c => waves::table
        .filter(waves::status.eq("closed"))
        .filter(not(exists(wave_cubes::table.filter(wave_cubes::wave_id.eq(waves::id)))))
        .filter(exists(wave_participation::table.filter(wave_participation::wave_id.eq(waves::id))))
        .filter(exists(
            wave_releases::table
                .filter(wave_releases::wave_id.eq(waves::id))
                .filter(wave_releases::is_final.eq(true)),
        ))
        .select((waves::id, waves::version_id))
        .load(c))
    .map_err(DbError::from)?)
}
