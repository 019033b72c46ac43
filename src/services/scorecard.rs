//! A service's scorecard: its figures from every survey wave that rates it (a section
//! whose `service` names it, or whose `about` is its id or name), against the targets of
//! the catalogue, for the whole audience and per consumer department, over time; the
//! questions it is rated on, the comments, and its actions.
//!
//! Every figure comes from the waves' releases through their disclosure, like every
//! other report: a group hidden there is hidden here. Rights only remove rows: HR and the
//! service's owners (the provider's head, the catalogue's `owners`) see every consumer
//! department and the comments; another head sees the company-wide rows and the
//! departments of their subtree.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::ServiceError;
use crate::auth::rights::Rights;
use crate::db::Conn;
use crate::definitions::{Catalogue, Definition, Measure, QuestionKind, Service, Targets};
use crate::reports::org::Org;
use crate::reports::release::{self, Released};
use crate::reports::wave::service_figures;
use crate::stats::{Confidence, Gated, Group, QuestionSummary, ServiceSummary};

/// Who is looking.
#[derive(Debug, Clone, Copy)]
pub struct Viewer<'a> {
    pub rights: Rights,
    pub email: &'a str,
}

impl Viewer<'_> {
    /// HR, or an owner of `service`: the head of its provider (or above), or named.
    pub fn owns(&self, org: &Org, service: &Service) -> bool {
        match self.rights {
            Rights::Admin => true,
            Rights::Head { department_id } => {
                org.by_name(&service.provider)
                    .is_some_and(|d| org.subtree(department_id).contains(&d.id))
                    || service
                        .owners
                        .iter()
                        .any(|o| o.value.eq_ignore_ascii_case(self.email.trim()))
            }
        }
    }
}

/// The figures a scorecard compares with targets, in one group of one wave.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Measures {
    /// Respondents of the group who rated the service.
    pub n: u64,
    /// Satisfaction index, 0-100.
    pub satisfaction: Option<f64>,
    /// Favourable share, 0-1.
    pub favorable: Option<f64>,
    pub nps: Option<f64>,
    /// Mean of the section's `ces` question (1-7), where it has one.
    pub effort: Option<f64>,
    /// Mean work hours lost per request, from the section's `lost_time` question.
    pub lost_hours: Option<f64>,
}

impl Measures {
    fn of(summary: &ServiceSummary, effort: Option<f64>, lost_hours: Option<f64>) -> Measures {
        Measures {
            n: summary.n,
            satisfaction: summary.satisfaction,
            favorable: summary.favorable,
            nps: summary.nps,
            effort,
            lost_hours,
        }
    }

    /// Each target the service set, against this figure.
    pub fn checks(&self, targets: &Targets) -> Vec<Check> {
        let mut out = Vec::new();
        let mut check = |measure: &'static str, target: Option<f64>, value: Option<f64>| {
            if let (Some(target), Some(value)) = (target, value) {
                out.push(Check {
                    measure,
                    target,
                    value,
                    met: value >= target,
                });
            }
        };
        check("satisfaction", targets.satisfaction, self.satisfaction);
        check(
            "favorable",
            targets.favorable,
            self.favorable.map(|f| f * 100.0),
        );
        check("nps", targets.nps, self.nps);
        check("effort", targets.effort, self.effort);
        out
    }
}

/// One target against one figure (`favorable` in percent, as targets are written).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Check {
    pub measure: &'static str,
    pub target: f64,
    pub value: f64,
    pub met: bool,
}

/// Whether a figure keeps the service's promises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// Every target with a figure is met.
    Met,
    /// At least one is missed.
    Missed,
    /// Figures, but no target to compare them with.
    NoTarget,
    /// Nothing to show (no wave yet, or the group is hidden).
    NoFigures,
}

