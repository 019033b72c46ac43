//! Sufficient statistics of a wave, per department (direct members only): counted from
//! the answers once, stored, and read back by every report. Filtered views (roster
//! attributes) are counted the same way on the fly.
//!
//! When counting happens: sealing, which moves submitted responses from the inbox into
//! the response tables (`responses::inbox`), marks their wave `counts_stale`; the scheduler tick
//! of `icsat serve` recounts stale waves in the background ([`recount_due`]), and reports
//! read the last stored counts, saying how fresh they are ([`Freshness`]). A report
//! counts first only where stored counts would mislead: a wave never counted (no empty
//! report) and a closed wave with answers not counted yet (its report is final). Closing
//! and importing a wave count it too.
//!
//! One process counts a wave at a time: it takes the `leases` row `counts:<wave id>`
//! (a free one, or one whose holder ran out of time, presumably dead) and clears
//! `counts_stale` in the same transaction, so responses sealed while it counts mark the
//! wave stale again; it stores the result only if it still holds the lease, and hands the
//! lease back. A count that fails marks the wave stale again; one whose process dies leaves
//! an expired lease, which the next tick takes over.

use std::collections::BTreeMap;

use diesel::prelude::*;

use chrono::NaiveDateTime;

use crate::db::schema::{answers, leases, responses, wave_pair_sums, wave_value_counts, waves};
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

type ValueRow = (i64, String, i32, i64);
type PairRow = (i64, String, i64, i64, i64, i64, i64, i64);

/// How current the counts behind a report are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Freshness {
    /// When the answers counted were read (UTC); `None` only for a wave never counted.
    pub counts_at: Option<NaiveDateTime>,
    /// Answers arrived after `counts_at`: the figures leave them out until the next
    /// recount (`icsat serve` recounts in the background).
    pub stale: bool,
    /// The wave is closed and every answer is counted: the figures are final.
    pub complete: bool,
}

/// How long a process may take to count a wave before another may take the work over
/// (the first one is presumed dead; if it was only slow, its result is dropped).
const LEASE: chrono::TimeDelta = chrono::TimeDelta::minutes(15);

/// The `leases` row of the counting of a wave.
fn lease_name(wave_id: i64) -> String {
    format!("counts:{wave_id}")
}

/// This process, as the holder of the leases it takes.
fn holder() -> &'static str {
    static HOLDER: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HOLDER.get_or_init(|| {
        format!(
            "{}-{}",
            std::process::id(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        )
    })
}

/// The counting of one wave, taken by this process.
#[derive(Debug, Clone, Copy)]
struct Claim {
    /// When counting began: the `counts_at` of the result.
    started: NaiveDateTime,
    /// An earlier holder ran out of time, probably dying while counting.
    taken_over: bool,
    was_stale: bool,
    counted_before: bool,
}

/// Takes the counting of a wave: a free lease, or one whose holder ran out of time.
/// `None` while another process (or thread) counts it. Clears `counts_stale` in the same
/// transaction, so responses sealed while counting mark the wave stale again.
fn claim(conn: &mut Conn, wave_id: i64) -> Result<Option<Claim>, DbError> {
    let now = crate::db::now();
    let (name, until) = (lease_name(wave_id), now + LEASE);
    conn.transaction(|conn| {
        // Writes first: SQLite's write lock is taken at BEGIN IMMEDIATE, PostgreSQL's
        // row lock by the statement, so a claim and a store never interleave.
        let inserted = crate::with_conn!(*conn, c => diesel::insert_into(leases::table)
            .values((
                leases::name.eq(&name),
                leases::holder.eq(holder()),
                leases::expires_at.eq(until),
            ))
            .on_conflict_do_nothing()
            .execute(c))?;
        let taken_over = inserted == 0;
        if taken_over {
            let updated = crate::with_conn!(*conn, c => diesel::update(
                leases::table.filter(leases::name.eq(&name)).filter(leases::expires_at.lt(now)),
            )
            .set((leases::holder.eq(holder()), leases::expires_at.eq(until)))
            .execute(c))?;
            if updated == 0 {
                return Ok(None);
            }
        }
        let state: Option<(bool, Option<NaiveDateTime>)> = crate::with_conn!(*conn, c => waves::table
            .find(wave_id)
            .select((waves::counts_stale, waves::counts_at))
            .first(c)
            .optional())?;
        let Some((was_stale, counts_at)) = state else {
            // No such wave: nothing to count, nothing to hold.
            crate::with_conn!(*conn, c => diesel::delete(leases::table.filter(leases::name.eq(&name))).execute(c))?;
            return Ok(None);
        };
        if was_stale {
            // Sealing marks the wave stale only when it is not marked yet (every writer
            // of responses writing the one wave row would line them all up behind each
            // other's commits). So on PostgreSQL the flag is cleared only once no seal
            // is midway: SHARE waits for those inserting responses to commit (they are
            // in the count that follows) and holds new ones until this commits (they
            // see the flag cleared and set it again). SQLite has one writer anyway.
            if let Conn::Postgres(c) = conn {
                diesel::sql_query("LOCK TABLE responses IN SHARE MODE").execute(&mut **c)?;
            }
            crate::with_conn!(*conn, c => diesel::update(waves::table.find(wave_id))
                .set(waves::counts_stale.eq(false))
                .execute(c))?;
        }
        Ok(Some(Claim {
            started: now,
            taken_over,
            was_stale,
            counted_before: counts_at.is_some(),
        }))
    })
}

