//! Filtered views: one group of a closed wave restricted to a report dimension
//! (`location=Munich`), audited against every view already shown of the wave.
//!
//! A view is made of the wave's stored classes (`reports::cube`), so nothing is counted
//! per request. It is shown only when it holds at least `min_group_size` respondents,
//! when what it leaves out of its group holds 0 or at least that, when it differs from
//! every group the wave's release shows by 0 or at least that (either way), and when it
//! differs from every filtered view already shown of the wave by 0 or at least that
//! (`stats::views`). A view shown is recorded, in the same transaction as the check, so
//! two views asked at once are checked against each other too.

use std::collections::HashSet;

use diesel::prelude::*;

use super::counts::{AttributeFilter, WaveCounts};
use super::org::Org;
use super::release::Released;
use super::wave::{self, WaveReport};
use super::{cube, release, ReportError};
use crate::db::schema::wave_views;
use crate::db::{Conn, DbError};
use crate::definitions::Definition;
use crate::stats::views::{audit_view, AtomSet, Atoms, RecordedView};
use crate::stats::{self, Group};

/// How many dimension values one view may be restricted to.
pub const MAX_VIEW_FILTERS: usize = 1;

/// What a view was asked for.
pub struct ViewQuery<'a> {
    pub wave_id: i64,
    pub wave_label: &'a str,
    pub scope: Option<i64>,
    pub filters: &'a [AttributeFilter],
}

fn refused(filter: &str, group: &str, reason: String) -> ReportError {
    ReportError::FilterRefused {
        filter: filter.to_string(),
        group: group.to_string(),
        reason,
    }
}

/// The report of one filtered group, or why it is refused.
pub fn view(
    conn: &mut Conn,
    definition: &Definition,
    org: &Org,
    query: &ViewQuery,
) -> Result<WaveReport, ReportError> {
    let filter_text: Vec<String> = query
        .filters
        .iter()
        .map(|f| format!("{}={}", f.key, f.value))
        .collect();
    let described = filter_text.join(" and ");
    if query.filters.len() > MAX_VIEW_FILTERS {
        return Err(ReportError::BadFilter(format!(
            "a view is restricted to one dimension value at a time; {described} names {}",
            query.filters.len()
        )));
    }
    let dimensions: Vec<&str> = definition.report_by.names().collect();
    if let Some(unknown) = query
        .filters
        .iter()
        .find(|f| !definition.report_by.declares(&f.key))
    {
        return Err(ReportError::BadFilter(if dimensions.is_empty() {
            format!(
                "{} is not a report dimension: this survey keeps none (report_by is empty), so its results cannot be filtered",
                unknown.key
            )
        } else {
            format!(
                "{} is not a report dimension of this survey{}; filter by one of: {}",
                unknown.key,
                crate::definitions::closest(&unknown.key, dimensions.iter().copied())
                    .map(|close| format!(" (did you mean \"{close}\"?)"))
                    .unwrap_or_default(),
                dimensions.join(", ")
            )
        }));
    }
    let released = release::exact_final(
        conn,
        query.wave_id,
        query.wave_label,
        org,
        "a filtered view",
    )?;
    let Some(cube) = cube::load(conn, query.wave_id)? else {
        return Err(ReportError::BadFilter(format!(
            "the filtered views of {} are made once its closing is complete; try again in a minute",
            query.wave_label
        )));
    };
    let group = query.scope.map_or(Group::Audience, Group::Department);
    let group_name = query
        .scope
        .and_then(|id| org.name(id))
        .unwrap_or("the whole audience")
        .to_string();
    let min = u64::from(definition.min_group_size);
    if !released.disclosure.group(&group, ()).is_shown() {
        return Err(refused(
            &described,
            &group_name,
            format!("the group itself shows no figures (fewer than {min} responses, or hidden so that a smaller group cannot be worked out)"),
        ));
    }
    let pairs: Vec<(String, String)> = query
        .filters
        .iter()
        .map(|f| (f.key.clone(), f.value.clone()))
        .collect();
    let members: Option<HashSet<i64>> = query.scope.map(|id| org.subtree(id).into_iter().collect());
    let in_scope = |d: Option<i64>, members: &Option<HashSet<i64>>| match members {
        None => true,
        Some(m) => d.is_some_and(|d| m.contains(&d)),
    };
    let chosen: Vec<usize> = cube
        .classes
        .iter()
        .enumerate()
        .filter(|(_, c)| in_scope(c.department, &members) && c.matches(&pairs))
        .map(|(i, _)| i)
        .collect();
    let respondents: u64 = chosen.iter().map(|&i| cube.classes[i].respondents).sum();
    stats::check_filter(released.disclosure.respondents(&group), respondents, min)
        .map_err(|r| refused(&described, &group_name, r.to_string()))?;
    check_against_groups(&shown_groups(&released, org), &cube.classes, &chosen, min)
        .map_err(|r| refused(&described, &group_name, r))?;
    let atoms = Atoms::new(cube.classes.iter().map(|c| c.respondents).collect());
    let set = AtomSet::from_indices(chosen.iter().copied());
    let description = format!("{group_name}, {described}");
    record(
        conn,
        query.wave_id,
        released.id,
        &atoms,
        &set,
        &description,
        min,
    )
    .map_err(|e| match e {
        Recorded::Refused(reason) => refused(&described, &group_name, reason),
        Recorded::Failed(e) => e,
    })?;
    figures(definition, query, org, &cube, &chosen, &filter_text)
}

