//! Sufficient statistics of a wave, per department (direct members only), counted from
//! the answers: what a release is made from (`reports::release`), and what a filtered
//! view of a closed wave is counted from. Views of a wave never count: they read its
//! releases.

use std::collections::BTreeMap;

use diesel::prelude::*;

use crate::db::schema::{answers, responses};
use crate::db::{BackendKind, Conn, DbError};
use crate::definitions::{Definition, QuestionKind};
use crate::stats::PairSums;

/// Everything a report needs of one wave, per department.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WaveCounts {
    /// Department → respondents.
    pub respondents: BTreeMap<i64, u64>,
    /// (department, question) → value (or option index) → answers.
    pub values: BTreeMap<(i64, String), BTreeMap<i32, u64>>,
    /// (department, question) → respondents who answered it.
    pub answered: BTreeMap<(i64, String), u64>,
    /// (department, service) → respondents who answered any rated question of the
    /// service's section.
    pub service_respondents: BTreeMap<(i64, String), u64>,
    /// (department, question) → sums with the outcome question (drivers).
    pub pairs: BTreeMap<(i64, String), PairSums>,
    /// The outcome the pair sums correlate with.
    pub outcome: Option<String>,
}

/// A roster attribute a view is restricted to (`location=Berlin`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeFilter {
    pub key: String,
    pub value: String,
}

impl AttributeFilter {
    /// Parses `KEY=VALUE`.
    pub fn parse(text: &str) -> Result<AttributeFilter, String> {
        match text.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() && !value.trim().is_empty() => {
                Ok(AttributeFilter {
                    key: key.trim().to_string(),
                    value: value.trim().to_string(),
                })
            }
            _ => Err(format!(
                "the filter {text:?} must be ATTRIBUTE=VALUE, e.g. location=Berlin"
            )),
        }
    }

    /// A LIKE pattern matching the pair inside a response's canonical attributes JSON
    /// (serde_json of a sorted map: `"key":"value"` followed by `,` or `}`).
    fn patterns(&self) -> [String; 2] {
        let json = |s: &str| serde_json::to_string(s).unwrap_or_default();
        let escape = |s: String| {
            s.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        };
        let pair = escape(format!("{}:{}", json(&self.key), json(&self.value)));
        [format!("%{pair},%"), format!("%{pair}}}")]
    }
}

/// The question whose answers the drivers correlate with: the survey's `enps` question.
pub fn outcome_question(definition: &Definition) -> Option<String> {
    definition
        .questions()
        .find(|(_, q)| matches!(q.kind, QuestionKind::Enps))
        .map(|(_, q)| q.id.value.clone())
}

/// At most this many attribute filters at once: the query keeps one shape (unused slots
/// match everything), so it is the same plain SQL on both backends.
pub const MAX_FILTERS: usize = 3;

/// The LIKE patterns of up to [`MAX_FILTERS`] filters, `%` for unused slots.
fn filter_patterns(filters: &[AttributeFilter]) -> [[String; 2]; MAX_FILTERS] {
    let mut patterns: [[String; 2]; MAX_FILTERS] = Default::default();
    for (i, slot) in patterns.iter_mut().enumerate() {
        *slot = filters.get(i).map_or_else(
            || ["%".to_string(), "%".to_string()],
            AttributeFilter::patterns,
        );
    }
    patterns
}

/// The responses of a wave that pass the filters, as a condition on `responses`.
macro_rules! wave_responses {
    ($wave_id:expr, $p:expr) => {
        responses::wave_id
            .eq($wave_id)
            .and(responses::department_id.is_not_null())
            .and(
                responses::attributes
                    .like(&$p[0][0])
                    .escape('\\')
                    .or(responses::attributes.like(&$p[0][1]).escape('\\')),
            )
            .and(
                responses::attributes
                    .like(&$p[1][0])
                    .escape('\\')
                    .or(responses::attributes.like(&$p[1][1]).escape('\\')),
            )
            .and(
                responses::attributes
                    .like(&$p[2][0])
                    .escape('\\')
                    .or(responses::attributes.like(&$p[2][1]).escape('\\')),
            )
    };
}

/// Respondents per department of a wave, counted from its answers (restricted to
/// `filters`, all of which must match).
pub fn respondents(
    conn: &mut Conn,
    wave_id: i64,
    filters: &[AttributeFilter],
) -> Result<BTreeMap<i64, u64>, DbError> {
    let p = filter_patterns(filters);
    let rows: Vec<(Option<i64>, i64)> = crate::with_conn!(*conn, c => responses::table
        .filter(wave_responses!(wave_id, p))
        .group_by(responses::department_id)
        .select((responses::department_id, diesel::dsl::count_star()))
        .load(c))?;
    Ok(rows
        .into_iter()
        .filter_map(|(department, n)| Some((department?, n as u64)))
        .collect())
}