/// Hands back the counting of a wave unfinished: it stays (or becomes again) stale, so
/// the next scheduler tick counts it.
fn give_up(conn: &mut Conn, wave_id: i64) -> Result<(), DbError> {
    let name = lease_name(wave_id);
    conn.transaction(|conn| {
        crate::with_conn!(*conn, c => {
            diesel::delete(leases::table.filter(leases::name.eq(&name)).filter(leases::holder.eq(holder()))).execute(c)?;
            diesel::update(waves::table.find(wave_id)).set(waves::counts_stale.eq(true)).execute(c)
        })?;
        Ok(())
    })
}

/// Stores the counts of a wave in place of the old ones, if this process still holds its
/// lease; `false` when the lease ran out and another process took the counting over.
fn store(
    conn: &mut Conn,
    wave_id: i64,
    counts: &WaveCounts,
    started: NaiveDateTime,
) -> Result<bool, DbError> {
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
    let name = lease_name(wave_id);
    let now = crate::db::now();
    conn.transaction(|conn| {
        // Still ours? Also locks the lease row against a takeover until commit.
        let held = crate::with_conn!(*conn, c => diesel::update(leases::table.filter(leases::name.eq(&name)).filter(leases::holder.eq(holder())))
            .set(leases::expires_at.eq(now + LEASE))
            .execute(c))?;
        if held == 0 {
            return Ok(false);
        }
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
            // counts_stale is left as it is: set again if answers came in meanwhile.
            diesel::update(waves::table.find(wave_id))
                .set(waves::counts_at.eq(Some(started)))
                .execute(c)?;
            diesel::delete(leases::table.filter(leases::name.eq(&name))).execute(c)?;
            Ok::<(), diesel::result::Error>(())
        })?;
        Ok(true)
    })
}

/// Counts a wave under its claim and stores the result; `false` beside the counts when
/// the lease ran out meanwhile and another process took the counting over (its result
/// is the one stored). On failure the lease is handed back and the wave left stale.
fn count_and_store(
    conn: &mut Conn,
    wave_id: i64,
    definition: &Definition,
    claim: Claim,
) -> Result<(WaveCounts, bool), DbError> {
    let counted = count(conn, wave_id, definition, &[])
        .and_then(|counts| Ok((store(conn, wave_id, &counts, claim.started)?, counts)));
    match counted {
        Ok((stored, counts)) => Ok((counts, stored)),
        Err(e) => {
            if let Err(again) = give_up(conn, wave_id) {
                tracing::warn!(error = %again, wave_id, "could not hand back the counting of a wave; it is taken over when its lease ends");
            }
            Err(e)
        }
    }
}

/// Recounts a wave now and stores the result in place of the old one. When another
/// process is counting the same wave at this moment, the answers are counted all the
/// same but only that process stores its result.
pub fn refresh(
    conn: &mut Conn,
    wave_id: i64,
    definition: &Definition,
) -> Result<WaveCounts, DbError> {
    Ok(refresh_dated(conn, wave_id, definition)?.0)
}

