//! A wave's releases in the database. Made from the answers at close (the final release)
//! and, where a survey asks for them (`release_every`), by the scheduler while the wave is
//! open; every view (pages, API, CLI, exports, trends) reads the latest release of a wave
//! and never counts. What a release may show is decided by `stats::release`.
//!
//! A release row holds the decisions and, for every shown group, the counts of what it
//! shows (each item as of the release it comes from); its comments are rows of
//! `release_comments`, per group, with the writer's department only where that may be
//! shown. The final release keeps nothing per department that a later one would need.
//! Several processes may try to make the same release: the unique (wave, seq) lets one
//! of them store it.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::counts;
use super::org::Org;
use super::wave::{self, Comment, GroupCounts};
use super::ReportError;
use crate::db::schema::{answers, invitations, release_comments, responses, wave_releases};
use crate::db::{Conn, DbError};
use crate::definitions::{Definition, QuestionKind};
use crate::stats::{self, Disclosure, Group, PairSums, ReleaseRequest, ReleaseState, Seq};

/// Which release a view reads, for pages to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ReleaseInfo {
    /// 1, 2, ... within the wave.
    pub seq: Seq,
    /// When it was made (UTC).
    pub made_at: NaiveDateTime,
    /// Made at close: these figures never change.
    #[serde(rename = "final")]
    pub is_final: bool,
}

/// What a release row holds.
#[derive(Serialize, Deserialize)]
struct Content {
    state: ReleaseState<i64>,
    groups: Vec<StoredGroup>,
}

/// The counts a shown group shows, each item as of its own release.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct StoredGroup {
    /// `None`: the whole audience.
    department: Option<i64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    values: BTreeMap<String, BTreeMap<i32, u64>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    answered: BTreeMap<String, u64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    services: BTreeMap<String, u64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pairs: BTreeMap<String, PairSums>,
}

impl StoredGroup {
    /// Copies one item (a question id, `service:X` or `driver:Q`) from `from`.
    fn take_item(&mut self, from: &StoredGroup, item: &str) {
        if let Some(service) = item.strip_prefix("service:") {
            if let Some(n) = from.services.get(service) {
                self.services.insert(service.to_string(), *n);
            }
        } else if let Some(question) = item.strip_prefix("driver:") {
            if let Some(sums) = from.pairs.get(question) {
                self.pairs.insert(question.to_string(), *sums);
            }
        } else {
            if let Some(values) = from.values.get(item) {
                self.values.insert(item.to_string(), values.clone());
            }
            if let Some(n) = from.answered.get(item) {
                self.answered.insert(item.to_string(), *n);
            }
        }
    }

    fn from_counts(department: Option<i64>, counts: GroupCounts) -> StoredGroup {
        StoredGroup {
            department,
            values: counts.values,
            answered: counts.answered,
            services: counts.services,
            pairs: counts.pairs,
        }
    }

    fn into_counts(self, respondents: u64) -> GroupCounts {
        GroupCounts {
            respondents,
            values: self.values,
            answered: self.answered,
            services: self.services,
            pairs: self.pairs,
        }
    }
}

/// The latest release of a wave, ready for views.
pub struct Released {
    pub id: i64,
    pub info: ReleaseInfo,
    pub state: ReleaseState<i64>,
    /// The only gate of every figure a view of this release shows.
    pub disclosure: Disclosure<i64>,
    groups: HashMap<Option<i64>, GroupCounts>,
}

fn group_key(group: &Group<i64>) -> Option<i64> {
    match group {
        Group::Audience => None,
        Group::Department(id) => Some(*id),
    }
}

impl Released {
    /// The counts a shown group shows (empty for a hidden one: nothing of it is shown).
    pub fn counts(&self, group: &Group<i64>) -> GroupCounts {
        let Some(stored) = self.groups.get(&group_key(group)) else {
            return GroupCounts::default();
        };
        GroupCounts {
            respondents: stored.respondents,
            values: stored.values.clone(),
            answered: stored.answered.clone(),
            services: stored.services.clone(),
            pairs: stored.pairs.clone(),
        }
    }

    /// The release a group's figures come from, when older than this one.
    pub fn group_as_of(&self, group: &Group<i64>) -> Option<Seq> {
        self.state
            .group_as_of(group)
            .map(|(seq, _)| seq)
            .filter(|seq| *seq != self.info.seq)
    }

