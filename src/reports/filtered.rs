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
                "{} is not a report dimension of this survey; filter by one of: {}",
                unknown.key,
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
    check_against_groups(&released, org, &cube, &chosen, min)
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

/// Refuses a view that differs from a group the release shows by 1 to `min - 1`
/// respondents either way. A group's own respondents include those rolled up out of it
/// at close, so its size is the release's, not the classes'.
fn check_against_groups(
    released: &Released,
    org: &Org,
    cube: &cube::Cube,
    chosen: &[usize],
    min: u64,
) -> Result<(), String> {
    let view: u64 = chosen.iter().map(|&i| cube.classes[i].respondents).sum();
    for shown in released.disclosure.shown_groups() {
        let members: Option<HashSet<i64>> = match &shown {
            Group::Audience => None,
            Group::Department(id) => Some(org.subtree(*id).into_iter().collect()),
        };
        let inside: u64 = chosen
            .iter()
            .map(|&i| &cube.classes[i])
            .filter(|c| match &members {
                None => true,
                Some(m) => c.department.is_some_and(|d| m.contains(&d)),
            })
            .map(|c| c.respondents)
            .sum();
        let total = released.disclosure.respondents(&shown);
        for difference in [view - inside, total.saturating_sub(inside)] {
            if difference > 0 && difference < min {
                let name = match &shown {
                    Group::Audience => "the whole audience".to_string(),
                    Group::Department(id) => org.name(*id).unwrap_or("a department").to_string(),
                };
                return Err(format!(
                    "it differs from the figures shown for {name} by {difference} respondents, fewer than {min}: showing both would reveal their answers"
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
    let is_postgres = matches!(conn, Conn::Postgres(_));
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