/// [`refresh`], also giving when the answers were read.
fn refresh_dated(
    conn: &mut Conn,
    wave_id: i64,
    definition: &Definition,
) -> Result<(WaveCounts, NaiveDateTime), DbError> {
    match claim(conn, wave_id)? {
        Some(claim) => {
            let (counts, _) = count_and_store(conn, wave_id, definition, claim)?;
            Ok((counts, claim.started))
        }
        None => {
            let started = crate::db::now();
            Ok((count(conn, wave_id, definition, &[])?, started))
        }
    }
}

/// The item of a `wave_value_counts` row, without its prefix and reusing its allocation.
fn strip_item(mut item: String) -> String {
    item.replace_range(..2, "");
    item
}

/// Adds rows of `wave_value_counts` (wave, department, item, value, count), in any
/// order, to the counts of their waves.
fn add_value_rows(
    counts: &mut BTreeMap<i64, WaveCounts>,
    rows: impl IntoIterator<Item = (i64, i64, String, i32, i64)>,
) {
    type Pairs<T> = Vec<((i64, String), T)>;
    #[derive(Default)]
    struct Parts {
        respondents: Vec<(i64, u64)>,
        values: Pairs<(i32, u64)>,
        answered: Pairs<u64>,
        services: Pairs<u64>,
    }
    // Each map is built at once from its pairs, sorted (a bulk build, not a search per
    // row); rows usually come in key order already, which the sorts only check.
    let mut parts: BTreeMap<i64, Parts> = BTreeMap::new();
    for (wave_id, department, item, value, n) in rows {
        let p = parts.entry(wave_id).or_default();
        let n = n as u64;
        match item.as_bytes().get(..2) {
            Some(b"q:") => p.values.push(((department, strip_item(item)), (value, n))),
            Some(b"a:") => p.answered.push(((department, strip_item(item)), n)),
            Some(b"s:") => p.services.push(((department, strip_item(item)), n)),
            _ if item == "respondents" => p.respondents.push((department, n)),
            _ => {}
        }
    }
    for (wave_id, mut p) in parts {
        // The values of one question, adjacent once sorted, make one map.
        p.values.sort_by(|a, b| a.0.cmp(&b.0));
        let mut values: Pairs<BTreeMap<i32, u64>> = Vec::new();
        for (key, (value, n)) in p.values {
            match values.last_mut() {
                Some((last, tally)) if *last == key => {
                    tally.insert(value, n);
                }
                _ => values.push((key, BTreeMap::from([(value, n)]))),
            }
        }
        let counts = counts.entry(wave_id).or_default();
        counts.respondents = p.respondents.into_iter().collect();
        counts.values = values.into_iter().collect();
        counts.answered = p.answered.into_iter().collect();
        counts.service_respondents = p.services.into_iter().collect();
    }
}

/// The stored counts of several waves, read with one query per table.
pub fn load_many(conn: &mut Conn, wave_ids: &[i64]) -> Result<BTreeMap<i64, WaveCounts>, DbError> {
    let mut counts: BTreeMap<i64, WaveCounts> = wave_ids
        .iter()
        .map(|id| (*id, WaveCounts::default()))
        .collect();
    if wave_ids.is_empty() {
        return Ok(counts);
    }
    let rows: Vec<(i64, i64, String, i32, i64)> = crate::with_conn!(*conn, c => wave_value_counts::table
        .filter(wave_value_counts::wave_id.eq_any(wave_ids))
        .select((
            wave_value_counts::wave_id,
            wave_value_counts::department_id,
            wave_value_counts::item,
            wave_value_counts::value,
            wave_value_counts::count,
        ))
        .load(c))?;
    add_value_rows(&mut counts, rows);
    type StoredPair = (i64, i64, String, i64, i64, i64, i64, i64, i64);
    let pairs: Vec<StoredPair> = crate::with_conn!(*conn, c => wave_pair_sums::table
        .filter(wave_pair_sums::wave_id.eq_any(wave_ids))
        .select((
            wave_pair_sums::wave_id,
            wave_pair_sums::department_id,
            wave_pair_sums::question_id,
            wave_pair_sums::n,
            wave_pair_sums::sx,
            wave_pair_sums::sy,
            wave_pair_sums::sxx,
            wave_pair_sums::syy,
            wave_pair_sums::sxy,
        ))
        .load(c))?;
    type Pairs = Vec<((i64, String), PairSums)>;
    let mut by_wave: BTreeMap<i64, Pairs> = BTreeMap::new();
    for (wave_id, department, question, n, sx, sy, sxx, syy, sxy) in pairs {
        by_wave.entry(wave_id).or_default().push((
            (department, question),
            PairSums {
                n: n as u64,
                sx: sx as u64,
                sy: sy as u64,
                sxx: sxx as u64,
                syy: syy as u64,
                sxy: sxy as u64,
            },
        ));
    }
    for (wave_id, pairs) in by_wave {
        counts.entry(wave_id).or_default().pairs = pairs.into_iter().collect();
    }
    Ok(counts)
}

