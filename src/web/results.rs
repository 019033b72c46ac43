//! `/results`: a department head's view (admins may open it for any department), and
//! the CSV download of a wave's summary for the account's scope.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use tera::Context;

use super::access::{self, Denied, Output, Signed};
use super::data::{self, MailProblems, RateRow, ViewError, WaveView};
use super::views;
use super::AppState;
use crate::auth::Rights;
use crate::reports::trend::TrendReport;
use crate::reports::wave::Comment;

#[derive(Debug, Deserialize)]
pub struct ViewQuery {
    pub wave: Option<String>,
    pub department: Option<String>,
    /// `DIMENSION=VALUE`: a filtered view of the group, audited (`reports::filtered`).
    #[serde(rename = "where")]
    pub filter: Option<String>,
    /// HR's wave page: which page of undelivered mail.
    pub mail_page: Option<usize>,
    /// HR's wave page: how many messages a bulk resend just queued again.
    pub resent: Option<usize>,
    /// Trends: how many of the latest waves ("12", "24" or "all"; default 12).
    pub waves: Option<String>,
    /// The comments explorer: a question id, a service, a department, words to find,
    /// and the page.
    pub cq: Option<String>,
    pub cservice: Option<String>,
    pub cdept: Option<String>,
    pub csearch: Option<String>,
    pub cpage: Option<usize>,
    /// The heatmap's column to rank the departments by.
    pub sort: Option<String>,
}

/// The trend ranges a page offers, and the default.
pub const TREND_RANGES: [&str; 3] = ["12", "24", "all"];

impl ViewQuery {
    /// The comments explorer's choices.
    pub fn comment_filter(&self) -> views::CommentFilter {
        let given = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
        views::CommentFilter {
            question: given(&self.cq),
            service: given(&self.cservice),
            department: given(&self.cdept),
            search: given(&self.csearch).map(|s| s.trim().to_string()),
            page: self.cpage.unwrap_or(1).max(1),
        }
    }

    /// How many of the latest waves a trend shows; `None`: all.
    pub fn trend_waves(&self) -> Option<usize> {
        match self.waves.as_deref() {
            Some("all") => None,
            Some(n) => Some(n.parse::<usize>().unwrap_or(12).max(1)),
            None => Some(12),
        }
    }

    /// The range as the page's chooser names it.
    pub fn trend_range(&self) -> String {
        self.trend_waves()
            .map_or_else(|| "all".to_string(), |n| n.to_string())
    }

    pub fn filter(&self) -> Option<&str> {
        self.filter.as_deref().filter(|f| !f.is_empty())
    }
    fn department(&self) -> Option<&str> {
        self.department.as_deref().filter(|d| !d.is_empty())
    }
    fn wave(&self) -> Option<&str> {
        self.wave.as_deref().filter(|w| !w.is_empty())
    }
}

impl From<ViewError> for Denied {
    fn from(e: ViewError) -> Denied {
        match e {
            ViewError::Refused(r) => Denied::Forbidden(r.to_string()),
            ViewError::NotFound(what) => Denied::NotFound(what),
            e => {
                tracing::error!(error = %e, "a results view failed");
                Denied::Unavailable
            }
        }
    }
}

/// Everything one results page shows.
pub struct PageData {
    pub view: WaveView,
    pub survey_title: String,
    pub comments: Option<Vec<Comment>>,
    pub rates: Vec<RateRow>,
    pub trend: Option<TrendReport>,
    /// The whole company's trend, to compare a department's with.
    pub company_trend: Option<TrendReport>,
    /// Whether the page shows the company's trend beside the department's.
    company_wanted: bool,
    /// The wave's undelivered mail (HR's wave page only).
    pub failures: Option<MailProblems>,
    pub wave_labels: Vec<String>,
    pub departments: Vec<String>,
    pub user_department: Option<String>,
    /// Dimension values the group may be filtered by (closed waves).
    pub filter_options: Vec<String>,
    pub filtered: Option<data::FilteredView>,
    /// The actions of the period before the wave, with what moved where they act.
    pub effects: Vec<views::EffectView>,
    pub effects_since: Option<String>,
}