/// A group the release shows: its name, its respondents (rolled-up ones included) and
/// its departments (`None`: everyone).
struct ShownGroup {
    name: String,
    respondents: u64,
    members: Option<HashSet<i64>>,
}

fn shown_groups(released: &Released, org: &Org) -> Vec<ShownGroup> {
    released
        .disclosure
        .shown_groups()
        .map(|group| ShownGroup {
            name: match &group {
                Group::Audience => "the whole audience".to_string(),
                Group::Department(id) => org.name(*id).unwrap_or("a department").to_string(),
            },
            respondents: released.disclosure.respondents(&group),
            members: match &group {
                Group::Audience => None,
                Group::Department(id) => Some(org.subtree(*id).into_iter().collect()),
            },
        })
        .collect()
}

/// Refuses a view that differs from a group the release shows by 1 to `min - 1`
/// respondents either way. A group's own respondents include those rolled up out of it
/// at close, so its size is the release's, not the classes'.
fn check_against_groups(
    shown: &[ShownGroup],
    classes: &[cube::ClassCounts],
    chosen: &[usize],
    min: u64,
) -> Result<(), String> {
    let view: u64 = chosen.iter().map(|&i| classes[i].respondents).sum();
    for group in shown {
        let inside: u64 = chosen
            .iter()
            .map(|&i| &classes[i])
            .filter(|c| match &group.members {
                None => true,
                Some(m) => c.department.is_some_and(|d| m.contains(&d)),
            })
            .map(|c| c.respondents)
            .sum();
        for difference in [view - inside, group.respondents.saturating_sub(inside)] {
            if difference > 0 && difference < min {
                return Err(format!(
                    "it differs from the figures shown for {} by {difference} respondents, fewer than {min}: showing both would reveal their answers",
                    group.name
                ));
            }
        }
    }
    Ok(())
}

enum Recorded {
    Refused(String),
    Failed(ReportError),
}

impl From<diesel::result::Error> for Recorded {
    fn from(e: diesel::result::Error) -> Recorded {
        Recorded::Failed(ReportError::Db(DbError::from(e)))
    }
}