/// The stored counts of a wave. `outcome` is left `None`: it is the definition's
/// (see [`outcome_question`]).
pub fn load(conn: &mut Conn, wave_id: i64) -> Result<WaveCounts, DbError> {
    Ok(load_many(conn, &[wave_id])?
        .remove(&wave_id)
        .unwrap_or_default())
}

/// Whether a report of `wave` may use its stored counts: it was counted at least once
/// (no empty report of a wave never counted), and a closed wave has every answer counted
/// (its report is final).
pub fn stored_will_do(wave: &crate::waves::Wave) -> bool {
    wave.counts_at.is_some() && !(wave.counts_stale && wave.status == "closed")
}

/// The counts of waves for a report, with how fresh they are: the stored counts, read
/// with one query per table, except for waves [`stored_will_do`] refuses, which are
/// counted first. Answers submitted since the last count of an open wave are left to the
/// background recount of `icsat serve` (see [`recount_due`]).
pub fn for_report(
    conn: &mut Conn,
    waves: &[&crate::waves::Wave],
    definitions: &[&Definition],
) -> Result<Vec<(WaveCounts, Freshness)>, DbError> {
    let stored_ids: Vec<i64> = waves
        .iter()
        .filter(|w| stored_will_do(w))
        .map(|w| w.id)
        .collect();
    let mut stored = load_many(conn, &stored_ids)?;
    let mut out = Vec::with_capacity(waves.len());
    for (wave, definition) in waves.iter().zip(definitions) {
        let complete = wave.status == "closed";
        let (mut counts, freshness) = match stored.remove(&wave.id) {
            Some(counts) if stored_will_do(wave) => (
                counts,
                Freshness {
                    counts_at: wave.counts_at,
                    stale: wave.counts_stale,
                    complete: complete && !wave.counts_stale,
                },
            ),
            _ => {
                let (counts, counts_at) = refresh_dated(conn, wave.id, definition)?;
                (
                    counts,
                    Freshness {
                        counts_at: Some(counts_at),
                        stale: false,
                        complete,
                    },
                )
            }
        };
        counts.outcome = outcome_question(definition);
        out.push((counts, freshness));
    }
    Ok(out)
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

/// Counts one wave for [`recount_due`]; `false` when another process is counting it or
/// has just done so.
fn recount(conn: &mut Conn, wave: &crate::waves::Wave) -> Result<bool, super::ReportError> {
    let Some(claim) = claim(conn, wave.id)? else {
        return Ok(false);
    };
    if !claim.was_stale && !claim.taken_over && claim.counted_before {
        // Another process counted it in the meantime.
        let name = lease_name(wave.id);
        crate::with_conn!(*conn, c => diesel::delete(leases::table.filter(leases::name.eq(&name)).filter(leases::holder.eq(holder()))).execute(c))
            .map_err(DbError::from)?;
        return Ok(false);
    }
    let definition = match super::wave_definition(conn, wave.version_id) {
        Ok(definition) => definition,
        Err(e) => {
            give_up(conn, wave.id)?;
            return Err(e);
        }
    };
    Ok(count_and_store(conn, wave.id, &definition, claim)?.1)
}

/// An open wave's stored counts are recounted at most this often (counting a wave of
/// 100,000 respondents takes most of a minute); a wave never counted, or closed, at once.
pub const RECOUNT_OPEN_EVERY: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

/// Recounts at most one wave whose stored counts are out of date, as the background
/// work of `icsat serve`: waves never counted first, then closed ones, then the longest
/// uncounted; an open wave only when its counts are older than `open_every`. A counting
/// lease left by a process that died is taken over. Several processes may call this at
/// once: each wave is counted by one of them. Returns the wave counted.
pub fn recount_due(
    conn: &mut Conn,
    open_every: chrono::TimeDelta,
) -> Result<Option<crate::waves::Wave>, super::ReportError> {
    let now = crate::db::now();
    let stale: Vec<crate::waves::Wave> = crate::with_conn!(*conn, c => waves::table
        .filter(waves::counts_stale.eq(true))
        .select(crate::waves::Wave::as_select())
        .load(c))
    .map_err(DbError::from)?;
    let abandoned: Vec<String> = crate::with_conn!(*conn, c => leases::table
        .filter(leases::name.like("counts:%"))
        .filter(leases::expires_at.lt(now))
        .select(leases::name)
        .load(c))
    .map_err(DbError::from)?;
    let abandoned: Vec<i64> = abandoned
        .iter()
        .filter_map(|name| name.strip_prefix("counts:")?.parse().ok())
        .filter(|id| !stale.iter().any(|w| w.id == *id))
        .collect();
    let mut due: Vec<crate::waves::Wave> = stale
        .into_iter()
        .filter(|w| w.status != "open" || w.counts_at.is_none_or(|at| at + open_every <= now))
        .collect();
    if !abandoned.is_empty() {
        let more: Vec<crate::waves::Wave> = crate::with_conn!(*conn, c => waves::table
            .filter(waves::id.eq_any(&abandoned))
            .select(crate::waves::Wave::as_select())
            .load(c))
        .map_err(DbError::from)?;
        due.extend(more);
    }
    due.sort_by_key(|w| (w.counts_at.is_some(), w.status == "open", w.counts_at, w.id));
    for wave in due {
        match recount(conn, &wave) {
            Ok(true) => return Ok(Some(wave)),
            Ok(false) => {}
            // The next wave is tried; this one, still stale, at the next tick.
            Err(e) => {
                tracing::error!(error = %e, wave = %wave.label, wave_id = wave.id, "counting the answers of a wave failed")
            }
        }
    }
    Ok(None)
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

    #[test]
    fn stored_rows_of_several_waves_come_back_as_counted() {
        let row =
            |w: i64, d: i64, item: &str, value: i32, n: i64| (w, d, item.to_string(), value, n);
        let rows = vec![
            row(1, 10, "q:q1", 4, 2),
            row(1, 10, "a:q1", 0, 3),
            row(1, 10, "q:q1", 1, 1),
            row(1, 10, "q:q2", 5, 3),
            row(1, 10, "respondents", 0, 3),
            row(1, 10, "s:IT", 0, 2),
            row(1, 11, "q:q1", 2, 7),
            row(2, 10, "q:q1", 3, 9),
            row(1, 11, "respondents", 0, 7),
            row(2, 10, "x:future", 0, 1),
        ];
        let mut counts = BTreeMap::from([(3, WaveCounts::default())]);
        add_value_rows(&mut counts, rows);
        let one = &counts[&1];
        assert_eq!(one.respondents, BTreeMap::from([(10, 3), (11, 7)]));
        assert_eq!(
            one.values,
            BTreeMap::from([
                ((10, "q1".to_string()), BTreeMap::from([(1, 1), (4, 2)])),
                ((10, "q2".to_string()), BTreeMap::from([(5, 3)])),
                ((11, "q1".to_string()), BTreeMap::from([(2, 7)])),
            ])
        );
        assert_eq!(one.answered, BTreeMap::from([((10, "q1".to_string()), 3)]));
        assert_eq!(
            one.service_respondents,
            BTreeMap::from([((10, "IT".to_string()), 2)])
        );
        let two = &counts[&2];
        assert!(two.respondents.is_empty());
        assert_eq!(
            two.values,
            BTreeMap::from([((10, "q1".to_string()), BTreeMap::from([(3, 9)]))])
        );
        assert_eq!(counts[&3], WaveCounts::default());
    }
}