impl Standing {
    pub fn as_str(self) -> &'static str {
        match self {
            Standing::Met => "met",
            Standing::Missed => "missed",
            Standing::NoTarget => "no_target",
            Standing::NoFigures => "no_figures",
        }
    }

    pub fn of(checks: &[Check], shown: bool) -> Standing {
        if !shown {
            Standing::NoFigures
        } else if checks.is_empty() {
            Standing::NoTarget
        } else if checks.iter().all(|c| c.met) {
            Standing::Met
        } else {
            Standing::Missed
        }
    }
}

/// One group's figures in one wave of a source.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    pub survey: String,
    pub wave: String,
    pub opens_at: NaiveDateTime,
    /// An open wave's figures may still change.
    pub provisional: bool,
    pub figures: Gated<Measures>,
    pub checks: Vec<Check>,
    pub standing: Standing,
}

/// How one department rates the service: its points, oldest first.
#[derive(Debug, Clone, Serialize)]
pub struct ConsumerRow {
    pub department: String,
    pub depth: usize,
    /// The department provides the service (its own people rate it).
    pub provider: bool,
    pub points: Vec<Point>,
    /// The newest point with figures shown.
    pub latest: Option<Point>,
}

/// A question the service is rated on, in its newest wave, for the whole audience;
/// listed least favourable first.
#[derive(Debug, Clone, Serialize)]
pub struct QuestionRow {
    pub survey: String,
    pub id: String,
    pub text: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub figures: Gated<QuestionSummary>,
}

/// The catalogue entry as a page shows it, in one language.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceInfo {
    pub id: String,
    pub name: String,
    pub provider: String,
    pub owners: Vec<String>,
    pub description: Option<String>,
    pub levels: Vec<String>,
    pub targets: Targets,
    /// The surveys that rate it.
    pub sources: Vec<String>,
}

