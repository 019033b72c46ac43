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

/// The questions of a count by index: the definition's, then any other a stored
/// answer names (a retired question), so answers are tallied without a map per answer.
struct Questions {
    ids: Vec<String>,
    index: HashMap<String, usize>,
    /// Likert and rating questions: the ones the drivers correlate with the outcome.
    numeric: Vec<bool>,
    outcome: Option<usize>,
    /// Service → its rated questions (likert, rating, nps).
    services: Vec<(String, Vec<usize>)>,
}

impl Questions {
    fn of(definition: &Definition) -> Questions {
        let mut questions = Questions {
            ids: Vec::new(),
            index: HashMap::new(),
            numeric: Vec::new(),
            outcome: None,
            services: Vec::new(),
        };
        for (_, q) in definition.questions() {
            let at = questions.slot(&q.id.value);
            // Pair sums feed the drivers: lost_time is none (more time lost is not a
            // better answer, and a driver ranks questions by how high they score).
            questions.numeric[at] = q.higher_is_better();
        }
        questions.outcome = outcome_question(definition).map(|o| questions.slot(&o));
        for section in &definition.sections {
            let Some(service) = section.service_key() else {
                continue;
            };
            let rated = section
                .questions
                .iter()
                // The questions a service's figures are made of (lost_time is not one).
                .filter(|q| q.higher_is_better() || matches!(q.kind, QuestionKind::Nps))
                .map(|q| questions.slot(&q.id.value))
                .collect();
            questions.services.push((service.to_string(), rated));
        }
        questions
    }

    /// The index of a question id, added when new.
    fn slot(&mut self, id: &str) -> usize {
        if let Some(&at) = self.index.get(id) {
            return at;
        }
        self.ids.push(id.to_string());
        self.numeric.push(false);
        self.index.insert(id.to_string(), self.ids.len() - 1);
        self.ids.len() - 1
    }
}

/// One class's tallies by question index, while counting.
#[derive(Default)]
struct Tally {
    respondents: u64,
    values: Vec<BTreeMap<i32, u64>>,
    answered: Vec<u64>,
    services: Vec<u64>,
    pairs: Vec<PairSums>,
}

/// One answer of a response: question index, ordinal (choices), value.
type Answer = (usize, i32, Option<i32>);

impl Tally {
    /// Adds one response's answers.
    fn add(&mut self, questions: &Questions, answers: &[Answer]) {
        let n = questions.ids.len();
        if self.answered.len() < n {
            self.values.resize_with(n, BTreeMap::new);
            self.answered.resize(n, 0);
            self.pairs.resize(n, PairSums::default());
        }
        if self.services.len() < questions.services.len() {
            self.services.resize(questions.services.len(), 0);
        }
        self.respondents += 1;
        for &(q, ordinal, value) in answers {
            if ordinal == 0 {
                self.answered[q] += 1;
            }
            if let Some(v) = value {
                *self.values[q].entry(v).or_default() += 1;
            }
        }
        for (s, (_, rated)) in questions.services.iter().enumerate() {
            if answers.iter().any(|(q, _, _)| rated.contains(q)) {
                self.services[s] += 1;
            }
        }
        let outcome = questions.outcome.and_then(|o| {
            answers
                .iter()
                .find(|(q, ordinal, _)| *q == o && *ordinal == 0)
                .and_then(|(_, _, v)| *v)
        });
        if let Some(y) = outcome {
            for &(q, ordinal, value) in answers {
                let (Some(x), true) = (value, ordinal == 0 && questions.numeric[q]) else {
                    continue;
                };
                let (x, y) = (x as u64, y as u64);
                let sums = &mut self.pairs[q];
                sums.n += 1;
                sums.sx += x;
                sums.sy += y;
                sums.sxx += x * x;
                sums.syy += y * y;
                sums.sxy += x * y;
            }
        }
    }