    /// Items of a shown group whose figures come from a release older than the group's.
    pub fn items_as_of(&self, group: &Group<i64>) -> BTreeMap<String, Seq> {
        let Some((group_seq, _)) = self.state.group_as_of(group) else {
            return BTreeMap::new();
        };
        self.state
            .items()
            .filter(|item| !item.contains(':'))
            .filter_map(|item| {
                let (seq, _) = self.state.item_as_of(group, item)?;
                (seq != group_seq).then(|| (item.to_string(), seq))
            })
            .collect()
    }

    fn load(id: i64, info: ReleaseInfo, content: &str) -> Result<Released, ReportError> {
        let content: Content = serde_json::from_str(content).map_err(|e| {
            ReportError::Corrupt(format!(
                "release {} of a wave cannot be read: {e}",
                info.seq
            ))
        })?;
        let disclosure = content.state.disclosure()?;
        let groups = content
            .groups
            .into_iter()
            .map(|g| {
                let group = g.department.map_or(Group::Audience, Group::Department);
                let respondents = content.state.group_as_of(&group).map_or(0, |(_, n)| n);
                (g.department, g.into_counts(respondents))
            })
            .collect();
        Ok(Released {
            id,
            info,
            state: content.state,
            disclosure,
            groups,
        })
    }
}

type ReleaseRow = (i64, i64, i32, NaiveDateTime, bool, String);

/// The latest release of each wave that has one, read with one query.
pub fn latest_many(
    conn: &mut Conn,
    wave_ids: &[i64],
) -> Result<HashMap<i64, Released>, ReportError> {
    if wave_ids.is_empty() {
        return Ok(HashMap::new());
    }
    // Releases of a wave are few (one per `release_every` while open), so reading the
    // latest per wave as the highest seq among them is cheap.
    let heads: Vec<(i64, Option<i32>)> = crate::with_conn!(*conn, c => wave_releases::table
        .filter(wave_releases::wave_id.eq_any(wave_ids))
        .group_by(wave_releases::wave_id)
        .select((wave_releases::wave_id, diesel::dsl::max(wave_releases::seq)))
        .load(c))
    .map_err(DbError::from)?;
    let mut out = HashMap::new();
    for (wave_id, seq) in heads {
        let Some(seq) = seq else { continue };
        let row: ReleaseRow = crate::with_conn!(*conn, c => wave_releases::table
            .filter(wave_releases::wave_id.eq(wave_id))
            .filter(wave_releases::seq.eq(seq))
            .select((wave_releases::id, wave_releases::wave_id, wave_releases::seq, wave_releases::made_at, wave_releases::is_final, wave_releases::content))
            .first(c))
        .map_err(DbError::from)?;
        let (id, _, seq, made_at, is_final, content) = row;
        let info = ReleaseInfo {
            seq: seq as Seq,
            made_at,
            is_final,
        };
        out.insert(wave_id, Released::load(id, info, &content)?);
    }
    Ok(out)
}

/// A release made since some moment, for the dashboard's "released since".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Made {
    pub survey: String,
    pub wave: String,
    pub info: ReleaseInfo,
}

/// Releases made after `since`, newest first, at most `limit`.
pub fn made_since(
    conn: &mut Conn,
    since: NaiveDateTime,
    limit: i64,
) -> Result<Vec<Made>, ReportError> {
    use crate::db::schema::{surveys, waves};
    let rows: Vec<(String, String, i32, NaiveDateTime, bool)> = crate::with_conn!(*conn, c => wave_releases::table
        .inner_join(waves::table.inner_join(surveys::table))
        .filter(wave_releases::made_at.gt(since))
        .order((wave_releases::made_at.desc(), wave_releases::id.desc()))
        .limit(limit)
        .select((surveys::slug, waves::label, wave_releases::seq, wave_releases::made_at, wave_releases::is_final))
        .load(c))
    .map_err(DbError::from)?;
    Ok(rows
        .into_iter()
        .map(|(survey, wave, seq, made_at, is_final)| Made {
            survey,
            wave,
            info: ReleaseInfo {
                seq: seq as Seq,
                made_at,
                is_final,
            },
        })
        .collect())
}