impl ServiceInfo {
    fn of(service: &Service, language: &str, sources: Vec<String>) -> ServiceInfo {
        ServiceInfo {
            id: service.id.value.clone(),
            name: service.name.get(language).to_string(),
            provider: service.provider.value.clone(),
            owners: service.owners.iter().map(|o| o.value.clone()).collect(),
            description: service
                .description
                .as_ref()
                .map(|d| d.get(language).to_string()),
            levels: service.levels.get(language).to_vec(),
            targets: service.targets,
            sources,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Scorecard {
    pub service: ServiceInfo,
    /// The viewer sees every consumer department and the comments.
    pub owner_view: bool,
    pub min_group_size: u64,
    /// The whole audience in every source wave, oldest first.
    pub history: Vec<Point>,
    /// The newest whole-audience point with figures shown.
    pub latest: Option<Point>,
    pub consumers: Vec<ConsumerRow>,
    pub questions: Vec<QuestionRow>,
    /// The newest final release's comments on the service's questions (owners only).
    pub comments: Vec<String>,
    pub actions: Vec<crate::actions::Action>,
}

/// One line of the catalogue page.
#[derive(Debug, Clone, Serialize)]
pub struct CatalogueRow {
    pub service: ServiceInfo,
    pub latest: Option<Point>,
    /// Change of the satisfaction index from the point before the latest.
    pub change: Option<f64>,
    pub standing: Standing,
}

/// A wave of a survey that rates at least one catalogue service.
struct SourceWave {
    survey: String,
    wave: crate::waves::Wave,
    definition: Arc<Definition>,
    released: Option<Released>,
    /// Section index of each catalogue service this wave rates.
    sections: Vec<(String, usize)>,
}

/// The waves rating the catalogue's services (only `only`'s when given), oldest
/// first, with their latest releases. `last` keeps only the newest waves of each survey.
fn source_waves(
    conn: &mut Conn,
    catalogue: &Catalogue,
    only: Option<&str>,
    last: Option<usize>,
) -> Result<Vec<SourceWave>, ServiceError> {
    use crate::db::schema::{surveys, waves};
    let rows: Vec<(String, Option<i64>, crate::waves::Wave)> = crate::with_conn!(*conn, c => waves::table
        .inner_join(surveys::table)
        .order((waves::opens_at, waves::id))
        .select((surveys::slug, surveys::current_version_id, crate::waves::Wave::as_select()))
        .load(c))?;
    let mut versions: Vec<i64> = rows
        .iter()
        .flat_map(|(_, current, w)| [Some(w.version_id), *current])
        .flatten()
        .collect();
    versions.sort_unstable();
    versions.dedup();
    let parsed = crate::reports::definitions(conn, &versions)?;
    let by_version: HashMap<i64, Arc<Definition>> = versions
        .into_iter()
        .zip(parsed.into_iter().map(Arc::new))
        .collect();
    let mut out: Vec<SourceWave> = Vec::new();
    for (survey, current, wave) in rows {
        let Some(definition) = by_version.get(&wave.version_id).cloned() else {
            continue;
        };
        // The service a section rates is what the survey says now: naming a section's
        // service today files its earlier waves under it too (sections keep their ids).
        let now = current.and_then(|id| by_version.get(&id));
        let sections: Vec<(String, usize)> = definition
            .sections
            .iter()
            .enumerate()
            .filter_map(|(i, section)| {
                let named = now
                    .and_then(|d| d.section(&section.id))
                    .and_then(|s| catalogue.for_section(s));
                let service = named.or_else(|| catalogue.for_section(section))?;
                only.is_none_or(|id| id == service.id.value)
                    .then(|| (service.id.value.clone(), i))
            })
            .collect();
        if !sections.is_empty() {
            out.push(SourceWave {
                survey,
                wave,
                definition,
                released: None,
                sections,
            });
        }
    }
    if let Some(last) = last {
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut keep = vec![false; out.len()];
        for (i, source) in out.iter().enumerate().rev() {
            let n = seen.entry(source.survey.clone()).or_default();
            if *n < last {
                keep[i] = true;
                *n += 1;
            }
        }
        let mut flags = keep.into_iter();
        out.retain(|_| flags.next().unwrap_or(false));
    }
    let ids: Vec<i64> = out.iter().map(|s| s.wave.id).collect();
    let mut released = release::latest_many(conn, &ids)?;
    for source in &mut out {
        source.released = released.remove(&source.wave.id);
    }
    Ok(out)
}

/// The service's figures in `group` of one source wave.
fn point(
    source: &SourceWave,
    section: usize,
    group: &Group<i64>,
    targets: &Targets,
) -> Result<Option<Point>, ServiceError> {
    let Some(released) = &source.released else {
        return Ok(None);
    };
    let Some(section) = source.definition.sections.get(section) else {
        return Ok(None);
    };
    let counts = released.counts(group);
    let Some(summary) = service_figures(section, &released.disclosure, group, &counts)? else {
        return Ok(None);
    };
    // The scale summary of the section's question of `measure`, where shown.
    let scale = |measure: Measure| -> Result<Option<crate::stats::ScaleSummary>, ServiceError> {
        let Some(question) = section
            .questions
            .iter()
            .find(|q| q.measure == Some(measure))
        else {
            return Ok(None);
        };
        Ok(released
            .disclosure
            .item(group, &question.id.value, ())
            .try_map(|()| counts.summary(question, Confidence::default()))?
            .into_shown()
            .and_then(|s| match s {
                QuestionSummary::Scale(s) => Some(s),
                _ => None,
            }))
    };
    let effort = scale(Measure::Ces)?.and_then(|s| s.mean);
    let lost_hours = scale(Measure::LostTime)?
        .and_then(|s| s.hours)
        .and_then(|h| h.mean_hours);
    let figures = summary.map(|s| Measures::of(&s, effort, lost_hours));
    let checks = figures
        .shown()
        .map(|m| m.checks(targets))
        .unwrap_or_default();
    let standing = Standing::of(&checks, figures.shown().is_some());
    Ok(Some(Point {
        survey: source.survey.clone(),
        wave: source.wave.label.clone(),
        opens_at: source.wave.opens_at,
        provisional: !released.info.is_final,
        figures,
        checks,
        standing,
    }))
}

fn unknown(catalogue: &Catalogue, id: &str) -> ServiceError {
    ServiceError::UnknownService {
        id: id.to_string(),
        known: catalogue.ids().join(", "),
    }
}

/// The scorecard of service `id` as `viewer` may see it.
pub fn scorecard(
    conn: &mut Conn,
    catalogue: &Catalogue,
    id: &str,
    viewer: Viewer<'_>,
) -> Result<Scorecard, ServiceError> {
    let service = catalogue.get(id).ok_or_else(|| unknown(catalogue, id))?;
    let org = Org::load(conn)?;
    let owner_view = viewer.owns(&org, service);
    let sources = source_waves(conn, catalogue, Some(id), None)?;
    let targets = &service.targets;
    let language = &catalogue.language;

    let mut history = Vec::new();
    let shown: Vec<_> = org
        .departments
        .iter()
        .filter(|d| owner_view || viewer.rights.may_see(&org, d.id))
        .collect();
    let ids: Vec<i64> = shown.iter().map(|d| d.id).collect();
    let mut rows: Vec<ConsumerRow> = shown
        .iter()
        .map(|d| ConsumerRow {
            department: d.name.clone(),
            depth: d.depth,
            provider: d.name == service.provider.value,
            points: Vec::new(),
            latest: None,
        })
        .collect();
    for source in &sources {
        for (_, section) in &source.sections {
            if let Some(p) = point(source, *section, &Group::Audience, targets)? {
                history.push(p);
            }
            for (row, department_id) in rows.iter_mut().zip(&ids) {
                if let Some(p) = point(
                    source,
                    *section,
                    &Group::Department(*department_id),
                    targets,
                )? {
                    row.points.push(p);
                }
            }
        }
    }
    for row in &mut rows {
        row.latest = row
            .points
            .iter()
            .rev()
            .find(|p| p.figures.shown().is_some())
            .cloned();
    }
    let latest = history
        .iter()
        .rev()
        .find(|p| p.figures.shown().is_some())
        .cloned();

    // The questions and comments of the newest wave with a release.
    let mut questions = Vec::new();
    let mut comments = Vec::new();
    if let Some(source) = sources.iter().rev().find(|s| s.released.is_some()) {
        if let Some(released) = &source.released {
            let counts = released.counts(&Group::Audience);
            for (_, section) in &source.sections {
                let Some(section) = source.definition.sections.get(*section) else {
                    continue;
                };
                for question in &section.questions {
                    if matches!(question.kind, QuestionKind::Text { .. }) {
                        continue;
                    }
                    let figures = released
                        .disclosure
                        .item(&Group::Audience, &question.id.value, ())
                        .try_map(|()| counts.summary(question, Confidence::default()))?;
                    questions.push(QuestionRow {
                        survey: source.survey.clone(),
                        id: question.id.value.clone(),
                        text: question.text.get(&source.definition.language).to_string(),
                        kind: question.type_name(),
                        figures,
                    });
                }
                if owner_view {
                    let asked: Vec<&str> = section
                        .questions
                        .iter()
                        .filter(|q| matches!(q.kind, QuestionKind::Text { .. }))
                        .map(|q| q.id.value.as_str())
                        .collect();
                    if !asked.is_empty() {
                        if let Some(found) = release::comments(conn, released, &org, None)? {
                            comments.extend(
                                found
                                    .into_iter()
                                    .filter(|c| asked.contains(&c.question.as_str()))
                                    .map(|c| c.text),
                            );
                        }
                    }
                }
            }
        }
    }

    // What to work on first: the least favourable shown first, hidden ones last.
    questions.sort_by(|a, b| {
        let favorable = |q: &QuestionRow| match q.figures.shown() {
            Some(QuestionSummary::Scale(s)) => s.favorable.unwrap_or(f64::INFINITY),
            _ => f64::INFINITY,
        };
        favorable(a).total_cmp(&favorable(b))
    });

    let keys: Vec<String> = sources
        .iter()
        .flat_map(|s| {
            s.sections.iter().filter_map(|(_, i)| {
                s.definition
                    .sections
                    .get(*i)?
                    .service_key()
                    .map(str::to_string)
            })
        })
        .collect();
    let actions = crate::actions::list(conn, viewer.rights, None)?
        .into_iter()
        .filter(|a| a.service.as_ref().is_some_and(|s| keys.contains(s)))
        .collect();

    let mut names: Vec<String> = sources.iter().map(|s| s.survey.clone()).collect();
    names.dedup();
    names.sort();
    names.dedup();
    let min_group_size = sources
        .last()
        .map_or(0, |s| u64::from(s.definition.min_group_size));
    Ok(Scorecard {
        service: ServiceInfo::of(service, language, names),
        owner_view,
        min_group_size,
        history,
        latest,
        consumers: rows,
        questions,
        comments,
        actions,
    })
}

/// Every service of the catalogue with its newest company-wide figures against its
/// targets, and the change since the point before. Reads only the last two waves of
/// each source survey.
pub fn catalogue_rows(
    conn: &mut Conn,
    catalogue: &Catalogue,
) -> Result<Vec<CatalogueRow>, ServiceError> {
    let sources = source_waves(conn, catalogue, None, Some(2))?;
    let mut out = Vec::with_capacity(catalogue.services.len());
    for service in &catalogue.services {
        let mut points = Vec::new();
        let mut names = Vec::new();
        for source in &sources {
            for (id, section) in &source.sections {
                if *id != service.id.value {
                    continue;
                }
                names.push(source.survey.clone());
                if let Some(p) = point(source, *section, &Group::Audience, &service.targets)? {
                    points.push(p);
                }
            }
        }
        names.sort();
        names.dedup();
        let mut shown = points.iter().rev().filter(|p| p.figures.shown().is_some());
        let latest = shown.next().cloned();
        let before = shown.next();
        let satisfaction = |p: &Point| p.figures.shown().and_then(|m| m.satisfaction);
        let change = match (
            latest.as_ref().and_then(satisfaction),
            before.and_then(satisfaction),
        ) {
            (Some(now), Some(then)) => Some(now - then),
            _ => None,
        };
        let standing = latest.as_ref().map_or(Standing::NoFigures, |p| p.standing);
        out.push(CatalogueRow {
            service: ServiceInfo::of(service, &catalogue.language, names),
            latest,
            change,
            standing,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measures(satisfaction: f64, favorable: f64) -> Measures {
        Measures {
            n: 40,
            satisfaction: Some(satisfaction),
            favorable: Some(favorable),
            nps: None,
            effort: None,
            lost_hours: None,
        }
    }

    #[test]
    fn targets_are_met_at_or_above_and_favourable_compares_in_percent() {
        let targets = Targets {
            satisfaction: Some(75.0),
            favorable: Some(80.0),
            nps: Some(10.0),
            ..Targets::default()
        };
        let checks = measures(75.0, 0.79).checks(&targets);
        // No NPS figure: that target is not checked.
        assert_eq!(checks.len(), 2);
        assert!(checks[0].met, "75 meets 75");
        assert!(!checks[1].met, "79% misses 80%");
        assert!((checks[1].value - 79.0).abs() < 1e-9);
        assert_eq!(Standing::of(&checks, true), Standing::Missed);
        assert_eq!(
            Standing::of(&measures(90.0, 0.9).checks(&targets), true),
            Standing::Met
        );
        assert_eq!(
            Standing::of(&measures(90.0, 0.9).checks(&Targets::default()), true),
            Standing::NoTarget
        );
        assert_eq!(Standing::of(&[], false), Standing::NoFigures);
    }
}