/// Counts a wave from its answers (restricted to `filters`, all of which must match).
pub fn count(
    conn: &mut Conn,
    wave_id: i64,
    definition: &Definition,
    filters: &[AttributeFilter],
) -> Result<WaveCounts, DbError> {
    let mut counts = WaveCounts {
        outcome: outcome_question(definition),
        ..WaveCounts::default()
    };
    counts.respondents = respondents(conn, wave_id, filters)?;
    let p = filter_patterns(filters);
    let values: Vec<(Option<i64>, String, Option<i32>, i64)> = crate::with_conn!(*conn, c => answers::table
        .inner_join(responses::table)
        .filter(wave_responses!(wave_id, p))
        .filter(answers::value.is_not_null())
        .group_by((responses::department_id, answers::question_id, answers::value))
        .select((responses::department_id, answers::question_id, answers::value, diesel::dsl::count_star()))
        .load(c))?;
    for (department, question, value, n) in values {
        if let (Some(d), Some(v)) = (department, value) {
            counts
                .values
                .entry((d, question))
                .or_default()
                .insert(v, n as u64);
        }
    }
    let answered: Vec<(Option<i64>, String, i64)> = crate::with_conn!(*conn, c => answers::table
        .inner_join(responses::table)
        .filter(wave_responses!(wave_id, p))
        // Every answered question has exactly one row of ordinal 0 (choices add more).
        .filter(answers::ordinal.eq(0))
        .group_by((responses::department_id, answers::question_id))
        .select((responses::department_id, answers::question_id, diesel::dsl::count_star()))
        .load(c))?;
    for (department, question, n) in answered {
        if let Some(d) = department {
            counts.answered.insert((d, question), n as u64);
        }
    }
    for section in &definition.sections {
        let Some(service) = &section.about else {
            continue;
        };
        let rated: Vec<String> = section
            .questions
            .iter()
            .filter(|q| {
                matches!(
                    q.kind,
                    QuestionKind::Likert { .. } | QuestionKind::Rating { .. } | QuestionKind::Nps
                )
            })
            .map(|q| q.id.value.clone())
            .collect();
        let rows: Vec<(Option<i64>, i64)> = crate::with_conn!(*conn, c => responses::table
            .filter(wave_responses!(wave_id, p))
            // A correlated EXISTS: an IN list would gather these questions' answers of
            // every wave first (SQLite plans it that way), costing seconds per service.
            .filter(diesel::dsl::exists(
                answers::table
                    .filter(answers::response_id.eq(responses::id))
                    .filter(answers::question_id.eq_any(&rated)),
            ))
            .group_by(responses::department_id)
            .select((responses::department_id, diesel::dsl::count_star()))
            .load(c))?;
        for (department, n) in rows {
            if let Some(d) = department {
                counts
                    .service_respondents
                    .insert((d, service.value.clone()), n as u64);
            }
        }
    }
    if let Some(outcome) = counts.outcome.clone() {
        // A self-join on answers grouped by both values: written as SQL, as diesel's
        // aliases cannot be grouped by.
        let sql = |ph: &dyn Fn(usize) -> String| {
            format!(
                "SELECT r.department_id AS department_id, a.question_id AS question_id, \
                        a.value AS x, o.value AS y, COUNT(*) AS n \
                 FROM answers a \
                 JOIN responses r ON r.id = a.response_id \
                 JOIN answers o ON o.response_id = a.response_id AND o.question_id = {} \
                 WHERE r.wave_id = {} AND r.department_id IS NOT NULL AND a.question_id <> {} \
                   AND a.value IS NOT NULL AND o.value IS NOT NULL \
                   AND (r.attributes LIKE {} ESCAPE '\\' OR r.attributes LIKE {} ESCAPE '\\') \
                   AND (r.attributes LIKE {} ESCAPE '\\' OR r.attributes LIKE {} ESCAPE '\\') \
                   AND (r.attributes LIKE {} ESCAPE '\\' OR r.attributes LIKE {} ESCAPE '\\') \
                 GROUP BY r.department_id, a.question_id, a.value, o.value",
                ph(1),
                ph(2),
                ph(3),
                ph(4),
                ph(5),
                ph(6),
                ph(7),
                ph(8),
                ph(9)
            )
        };
        let sqlite_sql = sql(&|_| "?".to_string());
        let postgres_sql = sql(&|i| format!("${i}"));
        let rows: Vec<PairCountRow> = crate::with_conn!(*conn, c => {
            use diesel::sql_types::{BigInt, Text};
            let text = if matches!(c.backend_kind(), crate::db::Backend::Sqlite) { &sqlite_sql } else { &postgres_sql };
            diesel::sql_query(text.as_str())
                .bind::<Text, _>(&outcome)
                .bind::<BigInt, _>(wave_id)
                .bind::<Text, _>(&outcome)
                .bind::<Text, _>(&p[0][0])
                .bind::<Text, _>(&p[0][1])
                .bind::<Text, _>(&p[1][0])
                .bind::<Text, _>(&p[1][1])
                .bind::<Text, _>(&p[2][0])
                .bind::<Text, _>(&p[2][1])
                .load(c)
        })?;
        let numeric: Vec<&str> = definition
            .questions()
            .filter(|(_, q)| {
                matches!(
                    q.kind,
                    QuestionKind::Likert { .. } | QuestionKind::Rating { .. }
                )
            })
            .map(|(_, q)| q.id.value.as_str())
            .collect();
        for PairCountRow {
            department_id: d,
            question_id: question,
            x,
            y,
            n,
        } in rows
        {
            if !numeric.contains(&question.as_str()) {
                continue;
            }
            let sums = counts.pairs.entry((d, question)).or_default();
            let (x, y, n) = (x as u64, y as u64, n as u64);
            sums.n += n;
            sums.sx += x * n;
            sums.sy += y * n;
            sums.sxx += x * x * n;
            sums.syy += y * y * n;
            sums.sxy += x * y * n;
        }
    }
    Ok(counts)
}

#[derive(QueryableByName)]
struct PairCountRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    department_id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    question_id: String,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    x: i32,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    y: i32,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_and_match_only_the_whole_pair() {
        assert!(AttributeFilter::parse("location").is_err());
        assert!(AttributeFilter::parse("=x").is_err());
        let f = AttributeFilter::parse(" location = Berlin ").unwrap();
        assert_eq!(
            f.patterns(),
            [
                "%\"location\":\"Berlin\",%".to_string(),
                "%\"location\":\"Berlin\"}".to_string()
            ]
        );
        let odd = AttributeFilter::parse("team_size=50%").unwrap();
        assert_eq!(odd.patterns()[1], "%\"team\\_size\":\"50\\%\"}");
    }
}