/// The number of a wave's latest release (0 before its first), without reading it: what
/// a kept page's key needs.
pub fn latest_seq(conn: &mut Conn, wave_id: i64) -> Result<Seq, ReportError> {
    let seq: Option<i32> = crate::with_conn!(*conn, c => wave_releases::table
        .filter(wave_releases::wave_id.eq(wave_id))
        .select(diesel::dsl::max(wave_releases::seq))
        .first(c))
    .map_err(DbError::from)?;
    Ok(seq.map_or(0, |s| s as Seq))
}

/// The latest release of a wave; `None` before its first.
pub fn latest(conn: &mut Conn, wave_id: i64) -> Result<Option<Released>, ReportError> {
    Ok(latest_many(conn, &[wave_id])?.remove(&wave_id))
}

/// The final release of a wave released only once, at close: what row-level and
/// filtered views may be made of. Refused with what to do otherwise: an open wave's
/// figures change only in releases, and a wave with interim releases has shown sets of
/// respondents (its earlier figures) that a view could be set against.
pub fn exact_final(
    conn: &mut Conn,
    wave_id: i64,
    wave_label: &str,
    _org: &Org,
    what: &str,
) -> Result<Released, ReportError> {
    let Some(released) = latest(conn, wave_id)?.filter(|r| r.info.is_final) else {
        return Err(ReportError::BadFilter(format!(
            "{what} can be made of closed waves only; {wave_label} is still open (its figures change only in releases)"
        )));
    };
    if released.info.seq != 1 {
        return Err(ReportError::BadFilter(format!(
            "{what} of {wave_label} is refused: its figures were released while it was open, and {what} could be set against those earlier figures to single people out"
        )));
    }
    Ok(released)
}

/// What views of a wave read: its latest release, or nothing shown before its first.
pub fn figures(
    conn: &mut Conn,
    wave_id: i64,
    definition: &Definition,
    org: &Org,
) -> Result<Box<dyn wave::Figures>, ReportError> {
    Ok(match latest(conn, wave_id)? {
        Some(released) => Box::new(released),
        None => Box::new(wave::Planned::new(
            definition,
            org,
            &counts::WaveCounts::default(),
        )?),
    })
}

/// When each release of a wave was made, by seq: for "as of" labels.
pub fn made_at(conn: &mut Conn, wave_id: i64) -> Result<BTreeMap<Seq, NaiveDateTime>, ReportError> {
    let rows: Vec<(i32, NaiveDateTime)> = crate::with_conn!(*conn, c => wave_releases::table
        .filter(wave_releases::wave_id.eq(wave_id))
        .select((wave_releases::seq, wave_releases::made_at))
        .load(c))
    .map_err(DbError::from)?;
    Ok(rows.into_iter().map(|(s, t)| (s as Seq, t)).collect())
}

/// The shown comments of a release for a group, each with its question's id; `None`
/// when the group's comments are withheld.
pub fn comments(
    conn: &mut Conn,
    released: &Released,
    org: &Org,
    scope: Option<i64>,
) -> Result<Option<Vec<Comment>>, ReportError> {
    Ok(numbered_comments(conn, released, org, scope)?
        .map(|list| list.into_iter().map(|(_, c)| c).collect()))
}

/// [`comments`] with each one's number in the release (what HR marks as shareable).
pub fn numbered_comments(
    conn: &mut Conn,
    released: &Released,
    org: &Org,
    scope: Option<i64>,
) -> Result<Option<Vec<(i32, Comment)>>, ReportError> {
    let group = scope.map_or(Group::Audience, Group::Department);
    if !released.disclosure.comments(&group, ()).is_shown() {
        return Ok(None);
    }
    let group_id = scope.unwrap_or(0);
    let rows: Vec<(i32, String, String, Option<i64>)> = crate::with_conn!(*conn, c => release_comments::table
        .filter(release_comments::release_id.eq(released.id))
        .filter(release_comments::group_id.eq(group_id))
        .order(release_comments::ordinal)
        .select((release_comments::ordinal, release_comments::question_id, release_comments::text, release_comments::department_id))
        .load(c))
    .map_err(DbError::from)?;
    Ok(Some(
        rows.into_iter()
            .map(|(ordinal, question, text, department)| {
                (
                    ordinal,
                    Comment {
                        question,
                        text,
                        department: department.and_then(|d| org.name(d)).map(str::to_string),
                    },
                )
            })
            .collect(),
    ))
}