/// Audits the view against every view already shown of the wave and records it, in one
/// transaction (on PostgreSQL under a lock of the wave's row, on SQLite under the write
/// lock), so views asked at once are audited against each other.
fn record(
    conn: &mut Conn,
    wave_id: i64,
    release_id: i64,
    atoms: &Atoms,
    set: &AtomSet,
    description: &str,
    min: u64,
) -> Result<(), Recorded> {
    let text = set.to_text();
    let now = crate::db::now();
    let is_postgres = conn.backend() == crate::db::Backend::Postgres;
    crate::transaction!(*conn, c => {
        if is_postgres {
            diesel::sql_query("SELECT id FROM waves WHERE id = $1 FOR UPDATE")
                .bind::<diesel::sql_types::BigInt, _>(wave_id)
                .execute(c)?;
        }
        let rows: Vec<(String, String)> = wave_views::table
            .filter(wave_views::wave_id.eq(wave_id))
            .select((wave_views::atoms, wave_views::description))
            .load(c)?;
        let mut recorded = Vec::with_capacity(rows.len());
        for (atoms_text, earlier) in rows {
            match AtomSet::from_text(&atoms_text) {
                Ok(earlier_set) => recorded.push(RecordedView::new(earlier_set, earlier)),
                Err(e) => {
                    return Err(Recorded::Failed(ReportError::Corrupt(format!(
                        "a recorded view of the wave cannot be read ({e}); no filtered view is shown until it is mended"
                    ))))
                }
            }
        }
        if let Err(refusal) = audit_view(atoms, set, set, &recorded, min) {
            return Err(Recorded::Refused(refusal.to_string()));
        }
        if !recorded.iter().any(|r| r.atoms == *set) {
            diesel::insert_into(wave_views::table)
                .values((
                    wave_views::wave_id.eq(wave_id),
                    wave_views::release_id.eq(release_id),
                    wave_views::description.eq(description),
                    wave_views::atoms.eq(&text),
                    wave_views::created_at.eq(now),
                ))
                .execute(c)?;
        }
        Ok(())
    })
}

