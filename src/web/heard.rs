//! "What we heard": a wave's published results. Employees open it by the link in their
//! mail (`GET /heard/{token}`); heads and HR signed in
//! (`GET /results/{survey}/waves/{label}/heard`); HR previews exactly what a department's
//! employees will see and publishes or unpublishes it
//! (`GET /admin/surveys/{survey}/waves/{label}/heard`, `POST .../publish`, `.../unpublish`).
//!
//! The page reads the wave's final release, cut as a head's view of the department is:
//! the whole company, the department with its subtree (each group only where the release
//! shows it), how the company rates each service; never a comment. Beside each result,
//! the actions that answer it. Rendered pages are kept per wave, department, release and
//! state of the survey's actions, so an employee's request is two lookups and a copy.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use tera::Context;

use super::access::{self, Denied, Output, Signed};
use super::charts::Unit;
use super::data::{self, ViewError, WaveView};
use super::results::nav;
use super::AppState;
use crate::actions::{self, Action};
use crate::auth::rights::Rights;
use crate::definitions::QuestionKind;
use crate::publishing::{self, Publication, PublishError};
use crate::stats::QuestionSummary;

/// One figure as the page shows it: "68%" and "favourable", or "–" and why.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    pub text: String,
    pub sub: String,
    pub shown: bool,
}

fn hidden(why: String) -> Figure {
    Figure {
        text: "–".into(),
        sub: why,
        shown: false,
    }
}