/// Invitees per department of a wave.
fn invited(conn: &mut Conn, wave_id: i64) -> Result<BTreeMap<i64, u64>, DbError> {
    let rows: Vec<(i64, i64)> = crate::with_conn!(*conn, c => invitations::table
        .filter(invitations::wave_id.eq(wave_id))
        .group_by(invitations::department_id)
        .select((invitations::department_id, diesel::dsl::count_star()))
        .load(c))?;
    Ok(rows.into_iter().map(|(d, n)| (d, n as u64)).collect())
}

/// Every comment of a wave: (department, question, text).
fn wave_comments(
    conn: &mut Conn,
    wave_id: i64,
    definition: &Definition,
) -> Result<Vec<(i64, String, String)>, DbError> {
    let text_questions: Vec<String> = definition
        .questions()
        .filter(|(_, q)| matches!(q.kind, QuestionKind::Text { .. }))
        .map(|(_, q)| q.id.value.clone())
        .collect();
    if text_questions.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(Option<i64>, String, Option<String>)> = crate::with_conn!(*conn, c => answers::table
        .inner_join(responses::table)
        .filter(responses::wave_id.eq(wave_id))
        .filter(answers::question_id.eq_any(&text_questions))
        .filter(answers::text.is_not_null())
        .select((responses::department_id, answers::question_id, answers::text))
        .load(c))?;
    Ok(rows
        .into_iter()
        .filter_map(|(d, q, t)| {
            let t = t?;
            (!t.trim().is_empty()).then_some((d?, q, t))
        })
        .collect())
}

/// Runs `read` in one read transaction, so the counts and the comments of a release come
/// from the same responses even while others are sealed.
fn in_snapshot<T>(
    conn: &mut Conn,
    read: impl FnOnce(&mut Conn) -> Result<T, ReportError>,
) -> Result<T, ReportError> {
    use diesel::connection::SimpleConnection;
    let begin = match conn {
        #[cfg(feature = "sqlite")]
        Conn::Sqlite(_) => "BEGIN DEFERRED",
        #[cfg(feature = "postgres")]
        Conn::Postgres(_) => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    };
    crate::with_conn!(*conn, c => c.batch_execute(begin)).map_err(DbError::from)?;
    let result = read(conn);
    let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
    let ended = crate::with_conn!(*conn, c => c.batch_execute(end)).map_err(DbError::from);
    let value = result?;
    ended?;
    Ok(value)
}

/// Makes the next release of a wave from its answers as they stand; `is_final` for the
/// release made at close. `None` when there is nothing to make: the wave already has its
/// final release, or another process made this release meanwhile.
pub fn make(
    conn: &mut Conn,
    wave_id: i64,
    definition: &Definition,
    is_final: bool,
) -> Result<Option<ReleaseInfo>, ReportError> {
    let kind = if is_final { "final" } else { "interim" };
    let took = crate::metrics::global()
        .release_duration
        .with_label_values(&[kind]);
    crate::metrics::timed(&took, || make_release(conn, wave_id, definition, is_final))
}