/// The figures of the view: its classes added up as one group, planned on their own
/// (a question answered by fewer than the threshold shows nothing).
fn figures(
    definition: &Definition,
    query: &ViewQuery,
    org: &Org,
    cube: &cube::Cube,
    chosen: &[usize],
    filter_text: &[String],
) -> Result<WaveReport, ReportError> {
    // One department stands for the view: the scope itself, or 0 for the whole audience.
    let id = query.scope.unwrap_or(0);
    let name = query
        .scope
        .and_then(|s| org.name(s))
        .unwrap_or("")
        .to_string();
    let mut counts = WaveCounts::default();
    for class in chosen.iter().map(|&i| &cube.classes[i]) {
        *counts.respondents.entry(id).or_default() += class.respondents;
        for (q, values) in &class.values {
            let tally = counts.values.entry((id, q.clone())).or_default();
            for (v, n) in values {
                *tally.entry(*v).or_default() += n;
            }
        }
        for (q, n) in &class.answered {
            *counts.answered.entry((id, q.clone())).or_default() += n;
        }
        for (s, n) in &class.services {
            *counts
                .service_respondents
                .entry((id, s.clone()))
                .or_default() += n;
        }
        for (q, sums) in &class.pairs {
            counts.pairs.entry((id, q.clone())).or_default().merge(sums);
        }
    }
    let single = Org::from_rows(vec![(id, name, None)]);
    let planned = wave::Planned::new(definition, &single, &counts)?;
    let mut report = wave::build(
        definition,
        query.wave_label,
        &single,
        &planned,
        query.scope,
        filter_text,
    )?;
    if query.scope.is_none() {
        // Only the whole audience: the stand-in department is the same people.
        report.groups.truncate(1);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    //! Releases and filtered views together, as an attacker collects them: whatever the
    //! tree, the respondents' dimensions, their order of arrival, the moments of release
    //! and the views asked for, no two sets of respondents ever shown differ by 1 to
    //! `min - 1`.

    use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

    use proptest::prelude::*;

    use super::{check_against_groups, ShownGroup};
    use crate::reports::cube::ClassCounts;
    use crate::responses::generalise::{generalise, Class};
    use crate::stats::views::{audit_view, AtomSet, Atoms, RecordedView};
    use crate::stats::{check_filter, release, Group, OrgUnit, ReleaseRequest, Threshold};

    const MIN: u64 = 4;

    #[derive(Debug, Clone)]
    struct World {
        parents: Vec<Option<i64>>,
        /// (department, location, contract) in order of arrival.
        respondents: Vec<(i64, u8, u8)>,
        cuts: Vec<usize>,
        /// (scope: None or a department, dimension: 0 location 1 contract, value)
        views: Vec<(Option<i64>, u8, u8)>,
    }

    fn world() -> impl Strategy<Value = World> {
        (1usize..7).prop_flat_map(|n| {
            (
                prop::collection::vec(any::<prop::sample::Index>(), n),
                prop::collection::vec((0..n as i64, 0u8..3, 0u8..2), 0..90),
                prop::collection::vec(0.0f64..1.0, 0..3),
                prop::collection::vec((prop::option::of(0..n as i64), 0u8..2, 0u8..3), 0..12),
            )
                .prop_map(move |(parents, respondents, cuts, views)| {
                    let parents = parents
                        .iter()
                        .enumerate()
                        .map(|(i, p)| (i > 0 && p.index(i + 1) < i).then(|| p.index(i + 1) as i64))
                        .collect();
                    let total = respondents.len();
                    let mut cuts: Vec<usize> =
                        cuts.iter().map(|f| (f * total as f64) as usize).collect();
                    cuts.sort_unstable();
                    cuts.push(total);
                    World {
                        parents,
                        respondents,
                        cuts,
                        views,
                    }
                })
        })
    }

    fn subtree(parents: &[Option<i64>], root: i64) -> HashSet<i64> {
        let mut out = HashSet::from([root]);
        loop {
            let more: Vec<i64> = (0..parents.len() as i64)
                .filter(|d| {
                    !out.contains(d) && parents[*d as usize].is_some_and(|p| out.contains(&p))
                })
                .collect();
            if more.is_empty() {
                return out;
            }
            out.extend(more);
        }
    }

    fn dims(location: u8, contract: u8) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("contract".to_string(), format!("c{contract}")),
            ("location".to_string(), format!("l{location}")),
        ])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn releases_and_views_never_differ_by_a_few(w in world()) {
            let threshold = Threshold::new(MIN, MIN).unwrap();
            let n = w.parents.len();
            let members = |group: &Group<i64>, arrived: usize| -> BTreeSet<usize> {
                let departments = match group {
                    Group::Audience => None,
                    Group::Department(d) => Some(subtree(&w.parents, *d)),
                };
                (0..arrived)
                    .filter(|&i| departments.as_ref().is_none_or(|s| s.contains(&w.respondents[i].0)))
                    .collect()
            };
            let invited: BTreeMap<i64, u64> = (0..n as i64).map(|d| (d, 12)).collect();
            let mut shown: BTreeSet<BTreeSet<usize>> = BTreeSet::new();
            let mut states = Vec::new();
            for (i, &cut) in w.cuts.iter().enumerate() {
                let units: Vec<OrgUnit<i64>> = (0..n as i64)
                    .map(|d| {
                        let count = w.respondents[..cut].iter().filter(|r| r.0 == d).count() as u64;
                        OrgUnit::new(d, w.parents[d as usize], count)
                    })
                    .collect();
                let request = ReleaseRequest {
                    units: &units,
                    invited: &invited,
                    threshold,
                    is_final: i + 1 == w.cuts.len(),
                };
                let state = release(states.last(), &request).unwrap();
                let groups = std::iter::once(Group::Audience)
                    .chain((0..n as i64).map(Group::Department));
                for group in groups {
                    if let Some((seq, _)) = state.group_as_of(&group) {
                        shown.insert(members(&group, w.cuts[seq as usize - 1]));
                    }
                }
                states.push(state);
            }
            let last = states.last().unwrap();
            // As `release::exact_final`: views only of a wave released once, at close.
            if states.len() == 1 {
                // Closing: the responses generalised, their classes counted.
                let parent_of: HashMap<i64, Option<i64>> =
                    (0..n as i64).map(|d| (d, w.parents[d as usize])).collect();
                let before: Vec<Class> = w
                    .respondents
                    .iter()
                    .map(|&(d, l, c)| Class::new(Some(d), dims(l, c)))
                    .collect();
                let after = generalise(&parent_of, &before, MIN as u32);
                let mut index: HashMap<(Option<i64>, BTreeMap<String, String>), usize> = HashMap::new();
                let mut classes: Vec<ClassCounts> = Vec::new();
                let mut class_members: Vec<BTreeSet<usize>> = Vec::new();
                for (i, c) in after.iter().enumerate() {
                    let at = *index.entry((c.department, c.dimensions.clone())).or_insert_with(|| {
                        classes.push(ClassCounts {
                            department: c.department,
                            attributes: c.dimensions.clone(),
                            ..ClassCounts::default()
                        });
                        class_members.push(BTreeSet::new());
                        classes.len() - 1
                    });
                    classes[at].respondents += 1;
                    class_members[at].insert(i);
                }
                let groups: Vec<ShownGroup> = std::iter::once(Group::Audience)
                    .chain((0..n as i64).map(Group::Department))
                    .filter_map(|g| {
                        let (_, respondents) = last.group_as_of(&g)?;
                        Some(ShownGroup {
                            name: format!("{g:?}"),
                            respondents,
                            members: match g {
                                Group::Audience => None,
                                Group::Department(d) => Some(subtree(&w.parents, d)),
                            },
                        })
                    })
                    .collect();
                let atoms = Atoms::new(classes.iter().map(|c| c.respondents).collect());
                let mut recorded: Vec<RecordedView> = Vec::new();
                for &(scope, dimension, value) in &w.views {
                    let group = scope.map_or(Group::Audience, Group::Department);
                    let Some((_, total)) = last.group_as_of(&group) else { continue };
                    let filter = if dimension == 0 {
                        ("location".to_string(), format!("l{value}"))
                    } else {
                        ("contract".to_string(), format!("c{}", value % 2))
                    };
                    let in_scope = |d: Option<i64>| match scope {
                        None => true,
                        Some(s) => d.is_some_and(|d| subtree(&w.parents, s).contains(&d)),
                    };
                    let chosen: Vec<usize> = (0..classes.len())
                        .filter(|&i| in_scope(classes[i].department) && classes[i].matches(std::slice::from_ref(&filter)))
                        .collect();
                    let view: u64 = chosen.iter().map(|&i| classes[i].respondents).sum();
                    let set = AtomSet::from_indices(chosen.iter().copied());
                    let admitted = check_filter(total, view, MIN).is_ok()
                        && check_against_groups(&groups, &classes, &chosen, MIN).is_ok()
                        && audit_view(&atoms, &set, &set, &recorded, MIN).is_ok();
                    if admitted {
                        recorded.push(RecordedView::new(set, "view"));
                        let people: BTreeSet<usize> =
                            chosen.iter().flat_map(|&i| class_members[i].iter().copied()).collect();
                        shown.insert(people);
                    }
                }
            }
            for a in &shown {
                prop_assert!(a.len() as u64 >= MIN, "a shown set of {}", a.len());
                for b in &shown {
                    let d = a.difference(b).count() as u64;
                    prop_assert!(d == 0 || d >= MIN, "two shown sets differ by {}: {:?} and {:?}", d, a, b);
                }
            }
        }
    }
}