pub struct PageRequest {
    pub survey: String,
    pub wave: Option<String>,
    pub department: Option<String>,
    pub filter: Option<String>,
    pub with_trend: bool,
    /// How many of the latest waves trends show; `None`: all.
    pub trend_waves: Option<usize>,
    /// The page of undelivered mail to list (HR's wave page); `None`: none.
    pub mail_page: Option<usize>,
}

pub async fn load(
    state: &AppState,
    rights: Rights,
    user_department: Option<i64>,
    request: PageRequest,
) -> Result<PageData, Denied> {
    let cache = state.definitions.clone();
    // The company's trend, beside a department's, is a second trend as costly as the
    // first: built at the same time on another blocking thread, so the page waits for
    // the slower of the two instead of their sum.
    let company_wanted = request.with_trend && (request.department.is_some() || !rights.is_admin());
    let company_survey = request.survey.clone();
    let trend_waves = request.trend_waves;
    let company = async move {
        if !company_wanted {
            return None;
        }
        state
            .db
            .run(move |conn| -> Result<_, ViewError> {
                Ok(crate::reports::trend_report_last(
                    conn,
                    &company_survey,
                    None,
                    trend_waves,
                )?)
            })
            .await
            .ok()
    };
    let page = state.db.run(move |conn| -> Result<PageData, ViewError> {
        let view = data::wave_view(
            conn,
            &cache,
            rights,
            &request.survey,
            request.wave.as_deref(),
            request.department.as_deref(),
        )?;
        let comments = data::comments(conn, &view)?;
        let rates = data::rates(conn, &view, rights)?;
        let filter_options = data::filter_options(conn, &view)?;
        let filtered = match &request.filter {
            Some(filter) => Some(data::filtered(conn, &view, filter)?),
            None => None,
        };
        let department_name = view
            .department
            .and_then(|d| view.org.name(d))
            .map(str::to_string);
        let trend = if request.with_trend {
            match crate::reports::trend_report_last(
                conn,
                &request.survey,
                department_name.as_deref(),
                request.trend_waves,
            ) {
                Ok(t) => Some(t),
                Err(e) => {
                    tracing::warn!(error = %e, "no trend");
                    None
                }
            }
        } else {
            None
        };
        // What was done since the wave before, and what moved where it acts (the
        // group's trend, read only when there is an action to set it beside).
        let period = crate::actions::before_wave(
            conn,
            rights,
            &request.survey,
            &view.definition,
            &view.wave.label,
        )?;
        let effects = if period.actions.is_empty() {
            Vec::new()
        } else {
            let own;
            let group_trend = match &trend {
                Some(t) => Some(t),
                None => {
                    own = crate::reports::trend_report(
                        conn,
                        &request.survey,
                        department_name.as_deref(),
                    )
                    .ok();
                    own.as_ref()
                }
            };
            views::effects(&period, group_trend, &view.wave.label, &view.definition)
        };
        let company_wanted = trend.is_some() && department_name.is_some();
        let failures = match request.mail_page {
            Some(page) if rights.is_admin() => Some(data::mail_problems(conn, view.wave.id, page)?),
            _ => None,
        };
        let survey_id = view.wave.survey_id;
        let wave_labels = crate::waves::of_survey(conn, survey_id)?
            .into_iter()
            .map(|w| w.label)
            .rev()
            .collect();
        let departments = view
            .org
            .departments
            .iter()
            .filter(|d| rights.may_see(&view.org, d.id))
            .map(|d| d.name.clone())
            .collect();
        let user_department = user_department
            .and_then(|d| view.org.name(d))
            .map(str::to_string);
        let survey_title = view
            .definition
            .title
            .get(&view.definition.language)
            .to_string();
        Ok(PageData {
            view,
            survey_title,
            comments,
            rates,
            trend,
            company_trend: None,
            company_wanted,
            failures,
            wave_labels,
            departments,
            user_department,
            filter_options,
            filtered,
            effects,
            effects_since: period.since_wave,
        })
    });
    let (page, company) = tokio::join!(page, company);
    let mut page = page.map_err(Denied::from)?;
    if page.company_wanted {
        page.company_trend = company;
    }
    Ok(page)
}

/// The navigation bar's view of the account.
pub fn nav(state: &AppState, signed: &Signed, department: Option<String>) -> serde_json::Value {
    serde_json::json!({
        "email": signed.user.email,
        "admin": signed.user.rights().is_admin(),
        "department": department,
        "csrf": access::session_csrf(state, signed),
    })
}