fn make_release(
    conn: &mut Conn,
    wave_id: i64,
    definition: &Definition,
    is_final: bool,
) -> Result<Option<ReleaseInfo>, ReportError> {
    let previous = latest(conn, wave_id)?;
    if previous.as_ref().is_some_and(|p| p.info.is_final) {
        return Ok(None);
    }
    let current = Org::load(conn)?;
    // Before the snapshot: statistics gathered inside it stay invisible to the count's
    // second connection until it commits, which then plans every page as a scan of all
    // answers (minutes for the first release after a bulk import).
    crate::db::planner::refresh_if_stale(conn)?;
    let (counts, comment_rows, invited) = in_snapshot(conn, |conn| {
        Ok((
            counts::count(conn, wave_id, definition)?,
            wave_comments(conn, wave_id, definition)?,
            invited(conn, wave_id)?,
        ))
    })?;
    let threshold = wave::threshold(definition)?;
    let units = wave::org_units(&current, &counts);
    let state = stats::release(
        previous.as_ref().map(|p| &p.state),
        &ReleaseRequest {
            units: &units,
            invited: &invited,
            threshold,
            is_final,
        },
    )?;
    let seq = state.seq();
    // Groups are added up over the tree the releases of this wave keep.
    let names: HashMap<i64, &str> = current
        .departments
        .iter()
        .map(|d| (d.id, d.name.as_str()))
        .collect();
    let org = Org::from_rows(
        state
            .tree()
            .iter()
            .map(|(id, parent)| {
                (
                    *id,
                    names.get(id).copied().unwrap_or("").to_string(),
                    *parent,
                )
            })
            .collect(),
    );
    let (audience, mut subtrees) = GroupCounts::of_every_subtree(&counts, &org);
    let mut fresh: HashMap<Option<i64>, StoredGroup> = HashMap::new();
    fresh.insert(None, StoredGroup::from_counts(None, audience));
    for d in &org.departments {
        let counts = subtrees.remove(&d.id).unwrap_or_default();
        fresh.insert(Some(d.id), StoredGroup::from_counts(Some(d.id), counts));
    }
    let before: HashMap<Option<i64>, StoredGroup> = match &previous {
        Some(p) => p
            .groups
            .iter()
            .map(|(key, counts)| {
                let stored = StoredGroup {
                    department: *key,
                    values: counts.values.clone(),
                    answered: counts.answered.clone(),
                    services: counts.services.clone(),
                    pairs: counts.pairs.clone(),
                };
                (*key, stored)
            })
            .collect(),
        None => HashMap::new(),
    };
    let items: Vec<String> = state.items().map(str::to_string).collect();
    let empty = StoredGroup::default();
    let mut groups = Vec::new();
    let all_groups: Vec<Group<i64>> = std::iter::once(Group::Audience)
        .chain(org.departments.iter().map(|d| Group::Department(d.id)))
        .collect();
    for group in &all_groups {
        if state.group_as_of(group).is_none() {
            continue;
        }
        let key = group_key(group);
        let mut stored = StoredGroup {
            department: key,
            ..StoredGroup::default()
        };
        for item in &items {
            let Some((from, _)) = state.item_as_of(group, item) else {
                continue;
            };
            let source = if from == seq {
                fresh.get(&key)
            } else {
                before.get(&key)
            };
            stored.take_item(source.unwrap_or(&empty), item);
        }
        groups.push(stored);
    }
    // Comments: fresh lists for the groups whose comments update now, the rows of the
    // previous release for those that keep theirs.
    let min_comments = threshold.min_comment_group_size();
    let named = |d: i64| {
        state
            .comments_as_of(&Group::Department(d))
            .is_some_and(|(from, _)| from == seq)
            && counts.respondents.get(&d).copied().unwrap_or(0) >= min_comments
    };
    let mut comment_rows_out: Vec<(i64, Comment, Option<i64>)> = Vec::new();
    let mut kept_from_previous: Vec<i64> = Vec::new();
    for group in &all_groups {
        let Some((from, _)) = state.comments_as_of(group) else {
            continue;
        };
        let group_id = group_key(group).unwrap_or(0);
        if from != seq {
            kept_from_previous.push(group_id);
            continue;
        }
        let members: Option<std::collections::HashSet<i64>> = match group {
            Group::Audience => None,
            Group::Department(id) => Some(org.subtree(*id).into_iter().collect()),
        };
        let mut list: Vec<(Comment, Option<i64>)> = comment_rows
            .iter()
            .filter(|(d, _, _)| members.as_ref().is_none_or(|m| m.contains(d)))
            .map(|(d, q, t)| {
                let comment = Comment {
                    question: q.clone(),
                    text: t.clone(),
                    department: None,
                };
                (comment, named(*d).then_some(*d))
            })
            .collect();
        list.sort_by_cached_key(|(c, _)| wave::unlinkable_key(c));
        for (comment, department) in list {
            comment_rows_out.push((group_id, comment, department));
        }
    }
    let content = serde_json::to_string(&Content { state, groups })
        .map_err(|e| ReportError::Corrupt(format!("a release could not be written: {e}")))?;
    let made_at = crate::db::now();
    let previous_id = previous.as_ref().map(|p| p.id);
    let stored = crate::transaction!(*conn, c => {
        let inserted = diesel::insert_into(wave_releases::table)
            .values((
                wave_releases::wave_id.eq(wave_id),
                wave_releases::seq.eq(seq as i32),
                wave_releases::made_at.eq(made_at),
                wave_releases::is_final.eq(is_final),
                wave_releases::content.eq(&content),
            ))
            .on_conflict_do_nothing()
            .execute(c)?;
        if inserted == 0 {
            return Ok::<Option<i64>, diesel::result::Error>(None);
        }
        let id: i64 = wave_releases::table
            .filter(wave_releases::wave_id.eq(wave_id))
            .filter(wave_releases::seq.eq(seq as i32))
            .select(wave_releases::id)
            .first(c)?;
        let mut ordinal = 0i32;
        for chunk in comment_rows_out.chunks(500) {
            let rows: Vec<_> = chunk
                .iter()
                .map(|(group_id, comment, department)| {
                    ordinal += 1;
                    (
                        release_comments::release_id.eq(id),
                        release_comments::group_id.eq(*group_id),
                        release_comments::ordinal.eq(ordinal),
                        release_comments::question_id.eq(comment.question.clone()),
                        release_comments::text.eq(comment.text.clone()),
                        release_comments::department_id.eq(*department),
                    )
                })
                .collect();
            diesel::insert_into(release_comments::table).values(rows).execute(c)?;
        }
        if let Some(previous_id) = previous_id {
            // Kept comment lists move to the new release; the old release keeps none.
            for group_id in &kept_from_previous {
                diesel::update(
                    release_comments::table
                        .filter(release_comments::release_id.eq(previous_id))
                        .filter(release_comments::group_id.eq(*group_id)),
                )
                .set(release_comments::release_id.eq(id))
                .execute(c)?;
            }
            diesel::delete(release_comments::table.filter(release_comments::release_id.eq(previous_id)))
                .execute(c)?;
        }
        Ok(Some(id))
    })
    .map_err(DbError::from)?;
    if stored.is_none() {
        return Ok(None);
    }
    Ok(Some(ReleaseInfo {
        seq,
        made_at,
        is_final,
    }))
}