    /// The tallies keyed by question id, as stored.
    fn into_class(self, questions: &Questions, class: &mut ClassCounts) {
        class.respondents = self.respondents;
        for (q, values) in self.values.into_iter().enumerate() {
            if !values.is_empty() {
                class.values.insert(questions.ids[q].clone(), values);
            }
        }
        for (q, n) in self.answered.into_iter().enumerate() {
            if n > 0 {
                class.answered.insert(questions.ids[q].clone(), n);
            }
        }
        for (s, n) in self.services.into_iter().enumerate() {
            if n > 0 {
                class.services.insert(questions.services[s].0.clone(), n);
            }
        }
        for (q, sums) in self.pairs.into_iter().enumerate() {
            if sums.n > 0 {
                class.pairs.insert(questions.ids[q].clone(), sums);
            }
        }
    }
}

/// Responses read per page: each page's answers are looked up by their response ids.
const PAGE: usize = 2_000;

/// Counts a wave's stored responses per class.
pub fn count(conn: &mut Conn, wave_id: i64, definition: &Definition) -> Result<Cube, DbError> {
    let took = &crate::metrics::global().count_duration;
    crate::metrics::timed(took, || count_classes(conn, wave_id, definition))
}

fn count_classes(conn: &mut Conn, wave_id: i64, definition: &Definition) -> Result<Cube, DbError> {
    // The page lookups below need the planner to know `answers` (see `db::planner`).
    crate::db::planner::refresh_if_stale(conn)?;
    let mut questions = Questions::of(definition);
    let rows: Vec<(String, Option<i64>, String)> = crate::with_conn!(*conn, c => responses::table
        .filter(responses::wave_id.eq(wave_id))
        .select((responses::id, responses::department_id, responses::attributes))
        .load(c))?;
    let mut index: HashMap<(Option<i64>, &str), usize> = HashMap::new();
    let mut classes: Vec<ClassCounts> = Vec::new();
    let mut class_of: Vec<usize> = Vec::with_capacity(rows.len());
    for (_, department, attributes) in &rows {
        let at = *index
            .entry((*department, attributes.as_str()))
            .or_insert_with(|| {
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
    let mut tallies: Vec<Tally> = (0..classes.len()).map(|_| Tally::default()).collect();
    let pages: Vec<Vec<&str>> = rows
        .chunks(PAGE)
        .map(|page| page.iter().map(|(id, _, _)| id.as_str()).collect())
        .collect();
    let mut tally_page = |found: Vec<AnswerRow>, ids: &[&str], classes_of_page: &[usize]| {
        let position: HashMap<&str, usize> =
            ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        let mut answers: Vec<Vec<Answer>> = vec![Vec::new(); ids.len()];
        for (response, question, ordinal, value) in &found {
            if let Some(&at) = position.get(response.as_str()) {
                let q = questions.slot(question);
                answers[at].push((q, *ordinal, *value));
            }
        }
        for (response, &class) in answers.iter().zip(classes_of_page) {
            tallies[class].add(&questions, response);
        }
    };
    // One page is read on the count's own connection.
    let helper = if pages.len() > 1 {
        second_reader(conn)?
    } else {
        None
    };
    match helper {
        None => {
            for (ids, classes_of_page) in pages.iter().zip(class_of.chunks(PAGE)) {
                let found = page_answers(conn, ids)?;
                tally_page(found, ids, classes_of_page);
            }
        }
        Some(mut helper) => {
            // PostgreSQL: every other page is read on a second connection (in the same
            // snapshot), so the server looks up two pages at once; tallying stays here,
            // in page order.
            std::thread::scope(|scope| -> Result<(), DbError> {
                let (send, receive) = std::sync::mpsc::sync_channel(1);
                let odd: Vec<&Vec<&str>> = pages.iter().skip(1).step_by(2).collect();
                scope.spawn(move || {
                    for ids in odd {
                        let found = helper.read(ids);
                        let failed = found.is_err();
                        if send.send(found).is_err() || failed {
                            break;
                        }
                    }
                    helper.finish();
                });
                for (i, (ids, classes_of_page)) in
                    pages.iter().zip(class_of.chunks(PAGE)).enumerate()
                {
                    let found = if i % 2 == 1 {
                        // Its thread ends only after sending an error or every page.
                        receive.recv().map_err(|_| DbError::TaskFailed)??
                    } else {
                        page_answers(conn, ids)?
                    };
                    tally_page(found, ids, classes_of_page);
                }
                Ok(())
            })?;
        }
    }
    for (tally, class) in tallies.into_iter().zip(classes.iter_mut()) {
        tally.into_class(&questions, class);
    }
    classes.sort_by(|a, b| (a.department, &a.attributes).cmp(&(b.department, &b.attributes)));
    Ok(Cube { classes })
}

/// One answer row: response id, question id, ordinal, value.
type AnswerRow = (String, String, i32, Option<i32>);

/// The answers of one page of response ids. Answers are keyed by response id, random
/// across every wave: the page's ids, looked up one by one, read this wave's answers only.
fn page_answers(conn: &mut Conn, ids: &[&str]) -> Result<Vec<AnswerRow>, DbError> {
    Ok(crate::with_conn!(*conn, c => answers::table
        .filter(answers::response_id.eq_any(ids))
        .select((answers::response_id, answers::question_id, answers::ordinal, answers::value))
        .load(c))?)
}

/// A second PostgreSQL connection reading pages for a count, in the snapshot of the
/// count's own transaction when it runs in one (a release's REPEATABLE READ).
#[cfg(feature = "postgres")]
struct SecondReader {
    conn: Conn,
    in_transaction: bool,
}

#[cfg(feature = "postgres")]
impl SecondReader {
    fn read(&mut self, ids: &[&str]) -> Result<Vec<AnswerRow>, DbError> {
        page_answers(&mut self.conn, ids)
    }

    fn finish(mut self) {
        if self.in_transaction {
            if let Conn::Postgres(pg) = &mut self.conn {
                let _ = diesel::connection::SimpleConnection::batch_execute(&mut **pg, "COMMIT");
            }
        }
    }
}

#[cfg(not(feature = "postgres"))]
struct SecondReader;

#[cfg(not(feature = "postgres"))]
impl SecondReader {
    fn read(&mut self, _ids: &[&str]) -> Result<Vec<AnswerRow>, DbError> {
        Ok(Vec::new())
    }
    fn finish(self) {}
}

/// On PostgreSQL, a second connection for reading pages; `None` on SQLite (one reader
/// file, nothing to gain), when the pool has none to spare, or for a small wave.
#[cfg(feature = "postgres")]
fn second_reader(conn: &mut Conn) -> Result<Option<SecondReader>, DbError> {
    use diesel::connection::{SimpleConnection, TransactionManager};
    use diesel::sql_types::Text;
    #[derive(QueryableByName)]
    struct Snapshot {
        #[diesel(sql_type = Text)]
        id: String,
    }
    let Conn::Postgres(pg) = conn else {
        return Ok(None);
    };
    let Some(mut sibling) = pg.sibling() else {
        return Ok(None);
    };
    let depth =
        diesel::connection::AnsiTransactionManager::transaction_manager_status_mut(&mut **pg)
            .transaction_depth()
            .ok()
            .flatten();
    let in_transaction = depth.is_some();
    if in_transaction {
        let snapshot: Snapshot =
            diesel::sql_query("SELECT pg_export_snapshot() AS id").get_result(&mut **pg)?;
        // The id comes from PostgreSQL itself (hex digits and dashes), never from input.
        sibling.batch_execute(&format!(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '{}'",
            snapshot.id.replace('\'', "")
        ))?;
    }
    Ok(Some(SecondReader {
        conn: Conn::Postgres(sibling),
        in_transaction,
    }))
}

#[cfg(not(feature = "postgres"))]
fn second_reader(_conn: &mut Conn) -> Result<Option<SecondReader>, DbError> {
    Ok(None)
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