/// The report sections shared by `/results` and HR's wave page.
pub fn report_context(context: &mut Context, page: &PageData, query: &ViewQuery) {
    let filter = &query.comment_filter();
    let view = &page.view;
    let report = &view.report;
    context.insert("survey", &report.survey);
    context.insert("survey_title", &page.survey_title);
    context.insert("wave", &report.wave);
    context.insert("wave_status", &view.wave.status);
    context.insert("min_group_size", &report.min_group_size);
    context.insert("department", &report.department);
    // Which release the figures come from, and the groups that keep an earlier one.
    context.insert("release", &report.release);
    let kept: Vec<(String, u32)> = report
        .groups
        .iter()
        .filter_map(|g| {
            let seq = g.content()?.as_of_release?;
            Some((g.department().unwrap_or("Whole company").to_string(), seq))
        })
        .collect();
    context.insert("kept_groups", &kept);
    context.insert("interim_releases", &view.definition.release_every.is_some());
    context.insert("filter_options", &page.filter_options);
    context.insert("filtered", &page.filtered);
    context.insert("wave_closed", &(view.wave.status == "closed"));
    context.insert(
        "heatmap",
        &views::question_heatmap(report, &view.definition, &view.org)
            .sorted(query.sort.as_deref().filter(|k| !k.is_empty())),
    );
    context.insert(
        "service_heatmap",
        &views::service_heatmap(report, &view.org),
    );
    // A survey of several internal services opens on how each department rates them.
    context.insert(
        "services_first",
        &(view
            .definition
            .sections
            .iter()
            .filter(|s| s.service_key().is_some())
            .count()
            >= 2),
    );
    context.insert("choices", &views::choices(report, &view.definition));
    let enps = views::enps(report, &view.definition);
    context.insert("enps_rows", &enps.as_ref().map(|(rows, _)| rows));
    context.insert("enps_svg", &enps.map(|(_, svg)| svg));
    let drivers = views::drivers(report, &view.definition, report.department.as_deref());
    context.insert(
        "drivers_svg",
        &drivers
            .as_ref()
            .filter(|d| !d.is_empty())
            .map(|d| views::drivers_svg(d)),
    );
    context.insert("drivers", &drivers);
    context.insert(
        "has_text_questions",
        &view
            .definition
            .questions()
            .any(|(_, q)| matches!(q.kind, crate::definitions::QuestionKind::Text { .. })),
    );
    context.insert(
        "comments",
        &page
            .comments
            .as_ref()
            .map(|c| views::comments_explorer(c, &page.view.definition, filter)),
    );
    context.insert("comment_filter", filter);
    context.insert(
        "min_comment_group_size",
        &view.definition.min_comment_group_size,
    );
    context.insert("rates", &page.rates);
    context.insert(
        "trends",
        &page
            .trend
            .as_ref()
            .map(|t| views::trends(t, page.company_trend.as_ref())),
    );
    context.insert("wave_labels", &page.wave_labels);
    context.insert("departments", &page.departments);
    let mut csv = format!(
        "/results/{}/waves/{}/summary.csv",
        urlencode(&report.survey),
        urlencode(&report.wave)
    );
    if let Some(d) = &report.department {
        csv.push_str(&format!("?department={}", urlencode(d)));
    }
    context.insert("csv_link", &csv);
    context.insert("effects", &page.effects);
    context.insert("effects_since", &page.effects_since);
    let wave_path = format!(
        "{}/waves/{}",
        urlencode(&report.survey),
        urlencode(&report.wave)
    );
    context.insert("heard_link", &format!("/results/{wave_path}/heard"));
    context.insert("publish_link", &format!("/admin/surveys/{wave_path}/heard"));
    context.insert(
        "actions_link",
        &format!("/results/{}/actions", urlencode(&report.survey)),
    );
}

