//! What the results pages, the JSON API and the CSV downloads read, already cut to the
//! account's rights. Blocking functions of a connection; handlers run them with
//! `Db::run`.

use std::sync::Arc;

use diesel::prelude::*;
use serde::Serialize;

use super::cache::DefinitionCache;
use crate::auth::rights::{scope_report, DepartmentViewError, Refused, ScopedReport};
use crate::auth::Rights;
use crate::db::schema::{mail_outbox, surveys};
use crate::db::{Conn, DbError};
use crate::definitions::Definition;
use crate::reports::org::Org;
use crate::reports::wave::Comment;
use crate::reports::{self, ReportError, WaveQuery};
use crate::waves::Wave;

#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    #[error("{0}")]
    Refused(#[from] Refused),
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Report(ReportError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<ReportError> for ViewError {
    fn from(e: ReportError) -> Self {
        match e {
            ReportError::UnknownWave { .. }
            | ReportError::NoWaves(_)
            | ReportError::UnknownDepartment { .. }
            | ReportError::Survey(crate::surveys::SurveyError::UnknownSurvey(..)) => {
                ViewError::NotFound(e.to_string())
            }
            ReportError::Db(e) => ViewError::Db(e),
            e => ViewError::Report(e),
        }
    }
}

/// An action's problem as a view says it: what to fix or what is missing (404), or the
/// database's trouble.
impl From<crate::actions::ActionError> for ViewError {
    fn from(e: crate::actions::ActionError) -> Self {
        match e {
            crate::actions::ActionError::Db(e) => ViewError::Db(e),
            e => ViewError::NotFound(e.to_string()),
        }
    }
}

impl From<crate::publishing::PublishError> for ViewError {
    fn from(e: crate::publishing::PublishError) -> Self {
        use crate::publishing::PublishError;
        match e {
            PublishError::Db(e) => ViewError::Db(e),
            PublishError::Report(e) => ViewError::from(e),
            e => ViewError::NotFound(e.to_string()),
        }
    }
}

impl From<crate::waves::WaveError> for ViewError {
    fn from(e: crate::waves::WaveError) -> Self {
        ViewError::Report(ReportError::BadFilter(e.to_string()))
    }
}

impl From<crate::mail::MailError> for ViewError {
    fn from(e: crate::mail::MailError) -> Self {
        ViewError::Report(ReportError::BadFilter(e.to_string()))
    }
}

impl From<diesel::result::Error> for ViewError {
    fn from(e: diesel::result::Error) -> Self {
        ViewError::Db(DbError::Query(e))
    }
}

/// A survey as the dashboards list it.
#[derive(Debug, Clone, Serialize)]
pub struct SurveyEntry {
    pub id: String,
    pub title: String,
    pub schedule: String,
    pub next_wave: Option<String>,
    pub waves: Vec<WaveEntry>,
    /// The survey's timezone, for times shown beside it.
    #[serde(skip)]
    pub zone: Option<chrono_tz::Tz>,
}

impl SurveyEntry {
    /// A UTC moment in the survey's own zone, named.
    pub fn local(&self, t: chrono::NaiveDateTime) -> String {
        local_time(self.zone, t)
    }
}

/// A UTC moment in `zone` (UTC without one), named, as the survey's emails give it.
pub fn local_time(zone: Option<chrono_tz::Tz>, t: chrono::NaiveDateTime) -> String {
    use chrono::TimeZone;
    let utc = chrono::Utc.from_utc_datetime(&t);
    match zone {
        Some(tz) => utc
            .with_timezone(&tz)
            .format("%Y-%m-%d %H:%M %Z")
            .to_string(),
        None => utc.format("%Y-%m-%d %H:%M UTC").to_string(),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct WaveEntry {
    pub label: String,
    pub status: String,
    pub opens_at: String,
    pub closes_at: Option<String>,
    /// Company-wide participation: admins only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invited: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub responded: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// `rate` as pages show it, e.g. "68%" (admins only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mail_queued: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mail_sent: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mail_failed: Option<u64>,
    /// An open wave that closes within [`CLOSING_SOON`].
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub closing_soon: bool,
}

fn schedule_text(definition: &Definition) -> (String, Option<String>) {
    use crate::definitions::ScheduleKind;
    match &definition.schedule {
        None => ("opened by hand".into(), None),
        Some(s) => {
            let kind = match s.kind {
                ScheduleKind::Once => "once".to_string(),
                ScheduleKind::Annual => "every year".to_string(),
                ScheduleKind::Pulse { every, sample } => match sample {
                    Some(share) => {
                        format!("pulse every {every}, {:.0}% asked each time", share * 100.0)
                    }
                    None => format!("pulse every {every}"),
                },
            };
            let next = s.next_opening(chrono::Utc::now()).map(|t| {
                t.with_timezone(&s.timezone)
                    .format("%Y-%m-%d %H:%M %Z")
                    .to_string()
            });
            (format!("{kind}, open for {}", s.open_for), next)
        }
    }
}

/// Every survey with its waves (participation and mail for admins only).
/// How near its closing an open wave is flagged on the dashboard: time for one more
/// reminder.
pub const CLOSING_SOON: chrono::TimeDelta = chrono::TimeDelta::days(3);

pub fn surveys(conn: &mut Conn, rights: Rights) -> Result<Vec<SurveyEntry>, ViewError> {
    let slugs: Vec<String> = crate::with_conn!(*conn, c => surveys::table
        .order(surveys::slug)
        .select(surveys::slug)
        .load(c))?;
    let statuses = crate::waves::status::list(conn)?;
    let now = crate::db::now();
    let mut out = Vec::new();
    for slug in slugs {
        let (title, schedule, next_wave, zone) = match crate::surveys::current(conn, &slug) {
            Ok((_, definition)) => {
                let (schedule, next) = schedule_text(&definition);
                (
                    definition.title.get(&definition.language).to_string(),
                    schedule,
                    next,
                    Some(crate::waves::lifecycle::timezone(&definition)),
                )
            }
            Err(_) => (slug.clone(), "no current definition".into(), None, None),
        };
        // Times in the survey's own zone, named, as its emails give them.
        let local = |t: chrono::NaiveDateTime| local_time(zone, t);
        let admin = rights.is_admin();
        let waves = statuses
            .iter()
            .filter(|w| w.survey == slug)
            .map(|w| WaveEntry {
                label: w.label.clone(),
                status: w.status.clone(),
                opens_at: local(w.opens_at_utc),
                closes_at: w.closes_at_utc.map(local),
                invited: admin.then_some(w.invited),
                responded: admin.then_some(w.responded),
                rate: if admin { w.rate } else { None },
                rate_text: admin.then(|| percent(w.rate)),
                mail_queued: admin.then_some(w.mail_queued),
                mail_sent: admin.then_some(w.mail_sent),
                mail_failed: admin.then_some(w.mail_failed),
                closing_soon: w.status == "open"
                    && w.closes_at_utc.is_some_and(|t| t - now < CLOSING_SOON),
            })
            .collect();
        out.push(SurveyEntry {
            id: slug,
            title,
            schedule,
            next_wave,
            waves,
            zone,
        });
    }
    Ok(out)
}

/// A wave and its parsed definition.
pub fn wave(
    conn: &mut Conn,
    cache: &DefinitionCache,
    survey: &str,
    label: Option<&str>,
) -> Result<(Wave, Arc<Definition>), ViewError> {
    let Some(survey_id) = crate::waves::survey_id(conn, survey)? else {
        return Err(ViewError::NotFound(format!(
            "there is no survey {survey:?}"
        )));
    };
    let waves = crate::waves::of_survey(conn, survey_id)?;
    let found = match label {
        None => waves.last().cloned(),
        Some(label) => waves.into_iter().find(|w| w.label == label),
    };
    let Some(wave) = found else {
        return Err(ViewError::NotFound(match label {
            Some(label) => format!("survey {survey} has no wave {label:?}"),
            None => format!("survey {survey} has no waves yet"),
        }));
    };
    let definition = cache.get(conn, wave.version_id)?;
    Ok((wave, definition))
}

/// The department a view shows, checked against the account's rights.
pub fn department(
    org: &Org,
    rights: Rights,
    requested: Option<&str>,
) -> Result<Option<i64>, ViewError> {
    rights.department_view(org, requested).map_err(|e| match e {
        DepartmentViewError::Refused(r) => ViewError::Refused(r),
        DepartmentViewError::Unknown(known) => ViewError::NotFound(format!(
            "there is no department {:?}; departments: {known}",
            requested.unwrap_or_default()
        )),
    })
}

/// A wave's report as the account may read it, with what pages need around it.
pub struct WaveView {
    pub wave: Wave,
    pub definition: Arc<Definition>,
    pub org: Org,
    /// The department viewed; `None`: the company.
    pub department: Option<i64>,
    pub report: ScopedReport,
    /// Question ids in the definition's order.
    pub order: Vec<String>,
}

pub fn wave_view(
    conn: &mut Conn,
    cache: &DefinitionCache,
    rights: Rights,
    survey: &str,
    label: Option<&str>,
    requested_department: Option<&str>,
) -> Result<WaveView, ViewError> {
    let org = Org::load(conn)?;
    let department = department(&org, rights, requested_department)?;
    let (wave, definition) = wave(conn, cache, survey, label)?;
    let (full, order) = reports::wave_report(
        conn,
        &WaveQuery {
            survey,
            wave: Some(&wave.label),
            department: None,
            filters: &[],
        },
    )?;
    let services = definition.services();
    let services = rights.services(&org, &services);
    let report = scope_report(&full, &org, department, &services);
    Ok(WaveView {
        wave,
        definition,
        org,
        department,
        report,
        order,
    })
}

/// The trend of the department a view shows (checked), or of the company.
pub fn trend(
    conn: &mut Conn,
    rights: Rights,
    survey: &str,
    requested_department: Option<&str>,
    company: bool,
) -> Result<crate::reports::trend::TrendReport, ViewError> {
    trend_last(conn, rights, survey, requested_department, company, None)
}

/// [`trend`] of the last `last` waves only (see `reports::trend_report_last`).
pub fn trend_last(
    conn: &mut Conn,
    rights: Rights,
    survey: &str,
    requested_department: Option<&str>,
    company: bool,
    last: Option<usize>,
) -> Result<crate::reports::trend::TrendReport, ViewError> {
    let org = Org::load(conn)?;
    let department = if company {
        None
    } else {
        department(&org, rights, requested_department)?
    };
    let name = department.and_then(|d| org.name(d)).map(str::to_string);
    Ok(reports::trend_report_last(
        conn,
        survey,
        name.as_deref(),
        last,
    )?)
}

/// The comments of the viewed group, when its comments may be shown: only then are they
/// read at all. `None`: withheld (the group is under the comment threshold, or showing
/// them could be differenced against another group's).
pub fn comments(conn: &mut Conn, view: &WaveView) -> Result<Option<Vec<Comment>>, ViewError> {
    let shown = reports::comments::shown(conn, view.wave.id, &view.org, view.department)?;
    Ok(shown.map(|comments| {
        comments
            .into_iter()
            .map(|c| Comment {
                text: c.text.trim().to_string(),
                ..c
            })
            .collect()
    }))
}

/// Invitations and answers of one group of departments; both `None` (and the rate
/// text saying why) for a group with fewer invitees than the survey's threshold: who
/// answered when, in a group that small, comes too close to who answered what.
#[derive(Debug, Clone, Serialize)]
pub struct RateRow {
    pub department: String,
    pub depth: usize,
    pub invited: Option<u64>,
    pub responded: Option<u64>,
    pub rate: Option<f64>,
    pub rate_text: String,
}

/// A rate as pages show it.
pub fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "–".to_string(), |r| format!("{:.0}%", r * 100.0))
}

/// Response rates: for an admin, the company and each department with its subtree; for
/// a head, their own subtree's departments.
pub fn rates(conn: &mut Conn, view: &WaveView, rights: Rights) -> Result<Vec<RateRow>, ViewError> {
    let direct = crate::waves::status::answered_by_department(conn, view.wave.id)?;
    let total = |members: &[i64]| -> (u64, u64) {
        members.iter().fold((0, 0), |(i, r), d| {
            let (di, dr) = direct.get(d).copied().unwrap_or_default();
            (i + di, r + dr)
        })
    };
    let min = u64::from(view.definition.min_group_size);
    let row = |name: String, depth: usize, (invited, responded): (u64, u64)| {
        if invited < min {
            return RateRow {
                department: name,
                depth,
                invited: None,
                responded: None,
                rate: None,
                rate_text: format!("fewer than {min} invited"),
            };
        }
        let rate = Some(responded as f64 / invited as f64);
        RateRow {
            department: name,
            depth,
            invited: Some(invited),
            responded: Some(responded),
            rate,
            rate_text: percent(rate),
        }
    };
    let mut out = Vec::new();
    // Company-wide participation is for admins only, as in the API's wave list.
    if rights.is_admin() {
        let all: Vec<i64> = view.org.departments.iter().map(|d| d.id).collect();
        out.push(row("Whole company".into(), 0, total(&all)));
    }
    for d in view.org.in_scope(view.department) {
        if !rights.may_see(&view.org, d.id) {
            continue;
        }
        let t = total(&view.org.subtree(d.id));
        if t.0 > 0 {
            out.push(row(d.name.clone(), d.depth, t));
        }
    }
    Ok(out)
}

/// Failures listed per page of the wave page's mail section.
pub const MAIL_PAGE: usize = 50;

/// A wave's undelivered mail as its page shows it: grouped by reason, and one page of
/// the messages.
#[derive(Debug, Clone, Serialize)]
pub struct MailProblems {
    pub total: usize,
    pub groups: Vec<crate::mail::FailureGroup>,
    pub listed: Vec<crate::mail::Failure>,
    /// 1-based.
    pub page: usize,
    pub pages: usize,
}

pub fn mail_problems(
    conn: &mut Conn,
    wave_id: i64,
    page: usize,
) -> Result<MailProblems, ViewError> {
    let failed = crate::mail::failed(conn, wave_id)?;
    let pages = failed.len().div_ceil(MAIL_PAGE).max(1);
    let page = page.clamp(1, pages);
    Ok(MailProblems {
        total: failed.len(),
        groups: crate::mail::failure_groups(&failed),
        listed: failed
            .iter()
            .skip((page - 1) * MAIL_PAGE)
            .take(MAIL_PAGE)
            .cloned()
            .collect(),
        page,
        pages,
    })
}

/// The survey and wave a queued message belongs to (to return to its page).
pub fn mail_wave(conn: &mut Conn, outbox_id: i64) -> Result<Option<(String, String)>, ViewError> {
    use crate::db::schema::waves;
    let found: Option<(String, String)> = crate::with_conn!(*conn, c => mail_outbox::table
        .inner_join(waves::table.on(mail_outbox::wave_id.eq(waves::id.nullable())))
        .inner_join(surveys::table.on(waves::survey_id.eq(surveys::id)))
        .filter(mail_outbox::id.eq(outbox_id))
        .select((surveys::slug, waves::label))
        .first(c)
        .optional())?;
    Ok(found)
}

/// A filtered view of the viewed group (one report dimension value of a closed wave), as
/// pages and the API show it: its report, or why it is refused.
#[derive(Debug, Clone, Serialize)]
pub struct FilteredView {
    /// `location=Munich`.
    pub filter: String,
    /// The group viewed: a department, or `None` for the whole company.
    pub department: Option<String>,
    pub report: Option<crate::reports::wave::WaveReport>,
    /// Shown instead of figures: what was refused and why, in words for the reader.
    pub refused: Option<String>,
    /// The report's questions as a page lists them.
    pub rows: Vec<FilteredRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FilteredRow {
    pub question: String,
    pub n: Option<u64>,
    pub figure: String,
}

/// The dimension values the viewed group may be filtered by: those its closed wave's
/// classes carry within the group (`location=Munich`). Empty for an open wave.
pub fn filter_options(conn: &mut Conn, view: &WaveView) -> Result<Vec<String>, ViewError> {
    if view.wave.status != "closed" || view.definition.report_by.is_empty() {
        return Ok(Vec::new());
    }
    let Some(cube) = crate::reports::cube::load(conn, view.wave.id)? else {
        return Ok(Vec::new());
    };
    let members: Option<std::collections::HashSet<i64>> = view
        .department
        .map(|d| view.org.subtree(d).into_iter().collect());
    let mut options: Vec<String> = cube
        .classes
        .iter()
        .filter(|c| match &members {
            None => true,
            Some(m) => c.department.is_some_and(|d| m.contains(&d)),
        })
        .flat_map(|c| c.attributes.iter().map(|(k, v)| format!("{k}={v}")))
        .collect();
    options.sort();
    options.dedup();
    Ok(options)
}

/// The viewed group restricted to `filter` (`DIMENSION=VALUE`), audited against every
/// view shown of the wave (`reports::filtered`). A refusal is part of the answer, not an
/// error: pages say it where the figures would be.
pub fn filtered(conn: &mut Conn, view: &WaveView, filter: &str) -> Result<FilteredView, ViewError> {
    let department = view
        .department
        .and_then(|d| view.org.name(d))
        .map(str::to_string);
    let refusal = |reason: String| FilteredView {
        filter: filter.to_string(),
        department: department.clone(),
        report: None,
        refused: Some(reason),
        rows: Vec::new(),
    };
    let parsed = match crate::reports::counts::AttributeFilter::parse(filter) {
        Ok(f) => f,
        Err(reason) => return Ok(refusal(reason)),
    };
    let query = crate::reports::filtered::ViewQuery {
        wave_id: view.wave.id,
        wave_label: &view.wave.label,
        scope: view.department,
        filters: std::slice::from_ref(&parsed),
    };
    let report = match crate::reports::filtered::view(conn, &view.definition, &view.org, &query) {
        Ok(report) => report,
        Err(e @ (ReportError::FilterRefused { .. } | ReportError::BadFilter(_))) => {
            return Ok(refusal(e.to_string()))
        }
        Err(e) => return Err(e.into()),
    };
    let rows = match report.groups.first().and_then(|g| g.content()) {
        None => Vec::new(),
        Some(figures) => view
            .definition
            .questions()
            .map(|(_, q)| {
                let gated = figures.questions.get(&q.id.value);
                let (n, figure) = match gated.and_then(|g| g.shown()) {
                    None => (
                        None,
                        format!("fewer than {} answers", view.definition.min_group_size),
                    ),
                    Some(summary) => summary_text(summary),
                };
                FilteredRow {
                    question: q.text.default.clone(),
                    n,
                    figure,
                }
            })
            .collect(),
    };
    Ok(FilteredView {
        filter: filter.to_string(),
        department,
        report: Some(report),
        refused: None,
        rows,
    })
}

/// One question's figures in a few words: favourable share and mean, an (e)NPS, or how
/// many answered.
fn summary_text(summary: &crate::stats::QuestionSummary) -> (Option<u64>, String) {
    use crate::stats::QuestionSummary;
    match summary {
        QuestionSummary::Scale(s) => (
            Some(s.n),
            match (s.favorable, s.mean, s.hours.and_then(|h| h.mean_hours)) {
                (Some(f), _, Some(h)) => {
                    format!("{:.0}% favourable, mean {h:.2} hours lost", f * 100.0)
                }
                (Some(f), Some(m), None) => {
                    format!("{:.0}% favourable, mean {m:.2}", f * 100.0)
                }
                _ => "–".to_string(),
            },
        ),
        QuestionSummary::Nps(s) => (
            Some(s.n),
            s.enps.map_or("–".to_string(), |e| format!("score {e:.0}")),
        ),
        QuestionSummary::Choice(c) => (
            Some(c.n),
            c.options
                .iter()
                .map(|o| format!("{} {:.0}%", o.option, o.share.unwrap_or(0.0) * 100.0))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        QuestionSummary::Text(t) => (
            Some(t.n),
            format!("{} comments (not shown in filtered views)", t.n),
        ),
    }
}
