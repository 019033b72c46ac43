//! `/admin`: HR's dashboard. Surveys and their schedules, waves with participation and
//! mail, and any wave's results for the whole company.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use tera::Context;

use super::access::{self, Denied, Output, Signed};
use super::data::{self, ViewError};
use super::results::{self, nav, report_context, urlencode, PageRequest, ViewQuery};
use super::AppState;

async fn admin(
    state: &AppState,
    req: &HttpRequest,
    output: Output,
) -> Result<Signed, HttpResponse> {
    let signed = access::signed_in(state, req)
        .await
        .map_err(|d| d.respond(state, output))?;
    if let Err(refused) = signed.user.rights().require_admin() {
        return Err(Denied::Forbidden(refused.to_string()).respond(state, output));
    }
    Ok(signed)
}

/// An open wave at the top of the dashboard.
#[derive(serde::Serialize)]
struct OpenWave<'a> {
    survey: &'a str,
    title: &'a str,
    wave: &'a data::WaveEntry,
}

/// A release of a wave, as the dashboard's "released since your last visit" lists it.
#[derive(serde::Serialize)]
struct ReleasedEntry<'a> {
    survey: &'a str,
    title: &'a str,
    wave: &'a str,
    seq: u32,
    #[serde(rename = "final")]
    is_final: bool,
    at: String,
}

/// Releases listed on the dashboard at most, and how far back a first visit looks.
const SHOWN_RELEASES: i64 = 10;
const RECENT: chrono::TimeDelta = chrono::TimeDelta::days(7);

/// `GET /admin`: what is happening now first (open waves and their response rates,
/// what needs attention), then each survey's history.
pub async fn index(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let signed = match admin(&state, &req, Output::Html).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let rights = signed.user.rights();
    let user_id = signed.user.id;
    let listed = state
        .db
        .run(move |conn| -> Result<_, data::ViewError> {
            let surveys = data::surveys(conn, rights)?;
            let previous = crate::auth::sessions::previous_visit(conn, user_id)?;
            let since = previous.unwrap_or_else(|| crate::db::now() - RECENT);
            let made = crate::reports::release::made_since(conn, since, SHOWN_RELEASES)?;
            Ok((surveys, previous, made))
        })
        .await;
    let (surveys, previous, made) = match listed {
        Ok(s) => s,
        Err(e) => return Denied::from(e).respond(&state, Output::Html),
    };
    let released: Vec<ReleasedEntry> = made
        .iter()
        .filter_map(|m| {
            let survey = surveys.iter().find(|s| s.id == m.survey)?;
            Some(ReleasedEntry {
                survey: &survey.id,
                title: &survey.title,
                wave: &m.wave,
                seq: m.info.seq,
                is_final: m.info.is_final,
                at: survey.local(m.info.made_at),
            })
        })
        .collect();
    let mut context = Context::new();
    context.insert("page_title", "Dashboard");
    context.insert("user", &nav(&state, &signed, None));
    let open: Vec<OpenWave> = surveys
        .iter()
        .flat_map(|s| {
            s.waves
                .iter()
                .filter(|w| w.status == "open")
                .map(|w| OpenWave {
                    survey: &s.id,
                    title: &s.title,
                    wave: w,
                })
        })
        .collect();
    let undelivered: u64 = surveys
        .iter()
        .flat_map(|s| &s.waves)
        .filter_map(|w| w.mail_failed)
        .sum();
    context.insert("open", &open);
    context.insert("released", &released);
    context.insert(
        "released_since",
        &match previous {
            Some(t) => format!("your last visit ({})", data::local_time(None, t)),
            None => format!("the last {} days", RECENT.num_days()),
        },
    );
    context.insert("undelivered", &undelivered);
    context.insert("definition_problems", &*state.definition_problems);
    context.insert("surveys", &surveys);
    context.insert("help", &state.config.help_contact);
    state
        .pages
        .render(StatusCode::OK, "admin/index.html", &context)
}