pub fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// `GET /results`: the surveys to choose from.
pub async fn index(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let signed = match access::signed_in(&state, &req).await {
        Ok(s) => s,
        Err(d) => return d.respond(&state, Output::Html),
    };
    let rights = signed.user.rights();
    let department_id = signed.user.department_id;
    let listed = state
        .db
        .run(move |conn| -> Result<_, ViewError> {
            let surveys = data::surveys(conn, rights)?;
            let org = crate::reports::org::Org::load(conn)?;
            Ok((
                surveys,
                department_id.and_then(|d| org.name(d)).map(str::to_string),
            ))
        })
        .await;
    let (surveys, department) = match listed {
        Ok(found) => found,
        Err(e) => return Denied::from(e).respond(&state, Output::Html),
    };
    let mut context = Context::new();
    context.insert("page_title", "Results");
    context.insert("user", &nav(&state, &signed, department.clone()));
    context.insert("surveys", &surveys);
    context.insert("help", &state.config.help_contact);
    state
        .pages
        .render(StatusCode::OK, "results/index.html", &context)
}

/// `GET /results/{survey}?wave=&department=`.
pub async fn survey(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<ViewQuery>,
) -> HttpResponse {
    let signed = match access::signed_in(&state, &req).await {
        Ok(s) => s,
        Err(d) => return d.respond(&state, Output::Html),
    };
    let rights = signed.user.rights();
    let page = match load(
        &state,
        rights,
        signed.user.department_id,
        PageRequest {
            survey: path.into_inner(),
            wave: query.wave().map(str::to_string),
            department: query.department().map(str::to_string),
            filter: query.filter().map(str::to_string),
            with_trend: true,
            trend_waves: query.trend_waves(),
            mail_page: None,
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
        &format!(
            "{} — {}",
            page.survey_title,
            page.view
                .report
                .department
                .as_deref()
                .unwrap_or("whole company")
        ),
    );
    context.insert("user", &nav(&state, &signed, page.user_department.clone()));
    context.insert("help", &state.config.help_contact);
    context.insert(
        "form_action",
        &format!("/results/{}", urlencode(&page.view.report.survey)),
    );
    context.insert("company_choice", &rights.is_admin());
    context.insert("range", &query.trend_range());
    context.insert("ranges", &TREND_RANGES);
    report_context(&mut context, &page, &query);
    state
        .pages
        .render(StatusCode::OK, "results/survey.html", &context)
}

fn filename_part(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `GET /results/{survey}/waves/{label}/summary.csv?department=`: the summary of the
/// groups the account may read, as a spreadsheet.
pub async fn csv(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    query: web::Query<ViewQuery>,
) -> HttpResponse {
    let signed = match access::signed_in(&state, &req).await {
        Ok(s) => s,
        Err(d) => return d.respond(&state, Output::Csv),
    };
    let rights = signed.user.rights();
    let (survey, label) = path.into_inner();
    let department = query.department().map(str::to_string);
    let cache = state.definitions.clone();
    let (survey_q, label_q) = (survey.clone(), label.clone());
    let actor = signed.user.email.clone();
    let built = state
        .db
        .run(move |conn| -> Result<_, ViewError> {
            let view = data::wave_view(
                conn,
                &cache,
                rights,
                &survey_q,
                Some(&label_q),
                department.as_deref(),
            )?;
            let name = view.report.department.clone();
            // The same file as `icsat export` for the group the account may read: one
            // CSV format (the README's "CSV export").
            let mut bytes = Vec::new();
            crate::exports::summary(
                conn,
                &crate::exports::ExportQuery {
                    survey: &survey_q,
                    wave: &view.report.wave,
                    department: name.as_deref(),
                },
                &mut bytes,
            )
            .map_err(|e| {
                ViewError::Report(crate::reports::ReportError::BadFilter(e.to_string()))
            })?;
            let scope = name.as_deref().unwrap_or("whole company");
            crate::audit::record(
                conn,
                &actor,
                crate::audit::EXPORT,
                &format!("{survey_q}/{label_q}"),
                &format!("summary CSV, {scope}"),
            );
            Ok((bytes, name))
        })
        .await;
    match built {
        Ok((bytes, name)) => {
            let mut filename = format!("{}-{}", filename_part(&survey), filename_part(&label));
            if let Some(name) = name {
                filename.push('-');
                filename.push_str(&filename_part(&name));
            }
            HttpResponse::Ok()
                .content_type("text/csv; charset=utf-8")
                .insert_header((
                    "Content-Disposition",
                    format!("attachment; filename=\"{filename}.csv\""),
                ))
                .insert_header(("Cache-Control", "no-store"))
                .body(bytes)
        }
        Err(e) => Denied::from(e).respond(&state, Output::Csv),
    }
}