/// An action as the page lists it.
#[derive(Debug, Clone, Serialize)]
pub struct ActionLine {
    pub title: String,
    pub description: String,
    pub status: &'static str,
    pub status_class: &'static str,
    /// Since when it has its status ("since 3 March 2027").
    pub since: String,
    pub latest: Option<String>,
    pub by: String,
    pub due: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct QuestionRow {
    pub id: String,
    pub text: String,
    pub company: Figure,
    pub department: Option<Figure>,
    pub actions: Vec<ActionLine>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SectionBlock {
    pub title: String,
    pub rows: Vec<QuestionRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceRow {
    pub service: String,
    pub company: Figure,
    pub department: Option<Figure>,
    pub actions: Vec<ActionLine>,
}

/// Everything the page shows.
#[derive(Debug, Clone, Serialize)]
pub struct HeardPage {
    pub survey_title: String,
    pub wave: String,
    pub min_group_size: u64,
    pub department: Option<String>,
    /// Why the department's own figures are not shown, when they are not.
    pub department_note: Option<String>,
    pub rate: Option<String>,
    pub sections: Vec<SectionBlock>,
    pub services: Vec<ServiceRow>,
    /// Every action that concerns the reader, whatever it answers.
    pub actions: Vec<ActionLine>,
    /// The comments HR marked as shareable, where the definition allows it.
    pub comments: Vec<SharedComment>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SharedComment {
    pub question: String,
    pub text: String,
}

fn day(t: NaiveDateTime) -> String {
    t.format("%-d %B %Y").to_string()
}

fn line(action: &Action) -> ActionLine {
    let since = action
        .updates
        .iter()
        .rev()
        .take_while(|u| u.status == action.status)
        .last()
        .map_or(action.created_at, |u| u.at);
    let latest = action
        .updates
        .iter()
        .rev()
        .find(|u| !u.note.is_empty() && u.note != actions::CREATED_NOTE)
        .map(|u| format!("{}: {}", day(u.at), u.note));
    ActionLine {
        title: action.title.clone(),
        description: action.description.clone(),
        status: action.status.words(),
        status_class: action.status.as_str(),
        since: day(since),
        latest,
        by: match &action.service {
            Some(service) => format!("{service}, for its internal customers"),
            None => action.department.clone(),
        },
        due: action.due_on.map(|d| d.format("%-d %B %Y").to_string()),
    }
}

fn question_figure(
    group: &crate::stats::GroupReport<crate::reports::wave::GroupFigures>,
    id: &str,
    min: u64,
) -> Figure {
    let Some(figures) = group.content() else {
        return hidden(super::views::withheld(group.suppression(), min));
    };
    match figures.questions.get(id) {
        None => hidden(format!("fewer than {min}")),
        Some(gated) => match gated.shown() {
            None => hidden(super::views::withheld(gated.suppression(), min)),
            Some(QuestionSummary::Scale(s)) => match s.favorable {
                Some(f) => Figure {
                    text: Unit::Share.format(f),
                    sub: "favourable".into(),
                    shown: true,
                },
                None => hidden("no answers".into()),
            },
            Some(QuestionSummary::Nps(s)) => match s.enps {
                Some(e) => Figure {
                    text: Unit::Points.format(e),
                    sub: "net score".into(),
                    shown: true,
                },
                None => hidden("no answers".into()),
            },
            Some(_) => hidden(format!("fewer than {min}")),
        },
    }
}

fn service_figure(rating: Option<&crate::auth::rights::ServiceRating>, min: u64) -> Figure {
    match rating.and_then(|r| r.figures.as_ref()) {
        Some(f) => match f.favorable {
            Some(fav) => Figure {
                text: Unit::Share.format(fav),
                sub: match f.satisfaction {
                    Some(index) => format!("favourable · index {index:.0}"),
                    None => "favourable".into(),
                },
                shown: true,
            },
            None => hidden("no answers".into()),
        },
        None => hidden(format!("fewer than {min}")),
    }
}

/// The page of `view` (a department's, or the company's) with the actions that concern
/// its readers. Pure: what the release shows, cut and labelled.
pub fn page(
    view: &WaveView,
    actions: &[Action],
    rate: Option<String>,
    shared: &[publishing::Shareable],
) -> HeardPage {
    let report = &view.report;
    let definition = &view.definition;
    let min = report.min_group_size;
    let lang = &definition.language;
    let company = report.groups.first();
    let department_name = view.department.and_then(|d| view.org.name(d));
    let department = department_name
        .and_then(|name| report.groups.iter().find(|g| g.department() == Some(name)));
    let concerns = |a: &Action| match department_name {
        Some(name) => a.concerns(&view.org, name),
        None => true,
    };
    let relevant: Vec<&Action> = actions.iter().filter(|a| concerns(a)).collect();
    let sections = definition
        .sections
        .iter()
        .filter_map(|section| {
            let rows: Vec<QuestionRow> = section
                .questions
                .iter()
                .filter(|q| {
                    matches!(
                        q.kind,
                        QuestionKind::Likert { .. }
                            | QuestionKind::Rating { .. }
                            | QuestionKind::Enps
                            | QuestionKind::Nps
                    )
                })
                .map(|q| QuestionRow {
                    id: q.id.value.clone(),
                    text: q.text.get(lang).to_string(),
                    company: company.map_or_else(
                        || hidden(format!("fewer than {min}")),
                        |g| question_figure(g, &q.id.value, min),
                    ),
                    department: department.map(|g| question_figure(g, &q.id.value, min)),
                    actions: relevant
                        .iter()
                        .filter(|a| {
                            !a.questions.is_empty() && a.answers_question(definition, &q.id.value)
                        })
                        .map(|a| line(a))
                        .collect(),
                })
                .collect();
            (!rows.is_empty()).then(|| SectionBlock {
                title: section.title.get(lang).to_string(),
                rows,
            })
        })
        .collect();
    let services = report
        .service_ratings
        .iter()
        .map(|s| ServiceRow {
            service: s.service.clone(),
            company: service_figure(s.by_department.first(), min),
            department: department_name.map(|name| {
                service_figure(
                    s.by_department
                        .iter()
                        .find(|r| r.department.as_deref() == Some(name)),
                    min,
                )
            }),
            actions: relevant
                .iter()
                .filter(|a| a.service.as_deref() == Some(s.service.as_str()))
                .map(|a| line(a))
                .collect(),
        })
        .collect();
    let department_note = match (department_name, department) {
        (Some(_), Some(g)) if g.content().is_none() => Some(format!(
            "Your department's own results are not shown: {} responses.",
            super::views::withheld(g.suppression(), min)
        )),
        (Some(_), None) => Some(format!(
            "Your department's own results are not shown: fewer than {min} responses."
        )),
        _ => None,
    };
    HeardPage {
        survey_title: definition.title.get(lang).to_string(),
        wave: view.wave.label.clone(),
        min_group_size: min,
        department: department_name.map(str::to_string),
        department_note,
        rate,
        sections,
        services,
        actions: relevant.iter().map(|a| line(a)).collect(),
        comments: shared
            .iter()
            .filter(|c| c.shared)
            .map(|c| SharedComment {
                question: definition
                    .question(&c.question)
                    .map_or_else(|| c.question.clone(), |q| q.text.get(lang).to_string()),
                text: c.text.clone(),
            })
            .collect(),
    }
}

/// The response rate the page states: the company's, and the department's where at
/// least the threshold was invited.
fn rate_text(conn: &mut crate::db::Conn, view: &WaveView) -> Result<Option<String>, ViewError> {
    let direct = crate::waves::status::answered_by_department(conn, view.wave.id)?;
    let total = |members: &[i64]| {
        members.iter().fold((0u64, 0u64), |(i, r), d| {
            let (di, dr) = direct.get(d).copied().unwrap_or_default();
            (i + di, r + dr)
        })
    };
    let all: Vec<i64> = view.org.departments.iter().map(|d| d.id).collect();
    let (invited, responded) = total(&all);
    if invited == 0 {
        return Ok(None);
    }
    let mut text = format!(
        "{responded} of {invited} people answered ({})",
        data::percent(Some(responded as f64 / invited as f64))
    );
    if let Some(d) = view.department {
        let (di, dr) = total(&view.org.subtree(d));
        if di >= u64::from(view.definition.min_group_size) {
            text.push_str(&format!(
                "; in {}, {dr} of {di} ({})",
                view.org.name(d).unwrap_or("your department"),
                data::percent(Some(dr as f64 / di as f64))
            ));
        }
    }
    Ok(Some(text))
}

/// A kept page's key: wave, department, release and the actions' state.
type PageKey = (i64, Option<i64>, u32, String);

/// Rendered pages by [`PageKey`].
#[derive(Default)]
pub struct HeardCache {
    pages: Mutex<HashMap<PageKey, Arc<String>>>,
}

/// More kept pages than this (departments × published waves) starts the cache afresh.
const KEPT_PAGES: usize = 2048;

impl HeardCache {
    fn get(&self, key: &PageKey) -> Option<Arc<String>> {
        self.pages.lock().ok()?.get(key).cloned()
    }

    fn put(&self, key: PageKey, page: Arc<String>) {
        if let Ok(mut pages) = self.pages.lock() {
            if pages.len() >= KEPT_PAGES {
                pages.clear();
            }
            pages.insert(key, page);
        }
    }
}

/// How the survey's actions stand: their number and latest change, so a kept page is
/// rendered again when an action changes.
fn actions_stamp(conn: &mut crate::db::Conn, survey: &str) -> Result<String, ViewError> {
    use crate::db::schema::actions;
    let (count, latest): (i64, Option<NaiveDateTime>) = crate::with_conn!(*conn, c => actions::table
        .filter(actions::survey.eq(survey))
        .select((diesel::dsl::count_star(), diesel::dsl::max(actions::updated_at)))
        .first(c))?;
    use crate::db::schema::shared_comments;
    let (marked, last): (i64, Option<NaiveDateTime>) = crate::with_conn!(*conn, c => shared_comments::table
        .select((diesel::dsl::count_star(), diesel::dsl::max(shared_comments::marked_at)))
        .first(c))?;
    Ok(format!("{count}:{latest:?}:{marked}:{last:?}"))
}

/// What a request of the page needs: the view, the actions, the rate.
struct Loaded {
    view: WaveView,
    actions: Vec<Action>,
    rate: Option<String>,
    publication: Option<Publication>,
    /// The release's comments with HR's marks, when the survey shares comments.
    comments: Vec<publishing::Shareable>,
    share_comments: bool,
}

fn load(
    conn: &mut crate::db::Conn,
    cache: &crate::web::cache::DefinitionCache,
    survey: &str,
    label: &str,
    department: Option<&str>,
) -> Result<Loaded, ViewError> {
    // The page is cut as a head's view of the department (HR's, for the company).
    let view = data::wave_view(conn, cache, Rights::Admin, survey, Some(label), department)?;
    let actions = actions::list(conn, Rights::Admin, Some(survey))?;
    let rate = rate_text(conn, &view)?;
    let publication = publishing::find(conn, view.wave.id)?;
    // Sharing comments is a policy of the survey as it stands now, not at the wave.
    let share_comments = crate::surveys::current(conn, survey)
        .map(|(_, d)| d.share_comments)
        .unwrap_or(false);
    let comments = if share_comments {
        publishing::shareable(conn, view.wave.id)?
    } else {
        Vec::new()
    };
    Ok(Loaded {
        view,
        actions,
        rate,
        publication,
        comments,
        share_comments,
    })
}

fn render(
    state: &AppState,
    loaded: &Loaded,
    extra: impl FnOnce(&mut Context),
) -> Result<String, tera::Error> {
    let heard = page(
        &loaded.view,
        &loaded.actions,
        loaded.rate.clone(),
        &loaded.comments,
    );
    let mut context = Context::new();
    context.insert(
        "page_title",
        &format!("What we heard: {}", heard.survey_title),
    );
    context.insert("heard", &heard);
    context.insert("help", &state.config.help_contact);
    context.insert("lang", &loaded.view.definition.language);
    context.insert(
        "p",
        &crate::i18n::words(&loaded.view.definition.language).section("page", &[]),
    );
    extra(&mut context);
    state.pages.render_html("heard/page.html", &context)
}

fn html(body: String) -> HttpResponse {
    super::pages::Pages::html(StatusCode::OK, body)
}

fn gone(state: &AppState) -> HttpResponse {
    state.pages.app_message(
        StatusCode::NOT_FOUND,
        "These results are not shared",
        &["This link is not valid, or the results it showed are no longer shared. The most recent results come by email when they are published.".into()],
        &state.config.help_contact,
    )
}

/// `GET /heard/{token}`: an employee's page, by the link from their mail.
pub async fn employee(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
) -> HttpResponse {
    let token = token.into_inner();
    let cache = state.definitions.clone();
    let kept = state.heard.clone();
    let found = state
        .db
        .run(move |conn| -> Result<_, ViewError> {
            let now = crate::db::now();
            let Some((wave_id, department_id)) = publishing::link(conn, &token, now)? else {
                return Ok(None);
            };
            let Some((wave, survey)) = crate::waves::by_id(conn, wave_id)? else {
                return Ok(None);
            };
            let seq = crate::reports::release::latest_seq(conn, wave_id)?;
            let stamp = actions_stamp(conn, &survey)?;
            let key = (wave_id, Some(department_id), seq, stamp);
            if let Some(page) = kept.get(&key) {
                return Ok(Some(Ok(page)));
            }
            let org = crate::reports::org::Org::load(conn)?;
            let department = org.name(department_id).map(str::to_string);
            let loaded = load(conn, &cache, &survey, &wave.label, department.as_deref())?;
            Ok(Some(Err((key, Box::new(loaded)))))
        })
        .await;
    match found {
        Ok(None) => {
            if let Err(wait) = state.limiter.hit(&access::client(&state, &req)) {
                let mut page = gone(&state);
                super::limits::set_retry_after(&mut page, wait);
                return page;
            }
            gone(&state)
        }
        Ok(Some(Ok(page))) => html(page.as_ref().clone()),
        Ok(Some(Err((key, loaded)))) => match render(&state, &loaded, |_| {}) {
            Ok(body) => {
                let body = Arc::new(body);
                state.heard.put(key, body.clone());
                html(body.as_ref().clone())
            }
            Err(e) => {
                tracing::error!(error = %e, "the published results failed to render");
                Denied::Unavailable.respond(&state, Output::Html)
            }
        },
        Err(e) => Denied::from(e).respond(&state, Output::Html),
    }
}

#[derive(serde::Deserialize)]
pub struct HeardQuery {
    department: Option<String>,
    published: Option<u32>,
    notified: Option<usize>,
}

/// `GET /results/{survey}/waves/{label}/heard`: the published page of the account's
/// department (a head), or of the company or `?department=` (HR), while published.
pub async fn signed(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    query: web::Query<HeardQuery>,
) -> HttpResponse {
    let signed = match access::signed_in(&state, &req).await {
        Ok(s) => s,
        Err(d) => return d.respond(&state, Output::Html),
    };
    show(
        &state,
        &signed,
        path.into_inner(),
        query.into_inner(),
        false,
    )
    .await
}

/// `GET /admin/surveys/{survey}/waves/{label}/heard`: HR's preview, with publishing.
pub async fn preview(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    query: web::Query<HeardQuery>,
) -> HttpResponse {
    let signed = match access::signed_in(&state, &req).await {
        Ok(s) => s,
        Err(d) => return d.respond(&state, Output::Html),
    };
    if let Err(refused) = signed.user.rights().require_admin() {
        return Denied::Forbidden(refused.to_string()).respond(&state, Output::Html);
    }
    show(&state, &signed, path.into_inner(), query.into_inner(), true).await
}

async fn show(
    state: &AppState,
    signed: &Signed,
    (survey, label): (String, String),
    query: HeardQuery,
    preview: bool,
) -> HttpResponse {
    let rights = signed.user.rights();
    let cache = state.definitions.clone();
    let requested = query.department.clone();
    let found = state
        .db
        .run(move |conn| -> Result<Loaded, ViewError> {
            let org = crate::reports::org::Org::load(conn)?;
            // A head reads their own department's page; HR any department's.
            let department = match rights {
                Rights::Admin => requested,
                Rights::Head { department_id } => {
                    data::department(&org, rights, requested.as_deref())?;
                    requested.or_else(|| org.name(department_id).map(str::to_string))
                }
            };
            load(conn, &cache, &survey, &label, department.as_deref())
        })
        .await;
    let loaded = match found {
        Ok(l) => l,
        Err(e) => return Denied::from(e).respond(state, Output::Html),
    };
    let now = crate::db::now();
    let live = loaded.publication.as_ref().is_some_and(|p| p.live(now));
    if !preview && !live {
        return Denied::NotFound(format!(
            "the results of {}/{} are not published; HR publishes them from the wave's page",
            loaded.view.report.survey, loaded.view.wave.label
        ))
        .respond(state, Output::Html);
    }
    let user = nav(state, signed, None);
    let csrf = access::session_csrf(state, signed);
    let departments: Vec<String> = loaded
        .view
        .org
        .departments
        .iter()
        .map(|d| d.name.clone())
        .collect();
    let publication = loaded.publication.clone();
    let rendered = render(state, &loaded, |context| {
        context.insert("user", &user);
        context.insert("signed_in", &true);
        if preview {
            context.insert("preview", &true);
            context.insert("csrf", &csrf);
            context.insert("departments", &departments);
            context.insert("publication", &publication);
            context.insert("live", &live);
            context.insert("published", &query.published);
            context.insert("notified", &query.notified);
            context.insert("share_comments", &loaded.share_comments);
            context.insert("shareable", &loaded.comments);
            context.insert(
                "base",
                &format!(
                    "/admin/surveys/{}/waves/{}",
                    super::results::urlencode(&loaded.view.report.survey),
                    super::results::urlencode(&loaded.view.wave.label)
                ),
            );
        }
    });
    match rendered {
        Ok(body) => html(body),
        Err(e) => {
            tracing::error!(error = %e, "the published results failed to render");
            Denied::Unavailable.respond(state, Output::Html)
        }
    }
}

/// `POST /admin/surveys/{survey}/waves/{label}/publish` (`days`, `notify`), and
/// `.../unpublish`.
pub async fn publish(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    change(state, req, path, body, true).await
}

pub async fn unpublish(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    change(state, req, path, body, false).await
}

async fn change(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
    publishing_it: bool,
) -> HttpResponse {
    let signed = match access::signed_in(&state, &req).await {
        Ok(s) => s,
        Err(d) => return d.respond(&state, Output::Html),
    };
    if let Err(refused) = signed.user.rights().require_admin() {
        return Denied::Forbidden(refused.to_string()).respond(&state, Output::Html);
    }
    let fields = access::form_fields(&body);
    if !access::session_csrf_ok(&state, &signed, fields.get("csrf").map(String::as_str)) {
        return Denied::Forbidden("the form expired; reload the page and try again".into())
            .respond(&state, Output::Html);
    }
    let days = match fields.get("days").map(|d| d.trim()) {
        None | Some("") => publishing::DEFAULT_SHARING_DAYS,
        Some(d) => match d.parse::<u32>() {
            Ok(d) => d,
            Err(_) => {
                return state.pages.app_message(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Not published",
                    &[format!(
                        "The sharing period {d:?} is not a number of days; give 1 to 3650."
                    )],
                    &state.config.help_contact,
                )
            }
        },
    };
    let notify = fields.get("notify").is_some_and(|v| v == "1");
    let (survey, label) = path.into_inner();
    let (s, l) = (survey.clone(), label.clone());
    let actor = signed.user.email.clone();
    let config = state.config.clone();
    let done = state
        .db
        .run(
            move |conn| -> Result<Result<(u32, usize), String>, ViewError> {
                let Some(survey_id) = crate::waves::survey_id(conn, &s)? else {
                    return Err(ViewError::NotFound(format!("there is no survey {s}")));
                };
                let Some(wave) = crate::waves::find(conn, survey_id, &l)? else {
                    return Err(ViewError::NotFound(format!("there is no wave {s}/{l}")));
                };
                let now = crate::db::now();
                if !publishing_it {
                    publishing::unpublish(conn, &wave, now)?;
                    crate::audit::record(
                        conn,
                        &actor,
                        crate::audit::UNPUBLISH,
                        &format!("{s}/{l}"),
                        "",
                    );
                    return Ok(Ok((0, 0)));
                }
                let published = match publishing::publish(conn, &wave, &actor, days, now) {
                    Ok(p) => p,
                    Err(PublishError::Db(e)) => return Err(ViewError::Db(e)),
                    Err(e) => return Ok(Err(e.to_string())),
                };
                let mut told = 0;
                if notify {
                    let mailer = crate::waves::lifecycle::Mailer::from_config(&config)
                        .map_err(|e| ViewError::NotFound(e.to_string()))?;
                    let definition = crate::reports::wave_definition(conn, wave.version_id)?;
                    told = publishing::notify(conn, &mailer, &wave, &definition, now)?;
                }
                crate::audit::record(
                    conn,
                    &actor,
                    crate::audit::PUBLISH,
                    &format!("{s}/{l}"),
                    &format!(
                        "until {}; {told} notified",
                        published.expires_at.format("%Y-%m-%d")
                    ),
                );
                Ok(Ok((days, told)))
            },
        )
        .await;
    let back = format!(
        "/admin/surveys/{}/waves/{}/heard",
        super::results::urlencode(&survey),
        super::results::urlencode(&label)
    );
    match done {
        Ok(Ok((days, told))) => {
            let location = if publishing_it {
                format!("{back}?published={days}&notified={told}")
            } else {
                back
            };
            HttpResponse::SeeOther()
                .insert_header(("Location", location))
                .insert_header(("Cache-Control", "no-store"))
                .finish()
        }
        Ok(Err(why)) => state.pages.app_message(
            StatusCode::CONFLICT,
            "Not published",
            &[format!("{why}.")],
            &state.config.help_contact,
        ),
        Err(e) => Denied::from(e).respond(&state, Output::Html),
    }
}

/// `POST /admin/surveys/{survey}/waves/{label}/shared-comments`: the comments HR marks
/// as shareable (`ordinal` fields), replacing the earlier marks.
pub async fn share_comments(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    let signed = match access::signed_in(&state, &req).await {
        Ok(s) => s,
        Err(d) => return d.respond(&state, Output::Html),
    };
    if let Err(refused) = signed.user.rights().require_admin() {
        return Denied::Forbidden(refused.to_string()).respond(&state, Output::Html);
    }
    let fields: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let csrf = fields
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str());
    if !access::session_csrf_ok(&state, &signed, csrf) {
        return Denied::Forbidden("the form expired; reload the page and try again".into())
            .respond(&state, Output::Html);
    }
    let ordinals: Vec<i32> = fields
        .iter()
        .filter(|(k, _)| k == "ordinal")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    let (survey, label) = path.into_inner();
    let (s, l) = (survey.clone(), label.clone());
    let actor = signed.user.email.clone();
    let done = state
        .db
        .run(move |conn| -> Result<usize, ViewError> {
            let not_found = || ViewError::NotFound(format!("there is no wave {s}/{l}"));
            let survey_id = crate::waves::survey_id(conn, &s)?.ok_or_else(not_found)?;
            let wave = crate::waves::find(conn, survey_id, &l)?.ok_or_else(not_found)?;
            let marked = publishing::share(conn, wave.id, &ordinals, &actor, crate::db::now())?;
            crate::audit::record(
                conn,
                &actor,
                crate::audit::PUBLISH,
                &format!("{s}/{l}"),
                &format!("{marked} comments marked shareable"),
            );
            Ok(marked)
        })
        .await;
    match done {
        Ok(_) => HttpResponse::SeeOther()
            .insert_header((
                "Location",
                format!(
                    "/admin/surveys/{}/waves/{}/heard#comments-h",
                    super::results::urlencode(&survey),
                    super::results::urlencode(&label)
                ),
            ))
            .finish(),
        Err(e) => Denied::from(e).respond(&state, Output::Html),
    }
}