/// `GET /admin/surveys/{survey}/waves/{label}?department=`.
pub async fn wave(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    query: web::Query<ViewQuery>,
) -> HttpResponse {
    let signed = match admin(&state, &req, Output::Html).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let (survey, label) = path.into_inner();
    let page = match results::load(
        &state,
        signed.user.rights(),
        None,
        PageRequest {
            survey,
            wave: Some(label),
            department: query.department.clone().filter(|d| !d.is_empty()),
            filter: query.filter().map(str::to_string),
            with_trend: false,
            trend_waves: None,
            mail_page: Some(query.mail_page.unwrap_or(1)),
        },
    )
    .await
    {
        Ok(page) => page,
        Err(d) => return d.respond(&state, Output::Html),
    };
    let mut context = Context::new();
    context.insert(
        "page_title",
        &format!("{} — wave {}", page.survey_title, page.view.report.wave),
    );
    context.insert("user", &nav(&state, &signed, None));
    context.insert("help", &state.config.help_contact);
    context.insert("failures", &page.failures);
    context.insert("resent", &query.resent);
    context.insert("csrf", &access::session_csrf(&state, &signed));
    context.insert(
        "form_action",
        &format!(
            "/admin/surveys/{}/waves/{}",
            urlencode(&page.view.report.survey),
            urlencode(&page.view.report.wave)
        ),
    );
    context.insert(
        "trend_link",
        &format!(
            "/admin/surveys/{}/trend",
            urlencode(&page.view.report.survey)
        ),
    );
    context.insert("company_choice", &true);
    report_context(&mut context, &page, &query);
    state
        .pages
        .render(StatusCode::OK, "admin/wave.html", &context)
}

/// `GET /admin/surveys/{survey}/trend?department=`: trend charts across waves.
pub async fn trend(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<ViewQuery>,
) -> HttpResponse {
    let signed = match admin(&state, &req, Output::Html).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let survey = path.into_inner();
    let department = query.department.clone().filter(|d| !d.is_empty());
    let rights = signed.user.rights();
    let survey_q = survey.clone();
    let range = query.trend_waves();
    let found = state
        .db
        .run(move |conn| -> Result<_, ViewError> {
            let trend =
                data::trend_last(conn, rights, &survey_q, department.as_deref(), false, range)?;
            let company = match department {
                Some(_) => Some(data::trend_last(
                    conn, rights, &survey_q, None, true, range,
                )?),
                None => None,
            };
            let org = crate::reports::org::Org::load(conn)?;
            let names: Vec<String> = org.departments.iter().map(|d| d.name.clone()).collect();
            Ok((trend, company, names))
        })
        .await;
    let (trend, company, departments) = match found {
        Ok(found) => found,
        Err(e) => return Denied::from(e).respond(&state, Output::Html),
    };
    let mut context = Context::new();
    context.insert(
        "page_title",
        &format!(
            "Trends of {} — {}",
            trend.survey,
            trend.department.as_deref().unwrap_or("whole company")
        ),
    );
    context.insert("user", &nav(&state, &signed, None));
    context.insert("help", &state.config.help_contact);
    context.insert("survey", &trend.survey);
    context.insert("department", &trend.department);
    context.insert("departments", &departments);
    context.insert("waves", &trend.waves);
    context.insert("min_group_size", &trend.min_group_size);
    context.insert("trends", &super::views::trends(&trend, company.as_ref()));
    context.insert("range", &query.trend_range());
    context.insert("ranges", &results::TREND_RANGES);
    context.insert(
        "form_action",
        &format!("/admin/surveys/{}/trend", urlencode(&survey)),
    );
    state
        .pages
        .render(StatusCode::OK, "admin/trend.html", &context)
}

/// The reason group a bulk resend names (`?reason=` or the form's `reason`).
#[derive(serde::Deserialize)]
pub struct ReasonQuery {
    reason: Option<String>,
}

fn wave_page_path(survey: &str, label: &str) -> String {
    format!(
        "/admin/surveys/{}/waves/{}",
        urlencode(survey),
        urlencode(label)
    )
}

