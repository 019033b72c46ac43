//! Sufficient statistics of a wave, per department (direct members only): counted from
//! the answers once, stored, and read back by every report. Filtered views (roster
//! attributes) are counted the same way on the fly.

use std::collections::BTreeMap;

use diesel::prelude::*;

use crate::db::schema::{answers, responses, wave_pair_sums, wave_value_counts, waves};
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
    let p = filter_patterns(filters);
    let respondents: Vec<(Option<i64>, i64)> = crate::with_conn!(*conn, c => responses::table
        .filter(wave_responses!(wave_id, p))
        .group_by(responses::department_id)
        .select((responses::department_id, diesel::dsl::count_star()))
        .load(c))?;
    for (department, n) in respondents {
        if let Some(d) = department {
            counts.respondents.insert(d, n as u64);
        }
    }
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

type ValueRow = (i64, String, i32, i64);
type StoredPairRow = (i64, String, String, i64, i64, i64, i64, i64, i64);
type PairRow = (i64, String, i64, i64, i64, i64, i64, i64);

/// Recounts a wave and stores the result in place of the old one.
pub fn refresh(
    conn: &mut Conn,
    wave_id: i64,
    definition: &Definition,
) -> Result<WaveCounts, DbError> {
    let counts = count(conn, wave_id, definition, &[])?;
    let mut rows: Vec<ValueRow> = Vec::new();
    for (department, n) in &counts.respondents {
        rows.push((*department, "respondents".into(), 0, *n as i64));
    }
    for ((department, question), values) in &counts.values {
        for (value, n) in values {
            rows.push((*department, format!("q:{question}"), *value, *n as i64));
        }
    }
    for ((department, question), n) in &counts.answered {
        rows.push((*department, format!("a:{question}"), 0, *n as i64));
    }
    for ((department, service), n) in &counts.service_respondents {
        rows.push((*department, format!("s:{service}"), 0, *n as i64));
    }
    let outcome = counts.outcome.clone().unwrap_or_default();
    let pairs: Vec<PairRow> = counts
        .pairs
        .iter()
        .map(|((d, q), s)| {
            (
                *d,
                q.clone(),
                s.n as i64,
                s.sx as i64,
                s.sy as i64,
                s.sxx as i64,
                s.syy as i64,
                s.sxy as i64,
            )
        })
        .collect();
    let now = crate::db::now();
    conn.transaction(|conn| {
        crate::with_conn!(*conn, c => {
            diesel::delete(wave_value_counts::table.filter(wave_value_counts::wave_id.eq(wave_id))).execute(c)?;
            diesel::delete(wave_pair_sums::table.filter(wave_pair_sums::wave_id.eq(wave_id))).execute(c)?;
            for chunk in rows.chunks(2000) {
                let values: Vec<_> = chunk
                    .iter()
                    .map(|(d, item, value, n)| (
                        wave_value_counts::wave_id.eq(wave_id),
                        wave_value_counts::department_id.eq(*d),
                        wave_value_counts::item.eq(item),
                        wave_value_counts::value.eq(*value),
                        wave_value_counts::count.eq(*n),
                    ))
                    .collect();
                diesel::insert_into(wave_value_counts::table).values(&values).execute(c)?;
            }
            for chunk in pairs.chunks(1000) {
                let values: Vec<_> = chunk
                    .iter()
                    .map(|(d, q, n, sx, sy, sxx, syy, sxy)| (
                        wave_pair_sums::wave_id.eq(wave_id),
                        wave_pair_sums::department_id.eq(*d),
                        wave_pair_sums::question_id.eq(q),
                        wave_pair_sums::outcome_id.eq(&outcome),
                        wave_pair_sums::n.eq(*n),
                        wave_pair_sums::sx.eq(*sx),
                        wave_pair_sums::sy.eq(*sy),
                        wave_pair_sums::sxx.eq(*sxx),
                        wave_pair_sums::syy.eq(*syy),
                        wave_pair_sums::sxy.eq(*sxy),
                    ))
                    .collect();
                diesel::insert_into(wave_pair_sums::table).values(&values).execute(c)?;
            }
            diesel::update(waves::table.find(wave_id))
                .set((waves::counts_stale.eq(false), waves::counts_at.eq(Some(now))))
                .execute(c)?;
            Ok::<(), diesel::result::Error>(())
        })?;
        Ok::<(), DbError>(())
    })?;
    Ok(counts)
}

/// The stored counts of a wave.
pub fn load(conn: &mut Conn, wave_id: i64) -> Result<WaveCounts, DbError> {
    let rows: Vec<ValueRow> = crate::with_conn!(*conn, c => wave_value_counts::table
        .filter(wave_value_counts::wave_id.eq(wave_id))
        .select((
            wave_value_counts::department_id,
            wave_value_counts::item,
            wave_value_counts::value,
            wave_value_counts::count,
        ))
        .load(c))?;
    let mut counts = WaveCounts::default();
    for (department, item, value, n) in rows {
        let n = n as u64;
        if item == "respondents" {
            counts.respondents.insert(department, n);
        } else if let Some(question) = item.strip_prefix("q:") {
            counts
                .values
                .entry((department, question.to_string()))
                .or_default()
                .insert(value, n);
        } else if let Some(question) = item.strip_prefix("a:") {
            counts
                .answered
                .insert((department, question.to_string()), n);
        } else if let Some(service) = item.strip_prefix("s:") {
            counts
                .service_respondents
                .insert((department, service.to_string()), n);
        }
    }
    let pairs: Vec<StoredPairRow> = crate::with_conn!(*conn, c => wave_pair_sums::table
        .filter(wave_pair_sums::wave_id.eq(wave_id))
        .select((
            wave_pair_sums::department_id,
            wave_pair_sums::question_id,
            wave_pair_sums::outcome_id,
            wave_pair_sums::n,
            wave_pair_sums::sx,
            wave_pair_sums::sy,
            wave_pair_sums::sxx,
            wave_pair_sums::syy,
            wave_pair_sums::sxy,
        ))
        .load(c))?;
    for (department, question, outcome, n, sx, sy, sxx, syy, sxy) in pairs {
        counts.outcome = Some(outcome);
        counts.pairs.insert(
            (department, question),
            PairSums {
                n: n as u64,
                sx: sx as u64,
                sy: sy as u64,
                sxx: sxx as u64,
                syy: syy as u64,
                sxy: sxy as u64,
            },
        );
    }
    Ok(counts)
}

/// The counts of a wave as they stand: recounted first when answers arrived since.
pub fn current(
    conn: &mut Conn,
    wave_id: i64,
    definition: &Definition,
) -> Result<WaveCounts, DbError> {
    let stale: bool = crate::with_conn!(*conn, c => waves::table.find(wave_id).select(waves::counts_stale).first(c))?;
    if stale {
        refresh(conn, wave_id, definition)
    } else {
        let mut counts = load(conn, wave_id)?;
        counts.outcome = outcome_question(definition);
        Ok(counts)
    }
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