/// Makes the releases that are due, as each tick of `icsat serve`'s scheduler does: the
/// final release of a closed wave that lacks one (its close failed halfway, or the
/// database predates releases), and an interim release of an open wave whose survey asks
/// for them (`release_every`), once that long has passed since its last release (or its
/// opening). Returns the waves released. Several processes may call this at once: each
/// release is stored once.
pub fn due(conn: &mut Conn, now: NaiveDateTime) -> Result<Vec<String>, ReportError> {
    use crate::db::schema::waves;
    let candidates: Vec<crate::waves::Wave> = crate::with_conn!(*conn, c => waves::table
        .select(crate::waves::Wave::as_select())
        .order(waves::id)
        .load(c))
    .map_err(DbError::from)?;
    let ids: Vec<i64> = candidates.iter().map(|w| w.id).collect();
    let heads: HashMap<i64, (i32, NaiveDateTime, bool)> = {
        let rows: Vec<(i64, i32, NaiveDateTime, bool)> = crate::with_conn!(*conn, c => wave_releases::table
            .filter(wave_releases::wave_id.eq_any(&ids))
            .select((wave_releases::wave_id, wave_releases::seq, wave_releases::made_at, wave_releases::is_final))
            .load(c))
        .map_err(DbError::from)?;
        let mut heads: HashMap<i64, (i32, NaiveDateTime, bool)> = HashMap::new();
        for (wave, seq, at, is_final) in rows {
            let head = heads.entry(wave).or_insert((seq, at, is_final));
            if seq > head.0 {
                *head = (seq, at, is_final);
            }
        }
        heads
    };
    let mut released = Vec::new();
    for wave in candidates {
        let head = heads.get(&wave.id).copied();
        let closed = wave.status == "closed";
        if head.is_some_and(|(_, _, is_final)| is_final) {
            continue;
        }
        let definition = super::wave_definition(conn, wave.version_id)?;
        if !closed {
            let Some(every) = definition.release_every else {
                continue;
            };
            let since = head.map_or(wave.opens_at, |(_, at, _)| at);
            let tz = crate::waves::lifecycle::timezone(&definition);
            if every.add_to(since.and_utc(), tz).naive_utc() > now {
                continue;
            }
        }
        match make(conn, wave.id, &definition, closed) {
            Ok(Some(_)) => released.push(wave.label.clone()),
            Ok(None) => {}
            // The other waves are still released; this one is tried at the next tick.
            Err(e) => {
                tracing::error!(error = %e, wave = %wave.label, "making a release of a wave failed")
            }
        }
    }
    Ok(released)
}