/// `GET /admin/surveys/{survey}/waves/{label}/mail/resend?reason=`: asks before
/// queueing again every failed message with that reason.
pub async fn resend_group_confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    query: web::Query<ReasonQuery>,
) -> HttpResponse {
    let signed = match admin(&state, &req, Output::Html).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let (survey, label) = path.into_inner();
    let reason = query.into_inner().reason.unwrap_or_default();
    let (s, l) = (survey.clone(), label.clone());
    let found = state
        .db
        .run(move |conn| -> Result<_, ViewError> {
            let wave = wave_of(conn, &s, &l)?;
            let failed = crate::mail::failed(conn, wave)?;
            Ok(crate::mail::failure_groups(&failed)
                .into_iter()
                .find(|g| g.reason == reason))
        })
        .await;
    let group = match found {
        Ok(Some(group)) if group.resendable > 0 => group,
        Ok(_) => {
            return Denied::NotFound("no failed message with that reason can be sent again".into())
                .respond(&state, Output::Html)
        }
        Err(e) => return Denied::from(e).respond(&state, Output::Html),
    };
    let mut context = Context::new();
    context.insert("page_title", "Resend undelivered mail");
    context.insert("user", &nav(&state, &signed, None));
    context.insert("help", &state.config.help_contact);
    context.insert("csrf", &access::session_csrf(&state, &signed));
    context.insert("group", &group);
    context.insert("wave", &label);
    context.insert("back", &wave_page_path(&survey, &label));
    state
        .pages
        .render(StatusCode::OK, "admin/resend.html", &context)
}

/// `POST /admin/surveys/{survey}/waves/{label}/mail/resend`: queues again every failed
/// message of the wave whose reason is the form's `reason`, then back to the wave page,
/// which says how many.
pub async fn resend_group(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    let signed = match admin(&state, &req, Output::Html).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let fields = access::form_fields(&body);
    if !access::session_csrf_ok(&state, &signed, fields.get("csrf").map(String::as_str)) {
        return Denied::Forbidden("the form expired; reload the page and try again".into())
            .respond(&state, Output::Html);
    }
    let Some(reason) = fields.get("reason").cloned() else {
        return Denied::NotFound(
            "the form names no reason to resend; open the wave page and use its buttons".into(),
        )
        .respond(&state, Output::Html);
    };
    let (survey, label) = path.into_inner();
    let (s, l) = (survey.clone(), label.clone());
    let actor = signed.user.email.clone();
    let done = state
        .db
        .run(move |conn| -> Result<usize, ViewError> {
            let wave = wave_of(conn, &s, &l)?;
            let queued = crate::mail::resend_group(conn, wave, &reason, crate::db::now())?;
            crate::audit::record(
                conn,
                &actor,
                crate::audit::RESEND,
                &format!("{s}/{l}"),
                &format!("{queued} messages that failed with: {reason}"),
            );
            Ok(queued)
        })
        .await;
    match done {
        Ok(queued) => HttpResponse::SeeOther()
            .insert_header((
                "Location",
                format!("{}?resent={queued}#mail", wave_page_path(&survey, &label)),
            ))
            .finish(),
        Err(e) => Denied::from(e).respond(&state, Output::Html),
    }
}

/// The id of a survey's wave, or "not found".
fn wave_of(conn: &mut crate::db::Conn, survey: &str, label: &str) -> Result<i64, ViewError> {
    let not_found = || ViewError::NotFound(format!("there is no wave {survey}/{label}"));
    let survey_id = crate::waves::survey_id(conn, survey)?.ok_or_else(not_found)?;
    Ok(crate::waves::find(conn, survey_id, label)?
        .ok_or_else(not_found)?
        .id)
}

/// `POST /admin/mail/{id}/resend`: queues a failed message again.
pub async fn resend(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    body: web::Bytes,
) -> HttpResponse {
    let signed = match admin(&state, &req, Output::Html).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let fields = access::form_fields(&body);
    if !access::session_csrf_ok(&state, &signed, fields.get("csrf").map(String::as_str)) {
        return Denied::Forbidden("the form expired; reload the page and try again".into())
            .respond(&state, Output::Html);
    }
    let id = path.into_inner();
    let actor = signed.user.email.clone();
    let done = state
        .db
        .run(move |conn| -> Result<_, ViewError> {
            let back = data::mail_wave(conn, id)?;
            let queued = crate::mail::resend(conn, id, crate::db::now())?;
            // The message's id only: its recipient is an invitee.
            let subject = back
                .as_ref()
                .map(|(s, l)| format!("{s}/{l}"))
                .unwrap_or_default();
            crate::audit::record(
                conn,
                &actor,
                crate::audit::RESEND,
                &subject,
                &format!("message {id}"),
            );
            Ok((back, queued))
        })
        .await;
    match done {
        Ok((Some((survey, label)), _)) => HttpResponse::SeeOther()
            .insert_header((
                "Location",
                format!(
                    "/admin/surveys/{}/waves/{}#mail",
                    urlencode(&survey),
                    urlencode(&label)
                ),
            ))
            .finish(),
        Ok((None, _)) => {
            Denied::NotFound("there is no such message".into()).respond(&state, Output::Html)
        }
        Err(e) => Denied::from(e).respond(&state, Output::Html),
    }
}

/// Entries per page of `/admin/audit`.
const AUDIT_PAGE: i64 = 50;

#[derive(Debug, serde::Deserialize)]
pub struct AuditQuery {
    /// Show entries older than this entry's id (the next page).
    before: Option<String>,
}

/// `GET /admin/audit?before=ID`: the audit log, newest first, a page at a time.
pub async fn audit(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<AuditQuery>,
) -> HttpResponse {
    let signed = match admin(&state, &req, Output::Html).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let before =
        match query.before.as_deref().filter(|b| !b.is_empty()) {
            None => None,
            Some(b) => match b.parse::<i64>() {
                Ok(id) if id > 0 => Some(id),
                _ => return state.pages.app_message(
                    StatusCode::BAD_REQUEST,
                    "No such page of the audit log",
                    &[
                        "Use the links on the audit log's pages: before= takes an entry number."
                            .into(),
                    ],
                    &state.config.help_contact,
                ),
            },
        };
    let listed = state
        .db
        .run(move |conn| crate::audit::list(conn, None, before, AUDIT_PAGE + 1))
        .await;
    let mut entries = match listed {
        Ok(entries) => entries,
        Err(e) => return Denied::from(ViewError::from(e)).respond(&state, Output::Html),
    };
    let older = (entries.len() as i64 > AUDIT_PAGE).then(|| {
        entries.truncate(AUDIT_PAGE as usize);
        entries.last().map(|e| e.id)
    });
    let mut context = Context::new();
    context.insert("page_title", "Audit log");
    context.insert("user", &nav(&state, &signed, None));
    context.insert("entries", &entries);
    context.insert("before", &before);
    context.insert("older", &older.flatten());
    context.insert("keep_days", &state.config.retention.audit_days);
    context.insert("help", &state.config.help_contact);
    state
        .pages
        .render(StatusCode::OK, "admin/audit.html", &context)
}

/// An area of a wave's results that calls for an action and has none.
#[derive(serde::Serialize)]
struct OpenArea {
    department: String,
    question: String,
    /// "below the company", and/or the significant fall since the wave before.
    why: String,
}

#[derive(serde::Deserialize)]
pub struct FollowUpQuery {
    wave: Option<String>,
}

/// `GET /admin/surveys/{survey}/follow-up?wave=`: for HR, the areas of a closed wave
/// with a significant fall or below the company and no action, and the actions done
/// since the wave before with what moved.
pub async fn follow_up(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<FollowUpQuery>,
) -> HttpResponse {
    let signed = match admin(&state, &req, Output::Html).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let survey = path.into_inner();
    let asked = query.into_inner().wave;
    let cache = state.definitions.clone();
    let s = survey.clone();
    let found = state
        .db
        .run(move |conn| -> Result<_, ViewError> {
            use crate::actions::{self, areas};
            use crate::auth::rights::Rights;
            let (wave, definition) = data::wave(conn, &cache, &s, asked.as_deref())?;
            let lang = definition.language.clone();
            let all = actions::list(conn, Rights::Admin, Some(&s))?;
            let org = crate::reports::org::Org::load(conn)?;
            let (report, _) = crate::reports::wave_report(
                conn,
                &crate::reports::WaveQuery {
                    survey: &s,
                    wave: Some(&wave.label),
                    department: None,
                    filters: &[],
                },
            )?;
            let acted = areas::answering(&all, &wave.label, wave.closed_at);
            let scale = |id: &str| {
                definition.question(id).is_some_and(|q| {
                    matches!(
                        q.kind,
                        crate::definitions::QuestionKind::Likert { .. }
                            | crate::definitions::QuestionKind::Rating { .. }
                    )
                })
            };
            let mut open = Vec::new();
            for group in report.groups.iter().skip(1) {
                let Some(name) = group.department() else {
                    continue;
                };
                if group.content().is_none() {
                    continue;
                }
                let below = areas::below_company(&report, name);
                // Significant falls since the wave before, from the department's trend.
                let falls: Vec<(String, f64)> = crate::reports::trend_report(conn, &s, Some(name))
                    .map(|t| {
                        t.questions
                            .iter()
                            .filter_map(|q| {
                                let point = q.waves.iter().find(|p| p.wave == wave.label)?;
                                match point.change.as_ref()? {
                                    crate::reports::trend::TrendChange::Scale(c)
                                        if c.favorable.significant
                                            && c.favorable.delta.is_some_and(|d| d < 0.0) =>
                                    {
                                        Some((q.id.clone(), c.favorable.delta.unwrap_or(0.0)))
                                    }
                                    _ => None,
                                }
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let mut ids: Vec<&String> =
                    below.iter().chain(falls.iter().map(|(q, _)| q)).collect();
                ids.sort();
                ids.dedup();
                for id in ids {
                    if !scale(id) {
                        continue;
                    }
                    let answered = acted
                        .iter()
                        .any(|a| a.answers_question(&definition, id) && a.concerns(&org, name));
                    if answered {
                        continue;
                    }
                    let mut why = Vec::new();
                    if below.contains(id) {
                        why.push("below the company".to_string());
                    }
                    if let Some((_, d)) = falls.iter().find(|(q, _)| q == id) {
                        why.push(format!(
                            "{:+.0} points since the wave before, significant",
                            d * 100.0
                        ));
                    }
                    open.push(OpenArea {
                        department: name.to_string(),
                        question: definition
                            .question(id)
                            .map_or_else(|| id.clone(), |q| q.text.get(&lang).to_string()),
                        why: why.join("; "),
                    });
                }
            }
            let period = actions::before_wave(conn, Rights::Admin, &s, &definition, &wave.label)?;
            let company = crate::reports::trend_report(conn, &s, None).ok();
            let done: Vec<super::views::EffectView> =
                super::views::effects(&period, company.as_ref(), &wave.label, &definition)
                    .into_iter()
                    .filter(|e| e.status_class == "done")
                    .collect();
            let title = definition.title.get(&lang).to_string();
            Ok((wave.label, title, open, done, period.since_wave))
        })
        .await;
    let (label, title, open, done, since) = match found {
        Ok(found) => found,
        Err(e) => return Denied::from(e).respond(&state, Output::Html),
    };
    let mut context = Context::new();
    context.insert("page_title", &format!("Follow-up: {title}"));
    context.insert("user", &nav(&state, &signed, None));
    context.insert("help", &state.config.help_contact);
    context.insert("survey", &urlencode(&survey));
    context.insert("survey_title", &title);
    context.insert("wave", &label);
    context.insert("open", &open);
    context.insert("done", &done);
    context.insert("since", &since);
    state
        .pages
        .render(StatusCode::OK, "admin/follow_up.html", &context)
}
